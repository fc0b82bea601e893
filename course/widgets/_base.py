"""Pieces every explorer shares: fast array-to-PNG rendering, the caption, the
red error line, the ``rendered #<n>`` status marker, a callback guard, and the
properties that mirror controls (``control_property``, ``cell_property``).

Why PNG bytes and not a matplotlib figure per change: a new figure per change
costs ~250 ms per step in the browser. An 8-bit palette PNG of the array, pushed
into one persistent ``ipywidgets.Image``, costs ~7 ms to encode for 512x512, so
what is left of the step is the kernel round trip and the browser's decode
(see ``../shared/notes/browser-testing.md``). The explorers of small grids
draw them with PIL (``_grids.py``, ~10 ms a picture); a matplotlib figure with
text in it costs ~150 ms a draw, so one that must stay matplotlib (SGDExplorer's
contour plot) draws its fixed part once and blits only what changes.
"""
from __future__ import annotations

import functools
import html
import io
import time
from typing import NamedTuple

import ipywidgets as W
import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from course.plotting import SIGNED_CMAP, signed_limit

__all__ = [
    "PNG_COMPRESS_LEVEL", "GRAY", "SIGNED", "array_to_png", "colorbar_png", "colour_rule",
    "display_scale", "new_figure", "set_slider", "set_control",
    "control_property", "cell_property", "Explorer", "guarded",
]

#: zlib level for the PNGs: 1 is ~9 ms for a 512x512 image, 6 (PIL's default) ~3x slower
#: for a file only ~10% smaller.
PNG_COMPRESS_LEVEL = 1

GRAY = "gray"
SIGNED = SIGNED_CMAP  # zero = mid-grey, negative blue, positive orange (as in the lectures)


#: palette index reserved for the red outlines; the colour map uses indices 0..254
MARK = 255
_LEVELS = 255


@functools.lru_cache(maxsize=8)
def _palette(cmap_name: str) -> bytes:
    """768-byte RGB palette: the colour map at 255 levels, then red (index ``MARK``)."""
    cmap = SIGNED if cmap_name == SIGNED.name else matplotlib.colormaps[cmap_name]
    rgb = (cmap(np.linspace(0.0, 1.0, _LEVELS))[:, :3] * 255 + 0.5).astype(np.uint8)
    return rgb.tobytes() + bytes((230, 20, 20))


def _cmap_name(cmap) -> str:
    return cmap if isinstance(cmap, str) else cmap.name


def to_codes(a: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """(H, W) floats -> (H, W) uint8 palette codes 0..254, ``vmin`` -> 0, ``vmax`` -> 254."""
    span = vmax - vmin if vmax > vmin else 1.0
    q = (np.asarray(a, dtype=np.float64) - vmin) * ((_LEVELS - 1) / span) + 0.5
    return np.clip(q, 0, _LEVELS - 1).astype(np.uint8)


def array_to_png(a: np.ndarray, cmap=GRAY, vmin: float = 0.0, vmax: float = 1.0,
                 scale: int = 1, boxes=()) -> bytes:
    """Encode a 2-D array as a palette PNG through a colour map: (H, W) -> bytes.

    One byte per pixel plus a 256-colour table, so a coloured image costs no more
    than a gray one (~9 ms and ~200 kB for 512x512 at ``PNG_COMPRESS_LEVEL`` 1).
    ``scale`` repeats each pixel (nearest neighbour) for small images.
    ``boxes``: (top, left, height, width) rectangles in array pixels, outlined in red
    just outside the rectangle (clipped at the border).
    """
    q = to_codes(a, vmin, vmax)
    if scale > 1:
        q = np.repeat(np.repeat(q, scale, axis=0), scale, axis=1)
    for top, left, h, w in boxes:
        _outline(q, top * scale, left * scale, h * scale, w * scale)
    img = Image.frombytes("P", (q.shape[1], q.shape[0]), np.ascontiguousarray(q).tobytes())
    img.putpalette(_palette(_cmap_name(cmap)))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def _outline(q: np.ndarray, top: int, left: int, h: int, w: int) -> None:
    """Draw a 2-pixel ``MARK`` rectangle around a box, in place, clipped to the image."""
    H, W_ = q.shape
    t, b = max(top - 2, 0), min(top + h + 2, H)
    l, r = max(left - 2, 0), min(left + w + 2, W_)
    if t >= b or l >= r:
        return
    q[t:min(t + 2, b), l:r] = MARK
    q[max(b - 2, t):b, l:r] = MARK
    q[t:b, l:min(l + 2, r)] = MARK
    q[t:b, max(r - 2, l):r] = MARK


@functools.lru_cache(maxsize=8)
def _colorbar_cached(name: str, width: int, height: int) -> bytes:
    ramp = np.tile(np.linspace(0.0, 1.0, width), (height, 1))
    return array_to_png(ramp, name, 0.0, 1.0)


def colorbar_png(cmap, width: int = 256, height: int = 10) -> bytes:
    """A horizontal colour ramp (left = vmin, right = vmax) as PNG bytes."""
    return _colorbar_cached(_cmap_name(cmap), width, height)


def display_scale(shape, target: int = 256) -> int:
    """Integer zoom so a small image shows at least ~``target`` pixels wide."""
    return max(1, target // max(shape[0], shape[1], 1))


class ColourRule(NamedTuple):
    """How to colour a filtered image: map, limits, and the reason in words."""
    cmap: object          # GRAY or SIGNED
    vmin: float
    vmax: float
    signed: bool
    reason: str


#: an output is "far outside [0, 1]" when its robust range (0.5th to 99.5th
#: percentile) reaches further than this below 0 or above 1
FAR_OUTSIDE = 0.5


def colour_rule(output: np.ndarray, weights: np.ndarray) -> ColourRule:
    """The lectures' rule for showing a filtered image, decided by the kernel first.

    - weights sum to 0 (edges, Sobel, Laplacian): a flat region gives 0, so the
      output is signed: diverging map centred at zero, limits ``[-v, v]`` with ``v``
      the 99.5th percentile of ``|output|`` (a few strong edges do not wash out the rest);
    - weights sum to 1 (identity, blurs, sharpen, emboss): the output is an image
      of the same brightness: gray on [0, 1], overshoot clipped as a screen would;
    - any other sum: gray on [0, 1] if the output stays about in [0, 1], signed if it
      lies far outside (robust range more than ``FAR_OUTSIDE`` beyond it).
    """
    w = np.asarray(weights, dtype=np.float64)
    total, tol = float(w.sum()), 1e-9 * max(1.0, float(np.abs(w).sum()))
    if abs(total) <= tol:
        return _signed(output, "the weights sum to 0, so flat areas give 0")
    if abs(total - 1.0) <= tol:
        return ColourRule(GRAY, 0.0, 1.0, False,
                          "the weights sum to 1, so the output is an image")
    lo, hi = np.percentile(output, [0.5, 99.5]) if output.size else (0.0, 1.0)
    if lo < -FAR_OUTSIDE or hi > 1.0 + FAR_OUTSIDE:
        return _signed(output, f"the weights sum to {total:.3g} and the values reach "
                               f"far outside [0, 1]")
    return ColourRule(GRAY, 0.0, 1.0, False, f"the weights sum to {total:.3g}")


def _signed(output: np.ndarray, reason: str) -> ColourRule:
    v = signed_limit(output, robust=True)
    return ColourRule(SIGNED, -v, v, True, reason)


def new_figure(width: float, height: float) -> Figure:
    """A Figure outside pyplot: it never pops up in the notebook by itself."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)  # one canvas for the figure's life, not a new one per savefig
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.86, wspace=0.25)
    return fig


def set_slider(slider, value: int) -> None:
    """Set an IntSlider from Python, refusing (instead of silently clipping) values
    outside its range."""
    value = int(value)
    if not slider.min <= value <= slider.max:
        raise ValueError(f"{slider.description} must be in [{slider.min}, {slider.max}], "
                         f"got {value}")
    slider.value = value


def set_control(control, value, name: str = "") -> None:
    """Move a control from Python as a student would, refusing what the student could
    not choose: a slider value outside its range, an option the control does not have."""
    if isinstance(control, (W.IntSlider, W.BoundedIntText)):
        set_slider(control, value)
        return
    options = getattr(control, "options", None)
    if options is not None:  # Dropdown, ToggleButtons: options are values or (label, value)
        allowed = [o[1] if isinstance(o, tuple) else o for o in options]
        if value not in allowed:
            raise ValueError(f"{name or control.description} must be one of {allowed}, "
                             f"got {value!r}")
    control.value = value


class control_property(property):  # noqa: N801 (named and used like ``property``)
    """A property that mirrors one control of an explorer: reading gives the
    control's value, setting moves the control (so its observer redraws)::

        stride = control_property("_s", "s: step between kernel positions")

    ``control``: attribute name of the widget; ``convert``: applied on reading
    (e.g. ``float``); ``via``: name of an explorer method ``(name, value)`` that
    sets the value instead of ``set_control`` (for checks of its own).
    """

    def __init__(self, control: str, doc: str = "", convert=None, via: str | None = None):
        def get(explorer):
            value = getattr(explorer, control).value
            return convert(value) if convert else value

        def set_(explorer, value):
            if via:
                getattr(explorer, via)(self.name, value)
            else:
                set_control(getattr(explorer, control), value, self.name)

        super().__init__(get, set_)
        self.__doc__ = doc  # (a property subclass would show its own docstring)
        self.name = control.lstrip("_")

    def __set_name__(self, owner, name: str) -> None:
        self.name = name  # the public name, for error messages


class cell_property(property):  # noqa: N801
    """``(row, col)`` of an output cell, mirrored by the sliders ``_row`` and ``_col``;
    setting it moves both at once (one redraw) and refuses a place outside the output::

        cell = cell_property("(row, col) of the highlighted output cell",
                             shape=lambda self: self._output.shape)

    ``shape(explorer)``: the output's (rows, cols); ``redraw(explorer)``: what to call
    after moving (default ``explorer._refresh()``).
    """

    def __init__(self, doc: str, shape, redraw=None, what: str = "cell"):
        def get(explorer):
            return explorer._row.value, explorer._col.value

        def set_(explorer, rc):
            explorer._move_cell_sliders(rc, shape(explorer), what)
            (redraw or (lambda e: e._refresh()))(explorer)

        super().__init__(get, set_)
        self.__doc__ = doc


def guarded(method):
    """Decorator for callbacks: never raise into the void.

    Any exception is shown in the widget's red error line and kept in
    ``self.error`` (a callback may also report an expected problem, such as an
    impossible output size, with ``self._problem = "..."``); the status marker is bumped either way, so a browser test
    waiting on ``rendered #<n>`` sees the (error) state too.
    """
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self._hold:
            return None
        t0 = time.perf_counter()
        self._problem = None
        try:
            result = method(self, *args, **kwargs)
        except Exception as exc:  # shown to the student, not swallowed
            self._problem = f"{type(exc).__name__}: {exc}"
            result = None
        if self._problem:
            self._show_error(self._problem)
        else:
            self._clear_error()
        self.timings["total_ms"] = (time.perf_counter() - t0) * 1e3
        self._bump()
        return result
    return wrapper


class Explorer(W.VBox):
    """Base class: caption on top, error line and status marker at the bottom.

    Subclasses build their controls, call ``self._finish(children)``, set
    ``self._main_image`` (the ``ipywidgets.Image`` that ``png`` reads) and decorate
    their redraw callbacks with ``@guarded``.
    """

    caption_text = ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_class("course-explorer")
        self.add_class(f"course-{type(self).__name__}")  # e.g. course-KernelExplorer, for browser tests
        self.error: str | None = None
        self.timings: dict[str, float] = {}
        self.renders = 0
        self._hold = False
        self._problem: str | None = None
        self._caption = W.HTML(f"<b>Try this:</b> {html.escape(self.caption_text)}")
        self._caption.add_class("course-caption")
        self._error_html = W.HTML("")
        self._error_html.add_class("course-error")
        self._error_html.layout.display = "none"
        self._status = W.HTML("rendered #0")
        self._status.add_class("course-status")

    def _finish(self, body) -> None:
        self.children = [self._caption, *body, self._error_html, self._status]

    @property
    def png(self) -> bytes:
        """PNG bytes of the main picture, exactly as sent to the page."""
        return bytes(self._main_image.value)

    # --- error line and status marker ------------------------------------
    def _show_error(self, message: str) -> None:
        self.error = message
        self._error_html.value = (
            f'<span style="color:#c00000;font-weight:bold">{html.escape(message)}</span>')
        self._error_html.layout.display = None

    def _clear_error(self) -> None:
        self.error = None
        if self._error_html.value:
            self._error_html.value = ""
            self._error_html.layout.display = "none"

    def _bump(self) -> None:
        self.renders += 1
        self._status.value = f"rendered #{self.renders}"

    # --- helpers for subclasses ---------------------------------------------
    @staticmethod
    def _labelled(widget, css_class: str):
        widget.add_class(css_class)
        return widget

    def _fit_cell_sliders(self, rows: int, cols: int) -> None:
        """Keep the (row, col) sliders ``_row``, ``_col`` inside a rows x cols output,
        without a redraw per slider attribute."""
        held, self._hold = self._hold, True
        try:
            self._row.max, self._col.max = max(rows - 1, 0), max(cols - 1, 0)
            self._row.value = min(self._row.value, rows - 1)
            self._col.value = min(self._col.value, cols - 1)
        finally:
            self._hold = held

    def _move_cell_sliders(self, rc, shape, what: str = "cell") -> None:
        """Set both (row, col) sliders at once (no redraw), refusing a place outside
        ``shape``; the caller redraws."""
        row, col = (int(v) for v in rc)
        rows, cols = shape[:2]
        if not (0 <= row < rows and 0 <= col < cols):
            raise ValueError(f"{what} {(row, col)} is outside the {rows}x{cols} output")
        self._set_quietly(_row=row, _col=col)

    def _set_quietly(self, **values) -> None:
        """Set several controls without one redraw each: ``{attr_name: value}``."""
        held, self._hold = self._hold, True
        try:
            for name, value in values.items():
                getattr(self, name).value = value
        finally:
            self._hold = held
