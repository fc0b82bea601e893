"""The instructor-side pieces without nbgrader runs: the late policy, the workspace settings,
the tracebacks students see, maths drawn offline, wrapped report lines."""
from __future__ import annotations

import os

import pytest

from course.grading import feedback, late, report, settings
from course.grading.instructor import parse_due
from course.grading.workspace import GradingError, NoWorkspace, _workspace_settings

DAY = 86400.0


@pytest.mark.parametrize("seconds, expected", [
    (0, 0.0), (60, 0.0),               # within the 15-minute grace
    (16 * 60, 10.0),                   # one started day: 10 % of 100
    (DAY + 15 * 60, 10.0),             # still the first day after the grace
    (DAY + 16 * 60, 20.0),             # the second day has started
    (3 * DAY + 3600, 100.0),           # more than max_days = 3 late: the whole score
])
def test_late_penalty_counts_started_days_after_the_grace(seconds, expected):
    assert late.penalty(100.0, seconds, percent_per_day=10, grace_minutes=15, max_days=3) == expected


def test_late_penalty_never_exceeds_the_score_and_defaults_to_none():
    assert late.penalty(40.0, 20 * DAY, percent_per_day=30) == 40.0
    assert late.penalty(40.0, 20 * DAY) == 0.0             # the default policy only flags


def test_due_dates_are_stored_as_naive_utc():
    assert str(parse_due("2026-10-01T23:59:00+02:00")) == "2026-10-01 21:59:00"
    assert str(parse_due("2026-10-01 21:59")) == "2026-10-01 21:59:00"
    with pytest.raises(GradingError, match="ISO 8601"):
        parse_due("next friday")


def test_course_toml_is_found_from_a_subfolder_and_read(tmp_path, monkeypatch):
    for var in ("COURSE_GRADING_WORKSPACE", settings.ENV_SETTINGS):
        monkeypatch.delenv(var, raising=False)
    path = settings.write_template(tmp_path / "fall26", db="sqlite:///x.db")
    text = path.read_text().replace("[due]\n", '[due]\na1_convolution = "2026-10-01T23:59:00+02:00"\n')
    path.write_text(text.replace("percent_per_day = 0 ", "percent_per_day = 5 "))
    (tmp_path / "fall26" / "week1").mkdir()
    monkeypatch.chdir(tmp_path / "fall26" / "week1")
    folder, found = _workspace_settings(None)
    assert folder == (tmp_path / "fall26").resolve() and found.db == "sqlite:///x.db"
    assert found.due == {"a1_convolution": "2026-10-01T23:59:00+02:00"} and found.late["percent_per_day"] == 5
    with pytest.raises(FileExistsError):
        settings.write_template(tmp_path / "fall26")


def test_no_workspace_is_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_GRADING_WORKSPACE", raising=False)
    monkeypatch.delenv(settings.ENV_SETTINGS, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoWorkspace, match="course grade init DIR"):
        _workspace_settings(None)


def test_tracebacks_keep_the_students_frames_and_hide_the_graders():
    tb = ["\x1b[0;31m----\x1b[0m CheckFailure  Traceback (most recent call last)",
          "Cell \x1b[0;32mIn[7], line 3\x1b[0m\n      1 x = conv2d(a, w)",
          "\x1b[0;32mFile \x1b[0;32m/opt/venv/lib/python3.11/site-packages/course/checkers/core.py:88\x1b[0m, in call()",
          "File /opt/venv/lib/python3.11/site-packages/numpy/core/fromnumeric.py:12, in sum()",
          "Cell In[5], line 9, in conv2d(x, weight)\n----> 9 return out.sum(axis=9)",
          "AxisError: axis 9 is out of bounds"]
    out = feedback.student_traceback(tb)
    assert out[0] == tb[0] and out[1] == tb[1] and out[-2:] == tb[-2:]
    assert out[2] == "(... 2 frames of grading code)"
    assert not any("site-packages" in line for line in out)


def test_maths_becomes_inline_svg_and_what_mathtext_cannot_read_stays_text():
    html = feedback.render_math(r"size $n_{out} = \lfloor (n + 2p - k) / s \rfloor + 1$ and costs $5.")
    assert html.count("data:image/svg+xml;base64,") == 1 and "costs $5." in html
    assert feedback.render_math(r"$\notacommand{x}$") == r"$\notacommand{x}$"


def test_report_lines_wrap_at_spaces_never_mid_word():
    line = "  3 x test_conv2d: " + " ".join(["convolution"] * 20)
    wrapped = report.wrap(line, width=60)
    assert all(len(part) <= 60 for part in wrapped.splitlines())
    assert all(w == "convolution" for w in wrapped.split()[3:])
