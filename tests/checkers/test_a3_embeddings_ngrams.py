"""Assignment 3 (word embeddings and n-grams): its checker, its release, and its grading with nbgrader.

Fast tests (no kernel) run the test cells of solutions/a3_embeddings_ngrams on the solution's own
code, on the released stubs, and on wrong answers: every entry of the mistake catalogue
(``a3.MISTAKES``) is written as a student function and must fail the VISIBLE tests with its own
message; a few mistakes are also written into the solution's code, as a student would.

The slow tests release the assignment with ``course grade release`` into a temporary folder (the
committed ``assignments/`` must equal it) and grade two submissions with ``course grade autograde``:
the released stubs score 0 on every test, the solution full marks.
"""
from __future__ import annotations

import nbformat
import numpy as np
import pytest

from course import embeddings, lm
from course.checkers import a3_embeddings_ngrams as a3
from course.checkers.core import CheckFailure

import grading_helpers as gh

ROOT = gh.ROOT
A = "a3_embeddings_ngrams"
SOLUTION = ROOT / "solutions" / A / f"{A}.ipynb"
RELEASE = ROOT / "assignments" / A / f"{A}.ipynb"
TESTS = {"test_cosine_similarity": 10, "test_nearest": 10, "test_context_pairs": 10, "test_embedding": 15,
         "test_ngrams": 15, "test_sample_from": 10, "test_perplexity": 10, "test_sgns": 20}
# catalogue entry -> (test cell, name of the student's function in the notebook)
WHERE = {"cosine_similarity": ("test_cosine_similarity", "cosine_similarity"),
         "nearest": ("test_nearest", "nearest"), "context_pairs": ("test_context_pairs", "context_pairs"),
         "embedding_forward": ("test_embedding", "Embedding"), "embedding_backward": ("test_embedding", "Embedding"),
         "ngram_counts": ("test_ngrams", "ngram_counts"), "add_k_probs": ("test_ngrams", "add_k_probs"),
         "sample_from": ("test_sample_from", "sample_from"), "perplexity": ("test_perplexity", "perplexity"),
         "sgns_loss_and_grad": ("test_sgns", "sgns_loss_and_grad")}


# ============================================================ the student's code
_cells = gh.code_cells
_namespace = gh.answer_namespace


CELLS = _cells(SOLUTION)


def _visible(gid) -> str:
    return CELLS[gid].split("### BEGIN HIDDEN TESTS")[0]


def _hidden(gid) -> str:
    return CELLS[gid].split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]


def _run(ns, source, gid):
    exec(compile(source, f"<{A}:{gid}>", "exec"), dict(ns))   # noqa: S102


def _first_failure(ns, gid, hidden=False) -> str:
    with pytest.raises(CheckFailure) as info:
        _run(ns, _visible(gid) + (_hidden(gid) if hidden else ""), gid)
    return str(info.value).splitlines()[0]


# =========================================================== right answers pass
@pytest.mark.parametrize("gid", list(TESTS))
def test_the_solution_passes_visible_and_hidden_tests(sol, gid, capsys):
    _run(sol, _visible(gid) + _hidden(gid), gid)
    assert "visible tests passed" in capsys.readouterr().out


def test_the_reference_modules_pass_the_same_checks(monkeypatch):
    """course.embeddings / course.lm / course.nn themselves pass (the checks are fair to a right answer)."""
    monkeypatch.setattr(a3, "FORBID", ("torch",))
    rng = np.random.default_rng(0)
    a3.check_cosine_similarity(embeddings.cosine_similarity, rng.standard_normal((3, 1, 4)), rng.standard_normal((5, 4)))
    a3.check_cosine_similarity(embeddings.cosine_similarity, [[0., 0.], [1e-5, 0.]], [[1., 2.], [1e-5, 0.]])
    words = [f"w{i}" for i in range(12)]
    W = rng.standard_normal((12, 4))
    a3.check_nearest(lambda ws, W, q, k: [w for w, _ in embeddings.KeyedVectors(ws, W).nearest(q, k)], words, W, "w2", 4)

    def pairs(ids, window):
        c, o = embeddings.skipgram_pairs([ids], window, reduced_window=False)
        return np.stack([c, o], 1)
    a3.check_context_pairs(pairs, rng.integers(0, 5, size=11), 3)
    a3.check_sample_from(lambda p, u: np.array([lm.sample_from(p, u=x) for x in u]),
                         [0.25, 0.5, 0.25], [0.0, 0.2, 0.25, 0.5, 0.75, 0.99])
    a3.check_perplexity(lambda p: lm.perplexity(-np.sum(np.log(p)), len(p)), [0.5, 0.125])
    a3.check_sgns_loss_and_grad(embeddings.sgns_loss_and_grad, B=5, K=3, D=4, seed=3, scale=50.0)

    from course import nn

    class Ref(nn.Embedding):
        def __init__(self, V, D, rng=None):
            super().__init__(V, D, rng=rng)
    a3.check_embedding(Ref, 5, 3, ids=np.array([[0, 2, 2, 4], [4, 2, 0, 1]]))


# ================================================================ stubs fail
@pytest.mark.parametrize("gid", list(TESTS))
def test_every_stub_fails_as_not_implemented(stub, gid):
    assert "not implemented yet" in _first_failure(stub, gid)


# ============================================ the mistake catalogue, one by one
def _fake(function, wrong, right):
    """A student function (or class) that makes exactly the mistake ``wrong``, and is right elsewhere."""
    if function in ("embedding_forward", "embedding_backward"):
        base = right

        class Fake(base):
            if function == "embedding_forward":
                def forward(self, ids):
                    self.save_for_backward(ids)
                    value = wrong.answer(self.weight.data, ids)
                    return self.weight.data[ids] if value is None else value
            else:
                def backward(self, grad_output):
                    ids = self.pop_saved()
                    self.weight.grad[...] = wrong.answer(self.weight.data, ids, grad_output, self.weight.grad.copy())
        return Fake

    def fn(*args, **kwargs):
        value = wrong.answer(*args, **kwargs)
        return right(*args, **kwargs) if value is None else value
    return fn


CATALOGUE = [(function, wrong) for function, entries in a3.MISTAKES.items() for wrong in entries]


@pytest.mark.parametrize("function,wrong", CATALOGUE, ids=[f"{f}-{w.name}" for f, w in CATALOGUE])
def test_each_catalogued_mistake_is_named_by_the_visible_tests(sol, function, wrong):
    gid, name = WHERE[function]
    ns = dict(sol)
    ns[name] = _fake(function, wrong, sol[name])
    with np.errstate(all="ignore"):
        first = _first_failure(ns, gid)
    assert wrong.message in first, (function, wrong.name, first)


def test_the_catalogue_is_data_with_distinct_names_and_messages():
    for function, entries in a3.MISTAKES.items():
        assert len({w.name for w in entries}) == len(entries), function
        assert len({w.message for w in entries}) == len(entries), function
    assert set(a3.MISTAKES) == set(WHERE)


# ==================================================== mistakes written as code
def _edited_first(gid, test_gid, *edits, hidden=False):
    ns = _namespace(SOLUTION, **{gid: list(edits)})
    with np.errstate(all="ignore"):
        return _first_failure(ns, test_gid, hidden=hidden)


def test_fancy_index_plus_equals_in_the_embedding_backward_is_named():
    first = _edited_first("embedding", "test_embedding",
                          ("np.add.at(self.weight.grad, ids.reshape(-1), grad_output.reshape(-1, self.embedding_dim))",
                           "self.weight.grad[ids.reshape(-1)] += grad_output.reshape(-1, self.embedding_dim)"))
    assert "a repeated id kept only one of its gradients" in first


def test_counts_with_fancy_plus_equals_are_named():
    first = _edited_first("ngrams", "test_ngrams",
                          ("np.add.at(counts, tuple(ids[j:L - n + 1 + j] for j in range(n)), 1)",
                           "counts[tuple(ids[j:L - n + 1 + j] for j in range(n))] += 1"))
    assert "counted once" in first


def test_off_by_one_window_is_named():
    first = _edited_first("context_pairs", "test_context_pairs", ("range(1, window + 1)", "range(1, window)"))
    assert "off by one: the window reaches `window` words" in first


def test_normalizing_one_vector_and_the_wrong_axis_are_named():
    assert "normalized x1 but not x2" in _edited_first("cosine_similarity", "test_cosine_similarity",
                                                       ("(x2 / n2)", "x2"))
    assert "wrong axis" in _edited_first("cosine_similarity", "test_cosine_similarity",
                                         ("np.linalg.norm(x1, axis=-1, keepdims=True)",
                                          "np.linalg.norm(x1, axis=0, keepdims=True)"),
                                         ("np.linalg.norm(x2, axis=-1, keepdims=True)",
                                          "np.linalg.norm(x2, axis=0, keepdims=True)"))
    no_eps = _edited_first("cosine_similarity", "test_cosine_similarity",
                           ("np.maximum(np.linalg.norm(x1, axis=-1, keepdims=True), eps)",
                            "np.linalg.norm(x1, axis=-1, keepdims=True)"),
                           ("np.maximum(np.linalg.norm(x2, axis=-1, keepdims=True), eps)",
                            "np.linalg.norm(x2, axis=-1, keepdims=True)"))
    assert "nan for a zero vector" in no_eps


def test_add_k_over_the_wrong_axis_is_named():
    first = _edited_first("ngrams", "test_ngrams", ("counts.sum(axis=-1, keepdims=True)", "counts.sum(axis=0, keepdims=True)"))
    assert "normalized over the wrong axis" in first


def test_perplexity_as_exp_of_a_sum_is_named():
    first = _edited_first("perplexity", "test_perplexity", ("np.mean(np.log(token_probs))", "np.sum(np.log(token_probs))"))
    assert "exp of the SUM" in first


def test_log_of_sigmoid_is_named_log_of_zero():
    first = _edited_first("sgns", "test_sgns", ("-np.logaddexp(0, -pos)", "np.log(sigmoid(pos))"),
                          ("-np.logaddexp(0, neg)", "np.log(sigmoid(-neg))"))
    assert "log(sigmoid(x)) is log(0)" in first


def test_searchsorted_left_is_named():
    first = _edited_first("sample_from", "test_sample_from", ('side="right"', 'side="left"'))
    assert "u exactly at a cumulative boundary" in first


def test_delegating_to_the_course_or_torch_scores_nothing(sol):
    ns = dict(sol, cosine_similarity=lambda x1, x2, eps=1e-8: embeddings.cosine_similarity(x1, x2, eps=eps))
    assert "no points for delegating" in _first_failure(ns, "test_cosine_similarity")

    def torch_perplexity(p):
        import torch
        return float(torch.exp(-torch.log(torch.tensor(p)).mean()))
    ns = dict(sol, perplexity=torch_perplexity)
    assert "(PyTorch); no points for delegating" in _first_failure(ns, "test_perplexity")


# ===================================================== release and grading (slow)
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """release (into a temporary folder) -> collect stub + correct -> autograde with 2 workers -> export."""
    return gh.grade_stub_and_solution(A, tmp_path_factory.mktemp("a3"), SOLUTION)


@pytest.mark.slow
def test_committed_release_equals_a_fresh_one(graded):
    assert gh.hashes(graded["release"] / A) == gh.hashes(ROOT / "assignments" / A)


@pytest.mark.slow
def test_release_hides_solutions_and_hidden_tests():
    text = RELEASE.read_text()
    for secret in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "random_case_rng", "np.add.at(self.weight.grad",
                   "side=\\\"right\\\")\\n", "np.logaddexp(0, -pos)"):
        assert secret not in text, secret
    nb = nbformat.reads(text, as_version=4)
    stubs = sum(c.source.count("raise NotImplementedError()") for c in nb.cells if c.cell_type == "code")
    assert stubs == 10          # cosine, nearest, pairs, forward, backward, counts, add-k, die, perplexity, sgns


@pytest.mark.slow
def test_stub_scores_zero_and_solution_full_on_every_test(graded):
    assert sum(TESTS.values()) == 100
    stub, correct = graded["csv"]["stub"], graded["csv"]["correct"]
    assert {t: float(stub[t]) for t in TESTS} == {t: 0.0 for t in TESTS}
    assert {t: float(correct[t]) for t in TESTS} == {t: float(p) for t, p in TESTS.items()}
    assert float(correct["score"]) == 100 and float(correct["max_score"]) == 100
    assert correct["flags"] == "" and stub["flags"] == ""
    stub_nb = nbformat.read(graded["ws"] / "autograded" / "stub" / A / f"{A}.ipynb", as_version=4)
    for t in TESTS:
        assert "not implemented yet" in gh.errors(stub_nb, t), t
