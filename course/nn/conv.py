"""Convolution and pooling layers on ``course.conv`` and ``course.pool``: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``."""
from __future__ import annotations

import math

import numpy as np

from course import conv, pool
from course._validate import as_pair, check_ndim, check_nonnegative, check_positive
from course.nn.module import Module, Parameter, _rng

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d"]


class Conv2d(Module):
    """2-D convolution (cross-correlation) layer: ``course.conv.conv2d`` as a module.

    x: (N, C_in, H, W) -> (N, C_out, OH, OW); weight (C_out, C_in, KH, KW),
    bias (C_out,), initialised uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] with
    fan_in = C_in*KH*KW (torch's default). ``kernel_size``, ``stride``,
    ``padding`` take an int or an (h, w) pair; zero padding.

    Two ways to the same numbers, picked by size:

    - small inputs (the unrolled input has at most ``im2col_max_elements``
      entries, e.g. a batch of digits): "im2col", as in CS231n's fast layers.
      Every receptive field becomes a column of ``cols`` (C*KH*KW, N*OH*OW), so
      the whole batch is ONE matrix product ``W.reshape(F, -1) @ cols``; on
      small images the cost of many small NumPy calls would dominate otherwise.
      Caches ``cols``: backward gets grad_W = grad @ cols^T, and grad_x by adding
      each column of grad_cols back onto the pixels it was copied from.
    - large inputs: ``conv.conv2d`` / ``conv.conv2d_backward`` (one product per
      kernel offset, no KH*KW-times copy of the input). Caches x.
    """

    #: Largest unrolled input (C*KH*KW * N*OH*OW entries) for the im2col path.
    im2col_max_elements: int = 2**21

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, rng=None, dtype=np.float64):
        rng = _rng(rng)
        kh, kw = as_pair(kernel_size, "kernel_size")
        if min(in_channels, out_channels, kh, kw) < 1:
            raise ValueError(f"Conv2d needs channels and kernel_size >= 1, got in_channels={in_channels}, "
                             f"out_channels={out_channels}, kernel_size={(kh, kw)}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = (kh, kw), as_pair(stride, "stride"), as_pair(padding, "padding")
        check_positive(self.stride, "stride")
        check_nonnegative(self.padding, "padding")
        bound = 1.0 / math.sqrt(in_channels * kh * kw)
        self.weight = Parameter(rng.uniform(-bound, bound, (out_channels, in_channels, kh, kw)), dtype)
        self.bias = Parameter(rng.uniform(-bound, bound, (out_channels,)), dtype) if bias else None

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}, padding={self.padding}")
        return s + ("" if self.bias is not None else ", bias=False")

    def _output_hw(self, x) -> tuple[int, int]:
        check_ndim(x, 4, "Conv2d: x", "(N, C, H, W); for one image use x[None]")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r} expects {self.in_channels} input channels, got x of shape {x.shape}: "
                "axis 1 of (N, C, H, W) must equal in_channels"
            )
        hw = tuple(conv.output_size(n, k, p, s) for n, k, p, s in
                   zip(x.shape[2:], self.kernel_size, self.padding, self.stride))
        if min(hw) < 1:
            raise ValueError(
                f"Conv2d: input {x.shape[2:]} with padding {self.padding} is smaller than the kernel "
                f"{self.kernel_size} (output would be {hw}); use a larger input or more padding"
            )
        return hw

    def forward(self, x):
        x = np.asarray(x)
        oh, ow = self._output_hw(x)
        n, f = x.shape[0], self.out_channels
        b = None if self.bias is None else self.bias.data
        if self.weight.data[0].size * n * oh * ow > self.im2col_max_elements:
            self.save_for_backward("x", x)
            return conv.conv2d(x, self.weight.data, b, stride=self.stride, padding=self.padding)
        cols = conv.im2col(x, self.kernel_size, self.stride, self.padding)  # (C*KH*KW, N*OH*OW)
        out = self.weight.data.reshape(f, -1) @ cols                               # (F, N*OH*OW)
        if b is not None:
            out += b[:, None]
        self.save_for_backward("cols", (cols, x.shape))
        return np.ascontiguousarray(out.reshape(f, n, oh, ow).transpose(1, 0, 2, 3))

    def backward(self, grad_output):
        kind, saved = self.pop_saved()
        if kind == "x":
            grad_x, grad_w, grad_b = conv.conv2d_backward(grad_output, saved, self.weight.data,
                                                          stride=self.stride, padding=self.padding)
        else:
            cols, x_shape = saved
            f = self.out_channels
            g = grad_output.transpose(1, 0, 2, 3).reshape(f, -1)   # (F, N*OH*OW)
            grad_w = (g @ cols.T).reshape(self.weight.data.shape)   # summed over batch and positions
            grad_b = g.sum(axis=1)
            grad_cols = self.weight.data.reshape(f, -1).T @ g       # (C*KH*KW, N*OH*OW)
            grad_x = conv.col2im(grad_cols, x_shape, self.kernel_size, self.stride, self.padding)
        self.weight.grad += grad_w
        if self.bias is not None:
            self.bias.grad += grad_b
        return grad_x


# ============================================================== pooling
class _Pool2d(Module):
    """Pooling on ``course.pool``: (N, C, H, W) -> (N, C, OH, OW); caches the input x.

    ``stride`` defaults to ``kernel_size`` (non-overlapping windows), as in torch.
    Subclasses name the forward and backward functions of ``course.pool``.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else as_pair(stride, "stride")
        self.padding = as_pair(padding, "padding")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        x = np.asarray(x)
        check_ndim(x, 4, f"{type(self).__name__}: x", "(N, C, H, W)")
        self.save_for_backward(x)
        return type(self)._pool(x, self.kernel_size, self.stride, self.padding)

    def backward(self, grad_output):
        x = self.pop_saved()
        return type(self)._pool_backward(grad_output, x, self.kernel_size, self.stride, self.padding)


class MaxPool2d(_Pool2d):
    """Max pooling: ``pool.max_pool2d``. Backward is ``pool.max_pool2d_backward``: each
    window's gradient goes to its first maximum (row-major), PyTorch's rule."""

    _pool, _pool_backward = pool.max_pool2d, pool.max_pool2d_backward


class AvgPool2d(_Pool2d):
    """Average pooling: ``pool.avg_pool2d``. Backward is ``pool.avg_pool2d_backward``:
    each input in a window receives grad / window size."""

    _pool, _pool_backward = pool.avg_pool2d, pool.avg_pool2d_backward

