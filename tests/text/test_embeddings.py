"""course.embeddings: lookup, cosine vs torch, KeyedVectors, SGNS gradient, PPMI, training, evaluation."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from course import embeddings as E
from course.testing import to_numpy, to_torch

SETTINGS = settings(max_examples=30, deadline=None)


# ------------------------------------------------------------------ lookup
def test_lookup_equals_one_hot_times_matrix():
    W = np.random.default_rng(0).standard_normal((7, 3))
    ids = np.array([[4, 0, 4], [6, 1, 2]])
    np.testing.assert_array_equal(E.one_hot(ids, 7) @ W, E.lookup(W, ids))
    assert E.one_hot(ids, 7).sum(axis=-1).tolist() == [[1, 1, 1], [1, 1, 1]]
    with pytest.raises(ValueError, match=r"\[0, 7\)"):
        E.one_hot([7], 7)


# ------------------------------------------------------------------ cosine similarity
def test_cosine_by_hand():
    assert E.cosine_similarity([1.0, 0.0], [0.0, 2.0]) == 0.0
    assert math.isclose(E.cosine_similarity([1.0, 1.0], [3.0, 3.0]), 1.0)
    assert math.isclose(E.cosine_similarity([3.0, 4.0], [4.0, 3.0]), 24 / 25)
    assert math.isclose(E.cosine_similarity([1.0, 2.0], [-1.0, -2.0]), -1.0)


def _pair_of_broadcastable_shapes():
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=4)


@SETTINGS
@given(shapes=_pair_of_broadcastable_shapes(), seed=st.integers(0, 1000), data=st.data())
def test_cosine_matches_torch_with_broadcasting(shapes, seed, data):
    s1, s2 = shapes.input_shapes
    ndim = len(shapes.result_shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(s1), rng.standard_normal(s2)
    ours = E.cosine_similarity(x1, x2, dim=dim)
    theirs = to_numpy(F.cosine_similarity(to_torch(x1), to_torch(x2), dim=dim))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("eps", [1e-8, 1e-3, 1.0])
def test_cosine_eps_and_zero_vectors_match_torch(eps):
    x1 = np.array([[0.0, 0.0, 0.0], [1e-9, 0.0, 0.0], [3.0, 4.0, 0.0], [1e-4, 2e-4, 0.0]])
    x2 = np.array([[1.0, 2.0, 3.0], [1e-9, 0.0, 0.0], [0.0, 1e-10, 0.0], [0.0, 0.0, 0.0]])
    ours = E.cosine_similarity(x1, x2, eps=eps)
    theirs = to_numpy(F.cosine_similarity(to_torch(x1), to_torch(x2), eps=eps))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)
    assert ours[0] == 0.0  # a zero vector is similar to nothing, not NaN


def test_cosine_float32_stays_float32_and_matches_torch():
    rng = np.random.default_rng(3)
    x1, x2 = rng.standard_normal((5, 8)).astype(np.float32), rng.standard_normal((1, 8)).astype(np.float32)
    ours = E.cosine_similarity(x1, x2)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, F.cosine_similarity(torch.from_numpy(x1), torch.from_numpy(x2)).numpy(), rtol=1e-5)


def test_cosine_bad_shapes_name_the_rule():
    with pytest.raises(ValueError, match="do not broadcast"):
        E.cosine_similarity(np.ones((3, 4)), np.ones((2, 4)))


# ------------------------------------------------------------------ nearest / analogy
def _toy_kv():
    # hand-made 2-D vectors: king = man + crown, queen = woman + crown
    words = ["man", "woman", "king", "queen", "apple", "zero"]
    vecs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.9], [0.1, 1.0], [-1.0, -0.2], [0.0, 0.0]])
    return E.KeyedVectors(words, vecs)


def test_nearest_by_cosine_and_euclidean_by_hand():
    kv = _toy_kv()
    near = kv.nearest("man", k=2)
    assert [w for w, _ in near] == ["king", "queen"]           # angles 42 deg then 84 deg
    assert math.isclose(near[0][1], 1.0 / math.hypot(1.0, 0.9))
    assert "man" not in [w for w, _ in kv.nearest("man", k=5)]
    eu = kv.nearest("man", k=1, metric="euclidean")
    assert eu[0][0] == "king" and math.isclose(eu[0][1], 0.9)
    assert kv.nearest(np.array([0.0, 1.0]), k=1)[0][0] == "woman"  # a vector query excludes nothing
    assert len(kv.nearest("man", k=100)) == 5


def test_analogy_3cosadd_excludes_inputs():
    kv = _toy_kv()
    # king - man + woman on unit vectors -> queen
    assert kv.analogy("king", "man", "woman")[0][0] == "queen"
    words = [w for w, _ in kv.analogy("king", "man", "woman", k=5)]
    assert not {"king", "man", "woman"} & set(words)


def test_unknown_word_is_named():
    with pytest.raises(KeyError, match="'prince' is not in the vocabulary"):
        _toy_kv().nearest("prince")


# ------------------------------------------------------------------ SGNS loss and gradient
def _batch(rng, B=5, K=3, D=4):
    return rng.standard_normal((B, D)), rng.standard_normal((B, D)), rng.standard_normal((B, K, D))


def test_sgns_loss_by_hand():
    v = np.array([[1.0, 0.0]]); u = np.array([[2.0, 0.0]]); n = np.array([[[0.0, 1.0], [-1.0, 0.0]]])
    loss, gv, gu, gn = E.sgns_loss_and_grad(v, u, n)
    s = lambda x: 1 / (1 + math.exp(-x))
    assert math.isclose(loss, -math.log(s(2)) - math.log(s(0)) - math.log(s(1)))
    np.testing.assert_allclose(gu, [[s(2) - 1, 0]])
    np.testing.assert_allclose(gn, [[[0.5, 0.0], [s(-1), 0.0]]])
    np.testing.assert_allclose(gv, [[(s(2) - 1) * 2 + s(-1) * -1, 0.5]])


def test_sgns_gradient_vs_finite_differences():
    rng = np.random.default_rng(0)
    arrays = list(_batch(rng))
    _, *grads = E.sgns_loss_and_grad(*arrays)
    eps = 1e-6
    for a, g in zip(arrays, grads):
        num = np.zeros_like(a)
        for i in range(a.size):
            old = a.flat[i]
            a.flat[i] = old + eps; plus = E.sgns_loss_and_grad(*arrays)[0]
            a.flat[i] = old - eps; minus = E.sgns_loss_and_grad(*arrays)[0]
            a.flat[i] = old
            num.flat[i] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


def test_sgns_matches_torch_autograd():
    rng = np.random.default_rng(1)
    arrays = _batch(rng, B=7, K=5, D=3)
    v, u, n = (to_torch(a, requires_grad=True) for a in arrays)
    pos = (u * v).sum(1)
    neg = torch.einsum("bkd,bd->bk", n, v)
    loss_t = -(F.logsigmoid(pos).sum() + F.logsigmoid(-neg).sum()) / v.shape[0]
    loss_t.backward()
    loss, gv, gu, gn = E.sgns_loss_and_grad(*arrays)
    assert math.isclose(loss, loss_t.item(), rel_tol=1e-12)
    for ours, t in [(gv, v), (gu, u), (gn, n)]:
        np.testing.assert_allclose(ours, to_numpy(t.grad), rtol=1e-10, atol=1e-14)


def test_sgns_loss_is_finite_for_huge_scores():
    v = np.array([[100.0]]); u = np.array([[-100.0]]); n = np.array([[[100.0]]])
    loss, *grads = E.sgns_loss_and_grad(v, u, n)
    assert math.isfinite(loss) and math.isclose(loss, 2e4, rel_tol=1e-9)
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_sgns_bad_shapes():
    with pytest.raises(ValueError, match=r"negatives \(B, K, D\)"):
        E.sgns_loss_and_grad(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3)))


# ------------------------------------------------------------------ sampling pieces
def test_keep_probabilities_word2vec_formula():
    counts = np.array([1000, 10, 1])
    p = E.keep_probabilities(counts, sample=1e-3)
    f = counts / counts.sum()
    expected = np.minimum((np.sqrt(f / 1e-3) + 1) * 1e-3 / f, 1)
    np.testing.assert_allclose(p, expected)
    assert p[0] < 0.2 and p[2] == 1.0
    assert np.all(E.keep_probabilities(counts, 0) == 1)


def test_noise_distribution_is_unigram_to_three_quarters():
    q = E.noise_distribution([16, 1])
    np.testing.assert_allclose(q, np.array([8, 1]) / 9)


def test_skipgram_pairs_full_window_by_hand():
    corpus = [np.array([0, 1, 2]), np.array([3, 4])]
    c, o = E.skipgram_pairs(corpus, window=2, reduced_window=False)
    pairs = sorted(zip(c.tolist(), o.tolist()))
    assert pairs == sorted([(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0), (3, 4), (4, 3)])  # none across sentences


def test_skipgram_pairs_reduced_window_favours_near_words():
    corpus = [np.arange(2000) % 50]
    rng = np.random.default_rng(0)
    c, o = E.skipgram_pairs(corpus, window=4, rng=rng)
    dist = np.abs(((o - c) + 25) % 50 - 25)
    share = np.bincount(dist, minlength=5)[1:5] / len(dist)
    # distance d is kept by centres with b >= d: probability (5 - d) / 4, so shares 4:3:2:1
    np.testing.assert_allclose(share, np.array([4, 3, 2, 1]) / 10, atol=0.02)


# ------------------------------------------------------------------ PPMI
def test_cooccurrence_and_ppmi_by_hand():
    # "a b" twice and "a c" once, window 1: C[a,b]=2, C[a,c]=1 (and symmetric)
    corpus = [np.array([0, 1]), np.array([0, 1]), np.array([0, 2])]
    C = E.cooccurrence(corpus, 3, window=1).toarray()
    np.testing.assert_array_equal(C, [[0, 2, 1], [2, 0, 0], [1, 0, 0]])
    P = E.ppmi(C, alpha=1.0).toarray()
    total = 6.0
    pw = np.array([3, 2, 1]) / total
    # PMI(a, b) = log((2/6) / (3/6 * 2/6)) = log 2; PMI(a, c) = log((1/6)/(3/6 * 1/6)) = log 2
    assert math.isclose(P[0, 1], math.log(2)) and math.isclose(P[0, 2], math.log(2))
    assert math.isclose(P[1, 0], math.log((2 / total) / (pw[1] * pw[0])))
    assert P[1, 2] == 0 and P[0, 0] == 0           # zero counts stay 0 (not -inf)


def test_ppmi_clips_negative_pmi():
    # a word that co-occurs less than chance gets 0
    C = np.array([[0, 10, 1], [10, 0, 10], [1, 10, 0]], dtype=float)
    P = E.ppmi(C, alpha=1.0).toarray()
    pmi = math.log((1 / C.sum()) / ((11 / C.sum()) * (11 / C.sum())))
    assert pmi < 0 and P[0, 2] == 0


# ------------------------------------------------------------------ training separates two classes
def _two_class_corpus(seed=0, n=300, length=12):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 10, size=length) + 10 * (s % 2) for s in range(n)]


def _within_across(W):
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    S = U @ U.T
    within = np.concatenate([S[:10, :10][~np.eye(10, dtype=bool)], S[10:, 10:][~np.eye(10, dtype=bool)]])
    return within.mean(), S[:10, 10:].mean()


def test_sgns_training_separates_word_classes():
    res = E.train_sgns(_two_class_corpus(), 20, dim=16, window=3, epochs=4, batch_size=256,
                       sample=0, lr=0.05, progress=False, seed=1)
    within, across = _within_across(res.W_in)
    assert within > 0.8 and across < 0.4, (within, across)
    assert np.mean(res.losses[-10:]) < np.mean(res.losses[:10])
    assert len(res.pairs_per_epoch) == 4


def test_ppmi_svd_separates_word_classes():
    W = E.ppmi_svd(_two_class_corpus(), 20, dim=4, window=3)
    within, across = _within_across(W)
    assert within > 0.5 and across < 0.1, (within, across)


# ------------------------------------------------------------------ evaluation on hand-made files
def test_similarity_evaluation_on_a_tiny_file(tmp_path):
    path = tmp_path / "sim.tsv"
    path.write_text("# comment\n# Word 1\tWord 2\tHuman (mean)\nMan\tking\t9.0\nman\tqueen\t5.0\n"
                    "man\tapple\t1.0\nman\tprince\t7.0\n")
    pairs = E.read_similarity_pairs(path)
    assert pairs[0] == ("man", "king", 9.0) and len(pairs) == 4
    res = E.evaluate_similarity(_toy_kv(), pairs)
    # cosines of man with king > queen > apple: the same order as the humans -> rho = 1
    assert res["spearman"] == pytest.approx(1.0)
    assert res["in_vocab"] == 3 and res["oov_fraction"] == pytest.approx(0.25)


def test_analogy_evaluation_on_a_tiny_file(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(": royal\nman king woman queen\nwoman queen man king\nman king prince princess\n"
                    ": fruit\nman woman king apple\n")
    sections = E.read_analogies(path)
    assert list(sections) == ["royal", "fruit"] and len(sections["royal"]) == 3
    res = E.evaluate_analogies(_toy_kv(), sections)
    assert res["royal"] == {"correct": 2, "asked": 2, "total": 3, "accuracy": 1.0}
    assert res["fruit"]["correct"] == 0 and res["fruit"]["asked"] == 1
    assert res["overall"]["asked"] == 3 and res["overall"]["correct"] == 2
    # the restricted vocabulary (first 3 words) drops every question that needs queen or apple
    small = E.evaluate_analogies(_toy_kv(), sections, restrict_vocab=3)
    assert small["overall"]["asked"] == 0 and small["vocab"] == 3


def test_analogy_evaluation_agrees_with_keyed_vectors_analogy():
    rng = np.random.default_rng(0)
    kv = E.KeyedVectors([f"w{i}" for i in range(30)], rng.standard_normal((30, 5)))
    qs = [tuple(f"w{i}" for i in rng.choice(30, 4, replace=False)) for _ in range(40)]
    res = E.evaluate_analogies(kv, {"s": qs})
    expected = sum(kv.analogy(b, a, c)[0][0] == d for a, b, c, d in qs)
    assert res["s"]["correct"] == expected


def test_sgns_step_is_sgd_on_the_pure_gradient_with_repeats():
    """The trainer's fused step == W -= lr * B * sgns_loss_and_grad's gradients, scattered with
    np.add.at (ids repeat on purpose: a centre twice, a context that is also a negative)."""
    rng = np.random.default_rng(2)
    V, D, B, K = 6, 3, 5, 2
    W_in, W_out = rng.standard_normal((V, D)), rng.standard_normal((V, D))
    c = np.array([0, 0, 1, 2, 3]); o = np.array([4, 5, 4, 4, 0]); neg = np.array([[4, 1], [1, 1], [5, 0], [2, 2], [3, 4]])
    loss, gv, gu, gn = E.sgns_loss_and_grad(W_in[c], W_out[o], W_out[neg])
    exp_in, exp_out = W_in.copy(), W_out.copy()
    np.add.at(exp_in, c, -0.1 * B * gv)
    np.add.at(exp_out, o, -0.1 * B * gu)
    np.add.at(exp_out, neg.reshape(-1), -0.1 * B * gn.reshape(-1, D))
    got = E.sgns_step(W_in, W_out, c, o, neg, lr=0.1)
    assert math.isclose(got, loss, rel_tol=1e-12)
    np.testing.assert_allclose(W_in, exp_in, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(W_out, exp_out, rtol=1e-12, atol=1e-14)


def test_noise_table_follows_unigram_three_quarters():
    counts = np.array([81, 16, 1, 0])
    table = E._noise_table(counts, size=100_000)
    share = np.bincount(table, minlength=4) / len(table)
    np.testing.assert_allclose(share, E.noise_distribution(counts), atol=1e-4)


def test_build_corpus_by_hand():
    words, counts, corpus = E.build_corpus([["the", "cat", ",", "the"], ["a", "cat", "."], ["zz"]], min_count=2)
    assert words == ["cat", "the"] and counts.tolist() == [2, 2]        # tie: alphabetical
    assert [c.tolist() for c in corpus] == [[1, 0, 1], [0]]            # ',' and rare words dropped, empty sentence gone


def test_gensim_evaluation_files_parse():
    assert len(E.read_similarity_pairs(E.evaluation_file("wordsim353.tsv"))) == 353
    assert len(E.read_similarity_pairs(E.evaluation_file("simlex999.txt"))) == 999
    sections = E.read_analogies(E.evaluation_file("questions-words.txt"))
    assert len(sections) == 14 and sum(map(len, sections.values())) == 19544


def test_truncated_svd_matches_numpy_svd_on_a_low_rank_matrix():
    import scipy.sparse as sp
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 6)) @ np.diag([9.0, 7.0, 5.0, 3.0, 2.0, 1.0]) @ rng.standard_normal((6, 30))
    U, S, Vt = E.truncated_svd(sp.csr_matrix(A), 4)
    S_np = np.linalg.svd(A, compute_uv=False)[:4]
    np.testing.assert_allclose(S, S_np, rtol=1e-8)
    np.testing.assert_allclose(np.abs(np.sum(U * np.linalg.svd(A)[0][:, :4], axis=0)), 1.0, atol=1e-6)


# ------------------------------------------------------------------ pca (the explorer's picture)
def test_pca_by_hand_points_on_a_line():
    # four points on the line y = 2x in 3-D (z = 0): one direction carries all the variance
    X = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [3.0, 6.0, 0.0]])
    Z, comps, mean = E.pca(X, k=2)
    np.testing.assert_allclose(mean, [1.5, 3.0, 0.0])
    np.testing.assert_allclose(comps[0], np.array([1.0, 2.0, 0.0]) / math.sqrt(5), atol=1e-12)
    np.testing.assert_allclose(Z[:, 0], (np.arange(4) - 1.5) * math.sqrt(5), atol=1e-12)
    np.testing.assert_allclose(Z[:, 1], 0.0, atol=1e-12)


def test_pca_matches_scikit_learn_up_to_sign():
    from sklearn.decomposition import PCA

    X = np.random.default_rng(3).standard_normal((9, 7)) * np.arange(1, 8)
    Z, comps, _ = E.pca(X, k=3)
    ref = PCA(n_components=3, svd_solver="full").fit(X)
    signs = np.sign(np.sum(comps * ref.components_, axis=1))
    np.testing.assert_allclose(comps, ref.components_ * signs[:, None], atol=1e-10)
    np.testing.assert_allclose(Z, ref.transform(X) * signs, atol=1e-10)
    # the sign rule: each component's largest coordinate is positive
    assert np.all(comps[np.arange(3), np.argmax(np.abs(comps), axis=1)] > 0)


def test_pca_refuses_more_components_than_points():
    with pytest.raises(ValueError, match=r"k <= min\(N, D\).*\(1, 4\)"):
        E.pca(np.ones((1, 4)), k=2)
