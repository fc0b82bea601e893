"""Recurrent networks: the vanilla RNN and the LSTM, forward and backward (BPTT).

CS231n-style pairs: each ``*_forward`` returns its result and a ``cache``; the
matching ``*_backward`` takes the upstream gradient and the cache. Names and
semantics are PyTorch's (``torch.nn.RNN`` / ``torch.nn.LSTM``):

- parameters ``weight_ih (G*H, I)``, ``weight_hh (G*H, H)``, ``bias_ih (G*H,)``,
  ``bias_hh (G*H,)`` with G = 1 for the RNN and G = 4 for the LSTM, whose gate
  blocks are stacked in the order **i, f, g, o** (input, forget, cell, output);
- sequences are time-major, ``x: (T, N, I)`` (``batch_first`` is handled by
  the modules in ``course.nn.recurrent``);
- a stack of layers names its parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``,
  ``bias_ih_l{k}``, ``bias_hh_l{k}`` and, for the reverse direction of a
  bidirectional layer, the same with the suffix ``_reverse``.

The vanilla cell, in the seed's notation (W_xh is torch's ``weight_ih``, W_hh
its ``weight_hh``, b_h = ``bias_ih + bias_hh``)::

    h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)          y_t = W_yh h_t + b_y

With T = 1 and h_0 = 0 the recurrent term vanishes and this is exactly a
feed-forward network with one hidden layer, ``y = W_yh tanh(W_xh x + b_h) + b_y``.
A longer sequence applies the *same* W_xh, W_hh, b_h at every step, so one set
of parameters handles any length T; backpropagation through time (BPTT) adds
up each parameter's gradient over the T steps.

The LSTM cell (gates i, f, g, o; sigma the logistic sigmoid)::

    i = sigma(W_ii x + b_ii + W_hi h + b_hi)     f = sigma(W_if x + ... )
    g = tanh (W_ig x + ... )                     o = sigma(W_io x + ... )
    c_t = f * c_{t-1} + i * g                    h_t = o * tanh(c_t)

Variable lengths: ``lengths`` (N,) gives each sequence's length (<= T) in a
padded batch. Past its end a sequence's state stops changing, its outputs are
zero and ``h_n`` is its state at its last real step; the reverse direction of
a bidirectional layer starts at each sequence's own last step. This is what
torch computes on a ``pack_padded_sequence`` (``pad_packed_sequence`` pads with
zeros).

Functions:

- one step: ``rnn_cell_forward``/``rnn_cell_backward``, ``lstm_cell_forward``/``lstm_cell_backward``;
- one layer, one direction, over a sequence: ``rnn_forward``/``rnn_backward``,
  ``lstm_forward``/``lstm_backward`` (the input projection of all T steps is one
  matrix product outside the loop over time: it does not depend on h);
- the output layer ``y_t = W_yh h_t + b_y``: ``output_forward``/``output_backward``;
- stacks (``num_layers``) and directions (``bidirectional``):
  ``multilayer_forward``/``multilayer_backward``, which ``course.nn.RNN`` and
  ``course.nn.LSTM`` call; ``reverse_padded`` flips each sequence within its length;
- ``length_mask(lengths, T)`` and ``grad_norm_per_step`` for the vanishing /
  exploding-gradient measurements.
"""
from __future__ import annotations

import contextlib

import numpy as np

__all__ = [
    "rnn_cell_forward", "rnn_cell_backward", "lstm_cell_forward", "lstm_cell_backward",
    "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward",
    "output_forward", "output_backward", "multilayer_forward", "multilayer_backward",
    "reverse_padded", "length_mask", "param_names", "grad_norm_per_step", "sigmoid",
]

NONLINEARITIES = ("tanh", "relu")


# ============================================================== helpers
_BLAS = []


def _one_blas_thread():
    """A context in which BLAS uses one thread (threadpoolctl; a no-op without it).

    The loop over time multiplies small matrices, (N, H) @ (H, G*H), once per step;
    for these a second BLAS thread costs more in synchronisation than it saves
    (measured 7x slower per training step on a busy 2-core machine). The large
    products outside the loop keep every thread."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
            _BLAS.append(ThreadpoolController())
        except Exception:                       # pragma: no cover - threadpoolctl is a dependency
            _BLAS.append(None)
    return contextlib.nullcontext() if _BLAS[0] is None else _BLAS[0].limit(limits=1, user_api="blas")


def sigmoid(a: np.ndarray) -> np.ndarray:
    """The logistic function, as ``(1 + tanh(a / 2)) / 2``: one tanh, no overflow, dtype kept."""
    return 0.5 + 0.5 * np.tanh(0.5 * a)


def _check_nonlinearity(nonlinearity: str) -> None:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def _activate(a: np.ndarray, nonlinearity: str) -> np.ndarray:
    return np.tanh(a, out=a) if nonlinearity == "tanh" else np.maximum(a, 0, out=a)


def _activation_grad(h: np.ndarray, nonlinearity: str) -> np.ndarray:
    """d h / d a from the *output* h: tanh' = 1 - h^2, relu' = (h > 0)."""
    return 1 - h * h if nonlinearity == "tanh" else (h > 0).astype(h.dtype)


def length_mask(lengths, T: int) -> np.ndarray:
    """(T, N) boolean mask, True where step t < lengths[n] (a real, not padded, step).

    ``lengths``: (N,) ints in [1, T]."""
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
        raise ValueError(f"lengths must be a 1-D array of ints (one length per sequence), got {lengths!r}")
    if lengths.size and (lengths.min() < 1 or lengths.max() > T):
        raise ValueError(f"lengths must lie in [1, T] = [1, {T}] for a padded batch of T = {T} steps, "
                         f"got values in [{lengths.min()}, {lengths.max()}]")
    return np.arange(T)[:, None] < lengths[None, :]


def reverse_padded(x: np.ndarray, lengths=None) -> np.ndarray:
    """Each sequence of ``x (T, N, ...)`` reversed within its own length; padding stays in place.

    Without ``lengths`` this is ``x[::-1]``. It is its own inverse."""
    if lengths is None:
        return x[::-1]
    T, N = x.shape[:2]
    lengths = np.asarray(lengths)
    t = np.arange(T)[:, None]
    src = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)   # (T, N)
    return x[src, np.arange(N)[None, :]]


def _check_seq(x, h0, weight_ih, weight_hh, gates: int, name: str) -> None:
    if x.ndim != 3:
        raise ValueError(f"{name} expects x of shape (T, N, I) (time-major; batch_first is the modules' job), "
                         f"got {x.shape}")
    GH, I = weight_ih.shape
    H = weight_hh.shape[1]
    if GH != gates * H or weight_hh.shape != (gates * H, H):
        raise ValueError(f"{name}: weight_ih must be ({gates}*H, I) and weight_hh ({gates}*H, H), "
                         f"got {weight_ih.shape} and {weight_hh.shape}")
    if x.shape[2] != I:
        raise ValueError(f"{name}: x has {x.shape[2]} features per step but weight_ih {weight_ih.shape} expects "
                         f"I = {I}: x must be (T, N, {I})")
    if h0 is not None and h0.shape != (x.shape[1], H):
        raise ValueError(f"{name}: the initial state must be (N, H) = ({x.shape[1]}, {H}), got {h0.shape}")


def _bias_sum(bias_ih, bias_hh):
    if bias_ih is None and bias_hh is None:
        return None
    if bias_ih is None:
        return bias_hh
    return bias_ih if bias_hh is None else bias_ih + bias_hh


def _input_projection(x, weight_ih, bias_ih, bias_hh) -> np.ndarray:
    """x W_ih^T + b_ih + b_hh for all T*N rows at once: (T, N, I) -> (T, N, G*H)."""
    T, N, I = x.shape
    xw = (x.reshape(T * N, I) @ weight_ih.T).reshape(T, N, -1)
    b = _bias_sum(bias_ih, bias_hh)
    if b is not None:
        xw += b
    return xw


def _weight_grads(da, x, h_prev, bias: bool) -> dict:
    """Parameter gradients of a layer from its pre-activation gradients ``da (T, N, G*H)``,
    summed over every step and sequence: dW_ih = sum_t da_t^T x_t, dW_hh = sum_t da_t^T h_{t-1}."""
    T, N, GH = da.shape
    da2 = da.reshape(T * N, GH)
    grads = {
        "weight_ih": da2.T @ x.reshape(T * N, -1),
        "weight_hh": da2.T @ h_prev.reshape(T * N, -1),
    }
    if bias:
        grads["bias_ih"] = da2.sum(axis=0)
        grads["bias_hh"] = grads["bias_ih"].copy()
    return grads


def grad_norm_per_step(grad_h: np.ndarray) -> np.ndarray:
    """||dL/dh_t|| for each step t: ``grad_h (T, N, H)`` -> (T,) (the norm over batch and hidden units).

    The sequence backward functions return ``grad_h`` (the total gradient reaching
    each h_t, from its output and from the next step) in their ``grads`` dict under
    ``"h"``; plotting this against t shows gradients vanishing or exploding."""
    T = grad_h.shape[0]
    return np.sqrt(np.sum(grad_h.reshape(T, -1).astype(np.float64) ** 2, axis=1))


# ============================================================== vanilla RNN: one step
def rnn_cell_forward(x, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """One step of a vanilla RNN: ``h = tanh(x W_ih^T + b_ih + h_prev W_hh^T + b_hh)``.

    x: (N, I), h_prev: (N, H), weight_ih: (H, I), weight_hh: (H, H), biases (H,) or None.
    Returns ``h (N, H)`` and the cache for ``rnn_cell_backward``.

    With ``h_prev = 0`` this is one hidden layer of a feed-forward net,
    ``tanh(x W_ih^T + b)``: the recurrence is the only new ingredient.
    ``nonlinearity``: "tanh" (default) or "relu".
    """
    _check_nonlinearity(nonlinearity)
    a = x @ weight_ih.T + h_prev @ weight_hh.T
    if bias_ih is not None:
        a = a + bias_ih
    if bias_hh is not None:
        a = a + bias_hh
    h = _activate(a, nonlinearity)
    cache = (x, h_prev, h, weight_ih, weight_hh, nonlinearity, bias_ih is not None)
    return h, cache


def rnn_cell_backward(grad_h, cache):
    """Backward of ``rnn_cell_forward``.

    grad_h: (N, H) = dL/dh. Returns ``(grad_x (N, I), grad_h_prev (N, H),
    grad_weight_ih (H, I), grad_weight_hh (H, H), grad_bias_ih (H,), grad_bias_hh (H,))``
    (the bias gradients are None without biases). The derivative of tanh is taken
    from the *output*: 1 - h^2.
    """
    x, h_prev, h, weight_ih, weight_hh, nonlinearity, bias = cache
    da = grad_h * _activation_grad(h, nonlinearity)          # (N, H) dL/da
    grad_x = da @ weight_ih                                   # (N, I)
    grad_h_prev = da @ weight_hh                              # (N, H)
    grad_w_ih = da.T @ x                                      # (H, I)
    grad_w_hh = da.T @ h_prev                                 # (H, H)
    grad_b = da.sum(axis=0) if bias else None
    return grad_x, grad_h_prev, grad_w_ih, grad_w_hh, grad_b, (None if grad_b is None else grad_b.copy())


# ============================================================== vanilla RNN: a sequence (BPTT)
def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh", lengths=None):
    """A vanilla RNN layer run over a sequence, one direction.

    x: (T, N, I), h0: (N, H) or None (zeros). Returns ``output (T, N, H)`` (h_1..h_T),
    ``h_n (N, H)`` (the last state; per sequence with ``lengths``) and the cache.

    The same as calling ``rnn_cell_forward`` at t = 1..T with the same parameters;
    the input half ``x_t W_ih^T + b`` of every step does not depend on h, so it is
    computed for all steps in one matrix product before the loop over time.
    ``lengths``: (N,) ints, for a padded batch of sequences of different lengths.
    """
    _check_nonlinearity(nonlinearity)
    x = np.asarray(x)
    _check_seq(x, None if h0 is None else np.asarray(h0), weight_ih, weight_hh, 1, "rnn_forward")
    T, N, _ = x.shape
    H = weight_hh.shape[1]
    mask = None if lengths is None else length_mask(lengths, T)
    h_all = np.empty((T + 1, N, H), dtype=weight_hh.dtype)   # h_all[t] = h_{t}, h_all[0] = h0
    h_all[0] = 0 if h0 is None else h0
    a_all = _input_projection(x, weight_ih, bias_ih, bias_hh)  # (T, N, H): becomes the states in place
    w_hh_t = weight_hh.T
    with _one_blas_thread():                             # small products: one thread is faster
        for t in range(T):
            a = a_all[t]
            a += h_all[t] @ w_hh_t
            _activate(a, nonlinearity)
            if mask is None:
                h_all[t + 1] = a
            else:
                h_all[t + 1] = np.where(mask[t][:, None], a, h_all[t])   # a finished sequence keeps its state
    output = h_all[1:] if mask is None else h_all[1:] * mask[:, :, None]
    cache = (x, h_all, weight_ih, weight_hh, nonlinearity, bias_ih is not None, mask)
    return output, h_all[T].copy(), cache


def rnn_backward(grad_output, grad_h_n, cache):
    """Backpropagation through time for ``rnn_forward``.

    grad_output: (T, N, H) or None, grad_h_n: (N, H) or None. Returns
    ``(grad_x (T, N, I), grad_h0 (N, H), grads)`` with ``grads`` a dict of
    ``weight_ih, weight_hh, bias_ih, bias_hh`` (summed over the steps: the same
    parameters are used at every one) and ``"h"``: dL/dh_t (T, N, H), the total
    gradient reaching each state (its own output's plus the next step's).
    """
    x, h_all, weight_ih, weight_hh, nonlinearity, bias, mask = cache
    T, N, H = h_all.shape[0] - 1, h_all.shape[1], h_all.shape[2]
    dtype = h_all.dtype
    g_out = np.zeros((T, N, H), dtype) if grad_output is None else np.asarray(grad_output, dtype)
    if mask is not None:
        g_out = g_out * mask[:, :, None]
    dh = np.zeros((N, H), dtype) if grad_h_n is None else np.array(grad_h_n, dtype)
    da_all = _activation_grad(h_all[1:], nonlinearity)   # (T, N, H) dh_t/da_t, times dh in the loop
    dh_all = np.empty((T, N, H), dtype)
    with _one_blas_thread():                             # small products: one thread is faster
        for t in range(T - 1, -1, -1):
            dh += g_out[t]                                    # from y_t and from step t+1: they add
            dh_all[t] = dh
            da = da_all[t]
            da *= dh                                          # dL/da_t = dL/dh_t * (1 - h_t^2)
            if mask is None:
                dh = da @ weight_hh
            else:
                m = mask[t][:, None]
                da *= m
                dh = da @ weight_hh + dh * ~m                 # a frozen state passes its gradient straight back
    grads = _weight_grads(da_all, x, h_all[:-1], bias)
    grads["h"] = dh_all
    grad_x = (da_all.reshape(T * N, H) @ weight_ih).reshape(T, N, -1)
    return grad_x, dh, grads


# ============================================================== LSTM: one step
def lstm_cell_forward(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step. x: (N, I), h_prev, c_prev: (N, H), weight_ih: (4H, I),
    weight_hh: (4H, H), biases (4H,) or None; gate blocks in the order i, f, g, o.

    Returns ``h (N, H)``, ``c (N, H)`` and the cache::

        i, f, o = sigma(a_i), sigma(a_f), sigma(a_o);  g = tanh(a_g)
        c = f * c_prev + i * g;   h = o * tanh(c)
    """
    H = weight_hh.shape[1]
    a = x @ weight_ih.T + h_prev @ weight_hh.T
    if bias_ih is not None:
        a = a + bias_ih
    if bias_hh is not None:
        a = a + bias_hh
    i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    cache = (x, h_prev, c_prev, i, f, g, o, tc, weight_ih, weight_hh, bias_ih is not None)
    return h, c, cache


def lstm_cell_backward(grad_h, grad_c, cache):
    """Backward of ``lstm_cell_forward``. grad_h, grad_c: (N, H) (grad_c may be None).

    Returns ``(grad_x, grad_h_prev, grad_c_prev, grad_weight_ih, grad_weight_hh,
    grad_bias_ih, grad_bias_hh)``. The cell state's gradient has two sources,
    ``grad_c`` (from the next step) and ``grad_h * o * (1 - tanh(c)^2)``; the
    forget gate carries it back: ``grad_c_prev = dc * f``.
    """
    x, h_prev, c_prev, i, f, g, o, tc, weight_ih, weight_hh, bias = cache
    dc = grad_h * o * (1 - tc * tc)
    if grad_c is not None:
        dc = dc + grad_c
    da = np.concatenate([
        dc * g * i * (1 - i),              # input gate
        dc * c_prev * f * (1 - f),         # forget gate
        dc * i * (1 - g * g),              # cell candidate
        grad_h * tc * o * (1 - o),         # output gate
    ], axis=1)                                                     # (N, 4H)
    grad_b = da.sum(axis=0) if bias else None
    return (da @ weight_ih, da @ weight_hh, dc * f, da.T @ x, da.T @ h_prev,
            grad_b, None if grad_b is None else grad_b.copy())


# ============================================================== LSTM: a sequence (BPTT)
def lstm_forward(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None):
    """An LSTM layer over a sequence, one direction.

    x: (T, N, I); h0, c0: (N, H) or None (zeros). Returns ``output (T, N, H)``,
    ``h_n (N, H)``, ``c_n (N, H)`` and the cache. The same as ``lstm_cell_forward``
    at every step; the input projection of all steps is one matrix product, and the
    gates are kept in one preallocated (T, N, 4H) buffer.
    """
    x = np.asarray(x)
    _check_seq(x, None if h0 is None else np.asarray(h0), weight_ih, weight_hh, 4, "lstm_forward")
    if c0 is not None and np.shape(c0) != (x.shape[1], weight_hh.shape[1]):
        raise ValueError(f"lstm_forward: c0 must be (N, H) = ({x.shape[1]}, {weight_hh.shape[1]}), got {np.shape(c0)}")
    T, N, _ = x.shape
    H = weight_hh.shape[1]
    dtype = weight_hh.dtype
    mask = None if lengths is None else length_mask(lengths, T)
    h_all = np.empty((T + 1, N, H), dtype)
    c_all = np.empty((T + 1, N, H), dtype)
    h_all[0] = 0 if h0 is None else h0
    c_all[0] = 0 if c0 is None else c0
    tc_all = np.empty((T, N, H), dtype)
    # sigma(a) = (1 + tanh(a/2)) / 2: with the i, f, o rows of the weights halved, one tanh
    # over all four blocks, then (1 + t) / 2 on the i, f and o blocks.
    scale = np.full(4 * H, 0.5, dtype)
    scale[2 * H:3 * H] = 1
    gates = _input_projection(x, weight_ih, bias_ih, bias_hh)    # (T, N, 4H), activated in place
    gates *= scale
    w_hh_t = (weight_hh * scale[:, None]).T
    with _one_blas_thread():                             # small products: one thread is faster
        for t in range(T):
            a = gates[t]
            a += h_all[t] @ w_hh_t
            np.tanh(a, out=a)
            for block in (a[:, :2 * H], a[:, 3 * H:]):
                block *= 0.5
                block += 0.5
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            c = np.multiply(f, c_all[t], out=c_all[t + 1])
            c += i * g                                            # c_t = f * c_{t-1} + i * g
            tc = np.tanh(c, out=tc_all[t])
            h = np.multiply(o, tc, out=h_all[t + 1])              # h_t = o * tanh(c_t)
            if mask is not None:                                  # a finished sequence keeps its state
                m = mask[t][:, None]
                np.copyto(c, c_all[t], where=~m)
                np.copyto(h, h_all[t], where=~m)
    output = h_all[1:] if mask is None else h_all[1:] * mask[:, :, None]
    cache = (x, h_all, c_all, tc_all, gates, weight_ih, weight_hh, bias_ih is not None, mask)
    return output, h_all[T].copy(), c_all[T].copy(), cache


def lstm_backward(grad_output, grad_h_n, grad_c_n, cache):
    """Backpropagation through time for ``lstm_forward``.

    grad_output: (T, N, H) or None; grad_h_n, grad_c_n: (N, H) or None. Returns
    ``(grad_x (T, N, I), grad_h0 (N, H), grad_c0 (N, H), grads)``; ``grads`` holds
    ``weight_ih, weight_hh, bias_ih, bias_hh`` and ``"h"``: dL/dh_t (T, N, H).

    At step t, with dh = dL/dh_t and dc = dL/dc_t from step t+1::

        dc_t = dc + dh * o * (1 - tanh(c_t)^2)          (two paths into c_t)
        da_o = dh * tanh(c_t) * o (1 - o)
        da_i = dc_t * g * i (1 - i),  da_f = dc_t * c_{t-1} * f (1 - f),  da_g = dc_t * i * (1 - g^2)
        dc_{t-1} = dc_t * f,  dh_{t-1} = da W_hh (+ the output gradient at t-1)

    The factors that do not depend on dh or dc (everything after ``dh *`` / ``dc_t *``)
    are computed for all steps at once before the loop; the loop does only the chain.
    """
    x, h_all, c_all, tc_all, gates, weight_ih, weight_hh, bias, mask = cache
    T, N, H = tc_all.shape
    dtype = h_all.dtype
    g_out = np.zeros((T, N, H), dtype) if grad_output is None else np.asarray(grad_output, dtype)
    if mask is not None:
        g_out = g_out * mask[:, :, None]
    dh = np.zeros((N, H), dtype) if grad_h_n is None else np.array(grad_h_n, dtype)
    dc = np.zeros((N, H), dtype) if grad_c_n is None else np.array(grad_c_n, dtype)
    i, f, g, o = (gates[:, :, k * H:(k + 1) * H] for k in range(4))
    k_c = o * (1 - tc_all * tc_all)                               # d c_t / d h-path: (T, N, H)
    k_o = tc_all * o * (1 - o)                                    # da_o = dh * k_o
    k_ifg = np.empty((T, N, 3, H), dtype)                         # da_{i,f,g} = dc_t * k_ifg
    k_ifg[:, :, 0] = g * i * (1 - i)
    k_ifg[:, :, 1] = c_all[:-1] * f * (1 - f)
    k_ifg[:, :, 2] = i * (1 - g * g)
    da_all = np.empty((T, N, 4 * H), dtype)
    da_blocks = da_all.reshape(T, N, 4, H)                        # a view: da_blocks[t, :, k] is gate k
    dh_all = np.empty((T, N, H), dtype)
    with _one_blas_thread():                             # small products: one thread is faster
        for t in range(T - 1, -1, -1):
            dh += g_out[t]                                            # from h_t's output and from step t+1
            dh_all[t] = dh
            if mask is not None:                                      # a frozen state passes its gradient back
                m = mask[t][:, None]
                dh_skip, dc_skip = dh * ~m, dc * ~m
                dh *= m
                dc *= m
            dct = dh * k_c[t]
            dct += dc
            np.multiply(dct[:, None, :], k_ifg[t], out=da_blocks[t, :, :3])
            np.multiply(dh, k_o[t], out=da_blocks[t, :, 3])
            dc = np.multiply(dct, f[t])                               # through the forget gate to c_{t-1}
            dh = da_all[t] @ weight_hh
            if mask is not None:
                dh += dh_skip
                dc += dc_skip
    grads = _weight_grads(da_all, x, h_all[:-1], bias)
    grads["h"] = dh_all
    grad_x = (da_all.reshape(T * N, 4 * H) @ weight_ih).reshape(T, N, -1)
    return grad_x, dh, dc, grads


# ============================================================== the output layer
def output_forward(h, weight_hy, bias_y=None):
    """The seed's output layer ``y_t = W_yh h_t + b_y`` at every step.

    h: (T, N, H), weight_hy: (V, H), bias_y: (V,). Returns ``y (T, N, V)`` and the cache."""
    y = h @ weight_hy.T
    if bias_y is not None:
        y = y + bias_y
    return y, (h, weight_hy, bias_y is not None)


def output_backward(grad_y, cache):
    """Backward of ``output_forward``: ``(grad_h (T, N, H), grad_weight_hy (V, H), grad_bias_y (V,))``."""
    h, weight_hy, bias = cache
    V, H = weight_hy.shape
    g2 = grad_y.reshape(-1, V)
    grad_b = g2.sum(axis=0) if bias else None
    return grad_y @ weight_hy, g2.T @ h.reshape(-1, H), grad_b


# ============================================================== stacks and directions
def param_names(layer: int, reverse: bool = False, bias: bool = True) -> list[str]:
    """torch's names of one layer-direction's parameters: ``weight_ih_l0``, ..., ``bias_hh_l1_reverse``."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
    return [n + suffix for n in names]


def multilayer_forward(x, params: dict, mode: str = "rnn", num_layers: int = 1, bidirectional: bool = False,
                       h0=None, c0=None, nonlinearity: str = "tanh", lengths=None):
    """A stack of ``num_layers`` RNN (``mode="rnn"``) or LSTM (``mode="lstm"``) layers.

    x: (T, N, I); ``params``: {torch name: array} (``weight_ih_l0``, ..., ``_reverse``);
    h0, c0: (num_layers * D, N, H) or None, D = 2 if bidirectional else 1, index
    ``k * D + d`` for layer k, direction d (0 forward, 1 reverse) as in torch.

    Layer k > 0 reads the outputs of layer k - 1. A bidirectional layer runs one
    pass forward in time and one on the reversed sequence, re-reverses the
    latter's outputs so that position t holds both, and concatenates:
    output[t] = [h_fwd_t, h_rev_t] (D*H features).

    Returns ``output (T, N, D*H)``, ``h_n (num_layers*D, N, H)``, ``c_n`` (LSTM; None
    for the RNN) and the cache for ``multilayer_backward``.
    """
    if mode not in ("rnn", "lstm"):
        raise ValueError(f"mode must be 'rnn' or 'lstm', got {mode!r}")
    D = 2 if bidirectional else 1
    layer_in = np.asarray(x)
    h_n, c_n, caches = [], [], []
    for k in range(num_layers):
        outs = []
        for d in range(D):
            names = param_names(k, reverse=d == 1)
            w_ih, w_hh = params[names[0]], params[names[1]]
            b_ih, b_hh = params.get(names[2]), params.get(names[3])
            inp = layer_in if d == 0 else reverse_padded(layer_in, lengths)
            h_init = None if h0 is None else h0[k * D + d]
            if mode == "rnn":
                out, hn, cache = rnn_forward(inp, h_init, w_ih, w_hh, b_ih, b_hh, nonlinearity, lengths)
            else:
                out, hn, cn, cache = lstm_forward(inp, h_init, None if c0 is None else c0[k * D + d],
                                                  w_ih, w_hh, b_ih, b_hh, lengths)
                c_n.append(cn)
            outs.append(out if d == 0 else reverse_padded(out, lengths))
            h_n.append(hn)
            caches.append(cache)
        layer_in = outs[0] if D == 1 else np.concatenate(outs, axis=2)
    cache = (mode, num_layers, D, lengths, caches)
    return layer_in, np.stack(h_n), (np.stack(c_n) if mode == "lstm" else None), cache


def multilayer_backward(grad_output, cache, grad_h_n=None, grad_c_n=None):
    """Backward of ``multilayer_forward``.

    grad_output: (T, N, D*H) or None; grad_h_n, grad_c_n: (num_layers*D, N, H) or None.
    Returns ``(grad_x (T, N, I), grad_h0, grad_c0, grads)``: grad_h0/grad_c0 shaped
    like h0/c0 (grad_c0 None for the RNN), ``grads`` {torch name: gradient} for every
    parameter of every layer and direction, and ``grads["h_l{k}[_reverse]"]``: the
    per-step dL/dh_t (T, N, H) of each layer-direction (in that direction's own time order).
    """
    mode, num_layers, D, lengths, caches = cache
    grads, g_h0, g_c0 = {}, [None] * (num_layers * D), [None] * (num_layers * D)
    g_layer = grad_output
    for k in range(num_layers - 1, -1, -1):
        g_in = None
        for d in range(D):
            idx = k * D + d
            H = caches[idx][1].shape[2]
            g_out = None if g_layer is None else g_layer[:, :, d * H:(d + 1) * H]
            if d == 1 and g_out is not None:
                g_out = reverse_padded(g_out, lengths)
            gh = None if grad_h_n is None else grad_h_n[idx]
            if mode == "rnn":
                gx, gh0, g = rnn_backward(g_out, gh, caches[idx])
            else:
                gx, gh0, gc0, g = lstm_backward(g_out, gh, None if grad_c_n is None else grad_c_n[idx], caches[idx])
                g_c0[idx] = gc0
            g_h0[idx] = gh0
            if d == 1:
                gx = reverse_padded(gx, lengths)
            g_in = gx if g_in is None else g_in + gx
            suffix = f"_l{k}" + ("_reverse" if d == 1 else "")
            for name, value in g.items():
                grads[name + suffix] = value
        g_layer = g_in
    return g_layer, np.stack(g_h0), (np.stack(g_c0) if mode == "lstm" else None), grads
