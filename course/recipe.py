"""The machine-learning recipe on a problem small enough to draw.

Every model in this course is trained with the same four ingredients:

1. training data        {(x_i, y_i)},  i = 1..N
2. a decision function   y_hat = f(x; theta)
3. a loss                l(y_hat, y)
4. an objective          J(theta) = (1/N) sum_i l(f(x_i; theta), y_i)

and the same update, stochastic gradient descent (SGD):

    theta <- theta - eta * grad_theta l_i(theta)          (one example i)
    theta <- theta - eta * (1/B) sum_{i in batch} grad l_i (a minibatch of B)

Here theta = (w, b) has just two numbers, so J(theta) is a surface we can draw
as a contour plot and every step of the optimizer is a point on it:

    f(x; w, b) = w * x + b                     (a line)
    l(y_hat, y) = 1/2 (y_hat - y)^2            (squared error)

Functions (theta is always the pair ``(w, b)``; ``data`` is ``(x, y)``, both (N,)):

- ``make_data(n, seed)``             the seeded synthetic data set
- ``decision_function(x, w, b)``      f(x; w, b), broadcasting over grids of w, b
- ``loss(y_hat, y)``                  per-example squared error
- ``objective(theta, data)``          J(theta), the mean loss
- ``gradient(theta, data, idx)``      grad J over all examples, or over a minibatch ``idx``
- ``loss_surface(w_range, b_range)``  J on a grid, for contour plots: (W, B, J)
- ``minimizer(data)``                 the exact least-squares theta*
- ``hessian(data)``, ``critical_lr(data)``  curvature; gradient descent diverges
                                       for a learning rate above 2 / lambda_max
- ``minibatches(n, batch_size, rng)`` the indices SGD visits, epoch by epoch
- ``sgd_path(start, lr, batch_size, momentum, steps, seed)``  the trajectory of
                                       ``course.optim.SGD`` on J

No plotting here: the lecture and ``course.widgets.SGDExplorer`` draw these arrays.
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

from course.nn import Parameter
from course.optim import SGD
from course.train import epoch_batches

__all__ = [
    "TRUE_W", "TRUE_B", "N_EXAMPLES", "START", "DIVERGENCE_FACTOR",
    "make_data", "decision_function", "loss", "objective", "gradient", "loss_surface",
    "minimizer", "hessian", "critical_lr", "minibatches", "SGDPath", "sgd_path",
]

#: The line that generated the data: y = TRUE_W * x + TRUE_B + noise.
TRUE_W, TRUE_B = 2.0, -1.0
#: Size of the default data set.
N_EXAMPLES = 50
#: Where the lecture and the widget start the optimizer.
START = (-1.5, 3.0)
#: A run has diverged once J grows to this many times its starting value (or max(J, 1)).
DIVERGENCE_FACTOR = 1e3


# --------------------------------------------------------------------------- data
def make_data(n: int = N_EXAMPLES, seed: int = 0, noise: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Seeded synthetic regression data: x (n,) uniform on [-1, 3], y = 2x - 1 + noise.

    The inputs are not centred at zero, so w and b are coupled and the contours
    of J are tilted ellipses: the interesting case for gradient descent.
    Returns ``(x, y)``, both float64 of shape (n,).
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"make_data needs at least one example, got n={n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 3.0, size=n)
    y = TRUE_W * x + TRUE_B + noise * rng.standard_normal(n)
    return x, y


def _check_data(data) -> tuple[np.ndarray, np.ndarray]:
    if data is None:
        return make_data()
    try:
        x, y = data
    except (TypeError, ValueError):
        raise ValueError("data must be a pair (x, y) of 1-D arrays of the same length, "
                         "e.g. make_data()") from None
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError(f"data must be (x, y) with x and y of the same shape (N,), N >= 1; "
                         f"got x {x.shape} and y {y.shape}")
    return x, y


def _check_theta(theta) -> tuple[float, float]:
    t = np.asarray(theta, dtype=np.float64)
    if t.shape != (2,):
        raise ValueError(f"theta must be the pair (w, b) of shape (2,), got shape {t.shape}")
    return float(t[0]), float(t[1])


# --------------------------------------------------------------- the four ingredients
def decision_function(x, w, b):
    """The decision function f(x; w, b) = w * x + b.

    x: (N,). w, b: scalars, or arrays of the same shape S (a grid of parameters);
    then the result has shape S + (N,): one prediction per parameter pair and example.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)[..., None]
    b = np.asarray(b, dtype=np.float64)[..., None]
    out = w * x + b
    return out if out.ndim > 1 else out.reshape(x.shape)


def loss(y_hat, y):
    """Per-example squared error l(y_hat, y) = 1/2 (y_hat - y)^2, elementwise (broadcasts)."""
    return 0.5 * (np.asarray(y_hat, dtype=np.float64) - np.asarray(y, dtype=np.float64)) ** 2


def objective(theta, data=None) -> float:
    """J(theta) = (1/N) sum_i l(f(x_i; theta), y_i), the mean loss over the data set."""
    w, b = _check_theta(theta)
    x, y = _check_data(data)
    return float(np.mean(loss(decision_function(x, w, b), y)))


def gradient(theta, data=None, idx=None) -> np.ndarray:
    """grad J(theta) = (dJ/dw, dJ/db), the mean over all examples or over a minibatch.

    With r_i = w x_i + b - y_i (the residual), the chain rule gives
        dl_i/dw = r_i * x_i,    dl_i/db = r_i.
    idx: None (full batch: gradient descent) or the indices (B,) of a minibatch;
    a single index gives the one-example gradient of plain SGD.
    Returns (2,) float64.
    """
    w, b = _check_theta(theta)
    x, y = _check_data(data)
    if idx is not None:
        idx = np.atleast_1d(np.asarray(idx))
        if idx.size == 0:
            raise ValueError("a minibatch needs at least one index; got an empty idx")
        x, y = x[idx], y[idx]
    r = w * x + b - y
    return np.array([np.mean(r * x), np.mean(r)])


def loss_surface(w_range=(-3.0, 5.0), b_range=(-4.0, 4.0), num: int = 121, data=None):
    """J evaluated on a grid of (w, b), ready for ``plt.contour(W, B, J)``.

    w_range, b_range: (low, high). num: points per axis.
    Returns ``(W, B, J)``, each (num, num), W varying along columns (axis 1).
    """
    x, y = _check_data(data)
    if num < 2:
        raise ValueError(f"loss_surface needs num >= 2 points per axis, got {num}")
    w = np.linspace(*w_range, num)
    b = np.linspace(*b_range, num)
    W, B = np.meshgrid(w, b)
    # J(w, b) = 1/2 mean((w x + b - y)^2), expanded so a big grid costs O(grid), not O(grid * N)
    sxx, sx, sy, sxy, syy = (np.mean(x * x), np.mean(x), np.mean(y), np.mean(x * y), np.mean(y * y))
    J = 0.5 * (W**2 * sxx + 2 * W * B * sx + B**2 - 2 * W * sxy - 2 * B * sy + syy)
    return W, B, J


def minimizer(data=None) -> np.ndarray:
    """The exact least-squares solution theta* = (w*, b*): where grad J = 0. Returns (2,)."""
    x, y = _check_data(data)
    A = np.stack([x, np.ones_like(x)], axis=1)
    return np.linalg.lstsq(A, y, rcond=None)[0]


def hessian(data=None) -> np.ndarray:
    """The (constant) Hessian of J: (1/N) sum_i [[x_i^2, x_i], [x_i, 1]], shape (2, 2)."""
    x, _ = _check_data(data)
    return np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])


def critical_lr(data=None, momentum: float = 0.0) -> float:
    """The learning rate above which full-batch gradient descent diverges on J.

    Along the steepest direction of the bowl (Hessian eigenvalue lambda_max) each
    step multiplies the error by (1 - eta * lambda_max): it grows once eta > 2 / lambda_max.
    With heavy-ball momentum mu the limit is 2 (1 + mu) / lambda_max.
    """
    lam_max = float(np.linalg.eigvalsh(hessian(data))[-1])
    return 2.0 * (1.0 + momentum) / lam_max


# ------------------------------------------------------------------------- SGD
def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless stream of minibatch indices: each epoch a fresh shuffle cut into batches
    (``course.train.epoch_batches``, the batches ``fit`` visits, epoch after epoch).

    As PyTorch's ``DataLoader(shuffle=True, drop_last=False)``: an epoch of n examples
    gives ceil(n / batch_size) batches, the last one possibly smaller.
    batch_size = 1 is plain SGD; batch_size = n is full-batch gradient descent.
    """
    while True:
        yield from epoch_batches(n, batch_size, rng)


class SGDPath(NamedTuple):
    """What ``sgd_path`` returns: unpack it as ``trajectory, diverged = sgd_path(...)``.

    trajectory: (T + 1, 2) float64, theta before the first step and after each step
    (fewer rows when the run diverged: it stops at the first blown-up point).
    diverged: True if J became non-finite or grew past ``DIVERGENCE_FACTOR`` times
    its starting value: each step overshoots the valley by more than it gains.
    """

    trajectory: np.ndarray
    diverged: bool


def sgd_path(start=START, lr: float = 0.1, batch_size: int = 1, momentum: float = 0.0,
             steps: int = 50, seed: int = 0, data=None, lr_schedule=None) -> SGDPath:
    """Run (minibatch) SGD on J from ``start`` and record every theta it visits.

    start: (w, b). lr: the learning rate eta > 0. batch_size: 1 (SGD) .. N
    (full-batch gradient descent). momentum: mu in [0, 1). steps: number of updates.
    seed: the shuffling of the examples (the data set itself is ``data``, default
    ``make_data()``). Returns ``SGDPath(trajectory (steps + 1, 2), diverged)``.

    lr_schedule: a decaying learning rate, as PyTorch's ``LambdaLR``: step t
    (t = 0, 1, ...) uses eta_t = lr * lr_schedule(t); e.g.
    ``lambda t: 1 / (1 + t / 20)``. None keeps eta_t = lr at every step.
    """
    x, y = _check_data(data)
    n = x.size
    theta = np.array(_check_theta(start))
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive number, got lr={lr}")
    if int(batch_size) != batch_size or not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be an integer from 1 (SGD) to N={n} "
                         f"(full-batch gradient descent), got {batch_size}")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}; 0.9 is the usual choice")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps}")
    if lr_schedule is not None and not callable(lr_schedule):
        raise ValueError(f"lr_schedule must be a function of the step t giving the factor eta_t / eta_0, "
                         f"e.g. lambda t: 1 / (1 + t / 20); got {lr_schedule!r}")

    batches = minibatches(n, int(batch_size), np.random.default_rng(seed))
    p = Parameter(theta)                       # theta = (w, b) as the optimizer's parameter
    optimizer = SGD([p], lr=lr, momentum=momentum)
    path = [theta]
    too_big = DIVERGENCE_FACTOR * max(objective(theta, (x, y)), 1.0)
    for t in range(int(steps)):
        if lr_schedule is not None:
            factor = float(lr_schedule(t))
            if not (np.isfinite(factor) and factor >= 0):
                raise ValueError(f"lr_schedule({t}) = {factor}: the factor eta_t / eta_0 must be a finite "
                                 f"number >= 0")
            optimizer.lr = lr * factor             # eta_t
        p.grad[...] = gradient(p.data, (x, y), next(batches))
        with np.errstate(over="ignore", invalid="ignore"):
            optimizer.step()                   # v <- mu v + g;  theta <- theta - eta v
            path.append(p.data.copy())
            J = objective(p.data, (x, y))
        if not np.isfinite(J) or J > too_big:
            return SGDPath(np.array(path), True)
    return SGDPath(np.array(path), False)
