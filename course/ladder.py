"""The perplexity ladder: every language model of the course on the same text, at both levels.

``char_ladder(train_text, test_text, neural_seconds, seed, models)``: bits per character.
Both texts are normalised characters (``course.data.text.characters(split)``): one alphabet
(``course.tokenize.CHAR_ALPHABET``, 56 symbols) for every model.

``word_ladder(train_sentences, test_sentences, min_freq, max_size, neural_seconds, seed, models)``:
perplexity per predicted token. Words are ``course.tokenize.words`` (lower-cased). Vocabulary and
``<unk>`` rule: the training words seen at least ``min_freq`` times (the ``max_size - 2`` most frequent
of them when ``max_size`` is given), plus ``<unk>`` and ``</s>``; every other word, in training and
test text alike, is replaced by ``<unk>`` before any model sees it, so ``<unk>`` is an ordinary
(frequent) token. Every model predicts the same tokens: each test word and one ``</s>`` per
sentence. Each row carries ``vocab_size``, ``min_freq``, ``max_size`` and ``unk_rate`` (the share of
test tokens that became ``<unk>``): a perplexity means little without its vocabulary.

The rungs (the same at both levels; the settings are the tables ``CHAR_NEURAL`` and ``WORD_NEURAL``):

- count models (``course.ngram.NGramLM``, Unit 3): ``unigram``, ``bigram`` and ``trigram add-k``
  (k = 0.01), ``KN 3`` and ``KN 5`` (interpolated Kneser-Ney, discount 0.75). Characters: each line
  is one "sentence", so ``"</s>"`` plays the newline. Deterministic: no seed, no spread;
- ``RNN`` and ``LSTM`` (``course.rnnlm.RNNLM``, Unit 4), Adam, truncated BPTT carrying the state
  over consecutive windows, batch 32; scored with the state carried along the test stream;
- ``Transformer`` (``course.nn.TransformerLM``, Unit 5: pre-LN blocks, learned positions, tanh GELU),
  AdamW with a linear warm-up then a constant rate, clipping 1.0, batch 32 random windows; scored on
  consecutive windows (the first tokens of each window have little context).
  The neural word models read the training sentences as one stream ``</s> s1 </s> s2 </s> ...``.

Budgets. Each neural model trains once, from ``seed``, for the largest of ``neural_seconds`` (a
number or several) and is scored on the test text each time its training time passes one of
them: one row per budget, so a row at 60 s is what a 60-second run gives (the schedules do not
depend on the budget). Training time is **CPU seconds of this process** (``course.lite.process_time``:
``time.process_time``, or wall seconds in the browser, whose CPU clock stands still; NumPy's BLAS on
one thread), the scoring left out: on a machine shared with other jobs a wall-clock
budget buys a different number of steps each run (a loaded run once gave an LSTM 89 steps in
"60 s" that a quiet one spends 1,800 steps on), a CPU budget about the same. Every row also
carries its ``wall_seconds``, its ``steps`` and its ``tokens_seen``.

Seeds. ``spread(rows)`` gives mean, min and max of each rung over the rows of several seeds;
``findings(rows)`` says in words which differences are larger than the seed-to-seed range (two
results differ for real only when their ranges over the seeds do not overlap) and where the neural
models overtake the count models as their budget grows; ``table(rows)`` prints both.
"""
from __future__ import annotations

import contextlib
import math
import time

import numpy as np

from course.lite import process_time

__all__ = ["COUNT_MODELS", "NEURAL_MODELS", "CHAR_NEURAL", "WORD_NEURAL", "Stopwatch", "char_ladder",
           "word_ladder", "label", "score", "spread", "findings", "table"]

COUNT_MODELS = {"unigram": (1, "add_k"), "bigram": (2, "add_k"), "trigram add-k": (3, "add_k"),
                "KN 3": (3, "kneser_ney"), "KN 5": (5, "kneser_ney")}
NEURAL_MODELS = ("RNN", "LSTM", "Transformer")
ADD_K, DISCOUNT = 0.01, 0.75

#: The neural rungs' settings, per level. RNN/LSTM: RNNLM(V, embedding, hidden, cell); the
#: Transformer: TransformerLM(V, d_model, heads, layers, max_len=seq_len). All float32.
CHAR_NEURAL = {
    "RNN": dict(cell="rnn", embedding=32, hidden=128, lr=3e-3, batch_size=32, seq_len=64),
    "LSTM": dict(cell="lstm", embedding=32, hidden=128, lr=3e-3, batch_size=32, seq_len=64),
    "Transformer": dict(d_model=64, heads=4, layers=2, lr=3e-3, batch_size=32, seq_len=64, warmup=20),
}
WORD_NEURAL = {
    "RNN": dict(cell="rnn", embedding=64, hidden=128, lr=3e-3, batch_size=32, seq_len=32),
    "LSTM": dict(cell="lstm", embedding=64, hidden=128, lr=3e-3, batch_size=32, seq_len=32),
    "Transformer": dict(d_model=64, heads=4, layers=2, lr=1e-3, batch_size=32, seq_len=32, warmup=50),
}


class Stopwatch:
    """Two clocks, this process's CPU seconds (``cpu()``) and wall seconds (``wall()``), both
    stopped inside ``with watch.paused():`` (the scoring between budgets). ``cpu`` is the clock
    the trainers get (their ``clock=`` argument)."""

    def __init__(self):
        self._cpu0, self._wall0 = process_time(), time.perf_counter()

    def cpu(self) -> float:
        return process_time() - self._cpu0

    def wall(self) -> float:
        return time.perf_counter() - self._wall0

    @contextlib.contextmanager
    def paused(self):
        cpu, wall = process_time(), time.perf_counter()
        try:
            yield
        finally:
            self._cpu0 += process_time() - cpu
            self._wall0 += time.perf_counter() - wall


def _budgets(neural_seconds) -> list[float]:
    budgets = sorted(float(s) for s in np.atleast_1d(neural_seconds))
    if not budgets or budgets[0] <= 0:
        raise ValueError(f"neural_seconds must be a positive number of seconds or a list of them "
                         f"(e.g. 60 or (60, 180)), got {neural_seconds!r}")
    return budgets


def _check_models(models):
    unknown = [m for m in models if m not in COUNT_MODELS and m not in NEURAL_MODELS]
    if unknown:
        raise ValueError(f"unknown ladder model(s) {unknown}; choose from {list(COUNT_MODELS) + list(NEURAL_MODELS)}")


# ============================================================== the count models
def _fit_count(name, train_sentences):
    from course.ngram import NGramLM

    n, smoothing = COUNT_MODELS[name]
    t0 = process_time()
    model = NGramLM(n, smoothing, k=ADD_K, discount=DISCOUNT).fit(train_sentences)
    return model, process_time() - t0


# ============================================================== the neural models
def _build(name, cfg, vocab_size, seed):
    """The model, a ``train(ids, seconds, clock, callback)`` and a ``score(ids) -> (nll, count)``."""
    from course import nn, optim, rnnlm, transformer

    B, T = cfg["batch_size"], cfg["seq_len"]
    if name == "Transformer":
        model = nn.TransformerLM(vocab_size, d_model=cfg["d_model"], num_heads=cfg["heads"],
                                 num_layers=cfg["layers"], max_len=T, activation="gelu_tanh",
                                 rng=seed).to(np.float32)
        opt = optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01)

        def train(ids, seconds, clock, callback):
            # warm-up, then constant (min_lr_factor=1): the same schedule whatever the budget
            return transformer.train_lm(model, ids, opt, batch_size=B, seq_len=T, max_steps=10**9,
                                        time_budget=seconds, warmup_steps=cfg["warmup"], min_lr_factor=1.0,
                                        seed=seed, progress=False, clock=clock, callback=callback)

        def score(ids):        # consecutive windows of T (one shorter window for a stream under T + 1 tokens)
            return transformer.evaluate_nll(model, ids, seq_len=min(T, len(ids) - 1))
    else:
        model = rnnlm.RNNLM(vocab_size, cfg["embedding"], cfg["hidden"], cell=cfg["cell"], rng=seed).to(np.float32)
        opt = optim.Adam(model.parameters(), lr=cfg["lr"])

        def train(ids, seconds, clock, callback):
            return rnnlm.train_tbptt(model, ids, opt, batch_size=B, seq_len=T, epochs=10**6,
                                     time_budget=seconds, progress=False, clock=clock, callback=callback)

        def score(ids):        # B streams side by side (fewer for a short stream), the state carried
            return rnnlm.evaluate_nll(model, ids, batch_size=max(1, min(B, (len(ids) - 1) // 64)), seq_len=64)
    return model, train, score


def _neural_rows(name, cfg, train_ids, test_ids, vocab_size, budgets, seed) -> list[dict]:
    """Train once for ``budgets[-1]`` CPU seconds; score the test stream as each budget passes."""
    model, train, score = _build(name, cfg, vocab_size, seed)
    watch, pending, rows = Stopwatch(), list(budgets), []

    def checkpoint(step, history):
        if not pending or history.time[-1] < pending[0]:
            return
        with watch.paused():
            nll, count = score(test_ids)
        while pending and history.time[-1] >= pending[0]:
            rows.append({"model": name, "nll": nll, "count": count, "budget_seconds": pending.pop(0),
                         "train_seconds": float(history.time[-1]), "wall_seconds": watch.wall(),
                         "steps": step, "tokens_seen": step * cfg["batch_size"] * cfg["seq_len"],
                         "seed": seed, "parameters": model.num_parameters()})

    train(train_ids, budgets[-1], watch.cpu, checkpoint)
    return rows


# ============================================================== the two ladders
def char_ladder(train_text: str, test_text: str, neural_seconds=10.0, seed: int = 0,
                models=tuple(COUNT_MODELS) + NEURAL_MODELS) -> list[dict]:
    """One row per count model and one per neural model and budget, in the order of ``models``:
    ``{"model", "level": "char", "bits_per_char", "train_seconds", "seed", "budget", "tokens_scored"}``
    (neural rows add ``budget_seconds``, ``wall_seconds``, ``steps``, ``tokens_seen``, ``parameters``).
    ``tokens_scored``: the predictions averaged (the neural scorers drop the last few tokens of
    the test stream that do not fill a batch row or a window: under 0.2 % of 50,000)."""
    from course import lm, tokenize

    _check_models(models)
    budgets = _budgets(neural_seconds)
    lines = lambda text: [list(line) for line in text.split("\n")]  # noqa: E731
    vocab = tokenize.Vocab(list(tokenize.CHAR_ALPHABET))
    train_ids = test_ids = None
    rows = []
    for name in models:
        if name in COUNT_MODELS:
            model, seconds = _fit_count(name, lines(train_text))
            nll, count = model.nll(lines(test_text))
            rows.append({"model": name, "level": "char", "bits_per_char": lm.bits_per_char(nll, count),
                         "train_seconds": seconds, "seed": None, "tokens_scored": count,
                         "budget": "all training text, one pass of counting"})
            continue
        if train_ids is None:
            train_ids, test_ids = vocab.encode(list(train_text)), vocab.encode(list(test_text))
        for r in _neural_rows(name, CHAR_NEURAL[name], train_ids, test_ids, len(vocab), budgets, seed):
            nll, count = r.pop("nll"), r.pop("count")
            rows.append({"model": name, "level": "char", "bits_per_char": lm.bits_per_char(nll, count),
                         **r, "tokens_scored": count, "budget": f"{r['budget_seconds']:g} CPU s of training"})
    return rows


def word_ladder(train_sentences, test_sentences, min_freq: int = 2, max_size: int | None = None,
                neural_seconds=10.0, seed: int = 0, models=tuple(COUNT_MODELS)) -> list[dict]:
    """One row per count model and one per neural model and budget, in the order of ``models``:
    ``{"model", "level": "word", "perplexity", "train_seconds", "vocab_size", "unk_rate", "min_freq",
    "max_size", "seed", "budget", ...}`` (see the module docstring for the vocabulary rule)."""
    from course import lm, tokenize
    from course.tokenize import EOS, UNK

    _check_models(models)
    budgets = _budgets(neural_seconds)
    train = [tokenize.words(s) for s in train_sentences]
    test = [tokenize.words(s) for s in test_sentences]
    if max_size is not None and max_size < 3:
        raise ValueError(f"max_size counts <unk> and </s> too: use max_size >= 3, got {max_size}")
    words = tokenize.Vocab.build((w for s in train for w in s), min_freq=min_freq,
                                 max_size=None if max_size is None else max_size - 1)
    known = set(words.itos) - {UNK}
    unk = lambda sents: [[w if w in known else UNK for w in s] for s in sents]  # noqa: E731
    train, test = unk(train), unk(test)
    n_test = sum(len(s) for s in test)
    vocab = tokenize.Vocab.build((w for s in train for w in s), specials=(UNK, EOS))   # NGramLM's vocabulary
    common = {"level": "word", "vocab_size": len(vocab), "min_freq": min_freq, "max_size": max_size,
              "unk_rate": sum(w == UNK for s in test for w in s) / max(1, n_test)}
    stream = lambda sents: vocab.encode([EOS] + [w for s in sents for w in s + [EOS]])  # noqa: E731
    train_ids = test_ids = None
    rows = []
    for name in models:
        if name in COUNT_MODELS:
            model, seconds = _fit_count(name, train)
            nll, count = model.nll(test)
            rows.append({"model": name, "perplexity": lm.perplexity(nll, count), "train_seconds": seconds,
                         "seed": None, "tokens_scored": count, "budget": "all training text, one pass of counting",
                         **common})
            continue
        if train_ids is None:
            train_ids, test_ids = stream(train), stream(test)
        for r in _neural_rows(name, WORD_NEURAL[name], train_ids, test_ids, len(vocab), budgets, seed):
            nll, count = r.pop("nll"), r.pop("count")
            rows.append({"model": name, "perplexity": lm.perplexity(nll, count), **r, "tokens_scored": count,
                         "budget": f"{r['budget_seconds']:g} CPU s of training", **common})
    return rows


# ============================================================== reading the rows
def score(row: dict) -> float:
    """The row's number: bits per character (character level) or perplexity (word level)."""
    return row["bits_per_char"] if "bits_per_char" in row else row["perplexity"]


def label(row: dict) -> str:
    """``"KN 5"``, or ``"LSTM @ 60 s"`` for a neural row (one rung per model and budget)."""
    b = row.get("budget_seconds")
    return row["model"] if b is None else f"{row['model']} @ {b:g} s"


def spread(rows: list[dict]) -> dict:
    """``{label: (mean, min, max, n)}`` of each rung's score over its rows (one per seed)."""
    out: dict = {}
    for r in rows:
        out.setdefault(label(r), []).append(score(r))
    return {m: (float(np.mean(v)), float(min(v)), float(max(v)), len(v)) for m, v in out.items()}


def _differ(a, b) -> bool:
    """Two (mean, min, max, n) differ for real when their ranges over the seeds do not overlap."""
    return a[2] < b[1] or b[2] < a[1]


def findings(rows: list[dict]) -> list[str]:
    """Sentences about ``rows`` (one level): which differences exceed the seed-to-seed range, and
    where each neural model overtakes the count models as its budget grows."""
    s = spread(rows)
    unit = "bits/char" if rows and "bits_per_char" in rows[0] else "perplexity"
    f = (lambda x: f"{x:.3f}") if unit == "bits/char" else (lambda x: f"{x:.1f}")
    counts = sorted({r["model"] for r in rows if r.get("seed") is None}, key=lambda m: -s[m][0])
    budgets: dict = {}
    for r in rows:
        if r.get("budget_seconds") is not None:
            budgets.setdefault(r["model"], set()).add(r["budget_seconds"])
    seeds = len({r["seed"] for r in rows if r.get("budget_seconds") is not None})
    if not budgets:
        return []
    out = [f"{unit}, lower is better. A difference is called real when the ranges over the {seeds} seeds do "
           "not overlap (a count model has no range)." if seeds > 1 else
           f"{unit}, lower is better. One seed: the seed-to-seed spread is not measured, so no difference "
           "below is known to be real; run several seeds."]
    real = lambda a, b: seeds == 1 or _differ(a, b)  # noqa: E731
    tag = lambda a, b: "" if seeds == 1 else (" real" if _differ(a, b) else " within the seed range")  # noqa: E731
    for m in (m for m in NEURAL_MODELS if m in budgets):
        bs = sorted(budgets[m])
        v = {b: s[f"{m} @ {b:g} s"] for b in bs}
        text = f"{m}: " + ", ".join(f"{f(v[b][0])} at {b:g} s" for b in bs)
        if len(bs) > 1:
            if seeds > 1:
                text += " (" + "; ".join(f"{b0:g} -> {b1:g} s{tag(v[b0], v[b1])}" for b0, b1 in zip(bs, bs[1:])) + ")"
        first = {}
        for b in bs:
            for c in counts:
                if c not in first and real(v[b], s[c]) and v[b][0] < s[c][0]:
                    first[c] = b
        beaten = [f"{c} (first at {first[c]:g} s)" for c in counts if c in first]
        last = v[bs[-1]]
        tied = [c for c in counts if c not in first and seeds > 1 and last[1] <= s[c][0] <= last[2]]
        ahead = [c for c in counts if c not in first and c not in tied and s[c][0] < last[0]]
        text += ". Beats " + (", ".join(beaten) if beaten else "no count model" + (" for real" if seeds > 1 else ""))
        if tied:
            text += f"; level with {', '.join(tied)} at {bs[-1]:g} s (within the seed range)"
        if ahead:
            text += f"; not yet {', '.join(ahead)} (best {ahead[-1]}: {f(s[ahead[-1]][0])})"
        out.append(text + ".")
    for b in sorted({b for bs in budgets.values() for b in bs}):
        here = sorted((m for m in budgets if b in budgets[m]), key=lambda m: s[f"{m} @ {b:g} s"][0])
        if len(here) < 2:
            continue
        pairs = []
        for m0, m1 in zip(here, here[1:]):
            v0, v1 = s[f"{m0} @ {b:g} s"], s[f"{m1} @ {b:g} s"]
            pairs.append(f"{m0} < {m1}" + (f" ({tag(v0, v1).strip()})" if seeds > 1 else ""))
        out.append(f"At {b:g} s: " + ", ".join(pairs) + ".")
    return out


def table(rows: list[dict]) -> str:
    """The ladder as text, one table per level: each rung's mean score over its seeds, the range
    over the seeds, CPU and wall training seconds, steps; then ``findings``."""
    parts = []
    for level in ("char", "word"):
        mine = [r for r in rows if r.get("level", "char") == level]
        if not mine:
            continue
        unit = "bits/char" if level == "char" else "perplexity"
        fmt = "{:>10.3f}" if level == "char" else "{:>10.1f}"
        s = spread(mine)
        head = f"{'model':<22} {unit:>10} {'range':>7} {'seeds':>5} {'CPU s':>7} {'wall s':>7} {'steps':>7}"
        lines = [head, "-" * len(head)]
        for key in sorted(s, key=lambda k: -s[k][0]):
            mean, lo, hi, n = s[key]
            group = [r for r in mine if label(r) == key]
            neural = group[0].get("seed") is not None
            cpu = np.mean([r["train_seconds"] for r in group])
            wall = np.mean([r.get("wall_seconds", r["train_seconds"]) for r in group])
            steps = f"{np.mean([r['steps'] for r in group]):>7.0f}" if "steps" in group[0] else f"{'-':>7}"
            rng = (f"{hi - lo:>7.3f}" if level == "char" else f"{hi - lo:>7.1f}") if neural and n > 1 else f"{'-':>7}"
            lines.append(f"{key:<22} {fmt.format(mean)} {rng} {n if neural else '-':>5} {cpu:>7.1f} "
                         f"{wall:>7.1f} {steps}")
        if level == "char":
            lines.append(f"(uniform over the 56 characters: {math.log2(56):.3f} bits/char; count models: "
                         "all the training text, CPU s = fitting)")
        else:
            r0 = mine[0]
            cap = "" if r0.get("max_size") is None else f", the {r0['max_size'] - 2} most frequent"
            lines.append(f"(vocabulary {r0['vocab_size']}: training words seen >= {r0['min_freq']} times{cap}, "
                         f"+ <unk> + </s>; the rest <unk>: {100 * r0['unk_rate']:.1f} % of the test tokens)")
        lines += findings(mine)
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
