"""Infrastructure for the sandbox, PostgreSQL and Dask grading tests.

- ``tiny_course(folder)``: a course folder with the course's real nbgrader configuration and one
  small assignment, ``h1_relu`` (no torch, so a kernel is ~1 s: the hostile suite stays fast);
- ``postgres`` (session fixture): a throw-away PostgreSQL server from Debian's ``postgresql``
  (``initdb``/``pg_ctl`` from /usr/lib/postgresql/*/bin) on a unix socket in a temp folder, no TCP;
  ``postgres.database(name)`` creates a database and returns its SQLAlchemy URL;
- ``require(what, problem)``: skip with the install that fixes it, or fail under CI
  (``COURSE_REQUIRE_SANDBOX=1`` / ``COURSE_REQUIRE_POSTGRES=1``, set by ``.ci/run``).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

import grading_helpers

ROOT = grading_helpers.ROOT
BIN = grading_helpers.BIN
H1 = "h1_relu"
SECRET = "SECRET_HIDDEN_4242"        # a line only the hidden tests hold
POINTS = {"test_relu": 10, "test_out_len": 5}


def require(env: str, problem: str | None) -> None:
    if problem is None:
        return
    if os.environ.get(env) == "1":
        pytest.fail(f"{env}=1 but {problem}", pytrace=False)
    pytest.skip(problem)


def sandbox_problem() -> str | None:
    from course.grading.sandbox import sandbox_problem as problem

    p = problem()
    return None if p is None else f"no sandbox: {p} (install with `apt-get install bubblewrap`)"


def _cell(kind, source, grade_id=None, **meta):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, "task": False,
                                     "grade": meta.get("points") is not None, "points": meta.get("points", 0),
                                     "solution": bool(meta.get("solution")), "locked": bool(meta.get("locked"))}
        if meta.get("points") is None:
            del cell.metadata["nbgrader"]["points"]
    return cell


RELU_SOLUTION = "def relu(x):\n    ### BEGIN SOLUTION\n    return np.maximum(x, 0.0)\n    ### END SOLUTION\n"
OUT_LEN_SOLUTION = ("def out_len(n, kernel_size, padding=0, stride=1):\n    ### BEGIN SOLUTION\n"
                    "    return (n + 2 * padding - kernel_size) // stride + 1\n    ### END SOLUTION\n")


def tiny_course(folder: Path) -> Path:
    """A course folder: autograder/ (the course's real configuration and templates) and solutions/h1_relu."""
    folder.mkdir(parents=True, exist_ok=True)     # the configuration and its feedback template
    shutil.copytree(ROOT / "autograder", folder / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    cells = [
        _cell("markdown", "# H1: ReLU and output length"),
        _cell("code", "import numpy as np", "setup", locked=True),
        _cell("code", RELU_SOLUTION, "relu", solution=True),
        _cell("code", "assert relu(np.array([-1.0, 2.0])).tolist() == [0.0, 2.0]\nprint('relu ok')\n"
                      f"### BEGIN HIDDEN TESTS\n{SECRET} = 'hidden'\n"
                      "assert relu(np.array([-3.0, 0.5]))[1] == 0.5\n### END HIDDEN TESTS\n",
              "test_relu", points=POINTS["test_relu"], locked=True),
        _cell("code", OUT_LEN_SOLUTION, "out_len", solution=True),
        _cell("code", "assert out_len(5, 3) == 3\n### BEGIN HIDDEN TESTS\n"
                      "assert out_len(7, 3, stride=2) == 3 and out_len(5, 3, padding=1) == 5  # SECRET_HIDDEN_4242\n"
                      "### END HIDDEN TESTS\n", "test_out_len", points=POINTS["test_out_len"], locked=True),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (folder / "solutions" / H1).mkdir(parents=True)
    nbformat.write(nb, folder / "solutions" / H1 / f"{H1}.ipynb")
    return folder


def env_for(course: Path, release: Path, **extra) -> dict:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", COURSE_ROOT=str(course),
               COURSE_GRADING_RELEASE=str(release))
    for k in ("COURSE_GRADING_WORKSPACE", "COURSE_GRADING_DB", "COURSE_GRADING_SANDBOX", "COURSE_GRADING_LIMITS"):
        env.pop(k, None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def submission(release: Path, relu: str | None = None, out_len: str | None = None, edit=None):
    """The released h1 notebook with answers filled in (default: the solution)."""
    nb = nbformat.read(release / H1 / f"{H1}.ipynb", as_version=4)
    strip = lambda s: "\n".join(l for l in s.splitlines() if "### " not in l) + "\n"  # noqa: E731,E741
    answers = {"relu": relu or strip(RELU_SOLUTION), "out_len": out_len or strip(OUT_LEN_SOLUTION)}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    if edit:
        edit(nb)
    return nb


def write_submissions(folder: Path, subs: dict) -> Path:
    for student, nb in subs.items():
        (folder / student).mkdir(parents=True)
        nbformat.write(nb, folder / student / f"{H1}.ipynb")
    return folder


# ----------------------------------------------------------------------- PostgreSQL
def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class Postgres:
    """A throw-away cluster: ``initdb`` + ``pg_ctl start`` on a unix socket (no TCP)."""

    def __init__(self):
        self.bindir = _pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="course-pg-"))
        self.user = None

    def problem(self) -> str | None:
        if self.bindir is None:
            return "no PostgreSQL server: `apt-get install postgresql` (initdb and pg_ctl are needed)"
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            return "no psycopg2: `pip install psycopg2-binary` (the `test` extra has it)"
        return None

    def _as_owner(self, argv):
        if os.geteuid() == 0:        # initdb refuses to run as root: run the server as another user
            return ["runuser", "-u", self.user, "--", *argv]
        return argv

    def start(self) -> None:
        if os.geteuid() == 0:
            import pwd

            self.user = "postgres" if _user_exists("postgres") else "nobody"
            pw = pwd.getpwnam(self.user)
            os.chmod(self.dir, 0o755)
            for sub in ("data", "sock"):
                (self.dir / sub).mkdir()
                os.chown(self.dir / sub, pw.pw_uid, pw.pw_gid)
        else:
            (self.dir / "data").mkdir()
            (self.dir / "sock").mkdir()
        self.superuser = "course"
        subprocess.run(self._as_owner([str(self.bindir / "initdb"), "-D", str(self.dir / "data"), "-U",
                                       self.superuser, "--auth=trust", "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True, text=True, timeout=120)
        opts = f"-k {self.dir / 'sock'} -c listen_addresses='' -c fsync=off -c max_connections=60"
        subprocess.run(self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-o", opts,
                                       "-l", str(self.dir / "sock" / "log"), "-w", "-t", "60", "start"]),
                       check=True, capture_output=True, text=True, timeout=90)

    def database(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(dbname="postgres", user=self.superuser, host=str(self.dir / "sock"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return f"postgresql+psycopg2://{self.superuser}@/{name}?host={self.dir / 'sock'}"

    def stop(self) -> None:
        if (self.dir / "data" / "postmaster.pid").exists():
            subprocess.run(self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m",
                                           "immediate", "-w", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="session")
def postgres():
    pg = Postgres()
    require("COURSE_REQUIRE_POSTGRES", pg.problem())
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


def wait_for(predicate, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
