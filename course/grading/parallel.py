"""``course grade autograde A --workers N``: nbgrader's autograde, N submissions at a time.

nbgrader grades one submission after another.  Here N worker processes each
run nbgrader's own autograde (``NbGraderAPI.autograde``, i.e. the ``Autograde``
converter with the course's preprocessors) for one student at a time, on
disjoint students, all writing to the same gradebook.  The gradebook stays
consistent because every write nbgrader makes is a short transaction scoped
to one student's submission, and SQLite waits for the lock
(``?timeout=60`` in the default URL) instead of failing; students and the
assignment are created up front, by this process alone.  A worker imports
nbgrader once and keeps it, which also saves the ~4 s start-up that each
``nbgrader`` command pays.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

_WORKER = None   # (workspace, nbgrader API), loaded once per worker process


@dataclass
class GradeResult:
    student: str
    success: bool
    seconds: float
    flags: list = field(default_factory=list)
    error: str = ""


def _worker(settings: dict | None = None):
    """The worker's workspace and nbgrader API, set up on its first submission.

    ``settings`` (``course.grading.cluster.settings()``: the environment variables
    that select workspace, gradebook, limits and sandbox) make a remote worker
    grade exactly like the instructor's machine; a change of settings reloads.
    """
    global _WORKER
    key = tuple(sorted((settings or {}).items()))
    if _WORKER is None or _WORKER[2] != key:
        from course.grading.workspace import configure

        for name, value in (settings or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        ws = configure()
        # The graded notebook is complete once its last cell has run: kill the kernel instead of
        # waiting for a graceful exit (~0.5-1 s per submission with torch loaded).
        ws.config.Execute.shutdown_kernel = "immediate"
        _WORKER = ws, ws.api(), key
    return _WORKER[:2]


def grade_one(assignment: str, student: str, settings: dict | None = None) -> GradeResult:
    """Autograde one submission with nbgrader (runs inside a worker process)."""
    start = time.perf_counter()
    ws, api = _worker(settings)
    result = {}
    for attempt in range(3):        # a locked SQLite file after 60 s: try again
        result = api.autograde(assignment, student, force=True, create=True)
        if result.get("success") or "database is locked" not in (result.get("error", "") + result.get("log", "")):
            break
    flags = [f for f in ws.flags(assignment, student) if f.get("stage") is None]  # only those from grading itself
    error = "" if result.get("success") else _last_error(result)
    return GradeResult(student, bool(result.get("success")), time.perf_counter() - start, flags, error)


def _last_error(result: dict) -> str:
    text = (result.get("error") or "") + "\n" + (result.get("log") or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "rror" in line]
    return (errors or lines or ["unknown error"])[-1][:300]


def autograde_parallel(assignment: str, students: list[str], workers: int = 1,
                       progress: bool = True, scheduler: str | None = None,
                       engine: str = "dask") -> list[GradeResult]:
    """Grade ``students`` with ``workers`` processes; show a progress bar with counts.

    ``engine="dask"`` (the default): a Dask ``LocalCluster`` of ``workers`` processes, or the
    cluster at ``scheduler`` (``course.grading.cluster``); ``"processes"``: a local process pool.
    """
    from tqdm.auto import tqdm

    results: list[GradeResult] = []
    if not students:
        return results
    if engine == "dask" or scheduler:
        from course.grading.cluster import autograde_dask

        return autograde_dask(assignment, students, workers=workers, scheduler=scheduler, progress=progress)
    workers = max(1, min(workers, len(students)))
    counts = {"graded": 0, "failed": 0, "flagged": 0}
    bar = tqdm(total=len(students), desc=f"autograde {assignment}", unit="sub", disable=not progress,
               dynamic_ncols=True)
    # spawn: a fresh interpreter per worker (no inherited threads or open database handles)
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(grade_one, assignment, s): s for s in students}
        for fut in as_completed(futures):
            try:
                res = fut.result()
            except Exception as exc:  # a worker crashed: report it, keep going
                res = GradeResult(futures[fut], False, 0.0, [], f"worker crashed: {exc}")
            results.append(res)
            counts["graded" if res.success else "failed"] += 1
            counts["flagged"] += bool(res.flags)
            bar.set_postfix(counts, refresh=False)
            bar.update(1)
    bar.close()
    return sorted(results, key=lambda r: r.student)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
