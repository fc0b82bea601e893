"""The late policy: nbgrader's late-submission plugin hook, configured per workspace.

A submission is late when its ``timestamp.txt`` (nbgrader's convention: the file
next to the notebook in ``<student>/<assignment>/``, holding a time such as
``2026-10-02 09:30:00 UTC``) is after the assignment's due date (``course grade
release A --due ...`` or ``[due]`` in ``course.toml``). nbgrader records how late
it was; this plugin turns that into a penalty:

- within ``grace_minutes``: no penalty;
- else ``percent_per_day`` of the score per *started* day late (0 by default:
  late work is flagged in the export and report, never silently penalised);
- more than ``max_days`` late: the whole score.

Set in ``course.toml``'s ``[late]`` table; ``autograder/nbgrader_config.py`` names
this class as ``AssignLatePenalties.plugin_class``.
"""
from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

__all__ = ["LatePolicy", "penalty"]


def penalty(score: float, seconds_late: float, percent_per_day: float = 0.0, grace_minutes: float = 0.0,
            max_days: float | None = None) -> float:
    """The points taken off ``score`` for a submission ``seconds_late`` seconds after the due date."""
    late = seconds_late - 60.0 * grace_minutes
    if late <= 0:
        return 0.0
    days = math.ceil(late / 86400.0)
    if max_days is not None and days > max_days:
        return float(score)
    return float(min(score, score * percent_per_day / 100.0 * days))


class LatePolicy(LateSubmissionPlugin):
    """``penalty(...)`` as nbgrader's late-submission plugin (see the module docstring)."""

    percent_per_day = Float(0.0, help="percent of the score taken per started day late").tag(config=True)
    grace_minutes = Float(0.0, help="minutes after the due date that still count as on time").tag(config=True)
    max_days = Float(None, allow_none=True, help="days late after which the score is 0").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return penalty(score, total_seconds_late, self.percent_per_day, self.grace_minutes, self.max_days)
