"""Assignment 5 (attention and a tiny Transformer LM): its checker and its release.

Fast tests (no kernel) run the checks of ``course.checkers.a5_attention_transformer`` on the
solution's own code (executed from solutions/a5_attention_transformer), on the released stubs,
and on the solution with one typical mistake written in: the right answer passes, a stub fails
with "not implemented yet", and each mistake is named in the first line of the failure.
The slow tests train the solution's tiny LM and check the loss target and the time budget, and,
as for A4, release the assignment into a temporary folder (the committed ``assignments/`` must
equal it) and grade the stubs (0 on every test) and the solution (full marks) end to end with
``course grade release/collect/autograde/export`` (real nbgrader, each kernel in the sandbox).
"""
from __future__ import annotations

import nbformat
import numpy as np
import pytest

from course.checkers import a5_attention_transformer as a5
from course.checkers.core import CheckFailure

import grading_helpers as gh

ROOT = gh.ROOT
A = "a5_attention_transformer"
SOLUTION = ROOT / "solutions" / A / f"{A}.ipynb"
RELEASE = ROOT / "assignments" / A / f"{A}.ipynb"
TESTS = {"test_softmax": 15, "test_causal_mask": 5, "test_attention": 20, "test_attention_backward": 20,
         "test_heads": 15, "test_tiny_lm": 25}


_cells = gh.code_cells
_namespace = gh.answer_namespace


def _run_test(ns, gid):
    exec(compile(_cells(SOLUTION)[gid], f"<{gid}>", "exec"), ns)


def test_points_add_up_to_100():
    nb = nbformat.read(SOLUTION, as_version=4)
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points")
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert points == TESTS and sum(points.values()) == 100


@pytest.mark.parametrize("gid", [t for t in TESTS if t != "test_tiny_lm"])
def test_solution_passes_visible_and_hidden_tests(gid):
    _run_test(_namespace(SOLUTION), gid)


@pytest.mark.parametrize("gid", [t for t in TESTS if t != "test_tiny_lm"])
def test_released_stubs_fail_with_not_implemented(gid):
    ns = _namespace(RELEASE)
    with pytest.raises(CheckFailure, match="not implemented"):
        exec(compile(_cells(RELEASE)[gid], f"<{gid}>", "exec"), ns)


def test_release_has_no_solutions_and_no_hidden_tests():
    text = RELEASE.read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "np.tril(np.ones((T, T), dtype=bool))" not in text


MISTAKES = {
    "no max shift": ("softmax", ("    m = np.where(np.isfinite(m), m, 0.0)\n", "    m = 0 * m\n"),
                     "test_softmax", "subtract the row maximum"),
    "fully masked NaN": ("softmax", ("    m = np.where(np.isfinite(m), m, 0.0)\n", ""),
                         "test_softmax", "fully masked row"),
    "wrong axis": ("softmax", [("np.max(x, axis=-1,", "np.max(x, axis=0,"), ("e.sum(axis=-1,", "e.sum(axis=0,")],
                   "test_softmax", "wrong axis"),
    "causal transposed": ("causal_mask", ("np.tril(", "np.triu("), "test_causal_mask", "transposed"),
    "causal strict": ("causal_mask", ("np.tril(np.ones((T, T), dtype=bool))", "np.tril(np.ones((T, T), dtype=bool), -1)"),
                      "test_causal_mask", "diagonal"),
    "no scaling": ("attention", (" / math.sqrt(d_k)", ""), "test_attention", "no scaling"),
    "scaled by d_k": ("attention", (" / math.sqrt(d_k)", " / d_k"), "test_attention", "instead of sqrt(d_k)"),
    "softmax over queries": ("attention", ("weights = softmax(scores, mask=mask)",
                                           "weights = np.swapaxes(softmax(np.swapaxes(scores, -1, -2)), -1, -2)"),
                             "test_attention", "query axis"),
    "mask after softmax": ("attention", ("weights = softmax(scores, mask=mask)",
                                         "weights = softmax(scores) * (True if mask is None else mask)"),
                           "test_attention", "after the softmax"),
    "mask transposed": ("attention", ("weights = softmax(scores, mask=mask)",
                                      "weights = softmax(scores, mask=None if mask is None else np.swapaxes(mask, -1, -2))"),
                        "test_attention", "mask transposed"),
    "backward no scale": ("attention_backward", ("dq = ds @ k * scale", "dq = ds @ k"),
                          "test_attention_backward", "1/sqrt(d_k)"),
    "backward no row sum": ("attention_backward",
                            ("ds = weights * (dw - np.sum(dw * weights, axis=-1, keepdims=True))", "ds = weights * dw"),
                            "test_attention_backward", "row-sum"),
    "heads wrong axis": ("heads", ("return x.reshape(N, T, num_heads, E // num_heads).transpose(0, 2, 1, 3)",
                                   "return x.reshape(N, num_heads, T, E // num_heads)"),
                         "test_heads", "wrong axis"),
    "heads strided": ("heads", ("return x.reshape(N, T, num_heads, E // num_heads).transpose(0, 2, 1, 3)",
                                "return x.reshape(N, T, E // num_heads, num_heads).transpose(0, 3, 1, 2)"),
                      "test_heads", "CONTIGUOUS"),
    "merge no transpose": ("heads", ("return x.transpose(0, 2, 1, 3).reshape(N, T, h * d)", "return x.reshape(N, T, h * d)"),
                           "test_heads", "merge_heads reshaped"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_common_mistake_is_named(mistake):
    gid, edit, test_gid, words = MISTAKES[mistake]
    ns = _namespace(SOLUTION, **{gid: edit})
    with pytest.raises(CheckFailure) as info:
        _run_test(ns, test_gid)
    first = str(info.value).splitlines()[0]
    assert words in first, first


def test_the_checker_refuses_the_reference():
    from course import attention as A

    with pytest.raises(CheckFailure):
        a5.check_softmax(lambda x, mask=None: A.softmax(x, mask=mask), np.ones(3))


@pytest.mark.slow
def test_solution_tiny_lm_reaches_the_target_in_time():
    from threadpoolctl import threadpool_limits

    ns = _namespace(SOLUTION)
    with threadpool_limits(1):
        loss, seconds = a5.check_tiny_lm(ns["train_tiny_lm"])
    assert loss <= a5.LOSS_TARGET and seconds <= a5.TIME_BUDGET_S


# ===================================================== release and grading (slow)
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """release (into a temporary folder) -> collect stub + correct -> autograde with 2 workers -> export."""
    return gh.grade_stub_and_solution(A, tmp_path_factory.mktemp("a5"), SOLUTION)


@pytest.mark.slow
def test_the_committed_release_equals_a_fresh_one_and_hides_the_solutions(graded):
    assert gh.hashes(graded["release"] / A) == gh.hashes(ROOT / "assignments" / A)
    text = RELEASE.read_text()
    for secret in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "random_case_rng", "dq = ds @ k * scale",
                   "np.tril(np.ones((T, T), dtype=bool))", "optim.AdamW(model.parameters(), lr=5e-3"):
        assert secret not in text, secret


@pytest.mark.slow
def test_stub_scores_zero_and_solution_full_on_every_test(graded):
    stub, correct = graded["csv"]["stub"], graded["csv"]["correct"]
    assert {t: float(stub[t]) for t in TESTS} == {t: 0.0 for t in TESTS}
    assert {t: float(correct[t]) for t in TESTS} == {t: float(p) for t, p in TESTS.items()}
    assert float(correct["score"]) == 100 and float(correct["max_score"]) == 100
    assert correct["flags"] == "" and stub["flags"] == ""     # e.g. no network_blocked for importing urllib3
    assert float(stub["score"]) == 0
