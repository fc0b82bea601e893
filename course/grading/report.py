"""``course grade report A``: how did the class do?

From nbgrader's gradebook (scores) and the autograded notebooks (failure
messages, flags): per-test pass rates, a score histogram, the most common
failure messages (their first line: the diagnosis, never the random case),
and the flagged submissions; printed as tables and drawn into one PNG.
"""
from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course.grading.export import NOT_GRADED, rows
from course.grading.workspace import Workspace


def wrap(text: str, width: int = 96, indent: str = "      ") -> str:
    """``text`` broken at spaces into lines of at most ``width`` (never mid-word)."""
    return textwrap.fill(text, width=width, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False)


@dataclass
class Report:
    """What ``course grade report`` shows.

    ``failures``: (test, first line of the message) -> the students whose test failed so;
    a failure whose message a student already got in an earlier test (one bug, seen
    again by a later test that uses the same function) is counted in ``follow_on``
    instead, so one bug is one line. ``missing``: students in the gradebook (the roster)
    who handed in nothing gradable (missing, corrupt); they are left out of the mean, and the text says so.
    """

    assignment: str
    max_score: float
    scores: dict[str, float] = field(default_factory=dict)             # student -> score
    tests: dict[str, tuple[float, int, int]] = field(default_factory=dict)   # test -> (points, passed, graded)
    failures: dict = field(default_factory=dict)                        # (test, first line) -> [students]
    follow_on: dict = field(default_factory=dict)                       # (test, first line) -> [(student, later test)]
    flags: dict[str, str] = field(default_factory=dict)                 # student -> flags
    manual: set = field(default_factory=set)                            # tests graded by hand
    missing: list = field(default_factory=list)                         # students who handed in nothing
    failed: dict = field(default_factory=dict)                          # student -> [tests failed]

    def common(self, top: int = 10) -> list:
        """[((test, message), students)] most frequent first."""
        return sorted(self.failures.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]

    def text(self, top: int = 10) -> str:
        out = [f"Assignment {self.assignment}: {len(self.scores)} graded submission(s), max score {self.max_score:g}"]
        if self.missing:
            out.append(f"{len(self.missing)} student(s) handed in nothing gradable (see flags) and are not in the statistics: "
                       + ", ".join(self.missing))
        if self.scores:
            vals = sorted(self.scores.values())
            out.append(f"score over the {len(vals)} graded: mean {sum(vals) / len(vals):.1f}, "
                       f"median {vals[len(vals) // 2]:g}, min {vals[0]:g}, max {vals[-1]:g}")
        out += ["", f"{'test':<28} {'points':>6} {'passed':>8} {'rate':>6}"]
        for name, (points, passed, graded) in self.tests.items():
            rate = f"{100 * passed / graded:.0f}%" if graded else "-"
            if name in self.manual:
                rate = "by hand"
            out.append(f"{name:<28} {points:>6g} {f'{passed}/{graded}':>8} {rate:>6}")
        out += ["", "most common failures (one line per bug; the students behind it):"]
        for (test, message), students in self.common(top):
            later = self.follow_on.get((test, message), [])
            line = f"  {len(students):>3} x {test}: {message}"
            if later:
                line += f" [also fails {len(later)} later test(s) with the same message]"
            out.append(wrap(line))
            out.append(wrap("        students: " + ", ".join(students), indent="        "))
        if not self.failures:
            out.append("  (none)")
        out += ["", "flagged submissions:"]
        out += [f"  {s}: {f}" for s, f in sorted(self.flags.items())] or ["  (none)"]
        out += ["", "per student:", f"  {'student':<24} {'score':>7}  failed tests"]
        for student in sorted(set(self.scores) | set(self.missing)):
            score = f"{self.scores[student]:g}" if student in self.scores else "-"
            tests = ", ".join(self.failed.get(student, [])) or ("nothing handed in" if student in self.missing else "-")
            out.append(wrap(f"  {student:<24} {score:>7}  {tests}", indent=" " * 36))
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
                report.missing.append(student)
                continue                                   # nothing graded for this student
            report.scores[student] = float(row["score"])
            for name, points in cells:
                value = row.get(name)
                if value in ("", None, NOT_GRADED):
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
            seen = {}                                       # message -> the first test that showed it
            for cell in nb.cells:
                if is_graded_test(cell):
                    message = failure_line(cell)
                    if not message:
                        continue
                    test = cell.metadata["nbgrader"]["grade_id"]
                    report.failed.setdefault(student, []).append(test)
                    if message in seen:
                        report.follow_on.setdefault((seen[message], message), []).append((student, test))
                        continue
                    seen[message] = test
                    report.failures.setdefault((test, message), []).append(student)
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
    top = [((t, m), len(ss)) for (t, m), ss in report.common(8)][::-1]
    counts = [n for _, n in top]
    axes[2].barh(range(len(top)), counts, color="#f4a6a6")
    for i, ((test, message), n) in enumerate(top):     # the message inside its bar, wrapped at spaces
        label = textwrap.shorten(f"{n} x  {test}: {message}", width=150, placeholder=" ...")
        axes[2].text(0.02 * max(counts), i, textwrap.fill(label, 110, break_long_words=False), va="center", fontsize=7)
    axes[2].set_yticks([])
    axes[2].set_xlabel("submissions")
    axes[2].xaxis.get_major_locator().set_params(integer=True)
    axes[2].set_title("most common failures" if top else "most common failures: none")
    missing = f"; {len(report.missing)} handed in nothing (not shown)" if report.missing else ""
    fig.suptitle(f"{report.assignment}: {len(scores)} submissions{missing}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
