"""The self-checks of the lectures' "your turn" cells.

Each lecture has one short exercise: a cell the student edits, then a cell that
prints ``check_<name>(answer)``. Every check returns one line of text and never
raises, so a lecture with its placeholder left unchanged still runs top to
bottom. The line starts with one of

- ``"not done yet"``: the placeholder is unchanged;
- ``"correct"``: the answer is right;
- ``"not yet"``: an answer, but a wrong one, with a hint that names the mistake.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["NOT_DONE", "CORRECT", "WRONG", "check_right_difference", "check_output_size",
           "check_step_decay", "check_avg_pool_backward", "check_param_count"]

NOT_DONE, CORRECT, WRONG = "not done yet", "correct", "not yet"


def _call(fn, *args):
    """fn(*args), or the error it raised as a string (the checks report, they never raise)."""
    try:
        return fn(*args), None
    except Exception as exc:  # noqa: BLE001 - a student's bug is reported, not raised
        return None, f"{WRONG}: your function raised {type(exc).__name__}: {exc}"


def _never_raises(check):
    """A check that cannot make sense of the answer says so instead of raising."""
    @functools.wraps(check)
    def wrapper(answer, *args, **kwargs):
        try:
            return check(answer, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            return f"{WRONG}: could not check {answer!r} ({type(exc).__name__}: {exc})"
    return wrapper


# ---------------------------------------------------------------- lecture 1
@_never_raises
def check_right_difference(w) -> str:
    """Lecture 1: a 3x3 kernel whose output is each pixel's right neighbour minus the pixel,
    ``y[i, j] = x[i, j + 1] - x[i, j]`` at the kernel's centre (padding="same")."""
    from course import conv

    w = np.asarray(w, dtype=np.float64)
    if w.shape != (3, 3):
        return f"{WRONG}: the kernel must be 3x3, got shape {w.shape}"
    if not w.any():
        return f"{NOT_DONE}: w_yours is still all zeros; put a -1 and a +1 in the right places"
    x = np.random.default_rng(0).random((7, 9))
    y = conv.filter_image(x, w, padding="same")
    want = np.zeros_like(x)
    want[:, :-1] = x[:, 1:] - x[:, :-1]
    want[:, -1] = -x[:, -1]                   # the zero padding beyond the last column
    if np.allclose(y, want):
        return f"{CORRECT}: the centre weight -1 picks x[i, j], the weight +1 to its right picks x[i, j + 1]"
    if np.allclose(y, -want):
        return f"{WRONG}: your kernel gives x[i, j] - x[i, j + 1], the sign is flipped"
    if abs(w.sum()) > 1e-12:
        return f"{WRONG}: the weights sum to {w.sum():g}; a difference of two pixels must give 0 on a flat image"
    return (f"{WRONG}: at pixel (3, 4) your kernel gives {y[3, 4]:.3f}, x[3, 5] - x[3, 4] = {want[3, 4]:.3f}; "
            f"weight w[u, v] multiplies x[i + u - 1, j + v - 1]")


# ---------------------------------------------------------------- lecture 2
@_never_raises
def check_output_size(answer, n: int = 20, k: int = 5, p: int = 2, s: int = 3) -> str:
    """Lecture 2: the output size for input n, kernel k, padding p, stride s, worked out by hand."""
    if answer is None:
        return f"{NOT_DONE}: replace None by your number"
    right = (n + 2 * p - k) // s + 1
    if answer == right:
        return f"{CORRECT}: floor(({n} + 2*{p} - {k}) / {s}) + 1 = floor({n + 2 * p - k}/{s}) + 1 = {right}"
    if not float(answer).is_integer():
        return f"{WRONG}: {answer} is not a whole number of pixels: the formula takes the floor before adding 1"
    if answer == (n - k) // s + 1:
        return f"{WRONG}: {answer} is the size without the padding; the padded input is n + 2p = {n + 2 * p} long"
    if answer == n + 2 * p - k + 1:
        return f"{WRONG}: {answer} is the size with stride 1; stride {s} keeps every {s}-th window position"
    return f"{WRONG}: {answer}; count the window positions 0, {s}, {2 * s}, ... whose last pixel stays inside"


# ---------------------------------------------------------------- lecture 3
@_never_raises
def check_step_decay(schedule, every: int = 25, gamma: float = 0.5) -> str:
    """Lecture 3: ``schedule(t)`` is the step-decay factor eta_t / eta_0 = gamma ** floor(t / every)."""
    t = np.arange(4 * every)
    values, error = _call(lambda: [schedule(int(i)) for i in t])
    if error:
        return error
    if all(v is None for v in values):
        return f"{NOT_DONE}: step_decay still returns None"
    if any(v is None for v in values):
        return f"{WRONG}: step_decay returns None for some t; return a number for every step"
    values = np.array(values, dtype=float)
    want = gamma ** (t // every)
    if np.allclose(values, want):
        return f"{CORRECT}: the factor is 1 for t < {every}, {gamma} up to {2 * every}, {gamma ** 2} up to {3 * every}, ..."
    if np.allclose(values, gamma ** (t / every)):
        return f"{WRONG}: that is a smooth exponential decay; a *step* decay stays constant for {every} steps (floor)"
    if np.allclose(values, gamma ** (t // every + 1)):
        return f"{WRONG}: your factor is {values[0]:g} at t = 0; the first {every} steps use the full rate, factor 1"
    bad = int(np.flatnonzero(~np.isclose(values, want))[0])
    return f"{WRONG}: step_decay({bad}) = {values[bad]:g}, expected {gamma} ** ({bad} // {every}) = {want[bad]:g}"


# ---------------------------------------------------------------- lecture 4
@_never_raises
def check_avg_pool_backward(fn, k: int = 2) -> str:
    """Lecture 4: ``fn(grad_y, k)``, the backward of non-overlapping k x k average pooling:
    grad_y (N, C, H/k, W/k) -> grad_x (N, C, H, W)."""
    from course import pool

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 6))
    grad_y = rng.standard_normal((2, 3, 2, 3))
    got, error = _call(fn, grad_y, k)
    if error:
        return error
    if got is None:
        return f"{NOT_DONE}: avg_pool_backward_yours still returns None"
    got = np.asarray(got, dtype=np.float64)
    want = pool.avg_pool2d_backward(grad_y, x, k)
    if got.shape != want.shape:
        return f"{WRONG}: for grad_y {grad_y.shape} the gradient must have the input's shape {want.shape}, got {got.shape}"
    if np.allclose(got, want):
        return f"{CORRECT}: each input pixel gets 1/{k * k} of its window's upstream gradient"
    if np.allclose(got, want * k * k):
        return f"{WRONG}: you copy the upstream gradient to every pixel; each pixel only counts 1/{k * k} in the mean"
    return f"{WRONG}: grad_x[0, 0, 0, 0] = {got[0, 0, 0, 0]:.4f}, expected grad_y[0, 0, 0, 0] / {k * k} = {want[0, 0, 0, 0]:.4f}"


# ---------------------------------------------------------------- lecture 5
@_never_raises
def check_param_count(answer, filters: int = 8, pooled: bool = False) -> str:
    """Lecture 5: the number of parameters of conv 3x3 (1 -> filters, padding 1) -> ReLU ->
    [max pool 2x2] -> flatten -> linear to 10 classes, on 8x8 digits, counted by hand."""
    if answer is None:
        return f"{NOT_DONE}: replace None by your count"
    side = 4 if pooled else 8
    conv_w, conv_b = filters * 9, filters
    lin_w, lin_b = filters * side * side * 10, 10
    right = conv_w + conv_b + lin_w + lin_b
    if answer == right:
        return (f"{CORRECT}: conv {conv_w} + {conv_b} biases, linear {filters}*{side}*{side}*10 = {lin_w} "
                f"+ {lin_b} biases = {right}")
    if answer == conv_w + lin_w:
        return f"{WRONG}: {answer} counts the weights only; the {filters} + 10 biases are parameters too"
    other = filters * 9 + filters + filters * (12 - side) ** 2 * 10 + 10
    if answer == other:
        return f"{WRONG}: {answer} is the {'un' if pooled else ''}pooled network; this one has {side}x{side} feature maps"
    return f"{WRONG}: {answer}; count the convolution (weights and biases) and the linear layer separately"
