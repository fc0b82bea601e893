"""The perplexity ladder: every language model of the course on the same text, at the character level.

``char_ladder(train_text, test_text, neural_seconds, seed, models)`` fits or trains each model
on ``train_text`` and scores it on ``test_text`` in **bits per character**; each row is
``{"model", "level": "char", "bits_per_char", "train_seconds", "seed", "budget"}``.
Both texts are normalised characters (``course.data.text.characters(split)``); the same
alphabet (``course.tokenize.CHAR_ALPHABET``, 56 symbols) for every model.

The rungs:

- count models (``course.ngram.NGramLM``, Unit 3): each line of the text is one "sentence" of
  characters, so ``"</s>"`` plays the newline and every character (newlines included) is
  predicted once: ``unigram`` and ``bigram`` add-k with k = 0.01, ``trigram add-k`` (k = 0.01),
  ``KN 3`` and ``KN 5`` (interpolated Kneser-Ney, discount 0.75). Deterministic: no seed spread.
- ``RNN`` and ``LSTM`` (``course.rnnlm.RNNLM``, Unit 4: embedding 32, hidden 128, Adam lr 3e-3,
  truncated BPTT on windows of 64, batch 32), scored with the state carried along the test text;
- ``Transformer`` (``course.nn.TransformerLM``: 2 blocks, d_model 64, 4 heads, context 64, AdamW
  lr 3e-3 with warm-up + cosine, clipping 1.0, batch 32 random windows), scored on consecutive
  windows of 64 (the first characters of each window have little context).

The neural models train for ``neural_seconds`` each (wall clock, one BLAS thread) from
``seed``: on a CPU a number means little without its budget, so every row carries it.
Run several seeds to see the spread (``spread(rows)``).

``word_ladder(train_sentences, test_sentences, min_freq=2)``: the count models at the word level
(``course.tokenize.words``, lower-cased), perplexity per predicted token (words and one ``</s>``
per sentence). Vocabulary and ``<unk>`` rule: every training word seen at least ``min_freq``
times; every other word, in training and test text alike, is replaced by ``<unk>`` before
fitting, so ``<unk>`` is an ordinary (frequent) token; the share of test tokens that became
``<unk>`` is reported with each row (``unk_rate``). Neural word-level models: not measured yet.
"""
from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["COUNT_MODELS", "NEURAL_MODELS", "char_ladder", "word_ladder", "spread", "table"]

COUNT_MODELS = {"unigram": (1, "add_k"), "bigram": (2, "add_k"), "trigram add-k": (3, "add_k"),
                "KN 3": (3, "kneser_ney"), "KN 5": (5, "kneser_ney")}
NEURAL_MODELS = ("RNN", "LSTM", "Transformer")
ADD_K, DISCOUNT = 0.01, 0.75


def _lines(text: str) -> list[list[str]]:
    return [list(line) for line in text.split("\n")]


def _count_row(name, train_text, test_text):
    from course import lm
    from course.ngram import NGramLM

    n, smoothing = COUNT_MODELS[name]
    t0 = time.perf_counter()
    model = NGramLM(n, smoothing, k=ADD_K, discount=DISCOUNT).fit(_lines(train_text))
    seconds = time.perf_counter() - t0
    nll, count = model.nll(_lines(test_text))
    return {"model": name, "level": "char", "bits_per_char": lm.bits_per_char(nll, count),
            "train_seconds": seconds, "seed": None, "budget": "all training text, one pass of counting"}


def _neural_row(name, train_ids, test_ids, vocab_size, seconds, seed):
    from course import lm, nn, optim, rnnlm, transformer

    if name == "Transformer":
        model = nn.TransformerLM(vocab_size, d_model=64, num_heads=4, num_layers=2, max_len=64,
                                 activation="gelu_tanh", rng=seed).to(np.float32)
        opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
        hist = transformer.train_lm(model, train_ids, opt, batch_size=32, seq_len=64, max_steps=100_000,
                                    time_budget=seconds, warmup_steps=20, seed=seed, progress=False)
        steps = len(hist.step)
        nll, count = transformer.evaluate_nll(model, test_ids, seq_len=64)
    else:
        model = rnnlm.RNNLM(vocab_size, 32, 128, cell="lstm" if name == "LSTM" else "rnn", rng=seed).to(np.float32)
        opt = optim.Adam(model.parameters(), lr=3e-3)
        hist = rnnlm.train_tbptt(model, train_ids, opt, batch_size=32, seq_len=64, epochs=1000,
                                 time_budget=seconds, progress=False)
        steps = len(hist.step)
        nll, count = rnnlm.evaluate_nll(model, test_ids, batch_size=32, seq_len=64)
    return {"model": name, "level": "char", "bits_per_char": lm.bits_per_char(nll, count),
            "train_seconds": float(hist.time[-1]), "seed": seed, "steps": steps,
            "parameters": model.num_parameters(), "budget": f"{seconds:g} s of training"}


def char_ladder(train_text: str, test_text: str, neural_seconds: float = 10.0, seed: int = 0,
                models=tuple(COUNT_MODELS) + NEURAL_MODELS) -> list[dict]:
    """One row per model (see the module docstring), in the order of ``models``."""
    from course import tokenize

    unknown = [m for m in models if m not in COUNT_MODELS and m not in NEURAL_MODELS]
    if unknown:
        raise ValueError(f"unknown ladder model(s) {unknown}; choose from {list(COUNT_MODELS) + list(NEURAL_MODELS)}")
    vocab = tokenize.Vocab(list(tokenize.CHAR_ALPHABET))
    train_ids = test_ids = None
    rows = []
    for name in models:
        if name in COUNT_MODELS:
            rows.append(_count_row(name, train_text, test_text))
            continue
        if train_ids is None:
            train_ids, test_ids = vocab.encode(list(train_text)), vocab.encode(list(test_text))
        rows.append(_neural_row(name, train_ids, test_ids, len(vocab), neural_seconds, seed))
    return rows


def spread(rows: list[dict]) -> dict:
    """``{model: (mean, min, max, n)}`` of bits per character over the rows of each model (several seeds)."""
    out: dict = {}
    for r in rows:
        out.setdefault(r["model"], []).append(r["bits_per_char"])
    return {m: (float(np.mean(v)), float(min(v)), float(max(v)), len(v)) for m, v in out.items()}


def table(rows: list[dict]) -> str:
    """The ladder as text: model, bits per character (or perplexity for word rows), training seconds, budget."""
    if rows and all(r.get("level") == "word" for r in rows):
        head = f"{'model':<16} {'perplexity':>10} {'train s':>8}"
        lines = [head, "-" * len(head)]
        for r in sorted(rows, key=lambda r: r["perplexity"], reverse=True):
            lines.append(f"{r['model']:<16} {r['perplexity']:>10.1f} {r['train_seconds']:>8.1f}")
        r0 = rows[0]
        lines.append(f"(vocabulary {r0['vocab_size']}: words seen >= {r0['min_freq']} times, the rest <unk>: "
                     f"{100 * r0['unk_rate']:.1f} % of the test tokens)")
        return "\n".join(lines)
    head = f"{'model':<26} {'bits/char':>9} {'train s':>8}  budget"
    lines = [head, "-" * len(head)]
    for r in sorted(rows, key=lambda r: r["bits_per_char"], reverse=True):
        seed = "" if r.get("seed") is None else f", seed {r['seed']}"
        lines.append(f"{r['model']:<26} {r['bits_per_char']:>9.3f} {r['train_seconds']:>8.1f}  "
                     f"{r.get('budget', '')}{seed}")
    lines.append(f"(uniform over the 56 characters: {math.log2(56):.3f} bits/char)")
    return "\n".join(lines)


def word_ladder(train_sentences, test_sentences, min_freq: int = 2, models=tuple(COUNT_MODELS)) -> list[dict]:
    """One row per count model at the word level: ``{"model", "level": "word", "perplexity",
    "train_seconds", "vocab_size", "unk_rate", "min_freq"}`` (see the module docstring)."""
    from course import tokenize
    from course.ngram import NGramLM

    unknown = [m for m in models if m not in COUNT_MODELS]
    if unknown:
        raise ValueError(f"word_ladder has the count models only {list(COUNT_MODELS)}, got {unknown}")
    train = [tokenize.words(s) for s in train_sentences]
    test = [tokenize.words(s) for s in test_sentences]
    vocab = tokenize.Vocab.build((w for s in train for w in s), min_freq=min_freq)
    known = set(vocab.itos) - {tokenize.UNK}
    unk = lambda sents: [[w if w in known else tokenize.UNK for w in s] for s in sents]  # noqa: E731
    train, test = unk(train), unk(test)
    n_test = sum(len(s) for s in test)
    unk_rate = sum(w == tokenize.UNK for s in test for w in s) / max(1, n_test)
    rows = []
    for name in models:
        n, smoothing = COUNT_MODELS[name]
        t0 = time.perf_counter()
        model = NGramLM(n, smoothing, k=ADD_K, discount=DISCOUNT).fit(train)
        seconds = time.perf_counter() - t0
        nll, count = model.nll(test)
        rows.append({"model": name, "level": "word", "perplexity": math.exp(nll / count),
                     "train_seconds": seconds, "vocab_size": len(model.vocab), "unk_rate": unk_rate,
                     "min_freq": min_freq, "seed": None})
    return rows
