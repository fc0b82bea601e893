"""Helpers shared by the grading tests of every assignment: the repository's folders,
the ``course`` command run as an instructor would, and the sample submissions of A1.

``tests/`` is on ``sys.path`` under pytest (``tests/conftest.py`` lives there), so a test
anywhere below it can ``import grading_helpers``.
"""
from __future__ import annotations

import csv
import hashlib
import json
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SUBMISSIONS_DIR = ROOT / "tests" / "submissions"

_spec = importlib.util.spec_from_file_location("make_submissions", SUBMISSIONS_DIR / "make_submissions.py")
make_submissions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_submissions)


def run_course(*args, env=None, check=True, timeout=600):
    """``course ARGS`` in the repository, as a subprocess; fails the test on a non-zero exit."""
    proc = subprocess.run([str(BIN / "course"), *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"course {' '.join(map(str, args))} exited {proc.returncode}\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def hashes(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def read_csv(path: Path) -> dict[str, dict]:
    """The rows of a grades CSV by ``student_id``."""
    with open(path, newline="") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


def errors(nb, grade_id) -> str:
    """The error outputs of the cell ``grade_id`` of a graded notebook, one per line."""
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "\n".join(f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error")


def code_cells(path) -> dict[str, str]:
    """{grade_id: source} of every code cell of a notebook that nbgrader names."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade_id")}


def answer_namespace(path, **edits) -> dict:
    """Run the setup cell and every answer cell of a notebook (not its tests, not its self-check)
    in one namespace, as a student's kernel would, and return it: the student's code, for the checks.

    ``edits``: ``grade_id=(old, new)`` or ``grade_id=[(old, new), ...]``, text replacements in that
    cell (a mistake written in as a student would); each ``old`` must be there.
    """
    cells = code_cells(path)
    assert set(edits) <= set(cells), f"no such cell: {set(edits) - set(cells)}"
    ns: dict = {}
    for gid, source in cells.items():
        if gid.startswith("test_") or gid == "self_check":
            continue
        for old, new in [edits[gid]] if isinstance(edits.get(gid), tuple) else edits.get(gid, []):
            assert old in source, (gid, old)
            source = source.replace(old, new)
        exec(compile(source, f"<{Path(path).stem}:{gid}>", "exec"), ns)   # noqa: S102  (our own notebook)
    return ns


def first_line(fn, *args, **kwargs) -> str:
    """The first line of the CheckFailure that ``fn(*args, **kwargs)`` must raise (the diagnosis)."""
    import pytest

    from course.checkers.core import CheckFailure

    with pytest.raises(CheckFailure) as info:
        fn(*args, **kwargs)
    return str(info.value).splitlines()[0]


def filled(release, solution):
    """A copy of the released notebook ``release`` with every answer cell replaced by the one of the
    source notebook ``solution`` (a path), markers removed: a right submission."""
    import json

    import nbformat

    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(solution, as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.from_dict(json.loads(json.dumps(release)))                  # a deep copy
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = make_submissions.strip_markers(answers[meta["grade_id"]])
    return nb


def grade_stub_and_solution(assignment: str, tmp: Path, solution, also: dict | None = None) -> dict:
    """``course grade release`` the assignment into ``tmp/release``, collect two submissions, "stub"
    (the release as it is) and "correct" (:func:`filled` from ``solution``), autograde them with 2
    workers and export: {"ws": the workspace, "release": the release folder, "csv": rows by student}.
    ``also``: {student: edit}, more submissions, each ``edit`` applied to a copy of "correct"."""
    import os

    import nbformat

    ws, release, subs = tmp / "workspace", tmp / "release", tmp / "submissions"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", COURSE_GRADING_RELEASE=str(release))
    env.pop("COURSE_GRADING_WORKSPACE", None)
    env.pop("COURSE_GRADING_DB", None)
    w = ("--workspace", ws)
    run_course("grade", "release", assignment, *w, env=env)
    released = nbformat.read(release / assignment / f"{assignment}.ipynb", as_version=4)
    subs_nb = {"stub": released, "correct": filled(released, solution)}
    for student, edit in (also or {}).items():
        subs_nb[student] = edit(nbformat.from_dict(json.loads(json.dumps(subs_nb["correct"]))))
    for student, nb in subs_nb.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{assignment}.ipynb")
    run_course("grade", "collect", assignment, subs, *w, env=env)
    run_course("grade", "autograde", assignment, "--workers", 2, "--no-progress", *w, env=env)
    run_course("grade", "export", assignment, "--csv", tmp / "grades.csv", *w, env=env)
    return {"ws": ws, "release": release, "csv": read_csv(tmp / "grades.csv")}
