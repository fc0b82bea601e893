"""The instructor's steps, each a thin layer over nbgrader (``course grade ...`` calls these).

    release(ws, A, due=None)       nbgrader generate_assignment: solutions/A -> <release dir>/A (+ gradebook, due date)
    collect(ws, A, SRC)            SRC/<student>/<notebook>.ipynb (a folder or a .zip) -> submitted/
    autograde(ws, A, students, workers)   nbgrader autograde, in parallel (course.grading.parallel)
    feedback(ws, A)                nbgrader generate_feedback (hidden tests and their tracebacks removed)
    export(ws, A, csv_path)        nbgrader export with the course's CSV plugin (scores + flags)

Every step reports problems per student and goes on; none modifies the
collected submissions (nbgrader grades copies in ``autograded/``).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course.grading.workspace import GradingError, Workspace

__all__ = ["GradingError", "release", "import_roster", "collect", "autograde", "feedback", "export"]

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


def _check(result: dict, what: str) -> dict:
    if not result.get("success"):
        log = (result.get("error") or "") + "\n" + (result.get("log") or "")
        tail = "\n".join(log.strip().splitlines()[-15:])
        raise GradingError(f"{what} failed:\n{tail}")
    return result


# -------------------------------------------------------------------- release
def parse_due(text: str):
    """An ISO 8601 time (``2026-10-01T23:59:00+02:00``; UTC when no zone is given) as the
    naive UTC datetime nbgrader stores."""
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00").replace(" UTC", "+00:00"))
    except ValueError:
        raise GradingError(f"due date {text!r} is not an ISO 8601 time such as 2026-10-01T23:59:00+02:00") from None
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return when


def release(ws: Workspace, assignment: str, due: str | None = None) -> Path:
    """Generate the student version into the release folder (``<workspace>/release`` unless
    ``--release-dir``) and record the assignment, with its due date, in the gradebook.

    ``due``: an ISO 8601 time; default: ``[due]`` in the workspace's ``course.toml``.
    """
    source = ws.path("source", ".", assignment)
    if not source.is_dir():
        raise GradingError(f"no source assignment {source}")
    if due is None and ws.settings is not None:
        due = ws.settings.due.get(assignment)
    duedate = parse_due(due) if due else None
    _check(ws.api().generate_assignment(assignment, force=True, create=True), f"generate_assignment {assignment}")
    if duedate is not None:
        with ws.gradebook() as gb:
            gb.update_or_create_assignment(assignment, duedate=duedate)
    return ws.path("release", ".", assignment)


def import_roster(ws: Workspace, path: str | Path) -> list[str]:
    """Students from a CSV in ``nbgrader db student import`` format (columns ``id``, and
    optionally ``first_name``, ``last_name``, ``email``) into the gradebook; returns the ids.
    Their names and e-mails then fill the export, and a student who submits nothing is
    listed (and counted) as missing."""
    import csv

    path = Path(path)
    if not path.is_file():
        raise GradingError(f"no roster file {path}")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if "id" not in (reader.fieldnames or []):
            raise GradingError(f"{path}: a roster needs an 'id' column (and may have first_name, last_name, "
                               f"email), as `nbgrader db student import`; got columns {reader.fieldnames}")
        rows = list(reader)
    ids = []
    with ws.gradebook() as gb:
        for row in rows:
            sid = (row.get("id") or "").strip()
            if not STUDENT_ID.match(sid):
                raise GradingError(f"{path}: {sid!r} is not a valid student id")
            gb.update_or_create_student(sid, **{k: (row.get(k) or "").strip() or None
                                                for k in ("first_name", "last_name", "email")})
            ids.append(sid)
    return ids


def ensure_released(ws: Workspace, assignment: str) -> None:
    from nbgrader.api import MissingEntry

    with ws.gradebook() as gb:
        try:
            a = gb.find_assignment(assignment)
            if a.notebooks:
                return
        except MissingEntry:
            pass
    raise GradingError(f"assignment {assignment!r} is not in the gradebook {ws.db_url}: "
                       f"run `course grade release {assignment}` first")


# -------------------------------------------------------------------- collect
@dataclass
class CollectReport:
    collected: list[str] = field(default_factory=list)
    problems: dict[str, list[dict]] = field(default_factory=dict)   # student -> flags

    def table(self) -> str:
        lines = [f"collected {len(self.collected)} submission(s): {', '.join(self.collected) or '-'}"]
        for student, flags in sorted(self.problems.items()):
            for f in flags:
                lines.append(f"  {student}: {f['kind']}: {f['detail']}")
        return "\n".join(lines)


def collect(ws: Workspace, assignment: str, source: str | Path) -> CollectReport:
    """Import submissions laid out as ``SRC/<student>/<notebook>.ipynb`` (a folder or a zip of it).

    A notebook that is not valid JSON / nbformat, or that is missing, is
    reported and skipped (recorded as a flag for the export); the student is
    still added to the gradebook so that the export lists them.
    """
    source = Path(source)
    if not source.exists():
        raise GradingError(f"no such folder or zip: {source}")
    with tempfile.TemporaryDirectory() as tmp:
        if source.is_file():
            if not zipfile.is_zipfile(source):
                raise GradingError(f"{source} is neither a folder nor a zip file")
            source = _extract(source, Path(tmp))
        return _collect_dir(ws, assignment, source)


def _extract(archive: Path, dest: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            target = (dest / member).resolve()
            if not str(target).startswith(str(dest.resolve())):
                raise GradingError(f"{archive}: unsafe path in zip: {member}")
        zf.extractall(dest)
    # accept a zip that wraps everything in one top folder
    entries = [p for p in dest.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir() and not any(entries[0].glob("*.ipynb")):
        return entries[0]
    return dest


def _collect_dir(ws: Workspace, assignment: str, source: Path) -> CollectReport:
    notebooks = ws.notebooks(assignment)
    report = CollectReport()
    students = sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    for folder in students:
        student = folder.name
        if not STUDENT_ID.match(student):
            report.problems[student] = [{"kind": "skipped", "cell": "-", "detail": "not a valid student id"}]
            continue
        flags, good = [], []
        submitted = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
        for name in notebooks:
            nb_file = folder / f"{name}.ipynb"
            if not nb_file.is_file():
                others = [p for p in submitted if p.stem not in notebooks]
                if len(notebooks) == 1 and len(others) == 1:       # one notebook, unambiguous: a rename
                    flags.append({"kind": "renamed", "cell": name,
                                  "detail": f"submitted as {others[0].name!r}, graded as {name}.ipynb"})
                    nb_file = others[0]
                else:
                    found = ", ".join(p.name for p in submitted) or "no notebook"
                    why = "which one is ambiguous" if others else "not submitted"
                    flags.append({"kind": "missing", "cell": name,
                                  "detail": f"{name}.ipynb {why} (found: {found}); skipped"})
                    continue
            problem = notebook_problem(nb_file)
            if problem:
                flags.append({"kind": "corrupt", "cell": name, "detail": f"{nb_file.name} {problem}; skipped"})
            else:
                good.append((nb_file, f"{name}.ipynb"))
        dest = ws.path("submitted", student, assignment)
        if dest.exists():
            shutil.rmtree(dest)
        if good:
            dest.mkdir(parents=True)
            for nb_file, as_name in good:
                shutil.copy2(nb_file, dest / as_name)
            stamp = folder / "timestamp.txt"
            if stamp.is_file():
                shutil.copy2(stamp, dest / "timestamp.txt")
            report.collected.append(student)
        if flags:
            report.problems[student] = flags
        with ws.gradebook() as gb:
            gb.update_or_create_student(student)
    ws.set_stage_flags(assignment, "collect", report.problems, [p.name for p in students])
    return report


def notebook_problem(path: Path) -> str | None:
    """None for a readable notebook, else what is wrong with it."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # invalid JSON, not a notebook, unreadable
        return f"is not a readable notebook ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
    try:
        nbformat.validate(nb)
    except Exception as exc:
        return f"is not a valid notebook ({str(exc).splitlines()[0][:120]})"
    return None


# ------------------------------------------------------------------ autograde
def submitted_students(ws: Workspace, assignment: str) -> list[str]:
    root = ws.step_dir("submitted")
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and (p / assignment).is_dir()) if root.is_dir() else []


def autograde(ws: Workspace, assignment: str, students: list[str] | None = None, workers: int = 1,
              progress: bool = True):
    """Autograde the collected submissions; returns the per-student results."""
    from course.grading.parallel import autograde_parallel

    ensure_released(ws, assignment)
    available = submitted_students(ws, assignment)
    if students:
        unknown = sorted(set(students) - set(available))
        if unknown:
            raise GradingError(f"no collected submission for {', '.join(unknown)} "
                               f"(collected: {', '.join(available) or 'none'})")
        todo = sorted(set(students))
    else:
        todo = available
    # re-check what nbgrader would choke on, then create the students up front (one writer)
    problems, ok = {}, []
    for student in todo:
        folder = ws.path("submitted", student, assignment)
        bad = [(p.stem, notebook_problem(p)) for p in sorted(folder.glob("*.ipynb"))]
        bad = [(n, msg) for n, msg in bad if msg]
        if not any(folder.glob("*.ipynb")):
            problems[student] = [{"kind": "missing", "cell": "-", "detail": "no notebook submitted; skipped"}]
        elif bad:
            problems[student] = [{"kind": "corrupt", "cell": n, "detail": f"{msg}; skipped"} for n, msg in bad]
        else:
            ok.append(student)
    with ws.gradebook() as gb:
        for student in ok:
            gb.update_or_create_student(student)
    results = autograde_parallel(assignment, ok, workers=workers, progress=progress)
    for r in results:
        if not r.success:
            problems[r.student] = [{"kind": "error", "cell": "-", "detail": f"nbgrader could not grade it: {r.error}"}]
    ws.set_stage_flags(assignment, "autograde", problems, todo)
    return results, problems


# -------------------------------------------------------------- feedback/export
def feedback(ws: Workspace, assignment: str, student: str | None = None) -> Path:
    """Per-student HTML feedback in ``feedback/<student>/<A>/`` (no hidden test code)."""
    from nbgrader.apps.api import capture_log
    from nbgrader.converters import GenerateFeedback
    from nbgrader.utils import temp_attrs

    ensure_released(ws, assignment)
    # nbgrader's API pins the page to its own "feedback" template; run the converter
    # itself so that the course's template (autograder/nbgrader_config.py) is used.
    api = ws.api()
    ids = dict(assignment_id=assignment) | ({"student_id": student} if student else {})
    with temp_attrs(api.coursedir, **ids):
        app = GenerateFeedback(coursedir=api.coursedir, parent=api)
        app.force = True
        _check(capture_log(app), f"generate_feedback {assignment}")
    return ws.step_dir("feedback")


def export(ws: Workspace, assignment: str, csv_path: str | Path, lms: bool = False) -> Path:
    """nbgrader export through the course's CSV plugin (scores per test, flags), or the
    short one-row-per-student form for an LMS (``lms=True``)."""
    from course.grading.export import CourseCsvExport

    csv_path = Path(csv_path).resolve()
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    plugin = CourseCsvExport(config=ws.config, to=str(csv_path), assignment=[assignment])
    plugin.lms = lms
    with ws.gradebook() as gb:
        plugin.export(gb)
    return csv_path
