"""``MultiheadAttention``: several sets of sticky notes (queries, keys, values) read in parallel.

The semantics of ``torch.nn.MultiheadAttention`` (no dropout, no bias_kv, same
embedding size for query, key and value):

1. packed in-projection: ``[q | k | v] = x @ in_proj_weight^T + in_proj_bias``, with
   ``in_proj_weight`` (3E, E) holding W_q, W_k, W_v stacked;
2. split the E features into ``num_heads`` heads of ``head_dim = E / num_heads``:
   (N, L, E) -> (N, h, L, head_dim);
3. scaled dot-product attention in every head at once (``course.attention``);
4. merge the heads back: (N, h, L, head_dim) -> (N, L, E);
5. out-projection ``out_proj`` (a ``Linear(E, E)``).

The masks follow torch's ``MultiheadAttention`` convention, which is the OPPOSITE of
``scaled_dot_product_attention``'s for booleans: here **True = masked out (not allowed)**;
float masks are added to the scores.
"""
from __future__ import annotations

import math

import numpy as np

from course import attention as A
from course.nn.layers import Linear, matmul_2d
from course.nn.module import Module, Parameter, _rng

__all__ = ["MultiheadAttention"]


def _as_additive(mask, dtype, name):
    """torch MHA convention: boolean True = masked -> -inf; float: added as is."""
    mask = np.asarray(mask)
    if mask.dtype == np.bool_:
        return np.where(mask, -np.inf, 0.0).astype(dtype)
    if mask.dtype.kind != "f":
        raise ValueError(f"{name} must be boolean (True = masked out, as torch.nn.MultiheadAttention) or float "
                         f"(added to the scores), got dtype {mask.dtype}")
    return mask.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """``MultiheadAttention(embed_dim, num_heads, bias=True, batch_first=False, rng=None, dtype=float64)``.

    Parameters (torch's names): ``in_proj_weight`` (3E, E) Xavier-uniform, ``in_proj_bias``
    (3E,) zeros, ``out_proj.weight`` (E, E), ``out_proj.bias`` (E,) zeros.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (attn_output, attn_weights)``

    - query (N, L, E), key and value (N, S, E) if ``batch_first`` else (L, N, E), (S, N, E);
      unbatched (L, E), (S, E) also work. attn_output: the query's shape.
    - key_padding_mask (N, S): True (or -inf) marks padding keys that no query may look at.
    - attn_mask (L, S) or (N * num_heads, L, S): True (or -inf) = query i may not look at key j.
    - is_causal: with ``attn_mask=None``, use the causal mask (query i sees keys 0..i);
      with an ``attn_mask``, it is only a hint, as in torch, and the mask is used.
    - attn_weights: (N, L, S) averaged over heads, (N, num_heads, L, S) with
      ``average_attn_weights=False``, or None with ``need_weights=False``.
    - A query whose keys are all masked gets output ``out_proj.bias`` and weights 0
      (torch's MultiheadAttention gives NaN there).

    ``backward(grad_output) -> (grad_query, grad_key, grad_value)``, always three
    arrays. **Self-attention**: when one array x was passed as query, key and value, its
    gradient is the sum of the three: ``sum(mha.backward(g))`` (``TransformerBlock`` does that).
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, batch_first: bool = False,
                 rng=None, dtype=np.float64):
        if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads:
            raise ValueError(f"embed_dim must be divisible by num_heads (each head gets embed_dim / num_heads "
                             f"features), got embed_dim={embed_dim}, num_heads={num_heads}")
        rng = _rng(rng)
        E = self.embed_dim = int(embed_dim)
        self.num_heads, self.head_dim = int(num_heads), E // num_heads
        self.batch_first = bool(batch_first)
        bound = math.sqrt(6.0 / (E + 3 * E))                   # xavier_uniform_ on the (3E, E) matrix
        self.in_proj_weight = Parameter(rng.uniform(-bound, bound, (3 * E, E)), dtype)
        self.in_proj_bias = Parameter(np.zeros(3 * E), dtype) if bias else None
        self.out_proj = Linear(E, E, bias=bias, rng=rng, dtype=dtype)
        if bias:
            self.out_proj.bias.data[...] = 0

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"

    # ------------------------------------------------------------ layout helpers
    def _to_batch_first(self, x, name):
        x = np.asarray(x)
        if x.ndim == 2:
            return x[None]
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
            raise ValueError(f"MultiheadAttention(embed_dim={self.embed_dim}) expects {name} of shape {layout} "
                             f"or (L, E) with E = {self.embed_dim}, got {x.shape}")
        return x if self.batch_first else x.swapaxes(0, 1)

    def _from_batch_first(self, y, unbatched):
        if unbatched:
            return y[0]
        return y if self.batch_first else y.swapaxes(0, 1)

    def _split(self, x):
        """(N, L, E) -> (N, h, L, head_dim): head j gets features j*head_dim .. (j+1)*head_dim - 1."""
        N, L, _ = x.shape
        return x.reshape(N, L, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def _merge(self, x):
        """(N, h, L, head_dim) -> (N, L, E), the inverse of ``_split``."""
        N, _, L, _ = x.shape
        return x.transpose(0, 2, 1, 3).reshape(N, L, self.embed_dim)

    def _project(self, x, i):
        """x @ W_i^T + b_i for i = 0 (query), 1 (key), 2 (value)."""
        E = self.embed_dim
        y = matmul_2d(x, self.in_proj_weight.data[i * E:(i + 1) * E].T)
        if self.in_proj_bias is not None:
            y += self.in_proj_bias.data[i * E:(i + 1) * E]
        return y

    def _mask(self, key_padding_mask, attn_mask, is_causal, N, L, S, dtype):
        """One additive mask broadcastable to (N, h, L, S), or None."""
        if attn_mask is None and is_causal:
            attn_mask = ~A.causal_mask(L, S)                          # True = masked, torch MHA style
        total = None
        if attn_mask is not None:
            m = _as_additive(attn_mask, dtype, "attn_mask")
            if m.shape == (L, S):
                total = m
            elif m.shape == (N * self.num_heads, L, S):
                total = m.reshape(N, self.num_heads, L, S)
            else:
                raise ValueError(f"attn_mask must be (L, S) = ({L}, {S}) or (N * num_heads, L, S) = "
                                 f"({N * self.num_heads}, {L}, {S}), got {m.shape}")
        if key_padding_mask is not None:
            m = _as_additive(key_padding_mask, dtype, "key_padding_mask")
            if m.shape != (N, S):
                raise ValueError(f"key_padding_mask must be (N, S) = ({N}, {S}): one flag per key of each "
                                 f"sequence, got {m.shape}")
            m = m[:, None, None, :]
            total = m if total is None else total + m
        return total

    # ------------------------------------------------------------ forward / backward
    def __call__(self, *inputs, **options):
        return self.forward(*inputs, **options)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True, is_causal: bool = False):
        self_attention = query is key and key is value
        unbatched = np.ndim(query) == 2
        q_in = self._to_batch_first(query, "query")
        k_in = q_in if self_attention else self._to_batch_first(key, "key")
        v_in = q_in if self_attention else self._to_batch_first(value, "value")
        if k_in.shape != v_in.shape or k_in.shape[0] != q_in.shape[0]:
            raise ValueError(f"key and value must have the same shape and the query's batch size: got query "
                             f"{np.shape(query)}, key {np.shape(key)}, value {np.shape(value)}")
        N, L, E = q_in.shape
        S = k_in.shape[1]
        if self_attention:                                            # one packed matrix product
            qkv = matmul_2d(q_in, self.in_proj_weight.data.T)
            if self.in_proj_bias is not None:
                qkv += self.in_proj_bias.data
            q, k, v = qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        else:
            q, k, v = self._project(q_in, 0), self._project(k_in, 1), self._project(v_in, 2)
        q, k, v = self._split(q), self._split(k), self._split(v)     # (N, h, L or S, head_dim)
        add_mask = self._mask(key_padding_mask, attn_mask, is_causal, N, L, S, q.dtype)
        scale = 1.0 / math.sqrt(self.head_dim)
        o, weights = A._forward(q, k, v, add_mask, scale)             # the six steps, every head at once
        merged = self._merge(o)
        out = self.out_proj.forward(merged)
        self.save_for_backward(q_in, k_in, v_in, q, k, v, o, weights, unbatched, self_attention)
        w = None
        if need_weights:
            w = weights.mean(axis=1) if average_attn_weights else weights.copy()
            w = w[0] if unbatched else w
        return self._from_batch_first(out, unbatched), w

    def backward(self, grad_output):
        q_in, k_in, v_in, q, k, v, o, weights, unbatched, self_attention = self.pop_saved()
        g = np.asarray(grad_output)
        g = g[None] if unbatched else (g if self.batch_first else g.swapaxes(0, 1))
        g_merged = self.out_proj.backward(g)                          # (N, L, E)
        dq, dk, dv = A._backward(self._split(g_merged), q, k, v, o, weights, 1.0 / math.sqrt(self.head_dim))
        E = self.embed_dim
        grads = []
        for i, (d, x) in enumerate(((dq, q_in), (dk, k_in), (dv, v_in))):
            d = self._merge(d)                                        # (N, L or S, E)
            d2 = d.reshape(-1, E)
            self.in_proj_weight.grad[i * E:(i + 1) * E] += d2.T @ x.reshape(-1, E)
            if self.in_proj_bias is not None:
                self.in_proj_bias.grad[i * E:(i + 1) * E] += d2.sum(axis=0)
            grads.append(self._from_batch_first(matmul_2d(d, self.in_proj_weight.data[i * E:(i + 1) * E]), unbatched))
        return tuple(grads)
