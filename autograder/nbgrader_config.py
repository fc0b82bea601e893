"""nbgrader configuration for the course (nbgrader 0.9.x).

Layout
------
    solutions/<assignment>/<notebook>.ipynb     source (instructor version, committed)
    assignments/<assignment>/<notebook>.ipynb   release (student version, generated, committed)
    <workspace>/submitted|autograded|feedback/<student>/<assignment>/...
    <workspace>/gradebook.db                    nbgrader's SQLite gradebook

The workspace holds student work and grades, so it lives outside the course's
folder: ``course grade init DIR`` creates one (``DIR/course.toml``, found by
every ``course grade`` command run inside DIR), or name it with
``course grade --workspace DIR ...`` or the environment variable
``COURSE_GRADING_WORKSPACE`` (which ``course grade`` sets before loading this file;
plain ``nbgrader`` needs it set by hand).  The gradebook is any SQLAlchemy URL:
``course grade --db URL`` or ``COURSE_GRADING_DB``, e.g.
``postgresql+psycopg2://user:pass@host/gradebook`` (create the database first;
``pip install psycopg2-binary``).  Per-cell timeout: ``--timeout S`` or
``COURSE_GRADING_TIMEOUT`` (seconds, default 30).  Student versions are released
into ``<workspace>/release/`` unless ``--release-dir`` / ``COURSE_GRADING_RELEASE``
says otherwise (``make release`` regenerates the committed ``assignments/``).

Every ``course grade`` command loads this file; plain ``nbgrader`` commands
use it when run from this folder (``cd autograder && nbgrader autograde a1_convolution``)
or with ``nbgrader ... --config autograder/nbgrader_config.py``.

What this adds to stock nbgrader (classes in ``course.grading.preprocessors``):
- ``DetectTampering``: before nbgrader restores locked cells from the gradebook,
  compare them with the released copy; edited or deleted test cells are put
  back and the submission is flagged (flags end up in the export and report).
- ``RobustExecute``: nbgrader's ``Execute`` that survives a kernel that dies
  (``os._exit``) or ignores the interrupt after a timeout: the remaining cells
  score 0 and the submission is flagged instead of failing the batch.
- ``ClearHiddenTestsAndTracebacks``: feedback never shows hidden test code,
  neither as cell source nor inside a traceback.
"""
import os

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if not os.environ.get("COURSE_GRADING_WORKSPACE"):
    raise RuntimeError("set COURSE_GRADING_WORKSPACE to the grading workspace (or use `course grade`, which "
                       "finds it from --workspace or the workspace's course.toml)")
WORKSPACE = os.path.abspath(os.environ["COURSE_GRADING_WORKSPACE"])
# ?timeout=60: parallel workers share the SQLite file; wait for a lock instead of failing.
DB_URL = os.environ.get("COURSE_GRADING_DB") or f"sqlite:///{os.path.join(WORKSPACE, 'gradebook.db')}?timeout=60"
TIMEOUT = int(os.environ.get("COURSE_GRADING_TIMEOUT") or 30)
# where the student version goes (`make release` points it at the committed assignments/)
RELEASE = os.path.abspath(os.environ.get("COURSE_GRADING_RELEASE") or os.path.join(WORKSPACE, "release"))

# --- where things live -------------------------------------------------------
c.CourseDirectory.root = WORKSPACE
c.CourseDirectory.source_directory = os.path.join(REPO, "solutions")
c.CourseDirectory.release_directory = RELEASE
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = DB_URL
c.CourseDirectory.course_id = "course"
# never release or grade editor/cache debris
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# --- generate_assignment -------------------------------------------------------
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.GenerateAssignment.create_assignment = True

# --- autograde -------------------------------------------------------------------
c.Execute.timeout = TIMEOUT                 # per cell, seconds
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False    # an interrupted loop is a 0, not a failed batch
c.Execute.error_on_timeout = {
    "ename": "CellTimeoutError",
    "evalue": f"no reply within {TIMEOUT} s: an infinite loop, or far too slow; the cell was interrupted",
    "traceback": [f"CellTimeoutError: no reply within {TIMEOUT} s: an infinite loop, or far too slow"],
}
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]   # no "running over TCP" noise per kernel
c.OverwriteCells.add_missing_cells = True   # a deleted test cell comes back (and is graded)
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "course.grading.preprocessors.DetectTampering",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "course.grading.preprocessors.RobustExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# --- late work: nbgrader's plugin hook, with the workspace's [late] settings -------
import json  # noqa: E402

c.AssignLatePenalties.plugin_class = "course.grading.late.LatePolicy"
for _key, _value in json.loads(os.environ.get("COURSE_GRADING_LATE") or "{}").items():
    setattr(c.LatePolicy, _key, float(_value))

# --- feedback: no hidden test code, not even in a traceback -------------------
# (course.grading.feedback: the student's own frames only, notices at the top, "not graded
# yet", maths drawn offline; the page is autograder/templates/course_feedback)
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course.grading.preprocessors.ClearHiddenTestsAndTracebacks",
    "course.grading.feedback.StudentTracebacks",
    "course.grading.feedback.MarkUngraded",
    "course.grading.feedback.FeedbackNotices",
    "course.grading.feedback.RenderMath",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
import nbgrader  # noqa: E402

c.HTMLExporter.template_name = "course_feedback"
c.HTMLExporter.extra_template_basedirs = [
    os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates"),
    os.path.join(REPO, "autograder", "templates"),
]

# --- export: nbgrader's CSV plus per-test scores and flags (tampered, timeout, ...)
c.ExportApp.plugin_class = "course.grading.export.CourseCsvExport"
