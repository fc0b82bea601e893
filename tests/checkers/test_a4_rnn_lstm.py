"""Assignment 4 (RNNs and LSTMs): its checker, its release, and its grading with nbgrader.

Fast tests run the checks of ``course.checkers.a4_rnn_lstm`` on the solution's own code, on the
released stubs (every one fails with "not implemented yet"), and on the solution with one typical
mistake written in (each named in the first line of the failure). The slow tests release the
assignment into a temporary folder (the committed ``assignments/`` must equal it) and grade the
stubs (0 on every test) and the solution (full marks) with ``course grade autograde``.
"""
from __future__ import annotations

import json
import os

import nbformat
import numpy as np
import pytest

from course import rnn
from course.checkers import a4_rnn_lstm as a4
from course.checkers.core import CheckFailure

import grading_helpers as gh

ROOT = gh.ROOT
A = "a4_rnn_lstm"
SOLUTION = ROOT / "solutions" / A / f"{A}.ipynb"
RELEASE = ROOT / "assignments" / A / f"{A}.ipynb"
TESTS = {"test_rnn_cell": 15, "test_rnn_sequence": 20, "test_lstm_cell": 25, "test_bidirectional": 10,
         "test_char_lm": 20}
WRITTEN = {"written_lstm": 10}


_cells = gh.code_cells
_namespace = gh.answer_namespace


@pytest.fixture(scope="module")
def sol():
    return _namespace(SOLUTION)


@pytest.fixture(scope="module")
def stub():
    return _namespace(RELEASE)


def _first_line(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailure) as info:
        fn(*args, **kwargs)
    return str(info.value).splitlines()[0]


def _all_checks(ns):
    return [
        lambda: a4.check_rnn_cell(ns["rnn_cell_forward"], ns["rnn_cell_backward"], seed=1),
        lambda: a4.check_rnn_sequence(ns["rnn_forward"], ns["rnn_backward"], seed=2),
        lambda: a4.check_lstm_cell(ns["lstm_cell_forward"], ns["lstm_cell_backward"], seed=3),
        lambda: a4.check_bidirectional(ns["bidirectional_rnn"], seed=4),
    ]


def test_the_solution_passes_every_check(sol):
    for check in _all_checks(sol):
        check()
    a4.check_rnn_sequence(sol["rnn_forward"], sol["rnn_backward"], T=1, n=1, input_size=1, hidden_size=1, seed=5)
    a4.check_lstm_cell(sol["lstm_cell_forward"], sol["lstm_cell_backward"], n=1, input_size=4, hidden_size=1)


def test_every_stub_fails_as_not_implemented(stub):
    for check in _all_checks(stub):
        assert "not implemented yet" in _first_line(check)
    ids = np.arange(3000) % 7
    assert "not implemented yet" in _first_line(a4.check_char_lm, stub["train_char_lm"], ids, ids[:500], 7,
                                                budget_s=1)


MISTAKES = [
    ("rnn_cell", ("return h, (x, h_prev, h, weight_ih", "return h, (x, h_prev, np.arctanh(h), weight_ih"),   # caches a, not h
     lambda ns: a4.check_rnn_cell(ns["rnn_cell_forward"], ns["rnn_cell_backward"]), "pre-activation"),
    ("rnn_sequence", ("h, c = rnn_cell_forward(x[t], h, weight_ih", "h, c = rnn_cell_forward(x[t], h0, weight_ih"),
     lambda ns: a4.check_rnn_sequence(ns["rnn_forward"], ns["rnn_backward"]), "not carried"),
    ("rnn_sequence", ("rnn_cell_backward(dhs[t] + dh_next, caches[t])", "rnn_cell_backward(dhs[t], caches[t])"),
     lambda ns: a4.check_rnn_sequence(ns["rnn_forward"], ns["rnn_backward"]), "accumulated from both sources"),
    ("lstm_cell", ("g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])",
                   "o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])"),
     lambda ns: a4.check_lstm_cell(ns["lstm_cell_forward"], ns["lstm_cell_backward"]), "gate blocks are in the order i, f, o, g"),
    ("lstm_cell", ("c = f * c_prev + i * g", "c = f * h_prev + i * g"),
     lambda ns: a4.check_lstm_cell(ns["lstm_cell_forward"], ns["lstm_cell_backward"]), "forget gate multiplies the wrong state"),
    ("lstm_cell", ("dct = dc + dh * o * (1 - tc * tc)", "dct = dc + 0 * dh"),
     lambda ns: a4.check_lstm_cell(ns["lstm_cell_forward"], ns["lstm_cell_backward"]), "two sources"),
    ("bidirectional", ("rev[::-1]], axis=2)", "rev], axis=2)"),
     lambda ns: a4.check_bidirectional(ns["bidirectional_rnn"]), "not re-reversed"),
]


@pytest.mark.parametrize("gid,edit,check,words", MISTAKES, ids=[m[3] for m in MISTAKES])
def test_typical_mistakes_are_named(gid, edit, check, words):
    if gid == "lstm_cell" and words.startswith("gate"):
        edit = ("i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])",
                "i, f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])")
    ns = _namespace(SOLUTION, **{gid: edit})
    assert words in _first_line(check, ns)


def test_delegating_to_the_reference_or_torch_scores_nothing():
    def fwd(x, h_prev, w_ih, w_hh, b):
        return rnn.rnn_cell_forward(x, h_prev, w_ih, w_hh, b)

    assert "no points for delegating" in _first_line(a4.check_rnn_cell, fwd, lambda dh, c: None)


def test_the_char_lm_check_wants_a_low_loss_within_the_budget(sol):
    ids = np.tile(np.arange(7), 400)                       # a predictable stream: the solution learns it fast
    loss = a4.check_char_lm(sol["train_char_lm"], ids, ids[:600], 7, budget_s=3, max_loss=1.6)
    assert loss < np.log(7)
    assert "held-out loss" in _first_line(a4.check_char_lm, sol["train_char_lm"], ids, ids[:600], 7,
                                          budget_s=0.5, max_loss=1e-6)


# ===================================================== release and grading (slow)
def _filled(release):
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in nbformat.read(SOLUTION, as_version=4).cells if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = gh.make_submissions.strip_markers(answers[meta["grade_id"]])
    return release


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("a4")
    ws, release, subs = tmp / "workspace", tmp / "release", tmp / "submissions"
    env = dict(os.environ, PATH=f"{gh.BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               COURSE_GRADING_RELEASE=str(release))
    env.pop("COURSE_GRADING_WORKSPACE", None)
    env.pop("COURSE_GRADING_DB", None)
    w = ("--workspace", ws)
    gh.run_course("grade", "release", A, *w, env=env)
    released = nbformat.read(release / A / f"{A}.ipynb", as_version=4)
    correct = _filled(nbformat.from_dict(json.loads(json.dumps(released))))
    for student, nb in {"stub": released, "correct": correct}.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{A}.ipynb")
    gh.run_course("grade", "collect", A, subs, *w, env=env)
    gh.run_course("grade", "autograde", A, "--workers", 2, "--no-progress", *w, env=env)
    gh.run_course("grade", "export", A, "--csv", tmp / "grades.csv", *w, env=env)
    return {"ws": ws, "release": release, "csv": gh.read_csv(tmp / "grades.csv")}


@pytest.mark.slow
def test_the_committed_release_equals_a_fresh_one_and_hides_the_solutions(graded):
    assert gh.hashes(graded["release"] / A) == gh.hashes(ROOT / "assignments" / A)
    text = RELEASE.read_text()
    for secret in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "random_case_rng", "dct * f", "nn.clip_grad_norm_(model.parameters(), 5.0)"):
        assert secret not in text, secret


@pytest.mark.slow
def test_stub_scores_zero_and_solution_full_on_every_test(graded):
    assert sum(TESTS.values()) + sum(WRITTEN.values()) == 100
    stub, correct = graded["csv"]["stub"], graded["csv"]["correct"]
    assert {t: float(stub[t]) for t in TESTS} == {t: 0.0 for t in TESTS}
    assert {t: float(correct[t]) for t in TESTS} == {t: float(p) for t, p in TESTS.items()}
    assert float(correct["score"]) == 90 and float(correct["max_score"]) == 100
