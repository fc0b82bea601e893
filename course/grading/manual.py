"""Hand grading without a browser: list the answers to grade, then take scores from a CSV.

    course grade manual A                   -> <workspace>/manual/A.csv (one row per answer to grade)
    course grade manual A --scores FILE     -> the scores (and comments) of FILE into the gradebook

The CSV has ``student_id, grade_id, max_score, status, answer, score, comment``;
``status`` is ``not graded yet``, ``blank`` (the answer was left as released: it
scores 0 automatically, and a score typed here overrides that) or ``graded``. Fill
in ``score`` (and ``comment``), leave a row's score empty to keep it ungraded, and
apply the file; then run ``course grade feedback A`` again. nbgrader's own
formgrader (``jupyter lab`` -> Nbgrader -> Manual grading, with the same
configuration) edits the same gradebook, for those who prefer a browser.
"""
from __future__ import annotations

import csv
from pathlib import Path

import nbformat

from course.grading.workspace import GradingError, Workspace

COLUMNS = ["student_id", "grade_id", "max_score", "status", "answer", "score", "comment"]


def status(grade) -> str:
    """``graded``, ``blank`` (unchanged answer, scored 0 automatically) or ``not graded yet``."""
    if grade.manual_score is not None:
        return "graded"
    if grade.needs_manual_grade:
        return "not graded yet"
    return "blank" if grade.auto_score is not None else "not graded yet"


def _hand_graded(gb, assignment: str):
    """(student, grade, comment) for every answer cell graded by hand, in a stable order."""
    a = gb.find_assignment(assignment)
    for sub in sorted(a.submissions, key=lambda s: s.student.id):
        for nb in sub.notebooks:
            comments = {c.name: c for c in nb.comments}
            for grade in sorted(nb.grades, key=lambda g: g.name):
                if grade.name in comments:               # a solution cell that is graded: an answer
                    yield sub.student.id, nb.name, grade, comments[grade.name]


def _answer(ws: Workspace, student: str, assignment: str, notebook: str, grade_id: str) -> str:
    path = ws.path("autograded", student, assignment) / f"{notebook}.ipynb"
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return ""
    cell = next((c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id), None)
    return cell.source if cell is not None else ""


def list_answers(ws: Workspace, assignment: str, path: str | Path | None = None) -> Path:
    """Write the CSV of every hand-graded answer (see the module docstring); returns its path."""
    path = Path(path or ws.root / "manual" / f"{assignment}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    with ws.gradebook() as gb, open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for student, notebook, grade, comment in _hand_graded(gb, assignment):
            writer.writerow({"student_id": student, "grade_id": grade.name, "max_score": grade.max_score,
                             "status": status(grade), "answer": _answer(ws, student, assignment, notebook, grade.name),
                             "score": "" if grade.manual_score is None else grade.manual_score,
                             "comment": comment.manual_comment or ""})
    return path


def apply_scores(ws: Workspace, assignment: str, path: str | Path) -> int:
    """Take ``score`` and ``comment`` from the CSV into the gradebook; returns how many
    scores were set. A score outside [0, max_score] or an unknown row is refused (nothing
    is written then)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if (r.get("score") or "").strip() or (r.get("comment") or "").strip()]
    n = 0
    with ws.gradebook() as gb:
        found = {(s, g.name): (g, c) for s, _, g, c in _hand_graded(gb, assignment)}
        updates = []
        for i, row in enumerate(rows, start=2):
            key = (row.get("student_id", "").strip(), row.get("grade_id", "").strip())
            if key not in found:
                raise GradingError(f"{path}, line {i}: no hand-graded answer {key[1]!r} for student {key[0]!r}")
            grade, comment = found[key]
            score = (row.get("score") or "").strip()
            if score:
                value = float(score)
                if not 0 <= value <= grade.max_score:
                    raise GradingError(f"{path}, line {i}: score {value:g} for {key} is outside [0, {grade.max_score:g}]")
                updates.append((grade, comment, value, (row.get("comment") or "").strip()))
            else:
                updates.append((grade, comment, None, (row.get("comment") or "").strip()))
        for grade, comment, value, text in updates:
            if value is not None:
                grade.manual_score = value
                grade.needs_manual_grade = False
                n += 1
            if text:
                comment.manual_comment = text
        gb.db.commit()
    return n
