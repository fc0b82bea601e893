"""Feedback a student can use: nbgrader preprocessors for ``generate_feedback``
(named in ``autograder/nbgrader_config.py``, run after nbgrader's ``GetGrades``).

- ``StudentTracebacks``: tracebacks keep the student's own frames (``Cell In[..]``)
  and the message; frames of the grader's code (absolute paths of the installed
  course package, nbgrader, NumPy) become one line, "(... n frames of grading code)".
- ``FeedbackNotices``: a note at the top of the feedback for what happened to this
  submission: test cells that were edited or deleted and restored before grading,
  a late submission and its penalty, answers not graded by hand yet.
- ``MarkUngraded``: answers graded by hand that nobody has graded yet are marked, so
  the template says "not graded yet" instead of "0 / 5".
- ``RenderMath``: ``$...$`` and ``$$...$$`` in markdown become inline SVG drawn by
  matplotlib's mathtext, so the maths shows offline (no MathJax from a CDN).
"""
from __future__ import annotations

import base64
import functools
import io
import re

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from course.grading.preprocessors import notebook_flags

ANSI = re.compile(r"\x1b\[[0-9;]*m")
GRADER_FRAME = re.compile(r"^\s*(File\s+)?(/|[A-Za-z]:\\)")   # a frame in a file on disk, not a notebook cell


def student_traceback(traceback: list[str]) -> list[str]:
    """The frames of a traceback that are the student's (cells), the grader's collapsed."""
    if len(traceback) < 2:
        return traceback
    head, frames, last = traceback[0], traceback[1:-1], traceback[-1]
    out, hidden = [head], 0
    for frame in frames:
        if GRADER_FRAME.match(ANSI.sub("", frame)):
            hidden += 1
            continue
        if hidden:
            out.append(f"(... {hidden} frame{'s' * (hidden > 1)} of grading code)")
            hidden = 0
        out.append(frame)
    if hidden:
        out.append(f"(... {hidden} frame{'s' * (hidden > 1)} of grading code)")
    return out + [last]


class StudentTracebacks(NbGraderPreprocessor):
    """Tracebacks without the grader's paths (see ``student_traceback``)."""

    def preprocess_cell(self, cell, resources, index):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out.traceback = student_traceback(list(out.get("traceback", [])))
        return cell, resources


def _ungraded(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("ungraded"))


class MarkUngraded(NbGraderPreprocessor):
    """``metadata.nbgrader.ungraded = True`` on answers that need a grade by hand and have
    none yet (nbgrader's ``GetGrades`` writes their score as 0)."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                if not (utils.is_solution(cell) and utils.is_grade(cell)):
                    continue
                try:
                    grade = gb.find_grade(cell.metadata["nbgrader"]["grade_id"], info["notebook"],
                                          info["assignment"], info["student"])
                except MissingEntry:
                    continue
                if grade.needs_manual_grade and grade.manual_score is None:
                    cell.metadata["nbgrader"]["ungraded"] = True
        return nb, resources


NOTICES = {   # flag kind -> what the student is told (data, not branches)
    "tampered": "The test cell `{cell}` had been edited or deleted in your notebook; it was restored "
                "from the released assignment before grading. Never edit or delete test cells.",
    "timeout": "A cell ran longer than the time limit while grading (`{cell}`): it was stopped and "
               "scored 0. {detail}",
    "kernel_died": "Python stopped while grading `{cell}` (the kernel died); the remaining cells scored 0.",
    "renamed": "Your notebook was submitted under another name ({detail}); it was graded as the assignment.",
}


class FeedbackNotices(NbGraderPreprocessor):
    """A markdown cell at the top: restored cells, time-outs, late work, answers not graded yet."""

    def _stage_flags(self, resources) -> list[dict]:
        """Flags of the collect step (e.g. a renamed notebook), kept in the workspace."""
        from course.grading.workspace import Workspace

        info = resources.get("nbgrader", {})
        try:
            return list(Workspace(self.config).stage_flags(info.get("assignment", "")).get(info.get("student"), []))
        except Exception:   # feedback must never fail for want of a note
            return []

    def preprocess(self, nb, resources):
        import nbformat

        lines = []
        for flag in notebook_flags(nb) + self._stage_flags(resources):
            template = NOTICES.get(flag.get("kind"))
            if template:
                lines.append("- " + template.format(cell=flag.get("cell", ""), detail=flag.get("detail", "")))
        late = float(resources.get("nbgrader", {}).get("late_penalty") or 0)
        if late > 0:
            lines.append(f"- Your submission was late: {late:g} point(s) were taken off.")
        ungraded = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if _ungraded(c)]
        if ungraded:
            lines.append(f"- Not graded yet (graded by hand later): {', '.join(f'`{g}`' for g in ungraded)}. "
                         "Your total will change when they are.")
        if lines:
            note = nbformat.v4.new_markdown_cell("**About this submission**\n\n" + "\n".join(lines))
            note.metadata["course_notice"] = True
            nb.cells.insert(0, note)
        return nb, resources


MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)(.+?)(?<!\s)\$", re.DOTALL)


@functools.lru_cache(maxsize=2048)
def math_svg(tex: str, display: bool = False) -> str | None:
    """``tex`` drawn by matplotlib's mathtext as an inline ``<img>`` (SVG), or None if
    mathtext cannot parse it (then the TeX stays as text)."""
    from matplotlib.figure import Figure

    fig = Figure()
    fig.text(0, 0, f"${tex.strip()}$", fontsize=14 if display else 12)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.02, transparent=True)
    except (ValueError, RuntimeError):
        return None
    data = base64.b64encode(buf.getvalue()).decode()
    style = "display:block;margin:0.5em auto" if display else "vertical-align:middle"
    alt = tex.replace('"', "&quot;")
    return f'<img alt="{alt}" style="{style}" src="data:image/svg+xml;base64,{data}"/>'


def render_math(markdown: str) -> str:
    def repl(m):
        display = m.group(1) is not None
        svg = math_svg(m.group(1) if display else m.group(2), display)
        return svg if svg else m.group(0)

    return MATH.sub(repl, markdown)


class RenderMath(NbGraderPreprocessor):
    """Maths in markdown cells as inline SVG (see ``math_svg``): readable without MathJax."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and "$" in cell.source:
            cell.source = render_math(cell.source)
        return cell, resources
