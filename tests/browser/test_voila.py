"""`course explore` (``make explore``): every explorer as a standalone Voila app.

Starts the real command on a free loopback port, waits for the port (``GET /``
would execute the notebook, so it is no readiness probe), opens the page with
``wait_until="commit"`` (Voila streams while it executes), checks every
explorer is there without code cells, and operates one of them.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_voila_finds_the_course_template_over_its_lab_template(monkeypatch):
    """With the package's Jupyter data folder on $JUPYTER_PATH (as ``course explore`` sets
    it), Voila resolves the ``course`` template first, on top of its own ``lab``."""
    from voila.paths import collect_template_paths

    from course.explore import JUPYTER_DATA, TEMPLATE, voila_argv

    assert f"--VoilaConfiguration.template={TEMPLATE}" in voila_argv(Path("app.ipynb"), 8866)
    monkeypatch.setenv("JUPYTER_PATH", str(JUPYTER_DATA))
    paths = [Path(p) for p in collect_template_paths(["voila", "nbconvert"], TEMPLATE, prune=True)]
    assert paths[0] == JUPYTER_DATA / "voila" / "templates" / TEMPLATE
    assert (paths[0] / "index.html.j2").is_file()
    assert any(p.parts[-3:] == ("voila", "templates", "lab") for p in paths[1:])


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
    # The page asks nothing of the internet: Font Awesome (the button's icon) comes from
    # Voila's own bundle and static folder, not from the CDN that Voila's lab template links.
    icon = page.locator(".course-PoolingExplorer button i.fa-refresh").first
    assert page.evaluate("(el) => getComputedStyle(el, '::before').fontFamily",
                         icon.element_handle()) == '"Font Awesome 5 Free"'
    page.wait_for_function("""() => [...document.fonts].some(
        f => f.family.includes('Font Awesome 5 Free') && f.status === 'loaded')""",
                           timeout=30_000)
    outside = [u for u in console.urls if not u.startswith((url, "data:", "blob:"))]
    assert not outside, f"requests outside the server: {outside}"
    assert not console.failed_urls, console.failed_urls
    errors = console.errors()
    assert not errors, "browser console errors:\n" + "\n".join(errors)
    assert "Traceback" not in log.read_text(errors="replace")
