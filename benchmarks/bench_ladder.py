"""The perplexity ladder, the longer run: every language model of the course on the same text, both levels.

Character level (``course.ladder.char_ladder``): trained on the whole training split of
``course.data.text`` (2.0 M characters), scored on the first 50,000 characters of the test split,
in bits per character. Word level (``course.ladder.word_ladder``): the training sentences (367k
words), scored on every test sentence (44.7k words + one ``</s>`` each), perplexity per token;
vocabulary: the training words seen at least ``WORD_MIN_FREQ`` = 5 times (6,943) + ``<unk>`` +
``</s>``, every other word ``<unk>`` in training and test alike (15.8 % of the test tokens). Why 5
and not Unit 3's 2 (14.7k words): the neural models' softmax over the vocabulary is most of their
step on a CPU (a word LSTM step takes 0.22 s at 14.7k words, 0.10 s at 6.9k), so the smaller
vocabulary buys them twice the steps; every rung of the word ladder uses the same one.

The count models (unigram, bigram and trigram add-k with k = 0.01, Kneser-Ney 3 and 5) are
deterministic. The neural ones (vanilla RNN, LSTM, Transformer; settings in
``course.ladder.CHAR_NEURAL`` / ``WORD_NEURAL``) train once per seed for the largest budget and are
scored as each budget passes: budgets ``LADDER_SECONDS`` (env, CPU seconds of one core, default
``60,180``), seeds ``LADDER_SEEDS`` (default ``0,1``). Each entry holds the mean over the seeds and
every seed's value, so a difference smaller than the seed-to-seed range is not read as real; the
entries ``ladder char findings`` / ``ladder word findings`` say in words which differences are real
and where the neural models overtake the counts.

``LADDER_JOBS`` (default 2): (level, seed) runs side by side in that many processes. The budgets
count each process's own CPU seconds, so running two at once on 2 cores changes the steps a budget
buys little (memory bandwidth is shared) while halving the wall time: with the defaults, 36 CPU-minutes of
training plus scoring took 28 minutes of wall time on the shared 2-core machine (load 1.5-3).

Entries: ``ladder char <model>`` for the count models, ``ladder char <model> @ <budget> s`` for the
neural ones (``bits_per_char``), the same with ``word`` (``perplexity``), each with ``model``,
``train_seconds`` (CPU) and ``wall_seconds``.
Run alone: ``python benchmarks/bench_ladder.py`` (prints the tables; ``run.py -k ladder`` records them).
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from course import ladder
from course.data import text


def _floats(name, default):
    return tuple(float(x) for x in os.environ.get(name, default).split(",") if x.strip())


SECONDS = _floats("LADDER_SECONDS", "60,180")
SEEDS = tuple(int(x) for x in _floats("LADDER_SEEDS", "0,1"))
JOBS = int(os.environ.get("LADDER_JOBS", "2"))
TEST_CHARS, WORD_MIN_FREQ = 50_000, 5


def _tasks() -> list[tuple]:
    """(function, kwargs) per (level, seed): the count models with the first seed only."""
    char = dict(train_text=text.characters("train"), test_text=text.characters("test")[:TEST_CHARS])
    word = dict(train_sentences=text.sentences("train"), test_sentences=text.sentences("test"),
                min_freq=WORD_MIN_FREQ)
    tasks = []
    for fn, data in ((ladder.char_ladder, char), (ladder.word_ladder, word)):
        for i, seed in enumerate(SEEDS):
            models = (tuple(ladder.COUNT_MODELS) if i == 0 else ()) + ladder.NEURAL_MODELS
            tasks.append((fn, dict(data, neural_seconds=SECONDS, seed=seed, models=models)))
    return tasks


def rows() -> list[dict]:
    """Every row of both ladders: the count models once, the neural ones per seed and budget."""
    tasks = _tasks()
    if JOBS <= 1:
        return [r for fn, kw in tasks for r in fn(**kw)]
    with ProcessPoolExecutor(max_workers=JOBS) as pool:       # course.ladder's functions: picklable by name
        futures = [pool.submit(fn, **kw) for fn, kw in tasks]
        return [r for f in futures for r in f.result()]


def _shape(level, r):
    if level == "char":
        return f"train 2.0M chars, test {TEST_CHARS} chars"
    return f"train/test sentences, vocabulary {r['vocab_size']} (words seen >= {r['min_freq']} times + <unk> </s>)"


def entries(all_rows: list[dict]) -> list[dict]:
    """One entry per rung (model, and budget for the neural ones) and level, plus one findings entry per level."""
    out = []
    for level, key in (("char", "bits_per_char"), ("word", "perplexity")):
        mine = [r for r in all_rows if r["level"] == level]
        for name, (mean, lo, hi, n) in ladder.spread(mine).items():
            group = [r for r in mine if ladder.label(r) == name]
            r0 = group[0]
            entry = {"name": f"ladder {level} {name}", "model": r0["model"], "level": level,
                     "shape": _shape(level, r0), key: mean, f"{key}_per_seed": [ladder.score(r) for r in group],
                     "seed_spread": hi - lo, "seeds": [r["seed"] for r in group],
                     "train_seconds": float(np.mean([r["train_seconds"] for r in group])),
                     "wall_seconds": float(np.mean([r.get("wall_seconds", r["train_seconds"]) for r in group])),
                     "budget": r0["budget"]}
            if r0.get("budget_seconds") is not None:
                entry.update(budget_seconds=r0["budget_seconds"], steps=[r["steps"] for r in group],
                             tokens_seen=[r["tokens_seen"] for r in group], parameters=r0["parameters"],
                             settings=(ladder.CHAR_NEURAL if level == "char" else ladder.WORD_NEURAL)[r0["model"]])
            if level == "word":
                entry.update(vocab_size=r0["vocab_size"], min_freq=r0["min_freq"], max_size=r0["max_size"],
                             unk_rate=r0["unk_rate"])
            out.append(entry)
        out.append({"name": f"ladder {level} findings", "level": level, "shape": f"budgets {list(SECONDS)} CPU s, "
                    f"seeds {list(SEEDS)}", "findings": ladder.findings(mine), "table": ladder.table(mine)})
    return out


def cases() -> list[dict]:
    all_rows = rows()
    print(ladder.table(all_rows), file=sys.stderr, flush=True)
    return entries(all_rows)


if __name__ == "__main__":
    print(ladder.table(rows()))
