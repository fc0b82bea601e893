"""Autograding load test: `course grade autograde --workers 2` (Dask, sandboxed) vs plain nbgrader.

N submissions (``BENCH_GRADING_N``, default 200) of Assignment 1, mixed like a real
class: honest (the correct sample, 40 %), wrong (partly wrong 20 %, the untouched stub
10 %) and hostile (kernel dies 10 %, edited test cell 10 %, deleted test cell 10 %), all
from tests/submissions/a1_convolution.  Graded three ways on the same workspace, each
from scratch (``--force``), timed end to end (start-up included, as an instructor sees it):

- plain:     ``nbgrader autograde a1_convolution --force`` (serial, one process, no sandbox:
             stock nbgrader), run in ``autograder/`` so it uses the course's configuration;
- nosandbox: ``course grade autograde a1_convolution --workers W --no-sandbox``;
- sandbox:   ``course grade autograde a1_convolution --workers W`` (the default).

Reported: throughput (submissions per minute) and speedup over plain nbgrader (target
>= 1.7x with 2 workers on 2 cores), sandbox overhead (sandbox / nosandbox - 1, target
<= 10 %), and the memory high-water mark of each run (summed RSS of the process tree:
grader, Dask workers, kernels, sampled every 0.5 s).  The machine's load average is
recorded: on a shared machine the neighbours' work skews every number.

    make bench                                             # all benchmarks, N=200
    BENCH_GRADING_N=6 python benchmarks/bench_grading.py   # a small check
    BENCH_GRADING_WORKERS=4 BENCH_GRADING_ROUNDS=2 ...     # more workers, best of 2 rounds

``cases()`` returns run.py's fields: ``numpy_s`` = course grade (sandboxed, s per submission),
``torch_s`` = plain nbgrader (s per submission), ``ratio`` = numpy_s / torch_s (target
<= 1/1.7), plus ``speedup``, ``sandbox_overhead``, ``peak_rss_mb`` and the rest.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
A = "a1_convolution"
SAMPLES = ROOT / "tests" / "submissions" / A
MIX = [("correct", 0.4), ("partly_wrong", 0.2), ("stub", 0.1), ("kernel_dies", 0.1), ("tampered_edit", 0.1),
       ("tampered_delete", 0.1)]
BIN = Path(sys.executable).parent
TARGET_SPEEDUP = 1.7
TARGET_OVERHEAD = 0.10


def _env(ws: Path, release: Path) -> dict:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               COURSE_GRADING_WORKSPACE=str(ws), COURSE_GRADING_RELEASE=str(release))
    env.pop("COURSE_GRADING_DB", None)
    return env


def _tree_rss(pid: int) -> int:
    """Summed resident memory (bytes) of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            rss[int(p.name)] = int((p / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(p.name))
    total, todo = 0, [pid]
    while todo:
        q = todo.pop()
        total += rss.get(q, 0)
        todo += children.get(q, [])
    return total


def _run(cmd, env, cwd=ROOT) -> tuple[float, int]:
    """(seconds, peak RSS in bytes of the whole process tree)."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    sampler.join(timeout=2)
    if proc.returncode not in (0, 1):     # 1: some submission could not be graded (reported, not a crash)
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{out[-2000:]}\n{err[-2000:]}")
    return seconds, peak[0]


def prepare(tmp: Path, n: int) -> dict:
    ws, release, subs = tmp / "workspace", tmp / "release", tmp / "submissions"
    env = _env(ws, release)
    counts = [max(1, round(n * share)) for _, share in MIX]
    counts[0] += n - sum(counts)
    i = 0
    for (sample, _), count in zip(MIX, counts):
        for _ in range(count):
            shutil.copytree(SAMPLES / sample, subs / f"student{i:03d}")
            i += 1
    _run([BIN / "course", "grade", "release", A], env)
    _run([BIN / "course", "grade", "collect", A, subs], env)
    return env


def measure(n: int = 200, workers: int = 2, rounds: int = 1) -> dict[str, tuple[float, int]]:
    """{run: (seconds per submission, peak RSS bytes)}, best of ``rounds`` interleaved rounds."""
    ours = [BIN / "course", "grade", "autograde", A, "--workers", workers, "--no-progress"]
    commands = {
        "plain": ([BIN / "nbgrader", "autograde", A, "--force"], ROOT / "autograder", {"COURSE_GRADING_SANDBOX": "0"}),
        "nosandbox": (ours + ["--no-sandbox"], ROOT, {}),
        "sandbox": (ours, ROOT, {}),
    }
    best = {k: (float("inf"), 0) for k in commands}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        env = prepare(Path(tmp), n)
        for _ in range(rounds):
            for key, (cmd, cwd, extra) in commands.items():
                seconds, peak = _run(cmd, dict(env, **extra), cwd=cwd)
                if seconds / n < best[key][0]:
                    best[key] = (seconds / n, peak)
    return best


def cases(n: int | None = None) -> list[dict]:
    n = n or int(os.environ.get("BENCH_GRADING_N", 200))
    workers = int(os.environ.get("BENCH_GRADING_WORKERS", 2))
    rounds = int(os.environ.get("BENCH_GRADING_ROUNDS", 1))
    load = round(os.getloadavg()[0], 2)
    t = measure(n, workers, rounds)
    plain, nosandbox, sandbox = t["plain"][0], t["nosandbox"][0], t["sandbox"][0]
    return [{
        "name": f"autograde {A} --workers {workers} (Dask, sandboxed) vs nbgrader",
        "shape": f"N={n} mixed submissions",
        "numpy_s": sandbox, "torch_s": plain, "ratio": sandbox / plain, "target": round(1 / TARGET_SPEEDUP, 3),
        "speedup": plain / sandbox, "speedup_no_sandbox": plain / nosandbox,
        "sandbox_overhead": sandbox / nosandbox - 1, "overhead_target": TARGET_OVERHEAD,
        "throughput_per_min": {"plain": 60 / plain, "nosandbox": 60 / nosandbox, "sandbox": 60 / sandbox},
        "peak_rss_mb": {k: round(v[1] / 2 ** 20) for k, v in t.items()},
        "workers": workers, "n": n, "rounds": rounds, "cpus": os.cpu_count(), "loadavg_1min_before": load,
        "loadavg_1min_after": round(os.getloadavg()[0], 2),
        "units": "numpy_s = course grade autograde (sandboxed), torch_s = plain nbgrader autograde; s per submission",
    }]


if __name__ == "__main__":
    for r in cases():
        ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
        print(f"{r['name']} ({r['shape']}, load {r['loadavg_1min_before']} -> {r['loadavg_1min_after']} "
              f"on {r['cpus']} CPUs)")
        for k, v in r["throughput_per_min"].items():
            print(f"  {k:<10} {v:6.1f} submissions/min   peak memory {r['peak_rss_mb'][k]} MB")
        print(f"  speedup over plain nbgrader: {r['speedup']:.2f}x {ok(r['speedup'] >= TARGET_SPEEDUP)} "
              f"(without sandbox {r['speedup_no_sandbox']:.2f}x)")
        print(f"  sandbox overhead: {100 * r['sandbox_overhead']:+.1f} % "
              f"{ok(r['sandbox_overhead'] <= TARGET_OVERHEAD)}")
