"""Small shared argument checks used by the reference modules.

Each check raises ``ValueError`` with a message that names the argument, what
was given, the rule, and how to fix it, so that a student's first mistake
teaches something instead of failing deep inside NumPy.
"""
from __future__ import annotations

import numbers

import numpy as np


def as_pair(value, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(2, 1) -> (2, 1)``: PyTorch's "int or (h, w) pair".

    Raises ``ValueError`` for anything else (floats, strings, triples).
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list, np.ndarray)) and len(value) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
    ):
        return int(value[0]), int(value[1])
    raise ValueError(
        f"{name} must be an int or a pair of ints (height, width), got {value!r}; "
        f"e.g. {name}=2 or {name}=(2, 1)"
    )


def check_positive(pair: tuple[int, int], name: str) -> None:
    """Every entry of ``pair`` must be >= 1 (stride, dilation, kernel_size)."""
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive (>= 1), got {_show(pair)}")


def check_nonnegative(pair: tuple[int, int], name: str) -> None:
    """Every entry of ``pair`` must be >= 0 (padding)."""
    if min(pair) < 0:
        raise ValueError(f"{name} must be >= 0, got {_show(pair)}")


def check_ndim(x: np.ndarray, ndims, name: str, layout: str) -> None:
    """``x.ndim`` must be one of ``ndims``; ``layout`` says what the axes mean.

    >>> check_ndim(np.zeros((3, 3)), (4,), "x", "(N, C, H, W)")
    Traceback (most recent call last):
    ValueError: x must be 4-D (N, C, H, W), got shape (3, 3) (2-D)
    """
    ndims = (ndims,) if isinstance(ndims, int) else tuple(ndims)
    if x.ndim not in ndims:
        names = [f"{d}-D" for d in ndims]
        want = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        raise ValueError(
            f"{name} must be {want} {layout}, got shape {x.shape} ({x.ndim}-D)"
        )


def check_finite(x: np.ndarray, name: str) -> None:
    """``x`` must not contain NaN or +-inf (a kernel with NaN blanks the image)."""
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(
            f"{name} contains non-finite values (NaN or inf), e.g. {name}"
            f"[{', '.join(map(str, bad))}] = {x[tuple(bad)]}; every entry must be a finite number"
        )


def as_float_array(x, name: str) -> np.ndarray:
    """``np.asarray`` that keeps float dtypes and turns ints/bools into float64."""
    try:
        x = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} must be an array of numbers: {exc}") from None
    if x.dtype.kind == "f":
        return x
    if x.dtype.kind in "biu":
        return x.astype(np.float64)
    raise ValueError(f"{name} must be an array of real numbers, got dtype {x.dtype}")


def _show(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else str(pair)
