"""course.rnn: hand-checkable steps, the feed-forward special case T = 1, parameter reuse
(the sequence functions equal the cell applied at every step), BPTT, lengths, the output layer."""
import math

import numpy as np
import pytest
import torch

from course import nn, rnn
from course.testing import to_numpy, to_torch

I, H, T, N, V = 3, 5, 7, 2, 11


def _weights(rng, gates=1, i=I, h=H):
    return (rng.standard_normal((gates * h, i)) * 0.5, rng.standard_normal((gates * h, h)) * 0.5,
            rng.standard_normal(gates * h) * 0.1, rng.standard_normal(gates * h) * 0.1)


# ============================================================== by hand
def test_rnn_cell_by_hand():
    """One unit, one input: h = tanh(w x + u h_prev + b_ih + b_hh)."""
    w, u, b1, b2 = 0.5, -2.0, 0.1, 0.2
    x, h_prev = 1.5, 0.25
    h, cache = rnn.rnn_cell_forward(np.array([[x]]), np.array([[h_prev]]), np.array([[w]]), np.array([[u]]),
                                    np.array([b1]), np.array([b2]))
    a = w * x + u * h_prev + b1 + b2
    assert h[0, 0] == pytest.approx(math.tanh(a))
    gx, gh, gw, gu, gb1, gb2 = rnn.rnn_cell_backward(np.array([[1.0]]), cache)
    d = 1 - math.tanh(a) ** 2                              # tanh' from the output
    assert (gx[0, 0], gh[0, 0], gw[0, 0], gu[0, 0], gb1[0], gb2[0]) == pytest.approx(
        (d * w, d * u, d * x, d * h_prev, d, d))


def test_lstm_cell_by_hand():
    """One unit: with all pre-activations 0 the gates are 1/2 and g = 0, so c = c_prev / 2."""
    z = np.zeros((4, 1))
    h, c, _ = rnn.lstm_cell_forward(np.array([[1.0]]), np.array([[0.0]]), np.array([[0.8]]), z, z)
    assert c[0, 0] == pytest.approx(0.4)
    assert h[0, 0] == pytest.approx(0.5 * math.tanh(0.4))


# ============================================================== the seed's points
def test_one_step_is_a_feed_forward_net():
    """T = 1, h0 = 0: the RNN with its output layer is Linear -> Tanh -> Linear."""
    rng = np.random.default_rng(0)
    w_ih, w_hh, b_ih, b_hh = _weights(rng)
    w_hy, b_y = rng.standard_normal((V, H)), rng.standard_normal(V)
    x = rng.standard_normal((1, N, I))
    out, h_n, _ = rnn.rnn_forward(x, None, w_ih, w_hh, b_ih, b_hh)
    y, _ = rnn.output_forward(out, w_hy, b_y)
    net = nn.Sequential(nn.Linear(I, H), nn.Tanh(), nn.Linear(H, V))
    net[0].weight.data[...], net[0].bias.data[...] = w_ih, b_ih + b_hh
    net[2].weight.data[...], net[2].bias.data[...] = w_hy, b_y
    np.testing.assert_allclose(y[0], net(x[0]), rtol=1e-12)
    np.testing.assert_allclose(h_n, out[0])


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_sequence_is_the_cell_reused_at_every_step(nonlinearity):
    """rnn_forward = rnn_cell_forward at t = 1..T with the SAME weights; rnn_backward = the cell
    backwards in reverse order, dh carried from step to step, the weight gradients summed."""
    rng = np.random.default_rng(1)
    params = _weights(rng)
    x, h0 = rng.standard_normal((T, N, I)), rng.standard_normal((N, H))
    out, h_n, cache = rnn.rnn_forward(x, h0, *params, nonlinearity=nonlinearity)
    h, caches = h0, []
    for t in range(T):
        h, c = rnn.rnn_cell_forward(x[t], h, *params, nonlinearity=nonlinearity)
        caches.append(c)
        np.testing.assert_allclose(out[t], h, rtol=1e-12)
    np.testing.assert_allclose(h_n, h)
    g_out, g_hn = rng.standard_normal(out.shape), rng.standard_normal(h_n.shape)
    gx, gh0, grads = rnn.rnn_backward(g_out, g_hn, cache)
    dh, total, gxs = g_hn, [0, 0, 0, 0], []
    for t in reversed(range(T)):
        gxt, dh, *gp = rnn.rnn_cell_backward(g_out[t] + dh, caches[t])
        gxs.append(gxt)
        total = [a + b for a, b in zip(total, gp)]
    np.testing.assert_allclose(gx, np.stack(gxs[::-1]), rtol=1e-10)
    np.testing.assert_allclose(gh0, dh, rtol=1e-10)
    for name, g in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], total):
        np.testing.assert_allclose(grads[name], g, rtol=1e-10, err_msg=name)


def test_lstm_sequence_is_the_cell_reused_at_every_step():
    rng = np.random.default_rng(2)
    params = _weights(rng, gates=4)
    x, h0, c0 = rng.standard_normal((T, N, I)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    out, h_n, c_n, cache = rnn.lstm_forward(x, h0, c0, *params)
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, k = rnn.lstm_cell_forward(x[t], h, c, *params)
        caches.append(k)
        np.testing.assert_allclose(out[t], h, rtol=1e-12)
    np.testing.assert_allclose(c_n, c, rtol=1e-12)
    g_out, g_hn, g_cn = rng.standard_normal((3,) + out.shape)[0], rng.standard_normal(h.shape), rng.standard_normal(h.shape)
    gx, gh0, gc0, grads = rnn.lstm_backward(g_out, g_hn, g_cn, cache)
    dh, dc, total, gxs = g_hn, g_cn, [0, 0, 0, 0], []
    for t in reversed(range(T)):
        gxt, dh, dc, *gp = rnn.lstm_cell_backward(g_out[t] + dh, dc, caches[t])
        gxs.append(gxt)
        total = [a + b for a, b in zip(total, gp)]
    np.testing.assert_allclose(gx, np.stack(gxs[::-1]), rtol=1e-10)
    np.testing.assert_allclose(gh0, dh, rtol=1e-10)
    np.testing.assert_allclose(gc0, dc, rtol=1e-10)
    for name, g in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], total):
        np.testing.assert_allclose(grads[name], g, rtol=1e-10, err_msg=name)


def test_any_length_with_the_same_parameters():
    """One parameter set runs sequences of any T; the parameter count does not grow with T."""
    rng = np.random.default_rng(3)
    params = _weights(rng)
    for t in (1, 2, 13):
        out, h_n, _ = rnn.rnn_forward(rng.standard_normal((t, N, I)), None, *params)
        assert out.shape == (t, N, H) and h_n.shape == (N, H)


# ============================================================== gradient checks of the functions
@pytest.mark.parametrize("fn", ["rnn_cell", "lstm_cell", "rnn", "lstm", "output"])
def test_functional_gradcheck(fn):
    rng = np.random.default_rng(4)
    t, n, i, h = 3, 2, 3, 4
    if fn == "rnn_cell":
        w = _weights(rng, 1, i, h)
        f = lambda x, hp: (lambda r: (r[0], lambda g: rnn.rnn_cell_backward(g, r[1])[:2]))(  # noqa: E731
            rnn.rnn_cell_forward(x, hp, *w))
        inputs = (rng.standard_normal((n, i)), rng.standard_normal((n, h)))
    elif fn == "lstm_cell":
        w = _weights(rng, 4, i, h)

        def f(x, hp, cp):
            hh, cc, cache = rnn.lstm_cell_forward(x, hp, cp, *w)
            out = np.concatenate([hh, cc], axis=1)
            return out, lambda g: rnn.lstm_cell_backward(g[:, :h], g[:, h:], cache)[:3]
        inputs = (rng.standard_normal((n, i)), rng.standard_normal((n, h)), rng.standard_normal((n, h)))
    elif fn in ("rnn", "lstm"):
        def f(x, w_ih, w_hh, b_ih, b_hh):
            if fn == "rnn":
                out, _, cache = rnn.rnn_forward(x, None, w_ih, w_hh, b_ih, b_hh)
                back = lambda g: (lambda r: (r[0], *(r[2][k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))))(  # noqa: E731,E501
                    rnn.rnn_backward(g, None, cache))
            else:
                out, _, _, cache = rnn.lstm_forward(x, None, None, w_ih, w_hh, b_ih, b_hh)
                back = lambda g: (lambda r: (r[0], *(r[3][k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))))(  # noqa: E731,E501
                    rnn.lstm_backward(g, None, None, cache))
            return out, back
        inputs = (rng.standard_normal((t, n, i)), *_weights(rng, 1 if fn == "rnn" else 4, i, h))
    else:
        def f(hs, w, b):
            y, cache = rnn.output_forward(hs, w, b)
            return y, lambda g: rnn.output_backward(g, cache)
        inputs = (rng.standard_normal((t, n, h)), rng.standard_normal((5, h)), rng.standard_normal(5))
    report = nn.gradcheck(f, inputs)
    assert report.passed(1e-5), str(report)


# ============================================================== lengths, reversal, the stack
def test_reverse_padded_reverses_each_sequence_within_its_length():
    x = np.arange(4 * 2).reshape(4, 2)
    r = rnn.reverse_padded(x, np.array([2, 4]))
    np.testing.assert_array_equal(r[:, 0], [2, 0, 4, 6])
    np.testing.assert_array_equal(r[:, 1], [7, 5, 3, 1])
    np.testing.assert_array_equal(rnn.reverse_padded(r, np.array([2, 4])), x)


@pytest.mark.parametrize("mode", ["rnn", "lstm"])
def test_lengths_equal_running_each_sequence_alone(mode):
    rng = np.random.default_rng(5)
    lengths = np.array([2, T, 4])
    params = {}
    for k in range(2):
        for d in range(2):
            names = rnn.param_names(k, reverse=d == 1)
            for name, value in zip(names, _weights(rng, 1 if mode == "rnn" else 4, I if k == 0 else 2 * H)):
                params[name] = value
    x = rng.standard_normal((T, 3, I))
    out, h_n, c_n, _ = rnn.multilayer_forward(x, params, mode, 2, True, lengths=lengths)
    for n, L in enumerate(lengths):
        o, hn, cn, _ = rnn.multilayer_forward(x[:L, n:n + 1], params, mode, 2, True)
        np.testing.assert_allclose(out[:L, n:n + 1], o, rtol=1e-12)
        assert np.all(out[L:, n] == 0)
        np.testing.assert_allclose(h_n[:, n:n + 1], hn, rtol=1e-12)


def test_multilayer_backward_equals_torch_for_a_deep_bidirectional_lstm():
    rng = np.random.default_rng(6)
    t_lstm = torch.nn.LSTM(I, H, num_layers=3, bidirectional=True).double()
    params = {name: to_numpy(p) for name, p in t_lstm.named_parameters()}
    x = rng.standard_normal((T, N, I))
    xt = to_torch(x, requires_grad=True)
    out, h_n, c_n, cache = rnn.multilayer_forward(x, params, "lstm", 3, True)
    out_t, _ = t_lstm(xt)
    np.testing.assert_allclose(out, to_numpy(out_t), rtol=1e-6, atol=1e-10)
    g = rng.standard_normal(out.shape)
    out_t.backward(to_torch(g))
    gx, _, _, grads = rnn.multilayer_backward(g, cache)
    np.testing.assert_allclose(gx, to_numpy(xt.grad), rtol=1e-6, atol=1e-10)
    for name, p in t_lstm.named_parameters():
        np.testing.assert_allclose(grads[name], to_numpy(p.grad), rtol=1e-6, atol=1e-10, err_msg=name)


# ============================================================== vanishing gradients, measured
def test_gradients_vanish_with_a_small_recurrent_weight_and_not_with_a_large_one():
    """Loss on the last step only: ||dL/dh_t|| shrinks going back in time when the spectral
    radius of W_hh is < 1 (and the tanh saturates nothing), and does not when it is large."""
    rng = np.random.default_rng(7)
    h, t = 16, 30
    q, _ = np.linalg.qr(rng.standard_normal((h, h)))          # orthogonal: all |eigenvalues| = 1
    x = rng.standard_normal((t, 4, 3)) * 0.01
    w_ih = rng.standard_normal((h, 3))
    g_out = np.zeros((t, 4, h))
    g_out[-1] = 1.0
    norms = {}
    for radius in (0.5, 1.0):
        _, _, cache = rnn.rnn_forward(x, None, w_ih, radius * q)
        norms[radius] = rnn.grad_norm_per_step(rnn.rnn_backward(g_out, None, cache)[2]["h"])
    assert norms[0.5][0] < 1e-6 * norms[0.5][-1]
    assert np.all(np.diff(norms[0.5]) > 0)                    # grows towards the loss = vanishes going back
    assert norms[1.0][0] > 0.5 * norms[1.0][-1]               # orthogonal, near-linear regime: preserved


# ============================================================== errors that teach
def test_errors():
    rng = np.random.default_rng(8)
    w = _weights(rng)
    with pytest.raises(ValueError, match=r"x must be \(T, N, 3\)"):
        rnn.rnn_forward(np.zeros((T, N, 4)), None, *w)
    with pytest.raises(ValueError, match=r"\(4\*H, I\)"):
        rnn.lstm_forward(np.zeros((T, N, I)), None, None, *w)
    with pytest.raises(ValueError, match=r"initial state must be \(N, H\) = \(2, 5\)"):
        rnn.rnn_forward(np.zeros((T, N, I)), np.zeros((N, 4)), *w)
    with pytest.raises(ValueError, match="nonlinearity"):
        rnn.rnn_forward(np.zeros((T, N, I)), None, *w, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"\(T, N, I\)"):
        rnn.rnn_forward(np.zeros((N, I)), None, *w)
