"""course.nn.RNNCell / LSTMCell / RNN / LSTM and clip_grad_norm_ against torch, gradcheck, properties.

Odd sizes everywhere (I=3, H=5, T=7, N=2) so that a transposed weight cannot pass."""
import itertools

import numpy as np
import pytest
import torch

from course import nn
from course.testing import copy_params, to_numpy, to_torch

I, H, T, N = 3, 5, 7, 2


def _pair(mode, **kw):
    ours = (nn.RNN if mode == "rnn" else nn.LSTM)(I, H, rng=1, **kw)
    theirs = (torch.nn.RNN if mode == "rnn" else torch.nn.LSTM)(I, H, **kw).double()
    copy_params(theirs, ours)
    return ours, theirs


def _close(a, b, what):
    np.testing.assert_allclose(a, to_numpy(b) if isinstance(b, torch.Tensor) else b, rtol=1e-6, atol=1e-9,
                               err_msg=what)


# ============================================================== names
@pytest.mark.parametrize("mode", ["rnn", "lstm"])
@pytest.mark.parametrize("num_layers,bidirectional,bias", [(1, False, True), (3, True, True), (2, True, False)])
def test_parameter_names_and_shapes_are_torchs(mode, num_layers, bidirectional, bias):
    ours, theirs = _pair(mode, num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.shape == tuple(q.shape), n


# ============================================================== against torch: sequences
CASES = list(itertools.product(["rnn", "lstm"], [1, 2, 3], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("mode,num_layers,bidirectional,batch_first,with_state", CASES)
def test_sequence_module_equals_torch(mode, num_layers, bidirectional, batch_first, with_state):
    """Outputs, final states, the input and initial-state gradients, and EVERY parameter gradient
    (every layer, both directions), with upstream gradients on the output AND the final states."""
    rng = np.random.default_rng(num_layers * 10 + bidirectional)
    ours, theirs = _pair(mode, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    D = 2 if bidirectional else 1
    x = rng.standard_normal((N, T, I) if batch_first else (T, N, I))
    h0, c0 = rng.standard_normal((2, num_layers * D, N, H))
    xt, h0t, c0t = (to_torch(a, requires_grad=True) for a in (x, h0, c0))
    state, state_t = ((h0, c0), (h0t, c0t)) if mode == "lstm" else (h0, h0t)
    out, hn = ours(x, state) if with_state else ours(x)
    out_t, hn_t = theirs(xt, state_t) if with_state else theirs(xt)
    _close(out, out_t, "output")
    g_out = rng.standard_normal(out.shape)
    if mode == "lstm":
        (hn, cn), (hn_t, cn_t) = hn, hn_t
        _close(cn, cn_t, "c_n")
    _close(hn, hn_t, "h_n")
    g_h = rng.standard_normal(hn.shape)
    loss = (out_t * to_torch(g_out)).sum() + (hn_t * to_torch(g_h)).sum()
    if mode == "lstm":
        g_c = rng.standard_normal(cn.shape)
        loss = loss + (cn_t * to_torch(g_c)).sum()
        grads = ours.backward(g_out, g_h, g_c)
    else:
        grads = ours.backward(g_out, g_h)
    loss.backward()
    if with_state:
        gx, g_state = grads
        if mode == "lstm":
            _close(g_state[0], h0t.grad, "grad h0")
            _close(g_state[1], c0t.grad, "grad c0")
        else:
            _close(g_state, h0t.grad, "grad h0")
    else:
        gx = grads
    _close(gx, xt.grad, "grad x")
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, t_params[name].grad, f"gradient of {name}")


@pytest.mark.parametrize("mode", ["rnn", "lstm"])
def test_only_the_final_state_feeds_the_loss(mode):
    """backward(None, grad_h_n): a classifier on h_n only."""
    rng = np.random.default_rng(3)
    ours, theirs = _pair(mode, num_layers=2, bidirectional=True)
    x = rng.standard_normal((T, N, I))
    xt = to_torch(x, requires_grad=True)
    _, hn = ours(x)
    _, hn_t = theirs(xt)
    hn, hn_t = (hn[0], hn_t[0]) if mode == "lstm" else (hn, hn_t)
    g = rng.standard_normal(hn.shape)
    (hn_t * to_torch(g)).sum().backward()
    _close(ours.backward(None, g), xt.grad, "grad x")
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, t_params[name].grad, name)


@pytest.mark.parametrize("kw", [dict(nonlinearity="relu", num_layers=2), dict(bias=False, bidirectional=True)])
def test_rnn_relu_and_no_bias_equal_torch(kw):
    rng = np.random.default_rng(4)
    ours, theirs = _pair("rnn", **kw)
    x = rng.standard_normal((T, N, I))
    xt = to_torch(x, requires_grad=True)
    out, _ = ours(x)
    out_t, _ = theirs(xt)
    _close(out, out_t, "output")
    g = rng.standard_normal(out.shape)
    out_t.backward(to_torch(g))
    _close(ours.backward(g), xt.grad, "grad x")
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, t_params[name].grad, name)


@pytest.mark.parametrize("mode", ["rnn", "lstm"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_variable_lengths_equal_torch_packed_sequences(mode, num_layers, bidirectional):
    """lengths=(...) computes what torch computes on pack_padded_sequence (unsorted lengths)."""
    rng = np.random.default_rng(5)
    n = 4
    lengths = np.array([3, T, 1, 5])
    ours, theirs = _pair(mode, num_layers=num_layers, bidirectional=bidirectional)
    x = rng.standard_normal((T, n, I))
    xt = to_torch(x, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths), enforce_sorted=False)
    out_p, hn_t = theirs(packed)
    out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, total_length=T)
    out, hn = ours(x, lengths=lengths)
    _close(out, out_t, "output (zero where padded)")
    if mode == "lstm":
        (hn, cn), (hn_t, cn_t) = hn, hn_t
        _close(cn, cn_t, "c_n")
    _close(hn, hn_t, "h_n at each sequence's last step")
    g, gh = rng.standard_normal(out.shape), rng.standard_normal(hn.shape)
    ((out_t * to_torch(g)).sum() + (hn_t * to_torch(gh)).sum()).backward()
    _close(ours.backward(g, gh), xt.grad, "grad x (zero where padded)")
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, t_params[name].grad, name)


# ============================================================== against torch: cells
def test_rnn_cell_unrolled_equals_torch_and_accumulates():
    """A cell applied T times, then T backward calls in reverse: the gradients of the shared weights add up."""
    rng = np.random.default_rng(6)
    for nonlinearity in ("tanh", "relu"):
        ours = nn.RNNCell(I, H, nonlinearity=nonlinearity, rng=2)
        theirs = torch.nn.RNNCell(I, H, nonlinearity=nonlinearity).double()
        copy_params(theirs, ours)
        xs = rng.standard_normal((T, N, I))
        h0 = rng.standard_normal((N, H))
        xt, h0t = to_torch(xs, requires_grad=True), to_torch(h0, requires_grad=True)
        h, ht, hs, hts = h0, h0t, [], []
        for t in range(T):
            h, ht = ours(xs[t], h), theirs(xt[t], ht)
            hs.append(h)
            hts.append(ht)
        for a, b in zip(hs, hts):
            _close(a, b, "h_t")
        gs = rng.standard_normal((T, N, H))
        sum((hts[t] * to_torch(gs[t])).sum() for t in range(T)).backward()
        gh, gx = np.zeros((N, H)), np.zeros_like(xs)
        for t in reversed(range(T)):
            gx[t], gh = ours.backward(gs[t] + gh)
        _close(gx, xt.grad, "grad x")
        _close(gh, h0t.grad, "grad h0")
        for name, p in ours.named_parameters():
            _close(p.grad, dict(theirs.named_parameters())[name].grad, name)


def test_lstm_cell_equals_torch():
    rng = np.random.default_rng(7)
    ours = nn.LSTMCell(I, H, rng=3)
    theirs = torch.nn.LSTMCell(I, H).double()
    copy_params(theirs, ours)
    x, h, c = rng.standard_normal((N, I)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    xt, ht, ct = (to_torch(a, requires_grad=True) for a in (x, h, c))
    h1, c1 = ours(x, (h, c))
    h1t, c1t = theirs(xt, (ht, ct))
    _close(h1, h1t, "h")
    _close(c1, c1t, "c")
    gh, gc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    ((h1t * to_torch(gh)).sum() + (c1t * to_torch(gc)).sum()).backward()
    gx, gh0, gc0 = ours.backward(gh, gc)
    _close(gx, xt.grad, "grad x")
    _close(gh0, ht.grad, "grad h")
    _close(gc0, ct.grad, "grad c")
    for name, p in ours.named_parameters():
        _close(p.grad, dict(theirs.named_parameters())[name].grad, name)
    # no state given: zeros, as torch
    _close(ours(x)[0], theirs(xt)[0], "h with state None")


# ============================================================== gradcheck on every module
class _Flat(nn.Module):
    """Wraps a recurrent module so its outputs (output and final states) are one flat array."""

    def __init__(self, inner, with_state=False):
        self.inner, self.with_state = inner, with_state

    def forward(self, x, *state):
        if isinstance(self.inner, nn.LSTM):
            out, (h, c) = self.inner(x, tuple(state) if state else None)
            parts = [out, h, c]
        elif isinstance(self.inner, nn.RNN):
            out, h = self.inner(x, *state)
            parts = [out, h]
        elif isinstance(self.inner, nn.LSTMCell):
            parts = list(self.inner(x, tuple(state) if state else None))
        else:
            parts = [self.inner(x, *state)]
        self.shapes = [p.shape for p in parts]
        return np.concatenate([p.ravel() for p in parts])

    def backward(self, g):
        cuts = np.cumsum([int(np.prod(s)) for s in self.shapes])[:-1]
        parts = [a.reshape(s) for a, s in zip(np.split(g, cuts), self.shapes)]
        inner = self.inner
        if isinstance(inner, nn.LSTM):
            r = inner.backward(*parts)
            return (r[0], *r[1]) if self.with_state else r
        if isinstance(inner, nn.LSTMCell):
            r = inner.backward(*parts)
            return r if self.with_state else r[0]
        r = inner.backward(*parts)
        return r if self.with_state or isinstance(inner, nn.RNN) else r[0]


@pytest.mark.parametrize("make,with_state", [
    (lambda: nn.RNNCell(3, 4, rng=0), True),
    (lambda: nn.RNNCell(3, 4, nonlinearity="relu", rng=0), False),
    (lambda: nn.LSTMCell(3, 4, rng=0), True),
    (lambda: nn.RNN(3, 4, num_layers=2, bidirectional=True, rng=0), True),
    (lambda: nn.RNN(3, 4, batch_first=True, nonlinearity="relu", rng=0), False),
    (lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, rng=0), True),
    (lambda: nn.LSTM(3, 4, batch_first=True, bias=False, rng=0), False),
])
def test_gradcheck_every_module(make, with_state):
    inner = make()
    rng = np.random.default_rng(8)
    n, t = 2, 3
    if isinstance(inner, (nn.RNN, nn.LSTM)):
        x = rng.standard_normal((n, t, 3) if inner.batch_first else (t, n, 3))
        state_shape = (inner.num_layers * inner.num_directions, n, 4)
    else:
        x = rng.standard_normal((n, 3))
        state_shape = (n, 4)
    k = 2 if isinstance(inner, (nn.LSTM, nn.LSTMCell)) else 1
    inputs = [x] + [rng.standard_normal(state_shape) for _ in range(k if with_state else 0)]
    report = nn.gradcheck(_Flat(inner, with_state), tuple(inputs))
    assert report.passed(1e-5), str(report)
    assert len(report) == len(inputs) + len(inner.parameters())


# ============================================================== clip_grad_norm_
@pytest.mark.parametrize("max_norm,norm_type", [(0.5, 2.0), (1e3, 2.0), (0.3, float("inf")), (1.0, 1.0)])
def test_clip_grad_norm_equals_torch(max_norm, norm_type):
    ours, theirs = _pair("lstm", num_layers=2)
    rng = np.random.default_rng(9)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        p.grad[...] = rng.standard_normal(p.shape)
        q.grad = to_torch(p.grad)
    total = nn.clip_grad_norm_(ours.parameters(), max_norm, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm, norm_type=norm_type)
    assert total == pytest.approx(float(total_t), rel=1e-12)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, q.grad, name)


def test_clip_grad_norm_keeps_dtype_and_direction():
    p = nn.Parameter(np.zeros(3, np.float32))
    p.grad[...] = [3, 4, 0]
    assert nn.clip_grad_norm_([p], 1.0) == pytest.approx(5.0)
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad, [0.6, 0.8, 0], rtol=1e-5)
    p.grad[...] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


# ============================================================== properties
def _out(model, x):
    out, _ = model.eval()(x)
    return out


@pytest.mark.parametrize("mode", ["rnn", "lstm"])
def test_unidirectional_is_causal_bidirectional_is_not(mode):
    """Changing x_s changes no output before s in a unidirectional RNN; in a bidirectional one it does."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((T, N, I))
    s = 4
    x2 = x.copy()
    x2[s] += 1.0
    uni = (nn.RNN if mode == "rnn" else nn.LSTM)(I, H, num_layers=2, rng=0)
    a, b = _out(uni, x), _out(uni, x2)
    np.testing.assert_array_equal(a[:s], b[:s])
    assert np.all(np.abs(a[s:] - b[s:]).max(axis=(1, 2)) > 1e-6)
    bi = (nn.RNN if mode == "rnn" else nn.LSTM)(I, H, num_layers=2, bidirectional=True, rng=0)
    a, b = _out(bi, x), _out(bi, x2)
    assert np.all(np.abs(a - b).max(axis=(1, 2)) > 1e-6), "every step of a bidirectional RNN sees x_s"
    one = (nn.RNN if mode == "rnn" else nn.LSTM)(I, H, bidirectional=True, rng=0)
    a, b = _out(one, x), _out(one, x2)
    np.testing.assert_array_equal(a[:s, :, :H], b[:s, :, :H])   # one layer: its forward half is still causal
    assert np.all(np.abs(a[:s, :, H:] - b[:s, :, H:]).max(axis=(1, 2)) > 1e-6)  # its reverse half is not


@pytest.mark.parametrize("mode", ["rnn", "lstm"])
def test_changing_x0_changes_h_T(mode):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((T, N, I))
    x2 = x.copy()
    x2[0] += 1.0
    m = (nn.RNN if mode == "rnn" else nn.LSTM)(I, H, rng=0).eval()
    h = lambda z: m(z)[1][0] if mode == "lstm" else m(z)[1]  # noqa: E731
    assert np.abs(h(x) - h(x2)).max() > 1e-6


@pytest.mark.parametrize("mode", ["rnn", "lstm"])
def test_padding_does_not_leak(mode):
    """With lengths, what lies past a sequence's end changes nothing of that sequence."""
    rng = np.random.default_rng(12)
    lengths = np.array([4, T])
    x = rng.standard_normal((T, N, I))
    x2 = x.copy()
    x2[4:, 0] = 100.0
    m = (nn.RNN if mode == "rnn" else nn.LSTM)(I, H, bidirectional=True, rng=0).eval()
    (o1, s1), (o2, s2) = m(x, lengths=lengths), m(x2, lengths=lengths)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(np.asarray(s1), np.asarray(s2))
    assert np.all(o1[4:, 0] == 0)


def test_grad_h_norms_per_step():
    m = nn.RNN(I, H, bidirectional=True, rng=0)
    out, _ = m(np.random.default_rng(0).standard_normal((T, N, I)))
    m.backward(np.ones_like(out))
    assert set(m.grad_h_norms) == {"l0", "l0_reverse"}
    assert m.grad_h_norms["l0"].shape == (T,)


def test_float32_stays_float32():
    m = nn.LSTM(I, H, num_layers=2).to(np.float32)
    x = np.random.default_rng(0).standard_normal((T, N, I)).astype(np.float32)
    out, (h, c) = m(x)
    assert out.dtype == h.dtype == c.dtype == np.float32
    gx = m.backward(np.ones_like(out))
    assert gx.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in m.parameters())


# ============================================================== errors that teach
def test_errors_name_the_shapes():
    m = nn.RNN(I, H, num_layers=2)
    with pytest.raises(ValueError, match=r"\(T, N, I\) with I = 3.*batch_first"):
        m(np.zeros((N, T, 4)))
    with pytest.raises(ValueError, match=r"\(num_layers \* num_directions, N, H\) = \(2, 2, 5\)"):
        m(np.zeros((T, N, I)), np.zeros((1, N, H)))
    with pytest.raises(ValueError, match="lengths must lie in"):
        m(np.zeros((T, N, I)), lengths=np.array([T + 1, 2]))
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(I, H, dropout=0.5)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(I, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"\(N, I\) = \(N, 3\)"):
        nn.RNNCell(I, H)(np.zeros(I))
    with pytest.raises(RuntimeError, match="no saved forward"):
        nn.RNN(I, H).backward(np.zeros((T, N, H)))
