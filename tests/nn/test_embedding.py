"""course.nn.Embedding: hand cases, finite differences, torch.nn.Embedding, repeated ids."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from course import nn
from course.testing import compare_module


def test_forward_picks_rows_by_hand():
    emb = nn.Embedding(4, 3)
    emb.weight.data[...] = np.arange(12.0).reshape(4, 3)
    out = emb(np.array([[2, 0], [3, 3]]))
    assert out.shape == (2, 2, 3)
    assert out[0, 0].tolist() == [6.0, 7.0, 8.0]
    assert out[0, 1].tolist() == [0.0, 1.0, 2.0]
    assert out[1, 1].tolist() == [9.0, 10.0, 11.0]


def test_backward_by_hand_repeated_id_gets_the_sum():
    emb = nn.Embedding(3, 2)
    emb(np.array([1, 1, 2]))
    assert emb.backward(np.array([[1.0, 2.0], [10.0, 20.0], [5.0, 5.0]])) is None
    np.testing.assert_array_equal(emb.weight.grad, [[0, 0], [11, 22], [5, 5]])


def test_scalar_id_and_grads_accumulate_across_calls():
    emb = nn.Embedding(3, 2)
    assert emb(np.int64(2)).shape == (2,)
    emb.backward(np.ones(2))
    emb(np.array([2]))
    emb.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(emb.weight.grad[2], [2.0, 2.0])


def test_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(5, 3, padding_idx=1, rng=0)
    assert np.all(emb.weight.data[1] == 0)
    emb(np.array([1, 1, 0]))
    emb.backward(np.ones((3, 3)))
    assert np.all(emb.weight.grad[1] == 0)
    assert np.all(emb.weight.grad[0] == 1)
    assert nn.Embedding(5, 3, padding_idx=-1).padding_idx == 4


def test_init_is_standard_normal():
    w = nn.Embedding(400, 50, rng=0).weight.data
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


def test_gradcheck_odd_sizes():
    emb = nn.Embedding(7, 5, rng=1)
    ids = np.array([[0, 3, 3], [6, 3, 0]])
    report = nn.gradcheck(emb, ids)
    assert set(report) == {"weight"} and report.passed(), report


def test_gradcheck_with_padding_elsewhere():
    # the padding row is frozen by design (its finite difference is not zero, its gradient
    # is), so check the other rows: ids that avoid padding_idx
    emb = nn.Embedding(7, 5, padding_idx=3, rng=1)
    report = nn.gradcheck(emb, np.array([0, 2, 1, 6, 1]))
    assert report.passed(), report


@pytest.mark.parametrize("padding_idx", [None, 0, 2, -1])
def test_matches_torch_with_repeats_and_padding(padding_idx):
    ours = nn.Embedding(9, 5, padding_idx=padding_idx, rng=2)
    theirs = torch.nn.Embedding(9, 5, padding_idx=padding_idx)
    ids = np.array([[0, 2, 2, 8], [8, 2, 0, 5], [1, 1, 1, 1]])
    compare_module(ours, theirs, ids)


def test_bad_input_names_the_rule():
    emb = nn.Embedding(4, 2)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        emb(np.array([0, 4]))
    with pytest.raises(ValueError, match="integer ids"):
        emb(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)


@settings(max_examples=40, deadline=None)
@given(ids=st.lists(st.integers(0, 5), min_size=1, max_size=30), dim=st.integers(1, 4))
def test_property_repeated_ids_accumulate(ids, dim):
    """The shipped bug: weight.grad[ids] += g keeps one occurrence per repeated id.
    The gradient of row v must equal the sum of the upstream rows at v's occurrences."""
    ids = np.array(ids)
    emb = nn.Embedding(6, dim)
    emb(ids)
    g = np.random.default_rng(len(ids)).standard_normal((len(ids), dim))
    emb.backward(g)
    for v in range(6):
        np.testing.assert_allclose(emb.weight.grad[v], g[ids == v].sum(axis=0), atol=1e-12)
    # and the whole table's gradient sums to the sum of all upstream gradients
    np.testing.assert_allclose(emb.weight.grad.sum(axis=0), g.sum(axis=0), atol=1e-10)
