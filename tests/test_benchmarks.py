"""The benchmark runner's bookkeeping (the timings themselves are not tests)."""
import importlib.util
import pathlib

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
