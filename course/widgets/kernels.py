"""KernelExplorer: pick or edit a kernel and watch it filter a photograph.

Controls: preset, kernel size (3x3 / 5x5), editable kernel cells, padding
("same" / "valid"), padding mode (zeros / reflect / replicate), stride, and the
output pixel to inspect. Views: input and output images side by side, and a
zoom on one output pixel: the input patch, the kernel, and their weighted sum
written out. The output's colours follow the kernel (``_base.colour_rule``):
weights summing to 1 give an image (gray, clipped to [0, 1]); weights summing to
0 give a signed map (diverging, zero = mid-grey); other sums depend on the range.

All the maths is ``course.conv``; this file only wires controls to views.

    >>> w = KernelExplorer()
    >>> w.kernel = "sharpen"
    >>> w.output.shape
    (512, 512)
"""
from __future__ import annotations

import html
import time

import ipywidgets as W
import numpy as np

from course import conv, data
from course.widgets._base import (
    Explorer, cell_property, colour_rule, control_property, display_scale, guarded,
)
from course.widgets.canvas import ImageView, box

__all__ = ["KernelExplorer"]

CUSTOM = "custom"
_RAMP = np.linspace(0.0, 1.0, 256)[None, :]  # the colour bar: (1, 256) from 0 to 1
SIZES = (3, 5)
MAX_CELLS = max(SIZES)


class KernelExplorer(Explorer):
    """Interactive 2-D filtering of a grayscale image with ``conv.filter_image``.

    image: (H, W) in [0, 1], or (H, W, 3) (converted to gray); default the
    512x512 photograph ``course.data.sample_image()``.

    Python API (each mirrors a control; setting it redraws):
    ``kernel`` preset name or "custom", ``weights`` (k, k) array, ``size`` 3|5,
    ``padding`` "same"|"valid", ``padding_mode`` "zeros"|"reflect"|"replicate",
    ``stride`` int, ``pixel`` (row, col) of the output pixel to inspect.
    Read-only: ``output`` (OH, OW), ``patch`` (k, k) input under the kernel at
    ``pixel``, ``weighted_sum`` float (equals ``output[pixel]``),
    ``weighted_sum_text``, ``colormap`` ("gray" or the diverging map's name),
    ``error`` (str or None), ``timings`` (ms of the last update: compute, draw (build and queue the view messages), total).
    """

    caption_text = ("Choose 'sharpen' or 'sobel_x', edit one kernel cell, or move the "
                    "stride slider; the zoom below shows the weighted sum behind one "
                    "output pixel.")

    def __init__(self, image: np.ndarray | None = None, kernel: str = "sobel_x"):
        super().__init__()
        self._image = self._as_gray(image)
        self._padded_cache: dict[tuple[int, str], np.ndarray] = {}
        self._scale = display_scale(self._image.shape)
        self._weights = conv.kernel(kernel, 3)
        self._output = np.zeros((0, 0))
        self._patch = np.zeros((0, 0))
        self._weighted_sum = float("nan")
        self._weighted_sum_text = ""
        self._input_box = None
        self._drawn_box = None
        self._pixel_stride = 1
        self.colormap = "gray"
        self._build_controls(kernel)
        self._build_views()
        controls = W.VBox([
            W.HBox([self._preset, self._description]),
            W.HBox([self._size, self._padding], layout=W.Layout(flex_flow="row wrap")),
            W.HBox([self._mode, self._stride], layout=W.Layout(flex_flow="row wrap")),
        ], layout=W.Layout(flex="1 1 0", min_width="0"))
        self._finish([
            W.HBox([self._kernel_panel, controls], layout=W.Layout(align_items="flex-start")),
            W.HBox([self._input_panel, self._output_panel],
                   layout=W.Layout(align_items="flex-start", grid_gap="12px")),
            W.HBox([self._row, self._col], layout=W.Layout(flex_flow="row wrap")),
            self._zoom,
        ])
        self._fill_cells()
        self._draw_input()
        self._refresh()

    # ------------------------------------------------------------------ build
    @staticmethod
    def _as_gray(image) -> np.ndarray:
        if image is None:
            image = data.sample_image()
        image = np.asarray(image, dtype=np.float64)
        if image.ndim == 3 and image.shape[-1] == 3:
            image = data.rgb_to_gray(image)
        if image.ndim != 2:
            raise ValueError(f"KernelExplorer needs an (H, W) or (H, W, 3) image, got shape "
                             f"{image.shape}")
        return image

    def _build_controls(self, kernel: str) -> None:
        names = list(conv.KERNELS)
        if kernel not in names:
            raise ValueError(f"unknown kernel {kernel!r}; choose one of {names}")
        self._preset = self._labelled(W.Dropdown(
            options=names + [CUSTOM], value=kernel, description="Preset"), "course-preset")
        self._description = self._labelled(W.HTML(), "course-preset-description")
        self._size = self._labelled(W.ToggleButtons(
            options=[("3x3", 3), ("5x5", 5)], value=3, description="Size",
            style={"button_width": "4em"}), "course-size")
        self._padding = self._labelled(W.ToggleButtons(
            options=["same", "valid"], value="same", description="Padding",
            style={"button_width": "4.5em"}), "course-padding")
        self._mode = self._labelled(W.ToggleButtons(
            options=["zeros", "reflect", "replicate"], value="zeros", description="Pad with",
            style={"button_width": "6.5em"}), "course-padding-mode")
        self._stride = self._labelled(W.IntSlider(
            value=1, min=1, max=4, description="Stride", continuous_update=True),
            "course-stride")
        h, w = self._image.shape
        self._row = self._labelled(W.IntSlider(
            value=h // 2, min=0, max=h - 1, description="Pixel row", continuous_update=False),
            "course-row")
        self._col = self._labelled(W.IntSlider(
            value=w // 2, min=0, max=w - 1, description="Pixel col", continuous_update=False),
            "course-col")
        self._cells = [[self._new_cell(i, j) for j in range(MAX_CELLS)] for i in range(MAX_CELLS)]
        self._grid = W.GridBox(layout=W.Layout(grid_gap="2px"))
        self._grid.add_class("course-kernel-grid")

        self._preset.observe(self._on_preset, "value")
        self._size.observe(self._on_size, "value")
        for control in (self._padding, self._mode, self._stride):
            control.observe(lambda change: self._refresh(), "value")
        for control in (self._row, self._col):
            control.observe(lambda change: self._refresh(recompute=False), "value")

    def _new_cell(self, i: int, j: int) -> W.FloatText:
        cell = W.FloatText(value=0.0, step=0.1, layout=W.Layout(width="100%", margin="0"))
        cell.add_class("course-kernel-cell")
        cell.add_class(f"course-kernel-cell-{i}-{j}")
        cell.observe(lambda change: self._on_cell(i, j, change.new), "value")
        return cell

    def _build_views(self) -> None:
        h, w = self._image.shape
        self._input_image = self._labelled(ImageView(scale=self._scale), "course-input-image")
        self._output_image = self._labelled(ImageView(scale=self._scale), "course-output-image")
        # the hover read-out computes sum(patch x kernel) in the page from the input,
        # sent once as float32; each step then sends only the output's codes
        self._output_image.hover("weighted_sum", values=self._image)
        self._main_view = self._output_image
        self._colorbar = self._labelled(ImageView(width=256, height=10), "course-colorbar")
        self._colorbar.show(_RAMP, "gray")
        self._input_title = W.HTML()
        self._output_title = self._labelled(W.HTML(), "course-output-title")
        self._colorbar_labels = self._labelled(W.HTML(), "course-colorbar-labels")
        self._kernel_title = W.HTML()
        self._zoom = self._labelled(W.HTML(), "course-zoom")
        # the kernel grid keeps its size; the two images share the row, each at most
        # its native width and shrinking (CSS, no re-render) when space is short
        self._kernel_panel = W.VBox([self._kernel_title, self._grid],
                                    layout=W.Layout(flex="0 0 auto", margin="0 16px 0 0"))
        native = f"{w * self._scale}px"
        self._input_panel = W.VBox([self._input_title, self._input_image],
                                   layout=W.Layout(flex="1 1 0", min_width="0", max_width=native))
        self._output_panel = W.VBox([self._output_title, self._output_image, self._colorbar,
                                     self._colorbar_labels],
                                    layout=W.Layout(flex="1 1 0", min_width="0", max_width=native))

    # -------------------------------------------------------------- callbacks
    @guarded
    def _on_preset(self, change) -> None:
        if change.new != CUSTOM:
            self._weights = self._preset_weights(change.new, self.size)
            self._fill_cells()
        self._redraw()

    @guarded
    def _on_size(self, change) -> None:
        if self.kernel == CUSTOM:
            self._weights = _resize_centered(self._weights, change.new)
        else:
            self._weights = self._preset_weights(self.kernel, change.new)
        self._fill_cells()
        self._redraw()

    @guarded
    def _on_cell(self, i: int, j: int, value: float) -> None:
        if i >= self.size or j >= self.size:
            return
        self._weights = self._weights.copy()
        self._weights[i, j] = value
        self._set_quietly(_preset=CUSTOM)
        self._describe()
        self._redraw()

    @guarded
    def _refresh(self, recompute: bool = True) -> None:
        self._redraw(recompute)

    def _redraw(self, recompute: bool = True) -> None:
        """Recompute (if the kernel or geometry changed) and redraw what changed."""
        t0 = time.perf_counter()
        if recompute:
            self._output = np.zeros((0, 0))  # a stale output never survives an error
            self._output_title.value = "<b>Output</b> &mdash; none (see the error below)"
            self._output = conv.filter_image(self._image, self._weights, padding=self.padding,
                                             stride=self.stride, padding_mode=self.padding_mode)
        self._clamp_pixel()
        self._inspect_pixel()
        t1 = time.perf_counter()
        self._draw_output()
        self._draw_input_box()
        self._draw_zoom()
        t2 = time.perf_counter()
        self.timings.update(compute_ms=(t1 - t0) * 1e3, draw_ms=(t2 - t1) * 1e3)

    # ------------------------------------------------------------ the model
    @staticmethod
    def _preset_weights(name: str, size: int) -> np.ndarray:
        """The preset at ``size``; a 3x3-only preset sits in the centre of zeros."""
        try:
            return np.asarray(conv.kernel(name, size), dtype=np.float64)
        except ValueError:
            return _resize_centered(np.asarray(conv.kernel(name, 3), dtype=np.float64), size)

    def _pad_amount(self) -> int:
        return self.size // 2 if self.padding == "same" else 0

    def _clamp_pixel(self) -> None:
        """Keep the inspected pixel inside the output; after a stride change keep it
        over (about) the same input location."""
        oh, ow = self._output.shape[:2]
        row, col = self.pixel
        if self.stride != self._pixel_stride:
            row = row * self._pixel_stride // self.stride
            col = col * self._pixel_stride // self.stride
            self._pixel_stride = self.stride
        with self._row.hold_sync(), self._col.hold_sync():  # one message per slider
            self._fit_cell_sliders(oh, ow)  # the sliders' new range first, then the pixel
            self._set_quietly(_row=min(row, oh - 1), _col=min(col, ow - 1))

    def _inspect_pixel(self) -> None:
        """Input patch under the kernel at the chosen output pixel, and its weighted sum."""
        k, s, p = self.size, self.stride, self._pad_amount()
        row, col = self.pixel
        padded = self._padded(p, self.padding_mode)
        self._patch = padded[row * s: row * s + k, col * s: col * s + k]
        terms = self._patch * self._weights
        self._weighted_sum = float(terms.sum())
        written = " + ".join(f"{x:.3f}\u00b7({w:.3g})" for x, w in
                             zip(self._patch.ravel(), self._weights.ravel()))
        self._weighted_sum_text = f"{written} = {self._weighted_sum:.4f}"
        self._input_box = (row * s - p, col * s - p, k, k)

    def _padded(self, p: int, padding_mode: str) -> np.ndarray:
        """The input padded by ``p`` (the image never changes: padded once per (p, mode))."""
        key = (p, padding_mode)
        if key not in self._padded_cache:
            mode = "constant" if padding_mode == "zeros" else padding_mode
            self._padded_cache[key] = conv.pad2d(self._image, p, mode=mode)
        return self._padded_cache[key]

    # ---------------------------------------------------------------- views
    def _fill_cells(self) -> None:
        k = self.size
        held, self._hold = self._hold, True
        try:
            for i in range(MAX_CELLS):
                for j in range(MAX_CELLS):
                    self._cells[i][j].value = float(self._weights[i, j]) if i < k and j < k else 0.0
        finally:
            self._hold = held
        cells = [self._cells[i][j] for i in range(k) for j in range(k)]
        if list(self._grid.children) != cells:
            self._grid.children = cells
            self._grid.layout.grid_template_columns = f"repeat({k}, 5.5em)"
            self._grid.layout.width = f"calc({k} * 5.5em + {k - 1} * 2px)"
        self._kernel_title.value = f"<b>Kernel</b> ({k}&times;{k}, edit any cell)"
        self._describe()

    def _describe(self) -> None:
        name = self.kernel
        if name == CUSTOM:
            text = "Your own weights: each output pixel is the weighted sum of the patch."
        else:
            text = conv.KERNELS[name].description
            if self.size == 5 and not _exists_at(name, 5):
                text += " (3&times;3 preset, centred in a 5&times;5 of zeros)"
        self._description.value = f"<i>{text}</i>"

    def _draw_input(self) -> None:
        self._input_image.show(self._image, "gray", 0.0, 1.0)  # once: the input never changes
        h, w = self._image.shape
        self._input_title.value = (f"<b>Input</b> {h}&times;{w} &mdash; red box: the patch "
                                   f"under the kernel")

    def _draw_input_box(self) -> None:
        if self._input_box != self._drawn_box:
            self._input_image.boxes = [box(*self._input_box)] if self._input_box else []
            self._drawn_box = self._input_box

    def _draw_output(self) -> None:
        out = self._output
        cmap, lo, hi, signed, reason = colour_rule(out, self._weights)
        row, col = self.pixel
        view = self._output_image
        with view.hold_sync():  # pixels, colours, outline and hover data: one message
            view.show(out, cmap, lo, hi)
            view.boxes = [box(row, col, 1, 1)]
            view.hover("weighted_sum", weights=self._weights.tolist(), stride=self.stride,
                       pad=self._pad_amount(), mode=self.padding_mode)
        oh, ow = out.shape
        kind = ("signed: blue &lt; 0 (grey) &lt; orange" if signed
                else "gray, clipped to [0, 1]")
        self._output_title.value = (
            f"<b>Output</b> {oh}&times;{ow} (stride {self.stride}, padding {self.padding}) "
            f"&mdash; {kind}<br><small>{html.escape(reason)}</small>"
            f"<br><small>hover the output: the weighted sum under the mouse</small>")
        self.colormap = cmap if isinstance(cmap, str) else cmap.name
        self._colorbar.show(_RAMP, cmap)  # sent when the map changes
        self._colorbar_labels.value = (
            f'<div style="width:256px;display:flex;justify-content:space-between;'
            f'font-size:11px"><span>{lo:.3g}</span>'
            f'<span>{"0" if signed else ""}</span><span>{hi:.3g}</span></div>')

    def _draw_zoom(self) -> None:
        row, col = self.pixel
        out_value = float(self._output[row, col])
        self._zoom.value = (
            f"<b>Zoom on output pixel (row {row}, col {col})</b>"
            f'<div style="display:flex;align-items:center;gap:10px;margin:4px 0">'
            f"{_table(self._patch, 'input patch', gray=True)}<span style='font-size:20px'>"
            f"&times;</span>{_table(self._weights, 'kernel', gray=False)}"
            f"<span style='font-size:20px'>=</span>"
            f"<b style='font-size:16px' class='course-weighted-sum'>{self._weighted_sum:.4f}</b>"
            f"</div><div style='font-family:monospace;font-size:11px;line-height:1.4'>"
            f"sum of patch &times; kernel = {html.escape(self._weighted_sum_text)}"
            f"<br>output[{row}, {col}] = {out_value:.4f}</div>")

    # ----------------------------------------------------- Python-level API
    kernel = control_property("_preset", 'preset name, or "custom" once a cell has been edited')

    @property
    def weights(self) -> np.ndarray:
        """The kernel as a (k, k) array (a copy)."""
        return self._weights.copy()

    @weights.setter
    def weights(self, value) -> None:
        w = np.array(value, dtype=np.float64)
        if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] not in SIZES:
            raise ValueError(f"weights must be 3x3 or 5x5, got shape {w.shape}")
        k = w.shape[0]
        preset = next((n for n in conv.KERNELS
                       if np.array_equal(self._preset_weights(n, k), w)), CUSTOM)
        self._set_quietly(_size=k, _preset=preset)
        self._weights = w
        self._fill_cells()
        self._refresh()

    size = control_property("_size", "kernel height and width: 3 or 5")
    padding = control_property("_padding", '"same" (output as large as the input) or "valid"')
    padding_mode = control_property("_mode", 'what the border is padded with: "zeros", '
                                             '"reflect" or "replicate"')
    stride = control_property("_stride", "step between kernel positions")

    pixel = cell_property("(row, col) of the inspected output pixel", what="pixel",
                          shape=lambda self: self._output.shape,
                          redraw=lambda self: self._refresh(recompute=False))

    @property
    def image(self) -> np.ndarray:
        return self._image

    @property
    def output(self) -> np.ndarray:
        """``conv.filter_image(image, weights, padding, stride, padding_mode)``."""
        return self._output

    @property
    def patch(self) -> np.ndarray:
        """(k, k) input values under the kernel at ``pixel`` (padding included)."""
        return self._patch

    @property
    def weighted_sum(self) -> float:
        """sum(patch * weights): equals ``output[pixel]``."""
        return self._weighted_sum

    @property
    def weighted_sum_text(self) -> str:
        """The weighted sum written out term by term."""
        return self._weighted_sum_text


def _exists_at(name: str, size: int) -> bool:
    try:
        conv.kernel(name, size)
    except ValueError:
        return False
    return True


def _resize_centered(w: np.ndarray, size: int) -> np.ndarray:
    """Crop or zero-pad a square kernel about its centre to (size, size)."""
    k = w.shape[0]
    if k == size:
        return w.copy()
    if k > size:
        m = (k - size) // 2
        return w[m:m + size, m:m + size].copy()
    m = (size - k) // 2
    out = np.zeros((size, size))
    out[m:m + k, m:m + k] = w
    return out


def _table(a: np.ndarray, title: str, gray: bool) -> str:
    """A small HTML table of numbers, shaded by value (gray) or sign (kernel)."""
    rows = []
    for r in a:
        cells = []
        for v in r:
            if gray:
                g = int(np.clip(v, 0, 1) * 255)
                style = f"background:rgb({g},{g},{g});color:{'black' if g > 128 else 'white'}"
                text = f"{v:.2f}"
            else:
                bg = "#f5c89a" if v > 0 else "#a9c8e8" if v < 0 else "#e6e6e6"
                style = f"background:{bg}"
                text = f"{v:.3g}"
            cells.append(f'<td style="{style};padding:2px 5px;text-align:right;'
                         f'border:1px solid #ccc">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div><div style="font-size:11px;text-align:center">{html.escape(title)}</div>'
            f'<table style="border-collapse:collapse;font-size:11px">{"".join(rows)}</table></div>')
