"""Offline data: the bundled photograph and the generated test patterns."""
import numpy as np
import pytest

from course import data


@pytest.mark.parametrize("name", data.IMAGES)
@pytest.mark.parametrize("gray", [True, False])
def test_images_are_floats_in_unit_range(name, gray):
    img = data.sample_image(name, gray=gray)
    assert img.dtype == np.float64
    assert img.ndim == (2 if gray else 3)
    assert 0.0 <= img.min() and img.max() <= 1.0
    assert img.max() > img.min(), "an image with one value teaches nothing"


def test_photo_is_a_real_512x512_photograph():
    rgb = data.sample_image("photo", gray=False)
    assert rgb.shape == (512, 512, 3)
    # A photograph has many distinct intensities and colour (channels differ).
    assert len(np.unique(np.round(rgb[..., 0] * 255))) > 100
    assert np.abs(rgb[..., 0] - rgb[..., 2]).mean() > 0.01
    gray = data.sample_image("photo")
    np.testing.assert_allclose(gray, 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])


def test_photo_copies_are_independent():
    a = data.sample_image("photo")
    a[:] = 0
    assert data.sample_image("photo").max() > 0


def test_patterns_have_the_promised_structure():
    cb = data.sample_image("checkerboard", size=16)
    assert cb[0, 0] == 0 and cb[0, 8] == 1 and cb[8, 8] == 0 and cb.mean() == 0.5
    step = data.sample_image("step", size=10)
    assert (step[:, :5] == 0).all() and (step[:, 5:] == 1).all()
    disc = data.sample_image("circle", size=64)
    assert disc[32, 32] == 1 and disc[0, 0] == 0
    assert abs(disc.sum() - np.pi * 16**2) / (np.pi * 16**2) < 0.05


def test_unknown_image_names_the_choices():
    with pytest.raises(ValueError, match="choose one of photo, checkerboard"):
        data.sample_image("lena")
