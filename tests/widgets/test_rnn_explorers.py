"""Unit 4 explorers (course/widgets/recurrent.py), driven from Python."""
import numpy as np
import pytest

from course import nn, rnnlm, tokenize
from course.widgets.recurrent import (GradientFlowExplorer, LSTMGateExplorer, RNNUnrollExplorer,
                                      visible_inputs)


def _outputs_changed_by_input(T, num_layers, bidirectional, s):
    """Perturb input x_s of a real course.nn.RNN; which outputs y_t change?"""
    rng = np.random.default_rng(0)
    m = nn.RNN(3, 5, num_layers=num_layers, bidirectional=bidirectional, rng=1)
    x = rng.standard_normal((T, 2, 3))
    out, _ = m.eval()(x)
    x2 = x.copy()
    x2[s] += 1.0
    out2, _ = m(x2)
    return set(np.flatnonzero(np.abs(out2 - out).max(axis=(1, 2)) > 1e-12).tolist())


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (1, True), (2, True)])
def test_visible_inputs_match_perturbing_a_real_rnn(num_layers, bidirectional):
    T = 5
    w = RNNUnrollExplorer(seq_len=T, num_layers=num_layers, bidirectional=bidirectional)
    for t in range(T):
        w.output_step = t
        seen = set(w.visible_inputs)
        truth = {s for s in range(T) if t in _outputs_changed_by_input(T, num_layers, bidirectional, s)}
        assert seen == truth, (t, seen, truth)
        assert seen == (set(range(T)) if bidirectional else set(range(t + 1)))
    assert w.error is None


def test_unroll_controls_redraw_and_keep_the_step_in_range():
    w = RNNUnrollExplorer(seq_len=6, output_step=5)
    n, before = w.renders, w.pixels.copy()
    w.bidirectional = True
    assert w.renders > n and w._status.value == f"rendered #{w.renders}"
    assert w.pixels.shape != before.shape or np.any(w.pixels != before)
    w.seq_len = 3                                   # the step follows the shorter sequence
    assert w.output_step == 2 and w.visible_inputs == [0, 1, 2]
    with pytest.raises(ValueError):
        w.output_step = 7
    assert visible_inputs(4, 1) == [0, 1]


def _ratio(w):
    return w.norms[0] / w.norms[-1]


def test_gradient_flow_vanishes_for_small_scale_and_lstm_forget_bias_keeps_it():
    w = GradientFlowExplorer(cell="rnn", scale=0.5, seq_len=40)
    assert w.norms.shape == (40,) and w.error is None
    small = _ratio(w)
    assert small < 1e-8                              # ||dL/dh_1|| << ||dL/dh_T||
    assert np.all(np.diff(w.norms[:-1]) > 0)        # growing towards the last step
    w.scale = 1.0
    assert _ratio(w) > 100 * small
    w.cell, w.scale = "lstm", 0.5
    w.forget_bias = 0.0
    lstm0 = _ratio(w)
    w.forget_bias = 3.0
    assert _ratio(w) > 100 * lstm0 and _ratio(w) > 1e4 * small


def test_gradient_flow_norms_are_the_real_backward():
    w = GradientFlowExplorer(cell="rnn", scale=0.9, seq_len=12)
    m = w._model()
    _, h = m(w._x[:12])
    m.backward(None, np.ones_like(h))
    np.testing.assert_allclose(w.norms, m.grad_h_norms["l0"])


def test_clipping_caps_the_total_norm():
    w = GradientFlowExplorer(cell="rnn", scale=1.5, seq_len=50)
    assert w.total_norm > 5
    w.max_norm = 1.0
    w.clip = True
    assert w.clipped_total_norm <= 1.0 + 1e-9
    np.testing.assert_allclose(w.clipped_norms, w.norms * (w.clipped_total_norm / w.total_norm))
    w.clip = False
    assert w.clipped_total_norm == w.total_norm


def test_gate_explorer_activations_are_the_lstm_forward():
    vocab = tokenize.Vocab(list(tokenize.CHAR_ALPHABET))
    model = rnnlm.RNNLM(len(vocab), 8, 6, cell="lstm", rng=3)
    text = "abc, de\n"
    w = LSTMGateExplorer(model=model, vocab=vocab, text=text, gate="h", unit=2)
    assert w.error is None and "UNTRAINED" not in w._caption.value
    ids = vocab.encode(list(text))
    out, _ = model.eval()(ids[None])                 # logits
    h = model.rnn(model.embedding(ids[None]))[0][0]
    np.testing.assert_allclose(w.activations["h"], h, atol=1e-12)
    assert set(w.activations) == {"i", "f", "g", "o", "c", "h"}
    assert all(a.shape == (len(text), 6) for a in w.activations.values())
    for g in "ifo":
        assert np.all((w.activations[g] > 0) & (w.activations[g] < 1))
    np.testing.assert_allclose(w.activations["h"], w.activations["o"] * np.tanh(w.activations["c"]))
    np.testing.assert_allclose(w.values, w.activations["h"][:, 2])
    n = w.renders
    w.gate, w.unit = "f", 5
    assert w.renders == n + 2 and w._status.value == f"rendered #{w.renders}"
    hv = w._view
    assert hv.formatter == "value"


def test_gate_explorer_default_is_untrained_and_says_so_and_errors_are_shown():
    w = LSTMGateExplorer()
    assert "UNTRAINED" in w._caption.value and w.error is None
    w.text = ""
    assert w.error and "empty" in w.error
    w.text = "hello"
    assert w.error is None and w.activations["c"].shape[0] == 5
    with pytest.raises(ValueError):
        w.gate = "z"
