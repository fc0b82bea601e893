"""The optional PyTorch cells: the same operation on the GPU when there is one.

- ``device()``             ``"cuda"`` if PyTorch sees a GPU, else ``"cpu"``
- ``timing_table(*cases)`` times each case three ways, NumPy (``course``) vs
  torch on the CPU vs torch on the GPU, checks that all three give the same
  numbers, and returns a small table (shown as a table in a notebook, printed
  as text elsewhere)

Nothing here ever fails for lack of a GPU: the GPU column then reads
``"n/a (no GPU)"``. A lecture cell is one line, e.g.
``timing_table("filter_image", "conv2d")``.

Cases (``CASES``): ``filter_image`` (one 512x512 image, 3x3 kernel), ``conv2d``
and ``conv2d_fwd_bwd`` (N=64, C=16, 32x32, F=16, 3x3), ``max_pool2d`` and
``avg_pool2d`` (2x2 on N=64, C=16, 32x32). Small workloads are dominated by the
cost of launching work on the GPU; the batched ones show where it pays off.
"""
from __future__ import annotations

import contextlib
import html
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["device", "gpu_name", "CASES", "Case", "TimingTable", "timing_table"]

NO_GPU = "n/a (no GPU)"


def _torch():
    """PyTorch, or None when it cannot be imported (the table then says so)."""
    try:
        import torch
    except Exception:  # a broken install must not break a lecture
        return None
    return torch


def device() -> str:
    """``"cuda"`` if PyTorch can use a GPU here, else ``"cpu"``. Never raises."""
    torch = _torch()
    try:
        return "cuda" if torch is not None and torch.cuda.is_available() else "cpu"
    except Exception:
        return "cpu"


def gpu_name() -> str | None:
    """The GPU's name (e.g. ``"NVIDIA H100 80GB HBM3"``), or None without one."""
    if device() != "cuda":
        return None
    try:
        return _torch().cuda.get_device_name(0)
    except Exception:
        return None


# --------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """One workload timed three ways.

    ``make(rng)`` -> dict of float32 NumPy arrays; ``numpy(**arrays)`` and
    ``torch(t, **tensors)`` compute the same result (an array / tensor, or a tuple
    of them) from those arrays; ``t`` is the torch module.
    """
    name: str
    shape: str
    make: Callable
    numpy: Callable
    torch: Callable


def _conv_inputs(rng):
    return {"x": rng.standard_normal((64, 16, 32, 32), dtype=np.float32),
            "w": rng.standard_normal((16, 16, 3, 3), dtype=np.float32)}


def _pool_inputs(rng):
    return {"x": rng.standard_normal((64, 16, 32, 32), dtype=np.float32)}


def _np_filter(x, w):
    from course import conv
    return conv.filter_image(x, w, padding="same")


def _t_filter(t, x, w):
    return t.nn.functional.conv2d(x[None, None], w[None, None], padding=1)[0, 0]


def _np_conv(x, w):
    from course import conv
    return conv.conv2d(x, w, padding=1)


def _t_conv(t, x, w):
    return t.nn.functional.conv2d(x, w, padding=1)


def _np_conv_fb(x, w):
    from course import conv
    out = conv.conv2d(x, w, padding=1)
    grad_x, grad_w, _ = conv.conv2d_backward(np.ones_like(out), x, w, padding=1)
    return out, grad_x, grad_w


def _t_conv_fb(t, x, w):
    x = x.detach().requires_grad_(True)
    w = w.detach().requires_grad_(True)
    out = t.nn.functional.conv2d(x, w, padding=1)
    out.sum().backward()  # d(sum)/d(out) = ones, as on the NumPy side
    return out.detach(), x.grad, w.grad


def _np_max(x):
    from course import pool
    return pool.max_pool2d(x, 2)


def _np_avg(x):
    from course import pool
    return pool.avg_pool2d(x, 2)


CASES: dict[str, Case] = {c.name: c for c in [
    Case("filter_image", "512x512, 3x3",
         lambda rng: {"x": rng.random((512, 512), dtype=np.float32),
                      "w": rng.standard_normal((3, 3), dtype=np.float32)},
         _np_filter, _t_filter),
    Case("conv2d", "N64 C16 32x32 F16 3x3", _conv_inputs, _np_conv, _t_conv),
    Case("conv2d_fwd_bwd", "N64 C16 32x32 F16 3x3", _conv_inputs, _np_conv_fb, _t_conv_fb),
    Case("max_pool2d", "N64 C16 32x32 2x2", _pool_inputs, _np_max,
         lambda t, x: t.nn.functional.max_pool2d(x, 2)),
    Case("avg_pool2d", "N64 C16 32x32 2x2", _pool_inputs, _np_avg,
         lambda t, x: t.nn.functional.avg_pool2d(x, 2)),
]}


# ------------------------------------------------------------------- timing
def _median_seconds(fn: Callable, sync: Callable = lambda: None,
                    budget_s: float = 0.3, max_repeat: int = 25) -> float:
    """Median wall time of ``fn()`` after one warm-up call, within ~``budget_s``."""
    sync()
    t0 = time.perf_counter()
    fn()  # warm-up: first calls pay for allocation, kernel loading, caches
    sync()
    first = time.perf_counter() - t0
    repeat = int(max(3, min(max_repeat, budget_s / max(first, 1e-6))))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def _max_diff(ref, other) -> float:
    """Largest relative difference over all outputs (scaled by each output's size)."""
    worst = 0.0
    for a, b in zip(_as_tuple(ref), _as_tuple(other)):
        b = b.detach().cpu().numpy() if hasattr(b, "detach") else np.asarray(b)
        scale = max(1.0, float(np.abs(a).max()))
        worst = max(worst, float(np.abs(np.asarray(a) - b).max()) / scale)
    return worst


def _fmt_time(s: float) -> str:
    return f"{s * 1e3:.3g} ms" if s >= 1e-4 else f"{s * 1e6:.3g} µs"


@dataclass
class TimingTable:
    """Result of ``timing_table``: one row per case.

    Each row: ``name``, ``shape``, ``numpy_s``, ``torch_cpu_s``, ``torch_gpu_s``
    (float seconds, or None), ``gpu`` (None, or what to print in the GPU column
    instead of a time, e.g. ``"n/a (no GPU)"``), ``max_diff`` (largest relative difference of the torch results from
    NumPy's). ``rows`` is plain data, so a test or a plot can use it.
    """
    rows: list[dict] = field(default_factory=list)
    device: str = "cpu"
    note: str = ""

    HEAD = ("case", "shape", "NumPy (course)", "torch CPU", "torch GPU", "NumPy / torch CPU",
            "max rel. diff")

    def _cells(self, row) -> list[str]:
        gpu = _fmt_time(row["torch_gpu_s"]) if row["torch_gpu_s"] is not None else row["gpu"]
        cpu = _fmt_time(row["torch_cpu_s"]) if row["torch_cpu_s"] is not None else "n/a"
        ratio = (f"{row['numpy_s'] / row['torch_cpu_s']:.2g}x"
                 if row["torch_cpu_s"] else "n/a")
        diff = f"{row['max_diff']:.1e}" if row["max_diff"] is not None else "n/a"
        return [row["name"], row["shape"], _fmt_time(row["numpy_s"]), cpu, gpu, ratio, diff]

    def __str__(self) -> str:
        table = [list(self.HEAD)] + [self._cells(r) for r in self.rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(self.HEAD))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in table]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines + ([self.note] if self.note else []))

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.HEAD)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in self._cells(r))
                       + "</tr>" for r in self.rows)
        note = f"<p><small>{html.escape(self.note)}</small></p>" if self.note else ""
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def _time_case(case: Case, torch, dev: str, budget_s: float) -> dict:
    rng = np.random.default_rng(0)
    arrays = case.make(rng)
    ref = case.numpy(**arrays)
    row = {"name": case.name, "shape": case.shape,
           "numpy_s": _median_seconds(lambda: case.numpy(**arrays), budget_s=budget_s),
           "torch_cpu_s": None, "torch_gpu_s": None,
           "gpu": None if dev == "cuda" else NO_GPU, "max_diff": None}
    if torch is None:
        row["gpu"] = "n/a (no torch)"
        return row
    cpu_in = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    row["max_diff"] = _max_diff(ref, case.torch(torch, **cpu_in))
    row["torch_cpu_s"] = _median_seconds(lambda: case.torch(torch, **cpu_in), budget_s=budget_s)
    if dev == "cuda":
        try:
            with _full_float32(torch):
                gpu_in = {k: v.to("cuda") for k, v in cpu_in.items()}
                sync = torch.cuda.synchronize  # GPU calls return early: wait for them
                row["max_diff"] = max(row["max_diff"], _max_diff(ref, case.torch(torch, **gpu_in)))
                row["torch_gpu_s"] = _median_seconds(lambda: case.torch(torch, **gpu_in), sync,
                                                     budget_s=budget_s, max_repeat=100)
        except Exception as exc:  # a GPU that misbehaves must not break the lecture
            row["gpu"] = f"n/a ({type(exc).__name__})"
    return row


@contextlib.contextmanager
def _full_float32(torch):
    """Turn TF32 off while timing, then restore it.

    On recent NVIDIA GPUs PyTorch runs float32 convolutions in TF32 by default
    (``torch.backends.cudnn.allow_tf32``): faster, but only ~3 significant digits,
    so the GPU's answer would differ from NumPy's by ~1e-3. The table compares
    like with like: true float32 everywhere.
    """
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def timing_table(*cases: str, budget_s: float = 0.3, show: bool = False) -> TimingTable:
    """Time each case with NumPy (``course``), torch on the CPU and torch on the GPU.

    cases: names from ``CASES`` (default: ``"filter_image"``). Each measurement
    is the median of repeated calls after a warm-up, using about ``budget_s``
    seconds. All three must agree: the ``max rel. diff`` column is the largest
    difference of the torch results from NumPy's (float32, so ~1e-6 is "equal").
    Returns a ``TimingTable`` (a table when it is a cell's last line); ``show=True``
    also prints it. Never raises for lack of a GPU: that column then reads
    ``"n/a (no GPU)"``.
    """
    names = cases or ("filter_image",)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise ValueError(f"unknown timing case(s) {unknown}; choose from {sorted(CASES)}")
    torch, dev = _torch(), device()
    table = TimingTable(device=dev)
    for name in names:
        table.rows.append(_time_case(CASES[name], torch, dev, budget_s))
    threads = torch.get_num_threads() if torch is not None else "?"
    where = (f"GPU: {gpu_name()}, full float32 (TF32 off)" if dev == "cuda"
             else "no GPU here, so torch runs on the CPU only")
    table.note = f"Median times, float32; torch CPU uses {threads} thread(s). {where}."
    if show:
        print(table)
    return table
