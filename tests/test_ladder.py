"""course.ladder: every rung on the same tiny text; rows carry bits per char, seconds and budget."""
import math

import numpy as np
import pytest

from course import ladder, plotting

TRAIN = ("the cat sat on the mat.\nthe dog sat on the log.\n" * 40)[:-1]
TEST = "the cat sat on the log.\nthe dog sat on the mat."


def test_count_models_rows_and_order():
    rows = ladder.char_ladder(TRAIN, TEST, models=tuple(ladder.COUNT_MODELS))
    assert [r["model"] for r in rows] == list(ladder.COUNT_MODELS)
    bpc = {r["model"]: r["bits_per_char"] for r in rows}
    assert all(0 < b < math.log2(56) for b in bpc.values())
    assert bpc["unigram"] > bpc["bigram"] > bpc["trigram add-k"]      # more context helps on this text
    assert bpc["KN 5"] < bpc["unigram"]
    assert all(r["seed"] is None and r["train_seconds"] >= 0 and r["level"] == "char" for r in rows)
    again = ladder.char_ladder(TRAIN, TEST, models=("KN 3",))
    assert again[0]["bits_per_char"] == bpc["KN 3"]                   # deterministic


def test_unigram_matches_the_add_k_formula():
    row = ladder.char_ladder(TRAIN, TEST, models=("unigram",))[0]
    # add-k unigram over the training characters; "</s>" (one per line) plays the newline
    lines = TRAIN.split("\n")
    tokens = [c for line in lines for c in line] + ["</s>"] * len(lines)
    vocab = sorted(set(tokens)) + ["<unk>"]
    counts = {t: tokens.count(t) for t in vocab}
    total = len(tokens)
    test_tokens = [c for line in TEST.split("\n") for c in line] + ["</s>"] * len(TEST.split("\n"))
    nll = -sum(math.log((counts[t] + 0.01) / (total + 0.01 * len(vocab))) for t in test_tokens)
    assert row["bits_per_char"] == pytest.approx(nll / (len(test_tokens) * math.log(2)), rel=1e-9)


def test_neural_rows_train_for_their_budget_and_beat_uniform():
    rows = ladder.char_ladder(TRAIN, (TEST + "\n") * 3, neural_seconds=0.5, seed=0, models=ladder.NEURAL_MODELS)
    assert [r["model"] for r in rows] == list(ladder.NEURAL_MODELS)
    for r in rows:
        assert r["seed"] == 0 and r["steps"] >= 1 and r["parameters"] > 0
        assert 0 < r["bits_per_char"] < 7
    text = ladder.table(rows)
    assert "Transformer" in text and "bits/char" in text


def test_spread_and_figure_and_errors():
    rows = [{"model": "m", "bits_per_char": 2.0, "train_seconds": 1.0, "seed": 0},
            {"model": "m", "bits_per_char": 2.5, "train_seconds": 1.0, "seed": 1},
            {"model": "KN 5", "bits_per_char": 2.3, "train_seconds": 1.0, "seed": None}]
    assert ladder.spread(rows)["m"] == (2.25, 2.0, 2.5, 2)
    fig = plotting.ladder_figure(rows)
    assert len(fig.axes[0].patches) == 3
    with pytest.raises(ValueError, match="unknown ladder model"):
        ladder.char_ladder(TRAIN, TEST, models=("GPT-5",))


def test_word_ladder_unk_rule_and_perplexity():
    train = ["the cat sat on the mat .", "the dog sat on the log .", "a cat ran ."] * 3
    test = ["the cat sat on the log .", "a zebra ran ."]
    rows = ladder.word_ladder(train, test, min_freq=2)
    assert [r["model"] for r in rows] == list(ladder.COUNT_MODELS)
    r = rows[0]
    assert r["level"] == "word" and r["unk_rate"] == pytest.approx(1 / 11)   # "zebra": 1 of the 11 test tokens
    assert all(1 < row["perplexity"] < r["vocab_size"] * 2 for row in rows)
    assert rows[3]["perplexity"] < rows[0]["perplexity"]                     # KN 3 beats the unigram here
    assert "perplexity" in ladder.table(rows) and "<unk>" in ladder.table(rows)
