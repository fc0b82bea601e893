"""The course in the browser (JupyterLite: Python compiled to WebAssembly, Pyodide).

NumPy, matplotlib, scikit-learn and the explorers run there; PyTorch, gensim and
nbgrader do not exist for WebAssembly. A lecture cell that needs one of them
starts with the cell magic ``%%needs``::

    %%needs torch
    y_torch = F.conv2d(...)          # PyTorch as the oracle

On a full install the line is removed and the cell runs exactly as written (same
line numbers, same tracebacks, same output). Where a requirement is missing, the
cell is not run and prints one line instead, from ``MISSING`` (data, not
branches)::

    PyTorch is not available in the browser: this check runs in the full install

The magic is registered when ``course`` is imported in an IPython kernel
(``register``); ``needs(*names)`` is the same test for plain Python code.
"""
from __future__ import annotations

import importlib.util
import sys
import time

__all__ = ["IN_BROWSER", "MISSING", "available", "missing", "needs", "process_time", "register"]

#: True inside Pyodide (JupyterLite's kernel)
IN_BROWSER = sys.platform == "emscripten"

#: This process's CPU seconds, the clock of the training budgets. In the browser, wall seconds:
#: Pyodide's ``time.process_time`` is ``times()``, which WebAssembly never advances (it stays at 0.0
#: however long a cell computes, so a budget would never run out), and the kernel's worker runs
#: nothing but the kernel.
process_time = time.perf_counter if IN_BROWSER else time.process_time

#: requirement -> what to print instead of running a cell that needs it
MISSING = {
    "torch": "PyTorch is not available in the browser: this check runs in the full install",
    "gensim": "gensim is not available in the browser: this comparison runs in the full install",
    "nbgrader": "nbgrader is not available in the browser: grading runs in the full install",
}

_MAGIC = "%%needs"


def available(name: str) -> bool:
    """Whether the module ``name`` can be imported here (looked up, not imported)."""
    return importlib.util.find_spec(name) is not None


def missing(*names: str) -> list[str]:
    """The requirements among ``names`` that cannot be imported here."""
    return [name for name in names if not available(name)]


def needs(*names: str) -> bool:
    """True when every module in ``names`` is importable; otherwise print the one-line
    note of the first missing one (``MISSING``) and return False."""
    absent = missing(*names)
    if absent:
        print(MISSING.get(absent[0], f"{absent[0]} is not available here: this cell runs in the full install"))
    return not absent


def _needs_transform(lines: list[str]) -> list[str]:
    """IPython input transformer: a cell that starts with ``%%needs a b`` runs without its
    first line when a and b are importable, and becomes ``needs(...)`` (one printed line)
    when one is missing."""
    if not lines or not lines[0].startswith(_MAGIC):
        return lines
    names = lines[0][len(_MAGIC):].split()
    if not names:
        raise SyntaxError("%%needs takes the modules the cell needs, e.g. %%needs torch")
    if missing(*names):
        return [f"__import__('course.lite').lite.needs(*{names!r});\n"]
    return ["\n"] + lines[1:]   # a blank first line keeps every line number


def register(shell=None) -> None:
    """Teach an IPython shell the ``%%needs`` cell magic (once; the current shell by default)."""
    if shell is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython else None
    if shell is not None and _needs_transform not in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.append(_needs_transform)
    if IN_BROWSER:
        _without_threads()


def _without_threads() -> None:
    """Pyodide has no threads: tqdm's monitor thread would fail at the first progress bar with a
    ``TqdmMonitorWarning`` on stderr (and looking up the warning's source line asks the site's
    server for files it does not have: console errors). No monitor, then (it only wakes a bar
    that has not been updated for 10 s)."""
    try:
        import tqdm
    except ImportError:
        return
    tqdm.tqdm.monitor_interval = 0


load_ipython_extension = register   # %load_ext course.lite also works
