"""Every lecture with widgets, in real JupyterLab in headless Chromium.

For each lecture that constructs an explorer: open a temporary copy, Run All
Cells from the menu, wait until every cell ran and the kernel is idle, check no
cell failed and that it took less than a lecture's budget (this is the lecture's
one top-to-bottom run of the suite: tests/test_notebooks.py runs the others),
then operate every explorer as a student would (see
``explorers.py``) and check the page shows the right result. One screenshot per
interaction goes to ``test-artifacts/screenshots/``.
"""
from __future__ import annotations

import time

import pytest

import labpage
from explorers import INTERACTIONS, ExplorerInPage, explorers_in
from labserver import REPO

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

#: A lecture's budget, as in tests/test_notebooks.py (which leaves these lectures to this test).
BUDGET_S = 60.0
LECTURES = sorted(p for p in (REPO / "lectures").glob("[0-9]*.ipynb") if explorers_in(p))


def test_some_lecture_has_widgets():
    assert LECTURES, "no lecture constructs an explorer: nothing for the browser tests to drive"


@pytest.mark.parametrize("lecture", LECTURES, ids=lambda p: p.stem)
def test_lecture_explorers_work_in_jupyterlab(lab, page, screenshots, lecture):
    names = explorers_in(lecture)
    missing = [n for n in names if n not in INTERACTIONS]
    assert not missing, (f"{lecture.name} uses {missing} but tests/browser/explorers.py has no "
                         f"interaction for it: add one to INTERACTIONS")
    console = labpage.ConsoleErrors(page)
    path = f"lectures/{lecture.name}"

    labpage.open_notebook(page, lab.url(), path)
    t0 = time.perf_counter()
    labpage.run_all(page, path)
    seconds = time.perf_counter() - t0
    problems = labpage.output_problems(page)
    assert not problems, f"{lecture.name} after Run All:\n" + "\n".join(problems)
    print(f"\n{path}: Run All in {seconds:.1f} s")
    assert seconds < BUDGET_S, (f"{lecture.name}: Run All took {seconds:.1f} s, over the {BUDGET_S:.0f} s "
                                "budget of a lecture: make the slow cells work on smaller inputs")

    for name in names:
        root = page.locator(f".course-{name}").first
        explorer = ExplorerInPage(page, root, screenshots, f"{lecture.stem}-{name}")
        explorer.wait_ready()
        explorer.shot("00-start")
        INTERACTIONS[name](explorer)

    problems = labpage.output_problems(page)
    assert not problems, f"{lecture.name} after the interactions:\n" + "\n".join(problems)
    errors = console.errors()
    assert not errors, "browser console errors:\n" + "\n".join(errors)
