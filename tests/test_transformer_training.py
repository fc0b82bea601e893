"""course.transformer: random windows, train_lm, evaluate_nll, generate."""
import numpy as np
import pytest

from course import lm, nn, optim, transformer


def test_random_windows_are_shifted_by_one():
    ids = np.arange(100)
    x, y = transformer.random_windows(ids, 5, 7, np.random.default_rng(0))
    assert x.shape == y.shape == (5, 7)
    np.testing.assert_array_equal(y, x + 1)                       # ids = positions: y is x one ahead
    np.testing.assert_array_equal(np.diff(x, axis=1), 1)          # contiguous windows
    with pytest.raises(ValueError, match="seq_len"):
        transformer.random_windows(np.arange(5), 2, 5, np.random.default_rng(0))


def _cycle_model_and_stream():
    stream = np.tile(np.arange(5), 80)                            # 0 1 2 3 4 0 1 2 ...
    model = nn.TransformerLM(5, 16, 2, 1, max_len=12, rng=0).to(np.float32)
    return model, stream


def test_train_lm_learns_a_cycle_and_generate_continues_it():
    model, stream = _cycle_model_and_stream()
    opt = optim.AdamW(model.parameters(), lr=1e-2)
    h = transformer.train_lm(model, stream, opt, batch_size=8, seq_len=12, max_steps=80, warmup_steps=5,
                             progress=False, val_ids=stream[:61], val_every=40)
    assert len(h.step) == 80 and h.val_step == [40, 80]
    assert np.mean(h.loss[-5:]) < 0.1 * np.mean(h.loss[:5])
    assert opt.lr == 1e-2                                          # the base lr is restored
    assert h.lr[0] == pytest.approx(1e-2 / 5) and max(h.lr) == pytest.approx(1e-2, rel=1e-2)
    out = transformer.generate(model, [0, 1, 2], 20, temperature=0)
    assert len(out) == 23
    np.testing.assert_array_equal(out, np.arange(23) % 5)
    total, count = transformer.evaluate_nll(model, stream, seq_len=12)
    assert count == ((len(stream) - 1) // 12) * 12
    assert lm.bits_per_char(total, count) < 0.5                    # a cycle is almost free to predict


def test_evaluate_nll_is_the_sum_of_cross_entropies():
    rng = np.random.default_rng(1)
    model = nn.TransformerLM(7, 8, 2, 1, max_len=6, rng=1)
    ids = rng.integers(0, 7, 40)
    total, count = transformer.evaluate_nll(model, ids, seq_len=6, batch_size=2)
    x, y = ids[:36].reshape(6, 6), ids[1:37].reshape(6, 6)
    logits = model.eval().forward(x)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(logp, y[..., None], -1).sum()
    assert count == 36 and total == pytest.approx(expected, rel=1e-10)


def test_time_budget_stops_training():
    model, stream = _cycle_model_and_stream()
    h = transformer.train_lm(model, stream, optim.Adam(model.parameters()), batch_size=2, seq_len=12,
                             max_steps=10_000, time_budget=0.2, progress=False)
    assert 1 <= len(h.step) < 10_000


def test_generate_with_top_k_one_is_greedy():
    model, _ = _cycle_model_and_stream()
    a = transformer.generate(model, [1], 5, temperature=0)
    b = transformer.generate(model, [1], 5, top_k=1, rng=3)
    np.testing.assert_array_equal(a, b)
