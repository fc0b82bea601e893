"""The shared canvas view on its own, in real JupyterLab: the ways the docstring
promises (a float image through a colour map, an RGB image, a drawn picture that
travels deflated to a page on another machine and as runs to one on this machine,
several panels) draw exactly ``rgba()``, and the generic hover formatters later units
build on ("value", "row" for attention) read the right numbers.
"""
from __future__ import annotations

import nbformat
import numpy as np
import pytest

import labpage
from course.widgets.canvas import ImageView
from explorers import ExplorerInPage

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SETUP = """\
import numpy as np, ipywidgets as W
from course.widgets.canvas import ImageView
from course.plotting import SIGNED_CMAP
rng = np.random.default_rng(3)
heat = rng.normal(size=(6, 9))
attn = rng.random((5, 5)); attn /= attn.sum(axis=1, keepdims=True)
rgb = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
drawn = np.full((240, 320, 3), 255, np.uint8)  # a drawn picture: flat colours, some noise
drawn[40:200, 30:150] = (76, 120, 168); drawn[100:110, :] = (214, 32, 32)
drawn[::7, ::5] = rng.integers(0, 256, (35, 64, 3), dtype=np.uint8)
"""
CELL = """\
a = ImageView(scale=24); a.add_class("t-heat"); a.show(heat, SIGNED_CMAP, -2, 2)
a.hover("value", values=heat, label="heat")
b = ImageView(scale=40); b.add_class("t-attn"); b.show(attn, "viridis", 0, 1)
b.hover("row", values=attn, label="query")
c = ImageView(rgb, scale=10); c.add_class("t-rgb")
d = ImageView(local_hosts=[]); d.add_class("t-drawn")  # no host is local: the page says remote
e = ImageView(drawn); e.add_class("t-runs")  # a page on this machine: runs of one colour
box = W.HBox([a, b, c, d, e]); box.add_class("t-panels"); box
"""


def python_views():
    """The same three views, built in this process: the reference."""
    scope: dict = {}
    exec(SETUP + CELL.rsplit("\n", 2)[0], scope)  # everything but the display
    return scope


def test_canvas_view_pixels_and_hover_formatters(lab, page, screenshots):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(CELL)]
    nbformat.write(nb, str(lab.root_dir / "canvas_view.ipynb"))
    console = labpage.ConsoleErrors(page)
    labpage.open_notebook(page, lab.url(), "canvas_view.ipynb")
    labpage.run_all(page, "canvas_view.ipynb")
    assert not labpage.output_problems(page)
    root = page.locator(".t-panels").first
    root.wait_for(timeout=60_000)
    ex = ExplorerInPage(page, root, screenshots, "canvas-view")
    ref = python_views()

    for css, view in ((".t-heat", ref["a"]), (".t-attn", ref["b"]), (".t-rgb", ref["c"])):
        info = ex.assert_pixels(view.rgba(), css, what=css)
        assert (info["height"], info["width"]) == view.image_shape
    np.testing.assert_array_equal(ref["c"].rgb(), ref["rgb"])  # RGB: pixel for pixel
    # a page on another machine says so (here: no host counts as local for d); then a
    # drawn picture travels deflated and the page inflates it to the same pixels (a
    # local page's pictures travel raw)
    assert ex.canvas(".t-rgb")["sent"] == 12 * 20 * 3
    said = labpage.execute(page, "d.show_rgb(drawn)\nprint(d.remote, d.encoding)")
    assert said.split() == ["True", "deflate"], said
    info = ex.assert_pixels(ImageView(ref["drawn"]).rgba(), ".t-drawn", what="deflated picture")
    assert info["bytes"] == 240 * 320 * 3 and 0 < info["sent"] < info["bytes"] // 2, info
    assert labpage.execute(page, "print(e.remote, e.encoding)").split() == ["False", "runs"]
    info = ex.assert_pixels(ImageView(ref["drawn"]).rgba(), ".t-runs", what="picture sent as runs")
    assert info["bytes"] == 240 * 320 * 3 and 0 < info["sent"] < info["bytes"] // 2, info
    ex.shot("panels")

    heat, attn = ref["heat"], ref["attn"]
    for r, c in [(0, 0), (5, 8), (2, 3)]:
        out = ex.hover(".t-heat", c + 0.5, r + 0.5)
        assert out["text"].startswith(f"heat[{r}, {c}] = "), out
        assert abs(out["value"] - heat[r, c]) < 1e-6, (out, heat[r, c])
    for q in (0, 4):
        out = ex.hover(".t-attn", 2.5, q + 0.5)
        assert out["text"].startswith(f"query {q}: ["), out
        np.testing.assert_allclose(out["value"], attn[q], atol=1e-6)
        assert f"largest at {int(np.argmax(attn[q]))}" in out["text"]
    ex.unhover()
    assert ex.view(".t-heat").locator(".course-hover").inner_text() == ""
    errors = console.errors()
    assert not errors, "browser console errors:\n" + "\n".join(errors)
