"""Pieces every explorer shares: the caption, the red error line, the
``rendered #<n>`` status marker, a callback guard, the colour rule of filtered
images, and the properties that mirror controls (``control_property``,
``cell_property``).

Pictures go through ONE view, ``course.widgets.canvas.ImageView``: raw uint8
pixels (colour-map codes plus a 256-colour table, or RGB) drawn on a canvas in
the page. No PNG is encoded per frame: a 512x512 PNG cost ~10 ms to encode and
~25-40 ms to decode in the page (issue #14); raw codes cost a copy. The explorers
of small grids draw them with PIL (``_grids.py``, a few ms a picture) and send
the RGB array; SGDExplorer blits its matplotlib figure and sends its pixels.

Bursts are coalesced by ipywidgets itself: a control has at most one message in
flight to the kernel, and the changes made meanwhile are merged into one
(the latest value wins) and sent when the kernel is idle again; each message
renders once. So a dragged slider (``continuous_update=True``) renders the
latest value and drops the stale ones (tested in tests/browser/explorers.py,
the kernel explorer's burst step). The exceptions are the sliders whose range the
explorer itself changes (the output row/col, ``CELL_SLIDERS``): a continuous
slider whose range changes under it sends a value back, which would move the
cell, so they update on release; hovering the picture answers in the page.
"""
from __future__ import annotations

import contextlib
import functools
import html
import time
from typing import NamedTuple

import ipywidgets as W
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from course.plotting import SIGNED_CMAP, signed_limit

__all__ = [
    "CELL_SLIDERS", "GRAY", "SIGNED", "colour_rule", "display_scale", "new_figure", "set_slider",
    "set_control", "control_property", "cell_property", "Explorer", "guarded",
]

#: CSS classes of the (row, col) sliders whose range follows the output: continuous_update=False
CELL_SLIDERS = ("course-row", "course-col")

GRAY = "gray"
SIGNED = SIGNED_CMAP  # zero = mid-grey, negative blue, positive orange (as in the lectures)


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
        with self._pictures_first():
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


def _descendants(widget):
    """Every widget in the tree under ``widget`` (Box children, recursively)."""
    for child in getattr(widget, "children", ()):
        yield child
        yield from _descendants(child)


class Explorer(W.VBox):
    """Base class: caption on top, error line and status marker at the bottom.

    Subclasses build their controls, call ``self._finish(children)``, set
    ``self._main_view`` (the ``ImageView`` that ``png`` and ``pixels`` read) and
    decorate their redraw callbacks with ``@guarded``.
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
    def pixels(self) -> np.ndarray:
        """(H, W, 3) uint8 of the main picture: what the page's canvas shows."""
        return self._main_view.rgb()

    @property
    def png(self) -> bytes:
        """The main picture as PNG bytes, encoded on request (a convenience for
        saving it; the page receives raw pixels)."""
        return self._main_view.png()

    # --- error line and status marker ------------------------------------
    def _show_error(self, message: str) -> None:
        self.error = message
        self._error_html.value = (
            f'<span style="color:#c00000;font-weight:bold">{html.escape(message)}</span>')
        # "" (not None) removes the inline display:none: the browser kernel (Pyodide) hands a None
        # to the page as undefined, which ipywidgets' layout view ignores (it only removes on null)
        self._error_html.layout.display = ""

    def _clear_error(self) -> None:
        self.error = None
        if self._error_html.value:
            self._error_html.value = ""
            self._error_html.layout.display = "none"

    @contextlib.contextmanager
    def _pictures_first(self):
        """Hold every widget of the explorer except its pictures (``ImageView``) while
        a callback runs: each picture goes to the page as soon as it is drawn, and the
        texts, tables, controls and status follow, one message per widget, when the
        callback ends. The page draws the new pixels without first processing a dozen
        text updates (issue #14: 8 kernel-cell values and 4 HTML panels used to travel
        ahead of the output image)."""
        from course.widgets.canvas import ImageView

        with contextlib.ExitStack() as stack:
            for widget in [self, *_descendants(self)]:
                if not isinstance(widget, ImageView):
                    stack.enter_context(widget.hold_sync())
            yield

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
        # one message per slider, range and value together: a slider that got a smaller
        # max first would clamp its value in the page and send it back as a change
        try:
            with self._row.hold_sync(), self._col.hold_sync():
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
            with contextlib.ExitStack() as stack:
                for name in values:
                    stack.enter_context(getattr(self, name).hold_sync())
                for name, value in values.items():
                    getattr(self, name).value = value
        finally:
            self._hold = held
