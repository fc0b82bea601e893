"""AttentionExplorer and AttentionHeadExplorer driven from Python."""
import numpy as np
import pytest

from course import attention as A
from course import nn
from course.widgets.attention import AttentionExplorer, AttentionHeadExplorer, qkv


def test_weights_are_softmax_of_scaled_scores():
    w = AttentionExplorer(sentence="the cat sat on the mat", d_k=8)
    q, k, _ = qkv(w.words, 8)
    expected = A.softmax(q @ k.T / np.sqrt(8), dim=-1)
    np.testing.assert_allclose(w.weights, expected, rtol=1e-12)
    np.testing.assert_allclose(w.scores, q @ k.T / np.sqrt(8), rtol=1e-12)
    np.testing.assert_allclose(w.weights.sum(axis=1), 1.0, rtol=1e-12)
    # the same weights as the reference attention, and the output is the query's row of it
    _, _, v = qkv(w.words, 8)
    out = A.scaled_dot_product_attention(q, k, v)
    w.query_index = 3
    np.testing.assert_allclose(w.output, out[3], rtol=1e-10)
    np.testing.assert_allclose(w.output, w.weights[3] @ v, rtol=1e-12)
    # hover data in the page is the weights matrix
    np.testing.assert_allclose(w._weights_view.hover_values(), w.weights, atol=1e-6)


def test_causal_zeroes_upper_triangle():
    w = AttentionExplorer(sentence="a b c d e", causal=True)
    assert np.all(np.triu(w.weights, 1) == 0)
    np.testing.assert_allclose(w.weights.sum(axis=1), 1.0)
    assert w.weights[0, 0] == 1.0
    assert np.all(np.isneginf(w.scores[np.triu_indices(5, 1)]))
    w.causal = False
    assert np.all(w.weights[np.triu_indices(5, 1)] > 0)


def test_unscaled_large_d_k_saturates():
    w = AttentionExplorer(d_k=256, scaled=True)
    scaled = w.entropy
    w.scaled = False
    assert w.entropy < scaled - 0.5, (w.entropy, scaled)
    q, k, _ = qkv(w.words, 256)
    np.testing.assert_allclose(w.weights, A.softmax(q @ k.T), rtol=1e-10)
    assert 0 <= w.entropy <= np.log(len(w.words))


def test_reproducible_and_errors_shown():
    a, b = AttentionExplorer(d_k=5), AttentionExplorer(d_k=5)
    np.testing.assert_array_equal(a.weights, b.weights)
    a.sentence = "   "
    assert a.error and "empty" in a.error
    a.sentence = "one two"
    assert a.error is None and a.weights.shape == (2, 2)
    with pytest.raises(ValueError):
        a.d_k = 0  # outside the slider: refused, as a student could not choose it
    status = a._status.value
    assert status.startswith("rendered #")


def test_head_view_matches_attention_maps():
    rng = np.random.default_rng(1)
    model = nn.TransformerLM(7, d_model=12, num_heads=3, num_layers=2, max_len=16, rng=rng)
    stoi = {c: i for i, c in enumerate("abcdefg")}
    h = AttentionHeadExplorer(model=model, text="abcabcg", stoi=stoi)
    ids = np.array([[stoi[c] for c in "abcabcg"]])
    maps = model.attention_maps(ids)
    for layer in range(2):
        for head in range(3):
            h.layer, h.head = layer, head
            assert h.error is None
            np.testing.assert_allclose(h.weights, maps[layer][0, head], rtol=1e-12)
    assert np.all(np.triu(h.weights, 1) == 0)
    np.testing.assert_allclose(h.weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(h._view.hover_values(), h.weights, atol=1e-6)
    h.text = ""
    assert h.error and "empty" in h.error
    h.text = "gab"
    assert h.error is None and h.weights.shape == (3, 3)
