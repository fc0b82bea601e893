"""course.lm: perplexity / bits per char and the weighted die (inverse CDF sampling)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import lm


def test_perplexity_is_exp_of_the_mean_nll_not_of_the_sum():
    p = np.array([0.5, 0.25, 0.125])                  # nll = ln 2 + ln 4 + ln 8 = 6 ln 2
    total, n = lm.nll_from_probs(p)
    assert n == 3 and total == pytest.approx(6 * math.log(2))
    assert lm.perplexity(total, n) == pytest.approx(4.0)          # geometric mean of 2, 4, 8
    assert lm.perplexity(total, n) != pytest.approx(math.exp(total))
    uniform = np.full(10, 1 / 7)                                   # a fair 7-sided die
    assert lm.perplexity(*lm.nll_from_probs(uniform)) == pytest.approx(7.0)
    assert lm.bits_per_char(*lm.nll_from_probs(np.full(5, 0.5))) == pytest.approx(1.0)
    assert lm.perplexity(*lm.nll_from_probs([0.5, 0.0])) == math.inf
    with pytest.raises(ValueError, match="positive count"):
        lm.perplexity(1.0, 0)


def test_nll_from_logits_matches_torch_with_ignore_index():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 7))
    targets = rng.integers(0, 7, size=(3, 5))
    targets[0, 3:] = -1
    total, n = lm.nll_from_logits(logits, targets, ignore_index=-1)
    ref = F.cross_entropy(torch.tensor(logits).reshape(-1, 7), torch.tensor(targets).reshape(-1),
                          ignore_index=-1, reduction="sum")
    assert n == 13 and total == pytest.approx(float(ref), rel=1e-12)
    assert lm.perplexity(total, n) == pytest.approx(math.exp(float(ref) / 13))


def test_sampling_is_the_inverse_cdf_of_the_given_uniform():
    p = np.array([0.1, 0.0, 0.6, 0.3])               # cdf 0.1, 0.1, 0.7, 1.0
    cases = {0.0: 0, 0.05: 0, 0.0999: 0, 0.1: 2, 0.5: 2, 0.6999: 2, 0.7: 3, 0.99999: 3}
    for u, face in cases.items():
        assert lm.sample_from(p, u=u) == face, u
    batch = lm.sample_from(np.tile(p, (len(cases), 1)), u=np.array(list(cases)))
    assert batch.dtype == np.int64 and batch.tolist() == list(cases.values())
    assert lm.sample_from(np.array([2.0, 6.0]), u=0.3) == 1    # unnormalised weights work too


def test_zero_probability_faces_never_come_up_and_frequencies_match():
    p = np.array([0.2, 0.0, 0.5, 0.3, 0.0])
    draws = lm.sample_from(np.tile(p, (20000, 1)), rng=0)
    freq = np.bincount(draws, minlength=5) / draws.size
    assert freq[1] == 0 and freq[4] == 0
    np.testing.assert_allclose(freq, p, atol=0.015)
    assert lm.sample_from(np.array([0.0, 1.0, 0.0]), u=0.999999999) == 1


def test_temperature_zero_is_argmax_and_temperature_reshapes():
    p = np.array([0.2, 0.5, 0.3])
    assert all(lm.sample_from(p, u=u, temperature=0) == 1 for u in (0.0, 0.5, 0.99))
    cold = lm.adjust_probs(p, temperature=0.01)
    assert cold[1] > 0.999
    hot = lm.adjust_probs(p, temperature=1e6)
    np.testing.assert_allclose(hot, 1 / 3, atol=1e-5)
    np.testing.assert_allclose(lm.adjust_probs(p, temperature=0.5), p ** 2 / (p ** 2).sum())
    logits = np.log(p) + 3.0
    np.testing.assert_allclose(lm.softmax(logits, 0.5), lm.adjust_probs(p, 0.5))
    assert lm.sample_logits(logits, u=0.1, temperature=0) == 1


def test_top_k_and_top_p_restrict_the_support():
    p = np.array([0.05, 0.4, 0.1, 0.3, 0.15])
    k2 = lm.adjust_probs(p, top_k=2)
    np.testing.assert_allclose(k2, [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0])
    draws = lm.sample_from(np.tile(p, (2000, 1)), rng=1, top_k=2)
    assert set(np.unique(draws)) == {1, 3}
    nucleus = lm.adjust_probs(p, top_p=0.75)          # 0.4 + 0.3 = 0.7 < 0.75 -> also 0.15
    assert (nucleus > 0).tolist() == [False, True, False, True, True]
    assert (lm.adjust_probs(p, top_p=0.01) > 0).sum() == 1
    np.testing.assert_allclose(lm.adjust_probs(p, top_k=5), p)


def test_bad_dice_are_refused_with_a_reason():
    with pytest.raises(ValueError, match=">= 0"):
        lm.sample_from(np.array([0.5, -0.1]), u=0.1)
    with pytest.raises(ValueError, match="positive"):
        lm.sample_from(np.zeros(3), u=0.1)
    with pytest.raises(ValueError, match="shape"):
        lm.sample_from(np.ones((2, 3)), u=0.1)
    with pytest.raises(ValueError, match="temperature"):
        lm.sample_from(np.ones(3), u=0.1, temperature=-1)
