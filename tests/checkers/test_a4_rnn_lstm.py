"""Assignment 4 (RNNs and LSTMs): its checker, its release, and its grading with nbgrader.

Fast tests run the checks of ``course.checkers.a4_rnn_lstm`` on the solution's own code, on the
released stubs (every one fails with "not implemented yet"), and on the solution with one typical
mistake written in (each named in the first line of the failure). The slow tests release the
assignment into a temporary folder (the committed ``assignments/`` must equal it) and grade the
stubs (0 on every test) and the solution (full marks) with ``course grade autograde``.
"""
from __future__ import annotations

import numpy as np
import pytest

from course import rnn
from course.checkers import a4_rnn_lstm as a4

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


_first_line = gh.first_line


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
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """release (into a temporary folder) -> collect stub + correct -> autograde with 2 workers -> export."""
    return gh.grade_stub_and_solution(A, tmp_path_factory.mktemp("a4"), SOLUTION)


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
    assert correct["flags"] == "" and stub["flags"] == ""     # e.g. no network_blocked for importing urllib3
