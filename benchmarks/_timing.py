"""Side-by-side timing shared by the ``bench_*.py`` modules.

``compare`` times a NumPy callable and a PyTorch callable *interleaved*
(numpy, torch, numpy, torch, ...) so that a burst of load on a shared machine
hits both, and reports the medians. Thread counts are set by ``run.py``.
"""
from __future__ import annotations

import statistics
import time


def threads() -> dict:
    """The thread counts in force: torch's intra-op pool and NumPy's BLAS."""
    import torch
    from threadpoolctl import threadpool_info

    blas = sorted({p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"})
    return {"torch": torch.get_num_threads(), "numpy_blas": blas[0] if len(blas) == 1 else blas}


def compare(name: str, shape: str, numpy_fn, torch_fn, target: float | None,
            min_time: float = 1.0, min_repeat: int = 7, max_repeat: int = 200) -> dict:
    """Median wall time of each callable, measured side by side.

    Repeats until both have run ``min_repeat`` times and ``min_time`` seconds
    have passed (capped at ``max_repeat``), after one warm-up call each.
    """
    numpy_fn(), torch_fn()  # warm-up: first-call allocations, lazy init
    numpy_t, torch_t = [], []
    start = time.perf_counter()
    while len(numpy_t) < max_repeat and (
        len(numpy_t) < min_repeat or time.perf_counter() - start < min_time
    ):
        for fn, times in ((numpy_fn, numpy_t), (torch_fn, torch_t)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    numpy_s, torch_s = statistics.median(numpy_t), statistics.median(torch_t)
    return {
        "name": name, "shape": shape, "numpy_s": numpy_s, "torch_s": torch_s,
        "ratio": numpy_s / torch_s, "target": target, "threads": threads(),
        "repeats": len(numpy_t),
    }
