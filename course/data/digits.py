"""scikit-learn's bundled 8x8 handwritten digits, split for training (no download)."""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

__all__ = ["Digits", "digits"]


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
