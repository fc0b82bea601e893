"""The zero-install site (JupyterLite, Pyodide kernel) built, served on loopback, and
opened the way a student opens it: a lecture in the page, Run All, the outputs read.

Plain Python, no pytest: ``tests/browser/test_lite_site.py`` and
``benchmarks/bench_browser.py`` both use it.

    site = LiteSite.build(tmp)          # course.jupyter.lite_site.build (offline, verified files)
    site.start()                        # `python -m course.jupyter.lite_site serve` on a free port
    blocked = block_outside(page)       # every request not to 127.0.0.1 aborted and recorded
    open_lecture(page, site.url, "lectures/01_convolution_kernels.ipynb")
    labpage.run_all(page, path)
    site.stop()

The site's page has ``window.jupyterapp`` (``exposeAppInBrowser`` in its
jupyter-lite.json), so the waits of ``labpage`` work unchanged.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Page

import labpage
from labserver import REPO, free_port, stop_process_tree, wait_for_port
from course.jupyter import lite_site


def missing_message() -> str | None:
    """None when the site can be built here, else what is missing and the command that fetches it."""
    try:
        lite_site._builder_env()
        lite_site.load_lock(lite_site.DEFAULT_PYODIDE_DIR)
    except lite_site.VerificationError as error:
        return f"the zero-install site cannot be built: {error}"
    return None


class LiteSite:
    """A built site folder and the server that serves it."""

    def __init__(self, folder: Path):
        self.folder, self.proc, self.port = Path(folder), None, None

    @classmethod
    def build(cls, folder: Path) -> "LiteSite":
        return cls(lite_site.build(Path(folder)))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> "LiteSite":
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "course.jupyter.lite_site", "serve", str(self.folder),
                                      "-p", str(self.port)], cwd=REPO,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, timeout=30)
        return self

    def stop(self):
        if self.proc is not None:
            stop_process_tree(self.proc)
            self.proc = None


def block_outside(page: Page) -> list[str]:
    """Abort every request that would leave the machine; the list fills with their URLs."""
    blocked: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.context.route("**/*", route)   # the context: the page and its workers (Pyodide runs in one)
    return blocked


def open_lecture(page: Page, base_url: str, path: str, timeout_ms: float = 120_000):
    """Open ``path`` in the site's JupyterLab; wait until Pyodide's kernel is idle."""
    page.goto(f"{base_url}lab/index.html?path={path}", wait_until="domcontentloaded", timeout=timeout_ms)
    page.wait_for_function(labpage._NOTEBOOK_READY, arg=path, timeout=timeout_ms, polling=200)


_FIRST_OUTPUT = """(path) => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || w.context.path !== path) return false;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return cells.length > 0 && cells[0].model.executionCount !== null;
}"""


def run_first_cell(page: Page, path: str, timeout_ms: float = 120_000):
    """Run the notebook's first code cell (Shift+Enter on it) and wait for its result."""
    page.evaluate("""() => {
      const w = window.jupyterapp.shell.currentWidget;
      const i = w.content.widgets.findIndex(c => c.model.type === 'code');
      w.content.activeCellIndex = i;
      return window.jupyterapp.commands.execute('notebook:run-cell');
    }""")
    page.wait_for_function(_FIRST_OUTPUT, arg=path, timeout=timeout_ms, polling=50)
