"""Pieces every explorer shares: fast array-to-PNG rendering, the caption, the
red error line, the ``rendered #<n>`` status marker, and a callback guard.

Why PNG bytes and not a matplotlib figure per change: a new figure per change
costs ~250 ms per step in the browser. An 8-bit palette PNG of the array, pushed
into one persistent ``ipywidgets.Image``, costs ~7 ms to encode for 512x512, so
what is left of the step is the kernel round trip and the browser's decode
(see ``../shared/notes/browser-testing.md``). The small explorers (grids of a
few dozen cells) draw a persistent matplotlib ``Figure`` to PNG instead.
"""
from __future__ import annotations

import functools
import html
import io
import time

import ipywidgets as W
import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from course.plotting import SIGNED_CMAP, signed_limit

__all__ = [
    "PNG_COMPRESS_LEVEL", "GRAY", "SIGNED", "array_to_png", "colorbar_png", "colour_limits",
    "display_scale", "figure_to_png", "new_figure", "set_slider", "Explorer", "guarded",
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


def colour_limits(a: np.ndarray):
    """(cmap, vmin, vmax, signed) for an image, following the lectures' rule.

    Any negative value: signed, diverging map centred at zero with limits
    ``[-v, v]`` (``v`` the 99.5th percentile of ``|a|``, so a few strong edges do
    not wash out the rest). Otherwise gray on ``[min(0, a.min()), max(1, a.max())]``,
    so a blur looks like a blur instead of being re-stretched.
    """
    if a.size and a.min() < 0:
        v = signed_limit(a, robust=True)
        return SIGNED, -v, v, True
    lo = min(0.0, float(a.min())) if a.size else 0.0
    hi = max(1.0, float(a.max())) if a.size else 1.0
    return GRAY, lo, hi, False


def figure_to_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render a persistent (non-pyplot) matplotlib Figure to PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    return buf.getvalue()


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

    Subclasses build their controls, call ``self._finish(children)`` and decorate
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

    def _set_quietly(self, **values) -> None:
        """Set several controls without one redraw each: ``{attr_name: value}``."""
        held, self._hold = self._hold, True
        try:
            for name, value in values.items():
                getattr(self, name).value = value
        finally:
            self._hold = held
