"""The training loop: the ML recipe run for a few epochs.

``fit`` repeats, for every minibatch of a shuffled pass over the data:

    optimizer.zero_grad()                  # backward adds into .grad
    scores = model(X_batch)                # forward, each layer saves its cache
    loss_value = loss(scores, y_batch)     # e.g. SoftmaxCrossEntropy
    model.backward(loss.backward())        # d loss / d scores, back through the layers
    optimizer.step()                       # w <- w - lr * grad

and records a ``History`` (per epoch: mean loss, the training and validation
*metric*, elapsed seconds). The metric is data, one entry of ``METRICS``:
``"accuracy"`` for classifiers (scores (B, K) or (B, T, K) against labels) or
``"perplexity"`` for language models (``exp`` of the mean loss per counted token,
so padding tokens that the loss ignores are not counted). One tqdm bar shows the
epoch, running loss and metric; ``live_plot=True`` redraws one loss/metric figure
in place in a notebook. ``evaluate`` and ``predict`` run the model in eval mode,
in batches.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Metric", "METRICS", "History", "fit", "evaluate", "predict", "epoch_batches"]


@dataclass(frozen=True)
class Metric:
    """How to score a model while it trains.

    ``key``: the History columns are ``train_<key>`` and ``val_<key>``; ``label``: for
    plots; ``batch(scores, targets, mean_loss, counted)`` -> ``(total, count)`` for one
    batch (``counted``: the targets the loss counted, a bool mask); ``finish(total,
    count)`` -> the value over many batches; ``needs_loss``: evaluation must run the loss.
    """

    key: str
    label: str
    batch: Callable
    finish: Callable
    needs_loss: bool = False
    log_scale: bool = False


def _accuracy_batch(scores, targets, mean_loss, counted):
    right = (np.argmax(scores, axis=-1) == targets) & counted
    return float(right.sum()), int(counted.sum())


def _perplexity_batch(scores, targets, mean_loss, counted):
    n = int(counted.sum())
    return mean_loss * n, n              # total negative log-likelihood (nats), tokens


METRICS = {
    "accuracy": Metric("acc", "accuracy", _accuracy_batch, lambda t, n: t / max(n, 1)),
    "perplexity": Metric("ppl", "perplexity", _perplexity_batch,
                         lambda t, n: math.exp(t / n) if n else float("nan"), needs_loss=True, log_scale=True),
}


def _metric(metric) -> Metric:
    if isinstance(metric, Metric):
        return metric
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)} or pass a train.Metric")
    return METRICS[metric]


def _counted(targets, loss) -> np.ndarray:
    """The targets a loss counts: all of them, except those equal to its ``ignore_index``."""
    ignore = getattr(loss, "ignore_index", None)
    return np.ones(np.shape(targets), bool) if ignore is None else np.asarray(targets) != ignore


class History:
    """What ``fit`` measured, one entry per epoch (all columns have the same length).

    ``epoch`` 1, 2, ...; ``loss`` mean training loss over the epoch's batches;
    ``train_<key>`` the metric on the training batches as they were seen (while the
    weights were still changing); ``val_<key>`` the metric on ``val_data`` after the
    epoch (``nan`` without val_data); ``time`` seconds since ``fit`` started. With
    the default metric the columns are ``train_acc`` and ``val_acc``; with
    ``metric="perplexity"``, ``train_ppl`` and ``val_ppl``. Columns are attributes
    and keys: ``history.loss``, ``history["val_acc"]``.
    """

    def __init__(self, metric="accuracy"):
        self.metric = _metric(metric)
        k = self.metric.key
        self._columns = {name: [] for name in ("epoch", "loss", f"train_{k}", f"val_{k}", "time")}

    def __getattr__(self, key: str) -> list:
        columns = self.__dict__.get("_columns", {})
        if key in columns:
            return columns[key]
        raise AttributeError(f"History has {', '.join(columns)}; got {key!r}")

    def __getitem__(self, key: str) -> list:
        if key not in self._columns:
            raise KeyError(f"History has {', '.join(self._columns)}; got {key!r}")
        return self._columns[key]

    def append(self, **values) -> None:
        for name, value in values.items():
            self._columns[name].append(value)

    def keys(self) -> list[str]:
        return list(self._columns)

    def as_dict(self) -> dict:
        return {k: list(v) for k, v in self._columns.items()}

    def __len__(self) -> int:
        return len(self._columns["epoch"])

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self._columns.items() if v}
        return f"History({len(self)} epochs, last: {last})"


def progress_bar(**kwargs):
    """A tqdm bar: the notebook widget inside a Jupyter kernel, text on stderr elsewhere.

    Decided at each call (``tqdm.auto`` decides once, when first imported, so a module
    imported in one setting would keep the wrong kind of bar in another)."""
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
        from tqdm.notebook import tqdm
    else:
        from tqdm import tqdm
    return tqdm(**kwargs)


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


def evaluate(model, X, y, batch_size: int = 512, metric="accuracy", loss=None) -> float:
    """The metric of ``model`` on (X, y), in eval mode, in batches.

    Default: accuracy (fraction in [0, 1]) of ``predict(model, X)`` against labels y
    (N,). ``metric="perplexity"`` needs the ``loss`` (e.g. ``nn.CrossEntropyLoss()``):
    ``exp`` of its mean over every counted token of every batch.
    """
    X, y = _check_data("evaluate data", (X, y))
    metric = _metric(metric)
    if metric.needs_loss and loss is None:
        raise ValueError(f"evaluate(..., metric={metric.label!r}) needs the loss: pass loss=nn.CrossEntropyLoss()")
    if metric.key == "acc" and loss is None:
        return float(np.mean(predict(model, X, batch_size) == y))
    was_training = getattr(model, "training", False)
    model.eval()
    total = count = 0.0
    try:
        for idx in epoch_batches(len(X), batch_size):
            scores = model(X[idx])
            counted = _counted(y[idx], loss)
            value = loss(scores, y[idx]) if loss is not None else float("nan")
            t, n = metric.batch(scores, y[idx], value, counted)
            total, count = total + t, count + n
    finally:
        model.train(was_training)
        if loss is not None and hasattr(loss, "clear_cache"):
            loss.clear_cache()
    return float(metric.finish(total, count))


class _LivePlot:
    """One loss/accuracy figure, redrawn in place in a notebook through a display handle."""

    def __init__(self, epochs: int, metric: Metric):
        self.metric = metric
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
        k = self.metric.key
        bx.plot(h.epoch, h[f"train_{k}"], "o-", color="C1", label="train (during epoch)")
        if not np.all(np.isnan(h[f"val_{k}"])):
            bx.plot(h.epoch, h[f"val_{k}"], "s-", color="C2", label="validation")
        bx.set(xlabel="epoch", ylabel=self.metric.label, xlim=(0.5, self.epochs + 0.5))
        if self.metric.log_scale:
            bx.set_yscale("log")
        bx.legend(loc="best")
        for a in (ax, bx):
            a.grid(alpha=0.3)
        self.handle.update(self._image())


def fit(model, loss, data, epochs: int, batch_size: int, optimizer, val_data=None, seed: int = 0,
        progress: bool = True, live_plot: bool = False, metric="accuracy") -> History:
    """Train ``model`` with minibatch SGD; return a ``History``.

    ``model``: a ``course.nn.Module`` mapping X[batch] to scores (B, K), or (B, T, V)
    for a language model. ``loss``: e.g. ``course.nn.CrossEntropyLoss()`` —
    ``loss(scores, y)`` a float (mean per counted target), ``loss.backward()`` the
    gradient of the scores. ``data``, ``val_data``: pairs ``(X, y)``.
    ``optimizer``: e.g. ``course.optim.SGD(model.parameters(), lr=0.05)``.
    ``metric``: ``"accuracy"`` (default) or ``"perplexity"`` (language models), or a
    ``train.Metric``.
    Each epoch visits the examples in a new random order drawn from ``seed``.
    ``progress``: one tqdm bar (epoch, loss, accuracy); ``False`` prints nothing.
    ``live_plot``: redraw one loss/metric figure in place (for notebooks).
    """
    metric = _metric(metric)
    X, y = _check_data("data", data)
    if val_data is not None:
        X_val, y_val = _check_data("val_data", val_data)
    if int(epochs) < 1 or int(batch_size) < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got epochs={epochs}, batch_size={batch_size}")
    rng = np.random.default_rng(seed)
    history = History(metric)
    k = metric.key
    plot = _LivePlot(epochs, metric) if live_plot else None
    n_batches = -(-len(X) // batch_size)
    bar = None
    if progress:  # one bar for the whole run: epochs * batches steps
        bar = progress_bar(total=epochs * n_batches, unit="batch")
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        if bar is not None:
            bar.set_description(f"epoch {epoch}/{epochs}")
        loss_sum, seen, m_total, m_count = 0.0, 0, 0.0, 0
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
            t, n = metric.batch(scores, yb, value, _counted(yb, loss))
            m_total, m_count = m_total + t, m_count + n
            loss_sum += value * len(idx)
            seen += len(idx)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({"loss": f"{loss_sum / seen:.4f}", k: f"{metric.finish(m_total, m_count):.3f}"},
                                refresh=False)
        val = (evaluate(model, X_val, y_val, metric=metric, loss=loss if metric.needs_loss else None)
               if val_data is not None else float("nan"))
        history.append(epoch=epoch, loss=loss_sum / seen, time=time.perf_counter() - start, **{
            f"train_{k}": metric.finish(m_total, m_count), f"val_{k}": val})
        if bar is not None:
            post = {"loss": f"{history.loss[-1]:.4f}", k: f"{history[f'train_{k}'][-1]:.3f}"}
            if val_data is not None:
                post[f"val_{k}"] = f"{val:.3f}"
            bar.set_postfix(post)
        if plot is not None:
            plot.update(history)
    if bar is not None:
        bar.close()
    model.train()
    return history
