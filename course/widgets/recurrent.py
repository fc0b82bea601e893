"""Explorers of Unit 4 (recurrent networks), drawn with PIL and sent through the
shared canvas view (``course.widgets.canvas.ImageView``): one picture per change,
never a new figure.

- ``RNNUnrollExplorer``: the unrolled network for a sequence length, a number of
  layers and one or two directions; pick an output step and see which inputs it can
  see (``w.visible_inputs``, computed from the dependency structure of the drawing).
- ``GradientFlowExplorer``: ||dL/dh_t|| per time step (log scale) for a vanilla RNN
  or an LSTM, the recurrent weight scale, the forget-gate bias and gradient clipping
  (``w.norms``, ``w.total_norm``, ``w.clipped_total_norm``).
- ``LSTMGateExplorer``: a character LSTM's gates and cell over a piece of text, one
  hidden unit at a time (Karpathy's view), with the value under the mouse
  (``w.activations``: dict of (T, H) arrays).

The math comes from ``course.rnn`` (``lstm_forward``, ``grad_norm_per_step``),
``course.nn`` (``RNN``, ``LSTM``, ``clip_grad_norm_``) and ``course.rnnlm``.
"""
from __future__ import annotations

import html

import ipywidgets as W
import matplotlib
import numpy as np

from course import nn
from course import rnn as F
from course.plotting import SIGNED_CMAP
from course.widgets._base import Explorer, control_property, guarded
from course.widgets._grids import GridCanvas, font
from course.widgets.canvas import ImageView, grid

__all__ = ["RNNUnrollExplorer", "GradientFlowExplorer", "LSTMGateExplorer", "visible_inputs"]

_STYLE = {"description_width": "130px"}
_WIDE = W.Layout(width="400px")


def _rgb(colour) -> tuple[int, int, int]:
    r, g, b = matplotlib.colors.to_rgb(colour)
    return round(r * 255), round(g * 255), round(b * 255)


# ====================================================================== unrolling
def dependencies(T: int, num_layers: int = 1, bidirectional: bool = False) -> dict:
    """Which inputs each cell of an unrolled (deep, bi-)directional RNN reads.

    Returns ``{(layer, direction): (T, T) bool}`` with ``[t, s]`` True when the cell
    of that row at step t depends on input x_s, plus ``"y"``: (T, T) for the outputs.
    Built from the wiring alone: a forward cell reads the layer below at the same
    step (all its directions; x_t for layer 0) and its own row's previous step; a
    reverse cell reads the next step instead; y_t reads the top layer's cells at t.
    """
    D = 2 if bidirectional else 1
    below = np.eye(T, dtype=bool)                        # x_t reads exactly x_t
    deps = {}
    for k in range(num_layers):
        rows = []
        for d in range(D):
            dep = np.zeros((T, T), bool)
            steps = range(T) if d == 0 else range(T - 1, -1, -1)
            prev = None
            for t in steps:
                dep[t] = below[t] if prev is None else below[t] | dep[prev]
                prev = t
            deps[(k, d)] = dep
            rows.append(dep)
        below = np.logical_or.reduce(rows)
    deps["y"] = below
    return deps


def visible_inputs(T: int, t: int, num_layers: int = 1, bidirectional: bool = False) -> list[int]:
    """The input steps s (0-based) whose x_s can change output y_t."""
    return [int(s) for s in np.flatnonzero(dependencies(T, num_layers, bidirectional)["y"][t])]


class RNNUnrollExplorer(Explorer):
    """The unrolled RNN: which inputs can output y_t see?

    Properties (set one to redraw): ``seq_len`` (T), ``num_layers``, ``bidirectional``,
    ``output_step`` (0-based t of the highlighted output). Results: ``visible_inputs``
    (list of 0-based input steps), ``dependencies`` (dict of (T, T) bool arrays, see
    ``course.widgets.recurrent.dependencies``), ``pixels``, ``error``.
    """

    caption_text = ("Pick an output step: the highlighted inputs are all it can see. Make the "
                    "network bidirectional and every output sees the whole sequence; add layers "
                    "and watch the shaded cells that carry the information.")

    CELL_W, CELL_H, GAP_X, GAP_Y = 52, 30, 22, 22

    def __init__(self, seq_len: int = 6, num_layers: int = 1, bidirectional: bool = False,
                 output_step: int = 2):
        super().__init__()
        self._T = W.IntSlider(value=6, min=1, max=12, description="sequence length T",
                              style=_STYLE, layout=_WIDE)
        self._layers = W.IntSlider(value=1, min=1, max=3, description="layers", style=_STYLE,
                                   layout=_WIDE)
        self._bi = W.Checkbox(value=False, description="bidirectional")
        self._t = W.IntSlider(value=0, min=0, max=5, description="output step t",
                              style=_STYLE, layout=_WIDE, continuous_update=False)
        for ctrl, css in [(self._T, "course-seq-len"), (self._layers, "course-layers"),
                          (self._bi, "course-bidirectional"), (self._t, "course-output-step")]:
            self._labelled(ctrl, css)
        self._info = W.HTML("")
        self._info.add_class("course-formula")
        self._view = ImageView()
        self._view.add_class("course-view")
        self._main_view = self._view
        self._deps: dict = {}
        self._finish([W.HBox([W.VBox([self._T, self._layers, self._t]), self._bi]),
                      self._view, self._info])
        self._set_quietly(_T=seq_len, _layers=num_layers, _bi=bool(bidirectional))
        self._t.max = self._T.value - 1
        self._set_quietly(_t=min(output_step, self._T.value - 1))
        for ctrl in (self._T, self._layers, self._bi):
            ctrl.observe(self._structure_changed, names="value")
        self._t.observe(self._refresh, names="value")
        self._refresh()

    seq_len = control_property("_T", "sequence length T", convert=int)
    num_layers = control_property("_layers", "number of stacked layers", convert=int)
    bidirectional = control_property("_bi", "read the sequence both ways", convert=bool)
    output_step = control_property("_t", "0-based step t of the highlighted output y_t",
                                   convert=int)

    @property
    def visible_inputs(self) -> list[int]:
        return [int(s) for s in np.flatnonzero(self._deps["y"][self.output_step])]

    @property
    def dependencies(self) -> dict:
        return {k: v.copy() for k, v in self._deps.items()}

    def _structure_changed(self, change=None) -> None:
        held, self._hold = self._hold, True
        try:
            with self._t.hold_sync():
                self._t.max = self._T.value - 1
                self._t.value = min(self._t.value, self._T.value - 1)
        finally:
            self._hold = held
        self._refresh()

    @guarded
    def _refresh(self, change=None) -> None:
        T, L, bi, t = self._T.value, self._layers.value, self._bi.value, self._t.value
        self._deps = dependencies(T, L, bi)
        self._view.show_rgb(self._draw(T, L, bi, t))
        seen = self.visible_inputs
        span = (f"x_{seen[0] + 1} .. x_{seen[-1] + 1}" if seen == list(range(seen[0], seen[-1] + 1))
                else ", ".join(f"x_{s + 1}" for s in seen))
        self._info.value = (f"y_{t + 1} can see <b>{len(seen)}</b> of {T} inputs: {html.escape(span)}"
                            + ("" if bi else " (a one-way RNN never sees the future)"))

    def _draw(self, T, L, bi, t) -> np.ndarray:
        D = 2 if bi else 1
        cw, ch, gx, gy = self.CELL_W, self.CELL_H, self.GAP_X, self.GAP_Y
        rows = L * D + 2                                   # x, cells, y
        left, top = 70, 36
        width = left + T * (cw + gx) + 20
        height = top + rows * (ch + gy) + 10
        pic = GridCanvas(width, height)
        d = pic.draw
        pic.text(width // 2, 14, f"{'bidirectional ' if bi else ''}RNN, {L} layer"
                 f"{'s' if L > 1 else ''}, unrolled over T = {T}; output y_{t + 1} selected", 13)

        def cell_box(row, s):                               # row 0 = y (top) ... last = x
            x0 = left + s * (cw + gx)
            y0 = top + row * (ch + gy)
            return x0, y0, x0 + cw, y0 + ch

        order = [(k, dd) for k in range(L - 1, -1, -1) for dd in range(D - 1, -1, -1)]
        row_of = {key: 1 + i for i, key in enumerate(order)}
        x_row = rows - 1
        y_dep = self._deps["y"][t]
        # which cells carry information from a visible input to y_t: they are read by y_t
        on_path = {}
        reach = np.zeros(T, bool)
        reach[t] = True                                     # cells of the top layer at step t
        for k in range(L - 1, -1, -1):
            new_reach = np.zeros(T, bool)
            for dd in range(D):
                used = np.zeros(T, bool)
                steps = range(T - 1, -1, -1) if dd == 0 else range(T)
                carry = False
                for s in steps:                             # walk against the arrows
                    carry = carry or reach[s]
                    used[s] = carry
                on_path[(k, dd)] = used
                new_reach |= used
            reach = new_reach
        grey, dark, red = (120, 120, 120), (40, 40, 40), (214, 32, 32)
        # arrows first, boxes over them
        for (k, dd), row in row_of.items():
            below = [x_row] if k == 0 else [row_of[(k - 1, e)] for e in range(D)]
            for s in range(T):
                bx = cell_box(row, s)
                for b_row in below:
                    src = cell_box(b_row, s)
                    hot = on_path[(k, dd)][s]
                    colour, lw = (red, 2) if hot else (grey, 1)
                    mid = bx[0] + cw // 2
                    if b_row == row + 1:                    # straight up from the row below
                        d.line([(mid, src[1]), (mid, bx[3])], fill=colour, width=lw)
                    else:                                   # past the boxes between, in the gap
                        gap = bx[2] + gx // 2 - 3
                        d.line([(mid + 10, src[1]), (gap, src[1] - 6), (gap, bx[3] + 6),
                                (mid + 10, bx[3])], fill=colour, width=lw)
                if s < T - 1:
                    a, b = cell_box(row, s), cell_box(row, s + 1)
                    hot = on_path[(k, dd)][s + 1 if dd == 0 else s] and on_path[(k, dd)][s if dd == 0 else s + 1]
                    yy = a[1] + ch // 2 + (-5 if dd == 0 else 5)
                    colour = red if hot else grey
                    d.line([(a[2], yy), (b[0], yy)], fill=colour, width=2 if hot else 1)
                    tip = b[0] if dd == 0 else a[2]
                    sign = -1 if dd == 0 else 1
                    d.polygon([(tip, yy), (tip + sign * 6, yy - 4), (tip + sign * 6, yy + 4)], fill=colour)
        top_rows = [row_of[(L - 1, e)] for e in range(D)]
        for s in range(T):
            yb = cell_box(0, s)
            for r in top_rows:
                src = cell_box(r, s)
                colour, lw = (red, 2) if s == t else (grey, 1)
                mid = yb[0] + cw // 2
                if r == 1:
                    d.line([(mid, yb[3]), (mid, src[1])], fill=colour, width=lw)
                else:                                       # the forward row, past the reverse one
                    gap = yb[2] + gx // 2 - 3
                    d.line([(mid + 10, src[1]), (gap, src[1] - 6), (gap, yb[3] + 6),
                            (mid + 10, yb[3])], fill=colour, width=lw)
        colours = [(243, 201, 139), (158, 202, 225)]
        for (k, dd), row in row_of.items():
            label = f"layer {k + 1}" + (" ←" if dd == 1 else " →" if bi else "")
            pic.text(left - 8, cell_box(row, 0)[1] + ch // 2, label, 10, anchor="rm")
            for s in range(T):
                bx = cell_box(row, s)
                fill = colours[dd] if on_path[(k, dd)][s] else (235, 235, 235)
                d.rounded_rectangle(bx, radius=5, fill=fill, outline=dark)
                pic.text((bx[0] + bx[2]) / 2, (bx[1] + bx[3]) / 2, f"h{s + 1}", 11)
        pic.text(left - 8, cell_box(0, 0)[1] + ch // 2, "outputs", 10, anchor="rm")
        pic.text(left - 8, cell_box(x_row, 0)[1] + ch // 2, "inputs", 10, anchor="rm")
        for s in range(T):
            yb = cell_box(0, s)
            sel = s == t
            d.rectangle(yb, fill=(255, 220, 220) if sel else "white", outline=red if sel else dark,
                        width=3 if sel else 1)
            pic.text((yb[0] + yb[2]) / 2, (yb[1] + yb[3]) / 2, f"y{s + 1}", 12)
            xb = cell_box(x_row, s)
            vis = bool(y_dep[s])
            d.rectangle(xb, fill=(255, 170, 60) if vis else (245, 245, 245),
                        outline=dark if vis else (190, 190, 190), width=2 if vis else 1)
            pic.text((xb[0] + xb[2]) / 2, (xb[1] + xb[3]) / 2, f"x{s + 1}", 12,
                     colour="black" if vis else "#999999")
        return pic.rgb()


# ================================================================= gradient flow
def _orthogonal(H: int, seed: int = 0) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((H, H)))
    return q * np.sign(np.diag(r))


class GradientFlowExplorer(Explorer):
    """||dL/dh_t|| per step when the loss reads only the last state (L = sum(h_T)).

    The recurrent weights are ``scale`` times an orthogonal matrix (each of the LSTM's
    four blocks likewise), so ``scale`` is the vanilla RNN's spectral radius.
    Properties: ``cell`` ("rnn" | "lstm"), ``scale``, ``forget_bias`` (LSTM only),
    ``clip`` (bool), ``max_norm``, ``seq_len``. Results: ``norms`` ((T,) array,
    ||dL/dh_t|| for t = 1..T), ``total_norm`` (norm of all parameter gradients),
    ``clipped_total_norm`` (after ``nn.clip_grad_norm_``, when ``clip``),
    ``clipped_norms`` (``norms`` times the clipping factor: what the update sees).
    """

    caption_text = ("Vanilla RNN: lower the recurrent scale below 1 and the gradient reaching early "
                    "steps vanishes (a straight line down on the log scale); raise it above 1. Then "
                    "switch to the LSTM and raise the forget-gate bias to 3; turn clipping on.")

    H, I, N = 32, 4, 8
    WIDTH, HEIGHT = 640, 330
    PLOT = (78, 40, 540, 230)   # left, top, width, height of the axes in pixels

    def __init__(self, cell: str = "rnn", scale: float = 0.9, forget_bias: float = 0.0,
                 clip: bool = False, max_norm: float = 1.0, seq_len: int = 50):
        super().__init__()
        self._cell = W.ToggleButtons(options=[("vanilla RNN", "rnn"), ("LSTM", "lstm")],
                                     value="rnn", description="cell", style=_STYLE)
        self._scale = W.FloatSlider(value=0.9, min=0.1, max=2.0, step=0.05, readout_format=".2f",
                                    description="recurrent scale ρ", style=_STYLE, layout=_WIDE)
        self._bias = W.FloatSlider(value=0.0, min=-3.0, max=5.0, step=0.5, readout_format=".1f",
                                   description="forget-gate bias", style=_STYLE, layout=_WIDE)
        self._clip = W.Checkbox(value=False, description="clip the gradient norm")
        self._max_norm = W.FloatLogSlider(value=1.0, base=10, min=-2, max=2, step=0.1,
                                          readout_format=".3g", description="max norm",
                                          style=_STYLE, layout=_WIDE)
        self._T = W.IntSlider(value=50, min=5, max=100, description="sequence length T",
                              style=_STYLE, layout=_WIDE)
        self._controls = {"cell": self._cell, "scale": self._scale, "forget_bias": self._bias,
                          "clip": self._clip, "max_norm": self._max_norm, "seq_len": self._T}
        for name, ctrl in self._controls.items():
            self._labelled(ctrl, f"course-{name.replace('_', '-')}")
        self._info = W.HTML("")
        self._info.add_class("course-message")
        self._view = ImageView()
        self._view.add_class("course-view")
        self._main_view = self._view
        self._x = np.random.default_rng(0).standard_normal((100, self.N, self.I)) * 0.1
        self._q = _orthogonal(self.H)
        self.norms = np.zeros(0)
        self.clipped_norms = np.zeros(0)
        self.total_norm = self.clipped_total_norm = float("nan")
        self._finish([self._cell, W.HBox([W.VBox([self._scale, self._bias, self._T]),
                                          W.VBox([self._clip, self._max_norm])]),
                      self._view, self._info])
        self._set_quietly(_cell=cell, _scale=scale, _bias=forget_bias, _clip=bool(clip),
                          _max_norm=max_norm, _T=seq_len)
        for ctrl in self._controls.values():
            ctrl.observe(self._refresh, names="value")
        self._refresh()

    cell = control_property("_cell", "'rnn' (tanh) or 'lstm'")
    scale = control_property("_scale", "recurrent weights = scale x orthogonal", convert=float)
    forget_bias = control_property("_bias", "the LSTM's forget-gate bias", convert=float)
    clip = control_property("_clip", "clip the total gradient norm to max_norm", convert=bool)
    max_norm = control_property("_max_norm", "the clipping threshold", convert=float)
    seq_len = control_property("_T", "sequence length T", convert=int)

    def _model(self):
        H = self.H
        if self._cell.value == "rnn":
            m = nn.RNN(self.I, H, rng=0)
            m.weight_hh_l0.data[...] = self._scale.value * self._q
        else:
            m = nn.LSTM(self.I, H, rng=0)
            m.weight_hh_l0.data[...] = self._scale.value * np.tile(self._q, (4, 1))
            m.bias_ih_l0.data[H:2 * H] = self._bias.value      # the forget gate's block
            m.bias_hh_l0.data[H:2 * H] = 0.0
        return m

    @guarded
    def _refresh(self, change=None) -> None:
        self._bias.disabled = self._cell.value != "lstm"
        self._max_norm.disabled = not self._clip.value
        m = self._model()
        x = self._x[:self._T.value]
        with np.errstate(all="ignore"):
            _, state = m(x)
            h_T = state[0] if isinstance(state, tuple) else state
            m.backward(None, np.ones_like(h_T))
            self.norms = np.asarray(m.grad_h_norms["l0"], dtype=np.float64)
            params = m.parameters()
            self.total_norm = float(np.sqrt(sum(float(np.sum(p.grad ** 2)) for p in params)))
            if self._clip.value:
                nn.clip_grad_norm_(params, self._max_norm.value)
                self.clipped_total_norm = float(np.sqrt(sum(float(np.sum(p.grad ** 2)) for p in params)))
                factor = self.clipped_total_norm / self.total_norm if self.total_norm > 0 else 1.0
            else:
                self.clipped_total_norm, factor = self.total_norm, 1.0
        self.clipped_norms = self.norms * factor
        self._view.show_rgb(self._draw())
        ratio = self.norms[0] / self.norms[-1] if self.norms[-1] > 0 else float("nan")
        text = (f"||dL/dh_1|| / ||dL/dh_T|| = {ratio:.3g}; parameter gradient norm "
                f"{self.total_norm:.3g}")
        if self._clip.value:
            text += f" → clipped to {self.clipped_total_norm:.3g} (max norm {self._max_norm.value:.3g})"
        self._info.value = html.escape(text)

    def _draw(self) -> np.ndarray:
        pic = GridCanvas(self.WIDTH, self.HEIGHT)
        d = pic.draw
        x0, y0, pw, ph = self.PLOT
        T = len(self.norms)
        curves = [self.norms] + ([self.clipped_norms] if self._clip.value else [])
        logs = [np.log10(np.maximum(c, 1e-300)) for c in curves]
        finite = np.concatenate([v[np.isfinite(v)] for v in logs] + [np.array([0.0])])
        lo = max(np.floor(finite.min()), -30.0)
        hi = min(np.ceil(finite.max()), 30.0)
        if hi - lo < 2:
            lo, hi = lo - 1, hi + 1
        step = max(1, int(np.ceil((hi - lo) / 8)))

        def px(t, logv):
            X = x0 + (t - 1) / max(T - 1, 1) * pw
            Y = y0 + ph - (np.clip(logv, lo, hi) - lo) / (hi - lo) * ph
            return X, Y

        for e in np.arange(lo, hi + 0.5, step):
            _, Y = px(1, e)
            d.line([(x0, Y), (x0 + pw, Y)], fill=(225, 225, 225))
            pic.text(x0 - 6, Y, f"1e{int(e)}", 10, anchor="rm")
        for t in sorted({1, *range(10, T + 1, 10), T}):
            X, _ = px(t, lo)
            d.line([(X, y0 + ph), (X, y0 + ph + 4)], fill=(0, 0, 0))
            pic.text(X, y0 + ph + 14, str(t), 10)
        d.rectangle([x0, y0, x0 + pw, y0 + ph], outline=(0, 0, 0))
        colours = [(31, 78, 156) if self._cell.value == "rnn" else (214, 100, 20), (214, 32, 32)]
        for c, logv, colour in zip(curves, logs, colours):
            pts = [px(t + 1, v) for t, v in enumerate(logv) if np.isfinite(v)]
            if len(pts) > 1:
                d.line(pts, fill=colour, width=2)
            for X, Y in pts:
                d.ellipse([X - 2, Y - 2, X + 2, Y + 2], fill=colour)
        name = ("vanilla RNN" if self._cell.value == "rnn" else
                f"LSTM, forget bias {self._bias.value:g}")
        pic.text(self.WIDTH // 2, 16, f"||dL/dh_t|| per step, {name}, ρ = {self._scale.value:.2f} "
                 f"(L = sum of h_T)", 13)
        pic.text(x0 + pw // 2, y0 + ph + 32, "time step t", 11)
        pic.vertical_text(16, y0 + ph // 2, "||dL/dh_t|| (log scale)", 11)
        if self._clip.value:
            pic.text(x0 + pw - 4, y0 + 10, "red: after clipping", 10, colour="#d62020", anchor="rm")
        return pic.rgb()


# ===================================================================== LSTM gates
GATES = ("i", "f", "g", "o", "c", "h")
GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "g": "candidate g", "o": "output gate o",
              "c": "cell state c", "h": "hidden state h"}
DEFAULT_TEXT = ("the cat sat on the mat. \"hello,\" she said (quietly), and then\n"
                "nothing happened for 3 days; the end.")


def lstm_activations(model, ids) -> dict:
    """The first LSTM layer's activations over one sequence: ``{"i", "f", "g", "o",
    "c", "h"}`` -> (T, H) arrays, from ``course.rnn.lstm_forward``.

    ``model``: an ``RNNLM`` with ``cell="lstm"``; ``ids``: (T,) token ids.
    """
    rnn = model.rnn
    if not isinstance(rnn, nn.LSTM):
        raise ValueError(f"the gate viewer needs an LSTM language model (cell='lstm'), got "
                         f"cell={getattr(model, 'cell', type(rnn).__name__)!r}")
    was_training = model.training
    model.eval()
    try:
        e = model.embedding(np.asarray(ids)[None])     # (1, T, D)
    finally:
        model.train(was_training)
    x = np.swapaxes(e, 0, 1)                           # (T, 1, D)
    _, _, _, cache = F.lstm_forward(x, None, None, rnn.weight_ih_l0.data, rnn.weight_hh_l0.data,
                                    rnn.bias_ih_l0.data if rnn.bias else None,
                                    rnn.bias_hh_l0.data if rnn.bias else None)
    _, h_all, c_all, _, gates, *_ = cache
    H = rnn.hidden_size
    acts = {name: np.array(gates[:, 0, k * H:(k + 1) * H], dtype=np.float64)
            for k, name in enumerate("ifgo")}
    acts["c"] = np.array(c_all[1:, 0], dtype=np.float64)
    acts["h"] = np.array(h_all[1:, 0], dtype=np.float64)
    return acts


class LSTMGateExplorer(Explorer):
    """A character LSTM's gates over a text, one hidden unit at a time.

    ``model``: an ``RNNLM(cell="lstm")`` trained on characters (lecture 10's
    ``char_model``), ``vocab``: its ``tokenize.Vocab`` (default: the character
    alphabet ``tokenize.CHAR_ALPHABET``). Without ``model``: a small UNTRAINED LSTM
    (random weights; the caption says so). Properties: ``text``, ``gate`` (one of
    i f g o c h), ``unit`` (hidden unit 0..H-1), ``width`` (characters per line).
    Results: ``activations`` ({gate: (T, H) array}), ``values`` ((T,) of the chosen
    gate and unit), ``error``. Hover a character: its value.
    """

    CELL = 18

    def __init__(self, model=None, text: str = DEFAULT_TEXT, vocab=None, gate: str = "c",
                 unit: int = 0, width: int = 40):
        from course import rnnlm, tokenize

        self.trained = model is not None
        self._vocab = vocab if vocab is not None else tokenize.Vocab(list(tokenize.CHAR_ALPHABET))
        self._model = model if model is not None else rnnlm.RNNLM(len(self._vocab), 16, 32,
                                                                  cell="lstm", rng=0)
        self.caption_text = (
            ("Pick a hidden unit and a gate and look for a pattern in the text: a unit "
             "that turns on inside quotes, after a space, near the end of a line. Type your "
             "own text; hover a character for its value.")
            + ("" if self.trained else " (This default LSTM is UNTRAINED, random weights: pass "
                                       "model=your trained RNNLM to see real patterns.)"))
        super().__init__()
        H = self._model.rnn.hidden_size
        self._text = W.Textarea(value=DEFAULT_TEXT, description="text", style=_STYLE,
                                layout=W.Layout(width="600px", height="70px"),
                                continuous_update=False)
        self._gate = W.ToggleButtons(options=[(GATE_NAMES[g].split()[0] if g in "ifgo" else GATE_NAMES[g][:-2], g)
                                              for g in GATES], value="c", description="show",
                                     style=_STYLE)
        self._unit = W.IntSlider(value=0, min=0, max=H - 1, description="hidden unit",
                                 style=_STYLE, layout=_WIDE)
        self._width = W.IntSlider(value=40, min=10, max=80, description="characters per line",
                                  style=_STYLE, layout=_WIDE)
        self._controls = {"text": self._text, "gate": self._gate, "unit": self._unit,
                          "width": self._width}
        for name, ctrl in self._controls.items():
            self._labelled(ctrl, f"course-{name}")
        self._info = W.HTML("")
        self._info.add_class("course-message")
        self._view = ImageView()
        self._view.add_class("course-view")
        self._main_view = self._view
        self.activations: dict = {}
        self._finish([self._text, self._gate, W.HBox([self._unit, self._width]), self._view,
                      self._info])
        self._set_quietly(_text=text, _gate=gate, _unit=unit, _width=width)
        self._text.observe(self._recompute, names="value")
        for ctrl in (self._gate, self._unit, self._width):
            ctrl.observe(self._refresh, names="value")
        self._recompute()

    text = control_property("_text", "the text the LSTM reads")
    gate = control_property("_gate", "one of i, f, g, o (gates), c (cell), h (hidden)")
    unit = control_property("_unit", "hidden unit shown", convert=int)
    width = control_property("_width", "characters per line of the picture", convert=int)

    @property
    def values(self) -> np.ndarray:
        """(T,): the chosen gate's activation of the chosen unit at each character."""
        return self.activations[self._gate.value][:, self._unit.value].copy()

    def _encode(self, text: str) -> np.ndarray:
        if not text:
            raise ValueError("the text is empty: type a few characters")
        unk = getattr(self._vocab, "unk_id", None)
        ids = []
        for ch in text:
            i = self._vocab.stoi.get(ch, self._vocab.stoi.get(ch.lower(), unk))
            if i is None:
                raise ValueError(f"character {ch!r} is not in the model's vocabulary")
            ids.append(i)
        return np.array(ids)

    @guarded
    def _recompute(self, change=None) -> None:
        self.activations = lstm_activations(self._model, self._encode(self._text.value))
        self._draw()

    @guarded
    def _refresh(self, change=None) -> None:
        if not self.activations:
            raise ValueError("no activations yet: fix the text first")
        self._draw()

    def _draw(self) -> None:
        text, gate, k, cols = self._text.value, self._gate.value, self._unit.value, self._width.value
        v = self.activations[gate][:, k]
        T = len(v)
        rows = -(-T // cols)
        cell = self.CELL
        left, top = 10, 30
        pic = GridCanvas(left * 2 + cols * cell, top + rows * cell + 10)
        if gate in "ifo":
            cmap, vmin, vmax = matplotlib.colormaps["Greens"], 0.0, 1.0
        else:
            lim = 1.0 if gate in "gh" else max(1.0, float(np.abs(self.activations["c"][:, k]).max()))
            cmap, vmin, vmax = SIGNED_CMAP, -lim, lim
        colours = (cmap((np.clip(v, vmin, vmax) - vmin) / (vmax - vmin))[:, :3] * 255 + 0.5).astype(np.uint8)
        pic.text(left, 14, f"{GATE_NAMES[gate]} of hidden unit {k} over {T} characters "
                 f"(colour from {vmin:g} to {vmax:g})", 12, anchor="lm")
        f = font(12)
        for t, ch in enumerate(text):
            r, c = divmod(t, cols)
            x, y = left + c * cell, top + r * cell
            rgb = tuple(int(u) for u in colours[t])
            pic.draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=rgb)
            shown = "⏎" if ch == "\n" else ch
            light = sum(rgb) < 300
            pic.draw.text((x + cell / 2, y + cell / 2), shown, font=f, anchor="mm",
                          fill=(255, 255, 255) if light else (0, 0, 0))
        grid_values = np.full((rows, cols), np.nan, np.float32)
        grid_values.flat[:T] = v
        with self._view.hold_sync():
            self._view.show_rgb(pic.rgb())
            self._view.hover("value", values=grid_values, label=f"{gate}, unit {k}, at (line, char) ",
                             grid=grid(left, top, cell, rows, cols))
        self._info.value = html.escape(
            f"{GATE_NAMES[gate]}, unit {k}: mean {v.mean():.3f}, min {v.min():.3f}, max {v.max():.3f}"
            + ("" if self.trained else "  (untrained LSTM)"))
