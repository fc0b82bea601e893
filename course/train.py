"""The training loop: the ML recipe run for a few epochs.

``fit`` repeats, for every minibatch of a shuffled pass over the data:

    optimizer.zero_grad()                  # backward adds into .grad
    scores = model(X_batch)                # forward, each layer saves its cache
    loss_value = loss(scores, y_batch)     # e.g. SoftmaxCrossEntropy
    model.backward(loss.backward())        # d loss / d scores, back through the layers
    optimizer.step()                       # w <- w - lr * grad

and records a ``History`` (per epoch: mean loss, training accuracy, validation
accuracy, elapsed seconds). One tqdm bar shows the epoch, running loss and
accuracy; ``live_plot=True`` redraws one loss/accuracy figure in place in a
notebook. ``evaluate`` and ``predict`` run the model in eval mode, in batches.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["History", "fit", "evaluate", "predict", "epoch_batches"]


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch (all lists have the same length).

    ``epoch`` 1, 2, ...; ``loss`` mean training loss over the epoch's batches;
    ``train_acc`` accuracy on the training batches as they were seen (while the
    weights were still changing); ``val_acc`` accuracy on ``val_data`` after the
    epoch (``nan`` without val_data); ``time`` seconds since ``fit`` started.
    Indexable like a dict: ``history["loss"]``.
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    time: list = field(default_factory=list)

    def __getitem__(self, key: str) -> list:
        if key not in self.keys():
            raise KeyError(f"History has {', '.join(self.keys())}; got {key!r}")
        return getattr(self, key)

    def keys(self) -> list[str]:
        return list(asdict(self))

    def as_dict(self) -> dict:
        return asdict(self)

    def __len__(self) -> int:
        return len(self.epoch)


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator | None = None):
    """One epoch of minibatch indices: a shuffle drawn from ``rng`` (in order when
    None) cut into batches of ``batch_size``, the last one possibly smaller."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def _check_data(name, data):
    try:
        X, y = data
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (X, y) of arrays, got {type(data).__name__}") from None
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"{name}: X has {len(X)} examples but y has {len(y)}; they must match")
    if len(X) == 0:
        raise ValueError(f"{name} is empty")
    return X, y


def predict(model, X, batch_size: int = 512) -> np.ndarray:
    """Class predictions ``argmax(model(X), axis=1)`` as int64 (N,), in eval mode, in batches."""
    X = np.asarray(X)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        preds = [np.argmax(model(X[idx]), axis=1) for idx in epoch_batches(len(X), batch_size)]
    finally:
        if was_training:
            model.train()
    return np.concatenate(preds).astype(np.int64) if preds else np.zeros(0, dtype=np.int64)


def evaluate(model, X, y, batch_size: int = 512) -> float:
    """Accuracy (fraction in [0, 1]) of ``predict(model, X)`` against labels y (N,)."""
    X, y = _check_data("evaluate data", (X, y))
    return float(np.mean(predict(model, X, batch_size) == y))


class _LivePlot:
    """One loss/accuracy figure, redrawn in place in a notebook through a display handle."""

    def __init__(self, epochs: int):
        from IPython import get_ipython
        from IPython.display import display
        from matplotlib.figure import Figure

        self.epochs = epochs
        self.fig = Figure(figsize=(8, 3), layout="constrained")
        self.ax_loss, self.ax_acc = self.fig.subplots(1, 2)
        # outside IPython/Jupyter there is nothing to draw into: live_plot is a no-op there
        self.handle = display(self._image(), display_id=True) if get_ipython() is not None else None

    def _image(self):
        import io

        from IPython.display import Image

        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=80)
        return Image(data=buf.getvalue(), format="png")

    def update(self, h: History) -> None:
        if self.handle is None:
            return
        ax, bx = self.ax_loss, self.ax_acc
        ax.clear()
        bx.clear()
        ax.plot(h.epoch, h.loss, "o-", color="C0")
        ax.set(xlabel="epoch", ylabel="training loss", xlim=(0.5, self.epochs + 0.5))
        ax.set_yscale("log")
        bx.plot(h.epoch, h.train_acc, "o-", color="C1", label="train (during epoch)")
        if not np.all(np.isnan(h.val_acc)):
            bx.plot(h.epoch, h.val_acc, "s-", color="C2", label="validation")
        bx.set(xlabel="epoch", ylabel="accuracy", xlim=(0.5, self.epochs + 0.5))
        bx.legend(loc="lower right")
        for a in (ax, bx):
            a.grid(alpha=0.3)
        self.handle.update(self._image())


def fit(model, loss, data, epochs: int, batch_size: int, optimizer, val_data=None, seed: int = 0,
        progress: bool = True, live_plot: bool = False) -> History:
    """Train ``model`` with minibatch SGD; return a ``History``.

    ``model``: a ``course.nn.Module`` mapping X[batch] to scores (B, K).
    ``loss``: e.g. ``course.nn.SoftmaxCrossEntropy()`` — ``loss(scores, y)`` a float,
    ``loss.backward()`` the gradient of the scores. ``data``, ``val_data``: pairs
    ``(X, y)``. ``optimizer``: e.g. ``course.optim.SGD(model.parameters(), lr=0.05)``.
    Each epoch visits the examples in a new random order drawn from ``seed``.
    ``progress``: one tqdm bar (epoch, loss, accuracy); ``False`` prints nothing.
    ``live_plot``: redraw one loss/accuracy figure in place (for notebooks).
    """
    X, y = _check_data("data", data)
    if val_data is not None:
        X_val, y_val = _check_data("val_data", val_data)
    if int(epochs) < 1 or int(batch_size) < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got epochs={epochs}, batch_size={batch_size}")
    rng = np.random.default_rng(seed)
    history = History()
    plot = _LivePlot(epochs) if live_plot else None
    n_batches = -(-len(X) // batch_size)
    bar = None
    if progress:  # one bar for the whole run: epochs * batches steps
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs * n_batches, unit="batch")
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        if bar is not None:
            bar.set_description(f"epoch {epoch}/{epochs}")
        loss_sum, correct, seen = 0.0, 0, 0
        for idx in epoch_batches(len(X), batch_size, rng):
            xb, yb = X[idx], y[idx]
            optimizer.zero_grad()
            scores = model(xb)
            value = loss(scores, yb)
            model.backward(loss.backward())
            optimizer.step()
            if not np.isfinite(value):
                if bar is not None:
                    bar.close()
                raise FloatingPointError(
                    f"the loss became {value} in epoch {epoch}: the learning rate is probably too "
                    "large (the weights diverged); try a smaller lr"
                )
            loss_sum += value * len(idx)
            correct += int(np.sum(np.argmax(scores, axis=1) == yb))
            seen += len(idx)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({"loss": f"{loss_sum / seen:.4f}", "acc": f"{correct / seen:.3f}"}, refresh=False)
        history.epoch.append(epoch)
        history.loss.append(loss_sum / seen)
        history.train_acc.append(correct / seen)
        history.val_acc.append(evaluate(model, X_val, y_val) if val_data is not None else float("nan"))
        history.time.append(time.perf_counter() - start)
        if bar is not None:
            post = dict(loss=f"{history.loss[-1]:.4f}", acc=f"{history.train_acc[-1]:.3f}")
            if val_data is not None:
                post["val_acc"] = f"{history.val_acc[-1]:.3f}"
            bar.set_postfix(post)
        if plot is not None:
            plot.update(history)
    if bar is not None:
        bar.close()
    model.train()
    return history
