"""NgramSamplerExplorer: driven from Python, its bars are the model's die, its rolls the inverse CDF."""
import numpy as np
import pytest

from course import lm
from course.data import text
from course.ngram import NGramLM
from course.tokenize import EOS, UNK
from course.widgets import NgramSamplerExplorer

TRAIN = [s.split() for s in ["the cat sat on the mat", "the dog sat on the log", "a cat ran", "the cat ran away"]]


@pytest.fixture
def w():
    return NgramSamplerExplorer(sentences=TRAIN, n=2, context="the", top_k=5)


def test_bars_are_the_models_die(w):
    ref = NGramLM(2, "kneser_ney").fit(TRAIN)
    p = lm.adjust_probs(ref.distribution(("the",)), 1.0, 5)
    np.testing.assert_allclose(w.die, p)
    assert [t for t, _ in w.faces] == [ref.vocab.lookup(i) for i in np.argsort(-p, kind="stable")[:5]]
    assert w.faces[0][0] == "cat" and sum(q for _, q in w.faces) == pytest.approx(1.0)
    assert w.renders == 1 and w.error is None
    assert w.pixels.shape == (336, 512, 3) and w.pixels.dtype == np.uint8
    assert "seen 5 times" in w._summary.value           # "the": 2 + 2 + 1


def test_controls_redraw_and_change_the_die(w):
    before = w.pixels.copy()
    w.temperature = 0.0
    assert len(w.faces) == 1 and w.faces[0] == ("cat", 1.0) and w.renders == 2
    assert not np.array_equal(before, w.pixels)
    w.temperature = 1.0
    w.smoothing = "mle"
    assert dict(w.faces) == pytest.approx({"cat": 2 / 5, "dog": 1 / 5, "mat": 1 / 5, "log": 1 / 5})
    w.n = 3
    w.context = "sat on"
    assert w.context_tokens() == ("sat", "on") and dict(w.faces) == pytest.approx({"the": 1.0})
    w.context = "zebra on"
    assert w.context_tokens() == (UNK, "on")
    w.n = 1
    assert w.context_tokens() == () and abs(sum(w.die) - 1) < 1e-12


def test_rolls_are_reproducible_inverse_cdf_draws(w):
    rolls = [w.roll() for _ in range(6)]
    rng = np.random.default_rng(0)
    model = NGramLM(2, "kneser_ney").fit(TRAIN)
    context, expected = ["the"], []
    for _ in range(6):
        token = model.vocab.lookup(lm.sample_from(model.distribution(tuple(context[-1:])), rng, 1.0, 5))
        expected.append(token)
        context = [] if token == EOS else context + [token]
    assert rolls == expected
    w.seed = 0                                          # a new seed restarts the stream
    w.context = "the"
    assert w.roll() == expected[0]
    assert w.generate() and w.sentence[0] == "the" and EOS not in w.sentence


def test_default_uses_the_course_corpus():
    w = NgramSamplerExplorer()
    assert len(w.model.vocab) > 10_000 and w.faces[0][1] > 0
    assert set(w.model.vocab.itos) <= set(text.word_vocab().itos)


def test_out_of_range_values_are_refused(w):
    with pytest.raises(ValueError, match="top-k|top_k"):
        w.top_k = 0
    with pytest.raises(ValueError):
        w.smoothing = "laplace"
