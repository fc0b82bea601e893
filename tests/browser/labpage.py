"""Drive a JupyterLab page with Playwright the way a student does: open a
notebook, Run All Cells from the menu, wait until every cell ran, then read the
outputs and errors.

Plain Python (no pytest), shared by the browser tests and the browser benchmark.
The server must run with ``--LabApp.expose_app_in_browser=True`` so that
``window.jupyterapp`` exists; every wait below reads the app's own models rather
than guessing from pixels.
"""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page

# True once the notebook PATH is the current tab and its kernel is idle.
_NOTEBOOK_READY = """(path) => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.context || w.context.path !== path || !w.sessionContext) return false;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && w.content.widgets.length > 0;
}"""

# True once every non-empty code cell has run (or one failed) and the kernel is idle.
_RUN_ALL_DONE = """(path) => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || w.context.path !== path) return false;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const failed = cells.some(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'));
  const busy = cells.some(c => c.promptNode && c.promptNode.textContent.includes('*'));
  const ran = cells.every(c => c.model.executionCount !== null
                               || c.model.sharedModel.getSource().trim() === '');
  return failed || (!busy && ran);
}"""

# Every output of the current notebook: [{cell, output_type, name, text, ename, evalue}]
_OUTPUTS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const out = [];
  w.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    for (const o of c.model.outputs.toJSON()) {
      let text = o.text || '';
      if (Array.isArray(text)) text = text.join('');
      out.push({cell: i, output_type: o.output_type, name: o.name || '', text: text,
                ename: o.ename || '', evalue: o.evalue || ''});
    }
  });
  return out;
}"""


def open_notebook(page: Page, base_url: str, path: str, timeout_ms: float = 90_000):
    """Open ``path`` (relative to the server root) in a fresh workspace, wait for an idle kernel."""
    page.goto(f"{base_url}lab/tree/{path}?reset", wait_until="domcontentloaded",
              timeout=timeout_ms)
    page.wait_for_function(_NOTEBOOK_READY, arg=path, timeout=timeout_ms, polling=200)


def run_all(page: Page, path: str, timeout_ms: float = 120_000):
    """Run > Run All Cells (the exact item, not "Restart Kernel and Run All Cells")."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(_RUN_ALL_DONE, arg=path, timeout=timeout_ms, polling=250)


def output_problems(page: Page) -> list[str]:
    """Error outputs, tracebacks on stderr, and widgets that failed to display."""
    problems = []
    for o in page.evaluate(_OUTPUTS):
        if o["output_type"] == "error":
            problems.append(f"cell {o['cell']}: {o['ename']}: {o['evalue']}")
        elif o["name"] == "stderr" and re.search(r"Traceback|Error", o["text"]):
            problems.append(f"cell {o['cell']} stderr: {o['text'][-500:]}")
    failed_views = page.locator(".jp-OutputArea-output", has_text="Error displaying widget")
    if failed_views.count():
        problems.append(f"{failed_views.count()} widget(s) failed to display: "
                        + failed_views.first.inner_text()[:300])
    return problems


class ConsoleErrors:
    """Collects the page's console errors, uncaught exceptions, every request and the failed ones."""

    def __init__(self, page: Page):
        self.messages: list[str] = []
        self.urls: list[str] = []
        self.failed_urls: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("requestfailed", lambda request: self.failed_urls.append(request.url))

    def _on_console(self, msg):
        if msg.type == "error":
            self.messages.append(f"console.error: {msg.text}")

    def errors(self) -> list[str]:
        """The console errors and uncaught exceptions, in order."""
        return list(self.messages)


def screenshot(locator, folder: Path, name: str) -> Path:
    """Save a PNG of one element (scrolled into view) as a test artifact."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path), animations="disabled")
    return path


# Run code in the current notebook's kernel; its stdout.
_EXECUTE = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code: code, silent: false, store_history: false});
  let out = '';
  future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
  await future.done;
  return out;
}"""


def execute(page: Page, code: str) -> str:
    """Run ``code`` in the current notebook's kernel (not in a cell); return its stdout."""
    return page.evaluate(_EXECUTE, code)
