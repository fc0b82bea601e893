"""Offline data for the course. Nothing here downloads anything.

- ``sample_image("photo")``: a real photograph that ships with matplotlib
  (Grace Hopper), cropped to 512x512.
- ``sample_image("checkerboard" | "step" | "circle")``: generated test patterns
  whose filtered outputs can be predicted by hand.
- ``digits()``: scikit-learn's bundled 8x8 handwritten digits, (N, 1, 8, 8) in
  [0, 1] with int64 labels and a fixed, seeded, stratified train/test split.

Every image is a float64 array with values in [0, 1]:
(H, W) when ``gray=True``, (H, W, 3) otherwise.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

PATTERNS = ("checkerboard", "step", "circle")
IMAGES = ("photo",) + PATTERNS


@functools.lru_cache(maxsize=None)
def _photo_rgb() -> np.ndarray:
    """The bundled photograph as (512, 512, 3) float64 in [0, 1]."""
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        rgb = np.asarray(Image.open(f).convert("RGB"), dtype=np.float64) / 255.0
    h, w, _ = rgb.shape
    top, left = (h - 512) // 2, (w - 512) // 2
    out = rgb[top:top + 512, left:left + 512].copy()
    out.setflags(write=False)
    return out


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """Luminance (ITU-R BT.601): (H, W, 3) -> (H, W)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"rgb_to_gray expects an (H, W, 3) image, got shape {rgb.shape}")
    return rgb @ np.array([0.299, 0.587, 0.114])


def checkerboard(size: int = 64, square: int = 8) -> np.ndarray:
    """(size, size) squares of side ``square`` alternating 0 and 1, top-left 0."""
    rows = np.arange(size)[:, None] // square
    cols = np.arange(size)[None, :] // square
    return ((rows + cols) % 2).astype(np.float64)


def step_edge(size: int = 64, vertical: bool = True) -> np.ndarray:
    """Left half 0, right half 1 (``vertical=True``), or top 0, bottom 1."""
    img = np.zeros((size, size))
    if vertical:
        img[:, size // 2:] = 1.0
    else:
        img[size // 2:, :] = 1.0
    return img


def circle(size: int = 64, radius: float | None = None) -> np.ndarray:
    """A filled disc of value 1 on 0, centred, radius ``size/4`` by default."""
    radius = size / 4 if radius is None else radius
    yy, xx = np.mgrid[:size, :size]
    c = (size - 1) / 2
    return (((yy - c) ** 2 + (xx - c) ** 2) <= radius**2).astype(np.float64)


def sample_image(name: str = "photo", gray: bool = True, size: int | None = None) -> np.ndarray:
    """An image in [0, 1]: (H, W) if ``gray`` else (H, W, 3).

    ``name``: ``"photo"`` (512x512 photograph from matplotlib's sample data) or a
    test pattern ``"checkerboard"``, ``"step"``, ``"circle"`` (64x64 unless
    ``size`` is given). ``size`` crops the photo to its central ``size x size``.
    """
    if name == "photo":
        img = _photo_rgb()
        if size is not None:
            if not 1 <= size <= 512:
                raise ValueError(f"size must be between 1 and 512 for the photo, got {size}")
            o = (512 - size) // 2
            img = img[o:o + size, o:o + size]
        img = np.array(img)  # a writable copy the caller owns
        return rgb_to_gray(img) if gray else img
    makers = {"checkerboard": checkerboard, "step": step_edge, "circle": circle}
    if name not in makers:
        raise ValueError(f"unknown image {name!r}; choose one of {', '.join(IMAGES)}")
    img = makers[name](size or 64)
    return img if gray else np.repeat(img[..., None], 3, axis=-1)


class Digits(NamedTuple):
    """The digits split: images (N, 1, 8, 8) float64 in [0, 1], labels (N,) int64 in 0..9."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@functools.lru_cache(maxsize=None)
def _digits_split(test_size: float, seed: int) -> Digits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()  # bundled with scikit-learn: no download
    X = (bunch.images / 16.0).astype(np.float64)[:, None, :, :]  # pixel values 0..16 -> [0, 1]
    y = bunch.target.astype(np.int64)
    parts = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    for a in parts:
        a.setflags(write=False)
    X_train, X_test, y_train, y_test = parts
    return Digits(X_train, y_train, X_test, y_test)


def digits(test_size: float = 0.25, seed: int = 0) -> Digits:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images), split for training.

    Returns ``Digits(X_train, y_train, X_test, y_test)``: images (N, 1, 8, 8)
    float64 scaled to [0, 1] (the (N, C, H, W) layout of ``course.conv``),
    labels (N,) int64. The split is stratified (every digit in the same
    proportion on both sides) and fixed by ``seed``; the default keeps 25 % for
    testing (1347 train / 450 test). The arrays are fresh, writable copies.
    """
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size is the fraction kept for testing, strictly between 0 and 1; got {test_size}")
    return Digits(*(np.array(a) for a in _digits_split(float(test_size), int(seed))))
