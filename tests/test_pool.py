"""course.pool against PyTorch (the oracle): values, indices, gradients, ties."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course import pool

DTYPES = [np.float32, np.float64]
FAST = settings(max_examples=50, deadline=None)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def assert_close(ours, ref, dtype):
    tol = 1e-10 if dtype == np.float64 else 1e-6
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol)


@st.composite
def pool_cases(draw):
    """kernel 1-4, stride None (= kernel) or 1-3 (overlapping when < kernel),
    padding up to kernel // 2, data either continuous or small integers (ties)."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 9))
    w = draw(st.integers(max(1, kw - 2 * pw), 9))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    if draw(st.booleans()):
        x = rng.integers(0, 3, (n, c, h, w)).astype(dtype)  # many tied maxima
    else:
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
    kernel = kh if kh == kw else (kh, kw)
    padding = ph if ph == pw else (ph, pw)
    return dict(x=x, kernel_size=kernel, stride=stride, padding=padding, rng=rng)


def torch_kwargs(case):
    return dict(kernel_size=case["kernel_size"], stride=case["stride"], padding=case["padding"])


# ---------------------------------------------------------------- forward


@FAST
@given(pool_cases())
def test_max_pool2d_and_indices_match_torch(case):
    x = case["x"]
    ref, ref_idx = F.max_pool2d(t(x), return_indices=True, **torch_kwargs(case))
    out = pool.max_pool2d(x, **torch_kwargs(case))
    out2, idx = pool.max_pool2d(x, return_indices=True, **torch_kwargs(case))
    np.testing.assert_array_equal(out, ref.numpy())  # a max is exact: no rounding
    np.testing.assert_array_equal(out2, ref.numpy())
    assert idx.dtype == np.int64 and out.dtype == x.dtype
    np.testing.assert_array_equal(idx, ref_idx.numpy())  # same arg-max, ties included


@FAST
@given(pool_cases())
def test_avg_pool2d_matches_torch(case):
    x = case["x"]
    ref = F.avg_pool2d(t(x), **torch_kwargs(case)).numpy()
    out = pool.avg_pool2d(x, **torch_kwargs(case))
    assert out.dtype == x.dtype
    assert_close(out, ref, x.dtype)


# ---------------------------------------------------------------- backward


@FAST
@given(pool_cases())
def test_pool_backward_matches_autograd(case):
    x = case["x"]
    for ours_fwd, ours_bwd, torch_fwd in (
        (pool.max_pool2d, pool.max_pool2d_backward, F.max_pool2d),
        (pool.avg_pool2d, pool.avg_pool2d_backward, F.avg_pool2d),
    ):
        xt = t(x).requires_grad_()
        out = torch_fwd(xt, **torch_kwargs(case))
        grad_out = case["rng"].standard_normal(out.shape).astype(x.dtype)
        out.backward(t(grad_out))
        grad_x = ours_bwd(grad_out, x, **torch_kwargs(case))
        assert grad_x.dtype == x.dtype
        assert_close(grad_x, xt.grad.numpy(), x.dtype)


def test_max_pool_tie_sends_gradient_to_first_maximum_only():
    """All-equal window: the gradient goes to the top-left element, not to all four."""
    x = np.ones((1, 1, 2, 2))
    grad = pool.max_pool2d_backward(np.array([[[[5.0]]]]), x, 2)
    np.testing.assert_array_equal(grad, [[[[5.0, 0.0], [0.0, 0.0]]]])
    # a tie that is not at the first position: the first maximum in row-major order wins
    x = np.array([[[[0.0, 3.0], [3.0, 1.0]]]])
    np.testing.assert_array_equal(pool.max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2),
                                  [[[[0.0, 1.0], [0.0, 0.0]]]])
    _, idx = pool.max_pool2d(x, 2, return_indices=True)
    assert idx.item() == 1


@pytest.mark.parametrize("kernel_size,stride,padding", [(2, None, 0), (3, 1, 1), (3, 2, 1), (2, 1, 0)])
def test_max_pool_on_all_equal_input(kernel_size, stride, padding):
    """Every window is one big tie; overlapping windows all pick the same first pixel."""
    x = np.full((2, 3, 6, 7), 0.25)
    xt = t(x).requires_grad_()
    out = F.max_pool2d(xt, kernel_size, stride, padding)
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(t(g))
    grad = pool.max_pool2d_backward(g, x, kernel_size, stride, padding)
    assert_close(grad, xt.grad.numpy(), np.float64)
    assert grad.sum() == pytest.approx(g.sum())  # each window's gradient lands exactly once


def test_max_pool_backward_on_digits():
    """The digits data set (8x8 images, integers 0-16) is full of tied maxima."""
    from sklearn.datasets import load_digits

    digits = load_digits().images[:200, None].astype(np.float32)  # (200, 1, 8, 8)
    for kernel_size, stride, padding in [(2, None, 0), (3, 1, 1), (2, 1, 0), (3, 2, 0)]:
        xt = t(digits).requires_grad_()
        out = F.max_pool2d(xt, kernel_size, stride, padding)
        g = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
        out.backward(t(g))
        grad = pool.max_pool2d_backward(g, digits, kernel_size, stride, padding)
        assert_close(grad, xt.grad.numpy(), np.float32)
        _, idx = pool.max_pool2d(digits, kernel_size, stride, padding, return_indices=True)
        _, ref_idx = F.max_pool2d(t(digits), kernel_size, stride, padding, return_indices=True)
        np.testing.assert_array_equal(idx, ref_idx.numpy())


def test_equality_mask_would_be_wrong_on_digits():
    """Guard the test itself: digits really do have ties, so `x == max` double-counts."""
    from sklearn.datasets import load_digits

    x = load_digits().images[:50, None]
    out = pool.max_pool2d(x, 2)
    windows = x.reshape(50, 1, 4, 2, 4, 2)
    n_max = (windows == out[:, :, :, None, :, None]).sum(axis=(3, 5))
    assert (n_max > 1).mean() > 0.2


@pytest.mark.parametrize("where", [0, 1, 3])
def test_max_pool_nan_propagates_like_torch(where):
    """A NaN is its window's maximum: value, index and gradient go to it, as in torch."""
    x = np.array([1.0, 5.0, 3.0, 2.0])
    x[where] = np.nan
    x = x.reshape(1, 1, 2, 2)
    out, idx = pool.max_pool2d(x, 2, return_indices=True)
    xt = t(x).requires_grad_()
    ref, ref_idx = F.max_pool2d(xt, 2, return_indices=True)
    ref.backward(torch.ones_like(ref))
    assert np.isnan(out.item()) and np.isnan(ref.item())
    assert idx.item() == ref_idx.item() == where
    np.testing.assert_array_equal(pool.max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2), xt.grad.numpy())


def test_max_pool_minus_inf_input_never_picks_padding():
    """Windows whose real pixels are all -inf still point at a real pixel, as torch does."""
    x = np.full((1, 2, 4, 5), -np.inf)
    x[0, 1, 2, 3] = 1.0
    xt = t(x).requires_grad_()
    ref, ref_idx = F.max_pool2d(xt, 3, 2, 1, return_indices=True)
    g = np.arange(1.0, 1 + ref.numel()).reshape(ref.shape)
    ref.backward(t(g))
    out, idx = pool.max_pool2d(x, 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(out, ref.detach().numpy())
    np.testing.assert_array_equal(idx, ref_idx.numpy())
    np.testing.assert_array_equal(pool.max_pool2d_backward(g, x, 3, 2, 1), xt.grad.numpy())


# ---------------------------------------------------------------- shapes and dtypes


@pytest.mark.parametrize("fn", [pool.max_pool2d, pool.avg_pool2d])
def test_unbatched_inputs(fn):
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 6))
    full = fn(x, 2, 1, 1)
    np.testing.assert_array_equal(fn(x[0], 2, 1, 1), full[0])        # (C, H, W)
    np.testing.assert_array_equal(fn(x[0, 0], 2, 1, 1), full[0, 0])  # (H, W)


@pytest.mark.parametrize("fn", [pool.max_pool2d, pool.avg_pool2d])
def test_output_is_not_a_view_of_the_input(fn):
    x = np.random.default_rng(3).standard_normal((1, 1, 4, 4))
    out = fn(x, 1)  # 1x1 windows: the output has the input's values
    np.testing.assert_array_equal(out, x)
    out[...] = 0
    assert (x != 0).all()


def test_integer_input_becomes_float64():
    x = np.arange(16).reshape(4, 4)
    assert pool.max_pool2d(x, 2).dtype == np.float64
    np.testing.assert_array_equal(pool.max_pool2d(x, 2), [[5, 7], [13, 15]])
    np.testing.assert_array_equal(pool.avg_pool2d(x, 2), [[2.5, 4.5], [10.5, 12.5]])


def test_seed_formula_2x2():
    """The lecture's 2x2 example: max and mean of each non-overlapping block."""
    x = np.array([[1.0, 3, 2, 1], [4, 6, 5, 0], [7, 2, 9, 8], [1, 0, 3, 4]])
    np.testing.assert_array_equal(pool.max_pool2d(x, 2), [[6, 5], [7, 9]])
    np.testing.assert_array_equal(pool.avg_pool2d(x, 2), [[3.5, 2], [2.5, 6]])


# ---------------------------------------------------------------- errors that teach


def raises(match):
    return pytest.raises(ValueError, match=re.escape(match))


@pytest.mark.parametrize("fn", [pool.max_pool2d, pool.avg_pool2d])
def test_error_padding_more_than_half_the_kernel(fn):
    with raises("padding 2 is more than half the kernel height 3") as e:
        fn(np.zeros((1, 1, 6, 6)), 3, padding=2)
    assert "padding <= kernel_size // 2 = 1" in str(e.value)
    with raises("padding 1 is more than half the kernel width 1"):
        fn(np.zeros((1, 1, 6, 6)), (2, 1), padding=1)
    with pytest.raises(RuntimeError, match="pad should be at most half"):  # torch has the same rule
        F.max_pool2d(torch.zeros(1, 1, 6, 6), 3, padding=2)


@pytest.mark.parametrize("fn", [pool.max_pool2d, pool.avg_pool2d])
def test_error_window_larger_than_input(fn):
    with raises("output height (3 + 2*0 - 4)//4 + 1 = 0: kernel 4 is larger than padded input 3"):
        fn(np.zeros((1, 1, 3, 8)), 4)


@pytest.mark.parametrize("fn", [pool.max_pool2d, pool.avg_pool2d])
def test_error_bad_arguments(fn):
    with raises("stride must be positive (>= 1), got 0"):
        fn(np.zeros((1, 1, 4, 4)), 2, stride=0)
    with raises("kernel_size must be positive"):
        fn(np.zeros((1, 1, 4, 4)), 0)
    with raises("padding must be >= 0"):
        fn(np.zeros((1, 1, 4, 4)), 2, padding=-1)
    with raises("x must be 2-D, 3-D or 4-D (N, C, H, W), (C, H, W) or (H, W), got shape (4,) (1-D)"):
        fn(np.zeros(4), 2)
    with raises("got shape (1, 1, 1, 4, 4) (5-D)"):
        fn(np.zeros((1, 1, 1, 4, 4)), 2)


@pytest.mark.parametrize("bwd", [pool.max_pool2d_backward, pool.avg_pool2d_backward])
def test_error_grad_out_shape(bwd):
    with raises("grad_out must have the output's shape (1, 1, 2, 2) for x (1, 1, 4, 4), got (1, 1, 4, 4)"):
        bwd(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 4, 4)), 2)
