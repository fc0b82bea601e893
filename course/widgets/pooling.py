"""PoolingExplorer: max or average pooling on a small grid of integers.

Shows the input with the window of one output cell (and, for max pooling, the
arg-max that ``pool.max_pool2d`` picked, which is the first maximum when there
are ties, as in PyTorch) and the pooled output with its numbers.
"""
from __future__ import annotations

import html

import ipywidgets as W
import matplotlib
import numpy as np

from course import pool
from course.widgets._base import CELL_SLIDERS, Explorer, cell_property, control_property, guarded
from course.widgets._grids import GridCanvas, fit_cell
from course.widgets.canvas import ImageView, grid as hover_grid

__all__ = ["PoolingExplorer"]

PICTURE_SIZE = (640, 340)           # pixels; fixed, so the page never re-lays it out
INPUT_PANEL = (0, 0, 330, 340)      # (left, top, width, height) in the picture
OUTPUT_PANEL = (330, 0, 310, 340)
WINDOW_COLOUR = "#f08c2e"
ARGMAX_COLOUR = "red"
CMAP = matplotlib.colormaps["Blues"]


def default_grid(seed: int = 0, size: int = 8) -> np.ndarray:
    """(size, size) random integers 0..9 as floats: small enough to have ties."""
    return np.random.default_rng(seed).integers(0, 10, size=(size, size)).astype(np.float64)


class PoolingExplorer(Explorer):
    """Max vs average pooling with ``pool.max_pool2d`` / ``pool.avg_pool2d``.

    grid: (H, W) numbers, default an 8x8 grid of random integers 0..9.

    Python API (each mirrors a control; setting it redraws): ``mode`` "max"|"avg",
    ``kernel_size``, ``stride``, ``cell`` (row, col) of the output cell to explain,
    ``grid`` (H, W). Read-only: ``output`` (OH, OW), ``indices`` (OH, OW) flat
    arg-max indices from ``max_pool2d(..., return_indices=True)`` (None for avg),
    ``argmax`` (row, col) of the chosen cell's maximum (None for avg), ``window``
    (top, left, size), ``explanation`` str, ``error``.
    """

    caption_text = ("Switch between max and avg, then change the window and stride; "
                    "move the output cell and see which input the max came from "
                    "(ties go to the first maximum).")

    def __init__(self, grid: np.ndarray | None = None, mode: str = "max",
                 kernel_size: int = 2, stride: int = 2):
        super().__init__()
        self._grid = self._check_grid(default_grid() if grid is None else grid)
        self._output = np.zeros((0, 0))
        self._indices = None
        self._explanation = ""
        self._seed = 0

        def slider(css, label, value, lo, hi):
            return self._labelled(W.IntSlider(value=value, min=lo, max=hi, description=label,
                                              continuous_update=css not in CELL_SLIDERS), css)

        self._mode = self._labelled(W.ToggleButtons(
            options=[("max", "max"), ("avg", "avg")], value=mode, description="Pooling",
            style={"button_width": "4em"}), "course-mode")
        self._k = slider("course-kernel-size", "Window", kernel_size, 1, 4)
        self._s = slider("course-stride", "Stride", stride, 1, 4)
        self._row = slider("course-row", "Output row", 0, 0, 0)
        self._col = slider("course-col", "Output col", 0, 0, 0)
        self._new = self._labelled(W.Button(description="New grid", icon="refresh"),
                                   "course-new-grid")
        self._explain_html = self._labelled(W.HTML(), "course-pool-explain")
        self._picture = self._labelled(ImageView(layout=W.Layout(align_self="flex-start")),
                                       "course-output-image")
        self._main_view = self._picture
        for control in (self._mode, self._k, self._s, self._row, self._col):
            control.observe(lambda change: self._refresh(), "value")
        self._new.on_click(self._on_new_grid)
        self._finish([
            W.HBox([self._mode, self._new]),
            W.HBox([W.VBox([self._k, self._s]), W.VBox([self._row, self._col])]),
            self._explain_html,
            self._picture,
        ])
        self._refresh()

    @staticmethod
    def _check_grid(grid) -> np.ndarray:
        grid = np.array(grid, dtype=np.float64)
        if grid.ndim != 2:
            raise ValueError(f"PoolingExplorer needs a 2-D (H, W) grid, got shape {grid.shape}")
        return grid

    # ------------------------------------------------------------- callbacks
    def _on_new_grid(self, _button) -> None:
        self._seed += 1
        self._grid = default_grid(self._seed, self._grid.shape[0])
        self._refresh()

    @guarded
    def _refresh(self) -> None:
        x = self._grid[None, None]  # (1, 1, H, W): the layout pool expects
        k, s = self.kernel_size, self.stride
        self._output, self._indices = np.zeros((0, 0)), None
        if self.mode == "max":
            out, idx = pool.max_pool2d(x, k, stride=s, return_indices=True)
            self._indices = np.asarray(idx)[0, 0]
        else:
            out = pool.avg_pool2d(x, k, stride=s)
        self._output = np.asarray(out)[0, 0]
        self._fit_cell_sliders(*self._output.shape)
        self._explanation = self._explain()
        self._explain_html.value = f"<div style='font-family:monospace'>{html.escape(self._explanation)}</div>"
        self._draw()

    # ---------------------------------------------------------------- model
    def _explain(self) -> str:
        top, left, k = self.window
        values = self._grid[top:top + k, left:left + k].ravel()
        listed = ", ".join(f"{v:g}" for v in values)
        row, col = self.cell
        result = self._output[row, col]
        if self.mode == "avg":
            return (f"output[{row}, {col}] = mean({listed}) = {values.sum():g}/{values.size} "
                    f"= {result:.3g}")
        ties = int(np.sum(values == result))
        ar, ac = self.argmax
        tie_note = (f" (the first of {ties} tied maxima, row-major, as in PyTorch)"
                    if ties > 1 else "")
        return (f"output[{row}, {col}] = max({listed}) = {result:g}, "
                f"taken from input row {ar}, col {ac}{tie_note}")

    # ----------------------------------------------------------------- view
    def _draw(self) -> None:
        """Input and output heat maps with their numbers, at one cell size (so the
        output's shrinking shows), one colour scale, and the outlines on top."""
        (h, w), (oh, ow) = self._grid.shape, self._output.shape
        cell = min(fit_cell(INPUT_PANEL, h, w), fit_cell(OUTPUT_PANEL, oh, ow))
        canvas = GridCanvas(*PICTURE_SIZE)
        lo, hi = float(self._grid.min()), float(self._grid.max())
        note = " (red: arg-max)" if self.mode == "max" else ""
        grid = canvas.grid(INPUT_PANEL, h, w, cell, title=(
            f"input {h}x{w}: window of output {self.cell}{note}"))
        _heat_map(grid, self._grid, "{:g}", lo, hi)
        top, left, k = self.window
        grid.outline(top, left, k, k, WINDOW_COLOUR, 3)
        if self.mode == "max":
            grid.outline(*self.argmax, 1, 1, ARGMAX_COLOUR, 2)

        out = canvas.grid(OUTPUT_PANEL, oh, ow, cell, title=(
            f"{self.mode} pool, window {self.kernel_size}, stride {self.stride} -> {oh}x{ow}"))
        _heat_map(out, self._output, "{:g}" if self.mode == "max" else "{:.2f}", lo, hi)
        out.outline(*self.cell, 1, 1, ARGMAX_COLOUR, 2)
        with self._picture.hold_sync():
            self._picture.show_rgb(canvas.rgb())
            # hovering an output cell outlines its window and gives its max or mean,
            # computed in the page from the grid (sent as float32, only when it changes)
            self._picture.hover("receptive_field", values=self._grid, in_grid=_where(grid),
                                out_grid=_where(out), k=self.kernel_size, s=self.stride,
                                p=0, d=1, n=h, n_cols=w, reduce="max" if self.mode == "max" else "mean")

    # ------------------------------------------------------ Python-level API
    mode = control_property("_mode", '"max" or "avg"')
    kernel_size = control_property("_k", "side of the square pooling window")
    stride = control_property("_s", "step between windows")

    cell = cell_property("(row, col) of the output cell whose window is shown",
                         shape=lambda self: self._output.shape)

    @property
    def grid(self) -> np.ndarray:
        return self._grid

    @grid.setter
    def grid(self, value) -> None:
        self._grid = self._check_grid(value)
        self._refresh()

    @property
    def output(self) -> np.ndarray:
        """(OH, OW) from ``pool.max_pool2d`` or ``pool.avg_pool2d``."""
        return self._output

    @property
    def indices(self):
        """(OH, OW) flat arg-max indices into the grid (max mode), else None."""
        return self._indices

    @property
    def window(self) -> tuple[int, int, int]:
        """(top, left, size) of the chosen output cell's window in the input."""
        row, col = self.cell
        return row * self.stride, col * self.stride, self.kernel_size

    @property
    def argmax(self):
        """(row, col) in the input of the chosen cell's maximum (max mode), else None."""
        if self._indices is None:
            return None
        flat = int(self._indices[self.cell])
        return divmod(flat, self._grid.shape[1])

    @property
    def explanation(self) -> str:
        return self._explanation


def _where(g) -> dict:
    """Where a ``_grids.Grid`` sits in the picture, for the page's hover read-out."""
    return hover_grid(g.left, g.top, g.cell, g.rows, g.cols, g.first_row, g.first_col)


def _heat_map(grid, values: np.ndarray, fmt: str, lo: float, hi: float) -> None:
    """Cells coloured by value (light = low, dark blue = high, on [lo, hi]) with the
    numbers written in them, white on the dark cells."""
    rgb = CMAP((values - lo) / (hi - lo if hi > lo else 1.0))[..., :3]
    grid.fill(rgb)
    grid.lines(colour="white")
    grid.ticks()
    dark = rgb @ np.array([0.299, 0.587, 0.114]) < 0.5
    grid.numbers(values, fmt, dark)
