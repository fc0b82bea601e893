"""Losses: ``CrossEntropyLoss`` (alias ``SoftmaxCrossEntropy``) for classifiers and language models."""
from __future__ import annotations

import numpy as np

from course.nn.module import Module

__all__ = ["CrossEntropyLoss", "SoftmaxCrossEntropy", "log_softmax"]


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log softmax`` along ``axis``, with the log-sum-exp shift (the row max becomes 0),
    so logits of any size never overflow."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class CrossEntropyLoss(Module):
    """Mean cross-entropy of softmax(logits) against integer targets.

    ``forward(logits, targets)``:

    - classification: logits (N, C), targets (N,);
    - language models: logits (N, T, V), targets (N, T) — one prediction per token.

    The class axis is always the *last* one (torch's ``cross_entropy`` wants it at
    axis 1: compare with ``F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))``).
    The loss is ``mean over counted tokens of [ log sum_k exp(z_k) - z_target ]``;
    tokens whose target equals ``ignore_index`` (padding) are not counted, in the
    loss nor in the mean — torch's ``ignore_index`` and ``reduction="mean"``.
    ``self.last_count`` is the number of tokens counted (for per-token averages
    over many batches).

    ``backward(grad_output=1.0)`` -> grad_logits, shaped like logits:
    ``grad_output * (softmax(logits) - onehot(targets)) / count``, zero on ignored
    tokens (targets get no gradient). Caches the probabilities and the targets.
    """

    def __init__(self, ignore_index: int = -100):
        self.ignore_index = int(ignore_index)
        self.last_count = 0

    def extra_repr(self) -> str:
        return f"ignore_index={self.ignore_index}" if self.ignore_index != -100 else ""

    def _check(self, logits: np.ndarray, targets: np.ndarray) -> None:
        name = type(self).__name__
        if logits.ndim not in (2, 3):
            raise ValueError(f"{name} expects logits of shape (N, C) or (N, T, V), got {logits.shape}")
        if targets.shape != logits.shape[:-1]:
            axes = "(N,)" if logits.ndim == 2 else "(N, T)"
            raise ValueError(
                f"targets must have shape {axes} = {logits.shape[:-1]} to match logits {logits.shape} "
                f"(one class index per row of the last axis), got {targets.shape}")
        if targets.dtype.kind not in "iu":
            raise ValueError(f"targets must be integer class indices, got dtype {targets.dtype}: use y.astype(np.int64)")
        k = logits.shape[-1]
        counted = targets[targets != self.ignore_index]
        if counted.size and (counted.min() < 0 or counted.max() >= k):
            raise ValueError(f"targets must lie in [0, {k}) for {k} classes (or equal ignore_index="
                             f"{self.ignore_index}), got values in [{counted.min()}, {counted.max()}]")

    def forward(self, logits, targets):
        logits, targets = np.asarray(logits), np.asarray(targets)
        self._check(logits, targets)
        k = logits.shape[-1]
        z = logits.reshape(-1, k)                                  # (M, K): one row per token
        t = targets.reshape(-1)                                    # (M,)
        keep = t != self.ignore_index                              # (M,) tokens that count
        rows, cols = np.arange(t.size), np.where(keep, t, 0)
        shifted = z - z.max(axis=-1, keepdims=True)               # log-sum-exp shift: no overflow
        probs = np.exp(shifted)
        total = probs.sum(axis=-1, keepdims=True)
        picked = shifted[rows, cols] - np.log(total[:, 0])          # log softmax at the targets only
        probs /= total                                             # softmax, kept for backward
        self.last_count = count = int(keep.sum())
        self.save_for_backward(probs, t, keep, logits.shape)
        if count == 0:                                             # torch gives nan; we say 0 tokens, 0 loss
            return 0.0
        return float(-(picked * keep).sum() / count)

    def backward(self, grad_output=1.0):
        probs, t, keep, shape = self.pop_saved()
        grad = probs            # the cache is popped: overwrite it in place (a V-wide copy saved)
        grad[np.arange(t.size), np.where(keep, t, 0)] -= 1.0
        grad *= keep[:, None] * (np.asarray(grad_output, dtype=probs.dtype) / max(int(keep.sum()), 1))
        return grad.reshape(shape)


#: The name Unit 2 teaches (softmax and cross-entropy in one module, so the
#: gradient is the famous ``p - y``); the same class.
SoftmaxCrossEntropy = CrossEntropyLoss
