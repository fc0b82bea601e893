"""`course explore` (``make explore``): every explorer as a standalone Voila app.

Starts the real command on a free loopback port, waits for the port (``GET /``
would execute the notebook, so it is no readiness probe), opens the page with
``wait_until="commit"`` (Voila streams while it executes), checks every
explorer is there without code cells, and operates one of them.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

import labpage
from explorers import INTERACTIONS, ExplorerInPage
from labserver import REPO, free_port, stop_process_tree, wait_for_port



@pytest.fixture
def explore_app(tmp_path, browser_type_launch_args):
    """``python -m course explore --port P`` running; yields its URL, then stops it by pid."""
    port = free_port()
    log = tmp_path / "voila.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "course", "explore", "--port", str(port)],
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, timeout=60, log=log)
        yield f"http://127.0.0.1:{port}/", log
    finally:
        stop_process_tree(proc)


def test_app_notebook_lists_every_explorer_under_its_lecture(tmp_path):
    """No browser needed: the generated notebook and the Voila command line."""
    import nbformat

    from course.explore import explorers_by_lecture, voila_argv, write_app
    from course.widgets._base import Explorer

    entries = write_app(tmp_path / "app.ipynb")
    nb = nbformat.read(str(tmp_path / "app.ipynb"), as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code == [f"from {e.module} import {e.name}\n{e.name}()" for e in entries]
    assert [e.name for e in entries][:3] == ["KernelExplorer", "ConvArithmeticExplorer",
                                             "PoolingExplorer"]  # lecture order
    for e in entries:
        module = __import__(e.module, fromlist=[e.name])
        assert issubclass(getattr(module, e.name), Explorer)
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert any("01_convolution_kernels.ipynb" in h for h in headings)
    assert entries == explorers_by_lecture()
    argv = voila_argv(tmp_path / "app.ipynb", 8866)
    assert "--Voila.ip=127.0.0.1" in argv and "--VoilaConfiguration.strip_sources=True" in argv


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_explore_app_shows_every_explorer_and_responds(explore_app, page, screenshots):
    from course.explore import explorers_by_lecture

    url, log = explore_app
    console = labpage.ConsoleErrors(page)
    page.goto(url, wait_until="commit", timeout=120_000)

    names = [e.name for e in explorers_by_lecture()]
    assert {"KernelExplorer", "ConvArithmeticExplorer", "PoolingExplorer"} <= set(names)
    for name in names:
        explorer = ExplorerInPage(page, page.locator(f".course-{name}").first, screenshots,
                                  f"voila-{name}")
        explorer.wait_ready(timeout_ms=120_000)
    # Voila strips the code cells: no source, no editor, no error output
    code_cells = page.locator(".jp-CodeCell")
    assert code_cells.count() == len(names)
    assert page.locator(".jp-CodeCell.jp-mod-noInput").count() == len(names)
    assert page.locator(".jp-CodeCell .jp-InputArea, .cm-editor").count() == 0
    assert "from course.widgets" not in page.locator("body").inner_text()
    assert page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    page.screenshot(path=str(screenshots / "voila-app.png"), full_page=True)

    # a visitor operates one explorer (the pooling one: quick to redraw)
    pooling = ExplorerInPage(page, page.locator(".course-PoolingExplorer").first, screenshots,
                             "voila-PoolingExplorer")
    INTERACTIONS["PoolingExplorer"](pooling)
    # Voila's lab template links Font Awesome from a CDN (its bundle has the icons too)
    errors = console.errors(offline_ok=r"^https://cdn\.jsdelivr\.net/npm/@fortawesome/")
    assert not errors, "browser console errors:\n" + "\n".join(errors)
    assert all("127.0.0.1" in u or "fortawesome" in u for u in console.failed_urls), \
        console.failed_urls
    assert "Traceback" not in log.read_text(errors="replace")
