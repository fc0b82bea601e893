"""The benchmark runner's bookkeeping (the timings themselves are not tests)."""
import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_runner():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_merge_replaces_same_name_and_keeps_the_rest():
    run = load_runner()
    old = [{"name": "browser kernel", "median_ms": 88}, {"name": "conv fwd", "ratio": 3.0}]
    new = [{"name": "conv fwd", "ratio": 2.0}, {"name": "pool", "ratio": 0.5}]
    merged = run.merge(old, new)
    assert merged == [{"name": "browser kernel", "median_ms": 88}, {"name": "conv fwd", "ratio": 2.0},
                      {"name": "pool", "ratio": 0.5}]


def test_table_marks_missed_targets():
    run = load_runner()
    rows = [dict(name="fast", shape="s", numpy_s=0.001, torch_s=0.002, ratio=0.5, target=1.0),
            dict(name="slow", shape="s", numpy_s=0.004, torch_s=0.001, ratio=4.0, target=3.0)]
    lines = run.table(rows).splitlines()
    assert lines[2].startswith("fast") and lines[2].endswith("ok")
    assert lines[3].startswith("slow") and lines[3].endswith("MISSED")


def test_every_bench_module_exposes_cases_or_is_a_script():
    run = load_runner()
    names = {p.stem for p in run.discover()}
    assert {"bench_conv", "bench_train", "bench_grading"} <= names


def load_bench(name):
    import sys
    sys.path.insert(0, str(ROOT / "benchmarks"))          # bench modules import _timing
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ladder_entries_one_per_rung_and_level_with_the_seed_spread():
    bench = load_bench("bench_ladder")
    char = [{"model": "KN 5", "level": "char", "bits_per_char": 2.2, "train_seconds": 0.5, "seed": None,
             "budget": "all training text"}]
    char += [{"model": "LSTM", "level": "char", "bits_per_char": v, "budget_seconds": b, "train_seconds": b,
              "wall_seconds": b + 1, "steps": 10 * b, "tokens_seen": 100 * b, "seed": seed, "parameters": 7,
              "budget": f"{b} CPU s"} for seed, vals in ((0, (3.0, 2.5)), (1, (3.2, 2.4))) for b, v in zip((60, 180), vals)]
    word = [{**{k: v for k, v in r.items() if k != "bits_per_char"}, "level": "word",
             "perplexity": 100 * r["bits_per_char"], "vocab_size": 9, "min_freq": 5, "max_size": None,
             "unk_rate": 0.1} for r in char]
    entries = {e["name"]: e for e in bench.entries(char + word)}
    assert set(entries) == {f"ladder {lv} {m}" for lv in ("char", "word")
                            for m in ("KN 5", "LSTM @ 60 s", "LSTM @ 180 s", "findings")}
    e = entries["ladder char LSTM @ 60 s"]
    assert e["bits_per_char"] == 3.1 and e["bits_per_char_per_seed"] == [3.0, 3.2]
    assert e["seed_spread"] == pytest.approx(0.2) and e["steps"] == [600, 600] and e["model"] == "LSTM"
    assert e["train_seconds"] == 60 and e["wall_seconds"] == 61 and e["settings"] == bench.ladder.CHAR_NEURAL["LSTM"]
    w = entries["ladder word LSTM @ 180 s"]
    assert w["perplexity"] == pytest.approx(245) and w["vocab_size"] == 9 and "bits_per_char" not in w
    assert any("LSTM" in line for line in entries["ladder char findings"]["findings"])


def test_lstm_lm_epoch_case_trains_identical_twins_on_the_same_windows():
    bench = load_bench("bench_rnn")
    r = bench.lm_epoch_case(fraction=0.002, held_out_chars=3000)     # 4,022 chars: 2 windows of 32 x 64
    assert r["name"] == "char LSTM LM epoch" and r["steps"] == 2 and r["ratio"] == r["numpy_s"] / r["torch_s"]
    assert r["first_step_loss"]["ours"] == pytest.approx(r["first_step_loss"]["torch"], rel=1e-6)
    ours, theirs = r["held_out_loss"]["ours"], r["held_out_loss"]["torch"]
    assert ours == pytest.approx(theirs, rel=1e-5) and ours < 4.0     # both trained (ln 56 = 4.03), alike
    assert "0.002 of an epoch" in r["shape"]
