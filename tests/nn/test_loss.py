"""CrossEntropyLoss on language-model logits (N, T, V) with ignore_index: value and gradient vs torch.

The perplexity helpers of course.lm (nll_from_logits) rely on this loss for Units 4 and 5.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from course import nn
from course.testing import to_numpy, to_torch


def torch_loss(logits, targets, ignore_index, grad_output=1.0):
    tl = to_torch(logits, requires_grad=True)
    V = logits.shape[-1]
    value = F.cross_entropy(tl.reshape(-1, V), to_torch(targets).reshape(-1), ignore_index=ignore_index)
    (grad_output * value).backward()
    return value.item(), to_numpy(tl.grad)


@settings(max_examples=60, deadline=None)
@given(N=st.integers(1, 4), T=st.integers(1, 7), V=st.integers(2, 9), which=st.sampled_from(["-100", "0", "V-1"]),
       drop=st.floats(0.0, 0.7), scale=st.sampled_from([1.0, 30.0]), seed=st.integers(0, 10_000))
def test_sequence_cross_entropy_matches_torch_with_ignore_index(N, T, V, which, drop, scale, seed):
    ignore_index = {"-100": -100, "0": 0, "V-1": V - 1}[which]   # the default, or a real id used as padding
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((N, T, V)) * scale
    targets = rng.integers(0, V, size=(N, T))
    targets[rng.random((N, T)) < drop] = ignore_index
    keep = targets != ignore_index
    if not keep.any():                                   # torch: nan; ours: 0 (stated in its docstring)
        loss = nn.CrossEntropyLoss(ignore_index=ignore_index)
        assert loss(logits, targets) == 0.0 and loss.last_count == 0
        assert not loss.backward().any()
        return
    loss = nn.CrossEntropyLoss(ignore_index=ignore_index)
    value = loss(logits, targets)
    grad = loss.backward(2.5)
    t_value, t_grad = torch_loss(logits, targets, ignore_index, grad_output=2.5)
    assert value == pytest.approx(t_value, rel=1e-10, abs=1e-12)
    assert loss.last_count == int(keep.sum())
    np.testing.assert_allclose(grad, t_grad, rtol=1e-9, atol=1e-12)
    assert not grad[~keep].any()                          # ignored tokens get no gradient


def test_sequence_cross_entropy_on_odd_sizes_by_hand_and_finite_differences():
    rng = np.random.default_rng(5)
    N, T, V = 3, 5, 7                                      # odd, all different: a transpose cannot hide
    logits = rng.standard_normal((N, T, V))
    targets = rng.integers(1, V, size=(N, T))
    targets[0, 3:] = 0                                     # padding id 0, as with vocab["<pad>"]
    targets[2, 1] = 0
    loss = nn.CrossEntropyLoss(ignore_index=0)
    value = loss(logits, targets)
    loss.backward()
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    picked = [-logp[i, t, targets[i, t]] for i in range(N) for t in range(T) if targets[i, t] != 0]
    assert value == pytest.approx(np.mean(picked)) and loss.last_count == len(picked) == 12
    report = nn.gradcheck(nn.CrossEntropyLoss(ignore_index=0), (logits, targets))
    assert report.passed(), f"\n{report}"


def test_sequence_cross_entropy_rejects_mismatched_targets():
    loss = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        loss(np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        loss(np.zeros((2, 3, 4)), np.full((2, 3), 4))
