"""Optimizers: the update step of the ML recipe.

``SGD`` is stochastic gradient descent with optional momentum and weight decay,
with exactly the update rule of ``torch.optim.SGD`` (so the two follow the same
trajectory from the same start). For every parameter ``p`` with gradient ``g``:

    g = g + weight_decay * p                  (L2 penalty folded into the gradient)
    buf = g                                   (first step)
    buf = momentum * buf + (1 - dampening) * g   (later steps)
    g = g + momentum * buf   if nesterov else   buf
    p = p - lr * g

Parameters are any objects with ``.data`` and ``.grad`` ndarrays
(``course.nn.Parameter``). Updates happen in place, so a model holding the
parameters sees them at once.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

__all__ = ["SGD"]


class SGD:
    """``SGD(params, lr, momentum=0.0, weight_decay=0.0, dampening=0.0, nesterov=False)``.

    ``step()`` updates every parameter from its ``.grad``; ``zero_grad()`` sets
    every ``.grad`` to zero (call it before each backward pass, because
    backward *adds* into ``.grad``).
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False):
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD got an empty parameter list: pass model.parameters()")
        for p in self.params:
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise TypeError(f"SGD expects parameters with .data and .grad arrays, got {type(p).__name__}")
        if lr < 0:
            raise ValueError(f"learning rate must be >= 0, got lr={lr}")
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got momentum={momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov momentum needs momentum > 0 and dampening = 0 (as in torch)")
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.dampening = float(dampening)
        self.nesterov = bool(nesterov)
        self.momentum_buffers: list[np.ndarray | None] = [None] * len(self.params)

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr:g}, momentum={self.momentum:g}, weight_decay={self.weight_decay:g}, "
                f"{len(self.params)} parameters)")

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero (in place)."""
        for p in self.params:
            if p.grad is not None:
                p.grad[...] = 0

    def step(self) -> None:
        """One update of every parameter from its current ``.grad`` (in place)."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                buf = self.momentum_buffers[i]
                if buf is None:
                    buf = self.momentum_buffers[i] = np.array(g, copy=True)
                else:
                    buf *= self.momentum
                    buf += (1.0 - self.dampening) * g
                g = g + self.momentum * buf if self.nesterov else buf
            p.data -= self.lr * g
