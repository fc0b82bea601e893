"""course.train.fit / evaluate / predict and course.data.digits."""
import math

import numpy as np
import pytest
import torch

from course import nn, optim, train
from course.data import digits
from course.testing import torch_twin


def small_cnn(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 4 * 4, 10, rng=rng))


# ------------------------------------------------------------------ data
def test_digits_split_is_fixed_stratified_and_scaled():
    d = digits()
    assert d.X_train.shape == (1347, 1, 8, 8) and d.X_test.shape == (450, 1, 8, 8)
    assert d.X_train.dtype == np.float64 and d.y_train.dtype == np.int64
    assert d.X_train.min() == 0.0 and d.X_train.max() == 1.0
    assert set(np.unique(d.y_train)) == set(range(10))
    # stratified: every digit is ~25 % test
    counts_test, counts_all = np.bincount(d.y_test, minlength=10), np.bincount(np.r_[d.y_train, d.y_test])
    np.testing.assert_allclose(counts_test / counts_all, 0.25, atol=0.02)
    again = digits()
    np.testing.assert_array_equal(again.X_test, d.X_test)
    np.testing.assert_array_equal(again.y_train, d.y_train)
    other = digits(seed=1)
    assert not np.array_equal(other.y_test, d.y_test)
    d.X_train[:] = 5  # the caller's copy: the cached split is untouched
    assert digits().X_train.max() == 1.0


def test_digits_are_sklearns_images():
    from sklearn.datasets import load_digits

    d = digits()
    images = load_digits().images / 16.0
    all_x = np.concatenate([d.X_train, d.X_test])[:, 0]
    assert len(all_x) == len(images)
    # the same multiset of images: compare sorted row sums and a hash-like projection
    proj = np.random.default_rng(0).standard_normal((8, 8))
    np.testing.assert_allclose(np.sort((all_x * proj).sum(axis=(1, 2))), np.sort((images * proj).sum(axis=(1, 2))))


def test_digits_rejects_a_bad_split():
    with pytest.raises(ValueError, match="between 0 and 1"):
        digits(test_size=25)


# ------------------------------------------------------------------ fit
def test_fit_on_digits_reaches_a_sane_accuracy_quickly(capsys):
    d = digits()
    net = small_cnn()
    opt = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    h = train.fit(net, nn.SoftmaxCrossEntropy(), (d.X_train, d.y_train), epochs=4, batch_size=32,
                  optimizer=opt, val_data=(d.X_test, d.y_test), progress=False)
    assert h.val_acc[-1] >= 0.93, h
    assert train.evaluate(net, d.X_test, d.y_test) == pytest.approx(h.val_acc[-1])
    assert h.loss[-1] < 0.5 * h.loss[0]
    assert h.train_acc[-1] > h.train_acc[0]
    out = capsys.readouterr()
    assert out.out == "" and out.err == "", "progress=False must print nothing"


def test_history_fields():
    d = digits()
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10, rng=0))
    h = train.fit(net, nn.SoftmaxCrossEntropy(), (d.X_train[:300], d.y_train[:300]), epochs=3, batch_size=50,
                  optimizer=optim.SGD(net.parameters(), lr=0.5), progress=False)
    assert h.epoch == [1, 2, 3]
    for key in ("loss", "train_acc", "val_acc", "time"):
        assert len(h[key]) == 3
    assert h.keys() == ["epoch", "loss", "train_acc", "val_acc", "time"]
    assert all(math.isnan(v) for v in h.val_acc)  # no val_data
    assert all(0 <= a <= 1 for a in h.train_acc)
    assert all(b > a for a, b in zip(h.time, h.time[1:])) and h.time[0] > 0
    assert h.as_dict()["loss"] == h.loss
    with pytest.raises(KeyError, match="loss"):
        h["accuracy"]


def test_fit_loss_is_the_mean_minibatch_loss_and_matches_a_hand_written_loop():
    d = digits()
    X, y = d.X_train[:200], d.y_train[:200]
    net_a, net_b = small_cnn(3), small_cnn(3)
    loss = nn.SoftmaxCrossEntropy()
    h = train.fit(net_a, loss, (X, y), epochs=2, batch_size=64, optimizer=optim.SGD(net_a.parameters(), lr=0.1),
                  seed=5, progress=False)
    # the same recipe by hand, with the same shuffling
    opt = optim.SGD(net_b.parameters(), lr=0.1)
    rng = np.random.default_rng(5)
    for epoch in range(2):
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), 64):
            idx = order[start:start + 64]
            opt.zero_grad()
            value = loss(net_b(X[idx]), y[idx])
            net_b.backward(loss.backward())
            opt.step()
            total += value * len(idx)
        assert h.loss[epoch] == pytest.approx(total / len(X), rel=1e-12)
    for p, q in zip(net_a.parameters(), net_b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_fit_is_reproducible_for_a_seed():
    d = digits()
    data = (d.X_train[:256], d.y_train[:256])
    runs = []
    for _ in range(2):
        net = small_cnn(1)
        runs.append(train.fit(net, nn.SoftmaxCrossEntropy(), data, 2, 32, optim.SGD(net.parameters(), lr=0.05),
                              seed=3, progress=False).loss)
    assert runs[0] == runs[1]


def test_progress_bar_shows_epoch_and_loss(capsys):
    d = digits()
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10, rng=0))
    train.fit(net, nn.SoftmaxCrossEntropy(), (d.X_train[:128], d.y_train[:128]), 2, 64,
              optim.SGD(net.parameters(), lr=0.1), val_data=(d.X_test, d.y_test))
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "loss=" in err and "val_acc=" in err
    assert err.count("\n") == 1, "one bar for the whole run, not one per epoch"


def test_live_plot_updates_one_display_in_place():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    d = digits()
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10, rng=0))
    with capture_output() as cap:
        train.fit(net, nn.SoftmaxCrossEntropy(), (d.X_train[:128], d.y_train[:128]), 3, 64,
                  optim.SGD(net.parameters(), lr=0.1), progress=False, live_plot=True)
    outputs = cap.outputs
    assert len(outputs) == 4  # the first display, then one in-place update per epoch
    assert all("image/png" in o.data for o in outputs)
    ids = {o.transient["display_id"] for o in outputs}
    assert len(ids) == 1, "every update must target the same display"
    assert not outputs[0].update and all(o.update for o in outputs[1:])


def test_divergence_is_reported_with_a_hint():
    d = digits()
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10, rng=0))
    with pytest.raises(FloatingPointError, match="learning rate"), np.errstate(all="ignore"):
        train.fit(net, nn.SoftmaxCrossEntropy(), (d.X_train * 1e150, d.y_train), 5, 32,
                  optim.SGD(net.parameters(), lr=1e150), progress=False)


def test_fit_rejects_mismatched_data():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, rng=0))
    with pytest.raises(ValueError, match="3 examples but y has 2"):
        train.fit(net, nn.SoftmaxCrossEntropy(), (np.ones((3, 4)), np.zeros(2, int)), 1, 2,
                  optim.SGD(net.parameters(), lr=0.1), progress=False)


# ------------------------------------------------------------------ evaluate / predict
def test_predict_and_evaluate_agree_with_torch_and_leave_no_caches():
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10, rng=rng))
    X, y = rng.random((37, 1, 8, 8)), rng.integers(0, 10, 37)
    twin = torch_twin(net)
    with torch.no_grad():
        expected = twin(torch.from_numpy(X)).argmax(1).numpy()
    pred = train.predict(net, X, batch_size=10)
    assert pred.dtype == np.int64 and pred.shape == (37,)
    np.testing.assert_array_equal(pred, expected)
    assert train.evaluate(net, X, y, batch_size=8) == pytest.approx(np.mean(expected == y))
    assert net.training, "predict puts the model back in training mode"
    assert not any(m.__dict__.get("_saved") for m in net.modules()), "evaluation must not pile up caches"


def test_live_plot_outside_a_notebook_is_a_silent_no_op():
    # a fresh interpreter: no IPython shell, so nothing to draw into and nothing printed
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from course import nn, optim, train\n"
        "net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, rng=0))\n"
        "h = train.fit(net, nn.SoftmaxCrossEntropy(), (np.random.rand(10, 4), np.arange(10) % 2), 2, 5,\n"
        "              optim.SGD(net.parameters(), lr=0.1), progress=False, live_plot=True)\n"
        "assert len(h) == 2\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_fit_reports_perplexity_for_a_sequence_model_and_skips_padding():
    """(N, T, V) logits, padding targets ignored: val_ppl is exp of torch's mean cross-entropy
    over the real tokens only, and training lowers it."""
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    V, T = 7, 5
    ids = rng.integers(0, V, size=(60, T + 1))
    X = np.eye(V)[ids[:, :-1]]                      # (N, T, V) one-hot inputs
    y = ids[:, 1:].copy()                           # next token
    y[::3, -2:] = -100                              # padding at the end of every third sequence
    model = nn.Sequential(nn.Linear(V, V, rng=1))
    loss = nn.CrossEntropyLoss(ignore_index=-100)
    h = train.fit(model, loss, (X[:40], y[:40]), epochs=3, batch_size=8, optimizer=optim.SGD(model.parameters(), lr=0.5),
                  val_data=(X[40:], y[40:]), progress=False, metric="perplexity")
    assert h.keys() == ["epoch", "loss", "train_ppl", "val_ppl", "time"]
    logits = model.eval()(X[40:])
    want = F.cross_entropy(torch.from_numpy(logits.reshape(-1, V)), torch.from_numpy(y[40:].reshape(-1)),
                           ignore_index=-100).item()
    assert h.val_ppl[-1] == pytest.approx(math.exp(want), rel=1e-10)
    assert h.train_ppl[-1] < h.train_ppl[0]
    assert train.evaluate(model, X[40:], y[40:], metric="perplexity", loss=loss) == pytest.approx(h.val_ppl[-1])
    with pytest.raises(ValueError, match="needs the loss"):
        train.evaluate(model, X[40:], y[40:], metric="perplexity")
