"""Every lecture and solution notebook runs top to bottom in a fresh kernel, in time.

The notebooks are found when pytest collects this file, so a new unit's
``lectures/NN_*.ipynb`` or ``solutions/aN_*/*.ipynb`` is tested without
touching this file. Each runs with the notebook's own folder as working
directory, in the ``python3`` kernel (the interpreter running pytest, i.e.
``.venv``). A failing cell fails the test with that cell's source and error.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from explorers import explorers_in  # noqa: E402
from labserver import chromium_missing_message  # noqa: E402

NOTEBOOKS = sorted(ROOT.glob("lectures/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb"))
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]
#: Each notebook runs once per suite: a lecture with an explorer runs top to bottom in JupyterLab in
#: Chromium (tests/browser/test_lectures_browser.py, same budget) wherever Chromium is installed;
#: here run the others, and every lecture on a machine without Chromium.
IN_BROWSER = set() if chromium_missing_message() else {p for p in NOTEBOOKS
                                                        if p.parent.name == "lectures" and explorers_in(p)}
RUN_HERE = [p for p in NOTEBOOKS if p not in IN_BROWSER]

ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colour codes in IPython tracebacks

#: Wall-clock budget for one notebook, kernel start-up included (2 CPU cores).
BUDGET_S = 60.0


def _failing_cell(nb) -> tuple[int, str]:
    """(index, source) of the first code cell whose outputs contain an error."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(o.get("output_type") == "error"
                                            for o in cell.get("outputs", [])):
            return i, cell.source
    return -1, "<no cell with an error output>"


def _run(path: Path) -> tuple[nbformat.NotebookNode, float]:
    """Execute a fresh copy of the notebook at ``path``; return it and the seconds taken."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=int(BUDGET_S * 2),     # per cell: a hung cell fails instead of hanging the suite
        startup_timeout=120,
        resources={"metadata": {"path": str(path.parent)}},  # cwd = the notebook's folder
    )
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellTimeoutError as err:
        pytest.fail(f"{path.name}: a cell ran past {BUDGET_S * 2:.0f} s\n{err}", pytrace=False)
    except CellExecutionError as err:
        i, source = _failing_cell(nb)
        pytest.fail(f"{path.name}: cell {i} raised an error.\n"
                    f"--- cell source ---\n{source}\n--- error ---\n{ANSI.sub('', str(err))}",
                    pytrace=False)
    return nb, time.perf_counter() - t0


@pytest.mark.slow
@pytest.mark.parametrize("path", RUN_HERE, ids=[str(p.relative_to(ROOT)) for p in RUN_HERE])
def test_notebook_runs_in_fresh_kernel_within_budget(path, record_property, monkeypatch):
    if path.parent.parent.name == "solutions":
        # A solution's last cell, course.check(), would run the whole solution a second time, hidden
        # tests and their training included; as under nbgrader, it does nothing here. `course check`
        # on every solution, and in a released notebook's last cell, is tested in tests/grading/.
        monkeypatch.setenv("COURSE_CHECK_RUNNING", "1")
    nb, seconds = _run(path)
    record_property("seconds", round(seconds, 2))
    print(f"\n{path.relative_to(ROOT)}: {seconds:.1f} s")
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in ran), "some code cells did not run"
    assert seconds < BUDGET_S, (
        f"{path.name} took {seconds:.1f} s, over its {BUDGET_S:.0f} s budget on this machine: "
        "make the slow cells work on smaller inputs (a crop, fewer repeats)")


def test_notebooks_were_found():
    assert any(p.parent.name == "lectures" for p in NOTEBOOKS), f"no lectures/*.ipynb under {ROOT}"


def test_every_lecture_is_run_by_one_test():
    assert set(RUN_HERE) | IN_BROWSER == set(NOTEBOOKS) and not set(RUN_HERE) & IN_BROWSER


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (
        f"{path.name}: code cells {dirty} have outputs or an execution_count; commit notebooks "
        "clean (e.g. `jupyter nbconvert --clear-output --inplace {path.name}`)")
