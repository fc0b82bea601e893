"""Training and using a ``course.nn.TransformerLM`` on a token stream.

- ``random_windows(ids, batch_size, seq_len, rng)``: a batch of (x, y) windows cut at random
  places in the stream, y = x shifted by one token: x (B, T), y (B, T);
- ``train_lm(model, ids, optimizer, ...)``: AdamW steps on random windows with a warm-up +
  cosine schedule and gradient clipping (``course.nn.clip_grad_norm_``), a step or time
  budget, a tqdm progress bar with the running loss and a ``callback`` for a live plot;
- ``evaluate_nll(model, ids, seq_len)``: ``(total nll in nats, tokens)`` of a held-out stream,
  cut into consecutive windows of ``seq_len`` tokens (each window starts without context:
  the first tokens of every window are predicted from few characters, so this slightly
  *over*-estimates the loss of a model that could see further back). Then
  ``course.lm.bits_per_char(*evaluate_nll(...))``;
- ``generate(model, prefix_ids, n, temperature, top_k, top_p, rng)``: sampling, one token at a
  time from the last ``max_len`` tokens, with the weighted die of ``course.lm``.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np

from course import lm
from course.nn import CrossEntropyLoss, clip_grad_norm_
from course.optim import warmup_cosine
from course.rnnlm import LMHistory, _after_step
from course.train import progress_bar

__all__ = ["random_windows", "train_lm", "evaluate_nll", "generate", "TrainHistory", "blas_threads"]


@contextlib.contextmanager
def blas_threads(n: int | None = 1):
    """NumPy's BLAS limited to ``n`` threads inside the block (None: unchanged). On a shared 2-core
    machine one thread is steadier: a second thread that waits for a busy core can make each matrix
    product many times slower."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


def random_windows(ids, batch_size: int, seq_len: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``, each (batch_size, seq_len): windows starting at random offsets, y one token ahead."""
    ids = np.asarray(ids)
    if len(ids) < seq_len + 1:
        raise ValueError(f"the stream has {len(ids)} tokens, fewer than seq_len + 1 = {seq_len + 1}")
    starts = rng.integers(0, len(ids) - seq_len, batch_size)
    idx = starts[:, None] + np.arange(seq_len + 1)                 # (B, T + 1)
    w = ids[idx]
    return w[:, :-1], w[:, 1:]


@dataclass
class TrainHistory(LMHistory):
    """Per step: ``step``, ``loss`` (mean nats per token), ``lr``, ``grad_norm``, ``time`` (s since
    the start); ``val_step``/``val_loss`` when a validation stream was given."""
    lr: list = field(default_factory=list)


def train_lm(model, ids, optimizer, batch_size: int = 32, seq_len: int = 64, max_steps: int = 1000,
             time_budget: float | None = None, warmup_steps: int = 20, min_lr_factor: float = 0.1,
             clip: float | None = 1.0, val_ids=None, val_every: int = 0, seed: int = 0, progress: bool = True,
             callback=None, threads: int | None = 1, clock=time.perf_counter) -> TrainHistory:
    """Train ``model`` (a ``TransformerLM``) on random windows of ``ids``; return a ``TrainHistory``.

    Each step: zero_grad, forward, mean cross-entropy against the next tokens, backward,
    ``clip_grad_norm_(clip)``, ``optimizer.lr = base_lr * warmup_cosine(step, warmup_steps,
    max_steps, min_lr_factor)``, ``optimizer.step()``. Stops after ``max_steps`` or
    ``time_budget`` seconds (the schedule is laid out over ``max_steps``). ``callback(step,
    history)`` after each step. Windows are drawn with ``np.random.default_rng(seed)``.
    ``threads``: NumPy's BLAS threads while training (``blas_threads``; None leaves them).
    ``clock``: what ``history.time`` and ``time_budget`` count, wall seconds (``time.perf_counter``,
    default) or e.g. this process's CPU seconds (``time.process_time``: steady on a shared machine).
    """
    rng = np.random.default_rng(seed)
    loss_fn = CrossEntropyLoss()
    history = TrainHistory()
    base_lr = optimizer.lr
    bar = progress_bar(total=max_steps, unit="step") if progress else None
    start = clock()
    model.train()
    try:
        with blas_threads(threads):
            _steps(model, ids, optimizer, loss_fn, history, rng, batch_size, seq_len, max_steps, time_budget,
                   warmup_steps, min_lr_factor, clip, val_ids, val_every, bar, callback, start, base_lr, clock)
    finally:
        optimizer.lr = base_lr
        if bar is not None:
            bar.close()
    return history


def _steps(model, ids, optimizer, loss_fn, history, rng, batch_size, seq_len, max_steps, time_budget,
           warmup_steps, min_lr_factor, clip, val_ids, val_every, bar, callback, start, base_lr, clock):
    for step in range(max_steps):
        x, y = random_windows(ids, batch_size, seq_len, rng)
        optimizer.zero_grad()
        value = float(loss_fn.forward(model.forward(x), y))
        if not np.isfinite(value):
            raise FloatingPointError(f"the loss became {value} at step {step}: lower the learning rate")
        model.backward(loss_fn.backward())
        norm = clip_grad_norm_(model.parameters(), clip) if clip else float("nan")
        optimizer.lr = base_lr * warmup_cosine(step, warmup_steps, max_steps, min_lr_factor)
        optimizer.step()
        history.step.append(step + 1)
        history.loss.append(value)
        history.lr.append(optimizer.lr)
        history.grad_norm.append(norm)
        history.time.append(clock() - start)
        _after_step(history, step + 1, bar, callback, val_every=val_every,
                    val=None if val_ids is None else lambda: _mean_nll(model, val_ids, seq_len))
        if time_budget is not None and history.time[-1] >= time_budget:
            break


def evaluate_nll(model, ids, seq_len: int = 64, batch_size: int = 64, threads: int | None = 1) -> tuple[float, int]:
    """``(total nll in nats, tokens predicted)`` over consecutive windows of ``seq_len`` tokens, in eval mode."""
    ids = np.asarray(ids)
    n = (len(ids) - 1) // seq_len
    if n < 1:
        raise ValueError(f"the stream has {len(ids)} tokens: need at least seq_len + 1 = {seq_len + 1}")
    x = ids[: n * seq_len].reshape(n, seq_len)
    y = ids[1: n * seq_len + 1].reshape(n, seq_len)
    was = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with blas_threads(threads):
            for i in range(0, n, batch_size):
                nll, c = lm.nll_from_logits(model.forward(x[i:i + batch_size]), y[i:i + batch_size])
                total += nll
                count += c
    finally:
        model.train(was)
    return total, count


def _mean_nll(model, ids, seq_len):
    total, count = evaluate_nll(model, ids, seq_len)
    return total / count


def generate(model, prefix_ids, n: int, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, rng=None, threads: int | None = 1) -> np.ndarray:
    """``prefix_ids`` followed by ``n`` sampled tokens (1-D int64). Each new token is drawn from the
    model's next-token distribution given the last ``model.max_len`` tokens (``course.lm.sample_logits``:
    temperature, top-k, top-p; temperature 0 = the most likely token)."""
    rng = np.random.default_rng(rng)
    out = list(np.asarray(prefix_ids, dtype=np.int64).ravel())
    if not out:
        raise ValueError("generate needs at least one prefix token (e.g. the id of '\\n')")
    was = model.training
    model.eval()
    try:
        with blas_threads(threads):
            for _ in range(n):
                context = np.array(out[-model.max_len:], dtype=np.int64)[None]
                logits = model.forward(context)[0, -1]
                out.append(int(lm.sample_logits(logits, rng, temperature, top_k, top_p)))
    finally:
        model.train(was)
    return np.array(out, dtype=np.int64)
