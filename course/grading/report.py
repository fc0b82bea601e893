"""``course grade report A``: how did the class do?

From nbgrader's gradebook (scores) and the autograded notebooks (failure
messages, flags): per-test pass rates, a score histogram, the most common
failure messages (their first line: the diagnosis, never the random case),
and the flagged submissions; printed as tables and drawn into one PNG.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course.grading.export import rows
from course.grading.workspace import Workspace


@dataclass
class Report:
    assignment: str
    max_score: float
    scores: dict[str, float] = field(default_factory=dict)             # student -> score
    tests: dict[str, tuple[float, int, int]] = field(default_factory=dict)   # test -> (points, passed, graded)
    failures: Counter = field(default_factory=Counter)                  # (test, first line) -> count
    flags: dict[str, str] = field(default_factory=dict)                 # student -> flags
    manual: set = field(default_factory=set)                            # tests graded by hand

    def text(self, top: int = 10) -> str:
        out = [f"Assignment {self.assignment}: {len(self.scores)} graded submission(s), max score {self.max_score:g}"]
        if self.scores:
            vals = sorted(self.scores.values())
            out.append(f"score: mean {sum(vals) / len(vals):.1f}, median {vals[len(vals) // 2]:g}, "
                       f"min {vals[0]:g}, max {vals[-1]:g}")
        out += ["", f"{'test':<28} {'points':>6} {'passed':>8} {'rate':>6}"]
        for name, (points, passed, graded) in self.tests.items():
            rate = f"{100 * passed / graded:.0f}%" if graded else "-"
            if name in self.manual:
                rate = "by hand"
            out.append(f"{name:<28} {points:>6g} {f'{passed}/{graded}':>8} {rate:>6}")
        out += ["", "most common failures:"]
        for (test, message), n in self.failures.most_common(top):
            out.append(f"  {n:>3} x {test}: {message[:110]}")
        if not self.failures:
            out.append("  (none)")
        out += ["", "flagged submissions:"]
        out += [f"  {s}: {f}" for s, f in sorted(self.flags.items())] or ["  (none)"]
        return "\n".join(out)


def build(ws: Workspace, assignment: str) -> Report:
    from course.grading.preprocessors import failure_line, is_graded_test

    with ws.gradebook() as gb:
        a = gb.find_assignment(assignment)
        report = Report(assignment, float(a.max_score))
        cells, manual = [], set()
        for nb in a.notebooks:
            cells += [(c.name, float(c.max_score)) for c in nb.grade_cells]
            manual |= {c.name for c in nb.solution_cells}     # answers graded by hand
        report.manual = manual
        passed = Counter()
        graded = Counter()
        for row in rows(gb, ws, [assignment]):
            student = row["student_id"]
            if row["flags"]:
                report.flags[student] = row["flags"]
            if row["timestamp"] == "" and not any(row.get(c) not in ("", None) for c, _ in cells):
                continue                                   # nothing graded for this student
            report.scores[student] = float(row["score"])
            for name, points in cells:
                value = row.get(name)
                if value in ("", None):
                    continue
                graded[name] += 1
                passed[name] += float(value) >= points
    report.tests = {name: (points, passed[name], graded[name]) for name, points in cells}
    for student in report.scores:
        for path in sorted(ws.path("autograded", student, assignment).glob("*.ipynb")):
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception:
                continue
            for cell in nb.cells:
                if is_graded_test(cell):
                    message = failure_line(cell)
                    if message:
                        report.failures[(cell.metadata["nbgrader"]["grade_id"], message)] += 1
    return report


def plot(report: Report, path: str | Path) -> Path:
    """Pass rate per test, score histogram, top failures: one PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = plt.figure(figsize=(13, 8.5))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.1])
    axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])]
    names = [n for n in report.tests if n not in report.manual]
    rates = [100 * p / g if g else 0 for n, (_, p, g) in report.tests.items() if n not in report.manual]
    axes[0].barh(names[::-1], rates[::-1], color="tab:blue")
    axes[0].set_xlim(0, 100)
    axes[0].set_xlabel("students passing (%)")
    axes[0].set_title("pass rate per test")
    scores = list(report.scores.values())
    bins = max(5, min(20, len(scores)))
    axes[1].hist(scores, bins=bins, range=(0, report.max_score or 1), color="tab:green", edgecolor="white")
    axes[1].set_xlabel(f"score (of {report.max_score:g})")
    axes[1].set_ylabel("students")
    axes[1].yaxis.get_major_locator().set_params(integer=True)
    axes[1].set_title("score histogram")
    top = report.failures.most_common(8)[::-1]
    counts = [n for _, n in top]
    axes[2].barh(range(len(top)), counts, color="#f4a6a6")
    for i, ((test, message), n) in enumerate(top):     # the message inside its bar, readable
        axes[2].text(0.02 * max(counts), i, f"{n} x  {test}: {message[:120]}", va="center", fontsize=8)
    axes[2].set_yticks([])
    axes[2].set_xlabel("submissions")
    axes[2].xaxis.get_major_locator().set_params(integer=True)
    axes[2].set_title("most common failures" if top else "most common failures: none")
    fig.suptitle(f"{report.assignment}: {len(scores)} submissions")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
