"""The shared run of a layer check: set parameters -> forward twice -> backward twice
(in reverse order) -> the same with PyTorch, for comparison.

Every layer check of Assignment 2 (and of later assignments' checkers) runs the
student's layer the same way, because the commonest wrong answer of a layer is
a cache kept on the instance (``self.x = x``, ``self.mask = ...``): one forward
and one backward cannot see it; two forwards before two backwards (a layer used
twice, the cache a stack) can, and parameter gradients that are assigned
instead of added show at the same time::

    run = run_twice(layer, [x1, x2], [g1, g2], params={"weight": W, "bias": b}, call=..., name="Linear", case=...)
    ref = torch_twice(lambda x, weight, bias: F.linear(x, weight, bias), [x1, x2], [g1, g2],
                      params={"weight": W, "bias": b})
    # run.outputs, run.grads_x (in forward order), run.param_grads (summed over both uses)

torch tensors come from :func:`course.testing.to_torch` (float64 copies).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from course.checkers.core import CheckFailure
from course.testing import to_numpy, to_torch

__all__ = ["Run", "set_params", "run_twice", "torch_twice"]


@dataclass
class Run:
    """Outputs and input gradients in forward order; parameter gradients after all backwards."""

    outputs: list = field(default_factory=list)
    grads_x: list = field(default_factory=list)
    param_grads: dict = field(default_factory=dict)
    per_use: list = field(default_factory=list)      # torch only: (grad_x, {param: grad}) of each use alone


def set_params(layer, params: dict, cls: str) -> None:
    """Give the student's layer our parameter values and zero gradients (keeps their Parameter objects)."""
    from course import nn

    for attr, value in params.items():
        p = getattr(layer, attr, None)
        value = np.asarray(value, dtype=float)
        if not isinstance(p, nn.Parameter) or p.data.shape != value.shape:
            raise CheckFailure(f"{cls}: expected a Parameter `{attr}` of shape {value.shape}, found "
                               f"{p!r}; keep the given __init__")
        p.data[...] = value
        p.grad[...] = 0


def run_twice(layer, xs: Sequence, gs: Sequence, *, call: Callable, name: str, case: str,
              params: dict | None = None, check_forward: Callable | None = None) -> Run:
    """Set ``params``, run ``layer.forward`` on every x in order, then ``layer.backward`` on the
    g's in REVERSE order (``gs[i]`` is the upstream gradient of ``xs[i]``'s output).

    ``call(fn, *args, name=..., case=...)``: the checker's guarded call (delegation refused).
    ``check_forward(i, y)``: compares each output as soon as it is computed (a wrong forward
    is reported as such, before any backward).
    """
    if params:
        set_params(layer, params, name)
    run = Run()
    for i, x in enumerate(xs):
        y = call(layer.forward, x, name=f"{name}.forward", case=case)
        if check_forward is not None:
            check_forward(i, y)
        run.outputs.append(y)
    run.grads_x = [call(layer.backward, g, name=f"{name}.backward", case=case) for g in reversed(gs)][::-1]
    run.param_grads = {attr: getattr(layer, attr).grad.copy() for attr in (params or {})}
    return run


def torch_twice(fn: Callable, xs: Sequence, gs: Sequence, params: dict | None = None) -> Run:
    """The same uses with PyTorch autograd (float64): ``fn(x, **params) -> y`` on tensors.

    Parameter gradients accumulate over the uses, as in ``course.nn``; ``per_use`` keeps each
    use's own gradients (for naming "the second backward overwrote the first").
    """
    params = params or {}
    tparams = {k: to_torch(v, requires_grad=True) for k, v in params.items()}
    run = Run()
    for x, g in zip(xs, gs):
        tx = to_torch(x, requires_grad=True)
        before = {k: (t.grad.clone() if t.grad is not None else None) for k, t in tparams.items()}
        y = fn(tx, **tparams)
        y.backward(to_torch(g))
        run.outputs.append(to_numpy(y))
        run.grads_x.append(to_numpy(tx.grad))
        run.per_use.append((to_numpy(tx.grad), {k: to_numpy(t.grad) - (0 if before[k] is None else to_numpy(before[k]))
                                                for k, t in tparams.items()}))
    run.param_grads = {k: to_numpy(t.grad) if t.grad is not None else np.zeros_like(np.asarray(params[k], float))
                       for k, t in tparams.items()}
    return run
