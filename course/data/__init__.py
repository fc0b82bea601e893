"""Offline data for the course. Nothing here downloads anything.

- ``sample_image("photo")``: a real photograph that ships with matplotlib
  (Grace Hopper), cropped to 512x512.
- ``sample_image("checkerboard" | "step" | "circle")``: generated test patterns
  whose filtered outputs can be predicted by hand.
- ``digits()``: scikit-learn's bundled 8x8 handwritten digits, (N, 1, 8, 8) in
  [0, 1] with int64 labels and a fixed, seeded, stratified train/test split
  (plus a validation set with ``val_size=``).

Every image is a float64 array with values in [0, 1]:
(H, W) when ``gray=True``, (H, W, 3) otherwise.

One module per kind of data (``images``, ``digits``; ``text`` for the language
units); what they need ships inside the package or a dependency's wheel.
"""
from course.data.images import IMAGES, PATTERNS, checkerboard, circle, rgb_to_gray, sample_image, step_edge
from course.data.digits import Digits, digits

__all__ = ["IMAGES", "PATTERNS", "sample_image", "rgb_to_gray", "checkerboard", "step_edge", "circle",
           "Digits", "digits"]
