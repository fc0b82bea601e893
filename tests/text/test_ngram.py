"""course.ngram: hand-checkable counts, NLTK's MLE/Laplace/Lidstone as oracles on the same padded
tokens, Kneser-Ney against a plain-dict reference of its definition and by its defining properties."""
import collections
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from nltk.lm import MLE, Laplace, Lidstone
from nltk.util import everygrams

from course import lm
from course.data import text
from course.ngram import NGramLM, ngram_counts
from course.tokenize import BOS, EOS, UNK, chars, words

TOY = [s.split() for s in text.toy_corpus()]   # the cat sat / the cat ran / the dog sat


@pytest.fixture(scope="module")
def wiki():
    train = [words(s) for s in text.sentences("train")[:2500]]
    valid = [words(s) for s in text.sentences("valid")[:400]]
    return train, valid


def pad(sentence, n):
    return [BOS] * (n - 1) + list(sentence) + [EOS]


# ------------------------------------------------------------------ by hand
def test_toy_counts_and_mle_by_hand():
    bi = NGramLM(2).fit(TOY)
    assert bi.vocab.itos[:2] == [UNK, EOS] and len(bi.vocab) == 7       # <unk> </s> the cat sat dog ran
    assert bi.count(("the", "cat")) == 2 and bi.count(("the",)) == 3 and bi.count(("<s>", "the")) == 3
    assert bi.count(("cat", "the")) == 0 and bi.count(("sat", EOS)) == 2
    assert bi.context_count(("the",)) == 3 and bi.context_count((BOS,)) == 3 and bi.context_count(()) == 12
    assert bi.prob("cat", ("the",)) == pytest.approx(2 / 3)              # c(the, cat) / c(the)
    assert bi.prob("sat", ("cat",)) == pytest.approx(1 / 2)
    assert bi.prob("the", ()) == pytest.approx(1.0)                      # after <s>: always "the"
    assert bi.prob(EOS, ("ran",)) == 1.0 and bi.prob("dog", ("cat",)) == 0.0
    tri = NGramLM(3).fit(TOY)
    assert tri.count((BOS, BOS, "the")) == 3
    assert tri.prob("sat", ("the", "dog")) == 1.0 and tri.prob("cat", (BOS, "the")) == pytest.approx(2 / 3)
    uni = NGramLM(1).fit(TOY)                                            # 9 words + 3 </s> = 12 tokens
    assert uni.prob("the") == pytest.approx(3 / 12) and uni.prob(EOS) == pytest.approx(3 / 12)
    assert uni.prob(UNK) == 0.0 and uni.n_train_tokens == 12


def test_toy_perplexity_by_hand_is_exp_of_the_mean():
    bi = NGramLM(2).fit(TOY)
    # P(the|<s>) P(cat|the) P(sat|cat) P(</s>|sat) = 1 * 2/3 * 1/2 * 1 = 1/3 over 4 predictions
    assert bi.perplexity([["the", "cat", "sat"]]) == pytest.approx(3 ** (1 / 4))
    assert bi.nll([["the", "cat", "sat"]]) == (pytest.approx(math.log(3)), 4)
    assert bi.perplexity([["the", "dog", "ran"]]) == math.inf             # c(dog, ran) = 0
    assert bi.perplexity([["the", "zebra"]]) == math.inf                  # <unk> has count 0


def test_toy_add_k_by_hand():
    add1 = NGramLM(2, "add_k", k=1).fit(TOY)                              # V = 7
    assert add1.prob("cat", ("the",)) == pytest.approx(3 / 10)            # (2 + 1) / (3 + 7)
    assert add1.prob("dog", ("cat",)) == pytest.approx(1 / 9)             # (0 + 1) / (2 + 7)
    assert add1.prob("the", ("zebra",)) == pytest.approx(1 / 7)           # unseen context: uniform
    half = NGramLM(2, "add_k", k=0.5).fit(TOY)
    assert half.prob("cat", ("the",)) == pytest.approx(2.5 / 6.5)
    assert NGramLM(2).fit(TOY).prob("the", ("zebra",)) == pytest.approx(1 / 7)   # MLE 0/0 -> uniform


def test_padding_is_the_textbook_convention():
    m = NGramLM(3).fit([["a"]])
    assert m.count((BOS, BOS, "a")) == 1 and m.count((BOS, "a", EOS)) == 1 and m.n_train_tokens == 2
    assert NGramLM(1).fit([["a", "b"]]).n_train_tokens == 3             # unigram: no <s>, one </s>


def test_vectorized_counts_equal_a_counter_loop():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 11, size=997)
    for n in (1, 2, 3, 5):
        grams, counts = ngram_counts(ids, n)
        ref = collections.Counter(tuple(ids[i:i + n]) for i in range(ids.size - n + 1))
        assert dict(zip(map(tuple, grams.tolist()), counts.tolist())) == ref


# ------------------------------------------------------------ NLTK as oracle
def nltk_model(cls, n, train, *args):
    model = cls(*args, n)
    padded = [pad(s, n) for s in train]
    model.fit([list(everygrams(s, max_len=n)) for s in padded],
              vocabulary_text=[t for s in train for t in s] + [EOS])
    return model


def queries(model, sentences, n):
    """(word, context) pairs of held-out text, plus every vocabulary word after a few contexts."""
    out = []
    for s in sentences:
        p = pad([t if t in model.vocab else UNK for t in s], n)
        out += [(p[i], tuple(p[i - n + 1:i])) for i in range(n - 1, len(p))]
    return out


@pytest.mark.parametrize("n", [1, 2, 3])
def test_mle_and_laplace_and_lidstone_equal_nltk(wiki, n):
    train, valid = wiki
    train = train[:600]
    for ours, theirs in [(NGramLM(n, "add_k", k=1.0), nltk_model(Laplace, n, train)),
                         (NGramLM(n, "add_k", k=0.1), nltk_model(Lidstone, n, train, 0.1)),
                         (NGramLM(n, "mle"), nltk_model(MLE, n, train))]:
        ours.fit(train)
        assert len(theirs.vocab) == len(ours.vocab)           # their <UNK> is our <unk>
        qs = queries(ours, valid[:40] + train[:40], n)
        checked = 0
        for word, ctx in qs:
            if word == UNK or UNK in ctx:
                # NLTK's vocabulary here leaves "<s>" out (so that its len() is our V): it reads "<s>"
                # and "<unk>" alike as its "<UNK>", which is right for "<s>" only
                continue
            seen = n == 1 or theirs.counts[ctx].N() > 0
            if ours.smoothing == "mle" and not seen:
                continue                                       # NLTK says 0/0 = 0; we say uniform (stated)
            assert ours.prob(word, ctx) == pytest.approx(theirs.score(word, ctx), rel=1e-12, abs=1e-15), (word, ctx)
            checked += 1
        assert checked > 500


def test_vectorized_scoring_equals_prob_one_token_at_a_time(wiki):
    train, valid = wiki
    for smoothing in ("mle", "add_k", "kneser_ney"):
        model = NGramLM(3, smoothing, k=0.05).fit(train[:800])
        sents = valid[:25]
        probs = model.token_probs(sents)
        one_by_one = [model.prob(w, c) for w, c in queries(model, sents, 3)]
        np.testing.assert_allclose(probs, one_by_one, rtol=1e-12)
        if smoothing != "mle":
            assert model.perplexity(sents) == pytest.approx(math.exp(-np.mean(np.log(one_by_one))))


# --------------------------------------------------------------- Kneser-Ney
def kneser_ney_reference(train, n, d, vocab_size):
    """Interpolated Kneser-Ney straight from its definition, with dicts (slow, for small data)."""
    raw = collections.Counter()
    for s in train:
        p = pad(s, n)
        for m in range(1, n + 1):
            for i in range(n - 1, len(p)):
                raw[tuple(p[i - m + 1:i + 1])] += 1
    cont = collections.Counter()
    for g in raw:
        if 1 < len(g):
            cont[g[1:]] += 1                                    # a distinct left extension of g[1:]

    def used(g):
        return raw[g] if len(g) == n else cont[g]

    followers = collections.defaultdict(dict)                    # context -> {word: count used}
    for g in list(raw) + list(cont):
        if used(g) > 0:
            followers[g[:-1]][g[-1]] = used(g)

    def prob(w, h):
        if len(h) == 0:
            lower = 1.0 / vocab_size
        else:
            lower = prob(w, h[1:])
        f = followers.get(h, {})                                # counts of order len(h)+1 after h
        total = sum(f.values())
        if total == 0:
            return lower
        return (max(f.get(w, 0) - d, 0) + d * len(f) * lower) / total

    return prob


def test_kneser_ney_equals_its_definition_written_with_dicts():
    train = [words(s) for s in text.sentences("train")[:60]]
    held = [words(s) for s in text.sentences("valid")[:3]]
    for n in (1, 2, 3):
        model = NGramLM(n, "kneser_ney", discount=0.75).fit(train)
        ref = kneser_ney_reference(train, n, 0.75, len(model.vocab))
        for word, ctx in queries(model, held + train[:2], n)[:60]:
            assert model.prob(word, ctx) == pytest.approx(ref(word, ctx), rel=1e-12), (n, word, ctx)


@pytest.mark.parametrize("smoothing", ["mle", "add_k", "kneser_ney"])
def test_every_distribution_sums_to_one(wiki, smoothing):
    train, valid = wiki
    for n in (1, 2, 3, 4):
        model = NGramLM(n, smoothing, k=0.01).fit(train[:1500])
        contexts = [tuple(pad(s, n)[:n - 1]) for s in valid[:2]]
        contexts += [tuple(valid[0][:n - 1]), ("of", "the", "of")[:n - 1], ("zzzq", "qqqz", "x")[:n - 1],
                     (UNK,) * (n - 1), ("the",)]
        for ctx in contexts:
            p = model.distribution(ctx)
            assert p.shape == (len(model.vocab),) and (p >= 0).all()
            assert p.sum() == pytest.approx(1.0, abs=1e-12), (n, ctx)
        if smoothing == "kneser_ney":
            assert model.prob("zzzzq", ("of", "the", "of")[:n - 1]) > 0        # <unk> gets mass


def test_kneser_ney_with_discount_zero_is_mle_on_seen_contexts(wiki):
    train, valid = wiki
    kn0 = NGramLM(3, "kneser_ney", discount=0.0).fit(train)
    mle = NGramLM(3, "mle").fit(train)
    for ctx in [(BOS, BOS), (BOS, "the"), ("of", "the"), ("in", "the"), ("it", "is")]:
        assert mle.context_count(ctx) > 0
        np.testing.assert_allclose(kn0.distribution(ctx), mle.distribution(ctx), rtol=1e-12, atol=1e-15)
    # an unseen trigram context falls back to the bigram level: continuation counts N1+(. b w) / N1+(. b .)
    ctx = ("zzzq", "the")
    tri = [tuple(pad(s, 3)[i:i + 3]) for s in train for i in range(len(s) + 1)]
    types = set(tri)
    after = collections.Counter(g[2] for g in types if g[1] == "the")
    total = sum(after.values())
    for w in ["first", "same", "world", "of"]:
        assert kn0.prob(w, ctx) == pytest.approx(after[w] / total)


def test_kneser_ney_beats_add_k_and_mle_on_held_out_text(wiki):
    train, valid = wiki
    kn = NGramLM(3, "kneser_ney").fit(train).perplexity(valid)
    for k in (1.0, 0.1, 0.01, 0.001):
        assert kn < NGramLM(3, "add_k", k=k).fit(train).perplexity(valid)
    assert NGramLM(3, "mle").fit(train).perplexity(valid) == math.inf
    assert kn < NGramLM(1, "kneser_ney").fit(train).perplexity(valid)


def test_character_level_models_in_bits_per_char():
    train = [chars(s) for s in text.sentences("train")[:1500]]
    test = [chars(s) for s in text.sentences("test")[:300]]
    bpc = {}
    for n in (1, 3, 5):
        model = NGramLM(n, "kneser_ney").fit(train)
        assert len(model.vocab) <= 58 and model.distribution(tuple("th")).sum() == pytest.approx(1.0)
        bpc[n] = lm.bits_per_char(*model.nll(test))
    assert bpc[5] < bpc[3] < bpc[1] < math.log2(58)
    assert 3.5 < bpc[1] < 5.0


# ----------------------------------------------------------------- sampling
def test_sample_is_the_inverse_cdf_of_the_distribution():
    bi = NGramLM(2).fit(TOY)
    p = bi.distribution(("the",))                                       # cat 2/3, dog 1/3
    for seed in range(20):
        u = np.random.default_rng(seed).random(())
        assert bi.sample(("the",), np.random.default_rng(seed)) == bi.vocab.lookup(lm.sample_from(p, u=u))
    draws = collections.Counter(bi.sample(("the",), rng) for rng in [np.random.default_rng(0)] for _ in range(3000))
    assert set(draws) == {"cat", "dog"} and draws["cat"] / 3000 == pytest.approx(2 / 3, abs=0.03)


def test_temperature_zero_is_argmax_and_top_k_restricts_the_support(wiki):
    train, _ = wiki
    model = NGramLM(2, "kneser_ney").fit(train)
    p = model.distribution(("of",))
    assert model.sample(("of",), 0, temperature=0) == model.vocab.lookup(int(np.argmax(p))) == "the"
    top3 = {model.vocab.lookup(i) for i in np.argsort(-p)[:3]}
    rng = np.random.default_rng(0)
    assert {model.sample(("of",), rng, top_k=3) for _ in range(300)} == top3


def test_generate_stops_at_end_of_sentence_and_mle_copies_the_corpus(wiki):
    train, _ = wiki
    model = NGramLM(4, "mle").fit(train)
    for seed in range(5):
        sent = model.generate(seed, max_len=40)
        assert EOS not in sent and len(sent) <= 40
        assert sent == model.generate(seed, max_len=40)                  # seeded: reproducible
        p = pad(sent, 4)
        assert all(model.count(tuple(p[i:i + 4])) > 0 for i in range(len(p) - 4 + (len(sent) < 40)))
    start = model.generate(1, max_len=10, context=("the",))
    assert start[0] == "the"


@given(st.lists(st.lists(st.sampled_from("abcde"), min_size=0, max_size=8), min_size=1, max_size=12),
       st.integers(1, 4), st.sampled_from(["mle", "add_k", "kneser_ney"]))
@settings(max_examples=60, deadline=None)
def test_random_corpora_give_normalised_distributions(sentences, n, smoothing):
    model = NGramLM(n, smoothing, k=0.5, discount=0.5).fit(sentences)
    for ctx in [(), ("a",) * (n - 1), ("e", "x", "a")[: n - 1]]:
        assert model.distribution(ctx).sum() == pytest.approx(1.0, abs=1e-12)
    probs = model.token_probs(sentences)
    assert probs.shape == (sum(len(s) + 1 for s in sentences),) and (probs > 0).all()


def test_bad_arguments_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="n is the order"):
        NGramLM(0)
    with pytest.raises(ValueError, match="smoothing"):
        NGramLM(2, "laplace")
    with pytest.raises(ValueError, match="k > 0"):
        NGramLM(2, "add_k", k=0)
    with pytest.raises(ValueError, match="discount"):
        NGramLM(2, "kneser_ney", discount=1.5)
    with pytest.raises(ValueError, match="not fitted"):
        NGramLM(2).distribution(("a",))
    with pytest.raises(ValueError, match="token lists"):
        NGramLM(2).fit(["the cat sat"])
    with pytest.raises(ValueError, match="pad"):
        NGramLM(2).fit([["<s>", "a"]])
    with pytest.raises(ValueError, match="tuple"):
        NGramLM(2).fit(TOY).distribution("the")
