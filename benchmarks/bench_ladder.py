"""The perplexity ladder, the longer run: every language model of the course on the same text.

Character level (``course.ladder.char_ladder``): trained on the whole training split of
``course.data.text`` (2.0 M characters), scored on the first 50,000 characters of the test
split, in bits per character. Count models (unigram, bigram and trigram add-k with k = 0.01,
Kneser-Ney 3 and 5) are deterministic; the neural ones (vanilla RNN, LSTM, Transformer) train
for ``NEURAL_SECONDS`` each, one BLAS thread, from seeds 0 and 1, and their entry holds the mean
and the two values, so a difference smaller than the seed-to-seed spread is not read as real.

Word level (``course.ladder.word_ladder``): the count models on the training sentences, scored
on the test sentences, perplexity per token; vocabulary = words seen at least twice, the rest
``<unk>`` in training and test alike (the ``<unk>`` share of the test tokens is recorded).
Neural word-level models: not measured yet.

One entry per model and level, named ``ladder char <model>`` (``bits_per_char``) and ``ladder word
<model>`` (``perplexity``), with ``train_seconds`` and ``model``.
Run alone: ``python benchmarks/bench_ladder.py`` (about 8 minutes on 2 quiet cores).
"""
from __future__ import annotations

import numpy as np

from course import ladder
from course.data import text

NEURAL_SECONDS, SEEDS, TEST_CHARS = 60.0, (0, 1), 50_000


def rows() -> list[dict]:
    train, test = text.characters("train"), text.characters("test")[:TEST_CHARS]
    out = ladder.char_ladder(train, test, neural_seconds=NEURAL_SECONDS, seed=SEEDS[0])
    for seed in SEEDS[1:]:
        out += ladder.char_ladder(train, test, neural_seconds=NEURAL_SECONDS, seed=seed,
                                  models=ladder.NEURAL_MODELS)
    return out


def cases() -> list[dict]:
    all_rows = rows()
    entries = []
    for model, (mean, lo, hi, n) in ladder.spread(all_rows).items():
        mine = [r for r in all_rows if r["model"] == model]
        entries.append({
            "name": f"ladder char {model}", "model": model, "level": "char",
            "shape": f"train 2.0M chars, test {TEST_CHARS} chars",
            "bits_per_char": mean, "bits_per_char_per_seed": [r["bits_per_char"] for r in mine],
            "seed_spread": hi - lo, "seeds": [r["seed"] for r in mine],
            "train_seconds": float(np.mean([r["train_seconds"] for r in mine])),
            "budget": mine[0]["budget"], "steps": [r.get("steps") for r in mine] if mine[0].get("steps") else None,
        })
    return entries + word_cases()


def word_cases() -> list[dict]:
    return [{"name": f"ladder word {r['model']}", "shape": "train/test sentences, words seen >= 2 times", **r}
            for r in ladder.word_ladder(text.sentences("train"), text.sentences("test"))]


if __name__ == "__main__":
    r = rows()
    print(ladder.table(r))
    print({m: s for m, s in ladder.spread(r).items()})
