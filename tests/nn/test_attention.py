"""course.nn.MultiheadAttention against torch.nn.MultiheadAttention with copied weights
(output, weights, input gradients and every parameter gradient), gradcheck, and properties."""
import numpy as np
import pytest
import torch

from course import nn
from course.testing import compare_module, copy_params, to_numpy, to_torch

E, H = 6, 3          # head_dim 2; L != S != E so a transposed axis cannot hide


class Ours(nn.Module):
    """Our MHA with keyword arguments fixed, returning the output only (for compare_module / gradcheck)."""

    def __init__(self, mha, **kw):
        self.mha, self.kw = mha, kw

    def forward(self, q, k, v):
        return self.mha.forward(q, k, v, **self.kw)[0]

    def backward(self, g):
        return self.mha.backward(g)


class Theirs(torch.nn.Module):
    def __init__(self, mha, **kw):
        super().__init__()
        self.mha, self.kw = mha, kw

    def forward(self, q, k, v):
        return self.mha(q, k, v, **self.kw)[0]


def _torch_kw(kw):
    out = {}
    for name, m in kw.items():
        if isinstance(m, np.ndarray):
            out[name] = torch.from_numpy(m) if m.dtype == bool else to_torch(m)
        else:
            out[name] = m
    return out


def _inputs(rng, batch_first, N=2, L=4, S=5):
    shape = (lambda T: (N, T, E)) if batch_first else (lambda T: (T, N, E))
    return rng.standard_normal(shape(L)), rng.standard_normal(shape(S)), rng.standard_normal(shape(S))


def _randomize_biases(m, rng):
    for _, p in m.named_parameters():
        p.data[...] = rng.standard_normal(p.shape) * 0.5
    return m


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("case", ["plain", "kpm_bool", "kpm_float", "attn_bool", "attn_float", "attn_3d",
                                  "both", "no_bias"])
def test_mha_matches_torch(batch_first, case):
    rng = np.random.default_rng(0)
    N, L, S = 2, 4, 5
    q, k, v = _inputs(rng, batch_first, N, L, S)
    kw = {}
    if case in ("kpm_bool", "both"):
        kw["key_padding_mask"] = np.array([[False, False, False, True, True], [False, True, False, False, False]])
    if case == "kpm_float":
        kw["key_padding_mask"] = rng.standard_normal((N, S))
    if case in ("attn_bool", "both"):
        m = rng.random((L, S)) > 0.6
        m[:, 0] = False                                   # torch MHA: True = masked; keep key 0 for everyone
        kw["attn_mask"] = m
    if case == "attn_float":
        kw["attn_mask"] = rng.standard_normal((L, S))
    if case == "attn_3d":
        kw["attn_mask"] = rng.standard_normal((N * H, L, S))
    bias = case != "no_bias"
    ours = _randomize_biases(nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first, rng=1), rng)
    theirs = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first)
    compare_module(Ours(ours, **kw), Theirs(theirs, **_torch_kw(kw)), q, k, v)


@pytest.mark.parametrize("average", [True, False])
def test_mha_weights_match_torch(average):
    rng = np.random.default_rng(1)
    q, k, v = _inputs(rng, True)
    ours = _randomize_biases(nn.MultiheadAttention(E, H, batch_first=True, rng=2), rng)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=True).double()
    copy_params(theirs, ours)
    kpm = np.array([[False, False, True, False, False], [False, False, False, False, True]])
    _, w = ours.forward(q, k, v, key_padding_mask=kpm, average_attn_weights=average)
    _, wt = theirs(*(to_torch(a) for a in (q, k, v)), key_padding_mask=torch.from_numpy(kpm),
                   average_attn_weights=average)
    assert w.shape == tuple(wt.shape) == ((2, 4, 5) if average else (2, H, 4, 5))
    np.testing.assert_allclose(w, to_numpy(wt), rtol=1e-6, atol=1e-12)
    assert ours.forward(q, k, v, need_weights=False)[1] is None


def test_mha_is_causal_equals_torch_with_the_causal_mask():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, E))
    ours = _randomize_biases(nn.MultiheadAttention(E, H, batch_first=True, rng=3), rng)
    causal = torch.ones(5, 5, dtype=torch.bool).triu(1)          # True above the diagonal = masked
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=True)
    compare_module(Ours(ours, is_causal=True), Theirs(theirs, attn_mask=causal, is_causal=True), x, x, x)


def test_mha_unbatched_input():
    rng = np.random.default_rng(3)
    q, k = rng.standard_normal((4, E)), rng.standard_normal((5, E))
    ours = _randomize_biases(nn.MultiheadAttention(E, H, rng=4), rng)
    compare_module(Ours(ours), Theirs(torch.nn.MultiheadAttention(E, H)), q, k, k.copy())


def test_self_attention_gradient_is_the_sum_of_the_three():
    """The same array as query, key and value: torch's x.grad equals the sum of our three gradients."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 5, E))
    ours = _randomize_biases(nn.MultiheadAttention(E, H, batch_first=True, rng=5), rng)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=True).double()
    copy_params(theirs, ours)
    xt = to_torch(x, requires_grad=True)
    out_t, _ = theirs(xt, xt, xt)
    g = rng.standard_normal(out_t.shape)
    out_t.backward(torch.from_numpy(g))
    out, _ = ours.forward(x, x, x)                                   # same object: packed projection
    np.testing.assert_allclose(out, to_numpy(out_t), rtol=1e-6, atol=1e-12)
    grads = ours.backward(g)
    assert len(grads) == 3
    np.testing.assert_allclose(sum(grads), to_numpy(xt.grad), rtol=1e-6, atol=1e-12)
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, to_numpy(tp[name].grad), rtol=1e-6, atol=1e-12, err_msg=name)


def test_parameter_names_and_shapes_are_torchs():
    ours = nn.MultiheadAttention(E, H)
    theirs = torch.nn.MultiheadAttention(E, H)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    np.testing.assert_array_equal(ours.in_proj_bias.data, 0)
    np.testing.assert_array_equal(ours.out_proj.bias.data, 0)


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"key_padding_mask": np.array([[0, 0, 1], [0, 0, 0]], bool)}])
def test_mha_gradcheck_odd_sizes(kw):
    rng = np.random.default_rng(5)
    m = _randomize_biases(nn.MultiheadAttention(E, H, batch_first=True, rng=6), rng)
    x = rng.standard_normal((2, 3, E))
    cases = [(x, x.copy(), x.copy())] + ([] if kw.get("is_causal") else [(rng.standard_normal((2, 5, E)), x, x.copy())])
    for inputs in cases:
        report = nn.gradcheck(Ours(m, **kw), inputs)
        # the key bias adds q . b_k to every score of a row: softmax ignores it, its gradient is exactly 0,
        # and a relative error of 0 against finite-difference noise means nothing; it is checked below
        assert all(err < 1e-5 for name, err in report.items() if name != "mha.in_proj_bias"), report
        m.zero_grad()
        m.forward(*inputs, **kw)
        m.backward(rng.standard_normal(inputs[0].shape))
        np.testing.assert_allclose(m.in_proj_bias.grad[E:2 * E], 0, atol=1e-12)
        b = m.in_proj_bias
        num = np.zeros(3 * E)
        g = rng.standard_normal(inputs[0].shape)
        for i in list(range(E)) + list(range(2 * E, 3 * E)):     # query and value biases: finite differences
            old = b.data[i]
            b.data[i] = old + 1e-6
            up = np.sum(m.forward(*inputs, **kw)[0] * g)
            b.data[i] = old - 1e-6
            down = np.sum(m.forward(*inputs, **kw)[0] * g)
            b.data[i] = old
            num[i] = (up - down) / 2e-6
        m.clear_cache()
        m.zero_grad()
        m.forward(*inputs, **kw)
        m.backward(g)
        np.testing.assert_allclose(b.grad, num, rtol=1e-5, atol=1e-8)


def test_heads_are_independent_feature_blocks():
    """Zeroing the value projection of head 0 zeroes features 0..head_dim-1 of the merged heads only."""
    rng = np.random.default_rng(6)
    m = nn.MultiheadAttention(E, H, batch_first=True, rng=7)
    m.out_proj.weight.data[...] = np.eye(E)                         # see the merged heads directly
    m.in_proj_weight.data[2 * E:2 * E + 2] = 0                      # W_v rows of head 0
    out, _ = m.forward(*(rng.standard_normal((2, 4, E)) for _ in range(3)))
    assert np.all(out[..., :2] == 0) and np.all(out[..., 2:] != 0)


def test_causal_mha_future_does_not_leak():
    rng = np.random.default_rng(7)
    m = _randomize_biases(nn.MultiheadAttention(E, H, batch_first=True, rng=8), rng)
    x = rng.standard_normal((2, 6, E))
    y, _ = m.forward(x, x, x, is_causal=True)
    x2 = x.copy()
    x2[:, 4:] += 10
    y2, _ = m.forward(x2, x2, x2, is_causal=True)
    np.testing.assert_allclose(y2[:, :4], y[:, :4], rtol=1e-13, atol=1e-13)
    assert not np.allclose(y2[:, 4:], y[:, 4:])


def test_padding_keys_get_zero_weight_and_zero_gradient():
    rng = np.random.default_rng(8)
    m = _randomize_biases(nn.MultiheadAttention(E, H, batch_first=True, rng=9), rng)
    q, k, v = _inputs(rng, True)
    kpm = np.zeros((2, 5), bool)
    kpm[:, 3:] = True
    _, w = m.forward(q, k, v, key_padding_mask=kpm, average_attn_weights=False)
    assert np.all(w[..., 3:] == 0)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    _, gk, gv = m.backward(rng.standard_normal(q.shape))
    assert np.all(gk[:, 3:] == 0) and np.all(gv[:, 3:] == 0)


def test_fully_masked_query_gives_bias_not_nan():
    rng = np.random.default_rng(9)
    m = _randomize_biases(nn.MultiheadAttention(E, H, batch_first=True, rng=10), rng)
    q, k, v = _inputs(rng, True)
    out, w = m.forward(q, k, v, key_padding_mask=np.ones((2, 5), bool))
    assert np.all(np.isfinite(out)) and np.all(w == 0)
    np.testing.assert_allclose(out, np.broadcast_to(m.out_proj.bias.data, out.shape))


def test_errors_name_the_rule():
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)
    m = nn.MultiheadAttention(E, H, batch_first=True)
    with pytest.raises(ValueError, match=r"\(N, L, E\)"):
        m.forward(np.zeros((2, 3, 5)), np.zeros((2, 3, 5)), np.zeros((2, 3, 5)))
    x = np.zeros((2, 3, E))
    with pytest.raises(ValueError, match="key_padding_mask"):
        m.forward(x, x, x, key_padding_mask=np.zeros((3, 2), bool))
    with pytest.raises(ValueError, match="attn_mask"):
        m.forward(x, x, x, attn_mask=np.zeros((2, 2), bool))
