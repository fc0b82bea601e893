"""``course check NB.ipynb``: run a notebook's tests in a fresh kernel, print a score table.

For students; needs no instructor workspace and no gradebook.  It executes the
notebook as saved on disk with nbgrader's own ``Execute`` preprocessor (our
:class:`~course.grading.preprocessors.RobustExecute`, so an infinite loop or a
crash cannot hang it), then scores every test cell the way nbgrader does
(``nbgrader.utils.determine_grade``: full points unless the cell raised).

From inside a notebook, the last cell runs ``course.check()``: it finds the
notebook's own file (``JPY_SESSION_NAME``, set by Jupyter for the kernel; VS
Code's ``__vsc_ipynb_file__``; else the kernel's connection file names its
kernel id, and the running Jupyter servers' ``/api/sessions`` say which notebook
that kernel belongs to; else the only notebook in the working folder), and
checks the *saved* version, so save first.  Where all of that fails (a kernel
started by hand, headless) it says so and how: ``course.check("a1_convolution.ipynb")``.

The table shows the whole first line of each failure (the diagnosis);
``course check --verbose`` (``course.check(verbose=True)``) adds, under the
table, each failure in full: the case, the expected and the got, with the part
of the array around the largest error.
``course.check()`` does nothing while nbgrader or ``course check`` itself runs the
notebook (``NBGRADER_EXECUTION`` / ``COURSE_CHECK_RUNNING`` are set), so it never recurses.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ENV_RUNNING = "COURSE_CHECK_RUNNING"


@dataclass
class TestResult:
    name: str
    points: float
    score: float | None          # None: graded by hand
    message: str = ""            # first line of the failure
    detail: str = ""             # the whole failure: case, expected, got

    @property
    def status(self) -> str:
        if self.score is None:
            return "manual"
        return "pass" if self.score >= self.points else "FAIL"


@dataclass
class CheckReport:
    path: str
    results: list[TestResult] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(r.score or 0 for r in self.results)

    @property
    def max_auto(self) -> float:
        return sum(r.points for r in self.results if r.score is not None)

    @property
    def max_manual(self) -> float:
        return sum(r.points for r in self.results if r.score is None)

    @property
    def passed(self) -> bool:
        return all(r.status != "FAIL" for r in self.results)

    def table(self, verbose: bool = False) -> str:
        rows = [(r.name, _num(r.points), r.status, r.message) for r in self.results]
        head = ("test", "points", "result", "message")
        w0 = max([len(head[0])] + [len(r[0]) for r in rows])
        line = lambda a, b, c, d: f"{a:<{w0}}  {b:>6}  {c:<6}  {d}".rstrip()  # noqa: E731
        out = [line(*head), "-" * (w0 + 24)]
        out += [line(n, p, s, m) for n, p, s, m in rows]      # the whole first line: it is the diagnosis
        out.append("-" * (w0 + 24))
        total = f"{_num(self.score)} / {_num(self.max_auto)}"
        extra = f"   (+ {_num(self.max_manual)} graded by hand)" if self.max_manual else ""
        out.append(line("total", "", "", total + extra))
        for f in self.flags:
            out.append(f"warning: {f['cell']}: {f['detail']}")
        if verbose:
            for r in self.results:
                if r.status == "FAIL" and r.detail:
                    out += ["", f"--- {r.name} ---", r.detail]
        elif any(r.status == "FAIL" for r in self.results):
            out.append("(for the case, the expected and your answer: course check --verbose NB.ipynb, "
                       "or course.check(verbose=True))")
        return "\n".join(out)


def _num(x: float) -> str:
    return f"{x:g}"


def failure_detail(cell) -> str:
    """The whole failure of a test cell: a CheckFailure's message, or the last lines of any other error."""
    import re

    for out in cell.get("outputs", []):
        if out.output_type == "error":
            text = (out.get("evalue") or "").strip()
            if out.ename == "CheckFailure":
                return text
            tb = "\n".join(re.sub(r"\x1b\[[0-9;]*m", "", t) for t in out.get("traceback", [])[-3:])
            return f"{out.ename}: {text}\n{tb}".strip()
    return ""


def run_checks(path: str | os.PathLike, timeout: int = 60) -> CheckReport:
    """Execute the notebook in a fresh kernel (in its own folder) and score its test cells."""
    import nbformat
    from nbgrader import utils

    from course.grading.preprocessors import RobustExecute, failure_line, notebook_flags

    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    runner = RobustExecute(timeout=timeout, unresponsive_grace=3.0,
                           extra_arguments=["--IPKernelApp.log_level=ERROR"])
    resources = {"metadata": {"path": str(path.parent)}}
    with _env(**{ENV_RUNNING: "1"}):
        nb, _ = runner.preprocess(nb, resources)

    report = CheckReport(str(path), flags=notebook_flags(nb))
    for cell in nb.cells:
        if not utils.is_grade(cell):
            continue
        name = cell.metadata["nbgrader"]["grade_id"]
        points = float(cell.metadata["nbgrader"].get("points", 0))
        if utils.is_solution(cell) and cell.cell_type == "markdown":
            report.results.append(TestResult(name, points, None, "graded by hand"))
            continue
        score, _ = utils.determine_grade(cell)
        report.results.append(TestResult(name, points, float(score or 0), failure_line(cell), failure_detail(cell)))
    return report


@contextlib.contextmanager
def _env(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ------------------------------------------------------------- in a notebook
def current_notebook() -> Path | None:
    """The file of the notebook this kernel runs, or None if it cannot be told."""
    candidates = []
    try:
        ip = get_ipython()  # type: ignore[name-defined]  # noqa: F821
        candidates.append(ip.user_ns.get("__vsc_ipynb_file__"))
        candidates.append(ip.user_ns.get("__session__"))
    except NameError:
        pass
    candidates.append(os.environ.get("JPY_SESSION_NAME"))
    for cand in filter(None, candidates):
        found = _existing(cand)
        if found:
            return found
    kernel = kernel_id()
    if kernel:
        found = _existing(notebook_of_kernel(kernel, running_servers()) or "")
        if found:
            return found
    alone = sorted(Path.cwd().glob("*.ipynb"))
    if len(alone) == 1:
        return alone[0].resolve()
    return None


def _existing(cand) -> Path | None:
    if not cand:
        return None
    p = Path(cand)
    for option in (p, Path.cwd() / p, Path.cwd() / p.name):
        if option.suffix == ".ipynb" and option.is_file():
            return option.resolve()
    return None


def kernel_id() -> str | None:
    """This kernel's id, from its connection file (``.../kernel-<id>.json``), or None outside a kernel."""
    try:
        from ipykernel import get_connection_file

        name = Path(get_connection_file()).stem
    except Exception:  # not in a kernel
        return None
    return name[len("kernel-"):] if name.startswith("kernel-") else name


def running_servers() -> list[dict]:
    """The Jupyter servers running on this machine (their url, token, root_dir), newest API first."""
    for module in ("jupyter_server.serverapp", "notebook.notebookapp"):
        try:
            mod = __import__(module, fromlist=["list_running_servers"])
            return list(mod.list_running_servers())
        except Exception:
            continue
    return []


def notebook_of_kernel(kernel: str, servers: list[dict], timeout: float = 2.0) -> str | None:
    """Ask each server's ``/api/sessions`` which notebook runs ``kernel``; its path on disk, or None."""
    import json
    import urllib.request

    for server in servers:
        url = server.get("url", "").rstrip("/") + "/api/sessions"
        token = server.get("token") or ""
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                sessions = json.load(response)
        except Exception:  # unreachable, forbidden, not JSON: try the next one
            continue
        for session in sessions:
            if (session.get("kernel") or {}).get("id") == kernel:
                path = session.get("path") or (session.get("notebook") or {}).get("path")
                root = server.get("root_dir") or server.get("notebook_dir") or ""
                return str(Path(root) / path) if path else None
    return None


def check(path: str | os.PathLike | None = None, timeout: int = 60, verbose: bool = False) -> CheckReport | None:
    """Run the tests of a notebook (default: the current one, as saved) and print the table."""
    if os.environ.get(ENV_RUNNING) or os.environ.get("NBGRADER_EXECUTION"):
        print("course.check(): skipped (the notebook is being checked or graded)")
        return None
    path = Path(path) if path is not None else current_notebook()
    if path is None:
        kernel = kernel_id()
        print("course.check(): cannot tell which notebook this kernel runs: Jupyter did not set "
              "JPY_SESSION_NAME, " + (f"no running Jupyter server answered for kernel {kernel} "
                                      f"(`jupyter server list` shows them)" if kernel else "this is not a Jupyter kernel")
              + f", and the folder {Path.cwd()} holds no single notebook. Pass the file name, as saved on disk: "
              "course.check('a1_convolution.ipynb'), or from a terminal: course check a1_convolution.ipynb")
        return None
    print(f"Checking {path.name} as saved on disk (save first!) in a fresh kernel ...", flush=True)
    report = run_checks(path, timeout=timeout)
    print(report.table(verbose=verbose))
    return report


# --------------------------------------------------------------- console
def add_arguments(parser) -> None:
    parser.add_argument("notebook", help="the .ipynb file to check")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per cell (default 60)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="under the table, each failure in full: the case, expected and got")


def main(args) -> int:
    path = Path(args.notebook)
    if not path.is_file():
        print(f"course check: no such notebook: {path}", file=sys.stderr)
        return 2
    try:
        report = run_checks(path, timeout=args.timeout)
    except Exception as exc:  # unreadable notebook: say so, no traceback
        print(f"course check: cannot run {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"{path}")
    print(report.table(verbose=args.verbose))
    return 0 if report.passed else 1
