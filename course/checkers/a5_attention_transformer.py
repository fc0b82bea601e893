"""Checks for Assignment 5 (attention and a tiny Transformer language model).

One ``check_<function>`` per graded function; each computes the expected answer with
``course.attention`` / PyTorch and, when the student's wrong answer is what a known
mistake produces, names the mistake in the first line of the failure. The student's
functions:

- ``softmax(x, mask=None)``: along the last axis, stable, ``mask`` boolean (True = take part),
  a fully masked row is all zeros;
- ``causal_mask(T)``: (T, T) boolean, True where query i may look at key j (j <= i);
- ``attention(q, k, v, mask=None) -> (out, weights)``: q (..., L, d_k), k (..., S, d_k),
  v (..., S, d_v), mask boolean broadcastable to (..., L, S);
- ``attention_backward(grad_out, q, k, v, weights) -> (dq, dk, dv)``;
- ``split_heads(x, num_heads)``: (N, T, E) -> (N, h, T, E/h) and ``merge_heads`` back;
- ``train_tiny_lm() -> (model, held_out_loss)``: a ``course.nn.TransformerLM`` trained within
  the time budget (``TIME_BUDGET_S`` CPU seconds of the kernel, inside the autograder's 30 s
  per cell) to a held-out loss below ``LOSS_TARGET`` nats per character. CPU time, not the
  clock: a grading machine busy with other kernels must not fail a student.
"""
from __future__ import annotations

import math
import time

import numpy as np

from course import attention as A
from course.checkers.core import CheckFailure, Mistake, call, describe, expect_close, expect_equal

__all__ = ["CheckFailure", "random_case_rng", "check_softmax", "check_causal_mask", "check_attention",
           "check_attention_backward", "check_split_merge", "check_tiny_lm", "LOSS_TARGET", "TIME_BUDGET_S"]

FORBID = ("course.attention", "course.nn.attention", "torch")
LOSS_TARGET = 2.6          # nats per character on the held-out piece (uniform: ln 56 = 4.03)
TIME_BUDGET_S = 25.0       # CPU seconds; the autograder interrupts a cell after 30 s (autograder/nbgrader_config.py)


def random_case_rng(seed: int) -> np.random.Generator:
    """The random generator hidden tests draw their cases from (fixed seed: same cases every run)."""
    return np.random.default_rng(seed)


def _plain_softmax(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ------------------------------------------------------------------ softmax
def check_softmax(fn, x, mask=None):
    x = np.asarray(x, dtype=float)
    case = f"x {describe(x)}" + ("" if mask is None else f", mask {describe(np.asarray(mask))}")
    got = call(fn, x, mask=mask, name="softmax", case=case, forbid=FORBID)
    expected = A.softmax(x, dim=-1, mask=mask)
    if not np.all(np.isfinite(np.asarray(got, dtype=float))) and np.all(np.isfinite(expected)):
        if mask is not None and np.any(~np.asarray(mask).any(axis=-1)):
            raise CheckFailure("softmax: NaN for a fully masked row: when every entry is masked return zeros "
                               "(e.g. do not subtract a -inf maximum; divide by 1 where the sum is 0)\n"
                               f"  case: {case}")
        raise CheckFailure("softmax: inf or NaN in the output: subtract the row maximum before np.exp "
                           "(exp(1000) overflows; softmax(x) = softmax(x - max x))\n"
                           f"  case: {case}")

    def mistakes():
        out = []
        xm = x if mask is None else np.where(mask, x, -np.inf)
        if x.ndim >= 2:
            with np.errstate(all="ignore"):
                out.append(Mistake("softmax taken over the wrong axis: normalise along the LAST axis "
                                   "(each row sums to 1), not axis 0 or -2", value=_plain_softmax(xm, axis=-2)))
            if x.ndim > 2:                   # for a matrix axis 0 IS axis -2: one mistake, not two alike
                with np.errstate(all="ignore"):
                    out.append(Mistake("softmax taken over the wrong axis: normalise along the LAST axis "
                                       "(each row sums to 1)", value=_plain_softmax(xm, axis=0)))
        if mask is not None:
            m = np.asarray(mask)
            out.append(Mistake("mask applied after the softmax: set masked scores to -inf BEFORE it, so the "
                               "remaining weights still sum to 1", value=np.where(m, _plain_softmax(x), 0.0)))
            out.append(Mistake("mask read the wrong way round: True means 'takes part', False is masked out",
                               value=np.nan_to_num(A.softmax(x, mask=~m))))
        return out

    expect_close(got, expected, name="softmax", case=case, mistakes=mistakes, rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------ causal mask
def check_causal_mask(fn, T):
    case = f"causal_mask({T})"
    got = call(fn, T, name="causal_mask", case=case, forbid=FORBID)
    expected = A.causal_mask(T)
    got = np.asarray(got)
    if got.shape != expected.shape:
        raise CheckFailure(f"causal_mask: shape {got.shape}, expected (T, T) = {expected.shape}\n  case: {case}")
    mistakes = [Mistake("causal mask transposed: query i (row) may look at keys j <= i (columns), "
                        "a LOWER triangle (np.tril)", value=expected.T),
                Mistake("the diagonal is missing: a position may look at itself (j <= i, not j < i)",
                        value=np.tril(np.ones((T, T), bool), -1)),
                Mistake("True and False swapped: True means 'may look' (take part)", value=~expected)]
    expect_close(got.astype(bool), expected, name="causal_mask", case=case,
                 mistakes=[m for m in mistakes if not np.array_equal(m.value, expected)], rtol=0, atol=0)


# ------------------------------------------------------------------ attention
def _scores_with(q, k, mask, divide):
    s = q @ np.swapaxes(k, -1, -2) / divide
    return s if mask is None else np.where(mask, s, -np.inf)


def check_attention(fn, q, k, v, mask=None):
    q, k, v = (np.asarray(a, dtype=float) for a in (q, k, v))
    case = f"q {describe(q)}, k {describe(k)}, v {describe(v)}" + ("" if mask is None else f", mask {describe(mask)}")
    result = call(fn, q, k, v, mask=mask, name="attention", case=case, forbid=FORBID)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailure(f"attention: return (out, weights), a tuple of two arrays; got {type(result).__name__}\n"
                           f"  case: {case}")
    out, weights = (np.asarray(r, dtype=float) for r in result)
    exp_out, exp_w = A.attention(q, k, v, attn_mask=mask)
    d_k = q.shape[-1]

    def weight_mistakes():
        m = mask
        wrong = []
        with np.errstate(all="ignore"):
            wrong.append(Mistake("no scaling: divide the scores q k^T by sqrt(d_k) before the softmax",
                                 value=A.softmax(_scores_with(q, k, m, 1.0))))
            if d_k != 1:
                wrong.append(Mistake("scaled by d_k instead of sqrt(d_k): divide q k^T by np.sqrt(d_k)",
                                     value=A.softmax(_scores_with(q, k, m, d_k))))
            if q.ndim == 4:
                d_model = q.shape[1] * d_k
                wrong.append(Mistake("scaled by sqrt(d_model) instead of sqrt(d_k): d_k is the size of ONE "
                                     "head's queries (q.shape[-1])", value=A.softmax(_scores_with(q, k, m, math.sqrt(d_model)))))
            wrong.append(Mistake("softmax over the query axis: each query's weights over the KEYS must sum "
                                 "to 1 (softmax along the last axis)",
                                 value=np.nan_to_num(_plain_softmax(_scores_with(q, k, m, math.sqrt(d_k)), axis=-2))))
            if m is not None:
                m = np.asarray(m)
                wrong.append(Mistake("mask applied after the softmax: set masked scores to -inf BEFORE it",
                                     value=np.where(m, A.softmax(_scores_with(q, k, None, math.sqrt(d_k))), 0.0)))
                if m.shape[-1] == m.shape[-2]:
                    wrong.append(Mistake("mask transposed: mask[..., i, j] says whether query i may look at key j",
                                         value=np.nan_to_num(A.softmax(_scores_with(q, k, np.swapaxes(m, -1, -2),
                                                                                    math.sqrt(d_k))))))
        return wrong

    expect_close(weights, exp_w, name="attention (weights)", case=case, mistakes=weight_mistakes,
                 rtol=1e-6, atol=1e-9)
    mistakes_out = [Mistake("output = weights @ v^T or v @ weights: the output is weights @ v, (..., L, S) @ (..., S, d_v)",
                            shape=exp_out.shape[:-1] + (exp_out.shape[-2],) if exp_out.shape[-1] != exp_out.shape[-2] else None)]
    expect_close(out, exp_out, name="attention (output)", case=case, mistakes=mistakes_out, rtol=1e-6, atol=1e-9)


def check_attention_backward(fn, q, k, v, mask=None, seed=0):
    q, k, v = (np.asarray(a, dtype=float) for a in (q, k, v))
    out, weights = A.attention(q, k, v, attn_mask=mask)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    case = f"q {describe(q)}, k {describe(k)}, v {describe(v)}" + ("" if mask is None else ", with a mask")
    result = call(fn, g, q, k, v, weights, name="attention_backward", case=case, forbid=FORBID)
    if not (isinstance(result, tuple) and len(result) == 3):
        raise CheckFailure(f"attention_backward: return (dq, dk, dv), a tuple of three arrays\n  case: {case}")
    dq, dk, dv = (np.asarray(r, dtype=float) for r in result)
    eq, ek, ev = A.scaled_dot_product_attention_backward(g, q, k, v, attn_mask=mask)
    s = math.sqrt(q.shape[-1])
    expect_close(dv, ev, name="attention_backward (dv)", case=case, rtol=1e-6, atol=1e-9, mistakes=[
        Mistake("dv = weights @ g: the weights must be transposed, dv = weights^T @ g (..., S, d_v)",
                value=weights @ g if weights.shape[-1] == weights.shape[-2] else None)])
    dw = g @ np.swapaxes(v, -1, -2)
    no_rowsum = weights * dw
    expect_close(dq, eq, name="attention_backward (dq)", case=case, rtol=1e-6, atol=1e-9, mistakes=[
        Mistake("dq is missing the 1/sqrt(d_k) factor of the forward pass", value=eq * s),
        Mistake("softmax backward without the row-sum term: ds = w * (dw - sum(dw * w, last axis))",
                value=(no_rowsum @ k) / s),
    ])
    expect_close(dk, ek, name="attention_backward (dk)", case=case, rtol=1e-6, atol=1e-9, mistakes=[
        Mistake("dk is missing the 1/sqrt(d_k) factor of the forward pass", value=ek * s),
        Mistake("dk = ds @ q: transpose ds, dk = ds^T @ q (..., S, d_k)",
                value=None if q.shape[-2] != k.shape[-2] else
                ((weights * (dw - (dw * weights).sum(-1, keepdims=True))) @ q) / s),
    ])


# ------------------------------------------------------------------ heads
def check_split_merge(split_heads, merge_heads, x, num_heads):
    x = np.asarray(x, dtype=float)
    N, T, E = x.shape
    d = E // num_heads
    case = f"x {describe(x)}, num_heads={num_heads}"
    got = np.asarray(call(split_heads, x, num_heads, name="split_heads", case=case, forbid=FORBID))
    expected = x.reshape(N, T, num_heads, d).transpose(0, 2, 1, 3)
    expect_close(got, expected, name="split_heads", case=case, rtol=0, atol=0, mistakes=[
        Mistake("heads split along the wrong axis: reshape to (N, T, h, E/h) and THEN swap T and h; "
                "x.reshape(N, h, T, E/h) mixes positions into heads", value=x.reshape(N, num_heads, T, d)),
        Mistake("each head got every h-th feature: head j owns the CONTIGUOUS features j*E/h .. (j+1)*E/h - 1",
                value=x.reshape(N, T, d, num_heads).transpose(0, 3, 1, 2)),
        Mistake("forgot to move the head axis before the positions: the result must be (N, h, T, E/h)",
                shape=(N, T, num_heads, d)),
    ])
    back = np.asarray(call(merge_heads, expected, name="merge_heads", case=case, forbid=FORBID))
    expect_close(back, x, name="merge_heads", case=case, rtol=0, atol=0, mistakes=[
        Mistake("merge_heads reshaped without moving the head axis back first: transpose (N, h, T, d) -> "
                "(N, T, h, d), then reshape to (N, T, E)", value=expected.reshape(N, T, E)),
    ])


# ------------------------------------------------------------------ the tiny LM
def check_tiny_lm(fn):
    """Run the student's ``train_tiny_lm()`` and check the held-out loss and the time it took."""
    from course import lm, nn, transformer
    from course.data import text
    from course import tokenize

    t0 = time.process_time()              # CPU seconds of this kernel: steady on a busy machine
    # the exercise hands the student the course's model, optimiser, data and tokenizer: only PyTorch is refused
    result = call(fn, name="train_tiny_lm", case="train_tiny_lm()", forbid=("torch",),
                  allow=("course.nn", "course.optim", "course.tokenize", "course.data", "course.lm",
                         "course.transformer"))
    seconds = time.process_time() - t0
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], nn.TransformerLM)):
        raise CheckFailure("train_tiny_lm: return (model, held_out_loss) with model a course.nn.TransformerLM")
    model = result[0]
    vocab = tokenize.Vocab(list(tokenize.CHAR_ALPHABET))
    held_out = vocab.encode(list(text.characters("valid")[:10_000]))
    if model.vocab_size != len(vocab):
        raise CheckFailure(f"train_tiny_lm: the model's vocabulary has {model.vocab_size} entries, the characters "
                           f"have {len(vocab)}: build it with vocab_size=len(vocab)")
    seq = min(64, model.max_len)              # windows of the model's context (at most 64)
    total, count = transformer.evaluate_nll(model, held_out, seq_len=seq)
    loss = total / count
    if not np.isfinite(loss) or loss > LOSS_TARGET:
        raise CheckFailure(f"train_tiny_lm: held-out loss {loss:.3f} nats/char, the target is <= {LOSS_TARGET} "
                           f"(uniform guessing: {math.log(len(vocab)):.2f}); train longer, use AdamW with lr ~3e-3, "
                           "or check that the targets are the inputs shifted by one character")
    if seconds > TIME_BUDGET_S:
        raise CheckFailure(f"train_tiny_lm: took {seconds:.0f} CPU seconds, the budget is {TIME_BUDGET_S:.0f}: "
                           "use fewer steps or a smaller model")
    return loss, seconds
