"""Positional encodings, TransformerBlock and TransformerLM against torch twins built from
torch.nn.Embedding, TransformerEncoderLayer (MultiheadAttention, LayerNorm, GELU, Linear), LayerNorm
and Linear: outputs and every parameter gradient in float64; gradcheck; causal properties."""
import math

import numpy as np
import pytest
import torch

from course import nn
from course.testing import compare_module, copy_params, to_numpy, to_torch

D, H, FF, V, T = 6, 3, 10, 7, 5         # all different, so a transposed matrix cannot hide


def _jitter(model, rng, scale=0.3):
    """Random values in every parameter (LayerNorm weights not all 1, biases not 0)."""
    for _, p in model.named_parameters():
        p.data[...] += scale * rng.standard_normal(p.shape)
    return model


class TorchBlock(torch.nn.TransformerEncoderLayer):
    """torch's pre-LN encoder layer with the causal mask: the same function as our TransformerBlock."""

    def __init__(self, d, h, ff, activation="gelu"):
        act = torch.nn.GELU(approximate="tanh") if activation == "gelu_tanh" else activation
        super().__init__(d, h, ff, dropout=0.0, activation=act, batch_first=True, norm_first=True)

    def forward(self, x):
        L = x.shape[1]
        mask = torch.ones(L, L, dtype=torch.bool).triu(1)
        return super().forward(x, src_mask=mask, is_causal=True)


class TorchLM(torch.nn.Module):
    def __init__(self, vocab, d, h, layers, ff, max_len, positional="learned", tie=False, activation="gelu"):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, d)
        if positional == "learned":
            self.pos = torch.nn.Embedding(max_len, d)
        else:
            pos = torch.arange(max_len, dtype=torch.float64)[:, None]
            div = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
            pe = torch.zeros(max_len, d, dtype=torch.float64)
            pe[:, 0::2] = torch.sin(pos * div)
            pe[:, 1::2] = torch.cos(pos * div[: d // 2])
            self.register_buffer("pe", pe)
        self.positional = positional
        self.blocks = torch.nn.ModuleList([TorchBlock(d, h, ff, activation) for _ in range(layers)])
        self.norm = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, vocab)
        if tie:
            self.head.weight = self.embed.weight

    def forward(self, ids):
        x = self.embed(ids)
        Tn = ids.shape[1]
        x = x + (self.pos(torch.arange(Tn)) if self.positional == "learned" else self.pe[:Tn])
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm(x))


# ============================================================== positional encodings
def test_sinusoidal_positions_sin_on_even_cos_on_odd():
    pe = nn.PositionalEncoding(D, max_len=T).pe
    assert pe.shape == (T, D)
    for pos in range(T):
        for i in range(D // 2):
            angle = pos / 10000 ** (2 * i / D)
            assert pe[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-12)
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-12)
    np.testing.assert_allclose(pe[0], [0, 1] * (D // 2))


def test_sinusoidal_positions_odd_d_model():
    pe = nn.PositionalEncoding(5, max_len=3).pe
    assert pe.shape == (3, 5)
    assert pe[2, 4] == pytest.approx(math.sin(2 / 10000 ** (4 / 5)))


def test_positional_encoding_is_added_and_gradient_passes_through():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, T, D))
    m = nn.PositionalEncoding(D, max_len=10)
    np.testing.assert_allclose(m.forward(x), x + m.pe[:T])
    g = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(m.backward(g), g)
    assert m.parameters() == []
    assert nn.gradcheck(nn.PositionalEncoding(D, max_len=10), x).passed()


def test_learned_positional_embedding_matches_torch_embedding():
    rng = np.random.default_rng(1)
    ours = nn.PositionalEmbedding(9, D, rng=0)

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(9, D))

        def forward(self, x):
            return x + torch.nn.functional.embedding(torch.arange(x.shape[1]), self.weight)

    compare_module(ours, Theirs(), rng.standard_normal((3, T, D)))
    assert nn.gradcheck(nn.PositionalEmbedding(9, D, rng=0), rng.standard_normal((2, T, D))).passed()


def test_positions_too_long_raise():
    with pytest.raises(ValueError, match="max_len"):
        nn.PositionalEncoding(D, max_len=3).forward(np.zeros((1, 4, D)))


# ============================================================== block
@pytest.mark.parametrize("activation", ["gelu", "gelu_tanh", "relu"])
def test_block_matches_torch_encoder_layer(activation):
    rng = np.random.default_rng(2)
    ours = _jitter(nn.TransformerBlock(D, H, FF, activation=activation, rng=0), rng)
    theirs = TorchBlock(D, H, FF, activation)
    assert sorted(n for n, _ in ours.named_parameters()) == sorted(n for n, _ in theirs.named_parameters())
    compare_module(ours, theirs, rng.standard_normal((2, T, D)))


def test_block_gradcheck_odd_sizes():
    rng = np.random.default_rng(3)
    block = _jitter(nn.TransformerBlock(D, H, FF, rng=1), rng)
    report = nn.gradcheck(block, rng.standard_normal((2, T, D)))
    # the key bias gets an exactly-zero gradient (softmax ignores a constant per row): see test_attention.py
    assert all(err < 1e-5 for name, err in report.items() if name != "self_attn.in_proj_bias"), report


def test_block_returns_attention_maps():
    rng = np.random.default_rng(4)
    block = nn.TransformerBlock(D, H, FF, rng=2)
    y, w = block.forward(rng.standard_normal((2, T, D)), need_weights=True)
    assert y.shape == (2, T, D) and w.shape == (2, H, T, T)
    assert np.all(np.triu(w, 1) == 0)
    np.testing.assert_allclose(w.sum(-1), 1.0)


# ============================================================== language model
@pytest.mark.parametrize("positional,tie", [("learned", False), ("sinusoidal", False), ("learned", True)])
def test_lm_matches_identical_torch_model(positional, tie):
    rng = np.random.default_rng(5)
    ours = _jitter(nn.TransformerLM(V, D, H, num_layers=2, dim_feedforward=FF, max_len=8, positional=positional,
                                    tie_weights=tie, rng=3), rng)
    theirs = TorchLM(V, D, H, 2, FF, 8, positional, tie)
    assert sorted(n for n, _ in ours.named_parameters()) == sorted(n for n, _ in theirs.named_parameters())
    ids = rng.integers(0, V, (3, T))
    logits, _ = compare_module(ours, theirs, ids)
    assert logits.shape == (3, T, V)


def test_lm_with_cross_entropy_matches_torch_all_grads():
    """The training loss: logits -> CrossEntropyLoss over (N, T, V) against torch's cross_entropy."""
    rng = np.random.default_rng(6)
    ours = _jitter(nn.TransformerLM(V, D, H, num_layers=2, dim_feedforward=FF, max_len=8, rng=4), rng)
    theirs = TorchLM(V, D, H, 2, FF, 8).double()
    copy_params(theirs, ours)
    ids, targets = rng.integers(0, V, (2, T)), rng.integers(0, V, (2, T))
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn.forward(ours.forward(ids), targets)
    ours.zero_grad()
    ours.backward(loss_fn.backward())
    lt = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(ids)).reshape(-1, V),
                                           torch.from_numpy(targets).reshape(-1))
    lt.backward()
    assert float(loss) == pytest.approx(lt.item(), rel=1e-10)
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, to_numpy(tp[name].grad), rtol=1e-6, atol=1e-10, err_msg=name)


def test_lm_gradcheck_small():
    rng = np.random.default_rng(7)
    lm = _jitter(nn.TransformerLM(V, D, H, num_layers=1, dim_feedforward=FF, max_len=T, tie_weights=True, rng=5),
                 rng)
    report = nn.gradcheck(lm, rng.integers(0, V, (2, T)))
    assert all(err < 1e-5 for name, err in report.items() if not name.endswith("in_proj_bias")), report


def test_lm_is_causal_future_tokens_do_not_change_earlier_logits():
    rng = np.random.default_rng(8)
    lm = _jitter(nn.TransformerLM(V, D, H, num_layers=2, dim_feedforward=FF, max_len=8, rng=6), rng)
    ids = rng.integers(0, V, (2, 7))
    logits = lm.forward(ids)
    for t in range(1, 7):
        ids2 = ids.copy()
        ids2[:, t] = (ids2[:, t] + 1) % V
        logits2 = lm.forward(ids2)
        np.testing.assert_allclose(logits2[:, :t], logits[:, :t], rtol=1e-12, atol=1e-12)
        assert not np.allclose(logits2[:, t], logits[:, t])
    lm.clear_cache()


def test_lm_future_tokens_get_zero_gradient_from_earlier_losses():
    """The loss at position t back-propagates to the embeddings of tokens 0..t only."""
    rng = np.random.default_rng(9)
    lm = _jitter(nn.TransformerLM(V, D, H, num_layers=2, dim_feedforward=FF, max_len=8, rng=7), rng)
    ids = np.array([[0, 1, 2, 3, 4, 5]])                              # each id once: its embedding row = its position
    logits = lm.forward(ids)
    g = np.zeros_like(logits)
    g[:, 2] = rng.standard_normal(V)                                  # only the loss at t = 2
    lm.zero_grad()
    lm.backward(g)
    assert np.all(lm.embed.weight.grad[3:6] == 0) and np.all(lm.pos.weight.grad[3:] == 0)
    assert np.any(lm.embed.weight.grad[:3] != 0)


def test_weight_tying_shares_one_parameter():
    lm = nn.TransformerLM(V, D, H, num_layers=1, tie_weights=True, rng=0)
    assert lm.head.weight is lm.embed.weight
    names = [n for n, _ in lm.named_parameters()]
    assert "head.weight" not in names and "embed.weight" in names


def test_attention_maps_of_the_lm():
    lm = nn.TransformerLM(V, D, H, num_layers=2, dim_feedforward=FF, max_len=8, rng=0)
    maps = lm.attention_maps(np.zeros((1, 4), dtype=np.int64))
    assert len(maps) == 2 and maps[0].shape == (1, H, 4, 4)
    assert lm.training                                               # mode restored


def test_lm_float32_trains_loss_decreases():
    from course import optim
    rng = np.random.default_rng(10)
    lm = nn.TransformerLM(V, 16, 2, num_layers=1, max_len=8, rng=0).to(np.float32)
    opt = optim.Adam(lm.parameters(), lr=1e-2)
    seq = np.tile(np.arange(V), 3)[None, :9]                          # 0 1 2 ... : a pattern to learn
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(40):
        logits = lm.forward(seq[:, :-1])
        assert logits.dtype == np.float32
        losses.append(float(loss_fn.forward(logits, seq[:, 1:])))
        opt.zero_grad()
        lm.backward(loss_fn.backward())
        opt.step()
    assert losses[-1] < 0.2 * losses[0]


def test_lm_rejects_bad_ids():
    lm = nn.TransformerLM(V, D, H, num_layers=1, max_len=4, rng=0)
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        lm.forward(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="max_len"):
        lm.forward(np.zeros((1, 5), dtype=np.int64))
