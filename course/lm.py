"""What every language model of the course shares: evaluation and the weighted die.

A language model gives, for each position, a probability vector over the
vocabulary (V,): the distribution of the next token. Two things follow from
it, the same for an n-gram table (Unit 3), an RNN (Unit 4) or a Transformer (Unit 5):

Evaluation. The negative log-likelihood of a held-out text, in nats, summed
over the N predicted tokens: ``total_nll = - sum_t log p(x_t | x_<t)``. Then

    perplexity    = exp(total_nll / N)           (exp of the MEAN, never of the sum)
    bits per char = total_nll / (N_chars * ln 2)

``perplexity(total_nll, n_tokens)`` and ``bits_per_char(total_nll, n_chars)``
take the sum and the count, so batches of different sizes add up exactly
(sum the nlls and the counts, divide once). ``nll_from_logits(logits, targets,
ignore_index)`` turns a neural model's logits into that (sum, count) pair with
``course.nn.CrossEntropyLoss``; ``nll_from_probs(probs_of_targets)`` does it for
a table model.

Sampling: the weighted die. ``sample_from(probs, rng, temperature, top_k, top_p)``
rolls a V-sided die whose faces have the probabilities ``probs``: draw
``u ~ Uniform[0, 1)`` and return the first face whose cumulative probability
exceeds ``u`` (the inverse CDF, ``np.searchsorted(np.cumsum(p), u, "right")``).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["perplexity", "bits_per_char", "nll_from_probs", "nll_from_logits", "adjust_probs",
           "sample_from", "sample_logits", "softmax"]

LN2 = math.log(2.0)


def _check_count(n, what):
    if n <= 0:
        raise ValueError(f"{what} must be a positive count of predicted tokens, got {n}: "
                         f"pass the number of tokens the summed nll was taken over")


def perplexity(total_nll: float, n_tokens: int) -> float:
    """``exp(total_nll / n_tokens)``: total_nll in nats summed over n_tokens predictions.

    The geometric-mean branching factor: a model as unsure as a fair V-sided die
    on every token has perplexity V. ``inf`` if a token had probability 0.
    """
    _check_count(n_tokens, "n_tokens")
    mean = float(total_nll) / n_tokens
    return math.inf if mean > 709.0 else math.exp(mean)


def bits_per_char(total_nll: float, n_chars: int) -> float:
    """``total_nll / (n_chars * ln 2)``: mean code length in bits of a character model."""
    _check_count(n_chars, "n_chars")
    return float(total_nll) / (n_chars * LN2)


def nll_from_probs(p) -> tuple[float, int]:
    """``(-sum log p, len(p))`` for the probabilities ``p (N,)`` a model gave the tokens that occurred."""
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    with np.errstate(divide="ignore"):
        return float(-np.log(p).sum()), int(p.size)


def nll_from_logits(logits, targets, ignore_index: int = -100) -> tuple[float, int]:
    """``(summed nll, counted tokens)`` of logits ``(N, T, V)`` or ``(N, V)`` against integer targets.

    Uses ``course.nn.CrossEntropyLoss(ignore_index)`` (mean over counted tokens)
    and multiplies back by the count, so that ``perplexity(*nll_from_logits(...))``
    is torch's ``exp(F.cross_entropy(..., ignore_index=...))``.
    """
    from course.nn.loss import CrossEntropyLoss

    loss = CrossEntropyLoss(ignore_index=ignore_index).eval()   # eval: no cache kept for a backward
    mean = loss.forward(np.asarray(logits, dtype=np.float64), np.asarray(targets))
    return mean * loss.last_count, loss.last_count


def softmax(logits, temperature: float = 1.0, axis: int = -1) -> np.ndarray:
    """``softmax(logits / temperature)`` with the max shift (``temperature > 0``)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = np.exp(z - z.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def adjust_probs(probs, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None) -> np.ndarray:
    """The die actually rolled: ``probs (..., V)`` reshaped by temperature, top-k and top-p, renormalised.

    - temperature ``T``: ``p_i ** (1/T)`` renormalised (= ``softmax(logits / T)``);
      ``T -> 0`` puts all the mass on the most probable face (``T = 0``: exactly
      argmax, first one on ties); ``T = 1`` leaves ``probs`` as they are;
    - ``top_k``: keep the k most probable faces (ties at the boundary: lowest ids first);
    - ``top_p`` (nucleus): keep the most probable faces until their total reaches ``top_p``.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"probs must be a (V,) or (B, V) array of face probabilities, got shape {p.shape}")
    if (p < 0).any() or not np.isfinite(p).all():
        raise ValueError("probs must be finite and >= 0 (pass probabilities, or use sample_logits for logits)")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = always the most probable token), got {temperature}")
    V = p.shape[-1]
    if temperature == 0:
        out = np.zeros_like(p)
        np.put_along_axis(out, p.argmax(axis=-1)[..., None], 1.0, axis=-1)
        return out
    if temperature != 1.0:
        with np.errstate(divide="ignore"):
            logp = np.log(p) / temperature
        p = np.exp(logp - logp.max(axis=-1, keepdims=True))
    if top_k is not None:
        if not 1 <= top_k:
            raise ValueError(f"top_k must be >= 1 (the number of faces kept), got {top_k}")
        if top_k < V:
            order = np.argsort(-p, axis=-1, kind="stable")
            drop = order[..., top_k:]
            p = p.copy()
            np.put_along_axis(p, drop, 0.0, axis=-1)
    if top_p is not None:
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must lie in (0, 1], got {top_p}")
        order = np.argsort(-p, axis=-1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=-1)
        sorted_p = sorted_p / sorted_p.sum(axis=-1, keepdims=True)
        before = np.cumsum(sorted_p, axis=-1) - sorted_p      # mass of the faces ranked above
        keep_sorted = before < top_p                            # the first face is always kept
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=-1)
        p = np.where(keep, p, 0.0)
    total = p.sum(axis=-1, keepdims=True)
    if (total <= 0).any():
        raise ValueError("probs must have at least one face with positive probability in every row")
    return p / total


def sample_from(probs, rng=None, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, u=None):
    """Roll the weighted die: an index drawn from ``probs (V,)`` (an int) or from each row of ``(B, V)`` ((B,) int64).

    Inverse CDF: ``u ~ Uniform[0, 1)`` from ``rng`` (a seed or ``np.random.Generator``),
    or the given ``u`` (a float, or (B,) for a batch); the face is the first ``i``
    with ``cumsum(p)[i] > u * sum(p)``, so face ``i`` comes up with probability
    ``p_i`` and a face of probability 0 never does. ``temperature``, ``top_k`` and
    ``top_p`` reshape the die first (see ``adjust_probs``).
    """
    p = adjust_probs(probs, temperature, top_k, top_p)
    batch = p.shape[:-1]
    if u is None:
        rng = np.random.default_rng(rng)
        u = rng.random(batch)
    u = np.asarray(u, dtype=np.float64)
    if u.shape != batch:
        raise ValueError(f"u must have shape {batch} (one uniform per row of probs {p.shape}), got {u.shape}")
    if ((u < 0) | (u >= 1)).any():
        raise ValueError("u must lie in [0, 1)")
    cdf = np.cumsum(p, axis=-1)
    last = p.shape[-1] - 1 - np.argmax(p[..., ::-1] > 0, axis=-1)   # last face with p > 0 (float safety)
    if p.ndim == 1:
        i = int(np.searchsorted(cdf, u * cdf[-1], side="right"))
        return min(i, int(last))
    idx = (cdf <= (u * cdf[..., -1])[..., None]).sum(axis=-1)
    return np.minimum(idx, last).astype(np.int64)


def sample_logits(logits, rng=None, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None, u=None):
    """``sample_from(softmax(logits / temperature), ...)`` for neural models' logits ``(V,)`` or ``(B, V)``."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return sample_from(softmax(logits), rng, 0.0, top_k, top_p, u)
    return sample_from(softmax(logits, temperature), rng, 1.0, top_k, top_p, u)
