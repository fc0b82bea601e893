"""The student bundle that `course grade release` writes: no answers in it, and `course check` works in it."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

import grading_helpers

ROOT = grading_helpers.ROOT
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _secrets() -> tuple[list[str], list[str]]:
    """(hidden-test lines, solution texts) of every assignment in solutions/.

    A hidden-test line counts when it is not also visible in the released notebook
    (``import numpy as np`` in a hidden block is no secret)."""
    hidden, solutions = [], []
    for a in ASSIGNMENTS:
        for path in sorted((ROOT / "solutions" / a).glob("*.ipynb")):
            released = (ROOT / "assignments" / a / path.name).read_text()
            visible = "\n".join("".join(c.source) for c in nbformat.reads(released, as_version=4).cells)
            for cell in nbformat.read(path, as_version=4).cells:
                lines = cell.source.splitlines()
                inside = None
                block = []
                for line in lines:
                    if "### BEGIN HIDDEN TESTS" in line or "### BEGIN SOLUTION" in line:
                        inside, block = ("hidden" if "HIDDEN" in line else "solution"), []
                    elif "### END HIDDEN TESTS" in line or "### END SOLUTION" in line:
                        if inside == "solution" and "".join(block).strip():
                            solutions.append("\n".join(block).strip())
                        inside = None
                    elif inside == "hidden" and len(line.strip()) >= 8 and line.strip() not in visible:
                        hidden.append(line.strip())
                    elif inside:
                        block.append(line)
                if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution") \
                        and "### BEGIN SOLUTION" not in cell.source:
                    solutions.append(cell.source.strip())    # a written answer in the instructor version
    return hidden, solutions


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bundle")
    env = dict(os.environ, PATH=f"{grading_helpers.BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               COURSE_GRADING_RELEASE=str(tmp / "release"))
    env.pop("COURSE_GRADING_DB", None)
    for a in ASSIGNMENTS:
        out = grading_helpers.run_course("grade", "release", a, "--workspace", tmp / "ws", "--bundle", tmp / "out",
                                         env=env).stdout
        assert "student bundle ->" in out
    fresh = tmp / "fresh"
    with zipfile.ZipFile(tmp / "out" / "course-student.zip") as zf:
        zf.extractall(fresh)
    return fresh / "course-student"


@pytest.mark.slow
def test_bundle_holds_what_students_need_and_no_instructor_files(bundle):
    names = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    for a in ASSIGNMENTS:
        assert f"assignments/{a}/{a}.ipynb" in names
    assert {f"lectures/{p.name}" for p in (ROOT / "lectures").glob("*.ipynb")} <= names
    assert "course/conv.py" in names and "course/selfcheck.py" in names and "README.md" in names
    assert not any(n.startswith(("solutions/", "tests/", "autograder/", "benchmarks/")) for n in names)
    assert not {"course/grading/commands.py", "course/grading/instructor.py", "course/grading/bundle.py",
                "course/grading/similarity.py", "course/grading/cluster.py"} & names


@pytest.mark.slow
def test_no_hidden_test_line_and_no_solution_text_anywhere_in_the_bundle(bundle):
    hidden, solutions = _secrets()
    assert len(hidden) > 20 and len(solutions) > 10          # the search has something to look for
    texts = {}
    for p in bundle.rglob("*"):
        if p.is_file():
            raw = p.read_text(errors="replace")
            if p.suffix == ".ipynb":            # notebook JSON escapes newlines: search the cell text too
                raw += "\n".join(c.source for c in nbformat.reads(raw, as_version=4).cells)
            texts[str(p.relative_to(bundle))] = raw
    for line in hidden:
        assert not [n for n, t in texts.items() if line in t], line
    # The lectures teach with the package's reference code, so it stays in the bundle (the issue's
    # rule; copying from it is what `course grade similarity` reports). A solution that *is* the
    # reference (A2's Value.backward and course/autodiff.py) may appear there, and nowhere else.
    reference = {n for n in texts if n.startswith("course/") and n.endswith(".py")
                 and not n.startswith(("course/checkers/", "course/grading/", "course/widgets/"))}
    for text in solutions:
        assert not [n for n, t in texts.items() if text in t and n not in reference], text[:200]
    assert any(text not in "".join(texts[n] for n in reference) for text in solutions)
    for marker in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION"):
        assert not [n for n, t in texts.items() if marker in t]


@pytest.mark.slow
def test_course_check_works_inside_the_bundle(bundle):
    """The bundle's own package, no repository around: the released stub fails every test."""
    a = "a1_convolution"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    env.update(PYTHONPATH=str(bundle), PATH=f"{grading_helpers.BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([sys.executable, "-m", "course", "check", f"assignments/{a}/{a}.ipynb"], cwd=bundle,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "0 / 75" in proc.stdout and "not implemented yet" in proc.stdout
    probe = subprocess.run([sys.executable, "-c", "import course, course.grading.preprocessors; print(course.__file__)"],
                           cwd=bundle, env=env, capture_output=True, text=True, timeout=120)
    assert probe.stdout.strip() == str(bundle / "course" / "__init__.py")
