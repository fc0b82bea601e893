"""Instructor tools over nbgrader: init, release, roster, collect, autograde, manual, feedback, export, report.

    course grade init DIR [--db URL]             a workspace: DIR/course.toml (run the rest inside DIR)
    course grade release A [--due TIME]          solutions/A -> <workspace>/release/A, gradebook, due date
    course grade roster FILE                     students (id, first_name, last_name, email) into the gradebook
    course grade collect A DIR|ZIP               DIR/<student>/<notebook>.ipynb (+ timestamp.txt) -> workspace
    course grade autograde A [--student S] [--workers N] [--timeout S]
    course grade manual A [--scores FILE]        list the answers to grade by hand / take their scores
    course grade feedback A [--student S]        HTML in <workspace>/feedback/<student>/A/
    course grade export A --csv grades.csv [--lms]   scores per test, late, ungraded, flags
    course grade report A [--png PATH]           pass rates, histogram, common failures, per student

The workspace is found from ``--workspace DIR``, else $COURSE_GRADING_WORKSPACE, else the
``course.toml`` in the current directory or a parent (``course grade init`` writes it); nothing
is ever written into the course's own folder. ``--db URL``: any SQLAlchemy URL (default SQLite
``gradebook.db`` in the workspace, or $COURSE_GRADING_DB, or ``db`` in course.toml).
"""
from __future__ import annotations

import argparse
import sys

STEPS = ("init", "release", "roster", "collect", "autograde", "manual", "feedback", "export", "report")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", metavar="DIR",
                        help="instructor workspace for submissions, grades, feedback "
                             "(default: grading/ in the course folder, or $COURSE_GRADING_WORKSPACE)")
    common.add_argument("--db", metavar="URL",
                        help="gradebook as an SQLAlchemy URL, e.g. postgresql+psycopg2://user@host/grades "
                             "(the database must exist; default: SQLite gradebook.db in the workspace)")
    common.add_argument("--root", metavar="DIR",
                        help="the course folder holding solutions/ and autograder/ (default: the checkout "
                             "this package runs from, the current directory or a parent, or $COURSE_ROOT)")
    sub = parser.add_subparsers(dest="step", metavar="STEP", required=True)

    p = sub.add_parser("init", help="create a grading workspace: DIR/course.toml with its settings")
    p.add_argument("directory", metavar="DIR")
    p.add_argument("--db", metavar="URL", help="gradebook URL to record in course.toml")
    p.add_argument("--root", metavar="DIR", help="the course folder to record in course.toml")

    p = sub.add_parser("release", parents=[common], help="generate the student version (nbgrader generate_assignment)")
    p.add_argument("assignment")
    p.add_argument("--due", metavar="TIME", help="due date, ISO 8601 with a zone, e.g. 2026-10-01T23:59:00+02:00 "
                                                  "(default: [due] in course.toml)")
    p.add_argument("--release-dir", metavar="DIR", help="where the student version goes (default: "
                                                         "<workspace>/release; `make release` uses assignments/)")

    p = sub.add_parser("roster", parents=[common], help="import students from a CSV (id,first_name,last_name,email)")
    p.add_argument("file", metavar="FILE")

    p = sub.add_parser("collect", parents=[common], help="import submissions DIR/<student>/<notebook>.ipynb or a zip")
    p.add_argument("assignment")
    p.add_argument("source", metavar="DIR_OR_ZIP")

    p = sub.add_parser("autograde", parents=[common], help="grade collected submissions (in parallel)")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--workers", type=int, default=None, help="parallel nbgrader processes (default: CPU count)")
    p.add_argument("--timeout", type=int, default=None, help="seconds per cell (default 30)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("manual", parents=[common], help="hand grading: list answers to a CSV, or apply its scores")
    p.add_argument("assignment")
    p.add_argument("--scores", metavar="FILE", help="apply the score/comment columns of FILE to the gradebook")
    p.add_argument("--csv", metavar="PATH", help="where to list the answers (default <workspace>/manual/<A>.csv)")

    p = sub.add_parser("feedback", parents=[common], help="per-student HTML feedback (hidden tests removed)")
    p.add_argument("assignment")
    p.add_argument("--student", default=None)

    p = sub.add_parser("export", parents=[common], help="grades CSV with per-test scores and flags")
    p.add_argument("assignment")
    p.add_argument("--csv", required=True, metavar="PATH")
    p.add_argument("--lms", action="store_true", help="one row per student: total, per question, late (for an LMS)")

    p = sub.add_parser("report", parents=[common], help="pass rates, score histogram, common failures (+ PNG)")
    p.add_argument("assignment")
    p.add_argument("--png", metavar="PATH", help="plot file (default <workspace>/reports/<A>.png)")


def main(args) -> int:
    if getattr(args, "root", None):
        import os
        from pathlib import Path

        from course.paths import ENV_ROOT

        os.environ[ENV_ROOT] = str(Path(args.root).resolve())
    from course.grading import instructor
    from course.grading.workspace import configure

    try:
        if args.step == "init":
            return _init(args)
        ws = configure(workspace=args.workspace, db=args.db, timeout=getattr(args, "timeout", None),
                       release_dir=getattr(args, "release_dir", None))
        return _run(args, ws, instructor)
    except (instructor.GradingError, FileExistsError, FileNotFoundError) as exc:
        print(f"course grade {args.step}: {exc}", file=sys.stderr)
        return 1


def _init(args) -> int:
    from pathlib import Path

    from course.grading import settings
    from course.paths import find_course_root

    folder = Path(args.directory).resolve()
    root = find_course_root(args.root, need="autograder")
    if root is not None and (folder == root or root in folder.parents):
        raise FileExistsError(f"{folder} is inside the course's folder {root}: student work and grades "
                              "belong outside it (e.g. ~/grading/fall26)")
    path = settings.write_template(folder, db=args.db, root=root)
    print(f"wrote {path}\nnow: cd {folder} && course grade release <assignment>")
    return 0


def _run(args, ws, instructor) -> int:
    if args.step == "roster":
        ids = instructor.import_roster(ws, args.file)
        print(f"{len(ids)} student(s) in the gradebook {ws.db_url}")
        return 0
    a = args.assignment
    if args.step == "release":
        path = instructor.release(ws, a, due=args.due)
        with ws.gradebook() as gb:
            due = gb.find_assignment(a).duedate
        print(f"released {a} -> {path}  (gradebook: {ws.db_url}; due: {f'{due} UTC' if due else 'none'})")
    elif args.step == "manual":
        from course.grading import manual

        if args.scores:
            n = manual.apply_scores(ws, a, args.scores)
            print(f"{n} score(s) recorded; run `course grade feedback {a}` to update the students' feedback")
        else:
            path = manual.list_answers(ws, a, args.csv)
            print(f"answers to grade by hand: {path}  (fill in score/comment, then "
                  f"`course grade manual {a} --scores {path}`)")
    elif args.step == "collect":
        report = instructor.collect(ws, a, args.source)
        print(report.table())
    elif args.step == "autograde":
        from course.grading.parallel import default_workers

        workers = args.workers or default_workers()
        results, problems = instructor.autograde(ws, a, args.student, workers=workers,
                                                 progress=not args.no_progress)
        _print_autograde(ws, a, results, problems)
        return 1 if any(not r.success for r in results) else 0
    elif args.step == "feedback":
        path = instructor.feedback(ws, a, args.student)
        print(f"feedback for {a} in {path}/<student>/{a}/")
    elif args.step == "export":
        path = instructor.export(ws, a, args.csv, lms=args.lms)
        print(f"exported {a} -> {path}")
    elif args.step == "report":
        from course.grading import report as rep

        r = rep.build(ws, a)
        print(r.text())
        png = rep.plot(r, args.png or ws.root / "reports" / f"{a}.png")
        print(f"\nplot: {png}")
    return 0


def _print_autograde(ws, assignment, results, problems) -> None:
    from course.grading.export import rows

    with ws.gradebook() as gb:
        table = {r["student_id"]: r for r in rows(gb, ws, [assignment])}
    print(f"{'student':<24} {'score':>7}  {'time':>6}  flags")
    for r in results:
        row = table.get(r.student, {})
        score = f"{float(row['score']):g}/{float(row['max_score']):g}" if r.success and row else "-"
        print(f"{r.student:<24} {score:>7}  {r.seconds:>5.1f}s  {row.get('flags', '') or ''}")
    for student, flags in sorted(problems.items()):
        if not any(r.student == student and r.success for r in results):
            print(f"{student:<24} {'-':>7}  {'':>6}  " + "; ".join(f"{f['kind']}: {f['detail']}" for f in flags))
