"""Scaled dot-product attention, forward and backward, and a stable softmax.

Attention in six steps (the seed's "three sticky notes": every position
writes a *query* "what am I looking for?", a *key* "what do I contain?" and a
*value* "what I hand over if you pick me"):

1. queries, keys, values: ``query (..., L, E)``, ``key (..., S, E)``, ``value (..., S, Ev)``;
2. dot products: ``scores = query @ key^T``, one number per (query, key) pair, ``(..., L, S)``;
3. scaling: ``scores / sqrt(d_k)`` with ``d_k = E`` (or ``scale``), so the scores keep a
   variance near 1 whatever ``E`` is and the softmax does not saturate;
4. softmax over the keys (the last axis), after the mask: each row of weights sums to 1;
5. weighting the values: each value vector is multiplied by its weight;
6. summing the weighted values: ``out = weights @ value``, ``(..., L, Ev)``.

(Steps 5 and 6 are one matrix product: a row of ``weights @ value`` *is* the
sum of the value rows, each times its weight.)

The names and semantics are PyTorch's:

- ``softmax(x, dim=-1, mask=None)`` / ``log_softmax``: shift by the maximum so
  ``exp`` never overflows (logits of 1e4 are fine). ``mask`` (boolean, True =
  take part) and ``-inf`` entries get weight exactly 0. **A fully masked row**
  (every entry masked or ``-inf``) gives weights of 0 everywhere (softmax) and
  ``-inf`` everywhere (log_softmax), not NaN; its gradient is 0.
- ``scaled_dot_product_attention(query, key, value, attn_mask=None, is_causal=False, scale=None)``
  as ``torch.nn.functional.scaled_dot_product_attention`` (no dropout):
  a boolean ``attn_mask`` says which keys each query may look at (True = take
  part), a float ``attn_mask`` is *added* to the scaled scores; ``is_causal``
  uses the lower-triangular mask ``tril(ones(L, S))`` (query i sees keys 0..i);
  ``scale`` defaults to ``1 / sqrt(E)``. Leading batch axes broadcast. A query
  whose keys are all masked gets an output of 0 (as torch's SDPA does).
- ``scaled_dot_product_attention_backward(grad_output, query, key, value, ...)``
  returns ``(grad_query, grad_key, grad_value)``, each of its input's shape.

``attention(query, key, value, ...)`` returns ``(output, weights)`` for
plotting attention maps; ``causal_mask(L, S)`` is the boolean mask.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "softmax", "softmax_backward", "log_softmax", "causal_mask", "attention",
    "scaled_dot_product_attention", "scaled_dot_product_attention_backward",
]


# ============================================================== softmax
def _fill_masked(x: np.ndarray, mask) -> np.ndarray:
    """x with -inf where ``mask`` (boolean, True = take part) is False."""
    if mask is None:
        return x
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise ValueError(f"softmax's mask must be boolean (True = take part), got dtype {mask.dtype}; "
                         "for an additive float mask add it to x yourself")
    return np.where(mask, x, -np.inf).astype(x.dtype, copy=False)


def _float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def softmax(x, dim: int = -1, mask=None) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably.

    x: any shape; mask: boolean, broadcastable to x, True = take part (False
    entries get weight 0). Each row sums to 1, except a fully masked row
    (all False or all -inf), which is all zeros (stated; torch's plain softmax
    gives NaN there, its scaled_dot_product_attention gives 0 like this).
    """
    x = _fill_masked(_float(x), mask)
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)  # fully masked row: no shift
    e = np.exp(x - m)                                   # the shift: every exponent <= 0, no overflow
    z = np.sum(e, axis=dim, keepdims=True)
    return e / np.where(z > 0, z, 1.0).astype(x.dtype, copy=False)


def softmax_backward(grad_output, y, dim: int = -1) -> np.ndarray:
    """d loss / d x of ``y = softmax(x)`` from d loss / d y: ``y * (g - sum(g * y))``.

    Masked entries have y = 0, so they get gradient 0 (a fully masked row too).
    """
    return y * (grad_output - np.sum(grad_output * y, axis=dim, keepdims=True))


def log_softmax(x, dim: int = -1, mask=None) -> np.ndarray:
    """``x - log(sum(exp(x)))`` along ``dim``, stably (the log-sum-exp trick).

    Masked entries are -inf (log of weight 0); a fully masked row is all -inf
    (stated: its probabilities are all 0, there is nothing to normalise).
    """
    x = _fill_masked(_float(x), mask)
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)
    z = np.sum(np.exp(x - m), axis=dim, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x - m - np.log(z)
    return np.where(z > 0, out, -np.inf).astype(x.dtype, copy=False)


# ============================================================== masks
def causal_mask(L: int, S: int | None = None) -> np.ndarray:
    """(L, S) boolean, True on and below the diagonal: query i may look at keys 0..i.

    The same as torch's ``is_causal=True``: ``torch.ones(L, S).tril()``.
    """
    S = L if S is None else S
    return np.tril(np.ones((L, S), dtype=bool))


def _check_shapes(query, key, value):
    query, key, value = _float(query), _float(key), _float(value)
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"attention expects query (..., L, E), key (..., S, E), value (..., S, Ev); got "
                         f"{query.shape}, {key.shape}, {value.shape}: add a batch or sequence axis")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"query (..., L, E) and key (..., S, E) must share E to be dotted: got "
                         f"{query.shape} and {key.shape}; project them to the same size first")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"key (..., S, E) and value (..., S, Ev) must have the same S (one value per key): "
                         f"got {key.shape} and {value.shape}")
    return query, key, value


def _additive_mask(attn_mask, is_causal: bool, L: int, S: int, dtype):
    """The mask as something to ADD to the scores (0 = take part, -inf = masked), or None."""
    if is_causal:
        if attn_mask is not None:
            raise ValueError("pass either attn_mask or is_causal=True, not both (as in torch); "
                             "to combine them, AND your boolean mask with causal_mask(L, S)")
        attn_mask = causal_mask(L, S)
    if attn_mask is None:
        return None
    attn_mask = np.asarray(attn_mask)
    if attn_mask.ndim < 2 or attn_mask.shape[-2:] not in ((L, S), (1, S), (L, 1), (1, 1)):
        raise ValueError(f"attn_mask must broadcast to (..., L, S) = (..., {L}, {S}), got {attn_mask.shape}")
    if attn_mask.dtype == np.bool_:  # True = take part
        return np.where(attn_mask, 0.0, -np.inf).astype(dtype)
    return attn_mask.astype(dtype, copy=False)


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


# ============================================================== the forward pass
def _forward(query, key, value, add_mask, scale):
    """The six steps; returns (output, weights). Inputs already checked."""
    # 1. queries, keys and values arrive as query (..., L, E), key (..., S, E), value (..., S, Ev)
    # 2. dot products and 3. scaling by 1/sqrt(d_k) (applied to the small query, not the big score matrix)
    scores = (query * query.dtype.type(scale)) @ np.swapaxes(key, -1, -2)      # (..., L, S)
    if add_mask is not None:
        if np.broadcast_shapes(scores.shape, add_mask.shape) == scores.shape:
            scores += add_mask                                                 # masked scores -> -inf
        else:                                                                  # the mask adds batch axes
            scores = scores + add_mask
    # 4. softmax over the keys, stable (in place: the score matrix is the big array)
    m = scores.max(axis=-1, keepdims=True)
    m[~np.isfinite(m)] = 0                                                     # fully masked row: no shift
    scores -= m
    weights = np.exp(scores, out=scores)
    z = weights.sum(axis=-1, keepdims=True)
    z[z == 0] = 1                                                              # fully masked row: weights 0
    weights /= z
    # 5. weighting the values and 6. summing them: one matrix product
    out = weights @ value                                                      # (..., L, Ev)
    return out, weights


def _backward(grad_output, query, key, value, out, weights, scale):
    """Gradients of the six steps, in reverse. Returns (dq, dk, dv) of the broadcast shapes."""
    g = grad_output
    # 6./5. out = weights @ value
    grad_value = np.swapaxes(weights, -1, -2) @ g                              # (..., S, Ev)
    grad_w = g @ np.swapaxes(value, -1, -2)                                    # (..., L, S)
    # 4. softmax: ds = w * (dw - sum_s w dw); the row sum equals sum_e g * out (one fewer big pass)
    grad_w -= np.sum(g * out, axis=-1, keepdims=True)
    grad_s = np.multiply(grad_w, weights, out=grad_w)                          # masked: w = 0 -> grad 0
    # 3./2. scores = (scale * q) @ k^T
    s = grad_s.dtype.type(scale)
    grad_query = (grad_s @ key) * s                                            # (..., L, E)
    grad_key = (np.swapaxes(grad_s, -1, -2) @ query) * s                       # (..., S, E)
    return grad_query, grad_key, grad_value


def _prepare(query, key, value, attn_mask, is_causal, scale):
    query, key, value = _check_shapes(query, key, value)
    dtype = np.result_type(query, key, value)
    query, key, value = (a.astype(dtype, copy=False) for a in (query, key, value))
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    return query, key, value, _additive_mask(attn_mask, is_causal, L, S, dtype), scale


def attention(query, key, value, attn_mask=None, is_causal: bool = False, scale=None):
    """``(output (..., L, Ev), weights (..., L, S))``: scaled dot-product attention and its weights."""
    query, key, value, add_mask, scale = _prepare(query, key, value, attn_mask, is_causal, scale)
    return _forward(query, key, value, add_mask, scale)


def scaled_dot_product_attention(query, key, value, attn_mask=None, is_causal: bool = False, scale=None):
    """``softmax(query @ key^T * scale + mask) @ value``, as ``torch.nn.functional.scaled_dot_product_attention``.

    query: (..., L, E), key: (..., S, E), value: (..., S, Ev) -> (..., L, Ev);
    leading axes broadcast. attn_mask: boolean (True = take part) or float
    (added to the scaled scores), broadcastable to (..., L, S). is_causal:
    query i sees keys 0..i (cannot be combined with attn_mask). scale:
    default 1/sqrt(E). A query with every key masked gets output 0.
    """
    return attention(query, key, value, attn_mask, is_causal, scale)[0]


def scaled_dot_product_attention_backward(grad_output, query, key, value, attn_mask=None,
                                          is_causal: bool = False, scale=None):
    """``(grad_query, grad_key, grad_value)`` of ``scaled_dot_product_attention`` (same arguments).

    grad_output: (..., L, Ev), d loss / d output. Recomputes the forward (the
    weights are not stored). Masked positions get zero gradient; so do the
    keys and values a fully masked query never looked at.
    """
    query, key, value, add_mask, scale = _prepare(query, key, value, attn_mask, is_causal, scale)
    out, weights = _forward(query, key, value, add_mask, scale)
    grad_output = np.asarray(grad_output, dtype=out.dtype)
    if grad_output.shape != out.shape:
        raise ValueError(f"grad_output must have the output's shape {out.shape}, got {grad_output.shape}")
    dq, dk, dv = _backward(grad_output, query, key, value, out, weights, scale)
    return _unbroadcast(dq, query.shape), _unbroadcast(dk, key.shape), _unbroadcast(dv, value.shape)
