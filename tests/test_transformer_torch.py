"""course.transformer_torch: the torch twin equals the model; the helpers never fail without a GPU.
(attention_timing_table runs in lecture 11, executed by tests/test_notebooks.py.)"""
import numpy as np
import torch

from course import nn
from course.transformer_torch import timing_table, torch_lm, train_torch


def test_torch_twin_equals_the_model_in_float64():
    for kw in ({}, {"positional": "sinusoidal", "tie_weights": True}, {"activation": "gelu_tanh"}):
        model = nn.TransformerLM(11, 12, 3, 2, dim_feedforward=20, max_len=9, rng=0, **kw)
        twin = torch_lm(model, dtype=torch.float64)
        ids = np.random.default_rng(0).integers(0, 11, (2, 9))
        with torch.no_grad():
            np.testing.assert_allclose(twin(torch.from_numpy(ids)).numpy(), model.eval().forward(ids),
                                       rtol=1e-10, atol=1e-12)


def test_timing_helpers_run_without_failing():
    model = nn.TransformerLM(11, 8, 2, 1, max_len=8, rng=0).to(np.float32)
    ids = np.random.default_rng(1).integers(0, 11, (2, 9))
    table = timing_table(model, ids[:, :-1], ids[:, 1:], budget_s=0.05, attention=False)
    row = table.rows[0]
    assert row["numpy_s"] > 0 and row["torch_cpu_s"] > 0 and row["max_diff"] < 1e-4
    assert "transformer LM train step" in str(table)
    out = train_torch(model, np.tile(np.arange(11), 20), steps=3, batch_size=2, seq_len=8, device="cpu")
    assert out["device"] == "cpu" and len(out["losses"]) == 3 and out["seconds_per_step"] > 0
