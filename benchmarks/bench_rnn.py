"""Unit 4 benchmarks: course.nn.RNN / course.nn.LSTM forward+backward vs torch (CPU), float32, and
one epoch of the character LSTM language model vs the identical torch model.

``rnn/lstm forward+backward``: T=50 B=32 I=64 H=128, one layer, a random upstream gradient on the
outputs; both sides start from the same weights. Targets (issue 10): ratio (ours / torch)
RNN <= 1x, LSTM <= 2x.

``char LSTM LM epoch``: ``course.rnnlm.RNNLM(56, 32, 128, cell="lstm")`` and its torch twin
(``torch.nn.Embedding -> LSTM(batch_first) -> Linear``, the same parameter names), float32, the
weights copied from ours into torch before the first step; both read the same truncated-BPTT
windows (batch 32, windows of 64, the state carried and detached) of ``EPOCH_FRACTION`` of the
training split (default 1.0: the whole 2.0 M characters, 982 steps; env ``RNN_EPOCH_FRACTION``), with
Adam (lr 3e-3) and clipping at 5.0 on both sides. The steps alternate (ours, torch, ours, ...) so
a burst of load hits both; ``numpy_s`` / ``torch_s`` are the summed step times of the epoch. Then both
score the first 50,000 characters of the validation split (state carried), ``held_out_loss`` in nats
per character for each. No target: issue 10 asks for the times and the losses.

Thread counts are set by run.py (the same for both; our sequence loops use one BLAS thread anyway).
Run alone: ``python benchmarks/run.py -k rnn``.
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch

from _timing import compare, threads
from course import nn, optim, rnnlm, tokenize
from course.data import text
from course.testing import copy_params

T, B, I, H = 50, 32, 64, 128
SHAPE = f"T={T} B={B} I={I} H={H}"


def _case(name, ours_cls, torch_cls, target, rng):
    ours = ours_cls(I, H, rng=0).to(np.float32)
    theirs = torch_cls(I, H)
    copy_params(theirs, ours)
    x = rng.standard_normal((T, B, I), dtype=np.float32)
    g = rng.standard_normal((T, B, H), dtype=np.float32)
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)

    def numpy_fn():
        ours.zero_grad()
        out, _ = ours(x)
        return ours.backward(g)

    def torch_fn():
        theirs.zero_grad()
        xg = xt.detach().requires_grad_()
        out, _ = theirs(xg)
        out.backward(gt)
        return xg.grad

    return compare(name, SHAPE, numpy_fn, torch_fn, target=target)


EPOCH_FRACTION = float(os.environ.get("RNN_EPOCH_FRACTION", "1.0"))
LM = dict(embedding=32, hidden=128, batch_size=32, seq_len=64, lr=3e-3, clip=5.0, held_out_chars=50_000)


class TorchCharLM(torch.nn.Module):
    """The torch twin of ``rnnlm.RNNLM(V, D, H, cell="lstm")``: the same parameter names."""

    def __init__(self, V, D, H):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, D)
        self.rnn = torch.nn.LSTM(D, H, batch_first=True)
        self.decoder = torch.nn.Linear(H, V)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embedding(ids), state)
        return self.decoder(out), state


def _torch_nll(model, ids, batch_size, seq_len):
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for x, y in rnnlm.tbptt_batches(ids, batch_size, seq_len):
            logits, state = model(torch.from_numpy(x), state)
            total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                             torch.from_numpy(y).reshape(-1), reduction="sum"))
            count += y.size
    return total, count


def lm_epoch_case(fraction: float = EPOCH_FRACTION, held_out_chars: int = LM["held_out_chars"]) -> dict:
    """One epoch (or ``fraction`` of it) of the character LSTM LM, ours and torch's side by side."""
    vocab = tokenize.Vocab(list(tokenize.CHAR_ALPHABET))
    train = text.characters("train")
    ids = vocab.encode(list(train[: int(len(train) * fraction)]))
    held_out = vocab.encode(list(text.characters("valid")[:held_out_chars]))
    B, T = LM["batch_size"], LM["seq_len"]
    ours = rnnlm.RNNLM(len(vocab), LM["embedding"], LM["hidden"], cell="lstm", rng=0).to(np.float32)
    theirs = TorchCharLM(len(vocab), LM["embedding"], LM["hidden"])
    copy_params(theirs, ours)
    opt = optim.Adam(ours.parameters(), lr=LM["lr"])
    opt_t = torch.optim.Adam(theirs.parameters(), lr=LM["lr"])
    loss_fn = nn.CrossEntropyLoss()
    state = state_t = None
    numpy_t, torch_t, losses = [], [], []
    with rnnlm._one_blas_thread():
        for x, y in rnnlm.tbptt_batches(ids, B, T):
            t0 = time.perf_counter()                                   # ours: what train_tbptt does per step
            opt.zero_grad()
            logits, new_state = ours(x, state)
            loss = loss_fn(logits, y)
            ours.backward(loss_fn.backward())
            nn.clip_grad_norm_(ours.parameters(), LM["clip"])
            opt.step()
            state = rnnlm.detach(new_state)
            numpy_t.append(time.perf_counter() - t0)

            t0 = time.perf_counter()                                   # torch: the textbook loop
            opt_t.zero_grad()
            logits_t, new_t = theirs(torch.from_numpy(x), state_t)
            loss_t = torch.nn.functional.cross_entropy(logits_t.reshape(-1, logits_t.shape[-1]),
                                                       torch.from_numpy(y).reshape(-1))
            loss_t.backward()
            torch.nn.utils.clip_grad_norm_(theirs.parameters(), LM["clip"])
            opt_t.step()
            state_t = tuple(s.detach() for s in new_t)
            torch_t.append(time.perf_counter() - t0)
            losses.append((loss, loss_t.item()))
    nll, count = rnnlm.evaluate_nll(ours, held_out, batch_size=B, seq_len=T)
    nll_t, count_t = _torch_nll(theirs, held_out, B, T)
    numpy_s, torch_s = sum(numpy_t), sum(torch_t)
    return {
        "name": "char LSTM LM epoch",
        "shape": f"V{len(vocab)} D{LM['embedding']} H{LM['hidden']} B{B} T{T} float32, "
                 f"{len(ids):,} training chars ({fraction:g} of an epoch), Adam lr {LM['lr']:g}, clip {LM['clip']:g}",
        "numpy_s": numpy_s, "torch_s": torch_s, "ratio": numpy_s / torch_s, "target": None,
        "threads": threads(), "steps": len(numpy_t), "epoch_fraction": fraction,
        "median_step_ms": {"ours": 1e3 * float(np.median(numpy_t)), "torch": 1e3 * float(np.median(torch_t))},
        "held_out_loss": {"ours": nll / count, "torch": nll_t / count_t},
        "held_out_bits_per_char": {"ours": nll / count / np.log(2), "torch": nll_t / count_t / np.log(2)},
        "held_out": f"first {count} predicted chars of the validation split",
        "final_train_loss": {"ours": float(np.mean([a for a, _ in losses[-20:]])),
                             "torch": float(np.mean([b for _, b in losses[-20:]]))},
        "first_step_loss": {"ours": float(losses[0][0]), "torch": losses[0][1]},
    }


def cases() -> list[dict]:
    rng = np.random.default_rng(0)
    return [
        _case("rnn forward+backward", nn.RNN, torch.nn.RNN, 1.0, rng),
        _case("lstm forward+backward", nn.LSTM, torch.nn.LSTM, 2.0, rng),
        lm_epoch_case(),
    ]


if __name__ == "__main__":
    for r in cases():
        print(f"{r['name']:<24} {r['shape']}  ours {r['numpy_s'] * 1e3:.2f} ms  torch {r['torch_s'] * 1e3:.2f} ms  "
              f"ratio {r['ratio']:.2f}x (target <= {r['target']}x)")
        if "held_out_loss" in r:
            print(f"    held-out loss ours {r['held_out_loss']['ours']:.4f}, torch {r['held_out_loss']['torch']:.4f} "
                  f"nats/char after {r['steps']} steps")
