"""course.attention: the stable softmax and scaled dot-product attention, forward and backward,
against hand-checkable cases, finite differences and torch.nn.functional.scaled_dot_product_attention."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from course import attention as A
from course.nn import gradcheck
from course.testing import to_numpy, to_torch


def rand(rng, *shape):
    return rng.standard_normal(shape)


# ============================================================== softmax
def test_softmax_small_case_by_hand():
    y = A.softmax(np.array([0.0, np.log(3.0)]))
    np.testing.assert_allclose(y, [0.25, 0.75])


def test_softmax_large_logits_do_not_overflow():
    x = np.array([[1e4, 1e4 - np.log(3.0), -1e4]])
    y = A.softmax(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, [[0.75, 0.25, 0.0]], atol=1e-12)
    ly = A.log_softmax(x)
    np.testing.assert_allclose(ly[0, :2], np.log([0.75, 0.25]), rtol=1e-12)
    np.testing.assert_allclose(ly, to_numpy(torch.log_softmax(to_torch(x), -1)))


def test_softmax_float32_large_logits():
    x = np.array([[88.0, 89.0, 1e4]], dtype=np.float32)   # exp(89) overflows float32 without the shift
    y = A.softmax(x)
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    np.testing.assert_allclose(y, [[0, 0, 1]], atol=1e-7)


def test_softmax_matches_torch_on_any_axis():
    rng = np.random.default_rng(0)
    x = rand(rng, 3, 4, 5)
    for dim in (0, 1, -1):
        np.testing.assert_allclose(A.softmax(x, dim=dim), to_numpy(torch.softmax(to_torch(x), dim)), atol=1e-15)
        np.testing.assert_allclose(A.log_softmax(x, dim=dim), to_numpy(torch.log_softmax(to_torch(x), dim)),
                                   atol=1e-14)


def test_softmax_mask_gives_zero_weight_and_rows_sum_to_one():
    rng = np.random.default_rng(1)
    x = rand(rng, 4, 6)
    mask = rng.random((4, 6)) > 0.4
    mask[:, 0] = True
    y = A.softmax(x, mask=mask)
    assert np.all(y[~mask] == 0)
    np.testing.assert_allclose(y.sum(-1), 1.0)
    np.testing.assert_allclose(y, to_numpy(torch.softmax(to_torch(np.where(mask, x, -np.inf)), -1)))


def test_fully_masked_row_is_zeros_not_nan_and_has_zero_gradient():
    x = np.array([[1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf]])
    y = A.softmax(x)
    np.testing.assert_array_equal(y[1], 0.0)
    np.testing.assert_allclose(y[0].sum(), 1.0)
    y2 = A.softmax(np.ones((2, 3)), mask=np.array([[True, True, False], [False, False, False]]))
    np.testing.assert_array_equal(y2[1], 0.0)
    np.testing.assert_allclose(y2[0], [0.5, 0.5, 0.0])
    assert np.all(A.log_softmax(x)[1] == -np.inf)
    g = A.softmax_backward(np.ones((2, 3)) * 5.0, y)
    np.testing.assert_array_equal(g[1], 0.0)


def test_softmax_backward_by_finite_differences():
    rng = np.random.default_rng(2)
    x = rand(rng, 3, 5)

    def fn(x):
        y = A.softmax(x)
        return y, lambda g: A.softmax_backward(g, y)

    assert gradcheck(fn, x).passed()


def test_softmax_rejects_float_mask():
    with pytest.raises(ValueError, match="boolean"):
        A.softmax(np.ones(3), mask=np.ones(3))


# ============================================================== SDPA vs torch
def _torch_sdpa(q, k, v, g, **kw):
    qt, kt, vt = (to_torch(a, requires_grad=True) for a in (q, k, v))
    m = kw.get("attn_mask")
    if m is not None:
        kw["attn_mask"] = torch.from_numpy(m) if m.dtype == bool else to_torch(m)
    out = F.scaled_dot_product_attention(qt, kt, vt, **kw)
    out.backward(torch.from_numpy(g))
    return to_numpy(out), [to_numpy(t.grad) for t in (qt, kt, vt)]


def _check_against_torch(q, k, v, rng, **kw):
    out = A.scaled_dot_product_attention(q, k, v, **kw)
    g = rng.standard_normal(out.shape)
    grads = A.scaled_dot_product_attention_backward(g, q, k, v, **kw)
    t_out, t_grads = _torch_sdpa(q, k, v, g, **kw)
    np.testing.assert_allclose(out, t_out, rtol=1e-6, atol=1e-9, err_msg="output")
    for name, a, b, x in zip("qkv", grads, t_grads, (q, k, v)):
        assert a.shape == x.shape
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, err_msg=f"grad {name}")


@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal", "scale", "causal_rect"])
def test_sdpa_matches_torch(kind):
    rng = np.random.default_rng(3)
    L, S, E, Ev = 5, 7, 3, 4
    if kind == "causal_rect":
        L, S = 7, 5
    q, k, v = rand(rng, 2, 3, L, E), rand(rng, 2, 3, S, E), rand(rng, 2, 3, S, Ev)
    kw = {}
    if kind == "bool":
        m = rng.random((L, S)) > 0.3
        m[:, 0] = True
        kw["attn_mask"] = m
    elif kind == "float":
        kw["attn_mask"] = rand(rng, 2, 1, L, S)
    elif kind in ("causal", "causal_rect"):
        kw["is_causal"] = True
    elif kind == "scale":
        kw["scale"] = 0.37
    _check_against_torch(q, k, v, rng, **kw)


def test_sdpa_fully_masked_query_is_zero_like_torch():
    rng = np.random.default_rng(4)
    q, k, v = rand(rng, 1, 3, 4), rand(rng, 1, 5, 4), rand(rng, 1, 5, 2)
    m = np.ones((3, 5), bool)
    m[1] = False
    out = A.scaled_dot_product_attention(q, k, v, attn_mask=m)
    np.testing.assert_array_equal(out[0, 1], 0.0)
    _check_against_torch(q, k, v, rng, attn_mask=m)


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(st.integers(1, 3), min_size=0, max_size=2), L=st.integers(1, 6), S=st.integers(1, 6),
       E=st.integers(1, 5), Ev=st.integers(1, 5), mask=st.sampled_from(["none", "bool", "float", "causal"]),
       broadcast_q=st.booleans(), seed=st.integers(0, 10_000))
def test_sdpa_matches_torch_for_any_batch_dims(batch, L, S, E, Ev, mask, broadcast_q, seed):
    rng = np.random.default_rng(seed)
    qb = [1] * len(batch) if (broadcast_q and batch) else batch
    q, k, v = rand(rng, *qb, L, E), rand(rng, *batch, S, E), rand(rng, *batch, S, Ev)
    kw = {}
    if mask == "bool":
        m = rng.random((L, S)) > 0.5
        m[:, 0] = True
        kw["attn_mask"] = m
    elif mask == "float":
        kw["attn_mask"] = rand(rng, L, S)
    elif mask == "causal":
        kw["is_causal"] = True
    _check_against_torch(q, k, v, rng, **kw)


def test_sdpa_gradcheck_odd_sizes():
    rng = np.random.default_rng(5)
    q, k, v = rand(rng, 2, 3, 5), rand(rng, 2, 7, 5), rand(rng, 2, 7, 3)
    m = rand(rng, 3, 7)

    def fn(q, k, v):
        out = A.scaled_dot_product_attention(q, k, v, attn_mask=m)
        return out, lambda g: A.scaled_dot_product_attention_backward(g, q, k, v, attn_mask=m)

    assert gradcheck(fn, (q, k, v)).passed()

    def causal(q, k, v):
        out = A.scaled_dot_product_attention(q, k, v, is_causal=True)
        return out, lambda g: A.scaled_dot_product_attention_backward(g, q, k, v, is_causal=True)

    assert gradcheck(causal, (q, k, v)).passed()


def test_float32_stays_float32():
    rng = np.random.default_rng(6)
    q, k, v = (rand(rng, 2, 4, 3).astype(np.float32) for _ in range(3))
    out = A.scaled_dot_product_attention(q, k, v, is_causal=True)
    grads = A.scaled_dot_product_attention_backward(np.ones_like(out), q, k, v, is_causal=True)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)


# ============================================================== properties
def test_weights_ratio_shows_the_inverse_sqrt_dk_factor():
    """Two keys whose dot products with the query differ by D: their weights' ratio is exp(D / sqrt(d_k)).

    Without the factor the ratio would be exp(D) = exp(4) = 54.6; with it exp(1) = 2.718.
    (Dividing by d_k instead of sqrt(d_k) gives exp(0.25).)"""
    d_k = 16
    q = np.zeros((1, d_k))
    q[0, 0] = 1.0
    k = np.zeros((2, d_k))
    k[0, 0], k[1, 0] = 4.0, 0.0                  # dot products 4 and 0: difference D = 4
    v = np.eye(2)
    _, w = A.attention(q, k, v)
    assert w[0, 0] / w[0, 1] == pytest.approx(math.exp(4.0 / math.sqrt(d_k)), rel=1e-12)
    out = A.scaled_dot_product_attention(q, k, v)  # v = identity: the output IS the weight row
    assert out[0, 0] / out[0, 1] == pytest.approx(math.e, rel=1e-12)


def test_causal_future_token_does_not_change_earlier_outputs():
    rng = np.random.default_rng(7)
    T, E = 6, 4
    q, k, v = rand(rng, 2, T, E), rand(rng, 2, T, E), rand(rng, 2, T, E)
    out = A.scaled_dot_product_attention(q, k, v, is_causal=True)
    for t in range(T):
        q2, k2, v2 = q.copy(), k.copy(), v.copy()
        q2[:, t:] += 10 * rand(rng, 2, T - t, E)
        k2[:, t:] += 10 * rand(rng, 2, T - t, E)
        v2[:, t:] += 10 * rand(rng, 2, T - t, E)
        out2 = A.scaled_dot_product_attention(q2, k2, v2, is_causal=True)
        np.testing.assert_allclose(out2[:, :t], out[:, :t], rtol=1e-13, atol=1e-13)
        if t < T:
            assert not np.allclose(out2[:, t], out[:, t])


def test_masked_positions_get_zero_weight_and_zero_gradient_rows_sum_to_one():
    rng = np.random.default_rng(8)
    L, S, E = 4, 6, 3
    q, k, v = rand(rng, L, E), rand(rng, S, E), rand(rng, S, 2)
    m = np.ones((L, S), bool)
    m[:, 4:] = False                              # keys 4 and 5: no query may look at them
    _, w = A.attention(q, k, v, attn_mask=m)
    assert np.all(w[:, 4:] == 0)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    gq, gk, gv = A.scaled_dot_product_attention_backward(rand(rng, L, 2), q, k, v, attn_mask=m)
    assert np.all(gk[4:] == 0) and np.all(gv[4:] == 0)
    assert np.any(gk[:4] != 0) and np.any(gv[:4] != 0)


def test_causal_weights_are_lower_triangular():
    rng = np.random.default_rng(9)
    q = rand(rng, 5, 3)
    _, w = A.attention(q, q, q, is_causal=True)
    assert np.all(np.triu(w, 1) == 0)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    np.testing.assert_allclose(w[0], [1, 0, 0, 0, 0])    # the first token can only look at itself


def test_permuting_keys_and_values_together_changes_nothing():
    rng = np.random.default_rng(10)
    q, k, v = rand(rng, 3, 4), rand(rng, 5, 4), rand(rng, 5, 2)
    p = rng.permutation(5)
    np.testing.assert_allclose(A.scaled_dot_product_attention(q, k[p], v[p]),
                               A.scaled_dot_product_attention(q, k, v))


# ============================================================== errors that teach
def test_shape_errors_name_the_shapes():
    rng = np.random.default_rng(11)
    with pytest.raises(ValueError, match=r"share E"):
        A.scaled_dot_product_attention(rand(rng, 3, 4), rand(rng, 5, 3), rand(rng, 5, 2))
    with pytest.raises(ValueError, match=r"same S"):
        A.scaled_dot_product_attention(rand(rng, 3, 4), rand(rng, 5, 4), rand(rng, 6, 2))
    with pytest.raises(ValueError, match="not both"):
        A.scaled_dot_product_attention(rand(rng, 3, 4), rand(rng, 3, 4), rand(rng, 3, 2),
                                       attn_mask=np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(ValueError, match=r"\(\.\.\., L, S\)"):
        A.scaled_dot_product_attention(rand(rng, 3, 4), rand(rng, 5, 4), rand(rng, 5, 2),
                                       attn_mask=np.ones((5, 3), bool))


def test_sdpa_large_scores_are_stable():
    """Scores near 1e4: exp overflows unless the row maximum is subtracted first."""
    rng = np.random.default_rng(12)
    q, k, v = 60 * rand(rng, 3, 4), 60 * rand(rng, 5, 4), rand(rng, 5, 2)
    out = A.scaled_dot_product_attention(q, k, v)
    assert np.all(np.isfinite(out))
    _check_against_torch(q, k, v, rng)
    out32 = A.scaled_dot_product_attention(*(a.astype(np.float32) for a in (q, k, v)))
    np.testing.assert_allclose(out32, out, atol=1e-4)
