"""Unit 4 benchmark: course.nn.RNN / course.nn.LSTM forward+backward vs torch (CPU), float32.

T=50 B=32 I=64 H=128, one layer, a random upstream gradient on the outputs;
both sides start from the same weights. Targets (issue 10): ratio (ours / torch)
RNN <= 1x, LSTM <= 2x. Thread counts are set by run.py (the same for both).
Run alone: ``python benchmarks/run.py -k rnn``.
"""
from __future__ import annotations

import numpy as np
import torch

from _timing import compare
from course import nn
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


def cases() -> list[dict]:
    rng = np.random.default_rng(0)
    return [
        _case("rnn forward+backward", nn.RNN, torch.nn.RNN, 1.0, rng),
        _case("lstm forward+backward", nn.LSTM, torch.nn.LSTM, 2.0, rng),
    ]


if __name__ == "__main__":
    for r in cases():
        print(f"{r['name']:<24} {r['shape']}  ours {r['numpy_s'] * 1e3:.2f} ms  torch {r['torch_s'] * 1e3:.2f} ms  "
              f"ratio {r['ratio']:.2f}x (target <= {r['target']}x)")
