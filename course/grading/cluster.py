"""Autograding on Dask: a ``LocalCluster`` of N workers, or an existing cluster.

    course grade autograde A --workers N                      # LocalCluster, N worker processes
    course grade autograde A --scheduler tcp://HOST:8786      # the workers of an existing cluster

Each submission is one Dask task, ``course.grading.parallel.grade_one(A, student,
settings)``, keyed by assignment and student, so a batch holds each submission
once.  A worker runs nbgrader's own autograde on it (sandboxed, see
``course.grading.sandbox``) and writes the scores to the gradebook itself.
When a worker dies mid-submission the scheduler gives the task to another
worker; that is safe because grading a submission again is idempotent
(``autograde --force`` replaces the graded copy and the gradebook rows).

``settings`` carries what makes a remote worker grade like the instructor's
machine: the course folder, the workspace, the gradebook URL, the per-cell
timeout, the sandbox switch and its limits.  On a cluster the workspace (the
``submitted/`` folders in, ``autograded/`` and ``feedback/`` out) must be a
folder every worker sees at the same path (NFS, a cluster file system, or an
object store mounted as a folder), and the gradebook a server database:
SQLite is refused, since its file locking does not hold across machines.
"""
from __future__ import annotations

import os

from course.grading.workspace import ENV_DB, ENV_RELEASE, ENV_TIMEOUT, ENV_WORKSPACE, GradingError

ENV_SCHEDULER = "COURSE_GRADING_SCHEDULER"
SETTINGS = (ENV_WORKSPACE, ENV_DB, ENV_TIMEOUT, ENV_RELEASE, "COURSE_ROOT", "COURSE_NBGRADER_CONFIG",
            "COURSE_GRADING_SANDBOX", "COURSE_GRADING_LIMITS")


def settings() -> dict:
    """The environment that selects this course's grading (sent with every task)."""
    return {name: os.environ.get(name) for name in SETTINGS}


def check_server_db(db_url: str, scheduler: str | None) -> None:
    """A cluster needs a database every worker can reach: refuse SQLite."""
    if scheduler and db_url.startswith("sqlite"):
        raise GradingError(
            f"--scheduler {scheduler} needs a server gradebook every worker can reach, not SQLite "
            f"({db_url}): pass --db postgresql+psycopg2://USER:PASSWORD@HOST/DBNAME (create the "
            f"database first; pip install psycopg2-binary)")


def client(workers: int, scheduler: str | None):
    """(dask Client, LocalCluster or None)."""
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="30s"), None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                           dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster


def autograde_dask(assignment: str, students: list[str], workers: int = 1, scheduler: str | None = None,
                   progress: bool = True):
    """Grade ``students`` as Dask tasks; a progress bar counts graded, failed and flagged."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    from course.grading.parallel import GradeResult, grade_one

    scheduler = scheduler or os.environ.get(ENV_SCHEDULER) or None
    results: list[GradeResult] = []
    if not students:
        return results
    workers = max(1, min(workers, len(students)))
    counts = {"graded": 0, "failed": 0, "flagged": 0}
    bar = tqdm(total=len(students), desc=f"autograde {assignment}", unit="sub", disable=not progress,
               dynamic_ncols=True)
    dask_client, cluster = client(workers, scheduler)
    try:
        env = settings()
        futures = {dask_client.submit(grade_one, assignment, s, env, key=f"autograde-{assignment}-{s}",
                                      pure=False): s for s in students}
        for fut in as_completed(list(futures)):
            try:
                res = fut.result()
            except Exception as exc:  # a task failed on every worker it was given to: report it, go on
                res = GradeResult(futures[fut], False, 0.0, [], f"worker failed: {type(exc).__name__}: {exc}")
            results.append(res)
            counts["graded" if res.success else "failed"] += 1
            counts["flagged"] += bool(res.flags)
            bar.set_postfix(counts, refresh=False)
            bar.update(1)
    finally:
        bar.close()
        dask_client.close()
        if cluster is not None:
            cluster.close()
    return sorted(results, key=lambda r: r.student)
