"""Attention explorers (lectures 11 and 12).

``AttentionExplorer``: scaled dot-product attention on the words of a sentence,
with Q, K, V from fixed seeded random projections of hashed word vectors (so the
numbers are reproducible); heat maps of the scores Q K^T (scaled or not) and of
the weights ``softmax(scores)`` from ``course.attention``; the chosen query's
weights row and its output (the weighted sum of the values); the mean entropy of
the weight rows (it drops towards 0 as the softmax saturates when unscaled
scores grow with d_k).

``AttentionHeadExplorer``: one head of a ``course.nn.TransformerLM`` on a text,
token-to-token (bertviz's head view, drawn by the course), from
``TransformerLM.attention_maps``.

Both draw PIL grids (``_grids.GridCanvas``) sent raw through the shared
``ImageView``; hovering a cell reads its number in the page from the float32
matrix already sent (the view's ``value`` formatter).
"""
from __future__ import annotations

import hashlib
import html

import ipywidgets as W
import matplotlib
import numpy as np

from course import attention as A
from course.widgets._base import Explorer, control_property, guarded
from course.widgets._grids import GridCanvas
from course.widgets.canvas import ImageView, grid as hover_grid

__all__ = ["AttentionExplorer", "AttentionHeadExplorer", "word_vector", "qkv", "entropy",
           "tiny_model"]

DEFAULT_SENTENCE = "the cat sat on the mat because it was tired"
SEED = 0
WEIGHT_CMAP = matplotlib.colormaps["Blues"]
SCORE_CMAP = matplotlib.colormaps["RdBu_r"]
MAX_TOKENS = 24


# ----------------------------------------------------------------- the data
def word_vector(word: str, d: int) -> np.ndarray:
    """(d,) a fixed random vector for ``word``: seeded by a hash of the word (the same
    word always gets the same vector, in every session)."""
    seed = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(d)


def qkv(words: list[str], d_k: int, seed: int = SEED):
    """Q, K, V, each (T, d_k): word vectors (T, d_k) times fixed seeded random
    projections (d_k, d_k) with entries of variance 1/d_k (so q.k has variance ~d_k)."""
    x = np.stack([word_vector(w, d_k) for w in words])
    rng = np.random.default_rng(seed)
    wq, wk, wv = (rng.standard_normal((d_k, d_k)) / np.sqrt(d_k) for _ in range(3))
    return x @ wq, x @ wk, x @ wv


def entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy in nats of each row of ``weights`` (..., T): 0 for a one-hot row,
    log(n) for n equal weights."""
    w = np.asarray(weights, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0, -w * np.log(w), 0.0)
    return terms.sum(axis=-1)


def _heat(canvas, panel, values, cmap, lo, hi, labels_rows, labels_cols, title, fmt):
    """A labelled heat map of ``values`` (R, C) in ``panel``; returns the Grid."""
    rows, cols = values.shape
    left, top, width, height = panel
    label_w = 70
    cell = int(max(8, min(36, (width - label_w) // max(cols, 1), (height - 80) // max(rows, 1))))
    x0, y0 = left + label_w, top + 22
    canvas.text(left + width / 2, top + 4, title, 13, anchor="ma")
    span = hi - lo if hi > lo else 1.0
    colours = np.asarray(cmap(np.clip((values - lo) / span, 0, 1)))[..., :3]
    from course.widgets._grids import Grid

    g = Grid(canvas, x0, y0, rows, cols, cell)
    g.fill(colours)
    g.lines()
    if cell >= 24:
        lum = colours @ np.array([0.299, 0.587, 0.114])
        g.numbers(values, fmt, dark=lum < 0.5)
    size = int(np.clip(cell * 0.45, 8, 12))
    for i, name in enumerate(labels_rows):
        canvas.text(x0 - 4, y0 + (i + 0.5) * cell, name[:9], size, anchor="rm")
    for j, name in enumerate(labels_cols):
        canvas.vertical_text(x0 + (j + 0.5) * cell, y0 + rows * cell + 30, name[:9], size)
    return g


def _where(g) -> dict:
    return hover_grid(g.left, g.top, g.cell, g.rows, g.cols)


# --------------------------------------------------------- AttentionExplorer
class AttentionExplorer(Explorer):
    """Scaled dot-product attention on the words of a sentence.

    Python API (each mirrors a control; setting it redraws): ``sentence`` str
    (tokens = words split on spaces), ``query_index`` int, ``d_k`` int, ``scaled``
    bool (divide the scores by sqrt(d_k)), ``causal`` bool. Read-only: ``words``,
    ``q``, ``k``, ``v`` (T, d_k); ``scores`` (T, T) = Q K^T (/ sqrt(d_k) if scaled,
    masked entries -inf if causal); ``weights`` (T, T) = ``attention.softmax(scores)``;
    ``output`` (d_k,) = the query's weights row times V; ``entropy`` (mean entropy of
    the weight rows, nats); ``row_entropy`` (T,); ``error``.
    """

    caption_text = ("Pick a query word and read its weights row; turn 'scale by 1/sqrt(d_k)' "
                    "off and drag d_k up: the weights become one-hot and the entropy falls. "
                    "Turn the causal mask on: no word attends to a later one.")

    def __init__(self, sentence: str = DEFAULT_SENTENCE, d_k: int = 8, scaled: bool = True,
                 causal: bool = False, query_index: int = 1):
        super().__init__()
        self._words: list[str] = []
        self._q = self._k = self._v = np.zeros((0, 0))
        self._scores = self._weights = np.zeros((0, 0))
        self._output = np.zeros(0)
        self._sentence = self._labelled(W.Text(value=sentence, description="Sentence",
                                               continuous_update=False,
                                               layout=W.Layout(width="36em")), "course-sentence")
        self._query = self._labelled(W.Dropdown(options=[], description="Query"), "course-query")
        self._dk = self._labelled(W.IntSlider(value=d_k, min=1, max=512, description="d_k",
                                              continuous_update=True), "course-d-k")
        self._scale = self._labelled(W.Checkbox(value=scaled, description="scale by 1/sqrt(d_k)"),
                                     "course-scaled")
        self._causal = self._labelled(W.Checkbox(value=causal, description="causal mask"),
                                      "course-causal")
        self._readout = self._labelled(W.HTML(), "course-attention-readout")
        self._scores_view = self._labelled(ImageView(), "course-scores-image")
        self._weights_view = self._labelled(ImageView(), "course-output-image")
        self._row_view = self._labelled(ImageView(), "course-row-image")
        self._main_view = self._weights_view
        self._set_words(sentence, query_index)
        self._sentence.observe(self._on_sentence, "value")
        for control in (self._query, self._dk, self._scale, self._causal):
            control.observe(lambda change: self._refresh(), "value")
        self._finish([
            self._sentence,
            W.HBox([self._query, self._dk]),
            W.HBox([self._scale, self._causal]),
            self._readout,
            W.HBox([self._scores_view, self._weights_view]),
            self._row_view,
        ])
        self._refresh()

    # ------------------------------------------------------------ callbacks
    def _set_words(self, sentence: str, query_index: int | None = None) -> None:
        words = sentence.split()[:MAX_TOKENS]
        keep = self._query.value if query_index is None else query_index
        held, self._hold = self._hold, True
        try:
            self._words = words
            self._query.options = [(f"{i}: {w}", i) for i, w in enumerate(words)]
            if words:
                self._query.value = min(max(int(keep or 0), 0), len(words) - 1)
        finally:
            self._hold = held

    def _on_sentence(self, change) -> None:
        self._set_words(change["new"])
        self._refresh()

    @guarded
    def _refresh(self) -> None:
        words = self._words
        if not words:
            self._scores = self._weights = np.zeros((0, 0))
            self._output = np.zeros(0)
            self._problem = "The sentence is empty: type a few words separated by spaces."
            return
        d = self.d_k
        self._q, self._k, self._v = qkv(words, d)
        scores = self._q @ self._k.T
        if self.scaled:
            scores = scores / np.sqrt(d)
        mask = A.causal_mask(len(words)) if self.causal else None
        self._weights = A.softmax(scores, dim=-1, mask=mask)
        self._scores = np.where(mask, scores, -np.inf) if mask is not None else scores
        self._output = self._weights[self.query_index] @ self._v
        self._draw()

    # ----------------------------------------------------------------- view
    def _draw(self) -> None:
        words, i = self._words, self.query_index
        T = len(words)
        finite = self._scores[np.isfinite(self._scores)]
        lim = float(np.abs(finite).max()) if finite.size else 1.0
        shown_scores = np.where(np.isfinite(self._scores), self._scores, 0.0)
        size = (150 + min(36, 360 // T) * T, 140 + min(36, 360 // T) * T)
        what = "Q K^T / sqrt(d_k)" if self.scaled else "Q K^T (unscaled)"
        c1 = GridCanvas(*size)
        g1 = _heat(c1, (0, 0, *size), shown_scores, SCORE_CMAP, -lim, lim, words, words,
                   f"scores {what}", "{:.1f}")
        g1.outline(i, 0, 1, T, "#e61414", 2)
        c2 = GridCanvas(*size)
        g2 = _heat(c2, (0, 0, *size), self._weights, WEIGHT_CMAP, 0.0, 1.0, words, words,
                   "weights softmax(scores), rows sum to 1", "{:.2f}")
        g2.outline(i, 0, 1, T, "#e61414", 2)
        # the query's weights row and its output vector (weights @ V), as two strips
        d = self.d_k
        c3 = GridCanvas(max(size[0], 520), 230)
        row = self._weights[i:i + 1]
        _heat(c3, (0, 0, c3.image.width, 110), row, WEIGHT_CMAP, 0.0, 1.0, [words[i]], words,
              f"weights of query {i} '{words[i]}'", "{:.2f}")
        shown = self._output[None, :64]
        olim = float(np.abs(shown).max()) or 1.0
        canvas_y = 120
        c3.text(c3.image.width / 2, canvas_y, f"output = weights @ V  ({d} numbers"
                f"{', first 64 shown' if d > 64 else ''})", 13, anchor="ma")
        cell = int(max(4, min(24, (c3.image.width - 80) // shown.shape[1])))
        from course.widgets._grids import Grid

        g4 = Grid(c3, 70, canvas_y + 22, 1, shown.shape[1], cell)
        g4.fill(np.asarray(SCORE_CMAP(np.clip((shown + olim) / (2 * olim), 0, 1)))[..., :3])
        g4.lines()
        with self._scores_view.hold_sync():
            self._scores_view.show_rgb(c1.rgb())
            self._scores_view.hover("value", values=shown_scores, grid=_where(g1), label="score")
        with self._weights_view.hold_sync():
            self._weights_view.show_rgb(c2.rgb())
            self._weights_view.hover("value", values=self._weights, grid=_where(g2),
                                     label="weight")
        with self._row_view.hold_sync():
            self._row_view.show_rgb(c3.rgb())
            self._row_view.hover("value", values=shown, grid=_where(g4), label="output")
        H, n = self.entropy, T
        self._readout.value = (
            "<div style='font-family:monospace'>"
            f"mean entropy of the weight rows: <b>{H:.3f}</b> nats "
            f"(uniform over all {n} words: {np.log(n):.3f}; one-hot: 0); "
            f"query '{html.escape(words[i])}': entropy {self.row_entropy[i]:.3f}, "
            f"largest weight {self._weights[i].max():.3f} on "
            f"'{html.escape(words[int(self._weights[i].argmax())])}'</div>")

    # ------------------------------------------------------ Python-level API
    d_k = control_property("_dk", "size of the query/key/value vectors")
    scaled = control_property("_scale", "divide the scores by sqrt(d_k)")
    causal = control_property("_causal", "mask the keys after each query")
    query_index = control_property("_query", "index of the query word shown")

    @property
    def sentence(self) -> str:
        return self._sentence.value

    @sentence.setter
    def sentence(self, value: str) -> None:
        self._sentence.value = str(value)

    @property
    def words(self) -> list[str]:
        return list(self._words)

    q = property(lambda self: self._q, doc="(T, d_k) queries")
    k = property(lambda self: self._k, doc="(T, d_k) keys")
    v = property(lambda self: self._v, doc="(T, d_k) values")
    scores = property(lambda self: self._scores, doc="(T, T) scores, -inf where masked")
    weights = property(lambda self: self._weights, doc="(T, T) attention weights")
    output = property(lambda self: self._output, doc="(d_k,) the query's weights @ V")

    @property
    def row_entropy(self) -> np.ndarray:
        return entropy(self._weights)

    @property
    def entropy(self) -> float:
        """Mean entropy of the weight rows, nats (NaN when there are none)."""
        h = self.row_entropy
        return float(h.mean()) if h.size else float("nan")


# ------------------------------------------------------ AttentionHeadExplorer
PANGRAM = "the quick brown fox jumps over the lazy dog"


def tiny_model(seconds_steps: int = 25, seed: int = 0):
    """(model, stoi): a 2-layer, 2-head character TransformerLM trained for a few
    seconds (``seconds_steps`` Adam steps) on the course's toy corpus."""
    from course import nn, optim
    from course.data import text as T

    corpus = " . ".join(T.toy_corpus() * 4 + [PANGRAM])
    chars = sorted(set(corpus))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in corpus])
    rng = np.random.default_rng(seed)
    model = nn.TransformerLM(len(chars), d_model=32, num_heads=2, num_layers=2, max_len=64,
                             rng=rng)
    opt, loss_fn, ctx = optim.Adam(model.parameters(), lr=3e-3), nn.CrossEntropyLoss(), 24
    for _ in range(seconds_steps):
        starts = rng.integers(0, len(ids) - ctx - 1, size=8)
        x = np.stack([ids[s:s + ctx] for s in starts])
        y = np.stack([ids[s + 1:s + ctx + 1] for s in starts])
        model.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        opt.step()
    model.eval()
    return model, stoi


class AttentionHeadExplorer(Explorer):
    """One head of a ``TransformerLM``: token-to-token attention weights on a text.

    ``AttentionHeadExplorer(model=None, text=None, encode=None, tokens=None)``:
    ``model`` a ``course.nn.TransformerLM`` (default: ``tiny_model()``, characters);
    ``encode(text) -> ids`` (default: one id per character from the default
    model's vocabulary, or ``ord``-free lookup ``stoi``); ``tokens(text) -> labels``
    (default: the characters).

    Python API: ``layer``, ``head``, ``text`` (setting redraws). Read-only: ``ids``,
    ``maps`` (list of (1, h, T, T) from ``model.attention_maps``), ``weights`` (T, T)
    of the chosen layer and head, ``error``.
    """

    caption_text = ("Change the layer and the head: each head looks at different earlier "
                    "tokens (the previous one, the first one, the same letter...). Hover a "
                    "cell to read its weight; every row sums to 1 and nothing lies above "
                    "the diagonal (the model is causal).")

    def __init__(self, model=None, text: str = "the cat sat on the mat", encode=None,
                 tokens=None, stoi: dict | None = None):
        super().__init__()
        if model is None:
            model, stoi = tiny_model()
        if encode is None:
            if stoi is None:
                raise ValueError("AttentionHeadExplorer needs encode= (text -> ids) or stoi= "
                                 "(a character -> id dict) with a model of your own")
            unknown = stoi.get(" ", 0)
            encode = lambda s: [stoi.get(c, unknown) for c in s]  # noqa: E731
        self.model, self._encode = model, encode
        self._tokens = tokens or (lambda s: list(s))
        self._ids = np.zeros(0, dtype=int)
        self._maps: list = []
        self._weights = np.zeros((0, 0))
        n_layers, n_heads = len(model.blocks), int(self._heads(model))
        self._text = self._labelled(W.Text(value=text, description="Text",
                                           continuous_update=False,
                                           layout=W.Layout(width="36em")), "course-text")
        self._layer = self._labelled(W.Dropdown(options=list(range(n_layers)), value=0,
                                                description="Layer"), "course-layer")
        self._head = self._labelled(W.Dropdown(options=list(range(n_heads)), value=0,
                                               description="Head"), "course-head")
        self._view = self._labelled(ImageView(), "course-output-image")
        self._main_view = self._view
        self._text.observe(lambda change: self._refresh(compute=True), "value")
        for control in (self._layer, self._head):
            control.observe(lambda change: self._refresh(), "value")
        self._finish([self._text, W.HBox([self._layer, self._head]), self._view])
        self._refresh(compute=True)

    @staticmethod
    def _heads(model) -> int:
        block = model.blocks[0]
        for name in ("num_heads", "h", "n_heads"):
            for obj in (block, getattr(block, "attn", None)):
                if obj is not None and hasattr(obj, name):
                    return getattr(obj, name)
        return model.attention_maps(np.zeros((1, 1), dtype=int))[0].shape[1]

    @guarded
    def _refresh(self, compute: bool = False) -> None:
        if compute or not self._maps:
            self._maps, self._weights = [], np.zeros((0, 0))
            text = self.text
            if not text:
                self._problem = "The text is empty: type a few characters."
                return
            self._ids = np.asarray(self._encode(text), dtype=int)
            self._maps = [np.asarray(m) for m in self.model.attention_maps(self._ids[None])]
        self._weights = self._maps[self.layer][0, self.head]
        self._draw()

    def _draw(self) -> None:
        labels = [repr(t)[1:-1] if t.strip() else "_" for t in self._tokens(self.text)]
        T = len(labels)
        cell = min(30, max(10, 560 // T))
        size = (110 + cell * T, 140 + cell * T)
        canvas = GridCanvas(*size)
        g = _heat(canvas, (0, 0, *size), self._weights, WEIGHT_CMAP, 0.0, 1.0, labels, labels,
                  f"layer {self.layer}, head {self.head}: query (row) -> key (column)", "{:.2f}")
        with self._view.hold_sync():
            self._view.show_rgb(canvas.rgb())
            self._view.hover("value", values=self._weights, grid=_where(g), label="weight")

    layer = control_property("_layer", "which block")
    head = control_property("_head", "which head of that block")

    @property
    def text(self) -> str:
        return self._text.value

    @text.setter
    def text(self, value: str) -> None:
        self._text.value = str(value)

    ids = property(lambda self: self._ids, doc="(T,) token ids of the text")
    maps = property(lambda self: self._maps, doc="model.attention_maps(ids[None])")
    weights = property(lambda self: self._weights, doc="(T, T) of the chosen layer and head")
