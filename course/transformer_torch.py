"""The PyTorch twin of ``course.nn.TransformerLM``, for benchmarks and the optional GPU cell.

- ``torch_lm(model, device=None, dtype=None)``: the identical torch model (``torch.nn.Embedding``,
  ``TransformerEncoderLayer(norm_first=True)`` = MultiheadAttention + LayerNorm + GELU + Linear,
  ``LayerNorm``, ``Linear``), the weights of ``model`` copied in;
- ``timing_table(model, ids, targets)``: one training step (forward, backward, Adam) timed three
  ways, NumPy (``course``) vs torch on the CPU vs torch on the GPU, plus causal attention
  forward+backward, as a ``course.timing.TimingTable``; ``attention_timing_table()`` the attention row alone. Never fails for lack of a GPU: the GPU
  column then reads ``"n/a (no GPU)"``.

torch is imported on first use.
"""
from __future__ import annotations

import contextlib
import math
import time

import numpy as np

from course import timing as gpu

__all__ = ["torch_lm", "torch_train_step", "numpy_train_step", "timing_table", "attention_timing_table", "train_torch"]


def _torch():
    import torch

    return torch


def _block_class():
    torch = _torch()

    class CausalBlock(torch.nn.TransformerEncoderLayer):
        """torch's pre-LN encoder layer with the causal mask: the same function as our TransformerBlock."""

        def forward(self, x):
            L = x.shape[1]
            mask = torch.ones(L, L, dtype=torch.bool, device=x.device).triu(1)
            return super().forward(x, src_mask=mask, is_causal=True)

    return CausalBlock


def torch_lm(model, device=None, dtype=None):
    """The torch model equal to ``model`` (a ``course.nn.TransformerLM``), weights copied; float32
    unless ``dtype``, on ``device`` (default: the CPU)."""
    torch = _torch()
    from course.testing import copy_params

    dtype = dtype or torch.float32
    block0 = model.blocks[0]
    d, h = model.d_model, block0.self_attn.num_heads
    ff = block0.linear1.out_features
    act = block0.activation
    name = type(act).__name__
    activation = (torch.nn.GELU(approximate=act.approximate) if name == "GELU" else torch.nn.ReLU())
    Block = _block_class()
    learned = hasattr(model.pos, "weight")

    class TorchLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(model.vocab_size, d)
            if learned:
                self.pos = torch.nn.Embedding(model.max_len, d)
            else:
                self.register_buffer("pe", torch.from_numpy(np.asarray(model.pos.pe)))
            self.blocks = torch.nn.ModuleList([Block(d, h, ff, dropout=0.0, activation=activation,
                                                     batch_first=True, norm_first=True)
                                               for _ in model.blocks])
            self.norm = torch.nn.LayerNorm(d)
            self.head = torch.nn.Linear(d, model.vocab_size)
            if model.tie_weights:
                self.head.weight = self.embed.weight

        def forward(self, ids):
            T = ids.shape[1]
            pos = self.pos(torch.arange(T, device=ids.device)) if learned else self.pe[:T].to(self.embed.weight.dtype)
            x = self.embed(ids) + pos
            for block in self.blocks:
                x = block(x)
            return self.head(self.norm(x))

    twin = TorchLM().to(torch.float64)
    copy_params(twin, model)
    return twin.to(dtype).to(device or "cpu")


def numpy_train_step(model, optimizer, ids, targets, loss_fn=None):
    """One step of ours: forward, cross-entropy, backward, ``optimizer.step()``. Returns the loss."""
    from course import nn

    loss_fn = loss_fn or nn.CrossEntropyLoss()
    optimizer.zero_grad()
    loss = loss_fn.forward(model.forward(ids), targets)
    model.backward(loss_fn.backward())
    optimizer.step()
    return float(loss)


def torch_train_step(twin, optimizer, ids, targets):
    """The same step in torch (ids, targets: int64 tensors on the twin's device). Returns the loss tensor."""
    torch = _torch()
    optimizer.zero_grad(set_to_none=True)
    logits = twin(ids)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    optimizer.step()
    return loss.detach()


def _torch_columns(row: dict, torch, dev: str, run) -> None:
    """Fill ``row``'s torch columns: ``run(device, sync) -> (median seconds, max diff)`` on the CPU,
    then on the GPU in full float32 when there is one (a GPU that fails reads "n/a (...)")."""
    row["torch_cpu_s"], row["max_diff"] = run("cpu")
    if dev == "cuda":
        try:
            with gpu._full_float32(torch):
                row["torch_gpu_s"], d = run("cuda", torch.cuda.synchronize)
            row["max_diff"] = max(row["max_diff"], d)
        except Exception as exc:  # a misbehaving GPU must not break the lecture
            row["gpu"] = f"n/a ({type(exc).__name__})"


def _attention_row(torch, dev, budget_s):
    from course import attention as A

    rng = np.random.default_rng(0)
    q, k, v, g = (rng.standard_normal((8, 4, 128, 32), dtype=np.float32) for _ in range(4))
    row = {"name": "causal attention fwd+bwd", "shape": "B8 h4 T128 d32", "torch_cpu_s": None,
           "torch_gpu_s": None, "gpu": None if dev == "cuda" else gpu.NO_GPU, "max_diff": None}
    row["numpy_s"] = gpu._median_seconds(
        lambda: A.scaled_dot_product_attention_backward(g, q, k, v, is_causal=True), budget_s=budget_s)
    ref = A.scaled_dot_product_attention(q, k, v, is_causal=True)

    def run(device, sync=lambda: None):
        qt, kt, vt = (torch.from_numpy(a).to(device).requires_grad_() for a in (q, k, v))
        gt = torch.from_numpy(g).to(device)

        def f():
            out = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=True)
            out.backward(gt)
            return out

        diff = float((f().detach().cpu().numpy() - ref).__abs__().max())
        return gpu._median_seconds(f, sync, budget_s=budget_s, max_repeat=50), diff

    _torch_columns(row, torch, dev, run)
    return row


@contextlib.contextmanager
def _threads(torch, n):
    """torch's intra-op threads and NumPy's BLAS threads both set to ``n`` (None: unchanged)."""
    if n is None or torch is None:
        yield
        return
    from course.transformer import blas_threads

    saved = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with blas_threads(n):
            yield
    finally:
        torch.set_num_threads(saved)


def timing_table(model, ids, targets, lr: float = 1e-3, budget_s: float = 1.0, attention: bool = True,
                 threads: int | None = 1):
    """Time one training step of ``model`` (forward, backward, Adam) in NumPy, torch CPU and torch GPU.

    model: a float32 ``course.nn.TransformerLM`` (its weights are not changed: every side
    trains a copy); ids, targets: (N, T) integer arrays. Returns a ``course.timing.TimingTable``;
    ``max rel. diff`` is the largest difference of the torch logits from ours before training.
    ``threads``: torch CPU and NumPy's BLAS both use this many threads (default 1; None: unchanged).
    """
    with _threads(gpu._torch(), threads):
        return _timing_table(model, ids, targets, lr, budget_s, attention)


def _timing_table(model, ids, targets, lr, budget_s, attention):
    import copy

    from course import optim

    torch, dev = gpu._torch(), gpu.device()
    table = gpu.TimingTable(device=dev)
    shape = f"N{ids.shape[0]} T{ids.shape[1]} d{model.d_model} L{len(model.blocks)}"
    ours = copy.deepcopy(model).clear_cache()
    opt = optim.Adam(ours.parameters(), lr=lr)
    ref = ours.eval().forward(ids)
    ours.train()
    row = {"name": "transformer LM train step", "shape": shape, "torch_cpu_s": None, "torch_gpu_s": None,
           "gpu": None if dev == "cuda" else gpu.NO_GPU, "max_diff": None}
    row["numpy_s"] = gpu._median_seconds(lambda: numpy_train_step(ours, opt, ids, targets), budget_s=budget_s,
                                         max_repeat=5)
    if torch is None:
        row["gpu"] = "n/a (no torch)"
        table.rows.append(row)
        return table

    def run(device, sync=lambda: None):
        twin = torch_lm(model, device=device)
        topt = torch.optim.Adam(twin.parameters(), lr=lr)
        it, tt = torch.from_numpy(np.asarray(ids)).to(device), torch.from_numpy(np.asarray(targets)).to(device)
        with torch.no_grad():
            diff = float(np.abs(twin(it).cpu().numpy() - ref).max() / max(1.0, np.abs(ref).max()))
        return gpu._median_seconds(lambda: torch_train_step(twin, topt, it, tt), sync, budget_s=budget_s,
                                   max_repeat=20), diff

    _torch_columns(row, torch, dev, run)
    table.rows.append(row)
    if attention:
        table.rows.append(_attention_row(torch, dev, budget_s / 2))
    threads = torch.get_num_threads()
    where = (f"GPU: {gpu.gpu_name()}, full float32 (TF32 off)" if dev == "cuda"
             else "no GPU here, so torch runs on the CPU only")
    table.note = f"Median times, float32; torch CPU uses {threads} thread(s). {where}."
    return table


def attention_timing_table(budget_s: float = 0.5, threads: int | None = 1):
    """Causal attention forward+backward (B=8, h=4, T=128, d=32) in NumPy, torch CPU and torch GPU.

    A ``course.timing.TimingTable``; never fails for lack of a GPU (the column then reads "n/a (no GPU)").
    ``threads``: torch CPU and NumPy's BLAS both use this many threads (default 1; None: unchanged)."""
    with _threads(gpu._torch(), threads):
        return _attention_timing_table(budget_s)


def _attention_timing_table(budget_s):
    torch, dev = gpu._torch(), gpu.device()
    table = gpu.TimingTable(device=dev)
    if torch is None:
        return table
    table.rows.append(_attention_row(torch, dev, budget_s))
    where = (f"GPU: {gpu.gpu_name()}, full float32 (TF32 off)" if dev == "cuda"
             else "no GPU here, so torch runs on the CPU only")
    table.note = f"Median times, float32; torch CPU uses {torch.get_num_threads()} thread(s). {where}."
    return table


def train_torch(model, ids, steps: int = 50, batch_size: int = 32, seq_len: int = 64, lr: float = 3e-3,
                device=None, seed: int = 0, threads: int | None = 1) -> dict:
    """Train the torch twin of ``model`` (same initial weights) with AdamW on random windows of ``ids``
    on ``device`` (default: ``"cuda"`` when there is a GPU, else the CPU). Never raises for a GPU
    problem: it falls back to the CPU and says so. Returns ``{"device", "losses", "seconds_per_step",
    "model"}``. ``threads``: torch's CPU threads meanwhile (default 1: steadier on a shared machine)."""
    torch = _torch()
    with _threads(torch, threads):
        return _train_torch(torch, model, ids, steps, batch_size, seq_len, lr, device, seed)


def _train_torch(torch, model, ids, steps, batch_size, seq_len, lr, device, seed):
    from course.transformer import random_windows

    dev = device or gpu.device()
    note = ""
    try:
        twin = torch_lm(model, device=dev)
    except Exception as exc:  # a misbehaving GPU must not break the lecture
        dev, note = "cpu", f"{type(exc).__name__} on {dev}; fell back to the CPU"
        twin = torch_lm(model, device=dev)
    opt = torch.optim.AdamW(twin.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    losses, times = [], []
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    for _ in range(steps):
        x, y = random_windows(ids, batch_size, seq_len, rng)
        xt, yt = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
        t0 = time.perf_counter()
        loss = torch_train_step(twin, opt, xt, yt)
        sync()
        times.append(time.perf_counter() - t0)
        losses.append(float(loss))
    return {"device": dev, "losses": losses, "seconds_per_step": float(np.median(times[1:] or times)),
            "model": twin, "note": note}
