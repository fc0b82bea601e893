"""NgramSamplerExplorer: the weighted die of an n-gram model, and rolling it.

Controls: order n, smoothing, the context (typed), temperature, top-k, seed;
buttons "roll the die" (appends the face drawn to the context) and "generate a
sentence". View: the heaviest faces of the die P(w | context) as horizontal
bars (the die as reshaped by temperature and top-k), the face just drawn in
red; a line with the context the model actually reads and the size of the die.

Driveable from plain Python::

    w = NgramSamplerExplorer()
    w.n = 3; w.context = "the history of"    # redraws
    w.faces                                  # [(token, p), ...] the bars shown
    w.roll()                                 # -> the token drawn, appended to the context
    w.generate()                             # -> a sentence (list of tokens)

The math lives in ``course.ngram`` and ``course.lm``; this file only draws it.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from course import lm
from course.ngram import NGramLM, SMOOTHINGS
from course.tokenize import EOS, UNK, words
from course.widgets._base import Explorer, control_property, guarded
from course.widgets._grids import GridCanvas
from course.widgets.canvas import ImageView

__all__ = ["NgramSamplerExplorer"]

_BAR = "#4c78a8"
_DRAWN = "#d62020"
_SHOWN = 20          # bars drawn at most (top_k may keep more faces than that)
# the die's picture, drawn with PIL (a matplotlib bar chart took ~90 ms a step): pixels
_WIDTH, _HEIGHT = 512, 336
_LABELS_RIGHT, _BARS_LEFT, _BARS_RIGHT = 104, 110, 470   # faces' names | bars | values
_BARS_TOP, _ROW = 30, 13                                  # 20 rows of 13 px
_AXIS_Y = _BARS_TOP + _SHOWN * _ROW + 4


class NgramSamplerExplorer(Explorer):
    """Roll the die of an n-gram model fitted on ``sentences`` (default: the course's
    training split, words outside ``course.data.text.word_vocab()`` as ``<unk>``).

    Properties (set one to redraw): ``n``, ``smoothing``, ``context`` (a string,
    tokenized with ``course.tokenize.words``), ``temperature``, ``top_k``, ``seed``.
    Results: ``model`` (the fitted ``NGramLM``), ``die`` ((V,) the reshaped
    distribution), ``faces`` (the bars: [(token, p)]), ``last_roll``, ``sentence``,
    ``error``. Methods: ``roll()``, ``generate()``.
    """

    caption_text = ("Type a context and roll the die. Raise n: the die narrows to a few faces "
                    "(at n = 4 or 5 often a single one, and the sentences copy the corpus). "
                    "Lower the temperature to 0 to always take the heaviest face; cut the tail "
                    "with top-k.")

    def __init__(self, sentences=None, n: int = 2, smoothing: str = "kneser_ney", context: str = "the",
                 temperature: float = 1.0, top_k: int = 20, seed: int = 0, max_n: int = 5):
        super().__init__()
        if sentences is None:
            from course.data import text

            sentences = text.word_sentences("train", text.word_vocab())
        self._sentences = sentences
        self._models: dict[tuple[int, str], NGramLM] = {}
        self.last_roll: str | None = None
        self.sentence: list[str] = []
        self._drawn_id: int | None = None
        self.die = np.zeros(0)
        self.faces: list[tuple[str, float]] = []

        style = {"description_width": "90px"}
        self._n = W.IntSlider(value=n, min=1, max=max_n, description="order n", style=style)
        self._smoothing = W.ToggleButtons(options=list(SMOOTHINGS), value=smoothing, description="smoothing",
                                          style={"description_width": "90px", "button_width": "90px"})
        self._context = W.Text(value=context, description="context", style=style, continuous_update=False,
                               layout=W.Layout(width="420px"))
        self._temperature = W.FloatSlider(value=temperature, min=0.0, max=2.0, step=0.05,
                                          description="temperature", style=style)
        self._top_k = W.IntSlider(value=top_k, min=1, max=200, description="top-k", style=style)
        self._seed = W.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed", style=style,
                                      layout=W.Layout(width="200px"))
        self._roll_button = W.Button(description="roll the die")
        self._generate_button = W.Button(description="generate a sentence")
        for name, ctrl in [("n", self._n), ("smoothing", self._smoothing), ("context", self._context),
                           ("temperature", self._temperature), ("top-k", self._top_k), ("seed", self._seed),
                           ("roll", self._roll_button), ("generate", self._generate_button)]:
            self._labelled(ctrl, f"course-{name}")
        self._summary = self._labelled(W.HTML(""), "course-die-summary")
        self._sentence_html = self._labelled(W.HTML(""), "course-sentence")
        self._view = ImageView()
        self._view.add_class("course-output-image")
        self._main_view = self._view

        self._finish([W.HBox([W.VBox([self._n, self._temperature, self._top_k]),
                              W.VBox([self._smoothing, self._seed])]),
                      W.HBox([self._context, self._roll_button, self._generate_button]),
                      self._summary, self._view, self._sentence_html])
        self._rng = np.random.default_rng(seed)
        for ctrl in (self._n, self._smoothing, self._context, self._temperature, self._top_k):
            ctrl.observe(self._redraw, names="value")
        self._seed.observe(self._reseed, names="value")
        self._roll_button.on_click(lambda _b: self.roll())
        self._generate_button.on_click(lambda _b: self.generate())
        self._redraw()

    # ------------------------------------------------------------ properties
    n = control_property("_n", "order of the model (1 = unigram)", convert=int)
    smoothing = control_property("_smoothing", "mle, add_k or kneser_ney")
    context = control_property("_context", "the previous words, as typed (the last n-1 are read)")
    temperature = control_property("_temperature", "temperature of the die (0 = argmax)", convert=float)
    top_k = control_property("_top_k", "faces kept", convert=int)
    seed = control_property("_seed", "seed of the rolls", convert=int)

    @property
    def model(self) -> NGramLM:
        key = (self.n, self.smoothing)
        if key not in self._models:
            self._models[key] = NGramLM(self.n, self.smoothing, k=0.01).fit(self._sentences)
        return self._models[key]

    def context_tokens(self) -> tuple[str, ...]:
        """The n-1 tokens the model reads (unknown words as <unk>; fewer at a sentence start)."""
        model = self.model
        toks = [t if t in model.vocab else UNK for t in words(self.context)]
        return tuple(toks[-(self.n - 1):]) if self.n > 1 else ()

    # --------------------------------------------------------------- actions
    @guarded
    def _reseed(self, change=None) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._draw()

    def roll(self) -> str | None:
        """Roll the die once: the token drawn, appended to the context (``</s>`` clears it)."""
        self._roll()
        return self.last_roll

    @guarded
    def _roll(self) -> None:
        model = self.model
        raw = model.distribution(self.context_tokens())
        i = lm.sample_from(raw, self._rng, self.temperature, self.top_k)
        self.last_roll = token = model.vocab.lookup(i)
        self._drawn_id = i
        held, self._hold = self._hold, True
        try:
            self._context.value = "" if token == EOS else (self.context + " " + token).strip()
        finally:
            self._hold = held
        self._draw()

    def generate(self) -> list[str]:
        """A sentence rolled from the current context to ``</s>`` (at most 40 tokens)."""
        self._generate()
        return list(self.sentence)

    @guarded
    def _generate(self) -> None:
        start = [t if t in self.model.vocab else UNK for t in words(self.context)]
        self.sentence = self.model.generate(self._rng, max_len=40, context=tuple(start),
                                            temperature=self.temperature, top_k=self.top_k)
        self._sentence_html.value = f"<b>generated:</b> {html.escape(' '.join(self.sentence))}"
        self._drawn_id = None
        self._draw()

    # --------------------------------------------------------------- drawing
    @guarded
    def _redraw(self, change=None) -> None:
        self._drawn_id = None
        self._draw()

    def _draw(self) -> None:
        model = self.model
        ctx = self.context_tokens()
        raw = model.distribution(ctx)
        self.die = lm.adjust_probs(raw, self.temperature, self.top_k)
        order = np.argsort(-self.die, kind="stable")[:_SHOWN]
        order = order[self.die[order] > 0]
        self.faces = [(model.vocab.lookup(i), float(self.die[i])) for i in order]
        colours = [_DRAWN if i == self._drawn_id else _BAR for i in order]
        shown = "<s> " * max(self.n - 1 - len(ctx), 0) + " ".join(ctx)
        self._view.show_rgb(_die_picture(self.faces, colours,
                                         f"P(w | {shown.strip() or '(no context)'})"))
        seen = model.context_count(ctx) if self.n > 1 else model.n_train_tokens
        alive = int(np.count_nonzero(self.die))
        kept = float(raw[self.die > 0].sum())
        drawn = f" &nbsp; drew <b>{html.escape(self.last_roll)}</b>" if self._drawn_id is not None else ""
        self._summary.value = (
            f"<small>the model reads {html.escape(repr(ctx))}; seen {seen:,d} times in training; "
            f"a die of V = {len(model.vocab):,d} faces, {alive:,d} with probability &gt; 0 after "
            f"temperature and top-k ({kept:.0%} of the original mass){drawn}</small>")


def _tick_step(top: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving at most 5 ticks on [0, top]."""
    for step in (10.0 ** e * m for e in range(-4, 1) for m in (1, 2, 5)):
        if top / step <= 5:
            return step
    return 1.0


def _die_picture(faces, colours, title: str) -> np.ndarray:
    """(H, W, 3) uint8: one horizontal bar per face [(token, p)], heaviest on top, its
    probability at the end of the bar, a probability axis below."""
    canvas = GridCanvas(_WIDTH, _HEIGHT)
    draw = canvas.draw
    canvas.text(_WIDTH / 2, 6, title, 13, anchor="ma")
    top = max([p for _, p in faces] + [1e-3]) * 1.1
    scale = (_BARS_RIGHT - _BARS_LEFT) / top
    for row, ((token, p), colour) in enumerate(zip(faces, colours)):
        y = _BARS_TOP + row * _ROW
        draw.rectangle([_BARS_LEFT, y + 2, _BARS_LEFT + max(p * scale, 1), y + _ROW - 2],
                       fill=colour)
        canvas.text(_LABELS_RIGHT, y + _ROW / 2, token, 11, anchor="rm")
        canvas.text(_BARS_LEFT + p * scale + 4, y + _ROW / 2, f"{p:.3f}", 9, colour="#444444",
                    anchor="lm")
    draw.line([(_BARS_LEFT, _BARS_TOP), (_BARS_LEFT, _AXIS_Y)], fill=(0, 0, 0))
    draw.line([(_BARS_LEFT, _AXIS_Y), (_BARS_RIGHT, _AXIS_Y)], fill=(0, 0, 0))
    step = _tick_step(top)
    for k in range(int(top / step) + 1):
        x = _BARS_LEFT + k * step * scale
        draw.line([(x, _AXIS_Y), (x, _AXIS_Y + 4)], fill=(0, 0, 0))
        canvas.text(x, _AXIS_Y + 6, f"{k * step:g}", 10, anchor="ma")
    canvas.text((_BARS_LEFT + _BARS_RIGHT) / 2, _AXIS_Y + 22, "probability of the face", 11,
                anchor="ma")
    return canvas.rgb()
