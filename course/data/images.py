"""Images that ship offline: the photograph in matplotlib's sample data and test patterns.

Every image is a float64 array with values in [0, 1]:
(H, W) when ``gray=True``, (H, W, 3) otherwise.
"""
from __future__ import annotations

import functools
import pathlib

import numpy as np

__all__ = ["PATTERNS", "IMAGES", "sample_image", "rgb_to_gray", "checkerboard", "step_edge", "circle"]

PATTERNS = ("checkerboard", "step", "circle")
IMAGES = ("photo",) + PATTERNS


#: the photograph as decoded on a full install, shipped inside the browser site's wheel
#: (course/jupyter/lite_site.py): JPEG decoders differ by a few grey levels between Pillow
#: builds (the browser's is not the desktop's), and a lecture's numbers should not
BUNDLED_PHOTO = pathlib.Path(__file__).with_name("cache") / "grace_hopper-512.npy"


def decode_photo() -> np.ndarray:
    """matplotlib's photograph (grace_hopper.jpg), its central 512 x 512: (512, 512, 3) uint8."""
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        rgb = np.asarray(Image.open(f).convert("RGB"))
    h, w, _ = rgb.shape
    top, left = (h - 512) // 2, (w - 512) // 2
    return rgb[top:top + 512, left:left + 512].copy()


@functools.lru_cache(maxsize=None)
def _photo_rgb() -> np.ndarray:
    """The photograph as (512, 512, 3) float64 in [0, 1] (the bundled decode where there is one)."""
    rgb = np.load(BUNDLED_PHOTO) if BUNDLED_PHOTO.is_file() else decode_photo()
    out = rgb.astype(np.float64) / 255.0
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
