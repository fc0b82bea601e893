"""EmbeddingExplorer: a word's nearest neighbours, and a 2-D picture of word vectors.

Controls: the query word (typed), k, the metric (cosine / euclidean), the analogy
``a - b + c`` (three words typed), extra words to plot. Views: the k nearest
neighbours of the query as a list; a 2-D PCA projection (``course.embeddings.pca``)
of the query, its neighbours, the analogy's words and the extra words, with the
analogy's two arrows: b -> a and c -> the answer d (3CosAdd wants d - c = a - b,
so the two arrows should be parallel and as long).

Driveable from plain Python::

    w = EmbeddingExplorer(vectors=kv)          # any course.embeddings.KeyedVectors
    w.query = "king"; w.k = 5; w.metric = "euclidean"   # redraws
    w.neighbours                               # [(word, score)] = kv.nearest(query, k, metric)
    w.analogy = ("king", "man", "woman")       # king - man + woman
    w.analogy_result                           # [(word, score)] = kv.analogy(a, b, c, k=5)
    w.error                                    # "'kingg' is not in the vocabulary ..." or None

The math lives in ``course.embeddings``; this file only draws it.
"""
from __future__ import annotations

import difflib
import functools
import html

import ipywidgets as W
import numpy as np

from course import embeddings as E
from course.widgets._base import Explorer, control_property, guarded
from course.widgets._grids import GridCanvas
from course.widgets.canvas import ImageView

__all__ = ["EmbeddingExplorer", "default_vectors"]

METRICS = ("cosine", "euclidean")
ANALOGY_K = 5          # answers listed for the analogy
_QUERY, _NEIGH, _ANALOGY, _EXTRA = "#d62020", "#4c78a8", "#2ca02c", "0.35"
# the scatter's picture, drawn with PIL (matplotlib's redraw took ~30 ms a step): pixels
_WIDTH, _HEIGHT = 480, 368
_BOX = (10, 30, 470, 358)    # the plot's frame: left, top, right, bottom
_MARGIN = 0.12               # of the data's range, on each side (as matplotlib's margins)


@functools.lru_cache(maxsize=None)
def default_vectors(dim: int = 50, window: int = 5, min_count: int = 5) -> E.KeyedVectors:
    """PPMI + SVD vectors of the course's training split, as lecture 06 builds them
    (``build_corpus(min_count=5)``, ``ppmi_svd(dim=50, window=5)``): ~7k words.

    Built once per process (seconds: counting is fast) and kept on disk next to the
    corpus cache (``course.data.text.cache_dir()``), named by the corpus' cache and the recipe.
    """
    from course import tokenize
    from course.data import text

    suffix = f"-ppmi-svd-d{dim}-w{window}-m{min_count}.npz"
    path = text.cache_file(suffix)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                return E.KeyedVectors([str(w) for w in f["words"]], f["vectors"])
        except (OSError, ValueError, KeyError):
            pass  # damaged: rebuild
    words, _, corpus = E.build_corpus((tokenize.words(s) for s in text.sentences("train")), min_count=min_count)
    vectors = E.ppmi_svd(corpus, len(words), dim=dim, window=window)
    path = text.writable_cache_file(suffix)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, words=np.array(words), vectors=vectors)
    tmp.replace(path)
    return E.KeyedVectors(words, vectors)


def _split_words(s: str) -> list[str]:
    return [t for t in s.replace(",", " ").lower().split() if t]


class EmbeddingExplorer(Explorer):
    """Nearest neighbours and a PCA picture of ``vectors`` (a ``KeyedVectors``; default
    ``default_vectors()``, the PPMI + SVD vectors of lecture 06).

    Properties (set one to redraw): ``query`` (a word), ``k``, ``metric`` ("cosine" or
    "euclidean"), ``analogy`` ((a, b, c): a - b + c), ``extra`` (list of words also plotted).
    Results: ``neighbours`` ([(word, score)], ``vectors.nearest(query, k, metric)``; score a
    cosine or a distance), ``analogy_result`` ([(word, score)], ``vectors.analogy(a, b, c,
    k=5)``), ``plotted`` (the words in the picture), ``projection`` ((len(plotted), 2)),
    ``error`` (an unknown word is reported there, never raised).
    """

    caption_text = ("Type a word and read its neighbours; switch to euclidean and watch frequent "
                    "words move in (long vectors). Try analogies (germany - berlin + paris; larger - large + "
                    "small; king - man + woman): where one works, the two arrows are about parallel.")

    def __init__(self, vectors: E.KeyedVectors | None = None, query: str = "music", k: int = 8,
                 metric: str = "cosine", analogy=("germany", "berlin", "paris"), extra=()):
        super().__init__()
        self.vectors = default_vectors() if vectors is None else vectors
        self.neighbours: list[tuple[str, float]] = []
        self.analogy_result: list[tuple[str, float]] = []
        self.plotted: list[str] = []
        self.projection = np.zeros((0, 2))

        style = {"description_width": "70px"}
        self._query = W.Text(value=query, description="query", style=style, continuous_update=False,
                             layout=W.Layout(width="230px"))
        self._k = W.IntSlider(value=k, min=1, max=30, description="k", style=style, continuous_update=True)
        self._metric = W.ToggleButtons(options=list(METRICS), value=metric, description="metric",
                                       style={"description_width": "70px", "button_width": "95px"})
        a, b, c = analogy
        box = W.Layout(width="120px")
        self._a = W.Text(value=a, description="a", style={"description_width": "15px"}, layout=box,
                         continuous_update=False)
        self._b = W.Text(value=b, description="− b", style={"description_width": "25px"}, layout=box,
                         continuous_update=False)
        self._c = W.Text(value=c, description="+ c", style={"description_width": "25px"}, layout=box,
                         continuous_update=False)
        self._extra = W.Text(value=" ".join(extra), description="also plot", style=style,
                             continuous_update=False, layout=W.Layout(width="420px"),
                             placeholder="more words, separated by spaces")
        for name, ctrl in [("query", self._query), ("k", self._k), ("metric", self._metric), ("a", self._a),
                           ("b", self._b), ("c", self._c), ("extra", self._extra)]:
            self._labelled(ctrl, f"course-{name}")
        self._neigh_html = self._labelled(W.HTML(""), "course-neighbours")
        self._analogy_html = self._labelled(W.HTML(""), "course-analogy-result")
        self._view = ImageView()
        self._view.add_class("course-output-image")
        self._main_view = self._view

        self._neigh_html.layout.width = "260px"
        self._finish([W.HBox([self._query, self._k]), self._metric,
                      W.HBox([W.HTML("<b>analogy</b>&nbsp;"), self._a, self._b, self._c]),
                      self._analogy_html, self._extra,
                      W.HBox([self._neigh_html, self._view])])
        for ctrl in (self._query, self._k, self._metric, self._a, self._b, self._c, self._extra):
            ctrl.observe(self._redraw, names="value")
        self._redraw()

    # ------------------------------------------------------------ properties
    query = control_property("_query", "the query word (lower case, as in the vocabulary)")
    k = control_property("_k", "how many neighbours", convert=int)
    metric = control_property("_metric", "'cosine' (highest first) or 'euclidean' (lowest first)")

    @property
    def analogy(self) -> tuple[str, str, str]:
        """(a, b, c) of a - b + c ("b is to a as c is to ?"); setting it redraws once."""
        return self._a.value, self._b.value, self._c.value

    @analogy.setter
    def analogy(self, abc) -> None:
        a, b, c = (str(w) for w in abc)
        self._set_quietly(_a=a, _b=b, _c=c)
        self._redraw()

    @property
    def extra(self) -> list[str]:
        """More words drawn in the picture."""
        return _split_words(self._extra.value)

    @extra.setter
    def extra(self, words) -> None:
        self._extra.value = " ".join(words) if not isinstance(words, str) else words

    # --------------------------------------------------------------- drawing
    def _unknown(self, words) -> str | None:
        missing = [w for w in words if w not in self.vectors]
        if not missing:
            return None
        parts = []
        for w in missing:
            close = difflib.get_close_matches(w, self.vectors.words, n=3)
            parts.append(f"{w!r} is not in the vocabulary ({len(self.vectors):,d} words)"
                         + (f"; close: {', '.join(close)}" if close else ""))
        return ". ".join(parts)

    @guarded
    def _redraw(self, change=None) -> None:
        kv, problems = self.vectors, []
        q = self.query.strip().lower()
        self.neighbours = []
        if not q:
            problems.append("type a query word")
        elif (msg := self._unknown([q])):
            problems.append(msg)
        else:
            self.neighbours = kv.nearest(q, self.k, self.metric)
        abc = [w.strip().lower() for w in self.analogy]
        self.analogy_result = []
        if all(abc):
            if (msg := self._unknown(abc)):
                problems.append("analogy: " + msg)
            else:
                self.analogy_result = kv.analogy(*abc, k=ANALOGY_K)
        extra_bad = self._unknown(self.extra)
        if extra_bad:
            problems.append("also plot: " + extra_bad)
        self._problem = ". ".join(problems) or None
        self._show_lists(q, abc)
        self._draw_picture(q, abc)

    def _show_lists(self, q, abc) -> None:
        what = "cosine" if self.metric == "cosine" else "distance"
        rows = "".join(f"<tr><td>{i}</td><td>{html.escape(w)}</td><td style='text-align:right'>{s:.3f}</td></tr>"
                       for i, (w, s) in enumerate(self.neighbours, 1))
        head = (f"<b>{len(self.neighbours)} nearest to {html.escape(q)!s}</b> ({what})"
                if self.neighbours else "<b>no neighbours</b>")
        self._neigh_html.value = f"{head}<table style='font-size:90%'>{rows}</table>"
        if self.analogy_result:
            a, b, c = (html.escape(w) for w in abc)
            ans = ", ".join(f"<b>{html.escape(w)}</b> ({s:.2f})" if i == 0 else f"{html.escape(w)} ({s:.2f})"
                            for i, (w, s) in enumerate(self.analogy_result))
            self._analogy_html.value = f"{a} − {b} + {c} ≈ {ans}"
        else:
            self._analogy_html.value = "<i>no analogy answer (fill in the three words)</i>"

    def _draw_picture(self, q, abc) -> None:
        kv = self.vectors
        roles: dict[str, str] = {}
        if self.neighbours:
            roles[q] = _QUERY
            for w, _ in self.neighbours:
                roles.setdefault(w, _NEIGH)
        if self.analogy_result:
            for w in [*abc, self.analogy_result[0][0]]:
                roles.setdefault(w, _ANALOGY)
        for w in self.extra:
            if w in kv:
                roles.setdefault(w, _EXTRA)
        self.plotted = list(roles)
        if len(self.plotted) >= 2:
            X = kv.vectors[[kv.index[w] for w in self.plotted]]
            Z, _, _ = E.pca(X, k=2)
        else:
            Z = np.zeros((len(self.plotted), 2))
        self.projection = Z
        arrows = []
        if self.analogy_result:
            a, b, c = abc
            d = self.analogy_result[0][0]
            arrows = [(b, a), (c, d)]
        title = (f"PCA of the {len(self.plotted)} words shown (2 of {kv.vectors.shape[1]} "
                 f"dimensions)")
        self._view.show_rgb(_scatter_picture(self.plotted, Z, roles, q, arrows, title))


def _scatter_picture(words: list[str], Z: np.ndarray, roles: dict, query: str, arrows,
                     title: str) -> np.ndarray:
    """(H, W, 3) uint8: the words at their 2-D points Z (N, 2) (y up), coloured by role,
    the query in bold, and arrows [(from_word, to_word)]."""
    canvas = GridCanvas(_WIDTH, _HEIGHT)
    left, top, right, bottom = _BOX
    canvas.draw.rectangle(_BOX, outline=(0, 0, 0))
    canvas.text(_WIDTH / 2, 8, title, 13, anchor="ma")
    if len(words):
        lo, hi = Z.min(axis=0), Z.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        lo, span = lo - _MARGIN * span, span * (1 + 2 * _MARGIN)
        px = left + (Z[:, 0] - lo[0]) / span[0] * (right - left)
        py = bottom - (Z[:, 1] - lo[1]) / span[1] * (bottom - top)
        at = {w: (x, y) for w, x, y in zip(words, px, py)}
        for start, end in arrows:
            canvas.arrow(at[start], at[end], _ANALOGY)
        for w, (x, y) in at.items():
            canvas.dot(x, y, 3.5, roles[w])
            canvas.text(x + 4, y - 3, w, 12, colour=roles[w], anchor="ld", bold=w == query)
    return canvas.rgb()

