"""ConvArithmeticExplorer: input size, kernel size, padding, stride and dilation,
the output-size formula with live numbers, and the receptive field of one
output cell drawn on the padded input.

The output size comes from ``conv.output_size``; the receptive field comes from
``conv.conv2d`` itself (each kernel tap is a one-hot filter applied to a grid of
cell numbers), so the picture shows exactly what the convolution reads.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
from matplotlib.patches import Rectangle

from course import conv
from course.widgets._base import Explorer, figure_to_png, guarded, new_figure, set_slider

__all__ = ["ConvArithmeticExplorer"]

INPUT_COLOUR = (1.0, 1.0, 1.0)
PAD_COLOUR = (0.85, 0.85, 0.85)
TAP_COLOUR = (0.94, 0.55, 0.18)       # a kernel tap on a real input cell
TAP_PAD_COLOUR = (0.98, 0.80, 0.60)   # a kernel tap on a padding cell (reads a zero)


class ConvArithmeticExplorer(Explorer):
    """Output size and receptive field of a 2-D convolution on an n x n input.

    Python API (each mirrors a control; setting it redraws): ``input_size``,
    ``kernel_size``, ``padding``, ``stride``, ``dilation``, ``cell`` (row, col)
    of the output cell to highlight. Read-only: ``output_size`` (int, may be <= 0),
    ``formula`` (str with the live numbers), ``receptive_field`` ((k*k, 2) input
    coordinates of the kernel taps; -1 or n and beyond are padding), ``error``.
    """

    caption_text = ("Raise the stride or dilation and watch the output shrink; move the "
                    "output cell to see which input cells it reads; make the kernel bigger "
                    "than the padded input to see why that fails.")

    def __init__(self, input_size: int = 7, kernel_size: int = 3, padding: int = 1,
                 stride: int = 2, dilation: int = 1):
        super().__init__()
        self._figure = new_figure(8.0, 4.0)
        self._ax_in, self._ax_out = self._figure.subplots(
            1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
        self._output_size = 0
        self._formula = ""
        self._taps = np.zeros((0, 2), dtype=int)

        def slider(css, label, value, lo, hi):
            return self._labelled(W.IntSlider(value=value, min=lo, max=hi, description=label,
                                              continuous_update=False), css)

        self._n = slider("course-input-size", "Input n", input_size, 1, 12)
        self._k = slider("course-kernel-size", "Kernel k", kernel_size, 1, 7)
        self._p = slider("course-padding", "Padding p", padding, 0, 4)
        self._s = slider("course-stride", "Stride s", stride, 1, 4)
        self._d = slider("course-dilation", "Dilation d", dilation, 1, 3)
        self._row = slider("course-row", "Output row", 0, 0, 0)
        self._col = slider("course-col", "Output col", 0, 0, 0)
        self._formula_html = self._labelled(W.HTML(), "course-formula")
        self._picture = self._labelled(W.Image(format="png", layout=W.Layout(
            align_self="flex-start", max_width="100%", height="auto")), "course-output-image")
        for control in (self._n, self._k, self._p, self._s, self._d, self._row, self._col):
            control.observe(lambda change: self._refresh(), "value")
        self._finish([
            W.HBox([W.VBox([self._n, self._k, self._p]), W.VBox([self._s, self._d]),
                    W.VBox([self._row, self._col])], layout=W.Layout(flex_flow="row wrap")),
            self._formula_html,
            self._picture,
        ])
        self._refresh()

    # -------------------------------------------------------------- callback
    @guarded
    def _refresh(self) -> None:
        n, k, p, s, d = (self.input_size, self.kernel_size, self.padding, self.stride,
                         self.dilation)
        self._output_size = conv.output_size(n, k, padding=p, stride=s, dilation=d)
        self._formula = _formula_text(n, k, p, s, d, self._output_size)
        self._formula_html.value = (
            "<div style='font-family:monospace;font-size:13px'>output size = "
            f"{html.escape(self._formula)}</div>")
        if self._output_size <= 0:
            span, padded = d * (k - 1) + 1, n + 2 * p
            self._problem = (
                f"No output: output size = {self._output_size}. The dilated kernel spans "
                f"d(k-1)+1 = {span} cells but the padded input has only n+2p = {padded}. "
                f"Use a smaller kernel or dilation, or more padding.")
            self._taps = np.zeros((0, 2), dtype=int)
        else:
            self._clamp_cell()
            self._taps = self._receptive_field()
        self._draw()

    # ---------------------------------------------------------------- model
    def _clamp_cell(self) -> None:
        last = self._output_size - 1
        held, self._hold = self._hold, True
        try:
            self._row.max = self._col.max = last
            self._row.value, self._col.value = min(self._row.value, last), min(self._col.value, last)
        finally:
            self._hold = held

    def _receptive_field(self) -> np.ndarray:
        """(k*k, 2) padded-grid coordinates that output ``cell`` reads, from ``conv.conv2d``.

        The padded grid holds its own cell numbers 0..m*m-1; filter t of the weight
        (k*k, 1, k, k) is one-hot at tap t, so output channel t at the chosen cell is
        the number of the cell that tap t reads.
        """
        k, m = self.kernel_size, self.input_size + 2 * self.padding
        numbers = np.arange(m * m, dtype=np.float64).reshape(1, 1, m, m)
        one_hot = np.eye(k * k).reshape(k * k, 1, k, k)
        read = conv.conv2d(numbers, one_hot, stride=self.stride, dilation=self.dilation)
        row, col = self.cell
        flat = np.rint(read[0, :, row, col]).astype(int)
        return np.stack(np.divmod(flat, m), axis=1)

    # ----------------------------------------------------------------- view
    def _draw(self) -> None:
        n, p = self.input_size, self.padding
        m = n + 2 * p
        colours = np.empty((m, m, 3))
        colours[:] = PAD_COLOUR
        colours[p:p + n, p:p + n] = INPUT_COLOUR
        for r, c in self._taps:
            inside = p <= r < p + n and p <= c < p + n
            colours[r, c] = TAP_COLOUR if inside else TAP_PAD_COLOUR
        ax = self._ax_in
        ax.clear()
        ax.imshow(colours, extent=(-p - 0.5, n + p - 0.5, n + p - 0.5, -p - 0.5))
        _grid_lines(ax, -p, n + p)
        ax.add_patch(Rectangle((-0.5, -0.5), n, n, fill=False, lw=2, edgecolor="black"))
        k, d = self.kernel_size, self.dilation
        span = d * (k - 1) + 1
        if len(self._taps):
            top, left = self._taps.min(axis=0) - p
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), span, span, fill=False, lw=2,
                                   ls="--", edgecolor="#c00000"))
            title = f"orange: the {k}x{k} cells read by output {self.cell}"
        else:  # no output: show the kernel's taps hanging over the padded input
            for i in range(k):
                for j in range(k):
                    ax.add_patch(Rectangle((d * j - p - 0.5, d * i - p - 0.5), 1, 1,
                                           color="#c00000", alpha=0.55))
            ax.add_patch(Rectangle((-p - 0.5, -p - 0.5), span, span, fill=False, lw=2,
                                   ls="--", edgecolor="#c00000"))
            hi = max(m, span) - p - 0.5
            ax.set_xlim(-p - 0.5, hi)
            ax.set_ylim(hi, -p - 0.5)
            title = f"red: the dilated kernel spans {span}x{span} > {m}x{m}"
        ax.set_title(f"input {n}x{n}, padding {p} (grey) -> {m}x{m}\n{title}", fontsize=10)
        ax.set_xlabel("column")
        ax.set_ylabel("row")
        self._draw_output()
        self._picture.value = figure_to_png(self._figure)

    def _draw_output(self) -> None:
        ax, o = self._ax_out, self._output_size
        ax.clear()
        if o <= 0:
            ax.set_axis_off()
            ax.text(0.5, 0.5, f"no output\n(size {o} <= 0)", ha="center", va="center",
                    color="#c00000", fontsize=14, transform=ax.transAxes)
            return
        colours = np.ones((o, o, 3))
        row, col = self.cell
        colours[row, col] = TAP_COLOUR
        ax.imshow(colours, extent=(-0.5, o - 0.5, o - 0.5, -0.5))
        _grid_lines(ax, 0, o)
        ax.add_patch(Rectangle((-0.5, -0.5), o, o, fill=False, lw=2, edgecolor="black"))
        ax.set_title(f"output {o}x{o}\n(stride {self.stride}, dilation {self.dilation})",
                     fontsize=10)
        ax.set_xlabel("column")
        ax.set_ylabel("row")

    # ------------------------------------------------------ Python-level API
    input_size = property(lambda self: self._n.value, lambda self, v: set_slider(self._n, v),
                          doc="n: height and width of the (square) input")
    kernel_size = property(lambda self: self._k.value, lambda self, v: set_slider(self._k, v),
                           doc="k: kernel height and width")
    padding = property(lambda self: self._p.value, lambda self, v: set_slider(self._p, v),
                       doc="p: zeros added on every side")
    stride = property(lambda self: self._s.value, lambda self, v: set_slider(self._s, v),
                      doc="s: step between kernel positions")
    dilation = property(lambda self: self._d.value, lambda self, v: set_slider(self._d, v),
                        doc="d: spacing between kernel taps (1 = no gaps)")

    @property
    def cell(self) -> tuple[int, int]:
        """(row, col) of the highlighted output cell."""
        return self._row.value, self._col.value

    @cell.setter
    def cell(self, rc) -> None:
        row, col = (int(v) for v in rc)
        o = self._output_size
        if not (0 <= row < o and 0 <= col < o):
            raise ValueError(f"cell {(row, col)} is outside the {o}x{o} output")
        self._set_quietly(_row=row, _col=col)
        self._refresh()

    @property
    def output_size(self) -> int:
        """``conv.output_size(n, k, p, s, d)``; <= 0 means no valid output."""
        return self._output_size

    @property
    def formula(self) -> str:
        """The output-size formula with the current numbers, e.g. ``floor((n + 2p -
        d(k-1) - 1)/s) + 1 = floor((7 + 2*1 - 1*(3-1) - 1)/2) + 1 = floor(6/2) + 1 = 4``."""
        return self._formula

    @property
    def receptive_field(self) -> list[tuple[int, int]]:
        """Input coordinates (row, col) read by output ``cell``, tap by tap (row-major).
        Coordinates < 0 or >= n are padding. Empty when the output size is <= 0."""
        p = self.padding
        return [(int(r) - p, int(c) - p) for r, c in self._taps]


def _formula_text(n: int, k: int, p: int, s: int, d: int, result: int) -> str:
    """The formula with the numbers in, and the steps to ``result``."""
    numerator = n + 2 * p - d * (k - 1) - 1
    return (f"floor((n + 2p - d(k-1) - 1)/s) + 1 = "
            f"floor(({n} + 2*{p} - {d}*({k}-1) - 1)/{s}) + 1 = "
            f"floor({numerator}/{s}) + 1 = {result}")


def _grid_lines(ax, lo: int, hi: int) -> None:
    """Thin lines between cells, integer ticks on the cells themselves."""
    ticks = np.arange(lo, hi)
    step = 1 if len(ticks) <= 12 else 2
    ax.set_xticks(ticks[::step])
    ax.set_yticks(ticks[::step])
    ax.set_xticks(np.arange(lo, hi + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(lo, hi + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="#999999", lw=0.8)
    ax.tick_params(which="both", length=0, labelsize=8)
