"""A real PostgreSQL gradebook and a real Dask cluster (scheduler and workers as separate
processes, on 127.0.0.1 only).

- The A1 pipeline (release, collect, autograde with 2 workers, feedback, export) on a throw-away
  PostgreSQL server gives the scores and flags that tests/grading/test_pipeline_a1.py asserts on
  SQLite (make_submissions.EXPECTED).
- `dask scheduler` + two `dask worker` processes grade a batch against PostgreSQL; one worker is
  killed (SIGKILL) while it grades; every submission still ends up graded once, with its score.
- `--scheduler` with an SQLite gradebook is refused.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest

import grading_helpers
import grading_infra as infra
from grading_infra import postgres  # noqa: F401  (fixture)

A = "a1_convolution"
SAMPLES = ("correct", "partly_wrong", "kernel_dies", "tampered_edit", "stub", "corrupt")
EXPECTED = grading_helpers.make_submissions.EXPECTED


def _env(**extra):
    env = dict(os.environ, PATH=f"{grading_helpers.BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    for k in ("COURSE_GRADING_WORKSPACE", "COURSE_GRADING_DB", "COURSE_ROOT"):
        env.pop(k, None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.mark.slow
def test_a1_pipeline_on_postgresql_gives_the_sqlite_scores(postgres, tmp_path):  # noqa: F811
    import shutil

    url = postgres.database("a1_grades")
    subs = tmp_path / "subs"
    for s in SAMPLES:
        shutil.copytree(grading_helpers.SUBMISSIONS_DIR / A / s, subs / s)
    env = _env(COURSE_GRADING_RELEASE=tmp_path / "release")
    common = ("--workspace", tmp_path / "ws", "--db", url)
    grading_helpers.run_course("grade", "release", A, *common, env=env)
    grading_helpers.run_course("grade", "collect", A, subs, *common, env=env)
    grading_helpers.run_course("grade", "autograde", A, "--workers", 2, "--no-progress", *common, env=env)
    grading_helpers.run_course("grade", "feedback", A, *common, env=env)
    grading_helpers.run_course("grade", "export", A, "--csv", tmp_path / "grades.csv", *common, env=env)
    rows = grading_helpers.read_csv(tmp_path / "grades.csv")
    assert set(rows) == set(SAMPLES)
    for s in SAMPLES:
        score, flags = EXPECTED[s]
        assert float(rows[s]["score"]) == score, (s, rows[s])
        assert set(filter(None, rows[s]["flags"].split("; "))) == flags, (s, rows[s]["flag_details"])
    assert not (tmp_path / "ws" / "gradebook.db").exists()          # it really was PostgreSQL
    assert (tmp_path / "ws" / "feedback" / "correct" / A / f"{A}.html").is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(argv, env, log):
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


@pytest.mark.slow
def test_dask_cluster_grades_everything_once_when_a_worker_dies(postgres, tmp_path):  # noqa: F811
    infra.require("COURSE_REQUIRE_SANDBOX", infra.sandbox_problem())
    from distributed import Client
    from sqlalchemy import create_engine, text

    course = infra.tiny_course(tmp_path / "course")
    release, ws = tmp_path / "release", tmp_path / "ws"
    url = postgres.database("cluster_grades")
    env = infra.env_for(course, release)
    common = ("--workspace", ws, "--db", url)
    grading_helpers.run_course("grade", "release", infra.H1, *common, env=env)
    students = [f"s{i:02d}" for i in range(8)]
    slow = "def relu(x):\n    return np.maximum(x, 0.0)\n\nimport time\ntime.sleep(4)\n"
    infra.write_submissions(tmp_path / "subs", {s: infra.submission(release, relu=slow) for s in students})
    grading_helpers.run_course("grade", "collect", infra.H1, tmp_path / "subs", *common, env=env)

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(grading_helpers.BIN / "dask")
    log = open(tmp_path / "cluster.log", "w")
    procs = [_start([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], env, log)]
    try:
        with Client(address, timeout="60s") as client:
            workers = [_start([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                               "--host", "127.0.0.1", "--name", f"w{i}"], env, log) for i in range(2)]
            procs += workers
            client.wait_for_workers(2, timeout=120)
            grade = subprocess.Popen([str(grading_helpers.BIN / "course"), "grade", "autograde", infra.H1,
                                      "--scheduler", address, "--no-progress", *map(str, common)],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # kill worker 0 while it grades: once the first graded notebook exists, both are busy
            infra.wait_for(lambda: list((ws / "autograded").glob(f"*/{infra.H1}/{infra.H1}.ipynb"))
                           if (ws / "autograded").is_dir() else None, 240, "a first graded notebook")
            busy = client.processing()
            assert any(busy.values()), busy
            os.killpg(workers[0].pid, signal.SIGKILL)
            out, err = grade.communicate(timeout=600)
            assert workers[0].wait(timeout=30) == -signal.SIGKILL
    finally:
        for p in procs:
            _stop(p)
        log.close()
    assert grade.returncode == 0, out + err
    lines = [l.split() for l in out.splitlines() if l.split() and l.split()[0] in students]  # noqa: E741
    assert sorted(l[0] for l in lines) == students                        # each listed once
    assert all(l[1] == "15/15" for l in lines), out
    grading_helpers.run_course("grade", "export", infra.H1, "--csv", tmp_path / "g.csv", *common, env=env)
    rows = grading_helpers.read_csv(tmp_path / "g.csv")
    assert {s: float(r["score"]) for s, r in rows.items()} == {s: 15.0 for s in students}
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text("select count(*) from submitted_assignment")).scalar()
        dup = conn.execute(text("select count(*) from (select student_id from submitted_assignment "
                                "group by student_id, assignment_id having count(*) > 1) d")).scalar()
    engine.dispose()
    assert n == len(students) and dup == 0


def test_a_scheduler_needs_a_server_gradebook(tmp_path):
    course = infra.tiny_course(tmp_path / "course")
    env = infra.env_for(course, tmp_path / "release")
    proc = grading_helpers.run_course("grade", "autograde", infra.H1, "--scheduler", "tcp://127.0.0.1:9", "--no-sandbox",
                                      "--workspace", tmp_path / "ws", env=env, check=False)
    assert proc.returncode == 1
    assert "not SQLite" in proc.stderr and "postgresql+psycopg2://" in proc.stderr, proc.stderr
