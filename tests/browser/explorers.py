"""Operate each explorer in a page as a student does, and check what the page shows.

One function per explorer class, ``INTERACTIONS[name](ExplorerInPage)``. Each
step changes one control with the mouse or the keyboard, waits for the
``rendered #<n>`` marker the widget writes after drawing (never for "the image
changed": a key press can produce an intermediate frame), then asserts on the
page: the canvas' pixels (``getImageData``, compared exactly with the uint8
array Python computed), hover read-outs (against the value Python computes),
the formula or message text. Where the page should show exactly what the Python
API computes, a twin explorer driven the same way in this process is the
reference (so these steps assume the notebook builds Unit 1's explorers with
their default arguments, as the lectures and the Voila app do).

Used by the JupyterLab tests and the Voila test; plain Python, no pytest.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import Locator, Page

# {sha256, width, height, frame} of what a canvas view draws (its getImageData, RGBA),
# and optionally the pixels themselves (base64).
_CANVAS_INFO = """async (view, withData) => {
  const canvas = view.querySelector('canvas.course-canvas');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const digest = await crypto.subtle.digest('SHA-256', data);
  const sha = Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
  let b64 = null;
  if (withData) {
    let s = '';
    for (let i = 0; i < data.length; i += 32768) s += String.fromCharCode(...data.subarray(i, i + 32768));
    b64 = btoa(s);
  }
  return {sha: sha, width: canvas.width, height: canvas.height, frame: +(view.dataset.frame || 0),
          bytes: +(view.dataset.bytes || 0), sent: +(view.dataset.sent || 0), data: b64};
}"""

#: bring the explorer's cell into view: JupyterLab's notebook (4.4, the JupyterLite site's) hides
#: the cells far from the viewport, so after Run All an explorer above the last screens is hidden
_SCROLL_TO = """async (el) => {
  const cell = el.closest('.jp-Cell');
  const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget && window.jupyterapp.shell.currentWidget.content;
  const i = cell && nb && nb.widgets ? nb.widgets.findIndex(c => c.node === cell) : -1;
  if (i >= 0 && nb.scrollToItem) await nb.scrollToItem(i, 'start');
  else el.scrollIntoView({block: 'start'});
}"""
_STATUS = r"""(el) => { const m = el.textContent.match(/rendered #(\d+)/); return m ? +m[1] : -1; }"""

# True when the status marker reached n and (in JupyterLab) the kernel is idle again.
_RENDERED = r"""([el, n]) => {
  const m = el.textContent.match(/rendered #(\d+)/);
  if (!m || +m[1] < n) return false;
  const app = window.jupyterapp, w = app && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !k || k.status === 'idle';
}"""

def sha(data: bytes) -> str:
    return hashlib.sha256(bytes(data)).hexdigest()


class ExplorerInPage:
    """One explorer's root element in the page, plus helpers to act and wait."""

    def __init__(self, page: Page, root: Locator, shots: Path, prefix: str,
                 tolerance: tuple[int, float] | None = None):
        """``tolerance`` (levels, fraction): pixels may differ from Python's by up to ``levels``
        in at most ``fraction`` of the pixels, for a page whose Python is another build of
        NumPy (the browser's WebAssembly one rounds a few values the other way); None: exact."""
        self.page, self.root, self.shots, self.prefix = page, root, shots, prefix
        self.tolerance = tolerance
        self.steps = 0
        for old in shots.glob(f"{prefix}-*.png"):  # a previous run's pictures
            old.unlink()

    # ---------------------------------------------------------------- reading
    def status(self) -> int:
        return self.root.locator(".course-status").evaluate(_STATUS)

    def view(self, css: str = ".course-output-image") -> Locator:
        return self.root.locator(f"{css}.course-canvas-view").first

    def canvas(self, css: str = ".course-output-image", data: bool = False) -> dict:
        """What the canvas view ``css`` draws: sha256 of its RGBA pixels, size, frames."""
        return self.view(css).evaluate(_CANVAS_INFO, data)

    def assert_pixels(self, expected_rgba: np.ndarray, css: str = ".course-output-image",
                      what: str = "", timeout_s: float = 5.0) -> dict:
        """The canvas' pixel data equals ``expected_rgba`` ((H, W, 4) uint8), exactly.

        Polls briefly: the status marker and the pixels travel in two messages."""
        expected = np.ascontiguousarray(expected_rgba, dtype=np.uint8)
        want = sha(expected.tobytes())
        deadline = time.monotonic() + timeout_s
        while True:
            info = self.canvas(css)
            problem = None if info["sha"] == want else self._difference(css, expected)
            if problem is None:
                return info
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.prefix} {what}: {problem}")
            time.sleep(0.05)

    def _difference(self, css: str, expected: np.ndarray) -> str | None:
        """How the canvas differs from ``expected``; None when within ``tolerance``."""
        full = self.canvas(css, data=True)
        got = np.frombuffer(base64.b64decode(full["data"]), np.uint8)
        shape = (full["height"], full["width"], 4)
        if got.size != expected.size:
            return f"canvas is {shape[:2]}, Python's array is {expected.shape[:2]}"
        gaps = np.abs(got.reshape(shape).astype(int) - expected).max(axis=-1)
        differ = gaps > 0
        levels, fraction = self.tolerance or (0, 0.0)
        if gaps.max() <= levels and differ.mean() <= fraction:
            return None
        return (f"{int(differ.sum())} of {differ.size} canvas pixels differ from Python's array "
                f"(first at {tuple(int(i) for i in np.argwhere(differ)[0])}, by up to {gaps.max()})")

    def hover(self, css: str, x: float, y: float) -> dict:
        """Move the mouse to image pixel (x, y) of canvas view ``css`` (x = column);
        return the read-out: {text, value}."""
        view = self.view(css)
        canvas = view.locator("canvas.course-canvas")
        canvas.evaluate("(c) => c.scrollIntoView({block: 'center'})")  # not under a toolbar
        rect = canvas.bounding_box()
        size = canvas.evaluate("(c) => [c.width, c.height]")
        # the browser takes whole CSS pixels (it truncates): the first whole pixel inside
        px = math.ceil(rect["x"] + x * rect["width"] / size[0])
        py = math.ceil(rect["y"] + y * rect["height"] / size[1])
        self.page.mouse.move(px, py)
        readout = view.locator(".course-hover")
        try:
            self.page.wait_for_function("(el) => el.dataset.value",
                                        arg=readout.element_handle(), timeout=5_000)
        except Exception as exc:
            under = self.page.evaluate(
                "([x, y]) => { const e = document.elementFromPoint(x, y); "
                "return e ? e.tagName + '.' + e.className : null; }", [px, py])
            raise AssertionError(f"{self.prefix}: no hover read-out at image ({x}, {y}), page "
                                 f"({px:.1f}, {py:.1f}) over {under}; canvas {rect}") from exc
        return {"text": readout.inner_text(), "value": json.loads(readout.get_attribute("data-value"))}

    def hover_cell(self, css: str, where: dict, row: int, col: int) -> dict:
        """Hover the centre of cell (row, col) of a grid {left, top, cell, first_row, ...}."""
        x = where["left"] + (col - where["first_col"] + 0.5) * where["cell"]
        y = where["top"] + (row - where["first_row"] + 0.5) * where["cell"]
        return self.hover(css, x, y)

    def unhover(self):
        self.page.mouse.move(1, 1)

    def text(self, css: str) -> str:
        return self.root.locator(css).first.inner_text()

    def error(self) -> str:
        """Text of the red error line ('' when hidden)."""
        line = self.root.locator(".course-error")
        return line.inner_text().strip() if line.is_visible() else ""

    # ---------------------------------------------------------------- acting
    def wait_ready(self, timeout_ms: float = 60_000):
        self.root.wait_for(state="attached", timeout=timeout_ms)
        self.root.evaluate(_SCROLL_TO)   # a cell far above the end may be windowed out (hidden) after Run All
        self.root.wait_for(state="visible", timeout=timeout_ms)
        self.wait_rendered(1, timeout_ms)

    def wait_rendered(self, n: int, timeout_ms: float = 30_000):
        status = self.root.locator(".course-status")
        handle = status.element_handle(timeout=timeout_ms)
        self.page.wait_for_function(_RENDERED, arg=[handle, n], timeout=timeout_ms, polling=50)

    def step(self, name: str, action, renders: int = 1):
        """Do ``action()``, wait for ``renders`` more redraws, save a screenshot."""
        before = self.status()
        action()
        self.wait_rendered(before + renders)
        after = self.status()
        assert after == before + renders, (
            f"{self.prefix} {name}: expected {renders} redraw(s), the marker went "
            f"from #{before} to #{after}")
        self.steps += 1
        self.shot(f"{self.steps:02d}-{name}")

    def shot(self, name: str):
        from labpage import screenshot

        screenshot(self.root, self.shots, f"{self.prefix}-{name}")

    def press(self, css: str, *keys: str):
        """Focus a slider handle (noUiSlider, role=slider) and press keys.

        Quick presses can merge into one update (ipywidgets throttles a model's
        messages while one is pending), so a step presses one key."""
        handle = self.root.locator(f"{css} [role=slider]").first
        handle.focus()
        for key in keys:
            handle.press(key)

    def slider_value(self, css: str) -> str:
        return self.root.locator(f"{css} .widget-readout").first.inner_text().strip()


# ------------------------------------------------------------------ Unit 1
def _readout_number(text: str) -> float:
    """The number after the last '= ' of a hover read-out."""
    return float(text.rsplit("= ", 1)[1].split()[0].rstrip(")"))


def _check_weighted_sum_hover(ex: ExplorerInPage, twin, row: int, col: int):
    """Hovering output pixel (row, col) shows the weighted sum the page computes from
    the input and the kernel it was sent: it equals Python's output at that pixel.
    (The mouse moves in whole CSS pixels: on a canvas shrunk to fit, it lands on the
    pixel or a neighbour; the read-out names the one it used.)"""
    out = ex.hover(".course-output-image", col, row)
    m = re.match(r"output\[(\d+), (\d+)\]", out["text"])
    assert m, out
    r, c = int(m[1]), int(m[2])
    assert abs(r - row) <= 1 and abs(c - col) <= 1, (out, row, col)
    expected = float(twin.output[r, c])
    assert abs(out["value"] - expected) < 1e-4, (out, expected)  # float32 input in the page
    assert abs(_readout_number(out["text"]) - expected) < 1e-4, (out["text"], expected)
    ex.unhover()


def kernel_explorer(ex: ExplorerInPage):
    """Preset, one kernel cell, stride slider, padding: the canvas shows Python's pixels;
    the hover read-out gives the weighted sum; a burst of key presses renders twice."""
    from course import conv
    from course.widgets import KernelExplorer

    twin = KernelExplorer()  # same defaults as the lecture's KernelExplorer()
    first = ex.assert_pixels(twin._output_image.rgba(), what="first frame")
    assert (first["width"], first["height"]) == (512, 512), first
    assert first["bytes"] == 512 * 512, "the output travels as one byte per pixel"
    ex.assert_pixels(twin._input_image.rgba(), ".course-input-image", "input")
    assert ex.error() == ""
    _check_weighted_sum_hover(ex, twin, 100, 200)

    # 1. choose the sharpen preset in the dropdown
    ex.step("preset-sharpen", lambda: ex.root.locator(".course-preset select").select_option("sharpen"))
    twin.kernel = "sharpen"
    sharpened = ex.assert_pixels(twin._output_image.rgba(), what="sharpen")
    assert sharpened["sha"] != first["sha"], "choosing 'sharpen' did not change the output image"
    description = conv.KERNELS["sharpen"].description
    assert description[:30] in ex.text(".course-preset-description")
    _check_weighted_sum_hover(ex, twin, 0, 509)  # the top row: the padding counts as zeros

    # 2. edit the centre cell of the kernel: 5 -> 9, Enter
    cell = ex.root.locator(".course-kernel-cell-1-1 input")
    ex.step("edit-centre-cell", lambda: (cell.fill("9"), cell.press("Enter")))
    weights = twin.weights
    weights[1, 1] = 9.0
    twin.weights = weights
    edited = ex.assert_pixels(twin._output_image.rgba(), what="edited cell")
    assert edited["sha"] not in (sharpened["sha"], first["sha"]), "editing a cell did not redraw"
    assert ex.root.locator(".course-preset select").input_value() == "custom"
    assert "(9)" in ex.text(".course-zoom"), "the weighted sum does not use the edited weight"
    _check_weighted_sum_hover(ex, twin, 300, 17)

    # 3. stride 1 -> 2 with the arrow key: output (512 + 2*1 - 3)//2 + 1 = 256
    ex.step("stride-2", lambda: ex.press(".course-stride", "ArrowRight"))
    twin.stride = 2
    strided = ex.assert_pixels(twin._output_image.rgba(), what="stride 2")
    assert (strided["width"], strided["height"]) == (256, 256), strided
    assert "256×256" in ex.text(".course-output-title")
    _check_weighted_sum_hover(ex, twin, 50, 60)

    # 4. padding "valid": (512 - 3)//2 + 1 = 255
    ex.step("padding-valid",
            lambda: ex.root.locator(".course-padding button", has_text="valid").click())
    twin.padding = "valid"
    valid = ex.assert_pixels(twin._output_image.rgba(), what="padding valid")
    assert (valid["width"], valid["height"]) == (255, 255), valid
    assert ex.error() == ""

    # 5. a burst, as a fast drag makes: stride 1 -> 2 -> 3 -> 4 within one task of the
    # page (three slider updates before any reply can come back). The first value goes
    # out, the next two are merged (latest wins): the kernel renders stride 2 and 4,
    # never 3, and the page draws exactly those two frames (their sizes tell them apart).
    ex.step("stride-1", lambda: ex.press(".course-stride", "ArrowLeft"))
    drawn = ex.view().evaluate("(v) => v.__course.draws.length")
    ex.step("burst-stride-4", lambda: ex.root.locator(".course-stride .noUi-target").evaluate(
        "(el) => { for (const v of [2, 3, 4]) el.noUiSlider.set(v); }"), renders=2)
    assert ex.slider_value(".course-stride") == "4"
    twin.stride = 4
    ex.assert_pixels(twin._output_image.rgba(), what="after the burst")
    sizes = ex.view().evaluate(f"(v) => v.__course.draws.slice({drawn}).map(d => d.bytes)")
    side = {s: (512 - 3) // s + 1 for s in (2, 3, 4)}  # padding "valid"
    assert sizes == [side[2] ** 2, side[4] ** 2], (
        f"frames drawn after the burst: {sizes} bytes; stride 2, 3, 4 would be "
        f"{[v * v for v in side.values()]}: a stale value was rendered")


def conv_arithmetic_explorer(ex: ExplorerInPage):
    """Stride slider updates the formula; hovering an output cell outlines its receptive
    field (computed in the page); an impossible size shows its message."""
    from course.widgets import ConvArithmeticExplorer

    twin = ConvArithmeticExplorer()  # n=7, k=3, p=1, s=2, d=1 -> 4
    assert "= 4" in ex.text(".course-formula")
    start = ex.assert_pixels(twin._picture.rgba(), what="start")

    # stride 2 -> 3: floor((7 + 2*1 - 1*(3-1) - 1)/3) + 1 = floor(6/3) + 1 = 3
    ex.step("stride-3", lambda: ex.press(".course-stride", "ArrowRight"))
    twin.stride = 3
    formula = ex.text(".course-formula")
    assert "floor((7 + 2*1 - 1*(3-1) - 1)/3) + 1" in formula and formula.endswith("= 3"), formula
    strided = ex.assert_pixels(twin._picture.rgba(), what="stride 3")
    assert strided["sha"] != start["sha"]
    assert ex.error() == ""
    where = twin._picture.params["out_grid"]
    for row, col in [(0, 0), (2, 1)]:
        out = ex.hover_cell(".course-output-image", where, row, col)
        twin.cell = (row, col)
        assert [tuple(t) for t in out["value"]] == twin.receptive_field, (out, row, col)
        assert out["text"].startswith(f"output ({row}, {col}) reads input"), out
    ex.unhover()
    twin.cell = (0, 0)

    # input n -> 1 (Home), kernel k -> 7 (End): floor((1 + 2 - 6 - 1)/3) + 1 = -1 <= 0
    ex.step("input-1", lambda: ex.press(".course-input-size", "Home"))
    ex.step("kernel-7-invalid", lambda: ex.press(".course-kernel-size", "End"))
    twin.input_size, twin.kernel_size = 1, 7
    formula = ex.text(".course-formula")
    assert "floor((1 + 2*1 - 1*(7-1) - 1)/3) + 1" in formula and formula.endswith("= -1"), formula
    message = ex.error()
    assert "No output" in message and "-1" in message, f"invalid combination not shown: {message!r}"
    ex.assert_pixels(twin._picture.rgba(), what="no output")

    # kernel k -> 1 (Home): floor((1 + 2 - 0 - 1)/3) + 1 = 1, the message goes away
    ex.step("kernel-1-valid", lambda: ex.press(".course-kernel-size", "Home"))
    assert ex.error() == "" and ex.text(".course-formula").endswith("= 1")


def pooling_explorer(ex: ExplorerInPage):
    """Max <-> avg switch, window and stride sliders: numbers and pixels follow; hovering
    an output cell gives its window's max or mean from the grid already in the page."""
    from course.widgets import PoolingExplorer

    twin = PoolingExplorer()  # 8x8 grid of integers, max, window 2, stride 2
    start = ex.assert_pixels(twin._picture.rgba(), what="start")
    explain = ex.text(".course-pool-explain")
    assert explain.startswith("output[0, 0] = max(") and "taken from input row" in explain

    ex.step("avg", lambda: ex.root.locator(".course-mode button", has_text="avg").click())
    twin.mode = "avg"
    values = twin.grid[:2, :2]
    explain = ex.text(".course-pool-explain")
    assert explain.startswith("output[0, 0] = mean("), explain
    assert explain.endswith(f"= {values.mean():.3g}"), (explain, values)
    avg = ex.assert_pixels(twin._picture.rgba(), what="avg")
    assert avg["sha"] != start["sha"]

    # stride 2 -> 1 and window 2 -> 3 with the keyboard: 8x8 -> (8 - 3)//1 + 1 = 6x6
    ex.step("stride-1", lambda: ex.press(".course-stride", "ArrowLeft"))
    ex.step("window-3", lambda: ex.press(".course-kernel-size", "ArrowRight"))
    twin.stride, twin.kernel_size = 1, 3
    assert twin.output.shape == (6, 6)
    ex.assert_pixels(twin._picture.rgba(), what="window 3, stride 1")
    assert f"= {twin.grid[:3, :3].mean():.3g}" in ex.text(".course-pool-explain")
    where = twin._picture.params["out_grid"]
    out = ex.hover_cell(".course-output-image", where, 4, 2)
    assert "mean = " in out["text"], out
    assert abs(_readout_number(out["text"]) - twin.output[4, 2]) < 1e-4, (out, twin.output[4, 2])
    assert [tuple(t) for t in out["value"]] == [(4 + i, 2 + j) for i in range(3) for j in range(3)]
    ex.unhover()

    ex.step("max", lambda: ex.root.locator(".course-mode button", has_text="max").click())
    twin.mode = "max"
    explain = ex.text(".course-pool-explain")
    assert explain.startswith("output[0, 0] = max(") and f"= {twin.grid[:3, :3].max():g}" in explain
    ex.assert_pixels(twin._picture.rgba(), what="max")
    out = ex.hover_cell(".course-output-image", where, 5, 5)
    assert "max = " in out["text"] and _readout_number(out["text"]) == twin.output[5, 5], out
    ex.unhover()
    assert ex.error() == ""


# ------------------------------------------------------------------ Unit 2
_RED = """(view) => {
  const c = view.querySelector('canvas.course-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] > 180 && d[i + 1] < 80 && d[i + 2] < 80) n++;
  return n;
}"""


def sgd_explorer(ex: ExplorerInPage):
    """Learning rate up with the keyboard: the path changes; past the critical rate it
    diverges (the canvas turns red where the path, the frame and the label are)."""
    start = ex.canvas(".course-view")
    assert start["width"] >= 400 and start["bytes"] == start["width"] * start["height"] * 4  # RGBA: the figure buffer as is
    red_start = ex.view(".course-view").evaluate(_RED)
    before = float(ex.slider_value(".course-lr"))
    ex.step("lr-up", lambda: ex.press(".course-lr", "ArrowRight"))
    # a log slider: one key step multiplies the rate by 10**0.05 (readout has 3 digits)
    after = float(ex.slider_value(".course-lr"))
    assert abs(after / (before * 10**0.05) - 1) < 0.01, (before, after)
    deadline = time.monotonic() + 5
    while ex.canvas(".course-view")["sha"] == start["sha"] and time.monotonic() < deadline:
        time.sleep(0.05)
    up = ex.canvas(".course-view")
    assert up["sha"] != start["sha"], "changing the learning rate did not redraw the path"
    assert ex.error() == ""

    ex.step("lr-max", lambda: ex.press(".course-lr", "End"))
    message = ex.text(".course-message")
    assert "Diverged" in message or "went up" in message, message
    deadline = time.monotonic() + 5
    while ex.canvas(".course-view")["sha"] == up["sha"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ex.canvas(".course-view")["sha"] != up["sha"]
    if "Diverged" in message:
        assert ex.view(".course-view").evaluate(_RED) > red_start + 500


# ------------------------------------------------------------------ Unit 3
def ngram_sampler_explorer(ex: ExplorerInPage):
    """Order slider, then a roll of the die: the canvas shows Python's bars (a twin built
    as the lecture builds it, same seed), the context grows by the word drawn."""
    from course.widgets import NgramSamplerExplorer

    twin = NgramSamplerExplorer()
    first = ex.assert_pixels(twin._view.rgba(), what="first frame")
    ex.step("n-3", lambda: ex.press(".course-n", "ArrowRight"))
    twin.n = 3
    third = ex.assert_pixels(twin._view.rgba(), what="n = 3")
    assert third["sha"] != first["sha"], "raising n did not change the die"
    ex.step("roll", lambda: ex.root.locator(".course-roll").click())
    token = twin.roll()
    assert ex.root.locator(".course-context input").input_value() == twin.context
    assert f"drew {token}" in ex.text(".course-die-summary")
    ex.assert_pixels(twin._view.rgba(), what="after a roll")
    assert ex.error() == ""


def embedding_explorer(ex: ExplorerInPage):
    """Type a query and press Enter, switch the metric, type a word the vocabulary lacks:
    the neighbour list and the canvas follow Python (a twin on ``default_vectors()``, the
    PPMI + SVD recipe lecture 06 trains), the unknown word is reported in the red line."""
    from course.widgets import EmbeddingExplorer

    twin = EmbeddingExplorer()
    first = ex.assert_pixels(twin._view.rgba(), what="first frame")

    def type_query(word):
        box = ex.root.locator(".course-query input")
        box.fill(word)
        box.press("Enter")

    ex.step("query-january", lambda: type_query("january"))
    twin.query = "january"
    assert ex.text(".course-neighbours").split()[:4] == ["8", "nearest", "to", "january"]
    listed = ex.text(".course-neighbours")
    for word, _ in twin.neighbours:
        assert word in listed, (word, listed)
    jan = ex.assert_pixels(twin._view.rgba(), what="query january")
    assert jan["sha"] != first["sha"], "a new query did not redraw the picture"

    ex.step("euclidean", lambda: ex.root.locator(".course-metric button", has_text="euclidean").click())
    twin.metric = "euclidean"
    assert "(distance)" in ex.text(".course-neighbours")
    ex.assert_pixels(twin._view.rgba(), what="euclidean")
    assert ex.error() == ""

    ex.step("unknown-word", lambda: type_query("januaryy"))
    assert "'januaryy' is not in the vocabulary" in ex.error(), ex.error()
    assert "no neighbours" in ex.text(".course-neighbours")
# ------------------------------------------------------------------ Unit 4
def _click(ex: ExplorerInPage, css: str, text: str | None = None):
    """Click a checkbox (``text`` None) or the toggle button labelled ``text``."""
    if text is None:
        ex.root.locator(f"{css} input").first.click()
    else:
        ex.root.locator(f"{css} button", has_text=text).first.click()


def rnn_unroll_explorer(ex: ExplorerInPage):
    """Output step right, then bidirectional on: the highlighted inputs follow (pixels equal
    a twin's, driven the same way), and the read-out counts the visible inputs."""
    from course.widgets import RNNUnrollExplorer

    twin = RNNUnrollExplorer(seq_len=6, num_layers=1, bidirectional=False, output_step=2)
    start = ex.assert_pixels(twin._view.rgba(), ".course-view", what="start")
    assert "3 of 6 inputs" in ex.text(".course-formula")
    ex.step("step-4", lambda: ex.press(".course-output-step", "ArrowRight"))
    twin.output_step = 3
    moved = ex.assert_pixels(twin._view.rgba(), ".course-view", what="output step 3")
    assert moved["sha"] != start["sha"] and "4 of 6 inputs" in ex.text(".course-formula")
    ex.step("bidirectional", lambda: _click(ex, ".course-bidirectional"))
    twin.bidirectional = True
    ex.assert_pixels(twin._view.rgba(), ".course-view", what="bidirectional")
    assert "6 of 6 inputs" in ex.text(".course-formula") and twin.visible_inputs == list(range(6))
    assert ex.error() == ""


def gradient_flow_explorer(ex: ExplorerInPage):
    """Scale down (vanishing), switch to the LSTM, forget bias up, clipping on: the plot's
    pixels equal a twin's after each step, the message reports the clipped norm."""
    from course.widgets import GradientFlowExplorer

    twin = GradientFlowExplorer(cell="rnn", scale=0.9)
    ex.assert_pixels(twin._view.rgba(), ".course-view", what="start")
    ex.step("scale-min", lambda: ex.press(".course-scale", "Home"))
    twin.scale = 0.1
    ex.assert_pixels(twin._view.rgba(), ".course-view", what="scale 0.1")
    ex.step("lstm", lambda: _click(ex, ".course-cell", "LSTM"))
    twin.cell = "lstm"
    ex.assert_pixels(twin._view.rgba(), ".course-view", what="LSTM")
    ex.step("forget-bias-max", lambda: ex.press(".course-forget-bias", "End"))
    twin.forget_bias = 5.0
    ex.assert_pixels(twin._view.rgba(), ".course-view", what="forget bias 5")
    ex.step("clip", lambda: _click(ex, ".course-clip"))
    twin.clip = True
    ex.assert_pixels(twin._view.rgba(), ".course-view", what="clipped")
    assert "clipped to" in ex.text(".course-message")
    assert ex.error() == ""


def lstm_gate_explorer(ex: ExplorerInPage):
    """Hover a character: its cell value; next hidden unit: the picture changes; the
    forget gate: hovered values lie in (0, 1). (The lecture passes its trained model,
    so there is no twin: the page's read-outs are checked against the gate's range.)"""
    cell, left, top = 18, 10, 30                      # LSTMGateExplorer's text grid
    start = ex.canvas(".course-view")
    assert start["bytes"] == start["width"] * start["height"] * 3
    out = ex.hover(".course-view", left + cell / 2, top + cell / 2)
    assert out["text"].startswith("c, unit 0, at (line, char)") and math.isfinite(out["value"]), out
    ex.unhover()
    ex.step("unit-1", lambda: ex.press(".course-unit", "ArrowRight"))
    deadline = time.monotonic() + 5
    while ex.canvas(".course-view")["sha"] == start["sha"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ex.canvas(".course-view")["sha"] != start["sha"], "a new unit did not redraw"
    ex.step("forget-gate", lambda: _click(ex, ".course-gate", "forget"))
    for c in (0, 3, 7):
        out = ex.hover(".course-view", left + (c + 0.5) * cell, top + cell / 2)
        assert out["text"].startswith("f, unit 1,") and 0 < out["value"] < 1, out
    ex.unhover()
    assert ex.error() == ""
# ------------------------------------------------------------------ Unit 6 (attention)
def attention_explorer(ex: ExplorerInPage):
    """Query picker, scale toggle, d_k slider, causal mask and a new sentence: pixels equal
    Python's, hovering a weight reads the number Python computed, the entropy falls
    without scaling, and an empty sentence shows an error instead of raising."""
    from course.widgets import AttentionExplorer

    twin = AttentionExplorer()  # lecture 11 passes the same default sentence
    ex.assert_pixels(twin._weights_view.rgba(), what="start")
    ex.assert_pixels(twin._scores_view.rgba(), css=".course-scores-image", what="start scores")
    where = twin._weights_view.params["grid"]
    out = ex.hover_cell(".course-output-image", where, 3, 5)
    assert out["text"].startswith("weight[3, 5] = "), out
    assert abs(_readout_number(out["text"]) - twin.weights[3, 5]) < 1e-4, (out, twin.weights[3, 5])
    ex.unhover()

    ex.step("query-it", lambda: ex.root.locator(".course-query select").select_option(label="7: it"))
    twin.query_index = 7
    ex.assert_pixels(twin._row_view.rgba(), css=".course-row-image", what="query 'it'")

    ex.step("unscaled", lambda: ex.root.locator(".course-scaled input").click())
    twin.scaled = False
    ex.assert_pixels(twin._weights_view.rgba(), what="unscaled")
    before = twin.entropy
    ex.step("d_k-up", lambda: ex.press(".course-d-k", "PageUp"))
    twin.d_k = int(ex.slider_value(".course-d-k"))
    ex.assert_pixels(twin._weights_view.rgba(), what=f"unscaled d_k {twin.d_k}")
    assert twin.entropy < before, (twin.entropy, before)
    assert f"{twin.entropy:.3f}" in ex.text(".course-attention-readout")

    ex.step("causal", lambda: ex.root.locator(".course-causal input").click())
    twin.causal = True
    ex.assert_pixels(twin._weights_view.rgba(), what="causal")
    out = ex.hover_cell(".course-output-image", where, 2, 6)
    assert abs(_readout_number(out["text"])) < 1e-9, out  # above the diagonal: weight 0
    ex.unhover()

    box = ex.root.locator(".course-sentence input")
    ex.step("empty", lambda: (box.fill(""), box.press("Enter")))
    assert "empty" in ex.error(), ex.error()
    twin.sentence = ""  # the query picker empties, so the new sentence starts at word 0
    ex.step("new-sentence", lambda: (box.fill("a dog saw a cat"), box.press("Enter")))
    twin.sentence = "a dog saw a cat"
    assert twin.query_index == 0
    assert ex.error() == ""
    ex.assert_pixels(twin._weights_view.rgba(), what="new sentence")


def attention_head_explorer(ex: ExplorerInPage):
    """Layer and head pickers redraw; hovering reads weights in [0, 1], zero above the
    diagonal (the model is causal); an empty text shows an error."""
    start = ex.canvas()
    ex.step("head-1", lambda: ex.root.locator(".course-head select").select_option(label="1"))
    head1 = ex.canvas()
    assert head1["sha"] != start["sha"]
    ex.step("layer-1", lambda: ex.root.locator(".course-layer select").select_option(label="1"))
    assert ex.canvas()["sha"] != head1["sha"]
    box = ex.root.locator(".course-text input")
    ex.step("text", lambda: (box.fill("the cat"), box.press("Enter")))
    ex.step("empty", lambda: (box.fill(""), box.press("Enter")))
    assert "empty" in ex.error(), ex.error()


INTERACTIONS = {
    "KernelExplorer": kernel_explorer,
    "ConvArithmeticExplorer": conv_arithmetic_explorer,
    "PoolingExplorer": pooling_explorer,
    "SGDExplorer": sgd_explorer,
    "NgramSamplerExplorer": ngram_sampler_explorer,
    "EmbeddingExplorer": embedding_explorer,
    "RNNUnrollExplorer": rnn_unroll_explorer,
    "GradientFlowExplorer": gradient_flow_explorer,
    "LSTMGateExplorer": lstm_gate_explorer,
    "AttentionExplorer": attention_explorer,
    "AttentionHeadExplorer": attention_head_explorer,
}


def explorers_in(notebook: Path) -> list[str]:
    """Explorer classes a notebook's code cells construct, in order, e.g. ['KernelExplorer']."""
    import json

    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    names = []
    for name in re.findall(r"\b(\w+Explorer)\s*\(", code):
        if name not in names:
            names.append(name)
    return names
