"""Unit 1 explorers driven from plain Python, as a student's clicks would drive them.

Each control is changed through the widget itself (the property, or the ipywidgets
control the browser would change) and the result is checked against
``course.conv`` / ``course.pool`` called directly, and against PyTorch where a
shape or an index is at stake.
"""
from __future__ import annotations

import io
import re

import ipywidgets as W
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from course import conv, data, pool
from course.plotting import SIGNED_CMAP
from course.widgets import ConvArithmeticExplorer, KernelExplorer, PoolingExplorer
from course.widgets.canvas import ImageView


# ----------------------------------------------------------------------------- helpers
def descendants(widget):
    """Every widget inside ``widget`` (depth first), itself included."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from descendants(child)


def by_class(widget, css_class):
    found = [w for w in descendants(widget) if css_class in w._dom_classes]
    assert found, f"no widget with CSS class {css_class!r}"
    return found[0]


def status_count(widget) -> int:
    text = by_class(widget, "course-status").value
    assert text.startswith("rendered #"), text
    return int(text.removeprefix("rendered #"))


def png_rgb(widget, css_class="course-output-image") -> np.ndarray:
    """The pixels the canvas view with ``css_class`` shows in the page: (H, W, 3) uint8."""
    view = by_class(widget, css_class)
    assert isinstance(view, ImageView)
    return view.rgb()


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.fixture(scope="module")
def photo():
    return data.sample_image()


@pytest.fixture
def kx():
    return KernelExplorer()


# ------------------------------------------------------------------ all explorers
@pytest.mark.parametrize("cls", [KernelExplorer, ConvArithmeticExplorer, PoolingExplorer])
def test_explorer_conventions(cls):
    w = cls()
    assert isinstance(w, W.VBox)
    assert w.error is None
    caption = by_class(w, "course-caption").value
    assert "Try" in caption and len(caption) > 40
    assert status_count(w) >= 1
    assert by_class(w, "course-error").layout.display == "none"
    # pictures are canvas views fed raw pixels, never PNG Image widgets
    assert not [c for c in descendants(w) if isinstance(c, W.Image)]
    view = by_class(w, "course-output-image")
    assert isinstance(view, ImageView)
    np.testing.assert_array_equal(w.pixels, view.rgb())
    # ``png``: the same pixels, encoded on request; read-only
    assert isinstance(w.png, bytes) and w.png[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(decode(w.png), w.pixels)
    with pytest.raises(AttributeError):
        w.png = b""
    # sliders update while dragged (ipywidgets merges the values sent while the
    # kernel is busy, so only the latest renders: tests/browser/explorers.py), except
    # the output row/col ones, whose range the explorer changes under them
    for s in descendants(w):
        if isinstance(s, W.IntSlider):
            cell = bool(set(s._dom_classes) & {"course-row", "course-col"})
            assert s.continuous_update is not cell, s.description


# ------------------------------------------------------------------ KernelExplorer
def test_kernel_explorer_defaults_to_the_photo(kx, photo):
    np.testing.assert_array_equal(kx.image, photo)
    assert kx.output.shape == (512, 512)
    expected = conv.filter_image(photo, conv.kernel(kx.kernel))
    np.testing.assert_allclose(kx.output, expected, atol=1e-12)
    # output drawn at native size: one PNG pixel per output pixel
    assert png_rgb(kx, "course-output-image").shape == (512, 512, 3)


def test_choosing_sharpen_updates_weights_output_description_and_picture(kx, photo):
    before_png = kx.png
    before_count = status_count(kx)
    kx.kernel = "sharpen"
    assert kx.error is None
    np.testing.assert_array_equal(kx.weights, conv.kernel("sharpen"))
    np.testing.assert_allclose(kx.output, conv.filter_image(photo, conv.kernel("sharpen")),
                               atol=1e-12)
    cells = [c.value for c in by_class(kx, "course-kernel-grid").children]
    np.testing.assert_array_equal(np.reshape(cells, (3, 3)), conv.kernel("sharpen"))
    assert conv.KERNELS["sharpen"].description in by_class(kx, "course-preset-description").value
    assert by_class(kx, "course-preset").value == "sharpen"
    assert kx.png != before_png
    assert status_count(kx) == before_count + 1


def test_every_preset_through_the_dropdown_matches_filter_image():
    img = data.sample_image(size=64)
    w = KernelExplorer(image=img)
    dropdown = by_class(w, "course-preset")
    for name in conv.KERNELS:
        dropdown.value = name
        assert w.kernel == name and w.error is None
        np.testing.assert_allclose(w.output, conv.filter_image(img, conv.kernel(name)),
                                   atol=1e-12, err_msg=name)


def test_stride_slider_halves_the_output(kx, photo):
    by_class(kx, "course-stride").value = 2
    assert kx.stride == 2
    assert kx.output.shape == (256, 256)
    np.testing.assert_allclose(kx.output, conv.filter_image(photo, kx.weights, stride=2),
                               atol=1e-12)
    assert png_rgb(kx, "course-output-image").shape == (256, 256, 3)
    kx.stride = 3
    torch_shape = F.conv2d(torch.zeros(1, 1, 512, 512), torch.zeros(1, 1, 3, 3),
                           stride=3, padding=1).shape[-2:]
    assert kx.output.shape == tuple(torch_shape)
    with pytest.raises(ValueError, match="Stride"):
        kx.stride = 99


def test_editing_a_kernel_cell_marks_custom_and_changes_the_output(kx, photo):
    kx.kernel = "box_blur"
    blurred = kx.output.copy()
    count = status_count(kx)
    cell = by_class(kx, "course-kernel-cell-1-1")
    cell.value = 0.5  # what typing into the centre cell does
    assert kx.kernel == "custom"
    assert by_class(kx, "course-preset").value == "custom"
    expected_w = conv.kernel("box_blur")
    expected_w[1, 1] = 0.5
    np.testing.assert_array_equal(kx.weights, expected_w)
    np.testing.assert_allclose(kx.output, conv.filter_image(photo, expected_w), atol=1e-12)
    assert not np.allclose(kx.output, blurred)
    assert status_count(kx) == count + 1
    # choosing a preset again replaces the custom weights
    kx.kernel = "identity"
    np.testing.assert_allclose(kx.output, photo, atol=1e-12)


def test_setting_weights_from_python(kx, photo):
    w = np.arange(9.0).reshape(3, 3) / 36
    kx.weights = w
    assert kx.kernel == "custom"
    np.testing.assert_allclose(kx.output, conv.filter_image(photo, w), atol=1e-12)
    kx.weights = conv.kernel("laplacian")  # a preset's weights are recognised
    assert kx.kernel == "laplacian"
    with pytest.raises(ValueError, match="3x3 or 5x5"):
        kx.weights = np.ones((2, 3))


def test_padding_and_padding_mode(kx, photo):
    kx.kernel = "sobel_x"
    by_class(kx, "course-padding").value = "valid"
    assert kx.output.shape == (510, 510)
    np.testing.assert_allclose(kx.output, conv.filter_image(photo, kx.weights, padding="valid"),
                               atol=1e-12)
    kx.padding = "same"
    zeros = kx.output.copy()
    for mode, torch_mode in (("reflect", "reflect"), ("replicate", "replicate")):
        by_class(kx, "course-padding-mode").value = mode
        assert kx.padding_mode == mode and kx.error is None
        expected = F.conv2d(F.pad(torch.from_numpy(photo)[None, None], (1, 1, 1, 1),
                                  mode=torch_mode),
                            torch.from_numpy(kx.weights)[None, None])[0, 0].numpy()
        np.testing.assert_allclose(kx.output, expected, atol=1e-10)
        # only the border differs from zero padding
        np.testing.assert_allclose(kx.output[1:-1, 1:-1], zeros[1:-1, 1:-1], atol=1e-12)
        assert not np.allclose(kx.output[0], zeros[0])


def test_size_5_uses_the_5x5_preset_or_centres_the_3x3_one(kx, photo):
    kx.kernel = "box_blur"
    by_class(kx, "course-size").value = 5
    np.testing.assert_allclose(kx.weights, conv.kernel("box_blur", 5))
    assert len(by_class(kx, "course-kernel-grid").children) == 25
    np.testing.assert_allclose(kx.output, conv.filter_image(photo, conv.kernel("box_blur", 5)),
                               atol=1e-12)
    kx.kernel = "sobel_x"  # defined at 3x3 only: same filter, centred in zeros
    assert kx.weights.shape == (5, 5) and kx.weights[0].sum() == 0
    np.testing.assert_allclose(kx.output, conv.filter_image(photo, conv.kernel("sobel_x")),
                               atol=1e-12)
    assert "centred" in by_class(kx, "course-preset-description").value
    kx.size = 3
    np.testing.assert_array_equal(kx.weights, conv.kernel("sobel_x"))
    assert len(by_class(kx, "course-kernel-grid").children) == 9


@pytest.mark.parametrize("stride, padding, mode", [
    (1, "same", "zeros"), (2, "same", "reflect"), (3, "valid", "zeros"), (1, "same", "replicate"),
])
def test_weighted_sum_equals_the_output_pixel(photo, stride, padding, mode):
    w = KernelExplorer(kernel="sharpen")
    w.stride, w.padding, w.padding_mode = stride, padding, mode
    torch_mode = {"zeros": "constant"}.get(mode, mode)
    p = 1 if padding == "same" else 0
    padded = F.pad(torch.from_numpy(photo)[None, None], (p,) * 4, mode=torch_mode)[0, 0].numpy()
    oh, ow = w.output.shape
    for row, col in [(0, 0), (oh - 1, ow - 1), (oh // 3, 2 * ow // 3)]:
        by_class(w, "course-row").value = row
        by_class(w, "course-col").value = col
        assert w.pixel == (row, col)
        assert w.weighted_sum == pytest.approx(w.output[row, col], abs=1e-12)
        np.testing.assert_array_equal(
            w.patch, padded[row * stride: row * stride + 3, col * stride: col * stride + 3])
        assert w.weighted_sum_text.endswith(f"= {w.output[row, col]:.4f}")
        assert w.weighted_sum_text.count("\u00b7") == 9  # nine products written out
        assert f"output[{row}, {col}]" in by_class(w, "course-zoom").value


def test_pixel_stays_inside_the_output_when_stride_grows(kx):
    kx.pixel = (500, 500)
    kx.stride = 4
    assert kx.output.shape == (128, 128)
    assert kx.pixel == (125, 125)  # same place in the input: 500 // 4
    assert by_class(kx, "course-row").max == 127
    with pytest.raises(ValueError, match="outside"):
        kx.pixel = (200, 0)


def test_sharpen_is_gray_and_clipped_like_a_screen(kx):
    kx.kernel = "sharpen"
    out = kx.output
    assert out.min() < -0.1 and out.max() > 1.1  # it over- and undershoots at edges
    rgb = kx.pixels.astype(int)
    assert np.all((rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2]))
    grey = rgb[..., 0]
    np.testing.assert_allclose(grey, np.clip(out, 0, 1) * 255, atol=0.5 + 1e-9)
    assert np.all(grey[out < 0] == 0) and np.all(grey[out > 1] == 255)
    # the inspected pixel's red box is an outline above the pixels, not in them
    view = by_class(kx, "course-output-image")
    row, col = kx.pixel
    assert [(b["top"], b["left"], b["height"], b["width"]) for b in view.boxes] == [(row, col, 1, 1)]
    patch = by_class(kx, "course-input-image").boxes
    assert [(b["top"], b["left"], b["height"], b["width"]) for b in patch] == [
        (row - 1, col - 1, 3, 3)]


def test_zero_sum_kernels_are_signed_with_zero_as_mid_grey(kx):
    kx.kernel = "sobel_x"
    assert kx.colormap == SIGNED_CMAP.name
    rgb = decode(kx.png)
    flat = np.argwhere(np.abs(kx.output) < 1e-9)  # pixels where sobel_x gives exactly 0
    r, c = flat[len(flat) // 2]
    np.testing.assert_allclose(rgb[r, c], SIGNED_CMAP(0.5)[:3] * np.array(255), atol=3)
    # symmetric limits, the colour bar reads -v ... 0 ... v
    labels = re.findall(r"<span>([^<]*)</span>", by_class(kx, "course-colorbar-labels").value)
    assert len(labels) == 3 and labels[1] == "0"
    assert float(labels[0]) == -float(labels[2]) < 0


def test_other_sums_are_gray_unless_the_output_is_far_outside_0_1(kx):
    strong = conv.kernel("sharpen")
    strong[1, 1] = 9.0  # sum 5: the output reaches ~5
    kx.weights = strong
    assert np.percentile(kx.output, 99.5) > 1.5
    assert kx.colormap == SIGNED_CMAP.name
    assert "far outside [0, 1]" in by_class(kx, "course-output-title").value
    kx.weights = 0.9 * conv.kernel("box_blur")  # sum 0.9: a slightly darker image
    assert kx.output.max() <= 1.0
    assert kx.colormap == "gray"
    assert "sum to 0.9" in by_class(kx, "course-output-title").value


def test_colour_image_is_converted_to_gray():
    rgb = data.sample_image(gray=False, size=32)
    w = KernelExplorer(image=rgb)
    assert w.image.shape == (32, 32)
    np.testing.assert_allclose(w.image, data.rgb_to_gray(rgb))
    # a small image is zoomed (CSS, nearest neighbour) to stay visible
    view = by_class(w, "course-input-image")
    assert view.rgb().shape[:2] == (32, 32) and view.scale * 32 >= 256


def test_errors_are_shown_in_the_widget_not_raised(kx):
    count = status_count(kx)
    kx.weights = np.full((3, 3), np.nan)  # no exception escapes the callback
    assert kx.error and "finite" in kx.error.lower()
    err = by_class(kx, "course-error")
    assert err.layout.display != "none" and "finite" in err.value.lower()
    assert status_count(kx) == count + 1
    kx.kernel = "identity"
    assert kx.error is None and err.layout.display == "none"

    tiny = KernelExplorer(image=np.zeros((3, 3)))
    tiny.size = 5
    tiny.padding = "valid"  # 5x5 kernel on a 3x3 image: nothing to compute
    assert tiny.error and "larger than" in tiny.error
    assert tiny.output.shape == (0, 0)


# ----------------------------------------------------------- ConvArithmeticExplorer
def torch_output_size(n, k, p, s, d):
    try:
        return F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k),
                        stride=s, padding=p, dilation=d).shape[-1]
    except RuntimeError:
        return None


def test_arithmetic_formula_shows_live_numbers():
    w = ConvArithmeticExplorer(input_size=7, kernel_size=3, padding=1, stride=2, dilation=1)
    assert w.output_size == 4 == torch_output_size(7, 3, 1, 2, 1)
    assert "floor((7 + 2*1 - 1*(3-1) - 1)/2) + 1 = floor(6/2) + 1 = 4" in w.formula
    html_text = by_class(w, "course-formula").value
    assert "floor(6/2) + 1 = 4" in html_text
    by_class(w, "course-input-size").value = 10
    assert w.formula.endswith(f"= {conv.output_size(10, 3, 1, 2, 1)}")
    assert "(10 + 2*1" in by_class(w, "course-formula").value


@pytest.mark.parametrize("control", ["input_size", "kernel_size", "padding", "stride", "dilation"])
def test_each_arithmetic_control_matches_torch(control):
    # a tight start (dilated kernel spans 5 = n) so some moves make it invalid
    w = ConvArithmeticExplorer(input_size=5, kernel_size=3, padding=0, stride=1, dilation=2)
    slider = by_class(w, "course-" + control.replace("_", "-"))
    for value in sorted({slider.min, slider.max, (slider.min + slider.max) // 2, slider.min + 1}):
        count = status_count(w)
        png = w.png
        slider.value = value
        if value != slider.value or status_count(w) == count:
            continue  # the starting value: no change, no redraw
        args = (w.input_size, w.kernel_size, w.padding, w.stride, w.dilation)
        assert w.output_size == conv.output_size(*args)
        expected = torch_output_size(*args)
        if expected is None:
            assert w.output_size <= 0 and w.error and "No output" in w.error
        else:
            assert w.output_size == expected and w.error is None
        assert w.png != png


def test_receptive_field_follows_stride_padding_and_dilation():
    w = ConvArithmeticExplorer(input_size=9, kernel_size=3, padding=1, stride=2, dilation=2)
    o = w.output_size
    for row, col in [(0, 0), (1, 2), (o - 1, o - 1)]:
        w.cell = (row, col)
        k, s, p, d = 3, 2, 1, 2
        expected = [(row * s - p + d * i, col * s - p + d * j) for i in range(k) for j in range(k)]
        assert w.receptive_field == expected
    # torch autograd agrees: d out[row, col] / d x is non-zero exactly on the taps
    # that land inside the input (the others read padding zeros)
    x = torch.zeros(1, 1, 9, 9, requires_grad=True)
    out = F.conv2d(x, torch.ones(1, 1, 3, 3), stride=2, padding=1, dilation=2)
    out[0, 0, row, col].backward()
    read = {tuple(rc) for rc in torch.nonzero(x.grad[0, 0]).tolist()}
    assert read == {(r, c) for r, c in w.receptive_field if 0 <= r < 9 and 0 <= c < 9}
    assert len(read) < 9  # the last cell's field hangs over the padding


def test_invalid_arithmetic_is_shown_not_raised():
    w = ConvArithmeticExplorer(input_size=5, kernel_size=3, padding=0, stride=1, dilation=1)
    count = status_count(w)
    w.kernel_size = 7  # kernel larger than the padded input
    assert w.output_size == conv.output_size(5, 7) == -1
    assert torch_output_size(5, 7, 0, 1, 1) is None
    assert w.error and "No output" in w.error and "padded input has only n+2p = 5" in w.error
    err = by_class(w, "course-error")
    assert err.layout.display != "none" and "No output" in err.value
    assert w.formula.endswith("= -1")
    assert w.receptive_field == []
    assert status_count(w) == count + 1
    w.padding = 1  # 5 + 2 = 7 fits again
    assert w.output_size == 1 and w.error is None and err.layout.display == "none"


def test_output_cell_sliders_follow_the_output_size():
    w = ConvArithmeticExplorer(input_size=12, kernel_size=3, padding=1, stride=1)
    w.cell = (11, 11)
    w.stride = 4
    assert w.output_size == 3
    assert w.cell == (2, 2)
    assert by_class(w, "course-row").max == 2
    with pytest.raises(ValueError, match="outside"):
        w.cell = (3, 0)
    with pytest.raises(ValueError):
        w.dilation = 9  # outside the slider's range: refused, not clipped


# ------------------------------------------------------------------ PoolingExplorer
def torch_max_pool(grid, k, s):
    out, idx = F.max_pool2d(torch.from_numpy(grid)[None, None], k, s, return_indices=True)
    return out[0, 0].numpy(), idx[0, 0].numpy()


def test_max_pooling_and_argmax_match_pool_and_torch():
    w = PoolingExplorer()
    grid = w.grid
    assert grid.shape == (8, 8) and np.all(grid == np.round(grid))
    out, idx = pool.max_pool2d(grid[None, None], 2, stride=2, return_indices=True)
    np.testing.assert_array_equal(w.output, out[0, 0])
    np.testing.assert_array_equal(w.indices, idx[0, 0])
    t_out, t_idx = torch_max_pool(grid, 2, 2)
    np.testing.assert_array_equal(w.output, t_out)
    np.testing.assert_array_equal(w.indices, t_idx)
    by_class(w, "course-row").value = 1  # the slider moves the explained cell
    assert w.cell == (1, 0) and w.explanation.startswith("output[1, 0]")
    ties = 0
    for row in range(4):
        for col in range(4):
            w.cell = (row, col)
            assert w.argmax == divmod(int(t_idx[row, col]), 8)
            assert grid[w.argmax] == w.output[row, col]
            ties += "tied" in w.explanation
    assert ties > 0, "the default grid should show at least one tie"


def test_ties_go_to_the_first_maximum():
    grid = np.array([[1.0, 7, 7, 0], [7, 7, 2, 7], [0, 0, 3, 3], [0, 0, 3, 3]])
    w = PoolingExplorer(grid=grid)
    w.cell = (0, 0)
    assert w.argmax == (0, 1) == divmod(int(torch_max_pool(grid, 2, 2)[1][0, 0]), 4)
    w.cell = (1, 1)
    assert w.argmax == (2, 2)
    assert "first of 4 tied maxima" in w.explanation


def test_switching_to_average_pooling():
    w = PoolingExplorer()
    png, count = w.png, status_count(w)
    by_class(w, "course-mode").value = "avg"
    assert w.mode == "avg"
    expected = F.avg_pool2d(torch.from_numpy(w.grid)[None, None], 2, 2)[0, 0].numpy()
    np.testing.assert_allclose(w.output, expected)
    np.testing.assert_allclose(w.output, pool.avg_pool2d(w.grid[None, None], 2)[0, 0])
    assert w.argmax is None and w.indices is None
    assert "mean(" in w.explanation
    assert w.png != png
    assert status_count(w) == count + 1


@pytest.mark.parametrize("k, s", [(3, 1), (3, 2), (2, 3), (4, 4), (1, 1)])
def test_window_and_stride_sliders(k, s):
    w = PoolingExplorer()
    by_class(w, "course-kernel-size").value = k
    by_class(w, "course-stride").value = s
    t_out, t_idx = torch_max_pool(w.grid, k, s)
    np.testing.assert_array_equal(w.output, t_out)
    np.testing.assert_array_equal(w.indices, t_idx)
    row, col = w.cell
    assert w.window == (row * s, col * s, k)
    assert by_class(w, "course-row").max == t_out.shape[0] - 1


def test_new_grid_button_and_pooling_errors():
    w = PoolingExplorer()
    old = w.grid.copy()
    by_class(w, "course-new-grid").click()
    assert not np.array_equal(w.grid, old)
    np.testing.assert_array_equal(w.output, torch_max_pool(w.grid, 2, 2)[0])

    small = PoolingExplorer(grid=np.arange(9.0).reshape(3, 3), kernel_size=2, stride=1)
    count = status_count(small)
    small.kernel_size = 4  # window larger than the 3x3 grid
    assert small.error and "3" in small.error
    assert status_count(small) == count + 1
    small.kernel_size = 3
    assert small.error is None and small.output.tolist() == [[8.0]]


# ------------------------------------------------------- the grid pictures (PIL)
def colour_mask(rgb: np.ndarray, colour) -> np.ndarray:
    return np.all(np.abs(rgb.astype(int) - np.array(colour)) <= 2, axis=-1)


def test_receptive_field_picture_shows_the_dilation_gaps():
    """Same 9 taps, all inside the input: with dilation 2 they cover the same number
    of pixels but spread over 5x5 cells instead of 3x3 (gaps between them)."""
    tap = (240, 140, 46)  # TAP_COLOUR, a tap on a real input cell
    spans = {}
    for d in (1, 2):
        w = ConvArithmeticExplorer(input_size=9, kernel_size=3, padding=0, stride=1, dilation=d)
        rgb = decode(w.png)
        left = colour_mask(rgb[:, :330], tap)  # the input panel only
        rows, cols = np.nonzero(left)
        spans[d] = (left.sum(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1)
    (n1, w1, h1), (n2, w2, h2) = spans[1], spans[2]
    assert n2 == pytest.approx(n1, rel=0.05)  # (the dashed outline covers a few)
    assert w2 / w1 == pytest.approx(5 / 3, rel=0.1) and h2 / h1 == pytest.approx(5 / 3, rel=0.1)


def test_pooling_picture_outlines_window_argmax_and_keeps_its_size():
    w = PoolingExplorer()
    red, window = (255, 0, 0), (240, 140, 46)
    size = decode(w.png).shape
    red_max = colour_mask(decode(w.png), red).sum()
    assert colour_mask(decode(w.png), window).sum() > 0  # the window of the chosen cell
    w.mode = "avg"  # no arg-max box any more: only the output cell's outline is red
    red_avg = colour_mask(decode(w.png), red).sum()
    assert 0 < red_avg < red_max
    w.stride, w.kernel_size = 1, 3
    assert decode(w.png).shape == size  # fixed picture: the page never re-lays it out


def test_properties_refuse_what_a_student_could_not_choose(kx):
    """Every control-mirroring property says what it accepts instead of clipping the
    value or failing with a traitlets error."""
    with pytest.raises(ValueError, match=r"kernel must be one of .*'sharpen'.*got 'blurr'"):
        kx.kernel = "blurr"
    with pytest.raises(ValueError, match=r"size must be one of \[3, 5\], got 4"):
        kx.size = 4
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        kx.padding_mode = "circular"
    assert (kx.kernel, kx.size, kx.padding_mode) == ("sobel_x", 3, "zeros")
    pooling = PoolingExplorer()
    with pytest.raises(ValueError, match=r"mode must be one of \['max', 'avg'\]"):
        pooling.mode = "min"
    with pytest.raises(ValueError, match=r"Window must be in \[1, 4\]"):
        pooling.kernel_size = 5
    # the docstrings travel with the properties
    assert "spacing between kernel taps" in ConvArithmeticExplorer.dilation.__doc__
    assert "(row, col)" in KernelExplorer.pixel.__doc__
