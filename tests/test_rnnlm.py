"""course.rnnlm: the RNN language model, truncated BPTT with the state carried, evaluation, sampling."""
import numpy as np
import pytest
import torch

from course import lm, optim, rnnlm
from course.testing import copy_params, to_numpy, to_torch

V, D, H = 11, 3, 5


class TorchLM(torch.nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, D)
        self.rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.RNN)(D, H, 2, batch_first=True)
        self.decoder = torch.nn.Linear(H, V)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embedding(ids), state)
        return self.decoder(out), state


def _stream(n=400, seed=0):
    return np.random.default_rng(seed).integers(0, V, n)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_rnnlm_equals_torch_with_every_gradient(cell):
    ours = rnnlm.RNNLM(V, D, H, num_layers=2, cell=cell, rng=0)
    theirs = TorchLM(cell).double()
    copy_params(theirs, ours)
    ids = np.random.default_rng(1).integers(0, V, (2, 7))
    logits, _ = ours(ids)
    logits_t, _ = theirs(torch.from_numpy(ids))
    np.testing.assert_allclose(logits, to_numpy(logits_t), rtol=1e-6, atol=1e-10)
    g = np.random.default_rng(2).standard_normal(logits.shape)
    logits_t.backward(to_torch(g))
    ours.backward(g)
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, to_numpy(t_params[name].grad), rtol=1e-6, atol=1e-10, err_msg=name)


def test_tbptt_batches_are_contiguous_streams():
    ids = np.arange(23)
    windows = list(rnnlm.tbptt_batches(ids, batch_size=2, seq_len=4))
    # (23 - 1) // 2 = 11 tokens per stream: stream 0 = 0..10, stream 1 = 11..21
    assert [x.shape for x, _ in windows] == [(2, 4), (2, 4), (2, 3)]
    x = np.concatenate([w[0] for w in windows], axis=1)
    y = np.concatenate([w[1] for w in windows], axis=1)
    np.testing.assert_array_equal(x, [np.arange(11), np.arange(11, 22)])
    np.testing.assert_array_equal(y, x + 1)                  # the target is the next token
    assert rnnlm.n_windows(23, 2, 4) == 3


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_the_state_is_carried_across_batches(cell):
    """Changing the first window changes the second window's loss (lr = 0: only the carried
    state can carry the change); with carry_state=False (the bug) it does not."""
    ids = _stream()
    changed = ids.copy()
    changed[:10] = (changed[:10] + 1) % V                    # inside window 1 of stream 0 only

    def second_loss(stream, carry):
        model = rnnlm.RNNLM(V, D, H, cell=cell, rng=0)
        h = rnnlm.train_tbptt(model, stream, optim.SGD(model.parameters(), lr=0.0), batch_size=2, seq_len=16,
                              max_steps=2, carry_state=carry, progress=False)
        return h.loss[1]

    assert abs(second_loss(ids, True) - second_loss(changed, True)) > 1e-6
    assert second_loss(ids, False) == second_loss(changed, False)


def test_carrying_the_state_equals_reading_the_whole_stream_at_once():
    model = rnnlm.RNNLM(V, D, H, rng=0)
    ids = _stream(201)
    total, n = rnnlm.evaluate_nll(model, ids, batch_size=2, seq_len=7)
    x, y = ids[:200].reshape(2, 100), ids[1:201].reshape(2, 100)
    logits, _ = model.eval()(x)
    ref_total, ref_n = lm.nll_from_logits(logits, y)
    assert n == ref_n == 200
    assert total == pytest.approx(ref_total, rel=1e-10)


def test_the_detached_state_gets_no_gradient_but_the_weights_do():
    model = rnnlm.RNNLM(V, D, H, rng=0)
    x = _stream(14).reshape(2, 7)
    state = model.init_state(2)
    logits, new_state = model(x, state)
    assert model.backward(np.ones_like(logits)) is None
    assert all(np.abs(p.grad).sum() > 0 for p in model.parameters())
    assert rnnlm.detach(new_state)[0] is not new_state[0]


def test_training_learns_a_repeating_pattern():
    ids = np.tile(np.arange(V), 60)                       # 0 1 2 ... 10 0 1 ...: fully predictable
    model = rnnlm.RNNLM(V, 8, 16, rng=0)
    h = rnnlm.train_tbptt(model, ids, optim.SGD(model.parameters(), lr=1.0), batch_size=4, seq_len=20,
                          epochs=8, clip=5.0, val_ids=ids[:200], progress=False)
    assert h.loss[-1] < 0.25 * h.loss[0]
    assert h.val_loss[-1] < 0.5
    assert len(h.grad_norm) == len(h.loss) and all(g > 0 for g in h.grad_norm)
    out = rnnlm.generate(model, [0, 1, 2], 11, temperature=0)     # temperature 0: the most probable token
    np.testing.assert_array_equal(out, np.arange(3, 14) % V)


def test_generate_samples_from_the_vocabulary_and_follows_the_seed():
    model = rnnlm.RNNLM(V, D, H, rng=0)
    a = rnnlm.generate(model, [1], 30, temperature=1.5, rng=3)
    b = rnnlm.generate(model, [1], 30, temperature=1.5, rng=3)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and a.min() >= 0 and a.max() < V
    with pytest.raises(ValueError, match="prefix"):
        rnnlm.generate(model, [], 3)


def test_errors():
    with pytest.raises(ValueError, match="cell"):
        rnnlm.RNNLM(V, D, H, cell="gru")
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        rnnlm.RNNLM(V, D, H)(np.zeros(5, np.int64))
    with pytest.raises(ValueError, match="batch_size"):
        list(rnnlm.tbptt_batches(np.arange(3), batch_size=8, seq_len=4))
