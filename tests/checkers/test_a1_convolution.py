"""Assignment 1's checker: each known mistake is named, delegation scores nothing,
and the course's reference passes every check."""
from __future__ import annotations

import numpy as np
import pytest

from course import conv, pool
from course.checkers import a1_convolution as a1
from course.checkers.core import CheckFailure
from course.checkers.wrong_answers import loop_max_pool2d_backward


def as_pair(v, name=""):
    """The tests' own (a student's function may not call anything in course)."""
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


# ============================================================ the checker (fast)
def _np_conv2d(x, w, b=None, stride=1, padding=0):
    """A plain NumPy conv2d for these tests (the checker refuses answers that call course.conv)."""
    (sh, sw), (ph, pw) = as_pair(stride, "stride"), as_pair(padding, "padding")
    xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    kh, kw = w.shape[-2:]
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = sum(np.einsum("nchw,fc->nfhw", xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw],
                        w[:, :, i, j]) for i in range(kh) for j in range(kw))
    return out if b is None else out + b[None, :, None, None]


def _np_pool(x, k, stride=None, padding=0, kind="max", count_pad=True):
    (kh, kw) = as_pair(k, "k")
    sh, sw = (kh, kw) if stride is None else as_pair(stride, "stride")
    ph, pw = as_pair(padding, "padding")
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)], constant_values=fill)
    ones = np.pad(np.ones_like(x), [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    views = [(xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw],
              ones[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]) for i in range(kh) for j in range(kw)]
    if kind == "max":
        return np.max([v for v, _ in views], axis=0)
    return sum(v for v, _ in views) / (kh * kw if count_pad else sum(c for _, c in views))


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailure) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_flipped_kernel_is_named():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2))

    def flipped(x, weight, bias=None, stride=1, padding=0):
        return _np_conv2d(x, weight[..., ::-1, ::-1], bias, stride=stride, padding=padding)

    msg = _message(a1.check_conv2d, flipped, x, w, stride=2, padding=1, oracle="torch")
    first = msg.splitlines()[0]
    assert "true convolution (flipped kernel)" in first and "cross-correlation" in first
    assert "case: x (2, 3, 6, 5), weight (4, 3, 3, 2)" in msg and "stride=2, padding=1" in msg
    assert "expected shape (2, 4, 3, 3), got (2, 4, 3, 3)" in msg


def test_conv2d_shape_and_stride_mistakes_are_named():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 7, 9)), rng.standard_normal((3, 2, 3, 3))

    def stride_width_only(x, weight, bias=None, stride=1, padding=0):
        s = as_pair(stride, "stride")
        return _np_conv2d(x, weight, bias, stride=(1, s[1]), padding=padding)

    def one_row_short(x, weight, bias=None, stride=1, padding=0):
        return _np_conv2d(x, weight, bias, stride=stride, padding=padding)[:, :, :-1]

    def forgets_bias(x, weight, bias=None, stride=1, padding=0):
        return _np_conv2d(x, weight, None, stride=stride, padding=padding)

    with_call = lambda f, **kw: _message(a1.check_conv2d, f, x, w, **kw).splitlines()[0]  # noqa: E731
    assert "stride applied only along width" in with_call(stride_width_only, stride=2, padding=1)
    assert "off by one row: check the output-size formula" in with_call(one_row_short, padding=2)
    assert "bias missing" in with_call(forgets_bias, bias=rng.standard_normal(3))


def test_output_size_mistakes_are_named():
    assert "forgot the + 1" in _message(a1.check_output_size, lambda n, k, padding=0, stride=1:
                                        (n + 2 * padding - k) // stride, 7, 3, 1, 2)
    assert "returned a float" in _message(a1.check_output_size, lambda n, k, padding=0, stride=1:
                                          (n + 2 * padding - k) / stride + 1, 7, 3, 1, 2)
    assert "not implemented yet" in _message(a1.check_output_size, _stub, 5, 3)


def _stub(*args, **kwargs):
    raise NotImplementedError()


def test_pooling_mistakes_are_named():
    x = np.random.default_rng(2).integers(0, 3, size=(2, 2, 6, 6)).astype(float)   # ties
    g = np.ones((2, 2, 5, 5))

    def all_maxima(grad_out, x, kernel_size, stride=None, padding=0):
        return loop_max_pool2d_backward(grad_out, x, kernel_size, stride, padding, ties="all")

    assert "tied maxima" in _message(a1.check_max_pool2d_backward, all_maxima, g, x, 2, stride=1,
                                     oracle="torch").splitlines()[0]
    assert "stride=None must mean stride = kernel_size" in _message(
        a1.check_max_pool2d, lambda x, k, stride=None, padding=0: _np_pool(x, k, 1), x, 2)
    assert "count_include_pad" in _message(
        a1.check_avg_pool2d, lambda x, k, stride=None, padding=0: _np_pool(x, k, stride, padding, "avg", False),
        x, 3, stride=2, padding=1)


def test_delegation_to_the_reference_or_torch_scores_nothing():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 1, 3, 3))
    from course.conv import conv2d as renamed   # any alias: the call itself is detected

    def delegates(x, weight, bias=None, stride=1, padding=0):
        return renamed(x, weight, bias, stride=stride, padding=padding)

    def uses_torch(x, kernel_size, stride=None, padding=0):
        import torch
        return torch.nn.functional.max_pool2d(torch.from_numpy(x), kernel_size, stride, padding).numpy()

    msg = _message(a1.check_conv2d, delegates, x, w)
    assert "calls course.conv.conv2d" in msg and "no points for delegating" in msg
    assert "(PyTorch)" in _message(a1.check_max_pool2d, uses_torch, x, 2)


def test_reference_answers_pass_every_check(monkeypatch):
    """The course's reference passes its own checks (hidden tests cannot be unfair to it)."""
    from course.checkers import core as checks

    monkeypatch.setattr(checks, "WATCHED", ())     # here calling the reference is the point
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 6))
    a1.check_output_size(conv.output_size, 9, 4, padding=3, stride=2)
    a1.check_pad2d(conv.pad2d, x, (2, 1))
    a1.check_conv2d(conv.conv2d, x, rng.standard_normal((2, 3, 2, 3)), rng.standard_normal(2),
                    stride=(3, 1), padding=(2, 0), oracle="torch")
    a1.check_max_pool2d(pool.max_pool2d, x, (3, 2), stride=(1, 2), padding=1, oracle="torch")
    a1.check_avg_pool2d(pool.avg_pool2d, x, 3, stride=2, padding=1, oracle="torch")
    ties = rng.integers(0, 2, size=(1, 2, 5, 5)).astype(float)
    a1.check_max_pool2d_backward(pool.max_pool2d_backward, rng.standard_normal((1, 2, 4, 4)), ties, 2,
                                 stride=1, oracle="torch")


