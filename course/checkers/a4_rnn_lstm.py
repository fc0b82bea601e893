"""Checks for Assignment 4 (RNN and LSTM forward/backward, BPTT, bidirectional, a character LM).

One ``check_<thing>`` per graded piece, like ``course.checkers.a2_backprop_cnn``.
Each runs the student's function on one case, computes the expected answer
with PyTorch's autograd (float64), and raises :class:`CheckFailure` naming the
case and, when the wrong answer is what a known mistake produces, the mistake:

- the hidden state not carried between steps (every step starts from h0);
- the gradient of h_t taken from its output only, not also from step t+1;
- tanh's derivative computed from the pre-activation (1 - a^2) instead of the output (1 - h^2);
- the LSTM's gate blocks in another order than i, f, g, o;
- the forget gate applied to h_{t-1} instead of c_{t-1};
- the reverse direction's outputs not re-reversed.

Graded functions may not call the course's reference (``course.rnn``,
``course.nn.RNN``/``LSTM``/cells) nor PyTorch. Test cells stay short::

    a4.check_rnn_cell(rnn_cell_forward, rnn_cell_backward, n=2, input_size=3, hidden_size=5, seed=1)
"""
from __future__ import annotations

import time

import numpy as np

from course.checkers import core as checks
from course.checkers.core import CheckFailure, Mistake, expect_close

__all__ = ["CheckFailure", "random_case_rng", "check_rnn_cell", "check_rnn_sequence", "check_lstm_cell",
           "check_bidirectional", "check_char_lm"]

FORBID = ("course.rnn", "course.nn.recurrent", "torch")


def random_case_rng(seed: int) -> np.random.Generator:
    """The random generator hidden tests draw their cases from (fixed seed: same cases every run)."""
    return np.random.default_rng(seed)


def call(fn, *args, name: str, case: str = "", forbid=FORBID, allow=()):
    """``checks.call``: the course (all of it, core.WATCHED) and PyTorch are refused except ``allow``."""
    return checks.call(fn, *args, name=name, case=case, forbid=forbid, allow=allow)


def _torch():
    import torch

    return torch


def _t(a, grad=False):
    t = _torch().tensor(np.asarray(a, dtype=np.float64))
    return t.requires_grad_(True) if grad else t


def _np(t):
    return t.detach().numpy()


def _unpack(result, n: int, name: str, what: str):
    if not isinstance(result, (tuple, list)) or len(result) != n:
        got = f"a {type(result).__name__}" + (f" of {len(result)}" if isinstance(result, (tuple, list)) else "")
        raise CheckFailure(f"{name}: must return {n} values ({what}), got {got}")
    return result


def _params(rng, gates, i, h, scale=0.5):
    return (rng.standard_normal((gates * h, i)) * scale, rng.standard_normal((gates * h, h)) * scale,
            rng.standard_normal(gates * h) * 0.2)


# =================================================================== references (NumPy, for wrong answers)
def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _rnn_seq(x, h0, w_ih, w_hh, b, carry=True):
    hs, h = [], h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ w_ih.T + (h if carry else h0) @ w_hh.T + b)
        hs.append(h)
    return np.stack(hs)


def _rnn_seq_backward(x, h0, w_ih, w_hh, b, dhs, from_next=True, from_output_h=True):
    """BPTT with switches for the two mistakes (no gradient from step t+1; tanh' from the pre-activation)."""
    hs = _rnn_seq(x, h0, w_ih, w_hh, b)
    prev = np.concatenate([h0[None], hs[:-1]])
    dx, dw_ih, dw_hh, db = np.zeros_like(x), np.zeros_like(w_ih), np.zeros_like(w_hh), np.zeros_like(b)
    dnext = np.zeros_like(h0)
    for t in reversed(range(x.shape[0])):
        dh = dhs[t] + (dnext if from_next else 0)
        a = x[t] @ w_ih.T + prev[t] @ w_hh.T + b
        da = dh * ((1 - hs[t] ** 2) if from_output_h else (1 - a ** 2))
        dx[t] = da @ w_ih
        dw_ih += da.T @ x[t]
        dw_hh += da.T @ prev[t]
        db += da.sum(0)
        dnext = da @ w_hh
    return dx, dnext, dw_ih, dw_hh, db


def _lstm_step(x, h, c, w_ih, w_hh, b, order="ifgo", forget_on_h=False):
    H = h.shape[1]
    a = x @ w_ih.T + h @ w_hh.T + b
    blocks = {k: a[:, j * H:(j + 1) * H] for j, k in enumerate(order)}
    i, f, o = _sigmoid(blocks["i"]), _sigmoid(blocks["f"]), _sigmoid(blocks["o"])
    g = np.tanh(blocks["g"])
    c_new = f * (h if forget_on_h else c) + i * g
    return o * np.tanh(c_new), c_new


# =================================================================== 1. the RNN cell
def check_rnn_cell(forward, backward, n=2, input_size=3, hidden_size=5, seed=0):
    """``forward(x, h_prev, weight_ih, weight_hh, bias) -> (h, cache)`` and
    ``backward(dh, cache) -> (dx, dh_prev, dweight_ih, dweight_hh, dbias)`` against torch."""
    rng = np.random.default_rng(seed)
    x, h_prev = rng.standard_normal((n, input_size)), rng.standard_normal((n, hidden_size))
    w_ih, w_hh, b = _params(rng, 1, input_size, hidden_size)
    dh = rng.standard_normal((n, hidden_size))
    case = f"x ({n}, {input_size}), h_prev ({n}, {hidden_size}), weight_ih {w_ih.shape}, weight_hh {w_hh.shape}, seed={seed}"
    h, cache = _unpack(call(forward, x, h_prev, w_ih, w_hh, b, name="rnn_cell_forward", case=case), 2,
                       "rnn_cell_forward", "h, cache")
    tx, th, twi, twh, tb = (_t(a, True) for a in (x, h_prev, w_ih, w_hh, b))
    th_new = _torch().tanh(tx @ twi.T + th @ twh.T + tb)
    expect_close(h, _np(th_new), name="rnn_cell_forward", case=case, mistakes=[
        Mistake("the weights are transposed: h = tanh(x @ weight_ih.T + h_prev @ weight_hh.T + bias)",
                shape=(n, input_size)),
        Mistake("missing tanh: h = tanh(a), a = x W_ih^T + h_prev W_hh^T + b",
                np.arctanh(np.clip(_np(th_new), -0.999999, 0.999999)))])
    th_new.backward(_t(dh))
    grads = _unpack(call(backward, dh, cache, name="rnn_cell_backward", case=case), 5, "rnn_cell_backward",
                    "dx, dh_prev, dweight_ih, dweight_hh, dbias")
    a = x @ w_ih.T + h_prev @ w_hh.T + b
    da_pre = dh * (1 - a ** 2)
    wrong = [da_pre @ w_ih, da_pre @ w_hh, da_pre.T @ x, da_pre.T @ h_prev, da_pre.sum(0)]
    for k, (g, want, label) in enumerate(zip(grads, (tx.grad, th.grad, twi.grad, twh.grad, tb.grad),
                                              ("dx", "dh_prev", "dweight_ih", "dweight_hh", "dbias"))):
        expect_close(g, _np(want), name=f"rnn_cell_backward ({label})", case=case, what="gradient", mistakes=[
            Mistake("tanh's derivative taken from the pre-activation: use 1 - h**2 with h the OUTPUT "
                    "(saved in the cache), not 1 - a**2", wrong[k]),
            Mistake("a gradient has the shape of what it is the gradient of (transposed?)",
                    shape=tuple(reversed(_np(want).shape)) if _np(want).ndim == 2 else None)])


# =================================================================== 2. BPTT over a sequence
def check_rnn_sequence(forward, backward, T=4, n=2, input_size=3, hidden_size=5, seed=0):
    """``forward(x (T, N, I), h0 (N, H), weight_ih, weight_hh, bias) -> (hs (T, N, H), cache)`` and
    ``backward(dhs (T, N, H), cache) -> (dx, dh0, dweight_ih, dweight_hh, dbias)``."""
    rng = np.random.default_rng(seed)
    x, h0 = rng.standard_normal((T, n, input_size)), rng.standard_normal((n, hidden_size))
    w_ih, w_hh, b = _params(rng, 1, input_size, hidden_size)
    dhs = rng.standard_normal((T, n, hidden_size))
    case = f"x ({T}, {n}, {input_size}) time first, h0 ({n}, {hidden_size}), seed={seed}"
    hs, cache = _unpack(call(forward, x, h0, w_ih, w_hh, b, name="rnn_forward", case=case), 2, "rnn_forward",
                        "hs, cache")
    torch = _torch()
    tx, th0, twi, twh, tb = (_t(a, True) for a in (x, h0, w_ih, w_hh, b))
    h, outs = th0, []
    for t in range(T):
        h = torch.tanh(tx[t] @ twi.T + h @ twh.T + tb)
        outs.append(h)
    ths = torch.stack(outs)
    expect_close(hs, _np(ths), name="rnn_forward", case=case, mistakes=[
        Mistake("the hidden state is not carried: step t must use h_{t-1}, the state the previous step "
                "computed, not h0 again", _rnn_seq(x, h0, w_ih, w_hh, b, carry=False)),
        Mistake("hs must hold h_1 .. h_T, shape (T, N, H)", shape=(T + 1, n, hidden_size))])
    (ths * _t(dhs)).sum().backward()
    grads = _unpack(call(backward, dhs, cache, name="rnn_backward", case=case), 5, "rnn_backward",
                    "dx, dh0, dweight_ih, dweight_hh, dbias")
    no_next = _rnn_seq_backward(x, h0, w_ih, w_hh, b, dhs, from_next=False)
    pre = _rnn_seq_backward(x, h0, w_ih, w_hh, b, dhs, from_output_h=False)
    for k, (g, want, label) in enumerate(zip(grads, (tx.grad, th0.grad, twi.grad, twh.grad, tb.grad),
                                              ("dx", "dh0", "dweight_ih", "dweight_hh", "dbias"))):
        expect_close(g, _np(want), name=f"rnn_backward ({label})", case=case, what="gradient", mistakes=[
            Mistake("the gradient of h_t is not accumulated from both sources: dh_t = dhs[t] (its output) "
                    "PLUS the gradient coming back from step t+1 (dh_prev of step t+1)", no_next[k]),
            Mistake("tanh's derivative taken from the pre-activation: use 1 - h_t**2 (the output)", pre[k])])


# =================================================================== 3. the LSTM cell
def check_lstm_cell(forward, backward, n=2, input_size=3, hidden_size=5, seed=0):
    """``forward(x, h_prev, c_prev, weight_ih (4H, I), weight_hh (4H, H), bias (4H,)) -> (h, c, cache)``
    (gate blocks i, f, g, o, as torch) and ``backward(dh, dc, cache) ->
    (dx, dh_prev, dc_prev, dweight_ih, dweight_hh, dbias)``."""
    rng = np.random.default_rng(seed)
    H = hidden_size
    x, h_prev, c_prev = (rng.standard_normal((n, s)) for s in (input_size, H, H))
    w_ih, w_hh, b = _params(rng, 4, input_size, H)
    dh, dc = rng.standard_normal((n, H)), rng.standard_normal((n, H))
    case = f"x ({n}, {input_size}), h_prev, c_prev ({n}, {H}), weight_ih {w_ih.shape}, seed={seed}"
    h, c, cache = _unpack(call(forward, x, h_prev, c_prev, w_ih, w_hh, b, name="lstm_cell_forward", case=case),
                          3, "lstm_cell_forward", "h, c, cache")
    torch = _torch()
    tx, th, tc, twi, twh, tb = (_t(a, True) for a in (x, h_prev, c_prev, w_ih, w_hh, b))
    a = tx @ twi.T + th @ twh.T + tb
    i, f, g, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H]), torch.tanh(a[:, 2 * H:3 * H]), \
        torch.sigmoid(a[:, 3 * H:])
    tc_new = f * tc + i * g
    th_new = o * torch.tanh(tc_new)

    def mistakes(k):
        out = []
        for order in ("ifog", "figo", "iofg", "gifo", "oifg"):
            out.append(Mistake(f"the gate blocks are in the order {', '.join(order)}: torch's order is i, f, g, o "
                               "(rows 0:H input, H:2H forget, 2H:3H cell candidate g, 3H:4H output)",
                               _lstm_step(x, h_prev, c_prev, w_ih, w_hh, b, order=order)[k]))
        out.append(Mistake("the forget gate multiplies the wrong state: c = f * c_prev + i * g (c_prev, not h_prev)",
                           _lstm_step(x, h_prev, c_prev, w_ih, w_hh, b, forget_on_h=True)[k]))
        return out

    expect_close(c, _np(tc_new), name="lstm_cell_forward (c)", case=case, mistakes=mistakes(1))
    expect_close(h, _np(th_new), name="lstm_cell_forward (h)", case=case, mistakes=[
        Mistake("h = o * tanh(c) with the NEW cell state c", _np(o * torch.tanh(tc)))] + mistakes(0))
    ((th_new * _t(dh)).sum() + (tc_new * _t(dc)).sum()).backward()
    grads = _unpack(call(backward, dh, dc, cache, name="lstm_cell_backward", case=case), 6, "lstm_cell_backward",
                    "dx, dh_prev, dc_prev, dweight_ih, dweight_hh, dbias")
    # a known slip: dc not including the path through h = o tanh(c)
    ta2 = [_t(v, True) for v in (x, h_prev, c_prev, w_ih, w_hh, b)]
    a2 = ta2[0] @ ta2[3].T + ta2[1] @ ta2[4].T + ta2[5]
    i2, f2, g2, o2 = torch.sigmoid(a2[:, :H]), torch.sigmoid(a2[:, H:2 * H]), torch.tanh(a2[:, 2 * H:3 * H]), \
        torch.sigmoid(a2[:, 3 * H:])
    c2 = f2 * ta2[2] + i2 * g2
    h2 = o2 * torch.tanh(c2.detach())           # the h path does not reach c: the bug
    ((h2 * _t(dh)).sum() + (c2 * _t(dc)).sum()).backward()
    for k, (gr, want, label) in enumerate(zip(grads, (tx.grad, th.grad, tc.grad, twi.grad, twh.grad, tb.grad),
                                               ("dx", "dh_prev", "dc_prev", "dweight_ih", "dweight_hh", "dbias"))):
        wrong = ta2[k].grad
        expect_close(gr, _np(want), name=f"lstm_cell_backward ({label})", case=case, what="gradient", mistakes=[
            Mistake("the cell state's gradient has two sources: dc (from the next step) PLUS "
                    "dh * o * (1 - tanh(c)**2) (through h = o * tanh(c))",
                    None if wrong is None else _np(wrong))])


# =================================================================== 4. bidirectional
def check_bidirectional(bidirectional_rnn, T=5, n=2, input_size=3, hidden_size=4, seed=0):
    """``bidirectional_rnn(x (T, N, I), h0_fwd, h0_rev, params_fwd, params_rev) -> out (T, N, 2H)``,
    params = (weight_ih, weight_hh, bias): out[t] = [h_fwd_t, h_rev_t] with the reverse pass re-reversed."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, n, input_size))
    h0f, h0r = rng.standard_normal((n, hidden_size)), rng.standard_normal((n, hidden_size))
    pf, pr = _params(rng, 1, input_size, hidden_size), _params(rng, 1, input_size, hidden_size)
    case = f"x ({T}, {n}, {input_size}), H = {hidden_size}, seed={seed}"
    out = call(bidirectional_rnn, x, h0f, h0r, pf, pr, name="bidirectional_rnn", case=case, forbid=FORBID)
    torch = _torch()
    rnn = torch.nn.RNN(input_size, hidden_size, bidirectional=True).double()
    with torch.no_grad():
        for suffix, (w_ih, w_hh, b) in (("", pf), ("_reverse", pr)):
            getattr(rnn, f"weight_ih_l0{suffix}").copy_(_t(w_ih))
            getattr(rnn, f"weight_hh_l0{suffix}").copy_(_t(w_hh))
            getattr(rnn, f"bias_ih_l0{suffix}").copy_(_t(b))
            getattr(rnn, f"bias_hh_l0{suffix}").zero_()
        want, _ = rnn(_t(x), _t(np.stack([h0f, h0r])))
    fwd, rev = _rnn_seq(x, h0f, *pf), _rnn_seq(x[::-1], h0r, *pr)
    expect_close(out, _np(want), name="bidirectional_rnn", case=case, mistakes=[
        Mistake("the reverse direction is not re-reversed: run it on x[::-1], then flip its outputs back "
                "(out_rev[::-1]) so that position t holds both directions' states for x_t",
                np.concatenate([fwd, rev], axis=2)),
        Mistake("the reverse direction must read the sequence backwards (x[::-1])",
                np.concatenate([fwd, _rnn_seq(x, h0r, *pr)], axis=2)),
        Mistake("concatenate along the feature axis: (T, N, 2H)", shape=(2 * T, n, hidden_size))])


# =================================================================== 5. the character LM
def check_char_lm(train_char_lm, train_ids, valid_ids, vocab_size, budget_s=60.0, max_loss=2.8, seed=0):
    """``train_char_lm(train_ids, vocab_size, seed, budget_s) -> model`` (a ``course.rnnlm.RNNLM``
    or any module with ``forward(ids (N, T), state) -> (logits, state)``): the held-out loss of
    ``valid_ids`` (the state carried across windows) must be at most ``max_loss`` nats per character,
    and training must finish within ``budget_s`` (plus 10 % and 2 s: the last step may overrun it)."""
    from course import rnnlm

    case = f"{len(train_ids):,} training characters, V = {vocab_size}, budget {budget_s:g} s"
    t0 = time.perf_counter()
    model = call(train_char_lm, train_ids, vocab_size, seed, budget_s, name="train_char_lm", case=case,
                 forbid=("torch", rnnlm.train_tbptt),
                 # what the exercise's setup cell imports for it: the model, layers, optimiser, data helpers
                 allow=("course.nn", "course.optim", "course.rnnlm", "course.lm", "course.tokenize", "course.data"))
    seconds = time.perf_counter() - t0
    if seconds > 1.1 * budget_s + 2.0:             # one training step may overrun the budget
        raise CheckFailure(f"train_char_lm: training took too long ({seconds:.0f} s for a budget of {budget_s:g} s): "
                           "stop when time.perf_counter() - start exceeds budget_s")
    try:
        total, count = rnnlm.evaluate_nll(model, np.asarray(valid_ids), batch_size=8, seq_len=250)
    except Exception as exc:
        raise CheckFailure(f"train_char_lm: the model it returned cannot be evaluated ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''}): return the trained RNNLM") from exc
    loss = total / count
    if not loss <= max_loss:
        raise CheckFailure(f"train_char_lm: held-out loss {loss:.3f} nats/char, the target is <= {max_loss} "
                           f"(a unigram model gets about 3.0): train longer within the budget, a higher learning "
                           f"rate with clipping, and carry the hidden state between batches\n  case: {case}")
    return loss

