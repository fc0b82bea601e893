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

from course import conv
from course.widgets._base import CELL_SLIDERS, Explorer, cell_property, control_property, guarded
from course.widgets._grids import GridCanvas, fit_cell
from course.widgets.canvas import ImageView, grid as hover_grid

__all__ = ["ConvArithmeticExplorer"]

INPUT_COLOUR = (1.0, 1.0, 1.0)
PAD_COLOUR = (0.85, 0.85, 0.85)
TAP_COLOUR = (0.94, 0.55, 0.18)       # a kernel tap on a real input cell
TAP_PAD_COLOUR = (0.98, 0.80, 0.60)   # a kernel tap on a padding cell (reads a zero)
MARK_COLOUR = "#c00000"
PICTURE_SIZE = (640, 330)              # pixels; fixed, so the page never re-lays it out
INPUT_PANEL = (0, 0, 350, 330)         # (left, top, width, height) in the picture
OUTPUT_PANEL = (350, 0, 290, 330)


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
        self._output_size = 0
        self._formula = ""
        self._taps = np.zeros((0, 2), dtype=int)

        def slider(css, label, value, lo, hi):
            return self._labelled(W.IntSlider(value=value, min=lo, max=hi, description=label,
                                              continuous_update=css not in CELL_SLIDERS), css)

        self._n = slider("course-input-size", "Input n", input_size, 1, 12)
        self._k = slider("course-kernel-size", "Kernel k", kernel_size, 1, 7)
        self._p = slider("course-padding", "Padding p", padding, 0, 4)
        self._s = slider("course-stride", "Stride s", stride, 1, 4)
        self._d = slider("course-dilation", "Dilation d", dilation, 1, 3)
        self._row = slider("course-row", "Output row", 0, 0, 0)
        self._col = slider("course-col", "Output col", 0, 0, 0)
        self._formula_html = self._labelled(W.HTML(), "course-formula")
        self._picture = self._labelled(ImageView(layout=W.Layout(align_self="flex-start")),
                                       "course-output-image")
        self._main_view = self._picture
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
            self._fit_cell_sliders(self._output_size, self._output_size)
            self._taps = self._receptive_field()
        self._draw()

    # ---------------------------------------------------------------- model
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
        """Both grids, drawn at one cell size so the output's shrinking shows."""
        m = self.input_size + 2 * self.padding
        span = self.dilation * (self.kernel_size - 1) + 1
        shown = m if len(self._taps) else max(m, span)  # a kernel too big hangs over
        o = self._output_size
        cell = min(fit_cell(INPUT_PANEL, shown, shown), fit_cell(OUTPUT_PANEL, o, o))
        canvas = GridCanvas(*PICTURE_SIZE)
        inputs = self._draw_input(canvas, cell, shown)
        outputs = self._draw_output(canvas, cell, o)
        with self._picture.hold_sync():
            self._picture.show_rgb(canvas.rgb())
            if outputs is None:
                self._picture.hover("")
            else:  # hovering an output cell outlines what it reads, computed in the page
                self._picture.hover("receptive_field", in_grid=_where(inputs),
                                    out_grid=_where(outputs), k=self.kernel_size,
                                    s=self.stride, p=self.padding, d=self.dilation,
                                    n=self.input_size)

    def _draw_input(self, canvas, cell: int, shown: int) -> None:
        """The padded input (shown x shown cells from (-p, -p)) and what the kernel reads."""
        n, p, k, d = self.input_size, self.padding, self.kernel_size, self.dilation
        m, span = n + 2 * p, d * (k - 1) + 1
        if len(self._taps):
            read = f"orange: the {k}x{k} cells read by output {self.cell}"
        else:
            read = f"red: the dilated kernel spans {span}x{span} > {m}x{m}"
        grid = canvas.grid(INPUT_PANEL, shown, shown, cell, first_row=-p, first_col=-p,
                           title=f"input {n}x{n}, padding {p} (grey) -> {m}x{m}\n{read}")
        colours = np.empty((m, m, 3))
        colours[:] = PAD_COLOUR
        colours[p:p + n, p:p + n] = INPUT_COLOUR
        for r, c in self._taps:  # padded-grid coordinates; gaps between taps = dilation
            inside = p <= r < p + n and p <= c < p + n
            colours[r, c] = TAP_COLOUR if inside else TAP_PAD_COLOUR
        grid.fill(colours)
        grid.lines(m, m)
        grid.ticks()
        grid.outline(0, 0, n, n, "black", 2)  # the real input, inside its padding
        if len(self._taps):
            top, left = self._taps.min(axis=0) - p
            grid.outline(top, left, span, span, MARK_COLOUR, 2, dashed=True)
        else:  # no output: the kernel's taps hanging over the padded input
            for i in range(k):
                for j in range(k):
                    grid.shade(d * i - p, d * j - p, MARK_COLOUR, 0.55)
            grid.outline(-p, -p, span, span, MARK_COLOUR, 2, dashed=True)
        return grid

    def _draw_output(self, canvas, cell: int, o: int) -> None:
        """The o x o output with the chosen cell in orange, or why there is none."""
        if o <= 0:
            left, top, width, height = OUTPUT_PANEL
            canvas.text(left + width / 2, top + height / 2, f"no output\n(size {o} <= 0)",
                        18, MARK_COLOUR)
            return None
        grid = canvas.grid(OUTPUT_PANEL, o, o, cell, title=(
            f"output {o}x{o}\n(stride {self.stride}, dilation {self.dilation})"))
        colours = np.ones((o, o, 3))
        colours[self.cell] = TAP_COLOUR
        grid.fill(colours)
        grid.lines()
        grid.ticks()
        grid.outline(0, 0, o, o, "black", 2)
        return grid

    # ------------------------------------------------------ Python-level API
    input_size = control_property("_n", "n: height and width of the (square) input")
    kernel_size = control_property("_k", "k: kernel height and width")
    padding = control_property("_p", "p: zeros added on every side")
    stride = control_property("_s", "s: step between kernel positions")
    dilation = control_property("_d", "d: spacing between kernel taps (1 = no gaps)")

    cell = cell_property("(row, col) of the highlighted output cell",
                         shape=lambda self: (self._output_size, self._output_size))

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


def _where(g) -> dict:
    """Where a ``_grids.Grid`` sits in the picture, for the page's hover read-out."""
    return hover_grid(g.left, g.top, g.cell, g.rows, g.cols, g.first_row, g.first_col)


def _formula_text(n: int, k: int, p: int, s: int, d: int, result: int) -> str:
    """The formula with the numbers in, and the steps to ``result``."""
    numerator = n + 2 * p - d * (k - 1) - 1
    return (f"floor((n + 2p - d(k-1) - 1)/s) + 1 = "
            f"floor(({n} + 2*{p} - {d}*({k}-1) - 1)/{s}) + 1 = "
            f"floor({numerator}/{s}) + 1 = {result}")

