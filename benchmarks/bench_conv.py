"""Unit 1 benchmark cases: course.conv / course.pool vs torch (CPU), float32.

Targets are NumPy-time / torch-time ratios (see issue 2): a single image
<= 1.2x, batched conv2d forward <= 3x and forward+backward <= 4x, max
pooling forward+backward <= 1x.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from _timing import compare
from course import conv, pool


def filter_image_case(rng):
    image = rng.random((512, 512), dtype=np.float32)
    k = conv.kernel("sharpen").astype(np.float32)
    it, kt = torch.from_numpy(image)[None, None], torch.from_numpy(k)[None, None]
    return compare(
        "filter_image 3x3 single image", "(512, 512) * (3, 3), padding same",
        lambda: conv.filter_image(image, k, padding="same"),
        lambda: F.conv2d(it, kt, padding=1),
        target=1.2,
    )


def conv_cases(rng, stride):
    n, c, h, w, f = 64, 16, 32, 32, 16
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    weight = rng.standard_normal((f, c, 3, 3), dtype=np.float32) * 0.1
    bias = rng.standard_normal(f, dtype=np.float32)
    kw = dict(stride=stride, padding=1)
    shape = f"x {x.shape} * w {weight.shape}, stride {stride}, padding 1"
    xt, wt, bt = torch.from_numpy(x), torch.from_numpy(weight), torch.from_numpy(bias)
    grad_out = rng.standard_normal(F.conv2d(xt, wt, bt, **kw).shape, dtype=np.float32)
    gt = torch.from_numpy(grad_out)

    def numpy_fwd_bwd():
        conv.conv2d(x, weight, bias, **kw)
        return conv.conv2d_backward(grad_out, x, weight, **kw)

    def torch_fwd_bwd():
        xg, wg, bg = (a.detach().requires_grad_() for a in (xt, wt, bt))
        F.conv2d(xg, wg, bg, **kw).backward(gt)
        return xg.grad, wg.grad, bg.grad

    return [
        compare(f"conv2d forward stride {stride}", shape,
                lambda: conv.conv2d(x, weight, bias, **kw),
                lambda: F.conv2d(xt, wt, bt, **kw), target=3.0),
        compare(f"conv2d forward+backward stride {stride}", shape,
                numpy_fwd_bwd, torch_fwd_bwd, target=4.0),
    ]


def max_pool_cases(rng):
    x = rng.standard_normal((64, 16, 32, 32), dtype=np.float32)
    grad_out = rng.standard_normal((64, 16, 16, 16), dtype=np.float32)
    xt, gt = torch.from_numpy(x), torch.from_numpy(grad_out)
    shape = f"x {x.shape}, kernel 2, stride 2"

    def numpy_fwd_bwd():
        pool.max_pool2d(x, 2)
        return pool.max_pool2d_backward(grad_out, x, 2)

    def torch_fwd_bwd():
        xg = xt.detach().requires_grad_()
        F.max_pool2d(xg, 2).backward(gt)
        return xg.grad

    return [
        compare("max_pool2d 2x2 forward", shape,
                lambda: pool.max_pool2d(x, 2), lambda: F.max_pool2d(xt, 2), target=None),
        compare("max_pool2d 2x2 forward+backward", shape,
                numpy_fwd_bwd, torch_fwd_bwd, target=1.0),
    ]


def cases() -> list[dict]:
    rng = np.random.default_rng(0)
    return [filter_image_case(rng), *conv_cases(rng, 1), *conv_cases(rng, 2),
            *max_pool_cases(rng)]
