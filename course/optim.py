"""Optimizers: the update step of the ML recipe.

``SGD`` is stochastic gradient descent with optional momentum and weight decay,
with exactly the update rule of ``torch.optim.SGD`` (so the two follow the same
trajectory from the same start). For every parameter ``p`` with gradient ``g``:

    g = g + weight_decay * p                  (L2 penalty folded into the gradient)
    buf = g                                   (first step)
    buf = momentum * buf + (1 - dampening) * g   (later steps)
    g = g + momentum * buf   if nesterov else   buf
    p = p - lr * g

``Adam`` and ``AdamW`` follow ``torch.optim.Adam`` / ``AdamW`` (step t = 1, 2, ...):

    g = g + weight_decay * p                  (Adam: L2 folded into the gradient)
    p = p - lr * weight_decay * p             (AdamW: decoupled weight decay, instead)
    m = beta1 * m + (1 - beta1) * g           (first moment: a running mean of g)
    v = beta2 * v + (1 - beta2) * g * g       (second moment: a running mean of g^2)
    vmax = max(vmax, v)  if amsgrad           (and use vmax in place of v)
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

so each coordinate moves by about ``lr`` whatever the scale of its gradient.
``warmup_cosine(step, warmup_steps, total_steps)`` is the learning-rate factor
of the usual Transformer schedule (linear warm-up, then a cosine decay), and
``WarmupCosine(optimizer, ...)`` applies it like a torch ``LambdaLR``. Gradient
clipping is ``course.nn.clip_grad_norm_``.

Parameters are any objects with ``.data`` and ``.grad`` ndarrays
(``course.nn.Parameter``). Updates happen in place, so a model holding the
parameters sees them at once.
"""
from __future__ import annotations

from typing import Iterable

import math

import numpy as np

__all__ = ["SGD", "Adam", "AdamW", "warmup_cosine", "WarmupCosine"]


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


# ============================================================== Adam, AdamW
class Adam:
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)``,
    torch's update rule (weight decay as an L2 term in the gradient). ``step()``, ``zero_grad()``;
    ``lr`` may be changed between steps (a schedule)."""

    decoupled = False

    def __init__(self, params: Iterable, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        name = type(self).__name__
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name} got an empty parameter list: pass model.parameters()")
        for p in self.params:
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise TypeError(f"{name} expects parameters with .data and .grad arrays, got {type(p).__name__}")
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"{name} needs lr, eps, weight_decay >= 0, got lr={lr}, eps={eps}, "
                             f"weight_decay={weight_decay}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"{name}'s betas must be in [0, 1), got betas={tuple(betas)}")
        self.lr, self.betas, self.eps = float(lr), (float(betas[0]), float(betas[1])), float(eps)
        self.weight_decay, self.amsgrad = float(weight_decay), bool(amsgrad)
        self.t = 0
        self.exp_avg = [np.zeros_like(p.data) for p in self.params]
        self.exp_avg_sq = [np.zeros_like(p.data) for p in self.params]
        self.max_exp_avg_sq = [np.zeros_like(p.data) for p in self.params] if amsgrad else None

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(lr={self.lr:g}, betas={self.betas}, eps={self.eps:g}, "
                f"weight_decay={self.weight_decay:g}, amsgrad={self.amsgrad}, {len(self.params)} parameters)")

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero (in place)."""
        for p in self.params:
            if p.grad is not None:
                p.grad[...] = 0

    def step(self) -> None:
        """One Adam update of every parameter from its current ``.grad`` (in place)."""
        self.t += 1
        b1, b2 = self.betas
        step_size = self.lr / (1.0 - b1 ** self.t)                   # bias correction of m
        bc2_sqrt = math.sqrt(1.0 - b2 ** self.t)                     # bias correction of v
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad
            if self.weight_decay:
                if self.decoupled:
                    p.data *= 1.0 - self.lr * self.weight_decay     # AdamW: shrink the weights directly
                else:
                    g = g + self.weight_decay * p.data               # Adam: L2 penalty in the gradient
            m, v = self.exp_avg[i], self.exp_avg_sq[i]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            if self.amsgrad:
                np.maximum(self.max_exp_avg_sq[i], v, out=self.max_exp_avg_sq[i])
                v = self.max_exp_avg_sq[i]
            denom = np.sqrt(v)
            denom /= bc2_sqrt
            denom += self.eps
            p.data -= step_size * (m / denom)


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)``:
    Adam with decoupled weight decay ``p -= lr * weight_decay * p`` (torch's rule)."""

    decoupled = True

    def __init__(self, params: Iterable, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


# ============================================================== learning-rate schedule
def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_factor: float = 0.0) -> float:
    """The factor multiplying the base learning rate at ``step`` (0, 1, ...):

    ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` steps (linear warm-up),
    then a half cosine from 1 down to ``min_factor`` at ``total_steps``, constant after.
    """
    if warmup_steps < 0 or total_steps < 1 or warmup_steps > total_steps:
        raise ValueError(f"need 0 <= warmup_steps <= total_steps and total_steps >= 1, "
                         f"got warmup_steps={warmup_steps}, total_steps={total_steps}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine:
    """Sets ``optimizer.lr = base_lr * warmup_cosine(step, ...)``, like torch's
    ``LambdaLR(optimizer, lambda s: warmup_cosine(s, ...))``: the factor for step 0 at
    construction, then call ``scheduler.step()`` after each ``optimizer.step()``."""

    def __init__(self, optimizer, warmup_steps: int, total_steps: int, min_factor: float = 0.0):
        self.optimizer, self.base_lr = optimizer, optimizer.lr
        self.warmup_steps, self.total_steps, self.min_factor = warmup_steps, total_steps, min_factor
        self.last_step = 0
        self.optimizer.lr = self.base_lr * warmup_cosine(0, warmup_steps, total_steps, min_factor)

    def step(self) -> float:
        self.last_step += 1
        self.optimizer.lr = self.base_lr * warmup_cosine(self.last_step, self.warmup_steps, self.total_steps,
                                                         self.min_factor)
        return self.optimizer.lr
