"""Run every ``benchmarks/bench_*.py`` and write ``benchmarks/results.json``.

Each bench module exposes ``cases() -> list[dict]`` (modules without one, such
as the browser-latency script, are skipped) with at least ``name``,
``shape``, ``numpy_s``, ``torch_s`` and ``ratio`` (NumPy / torch medians
measured side by side in one run), plus ``target`` and ``threads``.

NumPy (its BLAS, via threadpoolctl) and torch get the SAME thread count,
``--threads`` (default 1). One thread compares the algorithms rather than the
parallelism: NumPy's element-wise operations run on one core whatever BLAS
does, and on a shared machine a second thread mostly measures the neighbours.

results.json is merged, not overwritten: entries with the same ``name`` are
replaced, others (e.g. browser latency entries written by other scripts) kept.

    python benchmarks/run.py                 # all cases, 1 thread
    python benchmarks/run.py --threads 2     # same, 2 threads for both
    python benchmarks/run.py -k conv         # only bench_*.py files whose name contains "conv"
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results.json"


def discover() -> list[pathlib.Path]:
    return sorted(HERE.glob("bench_*.py"))


def load(path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def merge(old: list[dict], new: list[dict]) -> list[dict]:
    """Replace entries of ``old`` that share a name with ``new``; append the rest."""
    fresh = {r["name"]: r for r in new}
    merged = [fresh.pop(r["name"], r) for r in old]
    return merged + [r for r in new if r["name"] in fresh]


def read_results(path: pathlib.Path = RESULTS) -> list[dict]:
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        sys.exit(f"{path} is not valid JSON ({exc}); fix or delete it and rerun")
    return data if isinstance(data, list) else []


def table(results: list[dict]) -> str:
    rows = [("case", "shape", "ours ms", "baseline ms", "ratio", "target", "")]
    for r in results:
        if "numpy_s" not in r:      # a result that is not a timing comparison (e.g. the ladder's bits per char)
            rows.append((r["name"], r.get("shape", ""), "-", "-", "-", "-", ""))
            continue
        target = r.get("target")
        verdict = "" if target is None else ("ok" if r["ratio"] <= target else "MISSED")
        rows.append((r["name"], r.get("shape", ""), f"{r['numpy_s'] * 1e3:.3f}",
                     f"{r['torch_s'] * 1e3:.3f}", f"{r['ratio']:.2f}x",
                     "-" if target is None else f"<= {target:g}x", verdict))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for torch AND NumPy's BLAS (default 1)")
    parser.add_argument("-k", dest="only", default="",
                        help="run only the bench files whose name contains this text (conv, train, grading)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be >= 1")

    sys.path.insert(0, str(HERE))  # bench modules import _timing
    sys.path.insert(0, str(HERE.parent))  # and the course package from a checkout
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    results = []
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for path in discover():
            if args.only not in path.stem:
                continue
            module = load(path)
            if not callable(getattr(module, "cases", None)):
                print(f"skipping {path.name}: no cases() (a script run on its own)",
                      file=sys.stderr, flush=True)
                continue
            print(f"running {path.name} ...", file=sys.stderr, flush=True)
            results += module.cases()

    print(f"\nours / baseline (NumPy vs torch; course grade vs plain nbgrader), medians side by side, "
          f"{args.threads} thread(s) each (torch {torch.__version__}):\n")
    print(table(results))
    if not args.no_write:
        RESULTS.write_text(json.dumps(merge(read_results(), results), indent=2) + "\n")
        print(f"\nwrote {RESULTS.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
