"""An instructor's week, as the README tells it: a workspace set once (``course grade init``),
a release that leaves the course's checkout untouched, a due date with a late policy, a roster,
a renamed notebook, hand grading from a CSV, and feedback a student can use.

One real nbgrader run on Assignment 1 with five students:

- ``ontime``: the solution, handed in before the due date;
- ``late``: the solution, 26 hours late (the policy takes 10 % per started day: 2 days, 20 %);
- ``renamed``: the solution under another file name (graded, flagged ``renamed``);
- ``tampered``: a deleted test cell (restored; the student's feedback says so);
- ``partly_wrong``: failing tests (its tracebacks must not show the grader's paths);
- ``absent``: on the roster, hands in nothing (listed as missing, not in the mean).
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess

import pytest

import grading_helpers as gh

A = "a1_convolution"
SAMPLES = gh.SUBMISSIONS_DIR / A
DUE = "2026-10-01T23:59:00+02:00"            # = 21:59 UTC
ON_TIME = "2026-10-01 20:00:00.000000 UTC"
LATE = "2026-10-02 23:59:00.000000 UTC"      # 26 h late


def course(*args, cwd, env, check=True):
    proc = subprocess.run([str(gh.BIN / "course"), *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"course {' '.join(map(str, args))} exited {proc.returncode}\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=gh.ROOT,
                          capture_output=True, text=True).stdout


def _rows(path):
    with open(path, newline="") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    if shutil.which("git") is None or not (gh.ROOT / ".git").exists():
        pytest.skip("needs the course as a git checkout (to prove the release writes nothing into it)")
    tmp = tmp_path_factory.mktemp("week")
    ws = tmp / "fall26"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_GRADING")}
    env["PATH"] = f"{gh.BIN}{os.pathsep}{env.get('PATH', '')}"
    out = {"ws": ws, "tmp": tmp, "env": env}
    out["no_ws"] = course("grade", "release", A, cwd=tmp, env=env, check=False)
    course("grade", "init", ws, cwd=tmp, env=env)
    toml = (ws / "course.toml").read_text()
    toml = toml.replace("[due]\n", f'[due]\n{A} = "{DUE}"\n').replace("percent_per_day = 0 ", "percent_per_day = 10 ")
    (ws / "course.toml").write_text(toml)
    (ws / "roster.csv").write_text("id,first_name,last_name,email\n"
                                   "ontime,Ada,Lovelace,ada@example.org\nlate,Alan,Turing,alan@example.org\n"
                                   "renamed,Grace,Hopper,grace@example.org\ntampered,Edsger,Dijkstra,\n"
                                   "partly_wrong,Barbara,Liskov,\nabsent,Donald,Knuth,don@example.org\n")
    before = _git_status()
    out["release"] = course("grade", "release", A, cwd=ws, env=env).stdout      # no --workspace: course.toml
    out["git_changed"] = before != _git_status()
    course("grade", "roster", "roster.csv", cwd=ws, env=env)
    subs = tmp / "downloads"
    for student, sample, stamp in [("ontime", "correct", ON_TIME), ("late", "correct", LATE),
                                   ("renamed", "renamed", ON_TIME), ("tampered", "tampered_delete", ON_TIME),
                                   ("partly_wrong", "partly_wrong", ON_TIME)]:
        shutil.copytree(SAMPLES / sample, subs / student)
        (subs / student / "timestamp.txt").write_text(stamp)
    out["collect"] = course("grade", "collect", A, subs, cwd=ws, env=env).stdout
    course("grade", "autograde", A, "--workers", 2, "--timeout", 60, "--no-progress", cwd=ws, env=env)
    course("grade", "export", A, "--csv", tmp / "before.csv", cwd=ws, env=env)
    course("grade", "feedback", A, cwd=ws, env=env)
    out["feedback_before"] = {s: (ws / "feedback" / s / A / f"{A}.html").read_text()
                              for s in ("ontime", "late", "renamed", "tampered", "partly_wrong")}
    course("grade", "manual", A, cwd=ws, env=env)
    listed = list(csv.DictReader(open(ws / "manual" / f"{A}.csv", newline="")))
    out["manual_rows"] = listed
    for row in listed:
        if row["student_id"] == "ontime":
            row["score"], row["comment"] = "4", "Right idea; say why the border is zero."
    with open(tmp / "scores.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(listed[0]))
        writer.writeheader()
        writer.writerows(listed)
    course("grade", "manual", A, "--scores", tmp / "scores.csv", cwd=ws, env=env)
    course("grade", "feedback", A, "--student", "ontime", cwd=ws, env=env)
    out["feedback_after"] = (ws / "feedback" / "ontime" / A / f"{A}.html").read_text()
    course("grade", "export", A, "--csv", tmp / "after.csv", cwd=ws, env=env)
    course("grade", "export", A, "--csv", tmp / "lms.csv", "--lms", cwd=ws, env=env)
    out["report"] = course("grade", "report", A, cwd=ws, env=env).stdout
    return out


@pytest.mark.slow
def test_nothing_is_written_without_a_workspace_or_into_the_checkout(week):
    assert week["no_ws"].returncode == 1 and "course grade init DIR" in week["no_ws"].stderr
    assert not week["git_changed"], "course grade release changed the course's checkout"
    assert (week["ws"] / "release" / A / f"{A}.ipynb").is_file()
    assert "due: 2026-10-01 21:59:00 UTC" in week["release"]


@pytest.mark.slow
def test_late_work_is_flagged_and_the_policy_applied(week):
    rows = _rows(week["tmp"] / "before.csv")
    raw = float(rows["ontime"]["raw_score"])
    assert raw > 0 and float(rows["late"]["raw_score"]) == raw
    assert float(rows["late"]["late_submission_penalty"]) == pytest.approx(0.2 * raw)   # 2 started days x 10 %
    assert float(rows["late"]["score"]) == pytest.approx(0.8 * raw)
    assert rows["late"]["late"].startswith("yes (26.0 h)") and "late:" in rows["late"]["flags"]
    assert rows["ontime"]["late"] == "" and "late" not in rows["ontime"]["flags"]
    assert "late" in week["feedback_before"]["late"] and "point(s) were taken off" in week["feedback_before"]["late"]


@pytest.mark.slow
def test_roster_names_and_missing_students(week):
    rows = _rows(week["tmp"] / "before.csv")
    assert (rows["ontime"]["first_name"], rows["ontime"]["email"]) == ("Ada", "ada@example.org")
    assert rows["absent"]["flags"] == f"missing:{A}" and float(rows["absent"]["score"]) == 0
    assert "handed in nothing gradable" in week["report"] and "absent" in week["report"]
    lms = _rows(week["tmp"] / "lms.csv")
    assert list(next(iter(lms.values())))[:6] == ["student_id", "first_name", "last_name", "email", "score",
                                                  "max_score"]
    assert "flags" not in next(iter(lms.values())) and len(lms) == 6


@pytest.mark.slow
def test_a_renamed_notebook_is_graded_and_flagged(week):
    rows = _rows(week["tmp"] / "before.csv")
    assert float(rows["renamed"]["score"]) == float(rows["ontime"]["score"])
    assert f"renamed:{A}" in rows["renamed"]["flags"]
    assert "submitted under another name" in week["feedback_before"]["renamed"]


@pytest.mark.slow
def test_written_answers_show_not_graded_yet_until_graded_by_hand(week):
    manual_ids = {r["grade_id"] for r in week["manual_rows"]}
    assert manual_ids, "A1 has a written answer"
    (gid,) = manual_ids
    before, after = _rows(week["tmp"] / "before.csv"), _rows(week["tmp"] / "after.csv")
    assert before["ontime"][gid] == "not graded yet" and gid in before["ontime"]["ungraded"]
    assert {r["status"] for r in week["manual_rows"] if r["student_id"] == "ontime"} == {"not graded yet"}
    assert "not graded yet" in week["feedback_before"]["ontime"]
    assert float(after["ontime"][gid]) == 4 and after["ontime"]["ungraded"] == ""
    assert float(after["ontime"]["score"]) == pytest.approx(float(before["ontime"]["score"]) + 4)
    assert after["late"][gid] == "not graded yet"
    assert "Right idea" in week["feedback_after"] and "not graded yet" not in week["feedback_after"].split("<body")[1]


@pytest.mark.slow
def test_feedback_students_can_use(week):
    pages = week["feedback_before"]
    for student, html in pages.items():
        assert "cdnjs" not in html and "<script src=\"https" not in html, student   # no maths from a CDN
        assert "Test cell" not in html and ">test_pad2d</a>" in html, student        # tests named in the TOC
        assert str(gh.ROOT) not in html and "site-packages" not in html, student    # no grader paths
    assert "was restored" in pages["tampered"] and "was restored" not in pages["ontime"]
    assert "white-space: pre-wrap" in pages["ontime"]                                # long lines wrap
    assert "data:image/svg+xml" in pages["ontime"]                                  # maths drawn offline


@pytest.mark.slow
def test_report_names_students_and_wraps_messages(week):
    report = week["report"]
    assert "students: partly_wrong" in report
    assert "per student:" in report and "ontime" in report.split("per student:")[1]
    failures = report.split("most common failures")[1].split("flagged submissions")[0]
    assert all(len(line) <= 100 for line in failures.splitlines())
