"""Checks for Assignment 2 (backpropagation, layers as modules, training a CNN).

One ``check_<thing>`` per graded piece, like ``course.checkers.a1_convolution``.
Each builds the student's object (a ``Value``, a layer class that subclasses
``course.nn.Module``, a function), runs it on one case, computes the expected
answer with PyTorch's autograd (float64), and raises
:class:`~course.checkers.core.CheckFailure` naming the case, the shapes, an
excerpt and, when the wrong answer is what a known mistake produces, the
mistake: a bias gradient that is not summed over the batch, a transposed
weight gradient, a ReLU mask taken from the wrong array, a softmax that
overflows without the max shift, gradients that are assigned instead of added,
an SGD step that forgets to zero the gradients, ...

Delegation is refused per graded function, not per module: the student's
layers may (and do) use ``course.nn.Module``'s ``save_for_backward`` /
``pop_saved`` and the forward helpers of ``course.conv`` / ``course.pool``, but
a graded ``backward`` that calls the course's reference for the same thing
(``course.nn.Conv2d.backward``, ``course.conv.conv2d_backward``,
``course.pool.max_pool2d_backward``, ``course.optim.SGD.step``, ...) or PyTorch
scores no points, with a message saying why.  Test cells stay short::

    a2.check_linear(Linear, n=4, in_features=3, out_features=5, seed=1)

The known mistakes are data, as in Assignment 1: :data:`MISTAKES` maps each graded
answer (``"Linear.backward (weight.grad)"``, the name its failure starts with) to
its catalogue of :class:`~course.checkers.core.Known` mistakes (name, the wrong
answer it gives on a case, the message).  A case is a dict of what the student's
code was given (for a layer: the inputs ``xs`` of its forwards and the upstream
gradients ``gs`` of its backwards, in forward order, and its parameters).
"""
from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable

import numpy as np

from course import conv, nn, pool, train
from course._validate import as_pair
from course.checkers import a1_convolution as a1
from course.checkers import core as checks
from course.checkers.a1_convolution import check_max_pool2d_backward as _check_max_pool2d_backward
from course.checkers.core import CheckFailure, Known, Mistake, Shape, describe, expect_close, mistakes_on
from course.checkers.layers import run_twice, set_params, torch_twice

__all__ = [
    "CheckFailure", "MISTAKES", "random_case_rng", "random_expression", "check_value_op", "check_value_graph",
    "check_gradcheck", "check_linear", "check_relu", "check_softmax_cross_entropy", "check_conv2d",
    "check_max_pool2d_backward", "check_maxpool2d", "check_sgd_step", "check_cnn", "check_training",
]


def random_case_rng(seed: int) -> np.random.Generator:
    """The random generator hidden tests draw their cases from (fixed seed: same cases every run)."""
    return np.random.default_rng(seed)


# =================================================================== delegation
# While a student's function runs, any call into the course package or PyTorch
# is refused (course.checkers.core.call), except what each exercise hands the
# student (ALLOW).  FORBID: the course's reference for the same computation,
# refused even when reached through allowed code (gradcheck, Sequential).
MODULE = ("course.nn.module",)                       # Module and Parameter: save_for_backward, pop_saved, ...
FORWARD_HELPERS = (conv.conv2d, conv.pad2d, conv.im2col, conv.output_size, pool.max_pool2d)
ALLOW = {
    "value": (),
    "linear": MODULE + FORWARD_HELPERS,
    "relu": MODULE + FORWARD_HELPERS,
    "softmax": MODULE + FORWARD_HELPERS,
    "conv": MODULE + FORWARD_HELPERS,
    "pool_fn": (conv.pad2d, conv.output_size),
    "pool": MODULE + FORWARD_HELPERS,
    "sgd": ("course.nn",),                           # the model and loss it is handed are course.nn objects
    "training": MODULE + FORWARD_HELPERS + (nn.Sequential, nn.Flatten, train.evaluate, train.predict),
}
FORBID = {
    "value": ("course.autodiff",),
    "linear": (nn.Linear.backward,),
    "relu": (nn.ReLU.forward, nn.ReLU.backward),
    "softmax": (nn.SoftmaxCrossEntropy.forward, nn.SoftmaxCrossEntropy.backward),
    "conv": (nn.Conv2d.backward, conv.conv2d_backward, conv.col2im),
    "pool_fn": (pool.max_pool2d_backward,),
    "pool": (nn.MaxPool2d.backward, pool.max_pool2d_backward),
    "sgd": ("course.optim", train.fit),
}
FORBID["training"] = tuple(f for group in FORBID.values() for f in group)


def call(fn: Callable, *args, name: str, case: str = "", group: str = "training", harness: bool = False,
         unlocked: tuple = (), **kwargs):
    """``checks.call`` (every failure becomes a CheckFailure) with the allow- and forbid-lists of ``group``.

    ``harness=True``: ``fn`` is the checker's own glue around the student's code.
    ``unlocked``: the course's versions standing in for pieces that failed their own tests (``_graded_once``).
    """
    forbid = tuple(f for f in FORBID[group] if f not in unlocked)
    try:
        return checks.call(fn, *args, name=name, case=case, allow=ALLOW[group] + tuple(unlocked), forbid=forbid,
                           harness=harness, **kwargs)
    except CheckFailure as failure:
        raise _shape_hint(failure, name, case) from failure.__cause__


def _shape_hint(failure: CheckFailure, name: str, case: str) -> CheckFailure:
    """``x.grad += g`` with a g of the wrong shape raises a broadcasting ValueError: say what it means."""
    cause = failure.__cause__
    if "backward" in name and isinstance(cause, ValueError) and "broadcast" in str(cause):
        return CheckFailure(
            f"{name}: a gradient has the wrong shape: each gradient has the shape of what it is the gradient "
            f"of (weight.grad like weight, bias.grad like bias: sum over the batch and position axes)"
            f"{_case(case)}\n  NumPy said: {str(cause).strip().splitlines()[0]}")
    return failure


def _case(case: str) -> str:
    return f"\n  case: {case}" if case else ""


def _torch():
    import torch

    return torch


def _t(a, grad: bool = False):
    """float64 torch tensor (a copy), optionally requiring grad."""
    torch = _torch()
    t = torch.tensor(np.asarray(a, dtype=np.float64))
    return t.requires_grad_(True) if grad else t


# ============================================================ the catalogue
def _local(c) -> dict:
    """The right local derivatives d out / d input of a Value op, by input name."""
    if c["op"] == "mul":
        return {"a": c["y"], "b": c["x"]}
    if c["op"] == "tanh":
        t = math.tanh(c["x"])
        return {"a": 1 - t * t}
    return {"a": math.exp(c["x"])}


def _n(c) -> int:
    """The batch size of a layer case."""
    return len(c["xs"][0])


def _twice(c) -> bool:
    return len(c["xs"]) > 1


def _square(w) -> bool:
    return w.shape[0] == w.shape[1]


def _linear_dw(xs, gs):
    """d loss/d W of Linear summed over the uses: sum of grad_output.T @ x."""
    return sum(g.T @ x for x, g in zip(xs, gs))


def _probs(c):
    return np.exp(_log_softmax(np.asarray(c["logits"], float)))


def _onehot(c):
    return np.eye(np.shape(c["logits"])[1])[c["targets"]]


def _cross_entropy(c) -> float:
    logits = np.asarray(c["logits"], float)
    return -float(np.mean(_log_softmax(logits)[np.arange(len(logits)), c["targets"]]))


def _conv_grads(c, x, g, weight=None):
    """(grad_x, weight.grad, bias.grad) of one use of Conv2d(stride, padding) on x, with torch (float64)."""
    F = _torch().nn.functional
    s, p = as_pair(c["stride"], "stride"), as_pair(c["padding"], "padding")
    one = torch_twice(lambda t, weight, bias: F.conv2d(t, weight, bias, stride=s, padding=p), [x], [g],
                      {"weight": c["W"] if weight is None else weight, "bias": c["b"]})
    return one.grads_x[0], one.param_grads["weight"], one.param_grads["bias"]


def _padded_shape(c) -> Shape | None:
    """The shape of the padded input of Conv2d, where there is padding."""
    (ph, pw), (n, ch, h, w) = as_pair(c["padding"], "padding"), c["x"].shape
    return Shape((n, ch, h + 2 * ph, w + 2 * pw)) if (ph, pw) != (0, 0) else None


def _conv_dw(c):
    return sum(_conv_grads(c, x, g)[1] for x, g in zip(c["xs"], c["gs"]))


_NO_CHAIN = Known("no chain rule", lambda c: None if c["same"] else {k: c["p"] + d for k, d in _local(c).items()},
                  "forgot the chain rule: multiply the local derivative by out.grad")
_ASSIGNED = Known("assigned", lambda c: None if c["same"] or c["p"] == 0 else
                  {k: c["g"] * d for k, d in _local(c).items()},
                  "assigned (=) instead of adding (+=): a gradient already in .grad was lost; "
                  "a node used several times must collect every contribution")
_OVERWROTE = "the second backward overwrote the first one's gradient: ADD (+=) into .grad"

#: The named mistakes of each graded answer: (name, the wrong answer it gives on a case, message).
#: Value ops: case ``op, x, y`` (the inputs' data; y = x for ``a * a``), ``g`` (out.grad), ``p`` (each
#: input's .grad before), ``same`` (one node as both factors); the answer is {input name: its .grad}.
#: Layers: ``x, g`` (one use) or ``xs, gs`` (every use, forward order), ``W, b``, ``stride, padding``.
MISTAKES: dict[str, list[Known]] = {
    "Value.__mul__": [
        Known("one contribution", lambda c: {"a": c["p"] + c["g"] * c["x"]} if c["same"] else None,
              "a node used twice kept only one contribution: add (+=) into self.grad and "
              "other.grad, never assign (=); here self and other are the same node"),
        Known("factors swapped", lambda c: None if c["same"] else
              {"a": c["p"] + c["g"] * c["x"], "b": c["p"] + c["g"] * c["y"]},
              "factors swapped: d(a * b)/da is b, the OTHER factor: "
              "self.grad += other.data * out.grad"),
        _NO_CHAIN, _ASSIGNED,
    ],
    "Value.tanh": [
        Known("derivative of the input", lambda c: {"a": c["p"] + c["g"] * (1 - c["x"] * c["x"])},
              "d tanh(x)/dx = 1 - tanh(x)**2: square the OUTPUT t = out.data, not the input x"),
        Known("1 - t", lambda c: {"a": c["p"] + c["g"] * (1 - math.tanh(c["x"]))},
              "d tanh(x)/dx = 1 - t**2 with t squared (you used 1 - t)"),
        _NO_CHAIN, _ASSIGNED,
    ],
    "Value.exp": [
        Known("the input", lambda c: {"a": c["p"] + c["g"] * c["x"]},
              "d exp(x)/dx = exp(x), which is out.data; you used the input x"),
        _NO_CHAIN, _ASSIGNED,
    ],
    "Linear.backward (returned grad_x)": [
        Known("W transposed", lambda c: c["g"] @ c["W"].T if _square(c["W"]) else None,
              "grad_x used W transposed: d loss/d x = grad_output @ W (shape (N, in_features))"),
        Known("grad_output", lambda c: c["g"] if c["g"].shape == c["x"].shape else Shape(c["g"].shape),
              "returned grad_output: the gradient for x is grad_output @ W, shape (N, in_features)"),
        Known("weight gradient", lambda c: Shape(c["W"].shape) if c["W"].shape != c["x"].shape else None,
              "returned None or the weight gradient: return d loss/d x (N, in_features)"),
    ],
    "Linear.backward (weight.grad)": [
        Known("overwrote", lambda c: _linear_dw(c["xs"][:1], c["gs"][:1]) if _twice(c) else None,
              _OVERWROTE + " (a layer used twice collects both contributions)"),
        Known("last forward's input", lambda c: _linear_dw([c["xs"][-1]] * len(c["xs"]), c["gs"])
              if _twice(c) else None,
              "both backwards used the input of the LAST forward: get x from "
              "self.pop_saved() (one cache per forward, last in first out)"),
        Known("still zero", lambda c: np.zeros_like(c["W"]),
              "weight.grad is still zero: ADD d loss/d W = grad_output.T @ x into self.weight.grad"),
        Known("transposed", lambda c: _linear_dw(c["xs"], c["gs"]).T if _square(c["W"]) else
              Shape(c["W"].shape[::-1]),
              "weight gradient transposed: weight.grad must have weight's shape (out_features, "
              "in_features): grad_output.T @ x"),
        Known("divided by N", lambda c: _linear_dw(c["xs"], c["gs"]) / _n(c) if _n(c) > 1 else None,
              "weight gradient divided by the batch size: the loss already averages over the batch, "
              "so a layer SUMS over its examples (grad_output.T @ x)"),
        Known("first example", lambda c: _linear_dw([x[:1] for x in c["xs"]], [g[:1] for g in c["gs"]])
              if _n(c) > 1 else None,
              "weight gradient of the first example only: grad_output.T @ x sums over the whole batch"),
    ],
    "Linear.backward (bias.grad)": [
        Known("overwrote", lambda c: c["gs"][0].sum(axis=0) if _twice(c) else None,
              _OVERWROTE + " (a layer used twice collects both contributions)"),
        Known("still zero", lambda c: np.zeros_like(c["b"]),
              "bias.grad is still zero: ADD grad_output.sum(axis=0) into self.bias.grad"),
        Known("first example", lambda c: sum(g[0] for g in c["gs"]) if _n(c) > 1 else None,
              "bias gradient not summed over the batch: grad_output[0] is the first example's; "
              "use grad_output.sum(axis=0)"),
        Known("averaged", lambda c: sum(g.mean(axis=0) for g in c["gs"]) if _n(c) > 1 else None,
              "bias gradient averaged over the batch: SUM it (grad_output.sum(axis=0)); the loss "
              "already divides by N"),
        Known("not summed", lambda c: Shape(c["gs"][0].shape),
              "bias gradient not summed over the batch: it has shape (N, out_features); "
              "use grad_output.sum(axis=0)"),
    ],
    "ReLU.forward": [
        Known("the mask", lambda c: (c["x"] > 0).astype(float),
              "returned the mask, not the values: forward returns max(x, 0)"),
        Known("negatives kept", lambda c: np.abs(c["x"]), "kept the negative values: ReLU zeroes them, max(x, 0)"),
    ],
    "ReLU.backward": [
        Known("last forward's mask", lambda c: c["g"] * (c["xs"][-1] > 0) if _twice(c) else None,
              "both backwards used the mask of the LAST forward: save it with "
              "self.save_for_backward and get it back with self.pop_saved() "
              "(a stack: one cache per forward)"),
        Known("x >= 0", lambda c: c["g"] * (c["x"] >= 0),
              "the gradient at x == 0 must be 0 (PyTorch's convention): the mask is x > 0, not x >= 0"),
        Known("mask from grad_output", lambda c: c["g"] * (c["g"] > 0),
              "mask taken from grad_output: the gradient flows where the INPUT x was positive "
              "(save x > 0 in forward)"),
        Known("the mask", lambda c: (c["x"] > 0).astype(float),
              "returned the mask: multiply it by grad_output (chain rule)"),
        Known("unchanged", lambda c: c["g"],
              "gradient passed through unchanged: zero it where x <= 0 (a mask from the output, "
              "y >= 0, is always true)"),
    ],
    "SoftmaxCrossEntropy.forward": [            # case: logits, targets; the answer is the loss
        Known("sum", lambda c: _cross_entropy(c) * len(c["targets"]) if len(c["targets"]) > 1 else None,
              "the loss is the SUM over the batch: return the mean (divide by N)"),
        Known("sign", lambda c: -_cross_entropy(c),
              "sign flipped: the loss is -log(softmax[target]), a positive number"),
        Known("log10", lambda c: _cross_entropy(c) / np.log(10),
              "used log10: the cross-entropy uses the natural logarithm (np.log)"),
    ],
    "SoftmaxCrossEntropy.backward": [           # case: logits, targets, scale (grad_output)
        Known("not divided by N", lambda c: c["scale"] * (_probs(c) - _onehot(c)) if len(c["targets"]) > 1 else None,
              "gradient not divided by N: the loss is a mean over the batch, so each row gets "
              "(softmax - onehot) / N"),
        Known("no - 1", lambda c: c["scale"] * _probs(c) / len(c["targets"]),
              "forgot to subtract 1 at each target class: the gradient is (softmax - onehot) / N"),
        Known("sign", lambda c: -c["scale"] * (_probs(c) - _onehot(c)) / len(c["targets"]),
              "sign flipped: the gradient is (softmax - onehot) / N"),
        Known("grad_output ignored", lambda c: (_probs(c) - _onehot(c)) / len(c["targets"])
              if c["scale"] != 1.0 else None,
              "ignored grad_output: multiply the gradient by it (chain rule; it is 1.0 when the loss "
              "is the last node)"),
        Known("one number", lambda c: Shape(()), "returned one number: the gradient has the logits' shape (N, K)"),
    ],
    "Conv2d.backward (returned grad_x)": [
        Known("padded shape", _padded_shape,
              "grad_x has the padded input's shape: cut the padding off (grad_x has the shape of x)"),
        Known("kernel flipped", lambda c: _conv_grads(c, c["x"], c["g"], c["W"][..., ::-1, ::-1].copy())[0],
              "grad_x used the kernel flipped: scatter grad_output[n, f, r, c] * W[f, :, i, j] back onto "
              "the input pixels x[n, :, r*s + i, c*s + j] it multiplied"),
        Known("output's shape", lambda c: Shape(c["g"].shape),
              "grad_x has the output's shape: it must have the shape of x"),
    ],
    "Conv2d.backward (weight.grad)": [
        Known("overwrote", lambda c: _conv_grads(c, c["xs"][0], c["gs"][0])[1] if _twice(c) else None, _OVERWROTE),
        Known("still zero", lambda c: np.zeros_like(c["W"]),
              "weight.grad is still zero: ADD d loss/d W into self.weight.grad"),
        Known("first image", lambda c: sum(_conv_grads(c, x[:1], g[:1])[1] for x, g in zip(c["xs"], c["gs"]))
              if _n(c) > 1 else None,
              "weight gradient of the first image only: sum over the batch (and over all output positions)"),
        Known("divided by N", lambda c: _conv_dw(c) / _n(c) if _n(c) > 1 else None,
              "weight gradient divided by the batch size: the loss already averages; a layer sums"),
        Known("flipped", lambda c: _conv_dw(c)[..., ::-1, ::-1] if np.prod(c["W"].shape[2:]) > 1 else None,
              "weight gradient flipped (true convolution): grad_W[f, c, i, j] = sum of grad_output[n, f, r, col] "
              "* x_padded[n, c, r*s + i, col*s + j]"),
        Known("C_in, C_out", lambda c: _conv_dw(c).swapaxes(0, 1) if _square(c["W"]) else
              Shape((c["W"].shape[1], c["W"].shape[0]) + c["W"].shape[2:]),
              "weight gradient has axes (C_in, C_out, ...): it must have weight's shape (C_out, C_in, KH, KW)"),
    ],
    "Conv2d.backward (bias.grad)": [
        Known("overwrote", lambda c: c["gs"][0].sum(axis=(0, 2, 3)) if _twice(c) else None, _OVERWROTE),
        Known("still zero", lambda c: np.zeros_like(c["b"]),
              "bias.grad is still zero: ADD grad_output.sum(axis=(0, 2, 3)) into self.bias.grad"),
        Known("batch only", lambda c: Shape(c["gs"][0].shape[1:]),
              "bias gradient summed over the batch only: also sum over every output position, "
              "grad_output.sum(axis=(0, 2, 3))"),
        Known("averaged", lambda c: sum(g.mean(axis=(0, 2, 3)) for g in c["gs"]),
              "bias gradient averaged: SUM over the batch and positions, grad_output.sum(axis=(0, 2, 3))"),
        Known("first image", lambda c: sum(g[0].sum(axis=(1, 2)) for g in c["gs"]) if _n(c) > 1 else None,
              "bias gradient of the first image only: sum over the batch too"),
    ],
    # and Assignment 1's max_pool2d_backward catalogue (a1.MISTAKES): case g, x, k, stride, padding, xs
    "MaxPool2d.backward": [
        Known("last forward's input", lambda c: pool.max_pool2d_backward(c["g"], c["xs"][-1], c["k"], c["stride"],
                                                                         c["padding"]) if _twice(c) else None,
              "both backwards used the input of the LAST forward: save x with "
              "self.save_for_backward and take it back with self.pop_saved() (a stack: "
              "one cache per forward)"),
    ],
    # case: sizes, seed, batches, lr; the answer is the parameters after each step (course.nn, plain SGD)
    "sgd_step": [
        Known("no zero_grad", lambda c: _trajectory(c, zero=False),
              "forgot to zero the gradients: backward ADDS into .grad, so from the second step on the step used "
              "the sum of all gradients so far; call model.zero_grad() before the backward pass"),
        Known("up the gradient", lambda c: _trajectory(c, sign=-1.0),
              "moved UP the gradient: the update is p.data -= lr * p.grad"),
        Known("lr ignored", lambda c: _trajectory(c, lr=1.0),
              "learning rate ignored: the update is p.data -= lr * p.grad"),
    ],
}


# ===================================================== 1. scalar Value backward
_VALUE_OPS = {"mul": "__mul__", "tanh": "tanh", "exp": "exp"}


def check_value_op(Value, op: str, x: float, y: float | None = None, out_grad: float = 1.0,
                   grad_before: float = 0.0, same_node: bool = False):
    """One node's local backward, alone: ``out = a * b`` (or ``a.tanh()``, ``a.exp()``).

    The inputs start with ``.grad = grad_before`` and ``out.grad`` is set to
    ``out_grad`` by hand before ``out._backward()`` runs, so the chain rule
    (times out.grad) and accumulation (+=) are both visible.  ``same_node``:
    ``a * a`` (one node used as both factors).
    """
    method = _VALUE_OPS[op]
    a = Value(x)
    b = a if same_node else (Value(y) if op == "mul" else None)
    a.grad = grad_before
    if b is not None and b is not a:
        b.grad = grad_before
    expr = "a * a" if same_node else {"mul": "a * b", "tanh": "a.tanh()", "exp": "a.exp()"}[op]
    case = (f"out = {expr} with a = Value({x:g})" + (f", b = Value({y:g})" if op == "mul" and not same_node else "")
            + f"; grads before = {grad_before:g}; out.grad = {out_grad:g}; then out._backward()")
    name = f"Value.{method}"
    out = call(lambda: {"mul": lambda: a * b, "tanh": a.tanh, "exp": a.exp}[op](), name=name, case=case, harness=True,
               group="value")
    if not isinstance(out, Value):
        raise CheckFailure(f"{name}: returned {type(out).__name__}, expected a Value (return out){_case(case)}")
    want_data = {"mul": x * (x if same_node else y or 0.0), "tanh": math.tanh(x), "exp": math.exp(x)}[op]
    if not math.isclose(out.data, want_data, rel_tol=1e-9, abs_tol=1e-12):
        raise CheckFailure(f"{name}: wrong forward value out.data (the forward was given: did you change it?)"
                           f"{_case(case)}\n  expected {want_data!r}, got {out.data!r}")
    out.grad = out_grad
    call(out._backward, name=f"{name} backward", case=case, group="value")

    # expected: torch autograd of the same operation, plus what was there before
    ta = _t(x, grad=True)
    tb = ta if same_node else (_t(y, grad=True) if op == "mul" else None)
    tout = {"mul": lambda: ta * tb, "tanh": ta.tanh, "exp": ta.exp}[op]()
    tout.backward(_t(out_grad))
    names = ["a"] if (b is None or same_node) else ["a", "b"]
    got = {"a": a.grad} if len(names) == 1 else {"a": a.grad, "b": b.grad}
    want = {"a": grad_before + float(ta.grad)} if len(names) == 1 else \
        {"a": grad_before + float(ta.grad), "b": grad_before + float(tb.grad)}

    known = dict(op=op, x=x, y=x if same_node else y, g=out_grad, p=grad_before, same=same_node)
    _expect_grads(name, case, got, want, mistakes_on(MISTAKES[name], known))


def _expect_grads(name: str, case: str, got: dict, want: dict, mistakes: Iterable[Mistake] = (),
                  summary: str = "wrong gradient"):
    """Compare scalar gradients {input name: value}; name the first known mistake (its value:
    {input name: .grad}) that matches."""
    for k, v in got.items():
        if not isinstance(v, (int, float, np.floating, np.integer)):
            raise CheckFailure(f"{name}: {k}.grad is a {type(v).__name__}, expected a float{_case(case)}")
    close = lambda u, v: math.isclose(float(u), float(v), rel_tol=1e-7, abs_tol=1e-9)  # noqa: E731
    if all(close(got[k], want[k]) for k in want):
        return
    for m in mistakes:
        if all(close(got[k], m.value.get(k, want[k])) for k in want):
            summary = m.message
            break
    detail = ", ".join(f"{k}.grad: expected {want[k]:.6g}, got {float(got[k]):.6g}" for k in want)
    raise CheckFailure(f"{name}: {summary}{_case(case)}\n  {detail}")


_NAMES = "abc"


def random_expression(rng: np.random.Generator, n_inputs: int = 2, depth: int = 3) -> tuple[str, dict]:
    """A random formula over inputs a, b, (c) with + * tanh() exp() and constants, inputs reused.

    Returns ``(expression, {"a": value, ...})``; the same text evaluates on
    Values and on torch tensors.
    """
    names = _NAMES[:n_inputs]

    def build(d):
        if d == 0 or rng.random() < 0.2:
            return names[int(rng.integers(n_inputs))] if rng.random() < 0.85 else f"{rng.uniform(-2, 2):.2f}"
        kind = rng.choice(["+", "*", "*", "tanh", "exp"])
        if kind in "+*":
            left, right = build(d - 1), build(d - 1)
            if _is_const(left) and _is_const(right):
                right = names[0]
            return f"({left} {kind} {right})"
        inner = build(d - 1)
        if _is_const(inner):
            inner = names[int(rng.integers(n_inputs))]
        return f"{inner}.{kind}()" if inner.startswith("(") or len(inner) == 1 else f"({inner}).{kind}()"

    expr = build(depth)
    while not any(n in expr for n in names):
        expr = build(depth)
    values = {n: round(float(rng.uniform(-1.2, 1.2)), 3) for n in names}
    return expr, values


def _is_const(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def check_value_graph(Value, expression: str, **inputs: float):
    """Build ``expression`` from Values, call ``backward()``, compare every input's grad with torch.

    ``check_value_graph(Value, "a * a + a", a=3.0)``: gradients must add up over
    every path through the graph (reused nodes).
    """
    names = list(inputs)
    f = eval(f"lambda {', '.join(names)}: {expression}", {})  # the test's own formula, not student code
    case = f"out = {expression} with " + ", ".join(f"{k} = Value({v:g})" for k, v in inputs.items()) + \
        "; out.backward()"
    values = {k: Value(v) for k, v in inputs.items()}
    out = call(lambda: f(**values), name="Value", case=case, group="value", harness=True)
    if not isinstance(out, Value):
        raise CheckFailure(f"Value: the formula gave a {type(out).__name__}, expected a Value{_case(case)}")
    call(out.backward, name="Value.backward", case=case, group="value")
    tvals = {k: _t(v, grad=True) for k, v in inputs.items()}
    tout = f(**tvals)
    tout.backward()
    if not math.isclose(out.data, tout.item(), rel_tol=1e-9, abs_tol=1e-12):
        raise CheckFailure(f"Value: wrong forward value{_case(case)}\n"
                           f"  expected out.data = {tout.item():.6g}, got {out.data:.6g}")
    want = {k: float(t.grad) if t.grad is not None else 0.0 for k, t in tvals.items()}
    got = {k: values[k].grad for k in names}
    uses = {k: len(re.findall(rf"\b{k}\b", expression)) for k in names}
    reused = [k for k in names if uses[k] > 1 and isinstance(got[k], (int, float))
              and not math.isclose(got[k], want[k], rel_tol=1e-7, abs_tol=1e-9)]
    summary = (f"wrong gradient for {reused[0]}, which the formula uses {uses[reused[0]]} times: every use must "
               f"ADD (+=) its contribution" if reused else "wrong gradient")
    _expect_grads("Value.backward", case, got, want, summary=summary)


# ================================================================ gradcheck
def check_gradcheck(module, inputs, name: str | None = None, tol: float = 1e-6, forbid: str | None = None):
    """``course.nn.gradcheck`` on the student's module: every gradient agrees with central differences."""
    name = name or type(module).__name__
    single = not isinstance(inputs, (tuple, list))
    shapes = ", ".join(describe(np.asarray(x)) for x in ([inputs] if single else inputs))
    case = f"gradcheck({name}, inputs {shapes})"
    group = forbid or {"Linear": "linear", "ReLU": "relu", "SoftmaxCrossEntropy": "softmax",
                       "Conv2d": "conv", "MaxPool2d": "pool"}.get(type(module).__name__, "training")
    report = call(nn.gradcheck, module, inputs, name=f"{name}.backward", case=case, group=group,
                  harness=True)
    bad = {k: v for k, v in report.items() if not v < tol}
    if bad:
        worst = max(bad, key=bad.get)
        raise CheckFailure(
            f"{name}.backward: gradcheck failed: the gradient of {', '.join(bad)} differs from finite differences"
            f"{_case(case)}\n  worst: {worst}, max relative error {bad[worst]:.2g} (a correct backward gives "
            f"< {tol:g})\n" + "\n".join("    " + line for line in str(report).splitlines()))


# ============================================================ layers: helpers
def _new(cls, *args, name: str, **kwargs):
    try:
        return cls(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailure(f"{name}: not implemented yet (the stub still raises NotImplementedError)") from None
    except Exception as exc:
        raise CheckFailure(f"{name}: creating {cls.__name__}(...) raised {type(exc).__name__}: {exc}") from exc


def _guarded(group: str):
    """The guarded call run_twice uses: delegation refused with ``group``'s lists."""
    return lambda fn, *args, name, case: call(fn, *args, name=name, case=case, group=group)


def _check_forward(name, got, want, case):
    expect_close(got, want, name=f"{name}.forward",
                 case=case + " (the forward was given: did you change it?)")


# ================================================================= 2. Linear
def check_linear(Linear, n: int = 4, in_features: int = 3, out_features: int = 5, seed: int = 0,
                 twice: bool = False, x=None, weight=None, bias=None, grad_output=None, expected=None):
    """Linear.backward against torch: returned grad_x and the ADDED weight.grad, bias.grad.

    ``twice``: two forwards, then two backwards in reverse order (the cache is a
    stack); the parameter gradients must add up.  ``expected``: a dict with
    ``grad_x``, ``weight.grad``, ``bias.grad`` for hand-worked cases.
    """
    rng = np.random.default_rng(seed)
    if x is not None:
        x = np.asarray(x, dtype=float)
        n, in_features = x.shape
    if weight is not None:
        weight = np.asarray(weight, dtype=float)
        out_features = weight.shape[0]
    W = weight if weight is not None else rng.standard_normal((out_features, in_features))
    b = np.asarray(bias, float) if bias is not None else rng.standard_normal(out_features)
    xs = [x if x is not None else rng.standard_normal((n, in_features))]
    gs = [np.asarray(grad_output, float) if grad_output is not None else rng.standard_normal((n, out_features))]
    if twice:
        xs.append(rng.standard_normal((n, in_features)))
        gs.append(rng.standard_normal((n, out_features)))
    layer = _new(Linear, in_features, out_features, rng=seed, name="Linear")
    case = f"Linear({in_features}, {out_features}), x {describe(xs[0])}, grad_output {describe(gs[0])}"
    if twice:
        case += "; two forwards (x1, x2), then backward(g2), backward(g1)"
    params = {"weight": W, "bias": b}
    run = run_twice(layer, xs, gs, params=params, call=_guarded("linear"), name="Linear", case=case,
                    check_forward=lambda i, y: _check_forward("Linear", y, xs[i] @ W.T + b, case))
    grads_x = run.grads_x
    ref = torch_twice(lambda x, weight, bias: _torch().nn.functional.linear(x, weight, bias), xs, gs, params)
    want_x = ref.grads_x
    want_w = np.asarray((expected or {}).get("weight.grad", ref.param_grads["weight"]), dtype=float)
    want_b = np.asarray((expected or {}).get("bias.grad", ref.param_grads["bias"]), dtype=float)
    if expected and "grad_x" in expected:
        want_x = [np.asarray(expected["grad_x"], float)]

    for i, (gx, wx) in enumerate(zip(grads_x, want_x)):
        use = dict(x=xs[i], g=gs[i], W=W)
        expect_close(gx, wx, name="Linear.backward (returned grad_x)", case=case, what="gradient",
                     mistakes=lambda: mistakes_on(MISTAKES["Linear.backward (returned grad_x)"], use))
    uses = dict(xs=xs, gs=gs, W=W, b=b)
    for attr, want in (("weight", want_w), ("bias", want_b)):
        key = f"Linear.backward ({attr}.grad)"
        expect_close(run.param_grads[attr], want, name=key, case=case, what="gradient",
                     mistakes=lambda: mistakes_on(MISTAKES[key], uses))


# =================================================================== 3. ReLU
def check_relu(ReLU, x, grad_output=None, seed: int = 0, twice: bool = False, expected_grad=None):
    """ReLU.forward and .backward against torch; x should contain exact zeros (the gradient there is 0)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=float)
    g = np.asarray(grad_output, float) if grad_output is not None else rng.standard_normal(x.shape)
    xs, gs = [x], [g]
    if twice:
        xs.append(rng.integers(-2, 3, size=x.shape) * 0.5)
        gs.append(rng.standard_normal(x.shape))
    layer = _new(ReLU, name="ReLU")
    case = f"x {describe(x)}" + ("; two forwards (x1, x2), then backward(g2), backward(g1)" if twice else "")

    def guarded(fn, xi, name, case):
        if not name.endswith(".forward"):
            return call(fn, xi, name=name, case=case, group="relu")
        mine = xi.copy()                         # the student's forward gets OUR array: in-place changes show
        y = call(lambda: fn(mine), name=name, case=case, group="relu", harness=True)
        if not np.array_equal(mine, xi):
            raise CheckFailure(f"ReLU.forward: changed its input x in place (x[x < 0] = 0 or similar): the caller "
                               f"still needs x; return a new array{_case(case)}")
        return y

    def check_forward(i, y):
        expect_close(y, np.maximum(xs[i], 0), name="ReLU.forward", case=case,
                     mistakes=lambda: mistakes_on(MISTAKES["ReLU.forward"], dict(x=xs[i])))
    run = run_twice(layer, xs, gs, call=guarded, name="ReLU", case=case, check_forward=check_forward)
    got = run.grads_x
    ref = torch_twice(lambda t: _torch().relu(t), xs, gs)
    for i, (xi, gi) in enumerate(zip(xs, gs)):
        want = np.asarray(expected_grad, float) if expected_grad is not None and i == 0 else ref.grads_x[i]
        use = dict(x=xi, g=gi, xs=xs)
        expect_close(got[i], want, name="ReLU.backward", case=case, what="gradient",
                     mistakes=lambda: mistakes_on(MISTAKES["ReLU.backward"], use))


# ==================================================== 4. SoftmaxCrossEntropy
def check_softmax_cross_entropy(SoftmaxCrossEntropy, logits, targets, grad_output=None,
                                expected_loss=None, expected_grad=None):
    """forward (mean cross-entropy, a float) and backward against ``torch.nn.functional.cross_entropy``.

    ``grad_output=None`` calls ``backward()`` with its default (1.0).
    """
    logits = np.asarray(logits, dtype=float)
    targets = np.asarray(targets, dtype=np.int64)
    n, _ = logits.shape
    big = float(np.abs(logits).max()) if logits.size else 0.0
    case = f"logits {describe(logits)} (largest |logit| {big:.3g}), targets {targets.tolist()[:8]}" + \
        ("..." if n > 8 else "") + (f", backward({grad_output:g})" if grad_output is not None else "")
    loss_fn = _new(SoftmaxCrossEntropy, name="SoftmaxCrossEntropy")
    value = call(loss_fn.forward, logits, targets, name="SoftmaxCrossEntropy.forward", case=case,
                 group="softmax")
    torch = _torch()
    tl = _t(logits, grad=True)
    tloss = torch.nn.functional.cross_entropy(tl, torch.from_numpy(targets))
    (tloss * (1.0 if grad_output is None else grad_output)).backward()
    want = tloss.item() if expected_loss is None else float(expected_loss)
    want_g = tl.grad.numpy() if expected_grad is None else np.asarray(expected_grad, float)

    if value is None:
        raise CheckFailure(f"SoftmaxCrossEntropy.forward: returned None (missing `return`?){_case(case)}")
    arr = np.asarray(value, dtype=float) if not isinstance(value, np.ndarray) else value.astype(float)
    if arr.shape == (n,):
        raise CheckFailure(f"SoftmaxCrossEntropy.forward: returned one loss per example (shape {arr.shape}): "
                           f"return their mean, a float{_case(case)}")
    if arr.size != 1:
        raise CheckFailure(f"SoftmaxCrossEntropy.forward: returned shape {arr.shape}, expected a float "
                           f"(the mean loss){_case(case)}")
    loss = float(arr.reshape(()))
    if not np.isfinite(loss):
        raise CheckFailure(_overflow("SoftmaxCrossEntropy.forward", f"the loss is {loss}", logits, case, want))
    if not math.isclose(loss, want, rel_tol=1e-7, abs_tol=1e-9):
        known = mistakes_on(MISTAKES["SoftmaxCrossEntropy.forward"], dict(logits=logits, targets=targets))
        summary = next((m.message for m in known if math.isclose(loss, m.value, rel_tol=1e-7)), "wrong loss")
        raise CheckFailure(f"SoftmaxCrossEntropy.forward: {summary}{_case(case)}\n"
                           f"  expected {want:.8g}, got {loss:.8g}")

    args = () if grad_output is None else (grad_output,)
    got = call(loss_fn.backward, *args, name="SoftmaxCrossEntropy.backward", case=case, group="softmax")
    if isinstance(got, np.ndarray) and got.shape == want_g.shape and not np.all(np.isfinite(got)):
        raise CheckFailure(_overflow("SoftmaxCrossEntropy.backward", "the gradient has nan/inf entries",
                                     logits, case, None))
    known = dict(logits=logits, targets=targets, scale=1.0 if grad_output is None else float(grad_output))
    expect_close(got, want_g, name="SoftmaxCrossEntropy.backward", case=case, what="gradient", rtol=1e-6,
                 atol=1e-9, mistakes=lambda: mistakes_on(MISTAKES["SoftmaxCrossEntropy.backward"], known))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def _overflow(name: str, what: str, logits: np.ndarray, case: str, want) -> str:
    """Say why a softmax cross-entropy became inf/nan, from the logits that did it."""
    shift = ("exp overflowed or underflowed (exp(1000) is inf and exp(-1000) is 0 in float64): subtract "
             "each row's max before exp; softmax(z) = softmax(z - max(z)) and the largest shifted logit is 0")
    log0 = ("log(0): a very unlikely class has softmax exactly 0 in float64; compute log-probabilities as "
            "shifted - log(sum(exp(shifted))) instead of log(softmax)")
    far = bool(logits.size) and float(np.max(np.abs(logits))) > 700
    spread = bool(logits.size) and float(np.max(logits.max(axis=1) - logits.min(axis=1))) > 700
    why = f"{shift}; and {log0}" if far and spread else shift if far else log0 if spread else \
        "nan/inf from ordinary logits: look for a division by zero or log of a non-positive number"
    tail = f"\n  expected {want:.8g}" if want is not None else ""
    return f"{name}: {what}: {why}{_case(case)}{tail}"


# ================================================================= 5. Conv2d
def check_conv2d(Conv2d, x_shape=(2, 3, 6, 5), out_channels: int = 4, kernel_size=3, stride=1, padding=0,
                 seed: int = 0, twice: bool = False, x=None, weight=None, bias=None, grad_output=None,
                 expected=None):
    """Conv2d.backward against torch: returned grad_x, and the ADDED weight.grad and bias.grad."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, float) if x is not None else rng.standard_normal(x_shape)
    n, c, h, w = x.shape
    kh, kw = np.shape(weight)[2:] if weight is not None else as_pair(kernel_size, "kernel_size")
    W = np.asarray(weight, float) if weight is not None else rng.standard_normal((out_channels, c, kh, kw))
    f = W.shape[0]
    b = np.asarray(bias, float) if bias is not None else rng.standard_normal(f)
    layer = _new(Conv2d, c, f, (kh, kw), stride=stride, padding=padding, rng=seed, name="Conv2d")
    torch = _torch()
    F = torch.nn.functional
    s, p = as_pair(stride, "stride"), as_pair(padding, "padding")
    y_want = F.conv2d(_t(x), _t(W), _t(b), stride=s, padding=p).numpy()
    xs = [x] + ([rng.standard_normal(x.shape)] if twice else [])
    gs = [np.asarray(grad_output, float) if grad_output is not None else rng.standard_normal(y_want.shape)]
    if twice:
        gs.append(rng.standard_normal(y_want.shape))
    case = (f"Conv2d({c}, {f}, kernel_size={(kh, kw)}, stride={stride}, padding={padding}), x {describe(x)}, "
            f"grad_output {describe(gs[0])}" + ("; two forwards, then backward(g2), backward(g1)" if twice else ""))
    params = {"weight": W, "bias": b}
    torch_conv = lambda t, weight, bias: F.conv2d(t, weight, bias, stride=s, padding=p)  # noqa: E731
    ref = torch_twice(torch_conv, xs, gs, params)
    run = run_twice(layer, xs, gs, params=params, call=_guarded("conv"), name="Conv2d", case=case,
                    check_forward=lambda i, y: _check_forward("Conv2d", y, ref.outputs[i], case))
    want_x = [gx for gx, _ in ref.per_use]
    want_w, want_b = ref.param_grads["weight"], ref.param_grads["bias"]
    if expected:
        want_w = np.asarray(expected.get("weight.grad", want_w), float)
        want_b = np.asarray(expected.get("bias.grad", want_b), float)
        want_x[0] = np.asarray(expected.get("grad_x", want_x[0]), float)
    for i, (gx, wx) in enumerate(zip(run.grads_x, want_x)):
        use = dict(x=xs[i], g=gs[i], W=W, b=b, stride=stride, padding=padding)
        expect_close(gx, wx, name="Conv2d.backward (returned grad_x)", case=case, what="gradient",
                     mistakes=lambda: mistakes_on(MISTAKES["Conv2d.backward (returned grad_x)"], use))
    uses = dict(xs=xs, gs=gs, W=W, b=b, stride=stride, padding=padding)
    for attr, want in (("weight", want_w), ("bias", want_b)):
        key = f"Conv2d.backward ({attr}.grad)"
        expect_close(run.param_grads[attr], want, name=key, case=case, what="gradient",
                     mistakes=lambda: mistakes_on(MISTAKES[key], uses))


# =============================================================== 6. MaxPool2d
def check_max_pool2d_backward(fn, grad_out, x, kernel_size, stride=None, padding=0, oracle="reference",
                              expected=None):
    """The function ``max_pool2d_backward(grad_out, x, kernel_size, stride, padding)`` (exercise 6;
    loops over the windows allowed), with Assignment 1's pooling checks and their mistake catalogue;
    from the course only ``conv.pad2d`` and ``conv.output_size`` may be called."""
    _check_max_pool2d_backward(fn, grad_out, x, kernel_size, stride=stride, padding=padding, oracle=oracle,
                               expected=expected, allow=ALLOW["pool_fn"])


def check_maxpool2d(MaxPool2d, x, kernel_size, stride=None, padding=0, seed: int = 0, grad_output=None,
                    expected=None, twice: bool = False):
    """MaxPool2d.backward against torch (ties go to the first maximum, overlaps add up).

    ``twice``: two forwards (the second on other numbers), then the two backwards in reverse order.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(x, float)
    torch = _torch()
    k = as_pair(kernel_size, "kernel_size")
    s = k if stride is None else as_pair(stride, "stride")
    p = as_pair(padding, "padding")
    pool_t = lambda t: torch.nn.functional.max_pool2d(t, k, s, p)  # noqa: E731
    out_shape = tuple(pool_t(_t(x)).shape)
    xs = [x] + ([rng.integers(-2, 3, size=x.shape).astype(float)] if twice else [])
    gs = [np.asarray(grad_output, float) if grad_output is not None else rng.standard_normal(out_shape)]
    if twice:
        gs.append(rng.standard_normal(out_shape))
    ref = torch_twice(pool_t, xs, gs)
    layer = _new(MaxPool2d, kernel_size, stride=stride, padding=padding, name="MaxPool2d")
    case = f"MaxPool2d(kernel_size={kernel_size}, stride={stride}, padding={padding}), x {describe(x)}" + \
        ("; two forwards (x1, x2), then backward(g2), backward(g1)" if twice else "")
    run = run_twice(layer, xs, gs, call=_guarded("pool"), name="MaxPool2d", case=case,
                    check_forward=lambda i, y: _check_forward("MaxPool2d", y, ref.outputs[i], case))
    for i, (got, want) in enumerate(zip(run.grads_x, ref.grads_x)):
        if expected is not None and i == 0:
            want = np.asarray(expected, float)
        use = dict(g=gs[i], x=xs[i], k=kernel_size, stride=stride, padding=padding, xs=xs)
        expect_close(got, want, name="MaxPool2d.backward", case=case, what="gradient",
                     mistakes=lambda: mistakes_on(MISTAKES["MaxPool2d.backward"] + a1.MISTAKES["max_pool2d_backward"],
                                                  use))


# ================================================================ 7. SGD step
def _mlp(sizes, seed):
    d_in, hidden, k = sizes
    return nn.Sequential(nn.Linear(d_in, hidden, rng=seed), nn.ReLU(), nn.Linear(hidden, k, rng=seed + 1))


def _params(model) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]


def _trajectory(c, zero=True, sign=1.0, lr=None) -> list[list[np.ndarray]]:
    """Parameters after each step of plain SGD with course.nn on case ``c`` (sizes, seed, batches,
    lr), with the switches of the mistakes: no zero_grad, the sign, another learning rate."""
    model, loss_fn = _mlp(c["sizes"], c["seed"]), nn.SoftmaxCrossEntropy()
    lr = c["lr"] if lr is None else lr
    out = []
    for xb, yb in c["batches"]:
        if zero:
            model.zero_grad()
        loss_fn(model(xb), yb)
        model.backward(loss_fn.backward())
        for p in model.parameters():
            p.data -= sign * lr * p.grad
        out.append(_params(model))
    return out


def check_sgd_step(sgd_step, steps: int = 3, lr: float = 0.1, sizes=(4, 6, 3), batch: int = 5, seed: int = 0):
    """``sgd_step(model, loss_fn, x, y, lr) -> loss`` for ``steps`` steps vs ``torch.optim.SGD``.

    The model is a course.nn MLP (Linear, ReLU, Linear) so that only the step is graded.
    """
    rng = np.random.default_rng(seed)
    d_in, hidden, k = sizes
    batches = [(rng.standard_normal((batch, d_in)), rng.integers(0, k, size=batch)) for _ in range(steps)]
    case = (f"{steps} steps of sgd_step(model, loss_fn, x, y, lr={lr:g}) on an MLP "
            f"Linear({d_in}, {hidden}) -> ReLU -> Linear({hidden}, {k}), batches of {batch}")
    torch = _torch()
    net = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, k)).double()
    model, loss_fn = _mlp(sizes, seed), nn.SoftmaxCrossEntropy()
    with torch.no_grad():
        for name, p in model.named_parameters():
            net.get_parameter(name).copy_(torch.from_numpy(p.data))
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    close = lambda ps, qs: all(np.allclose(a, b, rtol=1e-7, atol=1e-10) for a, b in zip(ps, qs))  # noqa: E731
    prev = _params(model)
    for step, (xb, yb) in enumerate(batches, 1):
        loss = call(sgd_step, model, loss_fn, xb, yb, lr, name="sgd_step", case=case, group="sgd")
        opt.zero_grad()
        t_loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(xb)), torch.from_numpy(yb))
        t_loss.backward()
        opt.step()
        got = _params(model)
        want = [p.detach().numpy().copy() for p in net.parameters()]
        where = f"{case}\n  after step {step}"
        if not close(got, want):
            summary = "wrong parameters after the step"
            if all(np.array_equal(a, b) for a, b in zip(got, prev)):
                summary = ("the parameters did not change: update them in place, p.data -= lr * p.grad "
                           "(assigning to a loop variable changes nothing)")
            known = mistakes_on(MISTAKES["sgd_step"], dict(sizes=sizes, seed=seed, batches=batches, lr=lr))
            summary = next((m.message for m in known if close(got, m.value[step - 1])), summary)
            worst = max(float(np.abs(a - b).max()) for a, b in zip(got, want))
            raise CheckFailure(f"sgd_step: {summary}\n  case: {where}\n  largest parameter error {worst:.3g}")
        if loss is None or not isinstance(loss, (float, int, np.floating, np.ndarray)) or np.size(loss) != 1:
            raise CheckFailure(f"sgd_step: returned {type(loss).__name__}, expected the loss (a float)\n"
                               f"  case: {where}")
        if not math.isclose(float(np.asarray(loss).reshape(())), t_loss.item(), rel_tol=1e-7, abs_tol=1e-10):
            raise CheckFailure(f"sgd_step: returned the wrong loss: return the loss of the forward pass (before "
                               f"the update)\n  case: {where}\n  expected {t_loss.item():.8g}, "
                               f"got {float(loss):.8g}")
        prev = got


# ============================================================ 8. the CNN
_GRADED_REFERENCE = (nn.Linear, nn.Conv2d, nn.MaxPool2d, nn.ReLU)


def _course_sgd_step(model, loss_fn, x, y, lr):
    """The course's SGD step (``course.optim.SGD``), standing in for a ``sgd_step`` that fails test_sgd_step."""
    from course import optim

    opt = optim.SGD(model.parameters(), lr=lr)
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    opt.step()
    return loss


def _probe(shape=None, high=None):
    """The same numbers at every call: a fixed case for the pieces' quick tests."""
    rng = np.random.default_rng(7)
    return rng.integers(-2, high, shape) if high is not None else rng.standard_normal(shape)


#: One bug costs points once. test_cnn grades putting the pieces together (the network and its
#: training); each earlier piece has its own test. A piece of the notebook that fails a quick run of
#: its own test is replaced, for the CNN checks only, by the course's version, and the output says so:
#: a wrong ReLU backward costs test_relu's points, not test_cnn's as well.
#: (name in the notebook, its test, the course's version, what that unlocks, a quick run of its test)
PIECES = (
    ("Conv2d", "test_conv2d", nn.Conv2d, FORBID["conv"], lambda C: check_conv2d(C)),
    ("ReLU", "test_relu", nn.ReLU, FORBID["relu"], lambda R: check_relu(R, _probe((2, 3, 4), high=3))),
    ("MaxPool2d", "test_maxpool2d", nn.MaxPool2d, FORBID["pool"] + FORBID["pool_fn"],
     lambda M: check_maxpool2d(M, _probe((2, 2, 4, 4)), 2)),
    ("Linear", "test_linear", nn.Linear, FORBID["linear"], lambda L: check_linear(L)),
    ("SoftmaxCrossEntropy", "test_softmax_cross_entropy", nn.SoftmaxCrossEntropy, FORBID["softmax"],
     lambda S: check_softmax_cross_entropy(S, _probe((5, 4)), [0, 3, 1, 2, 1])),
    ("sgd_step", "test_sgd_step", _course_sgd_step, FORBID["sgd"] + ("course.optim",),
     lambda f: check_sgd_step(f)),
)


class _graded_once:
    """Context manager: in the notebook namespace of ``fn``, each piece of ``PIECES`` that fails its
    own quick test is bound to the course's version until exit. ``classes``: the student's classes
    with the stand-ins in place; ``unlocked``: what the stand-ins may call."""

    def __init__(self, fn, classes, name: str, pieces=None):
        import contextlib
        import io

        self.ns = getattr(fn, "__globals__", {})
        self.saved, self.unlocked, tests = {}, (), []
        for piece, test, course_version, unlocks, probe in PIECES:
            mine = self.ns.get(piece)
            if mine is None or mine is course_version or (pieces is not None and piece not in pieces):
                continue
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    probe(mine)
            except Exception:  # noqa: BLE001  (a failure of any kind: its own test grades it)
                self.saved[piece] = mine
                self.unlocked += (course_version,) + tuple(unlocks)
                tests.append(f"{piece} ({test})")
        stand_in = {id(mine): PIECES_BY_NAME[piece] for piece, mine in self.saved.items()}
        self.classes = tuple(stand_in.get(id(c), c) for c in classes)
        if tests:
            print(f"{name}: {', '.join(tests)} failed its own test; here the course's version stands in, "
                  f"so that one bug costs points once")

    def __enter__(self):
        for piece in self.saved:
            self.ns[piece] = PIECES_BY_NAME[piece]
        return self

    def __exit__(self, *exc):
        self.ns.update(self.saved)
        return False


PIECES_BY_NAME = {piece: course_version for piece, _, course_version, _, _ in PIECES}


def _check_own_layers(model, classes, name: str, case: str = ""):
    if not isinstance(model, nn.Module):
        raise CheckFailure(f"{name}: returned {type(model).__name__}, expected a course.nn Module "
                           f"(e.g. nn.Sequential(...)){_case(case)}")
    mods = model.modules()
    for m in mods:
        if isinstance(m, _GRADED_REFERENCE) and not isinstance(m, tuple(classes)):
            raise CheckFailure(f"{name}: uses course.nn.{type(m).__name__}; build the network from YOUR "
                               f"classes ({', '.join(c.__name__ for c in classes)}){_case(case)}")
    missing = [c.__name__ for c in classes if not any(isinstance(m, c) for m in mods)]
    if missing:
        raise CheckFailure(f"{name}: the network has no {', '.join(missing)}: build conv -> ReLU -> max pool -> "
                           f"flatten -> linear from your classes{_case(case)}")


def _torch_twin(model):
    """The same network in torch (float64, same weights), or None if a layer has no twin."""
    torch = _torch()
    layers = []
    for m in getattr(model, "layers", None) or []:
        kind = type(m).__name__
        if kind == "Conv2d":
            f, c, kh, kw = m.weight.data.shape
            t = torch.nn.Conv2d(c, f, (kh, kw), stride=as_pair(m.stride, "stride"),
                                padding=as_pair(m.padding, "padding"))
        elif kind == "Linear":
            o, i = m.weight.data.shape
            t = torch.nn.Linear(i, o)
        elif kind == "ReLU":
            t = torch.nn.ReLU()
        elif kind == "MaxPool2d":
            t = torch.nn.MaxPool2d(m.kernel_size, m.stride, m.padding)
        elif kind == "Flatten":
            t = torch.nn.Flatten()
        else:
            return None
        if hasattr(m, "weight"):
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(m.weight.data))
                t.bias.copy_(torch.from_numpy(m.bias.data))
        layers.append(t)
    return torch.nn.Sequential(*layers).double() if layers else None


def check_cnn(make_cnn, classes, seed: int = 0, n: int = 6):
    """``make_cnn(seed)``: built from the student's classes; maps (N, 1, 8, 8) -> (N, 10); one forward and
    backward with the course's loss agrees with the same network in torch."""
    from course.data import digits

    with _graded_once(make_cnn, classes, "make_cnn", pieces=("Conv2d", "ReLU", "MaxPool2d", "Linear")) as once:
        model = call(make_cnn, seed, name="make_cnn", group="training", unlocked=once.unlocked)
        _check_own_layers(model, once.classes, "make_cnn")
        d = digits()
        X, y = d.X_train[:n], d.y_train[:n]
        case = f"make_cnn({seed}) on {n} digits {describe(X)}"
        model.zero_grad()
        scores = call(model.forward, X, name="make_cnn: forward", case=case, group="training", harness=True,
                      unlocked=once.unlocked)
        if not isinstance(scores, np.ndarray) or scores.shape != (n, 10):
            raise CheckFailure(f"make_cnn: the network maps {X.shape} to "
                               f"{getattr(scores, 'shape', type(scores).__name__)}, expected ({n}, 10) class "
                               f"scores{_case(case)}")
        loss_fn = nn.SoftmaxCrossEntropy()
        loss_fn(scores, y)
        call(model.backward, loss_fn.backward(), name="make_cnn: backward", case=case, group="training",
             harness=True, unlocked=once.unlocked)
    twin = _torch_twin(model)
    if twin is None:
        return
    torch = _torch()
    t_scores = twin(_t(X))
    expect_close(scores, t_scores.detach().numpy(), name="make_cnn: forward", case=case + " vs torch")
    torch.nn.functional.cross_entropy(t_scores, torch.from_numpy(y)).backward()
    for pname, p in model.named_parameters():
        expect_close(p.grad, twin.get_parameter(pname).grad.numpy(), name=f"make_cnn: backward ({pname}.grad)",
                     case=case + " vs torch", what="gradient")


def check_training(train_digits, classes, seed: int = 0, budget_s: float = 20.0, min_accuracy: float = 0.95,
                   val_size: float = 0.15):
    """``train_digits(X_train, y_train, seed)`` returns a trained network of the student's layers; it must
    train within ``budget_s`` seconds and reach ``min_accuracy`` on the held-out test digits.

    It trains on the training part of ``digits(val_size=val_size)``: the split the student tuned on
    (their validation digits are not trained on here either; the test digits are the same for any val_size).
    """
    from course.data import digits

    d = digits(val_size=val_size)
    case = f"train_digits(X_train {describe(d.X_train)}, y_train, seed={seed}), then accuracy on X_test " \
           f"{describe(d.X_test)}"
    # Training runs for seconds: instead of following every call (twice as slow), tripwires are
    # armed in the course's reference code for what the student writes.
    wires = FORBID["training"] + ("course.optim", "course.autodiff", nn.Linear, nn.Conv2d, nn.MaxPool2d, nn.ReLU,
                                  nn.SoftmaxCrossEntropy)
    once = _graded_once(train_digits, classes, "train_digits")
    wires = tuple(w for w in wires if w not in once.unlocked)
    t0 = time.perf_counter()
    try:
        import course.autodiff  # noqa: F401  (so that their tripwires exist)
        import course.optim  # noqa: F401

        with once, checks.tripwires(wires):
            model = checks.call(train_digits, d.X_train, d.y_train, seed=seed, name="train_digits", case=case,
                                watch=False)
    except CheckFailure as failure:
        used = checks.tripped(failure)
        if used:
            raise CheckFailure(f"train_digits: calls {used} (the course's reference implementation); no points "
                               f"for delegating: train with your own classes, sgd_step and loss{_case(case)}") from None
        raise
    seconds = time.perf_counter() - t0
    _check_own_layers(model, once.classes, "train_digits", case)
    if seconds > budget_s:
        raise CheckFailure(f"train_digits: training took too long ({seconds:.0f} s, budget {budget_s:.0f} s): "
                           f"vectorize your backward passes (no Python loops over the batch or over pixels) "
                           f"or train fewer epochs{_case(case)}")
    try:
        accuracy = train.evaluate(model, d.X_test, d.y_test)
    except Exception as exc:
        raise CheckFailure(f"train_digits: evaluating the returned network raised {type(exc).__name__}: {exc}"
                           f"{_case(case)}") from exc
    if not accuracy >= min_accuracy:
        raise CheckFailure(f"train_digits: test accuracy below {min_accuracy:.0%}: train longer, or tune the "
                           f"learning rate (too large diverges, too small crawls){_case(case)}\n"
                           f"  test accuracy {accuracy:.1%} after {seconds:.1f} s of training")
    print(f"train_digits: test accuracy {accuracy:.1%} after {seconds:.1f} s of training")
