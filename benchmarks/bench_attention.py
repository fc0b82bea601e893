"""Unit 5 benchmark: causal attention and one Transformer LM training step, NumPy vs torch CPU.

- ``attention forward+backward``: causal scaled dot-product attention, B=8, h=4, T=128,
  d=32, float32, forward then backward (``course.attention`` vs
  ``torch.nn.functional.scaled_dot_product_attention`` + autograd). Target <= 2x.
- ``transformer LM train step``: forward, cross-entropy, backward and an Adam step of a
  character-level decoder-only Transformer (vocabulary 96, d_model 128, 4 heads, 4 layers,
  feed-forward 512, GELU (tanh form on both sides), batch 32, context 128, 0.9 M parameters,
  float32), ``course.nn.TransformerLM`` vs the identical torch model with the same weights
  (``course.transformer_torch.torch_lm``). Target <= 2x.

ratio = ours / torch. Thread counts are set by run.py (the same for both) and recorded.
Run alone: ``python benchmarks/bench_attention.py``.
"""
from __future__ import annotations

import numpy as np
import torch

from _timing import compare
from course import attention as A
from course import nn, optim
from course.transformer_torch import numpy_train_step, torch_lm, torch_train_step

V, D, HEADS, LAYERS, FF, BATCH, CONTEXT = 96, 128, 4, 4, 512, 32, 128


def attention_case() -> dict:
    rng = np.random.default_rng(0)
    q, k, v, g = (rng.standard_normal((8, 4, 128, 32), dtype=np.float32) for _ in range(4))
    qt, kt, vt = (torch.from_numpy(a).requires_grad_() for a in (q, k, v))
    gt = torch.from_numpy(g)

    def ours():
        A.scaled_dot_product_attention(q, k, v, is_causal=True)
        A.scaled_dot_product_attention_backward(g, q, k, v, is_causal=True)

    def ours_fused():
        # what a module does: one forward, its cache, one backward (the public backward recomputes)
        qs, ks, vs, add_mask, scale = A._prepare(q, k, v, None, True, None)
        out, w = A._forward(qs, ks, vs, add_mask, scale)
        A._backward(g, qs, ks, vs, out, w, scale)

    def theirs():
        for t in (qt, kt, vt):
            t.grad = None
        torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=True).backward(gt)

    row = compare("attention forward+backward", "B8 h4 T128 d32 causal float32", ours_fused, theirs, target=2.0)
    row["note"] = "forward once, cached weights reused by the backward (as MultiheadAttention does)"
    public = compare("attention (public API)", "", ours, theirs, target=None)
    row["numpy_public_api_s"] = public["numpy_s"]                       # forward + backward that recomputes it
    row["ratio_public_api"] = public["numpy_s"] / public["torch_s"]
    return row


def lm_case() -> dict:
    rng = np.random.default_rng(0)
    model = nn.TransformerLM(V, D, HEADS, LAYERS, dim_feedforward=FF, max_len=CONTEXT, activation="gelu_tanh",
                             rng=0).to(np.float32)
    twin = torch_lm(model)
    ids = rng.integers(0, V, (BATCH, CONTEXT + 1))
    x, y = ids[:, :-1], ids[:, 1:]
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    topt = torch.optim.Adam(twin.parameters(), lr=1e-3)
    with torch.no_grad():
        diff = float(np.abs(twin(xt).numpy() - model.eval().forward(x)).max())
    model.train()
    row = compare("transformer LM train step", f"V{V} d{D} h{HEADS} L{LAYERS} ff{FF} N{BATCH} T{CONTEXT} float32",
                  lambda: numpy_train_step(model, opt, x, y), lambda: torch_train_step(twin, topt, xt, yt),
                  target=2.0, min_time=3.0, min_repeat=5, max_repeat=20)
    row["parameters"] = model.num_parameters()
    row["max_abs_logit_diff_before_training"] = diff
    return row


def cases() -> list[dict]:
    return [attention_case(), lm_case()]


if __name__ == "__main__":
    for r in cases():
        print(f"{r['name']:<28} {r['shape']:<45} numpy {r['numpy_s'] * 1e3:8.2f} ms  "
              f"torch {r['torch_s'] * 1e3:8.2f} ms  ratio {r['ratio']:.2f} (target {r['target']})")
