"""nbgrader export plugin: nbgrader's CSV columns plus per-test scores and flags.

Named in ``autograder/nbgrader_config.py`` (``ExportApp.plugin_class``), so both
``course grade export A --csv grades.csv`` and plain ``nbgrader export`` use it.

Columns: assignment, duedate, timestamp, student_id, last_name, first_name,
email, raw_score, late_submission_penalty, score, max_score (as nbgrader), then
``needs_manual_grade``, ``ungraded`` (answers graded by hand that nobody has graded
yet), ``late`` (``yes`` with the hours after the due date), one ``<grade_id>`` column per
graded cell (its score, or ``not graded yet``), ``flags`` (``kind:cell`` separated by
``; ``, e.g. ``tampered:test_pad2d``) and ``flag_details``. Names and e-mails come from
the roster (``course grade roster FILE``). Students in the gradebook who handed in
nothing get a row with ``missing`` in ``flags``.

``course grade export A --csv F --lms`` writes the short form an LMS imports: one row per
student with ``student_id, first_name, last_name, email, score, max_score``, one column
per question and ``late``.
"""
from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins.export import ExportPlugin

NOT_GRADED = "not graded yet"
LMS = ["student_id", "first_name", "last_name", "email", "score", "max_score"]
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
            extra = []
            try:
                sub = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                row.update(raw_score=0.0, late_submission_penalty=0.0, score=0.0, needs_manual_grade=False,
                           ungraded="", late="")
                row.update({c: "" for c in cells})
                extra.append({"kind": "missing", "cell": assignment.name, "detail": "nothing handed in", "if_alone": 1})
            else:
                penalty = sub.late_submission_penalty or 0.0
                row.update(timestamp=sub.timestamp or "", raw_score=sub.score, late_submission_penalty=penalty,
                           score=max(0.0, sub.score - penalty), needs_manual_grade=sub.needs_manual_grade)
                scores, ungraded = {}, []
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        if grade.needs_manual_grade and grade.manual_score is None:
                            scores[grade.name] = NOT_GRADED
                            ungraded.append(grade.name)
                        else:
                            scores[grade.name] = "" if grade.score is None else grade.score
                row.update({c: scores.get(c, "") for c in cells})
                seconds = sub.total_seconds_late or 0
                row["ungraded"] = " ".join(ungraded)
                row["late"] = f"yes ({seconds / 3600:.1f} h)" if seconds > 0 else ""
                if seconds > 0:
                    extra.append({"kind": "late", "cell": assignment.name,
                                  "detail": f"{seconds / 3600:.1f} h after the due date, "
                                            f"penalty {penalty:g} point(s)"})
            flags = workspace.flags(assignment.name, student.id)
            flags += [f for f in extra if not (f.pop("if_alone", 0) and flags)]
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
        if getattr(self, "lms", False):
            cells = [k for row in all_rows[:1] for k in row if k not in BASE and k not in (
                "needs_manual_grade", "ungraded", "late", "flags", "flag_details")]
            fields = LMS + cells + ["late"]
        else:
            fields = list(BASE) + ["needs_manual_grade", "ungraded", "late"]
            for row in all_rows:
                fields += [k for k in row if k not in fields and k not in ("flags", "flag_details")]
            fields += ["flags", "flag_details"]
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, restval="", extrasaction="ignore")
            writer.writeheader()
            for row in all_rows:
                writer.writerow(row)
