"""``Embedding``: a lookup table of vectors, one row per token id (``torch.nn.Embedding``).

The layer holds a matrix ``weight`` of shape (num_embeddings, embedding_dim) = (V, D).
Looking up id ``i`` returns row ``weight[i]``: the same as multiplying the one-hot
vector of ``i`` by ``weight`` (``course.embeddings.one_hot(i, V) @ weight``), without
building the one-hot vector.

Backward: every *occurrence* of an id uses the same row, so the row's gradient is
the **sum** of the upstream gradients of all its occurrences. ``weight.grad[ids] += g``
would be wrong: NumPy's fancy-index assignment writes each repeated index once (the
last write wins). ``np.add.at`` adds once per occurrence.
"""
from __future__ import annotations

import numpy as np

from course.nn.module import Module, Parameter, _rng

__all__ = ["Embedding"]


class Embedding(Module):
    """A (V, D) table of vectors: ids of any shape (*) -> vectors (*, D).

    ``Embedding(num_embeddings, embedding_dim, padding_idx=None, rng=None, dtype=float64)``.
    ``weight``: (num_embeddings, embedding_dim), initialised N(0, 1) as in torch; the row
    ``padding_idx`` (if given; negative counts from the end as in torch) is zero and
    receives no gradient, so padding tokens stay the zero vector.

    ``forward(ids)``: ids (*) integers in [0, V) -> (*, D). Caches the ids.
    ``backward(grad_output)``: grad_output (*, D); adds into ``weight.grad`` once per
    occurrence of each id (repeated ids accumulate) and returns ``None``: the ids are
    integers, they have no gradient.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 rng=None, dtype=np.float64):
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(f"Embedding needs num_embeddings, embedding_dim >= 1, "
                             f"got ({num_embeddings}, {embedding_dim})")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx must be within num_embeddings: -{num_embeddings} <= "
                                 f"padding_idx < {num_embeddings}, got {padding_idx}")
            padding_idx = int(padding_idx) % num_embeddings
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = padding_idx
        self.weight = Parameter(_rng(rng).standard_normal((num_embeddings, embedding_dim)), dtype)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"

    def forward(self, ids):
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise ValueError(f"Embedding expects integer ids, got dtype {ids.dtype} of shape {ids.shape}: "
                             "convert token ids with ids.astype(np.int64) (floats are not indices)")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(f"Embedding({self.num_embeddings}, {self.embedding_dim}) got ids in "
                             f"[{ids.min()}, {ids.max()}]: every id must be in [0, {self.num_embeddings}); "
                             "map unknown words to an <unk> id first")
        self.save_for_backward(ids)
        return self.weight.data[ids]                      # (*, D): one row per id

    def backward(self, grad_output):
        ids = self.pop_saved()
        g = np.asarray(grad_output).reshape(-1, self.embedding_dim)   # (N, D), N = ids.size
        flat = ids.reshape(-1)
        if self.padding_idx is not None:
            keep = flat != self.padding_idx
            flat, g = flat[keep], g[keep]
        np.add.at(self.weight.grad, flat, g)              # one addition per occurrence
        return None
