"""nbgrader export plugin: nbgrader's CSV columns plus per-test scores and flags.

Named in ``autograder/nbgrader_config.py`` (``ExportApp.plugin_class``), so both
``course grade export A --csv grades.csv`` and plain ``nbgrader export`` use it.

Columns: assignment, duedate, timestamp, student_id, last_name, first_name,
email, raw_score, late_submission_penalty, score, max_score (as nbgrader), then
``needs_manual_grade``, one ``<grade_id>`` column per graded cell (its score),
``flags`` (``kind:cell`` separated by ``; ``, e.g. ``tampered:test_pad2d``) and
``flag_details``.
"""
from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins.export import ExportPlugin

BASE = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
        "raw_score", "late_submission_penalty", "score", "max_score"]


def grade_cell_names(assignment) -> list[str]:
    names = []
    for notebook in assignment.notebooks:
        names += [c.name for c in notebook.grade_cells]
    return names


def rows(gradebook, workspace, assignments=(), students=()):
    """One dict per (assignment, student) in the gradebook, with scores and flags."""
    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        cells = grade_cell_names(assignment)
        for student in gradebook.students:
            if students and student.id not in students:
                continue
            row = {k: "" for k in BASE}
            row.update(assignment=assignment.name, duedate=assignment.duedate or "", student_id=student.id,
                       last_name=student.last_name or "", first_name=student.first_name or "",
                       email=student.email or "", max_score=assignment.max_score)
            try:
                sub = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                row.update(raw_score=0.0, late_submission_penalty=0.0, score=0.0, needs_manual_grade=False)
                row.update({c: "" for c in cells})
            else:
                penalty = sub.late_submission_penalty or 0.0
                row.update(timestamp=sub.timestamp or "", raw_score=sub.score, late_submission_penalty=penalty,
                           score=max(0.0, sub.score - penalty), needs_manual_grade=sub.needs_manual_grade)
                scores = {}
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        scores[grade.name] = "" if grade.score is None else grade.score
                row.update({c: scores.get(c, "") for c in cells})
            flags = workspace.flags(assignment.name, student.id)
            row["flags"] = "; ".join(sorted({f"{f['kind']}:{f['cell']}" for f in flags}))
            row["flag_details"] = "; ".join(f"{f['cell']}: {f['detail']}" for f in flags)
            yield row


class CourseCsvExport(ExportPlugin):
    """CSV export with per-test scores and flags (see module docstring)."""

    def export(self, gradebook) -> None:
        from course.grading.workspace import Workspace

        dest = self.to or "grades.csv"
        workspace = Workspace(self.config)
        all_rows = list(rows(gradebook, workspace, [str(a) for a in self.assignment],
                             [str(s) for s in self.student]))
        fields = list(BASE) + ["needs_manual_grade"]
        for row in all_rows:
            fields += [k for k in row if k not in fields and k not in ("flags", "flag_details")]
        fields += ["flags", "flag_details"]
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, restval="")
            writer.writeheader()
            for row in all_rows:
                writer.writerow(row)
