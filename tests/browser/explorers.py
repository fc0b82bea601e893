"""Operate each explorer in a page as a student does, and check what the page shows.

One function per explorer class, ``INTERACTIONS[name](ExplorerInPage)``. Each
step changes one control with the mouse or the keyboard, waits for the
``rendered #<n>`` marker the widget writes after drawing (never for "the image
changed": a key press can produce an intermediate frame), then asserts on the
page: the image bytes, its size, the formula or message text. Where the page
should show exactly what the Python API computes, a twin explorer driven the
same way in this process is the reference (so these steps assume the notebook
builds Unit 1's explorers with their default arguments, as the lectures and the
Voila app do).

Used by the JupyterLab tests and the Voila test; plain Python, no pytest.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from playwright.sync_api import Locator, Page

# {sha256, width, height, bytes} of the PNG an <img> shows, read back from its blob URL.
_IMAGE_INFO = """async (img) => {
  await img.decode();
  const buf = await (await fetch(img.src)).arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', buf);
  const sha = Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
  return {sha: sha, width: img.naturalWidth, height: img.naturalHeight, bytes: buf.byteLength};
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


def sha(png: bytes) -> str:
    return hashlib.sha256(bytes(png)).hexdigest()


class ExplorerInPage:
    """One explorer's root element in the page, plus helpers to act and wait."""

    def __init__(self, page: Page, root: Locator, shots: Path, prefix: str):
        self.page, self.root, self.shots, self.prefix = page, root, shots, prefix
        self.steps = 0
        for old in shots.glob(f"{prefix}-*.png"):  # a previous run's pictures
            old.unlink()

    # ---------------------------------------------------------------- reading
    def status(self) -> int:
        return self.root.locator(".course-status").evaluate(_STATUS)

    def image(self, css: str = "img.course-output-image") -> dict:
        return self.root.locator(css).first.evaluate(_IMAGE_INFO)

    def text(self, css: str) -> str:
        return self.root.locator(css).first.inner_text()

    def error(self) -> str:
        """Text of the red error line ('' when hidden)."""
        line = self.root.locator(".course-error")
        return line.inner_text().strip() if line.is_visible() else ""

    # ---------------------------------------------------------------- acting
    def wait_ready(self, timeout_ms: float = 60_000):
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
def kernel_explorer(ex: ExplorerInPage):
    """Preset, one kernel cell, stride slider, padding: the output image follows."""
    from course import conv
    from course.widgets import KernelExplorer

    twin = KernelExplorer()  # same defaults as the lecture's KernelExplorer()
    first = ex.image()
    assert (first["width"], first["height"]) == (512, 512), first
    assert first["sha"] == sha(twin.png), "first frame differs from Python's"
    assert ex.error() == ""

    # 1. choose the sharpen preset in the dropdown
    ex.step("preset-sharpen", lambda: ex.root.locator(".course-preset select").select_option("sharpen"))
    twin.kernel = "sharpen"
    sharpened = ex.image()
    assert sharpened["sha"] != first["sha"], "choosing 'sharpen' did not change the output image"
    assert sharpened["sha"] == sha(twin.png), "page shows a stale or wrong frame"
    description = conv.KERNELS["sharpen"].description
    assert description[:30] in ex.text(".course-preset-description")

    # 2. edit the centre cell of the kernel: 5 -> 9, Enter
    cell = ex.root.locator(".course-kernel-cell-1-1 input")
    ex.step("edit-centre-cell", lambda: (cell.fill("9"), cell.press("Enter")))
    weights = twin.weights
    weights[1, 1] = 9.0
    twin.weights = weights
    edited = ex.image()
    assert edited["sha"] not in (sharpened["sha"], first["sha"]), "editing a cell did not redraw"
    assert edited["sha"] == sha(twin.png)
    assert ex.root.locator(".course-preset select").input_value() == "custom"
    assert "(9)" in ex.text(".course-zoom"), "the weighted sum does not use the edited weight"

    # 3. stride 1 -> 2 with the arrow key: output (512 + 2*1 - 3)//2 + 1 = 256
    ex.step("stride-2", lambda: ex.press(".course-stride", "ArrowRight"))
    twin.stride = 2
    strided = ex.image()
    assert (strided["width"], strided["height"]) == (256, 256), strided
    assert "256×256" in ex.text(".course-output-title")
    assert strided["sha"] == sha(twin.png)

    # 4. padding "valid": (512 - 3)//2 + 1 = 255
    ex.step("padding-valid",
            lambda: ex.root.locator(".course-padding button", has_text="valid").click())
    valid = ex.image()
    assert (valid["width"], valid["height"]) == (255, 255), valid
    assert ex.error() == ""


def conv_arithmetic_explorer(ex: ExplorerInPage):
    """Stride slider updates the formula; an impossible size shows its message."""
    from course.widgets import ConvArithmeticExplorer

    twin = ConvArithmeticExplorer()  # n=7, k=3, p=1, s=2, d=1 -> 4
    start = ex.image()
    assert "= 4" in ex.text(".course-formula")
    assert start["sha"] == sha(twin.png)

    # stride 2 -> 3: floor((7 + 2*1 - 1*(3-1) - 1)/3) + 1 = floor(6/3) + 1 = 3
    ex.step("stride-3", lambda: ex.press(".course-stride", "ArrowRight"))
    twin.stride = 3
    formula = ex.text(".course-formula")
    assert "floor((7 + 2*1 - 1*(3-1) - 1)/3) + 1" in formula and formula.endswith("= 3"), formula
    strided = ex.image()
    assert strided["sha"] != start["sha"] and strided["sha"] == sha(twin.png)
    assert ex.error() == ""

    # input n -> 1 (Home), kernel k -> 7 (End): floor((1 + 2 - 6 - 1)/3) + 1 = -1 <= 0
    ex.step("input-1", lambda: ex.press(".course-input-size", "Home"))
    ex.step("kernel-7-invalid", lambda: ex.press(".course-kernel-size", "End"))
    formula = ex.text(".course-formula")
    assert "floor((1 + 2*1 - 1*(7-1) - 1)/3) + 1" in formula and formula.endswith("= -1"), formula
    message = ex.error()
    assert "No output" in message and "-1" in message, f"invalid combination not shown: {message!r}"
    assert ex.image()["sha"] != strided["sha"]

    # kernel k -> 1 (Home): floor((1 + 2 - 0 - 1)/3) + 1 = 1, the message goes away
    ex.step("kernel-1-valid", lambda: ex.press(".course-kernel-size", "Home"))
    assert ex.error() == "" and ex.text(".course-formula").endswith("= 1")


def pooling_explorer(ex: ExplorerInPage):
    """Max <-> avg switch, window and stride sliders: numbers and picture follow."""
    from course.widgets import PoolingExplorer

    twin = PoolingExplorer()  # 8x8 grid of integers, max, window 2, stride 2
    start = ex.image()
    assert start["sha"] == sha(twin.png)
    explain = ex.text(".course-pool-explain")
    assert explain.startswith("output[0, 0] = max(") and "taken from input row" in explain

    ex.step("avg", lambda: ex.root.locator(".course-mode button", has_text="avg").click())
    twin.mode = "avg"
    values = twin.grid[:2, :2]
    explain = ex.text(".course-pool-explain")
    assert explain.startswith("output[0, 0] = mean("), explain
    assert explain.endswith(f"= {values.mean():.3g}"), (explain, values)
    avg = ex.image()
    assert avg["sha"] != start["sha"] and avg["sha"] == sha(twin.png)

    # stride 2 -> 1 and window 2 -> 3 with the keyboard: 8x8 -> (8 - 3)//1 + 1 = 6x6
    ex.step("stride-1", lambda: ex.press(".course-stride", "ArrowLeft"))
    ex.step("window-3", lambda: ex.press(".course-kernel-size", "ArrowRight"))
    twin.stride, twin.kernel_size = 1, 3
    assert twin.output.shape == (6, 6)
    windowed = ex.image()
    assert windowed["sha"] == sha(twin.png)
    assert f"= {twin.grid[:3, :3].mean():.3g}" in ex.text(".course-pool-explain")

    ex.step("max", lambda: ex.root.locator(".course-mode button", has_text="max").click())
    explain = ex.text(".course-pool-explain")
    assert explain.startswith("output[0, 0] = max(") and f"= {twin.grid[:3, :3].max():g}" in explain
    assert ex.error() == ""


# ------------------------------------------------------------------ Unit 2
def sgd_explorer(ex: ExplorerInPage):
    """Learning rate up with the keyboard: the path changes; past the critical rate it diverges."""
    start = ex.image("img.course-view")
    before = float(ex.slider_value(".course-lr"))
    ex.step("lr-up", lambda: ex.press(".course-lr", "ArrowRight"))
    # a log slider: one key step multiplies the rate by 10**0.05 (readout has 3 digits)
    after = float(ex.slider_value(".course-lr"))
    assert abs(after / (before * 10**0.05) - 1) < 0.01, (before, after)
    up = ex.image("img.course-view")
    assert up["sha"] != start["sha"], "changing the learning rate did not redraw the path"
    assert ex.error() == ""

    ex.step("lr-max", lambda: ex.press(".course-lr", "End"))
    message = ex.text(".course-message")
    assert "Diverged" in message or "went up" in message, message
    assert ex.image("img.course-view")["sha"] != up["sha"]


INTERACTIONS = {
    "KernelExplorer": kernel_explorer,
    "ConvArithmeticExplorer": conv_arithmetic_explorer,
    "PoolingExplorer": pooling_explorer,
    "SGDExplorer": sgd_explorer,
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
