"""``course check NB.ipynb``: run a notebook's tests in a fresh kernel, print a score table.

For students; needs no instructor workspace and no gradebook.  It executes the
notebook as saved on disk with nbgrader's own ``Execute`` preprocessor (our
:class:`~course.grading.preprocessors.RobustExecute`, so an infinite loop or a
crash cannot hang it), then scores every test cell the way nbgrader does
(``nbgrader.utils.determine_grade``: full points unless the cell raised).

From inside a notebook, the last cell runs ``course.check()``: it finds the
notebook's own file (``JPY_SESSION_NAME``, set by Jupyter for the kernel, or
VS Code's ``__vsc_ipynb_file__``), and checks the *saved* version, so save first.
Pass the path explicitly where that fails: ``course.check("a1_convolution.ipynb")``.
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

    def table(self) -> str:
        rows = [(r.name, _num(r.points), r.status, r.message) for r in self.results]
        head = ("test", "points", "result", "message")
        w0 = max([len(head[0])] + [len(r[0]) for r in rows])
        line = lambda a, b, c, d: f"{a:<{w0}}  {b:>6}  {c:<6}  {d}".rstrip()  # noqa: E731
        out = [line(*head), "-" * (w0 + 24)]
        out += [line(n, p, s, _clip(m, 90)) for n, p, s, m in rows]
        out.append("-" * (w0 + 24))
        total = f"{_num(self.score)} / {_num(self.max_auto)}"
        extra = f"   (+ {_num(self.max_manual)} graded by hand)" if self.max_manual else ""
        out.append(line("total", "", "", total + extra))
        for f in self.flags:
            out.append(f"warning: {f['cell']}: {f['detail']}")
        return "\n".join(out)


def _num(x: float) -> str:
    return f"{x:g}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


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
        report.results.append(TestResult(name, points, float(score or 0), failure_line(cell)))
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
        p = Path(cand)
        for option in (p, Path.cwd() / p, Path.cwd() / p.name):
            if option.suffix == ".ipynb" and option.is_file():
                return option.resolve()
    return None


def check(path: str | os.PathLike | None = None, timeout: int = 60) -> CheckReport | None:
    """Run the tests of a notebook (default: the current one, as saved) and print the table."""
    if os.environ.get(ENV_RUNNING) or os.environ.get("NBGRADER_EXECUTION"):
        print("course.check(): skipped (the notebook is being checked or graded)")
        return None
    path = Path(path) if path is not None else current_notebook()
    if path is None:
        print("course.check(): cannot tell which notebook this is; "
              "pass its file name: course.check('a1_convolution.ipynb')")
        return None
    print(f"Checking {path.name} as saved on disk (save first!) in a fresh kernel ...", flush=True)
    report = run_checks(path, timeout=timeout)
    print(report.table())
    return report


# --------------------------------------------------------------- console
def add_arguments(parser) -> None:
    parser.add_argument("notebook", help="the .ipynb file to check")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per cell (default 60)")


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
    print(report.table())
    return 0 if report.passed else 1
