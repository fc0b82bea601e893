"""Max and average pooling, same semantics as ``torch.nn.functional``.

x is (N, C, H, W), (C, H, W) or (H, W); every (H, W) plane is pooled on its own::

    out[..., r, q] = max  / mean  of  xpad[..., r*sh + i, q*sw + j]   for 0 <= i < KH, 0 <= j < KW
    OH = (H + 2*padding_h - KH) // stride_h + 1                      (same for OW)

``stride=None`` means ``stride = kernel_size`` (non-overlapping windows).
PyTorch's defaults: max pooling pads with -inf (padding never wins), average
pooling pads with 0 and always divides by KH*KW (``count_include_pad=True``),
no ``ceil_mode``; ``padding`` may be at most half the kernel size.

Vectorized like ``course.conv``: for each window offset (i, j) the pixels it
sees form one strided view ``tap_ij`` of shape (..., OH, OW), so a 2x2 max
pool is just ``np.maximum`` of four views -- no window copies at all.

Ties: ``max_pool2d_backward`` sends each window's gradient to ONE element, the
first maximum in row-major order (as PyTorch). The common ``x == max`` mask is
wrong on ties: a window of four equal values would pass the gradient four times.
(NaN propagates as in PyTorch; in the odd window holding several NaNs we pick
the first NaN, PyTorch the last.)
"""
from __future__ import annotations

import numpy as np

from course._validate import (
    as_float_array,
    as_pair,
    check_ndim,
    check_nonnegative,
    check_positive,
)
from course.conv import _output_hw, _pad_hw, _tap

__all__ = ["max_pool2d", "avg_pool2d", "max_pool2d_backward", "avg_pool2d_backward"]


def _pool_args(x, kernel_size, stride, padding, who):
    """Validate and normalize; returns (x, kernel, stride, padding, (OH, OW))."""
    x = as_float_array(x, "x")
    check_ndim(x, (2, 3, 4), f"{who}: x", "(N, C, H, W), (C, H, W) or (H, W)")
    kernel = as_pair(kernel_size, "kernel_size")
    check_positive(kernel, "kernel_size")
    stride = kernel if stride is None else as_pair(stride, "stride")
    check_positive(stride, "stride")
    padding = as_pair(padding, "padding")
    check_nonnegative(padding, "padding")
    for axis, p, k in zip(("height", "width"), padding, kernel):
        if p > k // 2:
            raise ValueError(
                f"{who}: padding {p} is more than half the kernel {axis} {k} "
                f"(the rule, as in PyTorch: padding <= kernel_size // 2 = {k // 2}, "
                f"so every window overlaps the real input); use padding <= {k // 2} "
                f"or a larger kernel"
            )
    out_hw = _output_hw(x.shape[-2:], kernel, padding, stride, (1, 1))
    return x, kernel, stride, padding, out_hw


def _offsets(kernel):
    """Window offsets (i, j) in row-major order: (0, 0), (0, 1), ..., (KH-1, KW-1)."""
    return [(i, j) for i in range(kernel[0]) for j in range(kernel[1])]


def _check_grad_out(grad_out, x, out_hw, who):
    grad_out = as_float_array(grad_out, "grad_out")
    want = x.shape[:-2] + tuple(out_hw)
    if grad_out.shape != want:
        raise ValueError(
            f"{who}: grad_out must have the output's shape {want} for x {x.shape}, "
            f"got {grad_out.shape}"
        )
    return grad_out.astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------
# Max pooling
# ----------------------------------------------------------------------------


def max_pool2d(x, kernel_size, stride=None, padding=0, return_indices=False):
    """Max over each KH x KW window: (..., H, W) -> (..., OH, OW).

    With ``return_indices=True`` also returns, like PyTorch, the int64 position
    of each maximum as a flat index ``row * W + col`` into the *unpadded* H x W
    plane (the first maximum, row-major, when several are equal).
    """
    x, kernel, stride, padding, out_hw = _pool_args(x, kernel_size, stride, padding, "max_pool2d")
    xp = _pad_hw(x, (padding[0],) * 2, (padding[1],) * 2, value=-np.inf)
    out = _window_max(xp, kernel, stride, out_hw)
    if not return_indices:
        return out
    # window (r, q) starts at pixel (r*sh - ph, q*sw - pw); offset (i, j) adds i*W + j
    h, w = x.shape[-2:]
    start = ((np.arange(out_hw[0]) * stride[0] - padding[0])[:, None] * w
             + (np.arange(out_hw[1]) * stride[1] - padding[1])[None, :])
    indices = np.broadcast_to(start, out.shape).astype(np.int64)
    for i, j, first in _first_max(xp, out, (h, w), kernel, stride, padding, out_hw):
        indices += first * (i * w + j)  # exactly one offset per window is "first"
    return out, indices


def _window_max(xp, kernel, stride, out_hw):
    """Running np.maximum over the KH*KW strided views: no window is ever copied."""
    (i0, j0), *rest = _offsets(kernel)
    out = _tap(xp, i0, j0, out_hw, stride).copy()  # a copy: never hand out a view of x
    for i, j in rest:
        np.maximum(out, _tap(xp, i, j, out_hw, stride), out=out)
    return out


def _first_max(xp, out, x_hw, kernel, stride, padding, out_hw):
    """Yield (i, j, first) for each window offset in row-major order.

    first (..., OH, OW) is True where offset (i, j) holds its window's FIRST
    maximum: it equals the max, and no earlier offset did (``unclaimed``).
    This is PyTorch's tie rule; the tempting ``x == max`` mask alone would
    select every tied maximum. A NaN is a window's maximum (NaN propagates);
    padding pixels never count, even when every real pixel is -inf.
    """
    has_nan = np.isnan(out).any()
    real = _pad_hw(np.ones(x_hw, bool), (padding[0],) * 2, (padding[1],) * 2, value=False)
    unclaimed = np.ones(out.shape, bool)
    for i, j in _offsets(kernel):
        tap = _tap(xp, i, j, out_hw, stride)
        first = tap == out
        if has_nan:
            first |= np.isnan(tap)
        if padding != (0, 0):
            first &= _tap(real, i, j, out_hw, stride)  # (OH, OW), broadcasts
        first &= unclaimed
        unclaimed ^= first  # first is a subset of unclaimed: this removes it
        yield i, j, first


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0):
    """dLoss/dx of ``max_pool2d``: (..., OH, OW) -> (..., H, W).

    Each window passes its gradient to its first maximum only; a pixel that
    is the maximum of several overlapping windows (stride < kernel) receives
    the sum of their gradients.
    """
    x, kernel, stride, padding, out_hw = _pool_args(x, kernel_size, stride, padding,
                                                    "max_pool2d_backward")
    grad_out = _check_grad_out(grad_out, x, out_hw, "max_pool2d_backward")
    xp = _pad_hw(x, (padding[0],) * 2, (padding[1],) * 2, value=-np.inf)
    out = _window_max(xp, kernel, stride, out_hw)
    grad_xp = np.zeros_like(xp)
    overlap = stride[0] < kernel[0] or stride[1] < kernel[1]
    for i, j, first in _first_max(xp, out, x.shape[-2:], kernel, stride, padding, out_hw):
        grad_tap = _tap(grad_xp, i, j, out_hw, stride)
        if overlap:  # a pixel may be in several windows: add up their gradients
            grad_tap += grad_out * first
        else:  # disjoint windows: each pixel is written once, so write in place
            np.multiply(grad_out, first, out=grad_tap)
    return _unpad(grad_xp, padding, x.shape)


# ----------------------------------------------------------------------------
# Average pooling
# ----------------------------------------------------------------------------


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each KH x KW window, zero padding counted: (..., H, W) -> (..., OH, OW)."""
    x, kernel, stride, padding, out_hw = _pool_args(x, kernel_size, stride, padding, "avg_pool2d")
    xp = _pad_hw(x, (padding[0],) * 2, (padding[1],) * 2)
    out = np.zeros(x.shape[:-2] + out_hw, x.dtype)
    for i, j in _offsets(kernel):
        out += _tap(xp, i, j, out_hw, stride)
    return out / (kernel[0] * kernel[1])


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0):
    """dLoss/dx of ``avg_pool2d``: every pixel of a window gets grad / (KH*KW)."""
    x, kernel, stride, padding, out_hw = _pool_args(x, kernel_size, stride, padding,
                                                    "avg_pool2d_backward")
    grad_out = _check_grad_out(grad_out, x, out_hw, "avg_pool2d_backward")
    share = grad_out / (kernel[0] * kernel[1])
    grad_xp = np.zeros(x.shape[:-2] + (x.shape[-2] + 2 * padding[0], x.shape[-1] + 2 * padding[1]),
                       x.dtype)
    for i, j in _offsets(kernel):
        _tap(grad_xp, i, j, out_hw, stride)[...] += share
    return _unpad(grad_xp, padding, x.shape)


def _unpad(grad_xp, padding, shape):
    """Drop the padding border: the gradient w.r.t. padding is thrown away."""
    (ph, pw), (h, w) = padding, shape[-2:]
    return np.ascontiguousarray(grad_xp[..., ph: ph + h, pw: pw + w])
