"""Checks for Assignment 3 (word embeddings and n-gram language models).

One ``check_<function>`` per graded function. Each runs the student's code on one
case, computes the expected answer (the formulas of the assignment, written out
here in NumPy, and PyTorch where it has the same operation), and raises
:class:`~course.checkers.core.CheckFailure` whose first line names the mistake.

The mistakes are **data**: ``MISTAKES[function]`` is a list of :class:`Wrong`, each a
name, the message a student sees, and a function computing the wrong answer that
mistake produces on the same inputs. A check compares the student's answer with
the right one, then with each wrong one, and names the first that matches. The
catalogue is also what the tests of this module walk through: every entry must be
recognised on the visible cases of the assignment.

Graded functions (the assignment's signatures)::

    cosine_similarity(x1, x2, eps=1e-8)          (..., D), (..., D) -> (...)   along the last axis
    nearest(words, W, query, k)                  -> list of k words, most similar first, query excluded
    context_pairs(ids, window)                   (L,) -> (P, 2) (centre, context) pairs, any order
    Embedding(num_embeddings, embedding_dim, rng) forward(ids (*)) -> (*, D); backward(grad (*, D))
    ngram_counts(ids, vocab_size, n)             (L,) -> (V,) * n  counts of every n-gram
    add_k_probs(counts, k)                       (V,) * n -> same shape, each last-axis row sums to 1
    sample_from(probs, u)                        (V,), (S,) uniform numbers -> (S,) ids (the die)
    perplexity(token_probs)                      (N,) probabilities of the actual tokens -> float
    sgns_loss_and_grad(center, context, negatives)   (B, D), (B, D), (B, K, D) -> (loss, gc, gu, gn)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from course import nn
from course.checkers import core
from course.checkers.core import CheckFailure, Mistake, describe, expect_close, expect_equal

__all__ = ["CheckFailure", "Wrong", "MISTAKES", "random_case_rng", "check_cosine_similarity", "check_nearest",
           "check_context_pairs", "check_embedding", "check_ngram_counts", "check_add_k_probs",
           "check_sample_from", "check_perplexity", "check_sgns_loss_and_grad", "reference"]

#: Code a graded function may not call: the course's own reference for the same thing, and PyTorch.
FORBID = ("course.embeddings", "course.lm", "course.ngram", "torch", nn.Embedding.forward, nn.Embedding.backward)


def random_case_rng(seed: int) -> np.random.Generator:
    """The random generator hidden tests draw their cases from (fixed seed: same cases every run)."""
    return np.random.default_rng(seed)


#: What the exercises hand the student: the ``Module``/``Parameter`` machinery of
#: ``course.nn.module`` (``save_for_backward``, ``pop_saved``, ``Parameter(...)``); the
#: catalogue's own wrong answers are allowed too (calling one earns the mistake's message,
#: not points).  Everything else of the course, and PyTorch, is refused (core.WATCHED).
MODULE = ("course.nn.module",)


def _allow() -> tuple:
    """MODULE and the catalogue's answers; all of the course when FORBID names none of it
    (``FORBID = ("torch",)``: the instructor's PyTorch-only mode, in which the reference
    modules themselves are run through the checks to show they are fair)."""
    allow = MODULE + tuple(w.answer for entries in MISTAKES.values() for w in entries)
    if all(isinstance(f, str) and f.startswith("torch") for f in FORBID):
        allow += ("course",)
    return allow


def call(fn, *args, name: str, case: str = "", **kwargs):
    return core.call(fn, *args, name=name, case=case, allow=_allow(), forbid=FORBID, **kwargs)


@dataclass(frozen=True)
class Wrong:
    """One entry of the mistake catalogue: ``answer(*inputs)`` is what the mistake returns
    (or raises on, then it is skipped); ``message`` is what the student reads."""

    name: str
    message: str
    answer: Callable


def _mistakes(function: str, *inputs) -> list[Mistake]:
    out = []
    for w in MISTAKES[function]:
        try:
            value = w.answer(*inputs)
        except Exception:                 # a mistake that cannot even run on these inputs
            continue
        if value is not None:
            out.append(Mistake(w.message, value=value))
    return out


def _case(case: str) -> str:
    return f"\n  case: {case}" if case else ""


# ===================================================================== references
def _sigmoid(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -np.asarray(x, dtype=float))


class reference:
    """The right answers, written out (the student's functions are compared with these)."""

    @staticmethod
    def cosine_similarity(x1, x2, eps=1e-8):
        x1, x2 = np.broadcast_arrays(np.asarray(x1, float), np.asarray(x2, float))
        n1 = np.maximum(np.linalg.norm(x1, axis=-1, keepdims=True), eps)
        n2 = np.maximum(np.linalg.norm(x2, axis=-1, keepdims=True), eps)
        return np.sum((x1 / n1) * (x2 / n2), axis=-1)

    @staticmethod
    def nearest(words, W, query, k):
        U = W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-8)
        scores = U @ U[list(words).index(query)]
        scores[list(words).index(query)] = -np.inf
        return [words[i] for i in np.argsort(-scores, kind="stable")[:k]]

    @staticmethod
    def context_pairs(ids, window):
        ids = np.asarray(ids)
        pairs = [np.stack([ids[:-o], ids[o:]], 1) for o in range(1, window + 1) if o < len(ids)]
        pairs += [p[:, ::-1] for p in pairs]
        return np.concatenate(pairs) if pairs else np.zeros((0, 2), ids.dtype)

    @staticmethod
    def ngram_counts(ids, vocab_size, n):
        ids = np.asarray(ids)
        counts = np.zeros((vocab_size,) * n)
        grams = tuple(ids[i:len(ids) - n + 1 + i] for i in range(n))
        np.add.at(counts, grams, 1)
        return counts

    @staticmethod
    def add_k_probs(counts, k):
        counts = np.asarray(counts, float)
        return (counts + k) / (counts.sum(axis=-1, keepdims=True) + k * counts.shape[-1])

    @staticmethod
    def sample_from(probs, u):
        c = np.cumsum(probs)
        return np.minimum(np.searchsorted(c, u, side="right"), len(probs) - 1)

    @staticmethod
    def perplexity(token_probs):
        with np.errstate(divide="ignore"):
            return float(np.exp(-np.mean(np.log(np.asarray(token_probs, float)))))

    @staticmethod
    def sgns_loss_and_grad(v, u, n):
        B = v.shape[0]
        pos, neg = np.sum(u * v, 1), np.einsum("bkd,bd->bk", n, v)
        loss = -(np.sum(_log_sigmoid(pos)) + np.sum(_log_sigmoid(-neg))) / B
        gp, gn = (_sigmoid(pos) - 1) / B, _sigmoid(neg) / B
        return (float(loss), gp[:, None] * u + np.einsum("bk,bkd->bd", gn, n), gp[:, None] * v,
                gn[:, :, None] * v[:, None, :])


R = reference


def _unit(x, axis):
    return x / np.linalg.norm(x, axis=axis, keepdims=True)


def _lost_repeats(counts_shape, index, values):
    """What ``arr[index] += values`` gives: a repeated index keeps ONE of its values."""
    out = np.zeros(counts_shape)
    out[index] += values
    return out


def _sgns_parts(v, u, n):
    pos, neg = np.sum(u * v, 1), np.einsum("bkd,bd->bk", n, v)
    return v.shape[0], pos, neg, _sigmoid(pos), _sigmoid(neg)


def _sgns_variant(v, u, n, loss_scale=1.0, grad_scale=1.0, neg_sign=-1, gn_shift=0.0, drop=None):
    B, pos, neg, s, t = _sgns_parts(v, u, n)
    loss = -(np.sum(_log_sigmoid(pos)) + np.sum(_log_sigmoid(neg_sign * neg))) / B * loss_scale
    gp, gn = (s - 1) / B * grad_scale, (t + gn_shift) / B * grad_scale
    gc = (0 if drop == "pos" else gp[:, None] * u) + (0 if drop == "neg" else np.einsum("bk,bkd->bd", gn, n))
    return float(loss), gc, gp[:, None] * v, gn[:, :, None] * v[:, None, :]


# ===================================================================== the catalogue
MISTAKES: dict[str, list[Wrong]] = {
    "cosine_similarity": [
        Wrong("dot_only", "returned the dot product: divide by the lengths of BOTH vectors",
              lambda a, b, eps=1e-8: np.sum(np.broadcast_arrays(a, b)[0] * b, -1)),
        Wrong("only_x1_normalized", "normalized x1 but not x2: divide by the lengths of both vectors",
              lambda a, b, eps=1e-8: np.sum(_unit(np.asarray(a, float), -1) * b, -1)),
        Wrong("only_x2_normalized", "normalized x2 but not x1: divide by the lengths of both vectors",
              lambda a, b, eps=1e-8: np.sum(np.asarray(a, float) * _unit(np.asarray(b, float), -1), -1)),
        Wrong("wrong_axis", "normalized over the wrong axis: the length of a vector is taken along the LAST "
              "axis (axis=-1), the one the dot product sums over",
              lambda a, b, eps=1e-8: np.sum(_unit(np.asarray(a, float), 0) * _unit(np.asarray(b, float), 0), -1)
              if np.ndim(a) == 2 and np.ndim(b) == 2 and np.shape(a) == np.shape(b) and np.shape(a)[0] > 1 else None),
        Wrong("product_clamped", "clamped the product of the norms (old PyTorch): clamp EACH norm at eps, "
              "x1.x2 / (max(|x1|, eps) * max(|x2|, eps))",
              lambda a, b, eps=1e-8: np.sum(np.broadcast_arrays(a, b)[0] * b, -1) / np.maximum(
                  np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), eps)),
    ],
    "nearest": [
        Wrong("query_included", "the query word itself is in the list (its cosine with itself is 1): exclude it",
              lambda words, W, q, k: [q] + R.nearest(words, W, q, k - 1)),
        Wrong("dot_product", "ranked by the dot product: long (frequent) vectors win; rank by cosine "
              "(normalize the rows first)",
              lambda words, W, q, k: _rank(words, W @ W[list(words).index(q)], q, k)),
        Wrong("least_similar", "sorted the wrong way: the most similar word (highest cosine) comes first",
              lambda words, W, q, k: _rank(words, -_cos_all(W, q, words), q, k)),
        Wrong("euclidean", "ranked by Euclidean distance between the raw vectors: rank by cosine",
              lambda words, W, q, k: _rank(words, -np.linalg.norm(W - W[list(words).index(q)], axis=1), q, k)),
    ],
    "context_pairs": [
        Wrong("window_minus_one", "off by one: the window reaches `window` words on each side (distances 1 .. "
              "window inclusive: range(1, window + 1))", lambda ids, w: R.context_pairs(ids, w - 1)),
        Wrong("window_plus_one", "off by one: distances 1 .. window, not 1 .. window + 1",
              lambda ids, w: R.context_pairs(ids, w + 1)),
        Wrong("one_side", "only the words AFTER the centre: the window spans both sides",
              lambda ids, w: np.concatenate([np.stack([ids[:-o], ids[o:]], 1) for o in range(1, w + 1)])),
        Wrong("self_pair", "paired each word with itself (distance 0): a word is not its own context",
              lambda ids, w: np.concatenate([R.context_pairs(ids, w), np.stack([ids, ids], 1)])),
        Wrong("wrapped", "the window wrapped around the ends (np.roll?): the first word has no left context",
              lambda ids, w: np.concatenate([np.stack([ids, np.roll(ids, -o)], 1) for o in range(1, w + 1)]
                                            + [np.stack([ids, np.roll(ids, o)], 1) for o in range(1, w + 1)])),
    ],
    "embedding_forward": [
        Wrong("flattened", "the output must have shape (*ids.shape, embedding_dim): ids of shape (B, T) give "
              "(B, T, D), not (B*T, D)", lambda W, ids: W[np.asarray(ids).reshape(-1)] if np.ndim(ids) > 1 else None),
        Wrong("transposed", "looked up columns: the table is (num_embeddings, embedding_dim), one ROW per id",
              lambda W, ids: W.T[:, np.asarray(ids)]),
    ],
    "embedding_backward": [
        Wrong("lost_repeats", "a repeated id kept only one of its gradients: `grad[ids] += g` writes each index "
              "once; every occurrence must add (np.add.at)",
              lambda W, ids, g, before: before + _lost_repeats(W.shape, np.asarray(ids).reshape(-1),
                                                               g.reshape(-1, W.shape[1]))),
        Wrong("assigned", "assigned the gradient instead of adding it: weight.grad already held something, "
              "and backward must add (+=) to it",
              lambda W, ids, g, before: _add_at(np.zeros(W.shape), ids, g)),
        Wrong("assigned_and_lost", "assigned (=) instead of adding, and a repeated id kept only one gradient: "
              "add every occurrence into weight.grad (np.add.at)",
              lambda W, ids, g, before: _lost_repeats(W.shape, np.asarray(ids).reshape(-1),
                                                      g.reshape(-1, W.shape[1]))),
        Wrong("averaged", "averaged the gradients of a repeated id: each occurrence ADDS its gradient",
              lambda W, ids, g, before: before + _add_at(np.zeros(W.shape), ids, g)
              / np.maximum(np.bincount(np.asarray(ids).reshape(-1), minlength=W.shape[0]), 1)[:, None]),
    ],
    "ngram_counts": [
        Wrong("lost_repeats", "an n-gram that occurs several times was counted once: `counts[idx] += 1` "
              "writes each index once; use np.add.at", lambda ids, V, n: _lost_counts(ids, V, n)),
        Wrong("dropped_last", "off by one: the last n-gram (ending at the last token) is missing",
              lambda ids, V, n: R.ngram_counts(ids[:-1], V, n)),
        Wrong("dropped_first", "off by one: the first n-gram (starting at token 0) is missing",
              lambda ids, V, n: R.ngram_counts(ids[1:], V, n)),
        Wrong("reversed", "the n-gram's order is reversed: counts[a, b] counts a FOLLOWED BY b",
              lambda ids, V, n: R.ngram_counts(ids, V, n).T),
        Wrong("skipped", "the n-gram skips a token: consecutive tokens ids[i], ids[i + 1], ...",
              lambda ids, V, n: _skip_counts(ids, V, n)),
    ],
    "add_k_probs": [
        Wrong("wrong_axis", "normalized over the wrong axis: each distribution P(next | context) is a row over "
              "the LAST axis (the next word), so sum over axis=-1",
              lambda c, k: (c + k) / (c.sum(axis=0, keepdims=True) + k * c.shape[0])),
        Wrong("no_kV", "forgot k * V in the denominator: adding k to each of V counts adds k * V to their total "
              "(the rows no longer sum to 1)", lambda c, k: (c + k) / (c.sum(axis=-1, keepdims=True) + k)),
        Wrong("k_only_numerator", "added k to the numerator only: the denominator needs + k * V",
              lambda c, k: (c + k) / np.maximum(c.sum(axis=-1, keepdims=True), 1e-300)),
        Wrong("global_total", "divided by the total of ALL counts: divide by the count of the context "
              "(the row's sum)", lambda c, k: (c + k) / (c.sum() + k * c.size)),
    ],
    "sample_from": [
        Wrong("side_left", "u exactly at a cumulative boundary picked the face BELOW it: a face i is chosen when "
              "cum[i-1] <= u < cum[i] (searchsorted side='right')",
              lambda p, u: np.searchsorted(np.cumsum(p), u, side="left")),
        Wrong("greedy", "always returned the most likely face (argmax): the die must use the uniform numbers u",
              lambda p, u: np.full(np.shape(u), int(np.argmax(p)))),
        Wrong("not_cumulative", "compared u with the probabilities themselves: compare with their running sum "
              "(np.cumsum)", lambda p, u: np.minimum(np.searchsorted(np.asarray(p), u, side="right"), len(p) - 1)),
        Wrong("plus_one", "off by one: the first face whose cumulative probability exceeds u is the answer",
              lambda p, u: R.sample_from(p, u) + 1),
        Wrong("one_minus_u", "used 1 - u: face 0 covers [0, p0), the lowest numbers",
              lambda p, u: R.sample_from(p, 1 - np.asarray(u))),
    ],
    "perplexity": [
        Wrong("exp_of_sum", "exp of the SUM of the negative log-probabilities: perplexity is exp of their MEAN",
              lambda p: float(np.exp(-np.sum(np.log(p))))),
        Wrong("no_minus", "forgot the minus sign: perplexity = exp(-mean(log p)) >= 1",
              lambda p: float(np.exp(np.mean(np.log(p))))),
        Wrong("inverse_mean_prob", "1 / mean(p) is not the perplexity: average the LOG-probabilities "
              "(a geometric, not arithmetic, mean)", lambda p: float(1 / np.mean(p))),
        Wrong("log2_exp", "mixed bases: 2 ** (mean of -ln p) (use exp with ln, or 2 ** with log2)",
              lambda p: float(2 ** (-np.mean(np.log(p))))),
        Wrong("eps_added", "added a small constant inside the log: a zero probability means the model says "
              "the text is impossible, so the perplexity is infinite (np.inf)",
              lambda p: float(np.exp(-np.mean(np.log(np.asarray(p) + 1e-10)))) if np.min(p) == 0 else None),
    ],
    "sgns_loss_and_grad": [
        Wrong("summed", "summed over the batch: the loss (and its gradients) are the MEAN over the B pairs",
              lambda v, u, n: _sgns_variant(v, u, n, loss_scale=v.shape[0], grad_scale=v.shape[0])),
        Wrong("grads_not_divided", "the loss is a mean but the gradients were not divided by B",
              lambda v, u, n: _sgns_variant(v, u, n, grad_scale=v.shape[0])),
        Wrong("negative_sign", "negatives scored with log sigmoid(n . v): it is log sigmoid(-n . v), the "
              "probability that the noise word is NOT a context", lambda v, u, n: _sgns_variant(v, u, n, neg_sign=1)),
        Wrong("gn_minus_one", "gradient of a negative uses (sigmoid - 1): for the noise words it is "
              "sigmoid(n . v) v, with no -1 (the -1 belongs to the true context)",
              lambda v, u, n: _sgns_variant(v, u, n, gn_shift=-1.0)),
        Wrong("center_no_negatives", "grad_center is missing the negatives' term sum_k t_k n_k",
              lambda v, u, n: _sgns_variant(v, u, n, drop="neg")),
        Wrong("center_no_positive", "grad_center is missing the context's term (s - 1) u",
              lambda v, u, n: _sgns_variant(v, u, n, drop="pos")),
    ],
}


def _cos_all(W, q, words):
    U = W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-8)
    return U @ U[list(words).index(q)]


def _rank(words, scores, q, k):
    scores = np.array(scores, float)
    scores[list(words).index(q)] = -np.inf
    return [words[i] for i in np.argsort(-scores, kind="stable")[:k]]


def _add_at(arr, ids, g):
    np.add.at(arr, np.asarray(ids).reshape(-1), g.reshape(-1, arr.shape[1]))
    return arr


def _lost_counts(ids, V, n):
    counts = np.zeros((V,) * n)
    counts[tuple(ids[i:len(ids) - n + 1 + i] for i in range(n))] += 1
    return counts


def _skip_counts(ids, V, n):
    counts = np.zeros((V,) * n)
    grams = tuple(ids[2 * i:len(ids) - 2 * (n - 1) + 2 * i] for i in range(n))
    np.add.at(counts, grams, 1)
    return counts


# ===================================================================== the checks
def check_cosine_similarity(fn, x1, x2, eps=1e-8, oracle="torch"):
    x1, x2 = np.asarray(x1, float), np.asarray(x2, float)
    case = f"x1 {describe(x1)}, x2 {describe(x2)}, eps={eps:g}"
    got = call(fn, x1, x2, eps=eps, name="cosine_similarity", case=case)
    if oracle == "torch":
        import torch
        import torch.nn.functional as F

        expected = F.cosine_similarity(torch.from_numpy(x1), torch.from_numpy(x2), dim=-1, eps=eps).numpy()
    else:
        expected = R.cosine_similarity(x1, x2, eps)
    if isinstance(got, np.ndarray) and np.isnan(got).any() and not np.isnan(expected).any():
        raise CheckFailure(f"cosine_similarity: nan for a zero vector: divide by max(norm, eps), so a zero vector "
                           f"has similarity 0{_case(case)}")
    expect_close(np.asarray(got, float) if np.isscalar(got) else got, expected, name="cosine_similarity",
                 case=case, mistakes=lambda: _mistakes("cosine_similarity", x1, x2, eps), rtol=1e-6, atol=1e-9)


def check_nearest(fn, words, W, query, k):
    W = np.asarray(W, float)
    case = f"{len(words)} words, W {describe(W)}, query={query!r}, k={k}"
    got = call(fn, list(words), W, query, k, name="nearest", case=case)
    if isinstance(got, (np.ndarray, tuple)):
        got = list(got)
    if isinstance(got, list):
        got = [str(w) for w in got]
    expected = R.nearest(list(words), W, query, k)
    if got == expected:
        return
    for m in _mistakes("nearest", list(words), W, query, k):
        if got == m.value:
            raise CheckFailure(f"nearest: {m.message}{_case(case)}\n  expected {expected}, got {got}")
    raise CheckFailure(f"nearest: wrong answer{_case(case)}\n  expected {expected}, got {got}")


def _sorted_pairs(p):
    p = np.asarray(p).reshape(-1, 2) if np.size(p) else np.zeros((0, 2), int)
    return p[np.lexsort((p[:, 1], p[:, 0]))]


def check_context_pairs(fn, ids, window):
    ids = np.asarray(ids)
    case = f"ids {ids.tolist() if ids.size <= 12 else describe(ids)}, window={window}"
    got = call(fn, ids, window, name="context_pairs", case=case)
    if got is None:
        raise CheckFailure(f"context_pairs: returned None (missing `return`?){_case(case)}")
    got = np.asarray(got)
    expected = R.context_pairs(ids, window)
    if got.ndim != 2 or got.shape[1:] != (2,):
        raise CheckFailure(f"context_pairs: return an array of shape (P, 2), one (centre, context) row per pair; "
                           f"got shape {got.shape}{_case(case)}")
    mistakes = [Mistake(m.message, value=_sorted_pairs(m.value)) for m in _mistakes("context_pairs", ids, window)]
    expect_close(_sorted_pairs(got), _sorted_pairs(expected), name="context_pairs", case=case, mistakes=mistakes,
                 rtol=0, atol=0, what="pairs (sorted)")


def check_embedding(Embedding, num_embeddings=5, embedding_dim=3, ids=None, grad_output=None, seed=0,
                    grad_before=True):
    """Forward and backward of the student's ``Embedding`` against ``torch.nn.Embedding`` (weights copied).
    ``grad_before``: weight.grad starts non-zero (as after an earlier backward), so += is visible."""
    import torch

    rng = np.random.default_rng(seed)
    ids = np.asarray(rng.integers(0, num_embeddings, size=(2, 4)) if ids is None else ids)
    case = f"Embedding({num_embeddings}, {embedding_dim}), ids {ids.tolist()}"
    layer = call(Embedding, num_embeddings, embedding_dim, rng=seed, name="Embedding.__init__", case=case)
    W = layer.weight.data.copy()
    out = call(layer.forward, ids, name="Embedding.forward", case=case)
    t = torch.nn.Embedding(num_embeddings, embedding_dim).double()
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(W))
    out_t = t(torch.from_numpy(ids))
    expect_close(out, out_t.detach().numpy(), name="Embedding.forward", case=case,
                 mistakes=lambda: _mistakes("embedding_forward", W, ids), rtol=1e-12, atol=0)
    g = rng.standard_normal(out.shape) if grad_output is None else np.asarray(grad_output, float)
    before = rng.standard_normal(W.shape) if grad_before else np.zeros(W.shape)
    layer.weight.grad = before.copy()
    call(layer.backward, g, name="Embedding.backward", case=case)
    out_t.backward(torch.from_numpy(g))
    expected = before + t.weight.grad.numpy()
    expect_close(layer.weight.grad, expected, name="Embedding.backward", case=case + " (weight.grad)",
                 mistakes=lambda: _mistakes("embedding_backward", W, ids, g, before), rtol=1e-10, atol=1e-12,
                 what="weight.grad")


def check_ngram_counts(fn, ids, vocab_size, n):
    ids = np.asarray(ids)
    case = f"ids {ids.tolist() if ids.size <= 12 else describe(ids)}, vocab_size={vocab_size}, n={n}"
    got = call(fn, ids, vocab_size, n, name="ngram_counts", case=case)
    expect_close(got, R.ngram_counts(ids, vocab_size, n), name="ngram_counts", case=case,
                 mistakes=lambda: _mistakes("ngram_counts", ids, vocab_size, n), rtol=0, atol=0, what="counts")


def check_add_k_probs(fn, counts, k):
    counts = np.asarray(counts, float)
    case = f"counts {describe(counts)} (total {counts.sum():g}), k={k:g}"
    got = call(fn, counts, k, name="add_k_probs", case=case)
    expect_close(got, R.add_k_probs(counts, k), name="add_k_probs", case=case,
                 mistakes=lambda: _mistakes("add_k_probs", counts, k), rtol=1e-9, atol=1e-12, what="probabilities")


def check_sample_from(fn, probs, u):
    probs, u = np.asarray(probs, float), np.asarray(u, float)
    case = f"probs {np.round(probs, 4).tolist() if probs.size <= 8 else describe(probs)}, u {describe(u)}"
    got = call(fn, probs, u, name="sample_from", case=case)
    if isinstance(got, np.ndarray) and got.dtype.kind == "f":
        raise CheckFailure(f"sample_from: returned floats; the faces of the die are integer ids{_case(case)}")
    expect_close(got, R.sample_from(probs, u), name="sample_from", case=case,
                 mistakes=lambda: _mistakes("sample_from", probs, u), rtol=0, atol=0, what="faces")


def check_perplexity(fn, token_probs):
    p = np.asarray(token_probs, float)
    case = f"token_probs {np.round(p, 4).tolist() if p.size <= 8 else describe(p)}"
    with np.errstate(divide="ignore"):
        got = call(fn, p, name="perplexity", case=case)
    expected = R.perplexity(p)
    try:
        got = float(got)
    except (TypeError, ValueError):
        raise CheckFailure(f"perplexity: returned {type(got).__name__}, expected a number{_case(case)}") from None
    if np.isinf(expected):
        if np.isinf(got) and got > 0:
            return
        with np.errstate(divide="ignore"):
            mistakes = _mistakes("perplexity", p)
        named = next((m.message for m in mistakes if np.isclose(got, m.value, rtol=1e-9)), None)
        raise CheckFailure(f"perplexity: {named or 'a probability of 0 makes the perplexity infinite (inf)'}"
                           f"{_case(case)}\n  expected inf, got {got!r}")
    with np.errstate(divide="ignore", over="ignore"):
        expect_equal_close(got, expected, "perplexity", case, _mistakes("perplexity", p))


def expect_equal_close(got, expected, name, case, mistakes, rtol=1e-9):
    if np.isclose(got, expected, rtol=rtol, atol=0):
        return
    for m in mistakes:
        if np.isclose(got, m.value, rtol=rtol, atol=0):
            raise CheckFailure(f"{name}: {m.message}{_case(case)}\n  expected {expected!r}, got {got!r}")
    raise CheckFailure(f"{name}: wrong answer{_case(case)}\n  expected {expected!r}, got {got!r}")


def check_sgns_loss_and_grad(fn, B=4, K=3, D=5, seed=0, scale=1.0, arrays=None):
    """The loss and the three gradients against PyTorch's autograd (float64).
    ``scale`` multiplies the random vectors: scale=100 gives scores of thousands (log of 0 if computed naively)."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    if arrays is None:
        arrays = (scale * rng.standard_normal((B, D)), rng.standard_normal((B, D)) * scale,
                  rng.standard_normal((B, K, D)) * scale)
    v, u, n = (np.asarray(a, float) for a in arrays)
    case = f"center {describe(v)}, context {describe(u)}, negatives {describe(n)}" + (
        f", vectors x{scale:g} (scores up to {np.abs(np.sum(u * v, 1)).max():.0f})" if scale != 1 else "")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        got = call(fn, v, u, n, name="sgns_loss_and_grad", case=case)
    if not isinstance(got, tuple) or len(got) != 4:
        raise CheckFailure(f"sgns_loss_and_grad: return a tuple (loss, grad_center, grad_context, grad_negatives); "
                           f"got {type(got).__name__}{_case(case)}")
    tv, tu, tn = (torch.tensor(a, requires_grad=True) for a in (v, u, n))
    pos, neg = (tu * tv).sum(1), torch.einsum("bkd,bd->bk", tn, tv)
    loss_t = -(F.logsigmoid(pos).sum() + F.logsigmoid(-neg).sum()) / v.shape[0]
    loss_t.backward()
    want = (loss_t.item(), tv.grad.numpy(), tu.grad.numpy(), tn.grad.numpy())
    loss = got[0]
    try:
        loss = float(loss)
    except (TypeError, ValueError):
        raise CheckFailure(f"sgns_loss_and_grad: the loss must be a number, got {type(loss).__name__}"
                           f"{_case(case)}") from None
    if not np.isfinite(loss) or any(not np.all(np.isfinite(np.asarray(g, float))) for g in got[1:]):
        raise CheckFailure(f"sgns_loss_and_grad: inf or nan for large scores: log(sigmoid(x)) is log(0) when "
                           f"sigmoid underflows; use log sigmoid(x) = -np.logaddexp(0, -x), and a sigmoid that "
                           f"does not overflow{_case(case)}\n  loss = {loss!r}")
    with np.errstate(over="ignore"):
        mistakes = _mistakes("sgns_loss_and_grad", v, u, n)
    names = ("loss", "grad_center", "grad_context", "grad_negatives")

    def same(g, w):
        g = np.asarray(g, float)
        return g.shape == np.shape(w) and np.allclose(g, w, rtol=1e-7, atol=1e-10)

    if all(same(g, w) for g, w in zip(got, want)):
        return
    wrong_parts = [name for name, g, w in zip(names, got, want) if not same(g, w)]
    for m in mistakes:                   # a mistake that explains all four answers first
        if all(same(g, mv) for g, mv in zip(got, m.value)):
            raise CheckFailure(f"sgns_loss_and_grad: {m.message}{_case(case)}\n  (wrong: {', '.join(wrong_parts)})")
    for i, (name, g, w) in enumerate(zip(names, got, want)):
        if same(g, w):
            continue
        for m in mistakes:
            if same(g, m.value[i]):
                raise CheckFailure(f"sgns_loss_and_grad: {m.message}{_case(case)}\n  ({name} is wrong)")
        expect_close(np.asarray(g, float), w, name="sgns_loss_and_grad", case=case, rtol=1e-7, atol=1e-10, what=name)
