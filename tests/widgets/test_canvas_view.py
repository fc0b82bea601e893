"""The shared picture view (course.widgets.canvas.ImageView), from Python.

What the page draws is checked in tests/browser (its canvas' pixels against
``rgba()``); here: what travels and what ``rgba()`` promises.
"""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from course.plotting import SIGNED_CMAP
import zlib

from course.widgets.canvas import FRAME_HEADER, ImageView, box, encode, grid, lut, runs, to_codes


def test_float_image_travels_as_one_byte_per_pixel_and_a_colour_table():
    a = np.linspace(-0.5, 1.5, 7 * 5).reshape(7, 5)
    view = ImageView()
    view.show(a, "viridis", 0.0, 1.0)
    assert view.shape == [7, 5, 1] and len(view.lut) == 768
    assert len(view.pixels) == FRAME_HEADER + 35  # the frame number, then one byte a pixel
    # the page's colours: matplotlib's map at 256 levels, clipped outside [vmin, vmax]
    cmap = matplotlib.colormaps["viridis"]
    idx = np.clip(np.floor(a * 255 + 0.5), 0, 255).astype(int)
    expected = np.floor(cmap(np.linspace(0, 1, 256))[idx][..., :3] * 255 + 0.5).astype(np.uint8)
    rgba = view.rgba()
    assert rgba.shape == (7, 5, 4) and np.all(rgba[..., 3] == 255)
    np.testing.assert_array_equal(rgba[..., :3], expected)
    assert view.bytes_sent == 35 and view.frames == 1


def test_codes_round_and_clip():
    np.testing.assert_array_equal(to_codes(np.array([[-1.0, 0.0, 0.5, 1.0, 2.0]]), 0, 1),
                                  [[0, 0, 128, 255, 255]])
    assert lut(SIGNED_CMAP) == lut(SIGNED_CMAP.name)


def test_rgb_image_is_sent_pixel_for_pixel():
    rgb = np.random.default_rng(0).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    view = ImageView(rgb)
    assert view.shape == [4, 6, 3] and view.pixels[FRAME_HEADER:] == rgb.tobytes()
    np.testing.assert_array_equal(view.rgb(), rgb)
    with pytest.raises(ValueError, match=r"\(H, W, 3\) or \(H, W, 4\) uint8"):
        view.show_rgb(rgb.astype(float))
    with pytest.raises(ValueError, match=r"needs an \(H, W\) array"):
        view.show(rgb)


def test_an_unchanged_image_is_not_sent_again():
    view = ImageView()
    sent = []
    view.observe(lambda change: sent.append(change.name), names=["pixels", "shape", "lut"])
    a = np.eye(8)
    view.show(a)
    assert sorted(sent) == ["pixels", "shape"]  # gray is the default table
    sent.clear()
    view.show(a.copy())  # same pixels: nothing changes, nothing travels
    assert sent == [] and view.frames == 1
    view.show(a, "magma")  # same codes, new colours: only the table travels
    assert sent == ["lut"] and view.frames == 2


def test_each_new_image_starts_with_a_new_frame_number():
    """The page's model compares old and new ``pixels`` byte by byte before drawing;
    two pictures that agree in their first rows (a white margin) must still differ in
    their first bytes, so that comparison stops at once (issue #14)."""
    view = ImageView()
    a = np.ones((64, 64))
    b = a.copy()
    b[-1, -1] = 0.0  # the same but for the last pixel
    view.show(a)
    first = view.pixels
    view.show(b)
    assert first[:FRAME_HEADER] != view.pixels[:FRAME_HEADER]
    assert int.from_bytes(view.pixels[:FRAME_HEADER], "little") == 2
    assert first[FRAME_HEADER:-1] == view.pixels[FRAME_HEADER:-1]
    view.show(b, "magma")  # a new table only: the pixels (and their number) stay
    assert int.from_bytes(view.pixels[:FRAME_HEADER], "little") == 2 and view.frames == 3


def unrun(body: bytes, shape) -> np.ndarray:
    """The page's unpacking of ``runs``, written again with NumPy: (H, W, 4) RGBA."""
    n = int.from_bytes(body[:4], "little")
    colours = np.frombuffer(body[4:4 + 4 * n], "<u4")
    lengths = np.frombuffer(body[4 + 4 * n:4 + 6 * n], "<u2")
    assert lengths.sum() == shape[0] * shape[1]
    return np.repeat(colours, lengths).view(np.uint8).reshape(shape[0], shape[1], 4)


def test_runs_are_one_colour_within_a_row():
    """By hand: a 2x3 picture, white | red red / red red red: a row's end ends a run even
    when the colour goes on (so a length fits in 16 bits), RGB gets alpha 255."""
    white, red = (255, 255, 255), (200, 10, 20)
    image = np.array([[white, red, red], [red, red, red]], np.uint8)
    body = runs(image)
    assert int.from_bytes(body[:4], "little") == 3
    colours = np.frombuffer(body[4:16], np.uint8).reshape(3, 4).tolist()
    assert colours == [[255, 255, 255, 255], [200, 10, 20, 255], [200, 10, 20, 255]]
    assert np.frombuffer(body[16:], "<u2").tolist() == [1, 2, 3]
    rgba = np.random.default_rng(1).integers(0, 3, (7, 11, 4), dtype=np.uint8) * 80
    np.testing.assert_array_equal(unrun(runs(rgba), rgba.shape), rgba)  # alpha kept


def test_drawn_pictures_travel_packed_photographs_and_codes_raw():
    """Flat colours shrink many times for ~1 ms (runs to a page on this machine, zlib to one
    on another); detail everywhere (a photograph, noise) does not, so it is not tried past
    a sample; colour-map codes travel raw."""
    from course import data

    drawn = np.full((300, 400, 3), 255, np.uint8)
    drawn[50:250, 40:200] = (76, 120, 168)
    body, how = encode(drawn, remote=True)
    assert how == "deflate" and len(body) * 10 < drawn.nbytes
    assert zlib.decompress(body) == drawn.tobytes()
    body, how = encode(drawn, remote=False)
    assert how == "runs" and len(body) * 10 < drawn.nbytes
    np.testing.assert_array_equal(unrun(body, drawn.shape)[..., :3], drawn)
    photo = (np.stack([data.sample_image()] * 3, axis=-1) * 255).astype(np.uint8)
    noisy = photo ^ np.random.default_rng(0).integers(0, 256, photo.shape, dtype=np.uint8)
    for remote in (True, False):
        assert encode(noisy, remote) == (noisy.tobytes(), "raw")
        codes = np.zeros((300, 400, 1), np.uint8)
        assert encode(codes, remote) == (codes.tobytes(), "raw")
    local = ImageView(drawn)  # a page on this machine: runs
    assert local.encoding == "runs" and local.pixels[FRAME_HEADER:] == runs(drawn)
    view = ImageView(remote=True)  # the page said it is on another machine
    view.show_rgb(drawn)
    assert view.encoding == "deflate" and view.bytes_sent == len(zlib.compress(drawn.tobytes(), 1))
    assert zlib.decompress(view.pixels[FRAME_HEADER:]) == drawn.tobytes()
    np.testing.assert_array_equal(view.rgb(), drawn)  # what the page draws once inflated


def test_hover_data_is_float32_and_named_by_formatter():
    view = ImageView(np.zeros((3, 4)))
    values = np.arange(12.0).reshape(3, 4) / 7
    view.hover("value", values=values, label="J", grid=grid(0, 0, 10, 3, 4))
    assert view.formatter == "value" and view.params["label"] == "J"
    assert view.values_shape == [3, 4]
    np.testing.assert_array_equal(view.hover_values(), values.astype(np.float32))
    with pytest.raises(ValueError, match="2-D"):
        view.hover("value", values=np.zeros(3))
    b = box(1, 2, 3, 4)
    assert (b["top"], b["left"], b["height"], b["width"]) == (1, 2, 3, 4)


def test_every_formatter_the_python_side_names_exists_in_the_page():
    from course.widgets import canvas

    for name in ("value", "row", "weighted_sum", "receptive_field"):
        assert f"  {name}(ctx) {{" in canvas._ESM, name
