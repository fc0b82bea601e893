"""PoolingExplorer: max or average pooling on a small grid of integers.

Shows the input with the window of one output cell (and, for max pooling, the
arg-max that ``pool.max_pool2d`` picked, which is the first maximum when there
are ties, as in PyTorch) and the pooled output with its numbers.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
from matplotlib.patches import Rectangle

from course import pool
from course.plotting import heatmap
from course.widgets._base import Explorer, figure_to_png, guarded, new_figure, set_slider

__all__ = ["PoolingExplorer"]


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
        self._figure = new_figure(8.0, 4.0)
        self._ax_in, self._ax_out = self._figure.subplots(1, 2)
        self._output = np.zeros((0, 0))
        self._indices = None
        self._explanation = ""
        self._seed = 0
        self._drawn_grid = None      # the grid the input heat map shows
        self._drawn_output = None    # (mode, kernel_size, stride, grid id) of the output map

        def slider(css, label, value, lo, hi):
            return self._labelled(W.IntSlider(value=value, min=lo, max=hi, description=label,
                                              continuous_update=False), css)

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
        self._picture = self._labelled(W.Image(format="png", layout=W.Layout(
            align_self="flex-start", max_width="100%", height="auto")), "course-output-image")
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
        self._clamp_cell()
        self._explanation = self._explain()
        self._explain_html.value = f"<div style='font-family:monospace'>{html.escape(self._explanation)}</div>"
        self._draw()

    # ---------------------------------------------------------------- model
    def _clamp_cell(self) -> None:
        oh, ow = self._output.shape
        held, self._hold = self._hold, True
        try:
            self._row.max, self._col.max = oh - 1, ow - 1
            self._row.value, self._col.value = min(self._row.value, oh - 1), min(self._col.value, ow - 1)
        finally:
            self._hold = held

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
        """Redraw a heat map only when its numbers changed; otherwise just move the
        outlines (window, arg-max, output cell) and re-render the figure."""
        if self._drawn_grid is not self._grid:
            self._draw_input_grid()
        key = (self.mode, self.kernel_size, self.stride, id(self._grid))
        if key != self._drawn_output:
            self._draw_output_grid()
            self._drawn_output = key
        top, left, k = self.window
        self._window_box.set_bounds(left - 0.5, top - 0.5, k, k)
        if self.mode == "max":
            ar, ac = self.argmax
            self._argmax_box.set_xy((ac - 0.5, ar - 0.5))
        self._argmax_box.set_visible(self.mode == "max")
        row, col = self.cell
        self._cell_box.set_xy((col - 0.5, row - 0.5))
        self._ax_in.set_title(f"input {self._grid.shape[0]}x{self._grid.shape[1]}: window of "
                              f"output {self.cell}" + (" (red: arg-max)" if self.mode == "max"
                                                       else ""), fontsize=10)
        self._picture.value = figure_to_png(self._figure)

    def _draw_input_grid(self) -> None:
        ax = self._ax_in
        ax.clear()
        heatmap(self._grid, ax=ax, fmt="{:g}", cmap="Blues")
        ax.set_xlabel("column")
        ax.set_ylabel("row")
        self._window_box = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=3,
                                                  edgecolor="#f08c2e"))
        self._argmax_box = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2.5,
                                                  edgecolor="red"))
        self._drawn_grid = self._grid
        self._drawn_output = None

    def _draw_output_grid(self) -> None:
        ax = self._ax_out
        ax.clear()
        fmt = "{:g}" if self.mode == "max" else "{:.2f}"
        oh, ow = self._output.shape
        heatmap(self._output, ax=ax, fmt=fmt, cmap="Blues", vmin=self._grid.min(),
                vmax=self._grid.max(), title=f"{self.mode} pool, window {self.kernel_size}, "
                                             f"stride {self.stride} -> {oh}x{ow}")
        ax.set_xlabel("column")
        ax.set_ylabel("row")
        self._cell_box = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2.5,
                                                edgecolor="red"))

    # ------------------------------------------------------ Python-level API
    @property
    def mode(self) -> str:
        """"max" or "avg"."""
        return self._mode.value

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in ("max", "avg"):
            raise ValueError(f"mode must be 'max' or 'avg', got {value!r}")
        self._mode.value = value

    @property
    def kernel_size(self) -> int:
        return self._k.value

    @kernel_size.setter
    def kernel_size(self, value: int) -> None:
        set_slider(self._k, value)

    @property
    def stride(self) -> int:
        return self._s.value

    @stride.setter
    def stride(self, value: int) -> None:
        set_slider(self._s, value)

    @property
    def cell(self) -> tuple[int, int]:
        """(row, col) of the output cell whose window is shown."""
        return self._row.value, self._col.value

    @cell.setter
    def cell(self, rc) -> None:
        row, col = (int(v) for v in rc)
        oh, ow = self._output.shape
        if not (0 <= row < oh and 0 <= col < ow):
            raise ValueError(f"cell {(row, col)} is outside the {oh}x{ow} output")
        self._set_quietly(_row=row, _col=col)
        self._refresh()

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
