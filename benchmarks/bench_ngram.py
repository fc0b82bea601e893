"""n-gram language models: ``course.ngram.NGramLM`` against NLTK's ``nltk.lm`` and a plain Counter loop.

Two kinds of entries (``numpy_s`` = ours, ``torch_s`` = the baseline, ratio = ours / baseline):

- ``ngram kneser_ney n=3|5 fit+score vs nltk``: fit interpolated Kneser-Ney
  (discount 0.75, our padding: n-1 ``<s>``, one ``</s>``) on the first
  ``NLTK_SENTENCES`` (1000) training sentences and score the first ``NLTK_TOKENS`` (200)
  predicted tokens of the test split, the same subset on both sides. NLTK is
  that slow (seconds to fit, tens of ms per scored token), so it runs once;
  ours is the median of 5. Target: ours <= 1/100 of NLTK's time.
- ``ngram counts n=3|5 full train vs Counter``: all the counting of a fit on the
  whole training split (every order 1..n), ours (``NGramLM.fit``: dense ids,
  ``np.unique``, ``bincount``, plus the Kneser-Ney tables) against
  ``collections.Counter`` over tuples of the padded sentences. Extra fields give
  our fit and the scoring time and perplexity of the whole test split.
"""
from __future__ import annotations

import collections
import statistics
import time

NLTK_SENTENCES = 1000
NLTK_TOKENS = 200


def _median_time(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _threads():
    from _timing import threads

    return threads()


def _data():
    from course.data import text
    from course.tokenize import words

    train = [words(s) for s in text.sentences("train")]
    test = [words(s) for s in text.sentences("test")]
    return train, test


def _first_tokens(sentences, n, count):
    """(word, context) of the first ``count`` predictions of the padded ``sentences``."""
    from course.tokenize import BOS, EOS

    out = []
    for s in sentences:
        p = [BOS] * (n - 1) + s + [EOS]
        out += [(p[i], tuple(p[i - n + 1:i])) for i in range(n - 1, len(p))]
        if len(out) >= count:
            return out[:count]
    return out


def _vs_nltk(n, train, test):
    import math

    from nltk.lm import KneserNeyInterpolated
    from nltk.util import everygrams

    from course.ngram import NGramLM
    from course.tokenize import BOS, EOS

    sub = train[:NLTK_SENTENCES]
    queries = _first_tokens(test, n, NLTK_TOKENS)
    # the scored sentences, cut to the same NLTK_TOKENS predictions for our vectorized scorer
    scored, total = [], 0                                  # the test sentences holding those predictions
    for s in test:
        scored.append(s)
        total += len(s) + 1
        if total >= NLTK_TOKENS:
            break

    def ours():
        model = NGramLM(n, "kneser_ney", discount=0.75).fit(sub)
        return model.token_probs(scored)[:NLTK_TOKENS].tolist()

    ours_s, ours_p = _median_time(ours)

    def theirs():
        model = KneserNeyInterpolated(n, discount=0.75)
        pad = lambda s: [BOS] * (n - 1) + s + [EOS]
        model.fit([list(everygrams(pad(s), max_len=n)) for s in sub],
                  vocabulary_text=[BOS] + [t for s in sub for t in s] + [EOS])
        return [model.score(w, c) for w, c in queries]

    t0 = time.perf_counter()
    nltk_p = theirs()
    nltk_s = time.perf_counter() - t0
    assert len(nltk_p) == len(ours_p) == NLTK_TOKENS
    # NLTK gives an unknown word probability 0 (ours: a share of the discounted mass), so the
    # perplexities are compared on the predictions NLTK gives a positive probability
    both = [(a, b) for a, b in zip(ours_p, nltk_p) if b > 0]
    ppl = lambda ps: math.exp(-sum(math.log(p) for p in ps) / len(ps))
    return {
        "name": f"ngram kneser_ney n={n} fit+score vs nltk",
        "shape": f"fit {len(sub)} sentences ({sum(map(len, sub))} words), score {len(queries)} test tokens",
        "numpy_s": ours_s, "torch_s": nltk_s, "ratio": ours_s / nltk_s, "target": 0.01,
        "threads": _threads(), "repeats": 5, "baseline": "nltk.lm.KneserNeyInterpolated (run once)",
        "ppl_tokens": len(both), "ours_ppl": ppl([a for a, _ in both]), "nltk_ppl": ppl([b for _, b in both]),
        "note": "same subset both sides; NLTK's time grows ~50 ms per scored token, ours barely",
    }


def _vs_counter(n, train, test):
    from course.ngram import NGramLM
    from course.tokenize import BOS, EOS

    def ours():
        return NGramLM(n, "kneser_ney").fit(train)

    def counter():
        counts = collections.Counter()
        for s in train:
            p = [BOS] * (n - 1) + s + [EOS]
            for m in range(1, n + 1):
                for i in range(n - 1, len(p)):
                    counts[tuple(p[i - m + 1:i + 1])] += 1
        return counts

    ours_s, model = _median_time(ours, repeat=3)
    counter_s, _ = _median_time(counter, repeat=3)
    t0 = time.perf_counter()
    ppl = model.perplexity(test)
    score_s = time.perf_counter() - t0
    return {
        "name": f"ngram counts n={n} full train vs Counter",
        "shape": f"{model.n_train_tokens} train tokens, V={len(model.vocab)}",
        "numpy_s": ours_s, "torch_s": counter_s, "ratio": ours_s / counter_s, "target": 1.0,
        "threads": _threads(), "repeats": 3, "baseline": "collections.Counter over tuples, orders 1..n",
        "score_test_s": score_s, "test_tokens": sum(len(s) + 1 for s in test), "test_ppl": ppl,
    }


def cases() -> list[dict]:
    train, test = _data()
    out = []
    for n in (3, 5):
        out.append(_vs_nltk(n, train, test))
    for n in (3, 5):
        out.append(_vs_counter(n, train, test))
    return out


if __name__ == "__main__":
    import pathlib
    import sys

    here = pathlib.Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent)]
    for row in cases():
        print(row)
