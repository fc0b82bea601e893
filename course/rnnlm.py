"""An RNN language model: Embedding -> RNN or LSTM -> Linear over the vocabulary.

    e_t = E[x_t]                       (Embedding, (V, D))
    h_t = RNN(e_t, h_{t-1})            (course.nn.RNN / course.nn.LSTM, batch first)
    z_t = W_yh h_t + b_y               (Linear(H, V): the seed's output layer)
    p(x_{t+1} | x_<=t) = softmax(z_t)  loss_t = -log p(x_{t+1})   (course.nn.CrossEntropyLoss)

Training with truncated backpropagation through time (TBPTT): the token stream
is cut into ``batch_size`` contiguous streams side by side (``tbptt_batches``),
and each batch holds the next ``seq_len`` tokens of every stream. The hidden
state at the end of one batch is the initial state of the next, so the model
sees context across batch boundaries; it is *detached*: the backward pass stops
at the batch boundary (the gradient of the initial state is dropped), which is
what makes the truncation. Forgetting to carry the state (restarting from zeros
every batch) is a bug that trains fine but never learns more than ``seq_len``
tokens of context; ``tests/test_rnnlm.py`` proves the state is carried.

- ``RNNLM(vocab_size, embedding_dim, hidden_size, num_layers=1, cell="lstm")``:
  ``forward(ids (N, T), state=None) -> (logits (N, T, V), state)``,
  ``backward(grad_logits)`` fills every parameter's ``.grad``;
- ``tbptt_batches(ids, batch_size, seq_len)``: the (inputs, targets) pairs, in order;
- ``train_tbptt(model, ids, ...)``: the loop (SGD, gradient clipping, progress bar,
  a time budget) returning a ``LMHistory``;
- ``evaluate_nll(model, ids, ...) -> (total_nll, n_tokens)``, for ``course.lm.perplexity``
  and ``course.lm.bits_per_char``;
- ``generate(model, prefix_ids, n, temperature, rng)``: sampling through ``course.lm``'s die.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from course import lm
from course.rnn import _one_blas_thread
from course.nn import LSTM, RNN, CrossEntropyLoss, Embedding, Linear, Module, clip_grad_norm_
from course.nn.module import _rng
from course.train import progress_bar

__all__ = ["RNNLM", "tbptt_batches", "train_tbptt", "evaluate_nll", "generate", "detach", "LMHistory"]


def detach(state):
    """A copy of a hidden state (an array, or the LSTM's (h, c) pair) that no backward will reach.

    In this NumPy course nothing links arrays to a graph, so "detaching" is a matter
    of what we do with the state's gradient: ``RNNLM.backward`` drops it. The copy
    keeps a later in-place change from altering the caches of the previous batch."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(np.array(s) for s in state)
    return np.array(state)


class RNNLM(Module):
    """``Embedding(V, D) -> RNN/LSTM(D, H, num_layers, batch_first=True) -> Linear(H, V)``.

    ``cell``: ``"lstm"`` (default), ``"rnn"`` (tanh). Parameters are named like the
    equivalent torch module's: ``embedding.weight``, ``rnn.weight_ih_l0``, ...,
    ``decoder.weight``, ``decoder.bias``.

    ``forward(ids (N, T) ints, state=None) -> (logits (N, T, V), state)``; ``state`` is
    h (num_layers, N, H) for the RNN, (h, c) for the LSTM; pass it back in to continue
    the same streams. ``backward(grad_logits (N, T, V))`` -> None (ids have no gradient);
    the gradient of the initial state is dropped (the state is detached).
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 32, hidden_size: int = 128, num_layers: int = 1,
                 cell: str = "lstm", rng=None, dtype=np.float64):
        if cell not in ("lstm", "rnn"):
            raise ValueError(f"cell must be 'lstm' or 'rnn', got {cell!r}")
        rng = _rng(rng)
        self.vocab_size, self.cell = int(vocab_size), cell
        self.embedding = Embedding(vocab_size, embedding_dim, rng=rng, dtype=dtype)
        recurrent = LSTM if cell == "lstm" else RNN
        self.rnn = recurrent(embedding_dim, hidden_size, num_layers, batch_first=True, rng=rng, dtype=dtype)
        self.decoder = Linear(hidden_size, vocab_size, rng=rng, dtype=dtype)

    def init_state(self, batch_size: int):
        """Zeros: the state before the first token of each stream."""
        h = np.zeros((self.rnn.num_layers, batch_size, self.rnn.hidden_size), self.decoder.weight.dtype)
        return (h, h.copy()) if self.cell == "lstm" else h

    def forward(self, ids, state=None):
        ids = np.asarray(ids)
        if ids.ndim != 2:
            raise ValueError(f"RNNLM expects token ids of shape (N, T) (one row per stream), got {ids.shape}: "
                             "for one sequence use ids[None]")
        e = self.embedding(ids)                     # (N, T, D)
        out, state = self.rnn(e, state)             # (N, T, H)
        return self.decoder(out), state             # (N, T, V)

    def backward(self, grad_logits):
        g = self.decoder.backward(grad_logits)
        g = self.rnn.backward(g)
        if isinstance(g, tuple):                    # (grad_e, grad_state): the state is detached, drop it
            g = g[0]
        self.embedding.backward(g)
        return None


# ============================================================== data
def tbptt_batches(ids, batch_size: int, seq_len: int):
    """Cut a token stream into ``batch_size`` side-by-side streams and yield consecutive windows.

    ``ids`` (L,) ints. Stream b is ``ids[b*S : (b+1)*S]`` with S = (L - 1) // batch_size
    (the tail that does not fill a stream is dropped). Yields ``(inputs, targets)``, both
    (batch_size, t) with t = seq_len (the last window may be shorter): targets are the
    inputs shifted by one token. Row b of window k+1 continues row b of window k, so
    the hidden state at the end of one window is the right start for the next.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be a 1-D integer array (a token stream), got {ids.dtype} {ids.shape}")
    S = (len(ids) - 1) // batch_size
    if S < 1 or seq_len < 1:
        raise ValueError(f"{len(ids)} tokens cannot fill batch_size={batch_size} streams with seq_len={seq_len} >= 1: "
                         "use a smaller batch_size or more text")
    x = ids[:S * batch_size].reshape(batch_size, S)
    y = ids[1:S * batch_size + 1].reshape(batch_size, S)     # y[b, j] = ids[b*S + j + 1]: the next token
    for start in range(0, S, seq_len):
        yield x[:, start:start + seq_len], y[:, start:start + seq_len]


def n_windows(n_tokens: int, batch_size: int, seq_len: int) -> int:
    """How many windows ``tbptt_batches`` yields for a stream of ``n_tokens``."""
    return -(-((n_tokens - 1) // batch_size) // seq_len)


# ============================================================== training and evaluation
@dataclass
class LMHistory:
    """Per training step: ``step``, ``loss`` (mean nll in nats per token), ``grad_norm``
    (before clipping), ``time`` (s since the start); per evaluation: ``val_step``, ``val_loss``."""

    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    time: list = field(default_factory=list)
    val_step: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)

    def __getitem__(self, key):
        return getattr(self, key)


def _after_step(history, step: int, bar, callback, val=None, val_every: int = 0) -> None:
    """The bookkeeping after training step ``step``: the held-out loss ``val()`` every ``val_every``
    steps, the progress bar with the running loss (the mean of the last 20 steps), ``callback(step,
    history)``. Shared by ``train_tbptt`` and ``course.transformer.train_lm``."""
    if val is not None and val_every and step % val_every == 0:
        history.val_step.append(step)
        history.val_loss.append(val())
    if bar is not None:
        bar.update(1)
        bar.set_postfix({"loss": f"{np.mean(history.loss[-20:]):.3f}"}, refresh=False)
    if callback is not None:
        callback(step, history)


def train_tbptt(model: RNNLM, ids, optimizer, batch_size: int = 32, seq_len: int = 64, epochs: int = 1,
                max_steps: int | None = None, time_budget: float | None = None, clip: float | None = 5.0,
                carry_state: bool = True, val_ids=None, val_every: int = 0, progress: bool = True,
                callback=None, clock=time.perf_counter) -> LMHistory:
    """Train ``model`` on the stream ``ids`` with truncated BPTT; return an ``LMHistory``.

    Every step: ``optimizer.zero_grad()``; ``logits, state = model(x, state)``; the
    mean cross-entropy against the next tokens; ``model.backward``; ``clip_grad_norm_``
    (if ``clip``); ``optimizer.step()``; ``state = detach(state)`` carried into the next
    window (``carry_state=False`` restarts from zeros every window: the bug, for
    demonstrations). Stops after ``epochs`` passes, ``max_steps`` steps or
    ``time_budget`` seconds, whichever comes first. ``val_ids`` with ``val_every > 0``:
    held-out loss every ``val_every`` steps and at the end. ``progress``: a tqdm bar with
    the running loss. ``callback(step, history)`` after each step (e.g. a live plot).
    ``clock``: what ``history.time`` and ``time_budget`` count, wall seconds (``time.perf_counter``,
    default) or e.g. this process's CPU seconds (``time.process_time``: steady on a shared machine).
    """
    loss_fn = CrossEntropyLoss()
    history = LMHistory()
    per_epoch = n_windows(len(ids), batch_size, seq_len)
    total = per_epoch * epochs if max_steps is None else min(per_epoch * epochs, max_steps)
    bar = progress_bar(total=total, unit="batch") if progress else None
    start = clock()
    with _one_blas_thread():       # small matrices: one BLAS thread beats two (see course.rnn)
        step = _train_loop(model, ids, optimizer, loss_fn, history, batch_size, seq_len, epochs, max_steps,
                           time_budget, clip, carry_state, val_ids, val_every, bar, callback, start, clock)
    if val_ids is not None and (not history.val_step or history.val_step[-1] != step):
        history.val_step.append(step)
        history.val_loss.append(_mean_nll(model, val_ids, batch_size, seq_len))
    if bar is not None:
        bar.close()
    return history


def _train_loop(model, ids, optimizer, loss_fn, history, batch_size, seq_len, epochs, max_steps, time_budget,
                clip, carry_state, val_ids, val_every, bar, callback, start, clock) -> int:
    step = 0
    done = False
    for _ in range(epochs):
        state = None
        for x, y in tbptt_batches(ids, batch_size, seq_len):
            model.train()
            optimizer.zero_grad()
            logits, new_state = model(x, state if carry_state else None)
            value = loss_fn(logits, y)
            model.backward(loss_fn.backward())
            norm = clip_grad_norm_(model.parameters(), clip) if clip else float("nan")
            optimizer.step()
            state = detach(new_state)
            step += 1
            if not np.isfinite(value):
                if bar is not None:
                    bar.close()
                raise FloatingPointError(f"the loss became {value} at step {step}: lower the learning rate "
                                         "or clip the gradients (clip=5.0)")
            history.step.append(step)
            history.loss.append(value)
            history.grad_norm.append(norm)
            history.time.append(clock() - start)
            _after_step(history, step, bar, callback, val_every=val_every,
                        val=None if val_ids is None else lambda: _mean_nll(model, val_ids, batch_size, seq_len))
            if (max_steps is not None and step >= max_steps) or (
                    time_budget is not None and history.time[-1] >= time_budget):
                done = True
                break
        if done:
            break
    return step


def evaluate_nll(model: RNNLM, ids, batch_size: int = 32, seq_len: int = 128) -> tuple[float, int]:
    """``(total nll in nats, tokens predicted)`` of the stream ``ids``, in eval mode, the state carried
    across windows. ``course.lm.perplexity(*evaluate_nll(...))`` is the held-out perplexity;
    ``course.lm.bits_per_char(*evaluate_nll(...))`` the bits per character of a character model."""
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        with _one_blas_thread():
            for x, y in tbptt_batches(ids, batch_size, seq_len):
                logits, state = model(x, state)
                nll, n = lm.nll_from_logits(logits, y)
                total += nll
                count += n
    finally:
        model.train()
    return total, count


def _mean_nll(model, ids, batch_size, seq_len):
    total, count = evaluate_nll(model, ids, batch_size=min(batch_size, max(1, (len(ids) - 1) // 2)), seq_len=seq_len)
    return total / count


def generate(model: RNNLM, prefix_ids, n: int, temperature: float = 1.0, rng=None, top_k=None) -> np.ndarray:
    """``n`` new token ids after ``prefix_ids`` (1-D, at least one id), one at a time.

    The prefix is read in one forward pass; then each step feeds the last token and
    the carried state, turns the logits into probabilities with ``temperature`` and
    rolls ``course.lm``'s weighted die (``sample_logits``). Returns the n ids (int64).
    """
    prefix = np.asarray(prefix_ids, dtype=np.int64).reshape(1, -1)
    if prefix.size == 0:
        raise ValueError("generate needs a prefix of at least one token id (e.g. the id of a space or newline)")
    rng = np.random.default_rng(rng)
    model.eval()
    out = np.empty(n, np.int64)
    try:
        with _one_blas_thread():
            logits, state = model(prefix)
            for k in range(n):
                nxt = lm.sample_logits(logits[0, -1], rng, temperature=temperature, top_k=top_k)
                out[k] = nxt
                logits, state = model(np.array([[nxt]]), state)
    finally:
        model.train()
    return out
