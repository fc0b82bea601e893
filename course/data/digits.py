"""scikit-learn's bundled 8x8 handwritten digits, split for training (no download)."""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

__all__ = ["Digits", "digits"]

N_CLASSES = 10


class Digits(NamedTuple):
    """The digits split: images (N, 1, 8, 8) float64 in [0, 1], labels (N,) int64 in 0..9.

    ``X_val, y_val`` are empty, (0, 1, 8, 8) and (0,), unless ``digits(val_size=...)`` asked for them.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray


@functools.lru_cache(maxsize=None)
def _digits_split(test_size: float, seed: int, n_val: int) -> Digits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()  # bundled with scikit-learn: no download
    X = (bunch.images / 16.0).astype(np.float64)[:, None, :, :]  # pixel values 0..16 -> [0, 1]
    y = bunch.target.astype(np.int64)
    # 1. the test split first, exactly as without a validation set: asking for one never moves a test digit
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    # 2. the validation digits come out of the training part, stratified as well
    if n_val > 0:
        X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, test_size=n_val, random_state=seed,
                                                          stratify=y_train)
    else:
        X_val, y_val = X[:0], y[:0]
    parts = Digits(X_train, y_train, X_test, y_test, X_val, y_val)
    for a in parts:
        a.setflags(write=False)
    return parts


def digits(test_size: float = 0.25, seed: int = 0, val_size: float = 0.0) -> Digits:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images), split for training.

    Returns ``Digits(X_train, y_train, X_test, y_test, X_val, y_val)``: images
    (N, 1, 8, 8) float64 scaled to [0, 1] (the (N, C, H, W) layout of
    ``course.conv``), labels (N,) int64. The split is stratified (every digit in
    the same proportion in every part) and fixed by ``seed``; the default keeps
    25 % for testing (1347 train / 450 test) and no validation set.

    ``val_size`` is the fraction of *all* 1797 digits moved from the training part
    into a validation set for tuning (``val_size=0.15``: 1077 train / 270 val /
    450 test). The test split does not depend on ``val_size``: the test digits
    stay the same, whatever you tune. The arrays are fresh, writable copies.
    """
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size is the fraction kept for testing, strictly between 0 and 1; got {test_size}")
    if not 0.0 <= val_size < 1.0 or test_size + val_size >= 1.0:
        raise ValueError(f"val_size is the fraction of all digits kept for validation, between 0 and 1 with "
                         f"test_size + val_size < 1 so that some remain for training; got val_size={val_size} "
                         f"with test_size={test_size}")
    n_total = 1797
    n_val = int(round(val_size * n_total))
    n_test = int(np.ceil(test_size * n_total))  # how scikit-learn rounds the test fraction
    if 0 < n_val < N_CLASSES or (val_size > 0 and n_total - n_test - n_val < N_CLASSES):
        raise ValueError(f"val_size={val_size} gives {n_val} validation digits and leaves "
                         f"{n_total - n_test - n_val} for training; a stratified split needs at least one of each "
                         f"of the {N_CLASSES} digits on both sides: use val_size=0 (no validation set) or "
                         f"at least {N_CLASSES / n_total:.3f}")
    return Digits(*(np.array(a) for a in _digits_split(float(test_size), int(seed), n_val)))
