"""Grading with nbgrader: Assignment 1, `course check`, `course grade ...`.

(The checker's own fast tests are in tests/checkers/test_a1_convolution.py.)
The slow end-to-end test runs the
instructor's command lines exactly as the README gives them, on the sample
submissions in tests/submissions/ (see make_submissions.py there), with
2 workers and a short per-cell timeout, and asserts every score and flag.
"""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

import grading_helpers


ROOT = grading_helpers.ROOT
A = "a1_convolution"
SUBMISSIONS = grading_helpers.SUBMISSIONS_DIR / A
BIN = grading_helpers.BIN
TIMEOUT = 10          # seconds per cell while grading the samples (default 30)
make_submissions = grading_helpers.make_submissions
EXPECTED = make_submissions.EXPECTED
_run, _hashes, _read_csv, _errors = (grading_helpers.run_course, grading_helpers.hashes,
                                     grading_helpers.read_csv, grading_helpers.errors)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """release -> collect -> autograde (2 workers) -> feedback -> export -> report, via the CLI."""
    tmp = tmp_path_factory.mktemp("grading")
    ws, release = tmp / "workspace", tmp / "release"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               COURSE_GRADING_RELEASE=str(release))     # leave the committed assignments/ alone
    env.pop("COURSE_GRADING_WORKSPACE", None)
    env.pop("COURSE_GRADING_DB", None)
    w = ("--workspace", ws)
    out = {"ws": ws, "release": release, "env": env, "tmp": tmp, "samples_before": _hashes(SUBMISSIONS)}
    out["release_out"] = _run("grade", "release", A, *w, env=env).stdout
    out["collect_out"] = _run("grade", "collect", A, SUBMISSIONS, *w, env=env).stdout
    out["submitted_before"] = _hashes(ws / "submitted")
    out["autograde"] = _run("grade", "autograde", A, "--workers", 2, "--timeout", TIMEOUT, *w, env=env)
    out["feedback_out"] = _run("grade", "feedback", A, *w, env=env).stdout
    _run("grade", "export", A, "--csv", tmp / "grades.csv", *w, env=env)
    out["csv"] = _read_csv(tmp / "grades.csv")
    out["report_out"] = _run("grade", "report", A, "--png", tmp / "report.png", *w, env=env).stdout
    return out


def _autograded(graded, student) -> nbformat.NotebookNode:
    return nbformat.read(graded["ws"] / "autograded" / student / A / f"{A}.ipynb", as_version=4)


ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _cells(nb):
    return [(c.cell_type, c.source, json.dumps(c.metadata, sort_keys=True)) for c in nb.cells]


def test_every_assignment_has_a_staleness_test():
    """Each other assignment's own test (tests/checkers/test_<A>.py) releases it and compares the
    files' hashes with the committed assignments/<A>; A1's is below."""
    for assignment in ASSIGNMENTS:
        if assignment != A:
            own = ROOT / "tests" / "checkers" / f"test_{assignment}.py"
            assert 'gh.hashes(ROOT / "assignments" / A)' in own.read_text(), f"{own} must check its release"


@pytest.mark.slow
def test_committed_release_is_not_stale(graded):
    """assignments/<A> is what `nbgrader generate_assignment` makes from solutions/<A> today."""
    assignment, release = A, graded["release"]
    committed_dir = ROOT / "assignments" / assignment
    assert committed_dir.is_dir(), f"run `make release` and commit assignments/{assignment}"
    assert sorted(p.name for p in committed_dir.iterdir()) == sorted(p.name for p in (release / assignment).iterdir())
    for fresh_path in sorted((release / assignment).glob("*.ipynb")):
        fresh = nbformat.read(fresh_path, as_version=4)
        committed = nbformat.read(committed_dir / fresh_path.name, as_version=4)
        assert _cells(fresh) == _cells(committed), (
            f"assignments/{assignment} is stale: run `make release` and commit it")


@pytest.mark.slow
def test_release_hides_solutions_and_hidden_tests(graded):
    text = (ROOT / "assignments" / A / f"{A}.ipynb").read_text()
    for secret in ("BEGIN HIDDEN TESTS", "random_case_rng", "oracle=", "BEGIN SOLUTION", "np.einsum(\"nchw",
                   "argmax(axis=2)", "Without padding every 3x3"):
        assert secret not in text, secret
    nb = nbformat.reads(text, as_version=4)
    assert sum("raise NotImplementedError()" in c.source for c in nb.cells if c.cell_type == "code") == 6
    assert "YOUR ANSWER HERE" in text


@pytest.mark.slow
def test_every_score_and_flag(graded):
    rows = graded["csv"]
    assert set(rows) == set(EXPECTED)
    for student, (score, flags) in EXPECTED.items():
        row = rows[student]
        assert float(row["score"]) == score, (student, row)
        assert float(row["max_score"]) == 85
        got = set(filter(None, row["flags"].split("; ")))
        assert got == flags, (student, got, row["flag_details"])


@pytest.mark.slow
def test_stub_scores_zero_and_solution_full_on_every_test(graded):
    tests = ["test_output_size", "test_pad2d", "test_conv2d_single", "test_conv2d", "test_max_pool2d",
             "test_avg_pool2d"]
    points = [5, 10, 15, 25, 15, 5]
    assert sum(points) + 10 == 85      # + the written answer, graded by hand (max_pool2d_backward moved to A2)
    stub, correct = graded["csv"]["stub"], graded["csv"]["correct"]
    assert [float(stub[t]) for t in tests] == [0] * 6
    assert [float(correct[t]) for t in tests] == points
    assert correct["needs_manual_grade"] == "True"     # the written answer waits for the instructor
    for t in tests:
        assert "not implemented yet" in _errors(_autograded(graded, "stub"), t)


@pytest.mark.slow
def test_failure_messages_name_the_mistake(graded):
    wrong = _autograded(graded, "partly_wrong")
    assert "your output equals true convolution (flipped kernel)" in _errors(wrong, "test_conv2d_single")
    assert "your output equals true convolution (flipped kernel)" in _errors(wrong, "test_conv2d")
    assert "padded with zeros: max pooling pads with -inf" in _errors(wrong, "test_max_pool2d")
    assert "case: " in _errors(wrong, "test_conv2d") and "expected shape" in _errors(wrong, "test_conv2d")
    delegates = _autograded(graded, "delegates")
    assert "calls course.conv.conv2d" in _errors(delegates, "test_conv2d")
    assert "(PyTorch); no points for delegating" in _errors(delegates, "test_max_pool2d")
    dead = _autograded(graded, "kernel_dies")
    assert "DeadKernelError" in _errors(dead, "test_max_pool2d")
    assert "not run: the kernel died in test_max_pool2d" in _errors(dead, "test_avg_pool2d")


@pytest.mark.slow
def test_tampered_test_cells_are_restored_with_hidden_tests(graded):
    edited = _autograded(graded, "tampered_edit")
    cell = next(c for c in edited.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_avg_pool2d")
    assert "BEGIN HIDDEN TESTS" in cell.source and "all tests passed" not in cell.source
    deleted = _autograded(graded, "tampered_delete")
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in deleted.cells]
    assert ids.index("test_max_pool2d") == ids.index("max_pool2d") + 1


@pytest.mark.slow
def test_feedback_never_shows_hidden_tests(graded):
    pages = sorted((graded["ws"] / "feedback").glob(f"*/{A}/{A}.html"))
    assert {p.parts[-3] for p in pages} == {s for s, (_, f) in EXPECTED.items()
                                            if not f & {"corrupt:a1_convolution", "missing:a1_convolution"}}
    for page in pages:
        html = page.read_text()
        for secret in ("BEGIN HIDDEN", "random_case_rng", "oracle=", "draw(", "Traceback (most recent",
                       "Cell In[", "ipython-input", "----&gt;"):
            assert secret not in html, (page, secret)
    wrong = (graded["ws"] / "feedback" / "partly_wrong" / A / f"{A}.html").read_text()
    assert "true convolution (flipped kernel)" in wrong and "padded with zeros" in wrong


@pytest.mark.slow
def test_report_has_pass_rates_histogram_and_common_failures(graded):
    out = graded["report_out"]
    assert "test_conv2d" in out and "passed" in out and "most common failures" in out
    assert "flipped kernel" in out and "tampered:test_avg_pool2d" in out
    png = graded["tmp"] / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.slow
def test_autograde_shows_progress_and_counts(graded):
    err = graded["autograde"].stderr
    assert "autograde a1_convolution" in err and "graded=9" in err and "failed=0" in err and "flagged=5" in err


@pytest.mark.slow
def test_regrading_is_idempotent_and_submissions_are_never_modified(graded):
    ws, env, tmp = graded["ws"], graded["env"], graded["tmp"]
    _run("grade", "autograde", A, "--student", "correct", "--student", "tampered_edit", "--student",
         "kernel_dies", "--workers", 2, "--timeout", TIMEOUT, "--no-progress", "--workspace", ws, env=env)
    _run("grade", "export", A, "--csv", tmp / "again.csv", "--workspace", ws, env=env)
    again = _read_csv(tmp / "again.csv")
    keep = lambda r: {k: v for k, v in r.items() if k != "timestamp"}  # noqa: E731
    assert {s: keep(r) for s, r in again.items()} == {s: keep(r) for s, r in graded["csv"].items()}
    assert _hashes(ws / "submitted") == graded["submitted_before"]
    assert _hashes(SUBMISSIONS) == graded["samples_before"]


@pytest.mark.slow
def test_manual_grade_completes_the_solution_to_85(graded):
    from nbgrader.api import Gradebook

    url = f"sqlite:///{graded['ws'] / 'gradebook.db'}"
    with Gradebook(url, "course") as gb:
        grade = gb.find_grade("written_padding", A, A, "correct")
        grade.manual_score = 10
        gb.db.commit()
    _run("grade", "export", A, "--csv", graded["tmp"] / "final.csv", "--workspace", graded["ws"], env=graded["env"])
    assert float(_read_csv(graded["tmp"] / "final.csv")["correct"]["score"]) == 85


@pytest.mark.slow
def test_collect_from_a_zip_into_another_gradebook(graded, tmp_path):
    archive = tmp_path / "downloads.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for student in ("correct", "corrupt"):
            for f in (SUBMISSIONS / student).iterdir():
                zf.write(f, f"export/{student}/{f.name}")
    ws, db = tmp_path / "ws", tmp_path / "elsewhere.db"
    env = graded["env"]
    out = _run("grade", "collect", A, archive, "--workspace", ws, "--db", f"sqlite:///{db}", env=env).stdout
    assert "collected 1 submission(s): correct" in out and "corrupt: corrupt:" in out
    assert (ws / "submitted" / "correct" / A / f"{A}.ipynb").is_file()
    assert db.is_file() and not (ws / "gradebook.db").exists()


def _check_results(table: str) -> dict[str, str]:
    """{test: pass|FAIL} from `course check`'s table (autograded tests only)."""
    rows = [line.split() for line in table.splitlines()]
    return {r[0]: r[2] for r in rows if len(r) >= 3 and r[2] in ("pass", "FAIL")}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_course_check_solution_passes_and_stubs_fail_everything(assignment):
    """`course check` (no workspace): the solution passes every autograded test, the release none."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    for solution in sorted((ROOT / "solutions" / assignment).glob("*.ipynb")):
        out = _run("check", solution, env=env).stdout
        results = _check_results(out)
        assert results and set(results.values()) == {"pass"}, out
        stub = _run("check", ROOT / "assignments" / assignment / solution.name, env=env, check=False)
        assert stub.returncode == 1
        assert _check_results(stub.stdout) == {name: "FAIL" for name in results}, stub.stdout
        if assignment == A:
            assert "75 / 75" in out and "0 / 75" in stub.stdout and "written_padding" in stub.stdout
            assert stub.stdout.count("not implemented yet") == 6
    assert not (ROOT / "assignments" / assignment / "grading").exists()    # no instructor workspace needed


@pytest.mark.slow
def test_course_check_in_the_last_cell_checks_its_own_notebook(tmp_path, monkeypatch):
    """`course.check()` in the released notebook's last cell finds the notebook (Jupyter sets
    JPY_SESSION_NAME for the kernel) and prints the table; it does not recurse."""
    from nbclient import NotebookClient

    mine = tmp_path / f"{A}.ipynb"
    (mine).write_bytes((ROOT / "assignments" / A / f"{A}.ipynb").read_bytes())
    nb = nbformat.read(mine, as_version=4)
    last = nb.cells[-1]
    assert last.source.strip().endswith("course.check()")
    monkeypatch.setenv("JPY_SESSION_NAME", str(mine))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_CHECK_RUNNING", raising=False)
    client = NotebookClient(nbformat.v4.new_notebook(cells=[last]), kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}})
    out = "".join(o.get("text", "") for o in client.execute().cells[0].outputs)
    assert f"Checking {A}.ipynb" in out and "0 / 75" in out
    assert out.count("test_conv2d ") == 1 and "skipped" not in out
