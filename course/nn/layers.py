"""Basic layers: ``Linear``, activations (``ReLU``, ``Tanh``, ``Sigmoid``), ``Flatten``, ``Sequential``."""
from __future__ import annotations

import math

import numpy as np

from course.nn.module import Module, Parameter, _rng

__all__ = ["Linear", "ReLU", "Tanh", "Sigmoid", "Flatten", "Sequential"]


def matmul_2d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` for x (*, K) and w (K, M) -> (*, M), computed as ONE 2-D matrix product.

    NumPy's stacked matmul of a (B, T, K) array with a (K, M) matrix runs one small product per
    leading index; merging the batch axes first, (B*T, K) @ (K, M), is the same numbers and
    1.3x (small M) to 2.5x (M = a word vocabulary) faster on one thread.
    """
    if x.ndim <= 2:
        return x @ w
    return (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], w.shape[-1])

# ============================================================== layers with parameters
class Linear(Module):
    """Fully connected layer ``y = x W^T + b``.

    x: (*, in_features) -> y: (*, out_features); weight (out_features,
    in_features) and bias (out_features,) as in ``torch.nn.Linear``, both
    initialised uniform in [-1/sqrt(in_features), 1/sqrt(in_features)] (torch's
    default). ``rng``: a seed or ``np.random.Generator``.

    Caches the input x (needed for d loss / d W = grad^T x).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None,
                 dtype=np.float64):
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs in_features, out_features >= 1, got ({in_features}, {out_features})")
        rng = _rng(rng)
        self.in_features, self.out_features = int(in_features), int(out_features)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)), dtype)
        self.bias = Parameter(rng.uniform(-bound, bound, (out_features,)), dtype) if bias else None

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expects inputs of shape "
                f"(..., {self.in_features}), got {x.shape}: the last axis must hold the features "
                "(flatten images first with Flatten())"
            )
        self.save_for_backward(x)
        y = matmul_2d(x, self.weight.data.T)
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, grad_output):
        x = self.pop_saved()
        g2 = grad_output.reshape(-1, self.out_features)  # (N, out), batch axes merged
        x2 = x.reshape(-1, self.in_features)              # (N, in)
        self.weight.grad += g2.T @ x2                      # sum over the batch: (out, in)
        if self.bias is not None:
            self.bias.grad += g2.sum(axis=0)
        return matmul_2d(grad_output, self.weight.data)   # (*, in)


# ============================================================== activations and reshaping
class ReLU(Module):
    """``max(x, 0)`` elementwise, any shape. Caches the mask ``x > 0`` of the *input*
    (the derivative is 1 where the input was positive, 0 elsewhere, 0 at x = 0 as in torch)."""

    def forward(self, x):
        x = np.asarray(x)
        mask = x > 0
        self.save_for_backward(mask)
        return x * mask

    def backward(self, grad_output):
        mask = self.pop_saved()
        return grad_output * mask


class Tanh(Module):
    """``tanh(x)`` elementwise. Caches the output y (d tanh / dx = 1 - y^2)."""

    def forward(self, x):
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad_output):
        y = self.pop_saved()
        return grad_output * (1.0 - y * y)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise, computed without overflow for large |x|.
    Caches the output y (d sigma / dx = y (1 - y))."""

    def forward(self, x):
        x = np.asarray(x)
        e = np.exp(-np.abs(x))                      # in (0, 1]: never overflows
        y = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype if x.dtype.kind == "f" else np.float64)
        self.save_for_backward(y)
        return y

    def backward(self, grad_output):
        y = self.pop_saved()
        return grad_output * y * (1.0 - y)


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...), like ``torch.nn.Flatten()``. Caches the input shape."""

    def __init__(self, start_dim: int = 1):
        self.start_dim = int(start_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}" if self.start_dim != 1 else ""

    def forward(self, x):
        x = np.asarray(x)
        self.save_for_backward(x.shape)
        return x.reshape(x.shape[:self.start_dim] + (-1,))

    def backward(self, grad_output):
        shape = self.pop_saved()
        return grad_output.reshape(shape)


class Sequential(Module):
    """Modules applied in order; backward applies their backward in reverse order.

    ``Sequential(Conv2d(1, 16, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(256, 10))``.
    Parameters are named like torch's: ``"0.weight"``, ``"4.bias"``. Indexable.
    Saves nothing itself: each layer keeps its own cache.
    """

    def __init__(self, *modules: Module):
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules; item {i} is a {type(m).__name__}")
        self.layers = list(modules)

    def _members(self):
        for i, m in enumerate(self.layers):
            yield str(i), m

    def __getitem__(self, i):
        return Sequential(*self.layers[i]) if isinstance(i, slice) else self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_output):
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

