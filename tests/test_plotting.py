"""course.plotting: the lecture figures show what they claim to show."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_signed_colour_map_draws_zero_as_mid_grey():
    r, g, b, _ = plotting.SIGNED_CMAP(0.5)
    assert r == pytest.approx(0.5, abs=0.01) and g == pytest.approx(0.5, abs=0.01)
    assert b == pytest.approx(0.5, abs=0.01)
    neg, pos = plotting.SIGNED_CMAP(0.0), plotting.SIGNED_CMAP(1.0)
    assert neg[2] > neg[0] and pos[0] > pos[2]  # negative blue, positive orange


def test_imshow_signed_limits_are_symmetric_around_zero():
    img = np.array([[-1.0, 0.0], [0.5, 3.0]])
    fig = plotting.imshow_signed(img, title="edges")
    im = fig.axes[0].images[0]
    assert im.get_clim() == (-3.0, 3.0)
    assert fig.axes[0].get_title() == "edges"
    # the pixel whose value is 0 maps to the middle of the colour map, i.e. mid-grey
    assert im.norm(0.0) == pytest.approx(0.5)


def test_signed_limit_robust_ignores_rare_outliers_and_is_never_zero():
    img = np.zeros((100, 100))
    img[0, 0] = 100.0
    img[1:, :] = np.linspace(-1, 1, 99 * 100).reshape(99, 100)
    assert plotting.signed_limit(img) == 100.0
    assert plotting.signed_limit(img, robust=True) < 2.0
    assert plotting.signed_limit(np.zeros((3, 3))) == 1.0


def test_show_images_one_panel_per_image_with_titles_and_signed_detection():
    gray = np.linspace(0, 1, 16).reshape(4, 4)
    signed = gray - 0.5
    fig = plotting.show_images([gray, signed, np.dstack([gray] * 3)], ["a", "b", "c"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["a", "b", "c"]
    gray_im = fig.axes[0].images[0]
    assert gray_im.get_clim() == (0.0, 1.0) and gray_im.get_cmap().name == "gray"
    signed_im = [ax for ax in fig.axes if ax.get_title() == "b"][0].images[0]
    assert signed_im.get_cmap() is plotting.SIGNED_CMAP
    assert signed_im.get_clim() == (-0.5, 0.5)


def test_show_images_wraps_into_rows_and_hides_spare_axes():
    imgs = [np.zeros((2, 2))] * 5
    fig = plotting.show_images(imgs, ncols=3)
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(fig.axes) == 6 and len(visible) == 5


def test_show_images_rejects_mismatched_titles_with_a_clear_message():
    with pytest.raises(ValueError, match="2 images but 1 titles"):
        plotting.show_images([np.zeros((2, 2))] * 2, ["only one"])


def test_heatmap_writes_every_number_and_outlines_highlights():
    grid = np.array([[1, 3], [4, 2.5]])
    fig = plotting.heatmap(grid, highlight=[(1, 0)])
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2.5", "3", "4"]
    [rect] = ax.patches
    assert rect.get_xy() == (-0.5, 0.5)  # column 0, row 1
    # text stays readable: the darkest cell gets white text, the brightest black
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    assert colours["1"] == "white" and colours["4"] == "black"


def test_heatmap_signed_grid_uses_diverging_map():
    fig = plotting.heatmap(np.array([[-1, 0, 1]]))
    im = fig.axes[0].images[0]
    assert im.get_cmap() is plotting.SIGNED_CMAP and im.get_clim() == (-1.0, 1.0)


def test_heatmap_rejects_non_2d_input():
    with pytest.raises(ValueError, match=r"2-D \(H, W\) grid, got shape \(2, 2, 2\)"):
        plotting.heatmap(np.zeros((2, 2, 2)))


def test_show_conv_draws_input_star_kernel_equals_output():
    image = np.eye(6)
    kernel = np.array([[-1.0, 0, 1]] * 3)
    output = np.arange(-8.0, 8.0).reshape(4, 4)
    fig = plotting.show_conv(image, kernel, output)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["input", "kernel", "output"]
    assert [t.get_text() for t in fig.texts] == ["$\\star$", "$=$"]
    kernel_ax = fig.axes[1]
    assert len(kernel_ax.texts) == 9  # every weight written in its cell


def test_show_gallery_puts_each_kernel_above_its_output():
    kernels = [np.ones((3, 3)) / 9, np.array([[-1.0, 0, 1]] * 3)]
    outputs = [np.full((5, 5), 0.5), np.linspace(-1, 1, 25).reshape(5, 5)]
    fig = plotting.show_gallery(kernels, outputs, ["blur", "edge"])
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled == ["blur", "edge"]
    with pytest.raises(ValueError, match="one output and one title per kernel"):
        plotting.show_gallery(kernels, outputs[:1], ["blur", "edge"])
