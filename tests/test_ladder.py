"""course.ladder: every rung on the same tiny text; rows carry bits per char, seconds and budget."""
import math
import time

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


def test_one_training_run_gives_a_row_per_budget():
    rows = ladder.char_ladder(TRAIN, (TEST + "\n") * 3, neural_seconds=(0.6, 0.3), seed=1, models=("RNN",))
    assert [r["budget_seconds"] for r in rows] == [0.3, 0.6]                  # sorted, one row each
    first, second = rows
    assert first["steps"] < second["steps"]                                  # the same run, read twice
    for r in rows:
        assert r["train_seconds"] >= r["budget_seconds"] and r["seed"] == 1
        assert r["tokens_seen"] == r["steps"] * 32 * 64                      # batch 32 x windows of 64
        assert r["budget"] == f"{r['budget_seconds']:g} CPU s of training"
    with pytest.raises(ValueError, match="positive number of seconds"):
        ladder.char_ladder(TRAIN, TEST, neural_seconds=0, models=("RNN",))


def test_stopwatch_counts_cpu_seconds_and_leaves_out_the_paused_blocks():
    def burn(seconds):
        t0 = time.process_time()
        while time.process_time() - t0 < seconds:
            sum(range(1000))

    watch = ladder.Stopwatch()
    with watch.paused():
        burn(0.3)
    assert watch.cpu() < 0.1 and watch.wall() < 0.1                         # the paused 0.3 s left out
    time.sleep(0.2)                                                          # waiting costs no CPU time
    burn(0.2)
    assert 0.2 <= watch.cpu() < 0.3 and watch.wall() >= 0.4


WORD_TRAIN = ["the cat sat on the mat .", "the dog sat on the log .", "a cat ran ."] * 30
WORD_TEST = ["the cat sat on the log .", "a zebra ran .", "the dog ran on the mat ."]


def test_word_ladder_neural_rows_share_the_vocabulary_and_the_scored_tokens():
    rows = ladder.word_ladder(WORD_TRAIN, WORD_TEST, min_freq=2, neural_seconds=0.5, seed=0,
                              models=("unigram", "KN 3") + ladder.NEURAL_MODELS)
    assert [r["model"] for r in rows] == ["unigram", "KN 3", "RNN", "LSTM", "Transformer"]
    # every word and one </s> per sentence: 7 + 4 + 7 words, 3 </s>
    assert {r["tokens_scored"] for r in rows} == {21}
    assert {r["vocab_size"] for r in rows} == {12}     # the 10 training words + <unk> + </s>
    assert {r["unk_rate"] for r in rows} == {1 / 18}   # "zebra"
    for r in rows[2:]:
        assert r["level"] == "word" and r["budget_seconds"] == 0.5 and r["steps"] >= 1
        assert 1 < r["perplexity"] < 12                # better than a uniform guess over the vocabulary
    assert "perplexity" in ladder.table(rows) and "<unk> + </s>" in ladder.table(rows)


def test_word_ladder_max_size_keeps_the_most_frequent_words():
    train = ["the cat sat on the mat .", "the dog sat on the log .", "a cat ran ."] * 3
    row = ladder.word_ladder(train, ["the cat sat on the log .", "a zebra ran ."], max_size=5,
                             models=("unigram",))[0]
    # kept: "the" (12), "." (9), then one of cat/on/sat (6 each; ties go A-Z): "cat"; + <unk> + </s>
    assert row["vocab_size"] == 5 and row["max_size"] == 5
    assert row["unk_rate"] == pytest.approx(6 / 11)    # sat on log | a zebra ran
    with pytest.raises(ValueError, match="max_size >= 3"):
        ladder.word_ladder(train, train, max_size=2, models=("unigram",))


def _rung(model, score, budget, seed):
    return {"model": model, "bits_per_char": score, "budget_seconds": budget, "train_seconds": budget,
            "wall_seconds": budget, "steps": 10, "seed": seed}


COUNTS = [{"model": m, "bits_per_char": b, "train_seconds": 0.5, "seed": None}
          for m, b in (("unigram", 4.3), ("bigram", 3.5), ("KN 5", 2.2))]


def test_findings_call_a_difference_real_only_beyond_the_seed_range():
    rows = COUNTS + [_rung("LSTM", v, b, seed) for seed, vals in ((0, (3.6, 3.0, 2.1)), (1, (3.7, 3.1, 2.3)))
                     for b, v in zip((3, 6, 9), vals)]
    rows += [_rung("RNN", 3.62, 3, 0), _rung("RNN", 3.66, 3, 1)]
    text = "\n".join(ladder.findings(rows))
    lstm = next(line for line in text.splitlines() if line.startswith("LSTM:"))
    assert "3 -> 6 s real" in lstm and "bigram (first at 6 s)" in lstm
    assert "level with KN 5 at 9 s" in lstm                                 # 2.1..2.3 holds 2.2
    assert "At 3 s: RNN < LSTM (within the seed range)" in text             # 3.62..3.66 inside 3.6..3.7
    table = ladder.table(rows)
    assert "LSTM @ 9 s" in table and "range" in table and text.splitlines()[-1] in table


def test_findings_with_one_seed_call_nothing_real():
    rows = COUNTS + [_rung("LSTM", 3.0, 3, 0), _rung("LSTM", 2.0, 6, 0)]
    text = "\n".join(ladder.findings(rows))
    assert "One seed" in text and " real" not in text.replace("known to be real", "")
    assert "KN 5 (first at 6 s)" in text                                    # 2.0 < 2.2, no range to overlap
