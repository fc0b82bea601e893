"""Neural-network layers as modules with a hand-written forward and backward.

This is backpropagation "componentized into layers" (the CS231n design): each
layer is a ``Module`` that knows how to

- ``forward(*inputs)``: compute its output, and *save* what its backward needs
  (its input, a mask, an output) on a small stack of caches;
- ``backward(grad_output)``: take d(loss)/d(output), *add* d(loss)/d(parameter)
  into every ``Parameter.grad``, and return d(loss)/d(input) — a tuple when
  forward took several inputs.

A network is a composition of modules (``Sequential``): forward runs the
layers in order, backward runs them in reverse, each one applying the chain
rule to its own piece. Nothing here builds a graph at run time — the order of
backward calls *is* the reverse topological order.

Design choices, chosen so that later units (LSTM, Transformer) fit:

- Gradients accumulate: ``backward`` does ``param.grad += ...``. A parameter
  shared by several modules, or a module applied at every time step, collects
  one contribution per use. So call ``zero_grad()`` before each backward pass.
- Caches form a stack: each ``forward`` in training mode pushes one cache
  (``save_for_backward``), each ``backward`` pops the latest (``pop_saved``).
  A module called T times in one step (an RNN cell unrolled over time, one
  attention block per layer) is backpropagated by calling ``backward`` T times
  in reverse order. In eval mode (``model.eval()``) nothing is saved, so
  evaluation on many batches keeps no memory; ``clear_cache()`` drops stale
  caches (e.g. after a forward whose backward you skipped).
- Parameters are float64 by default (for gradient checks); ``model.to(np.float32)``
  converts a whole model for faster training. Inputs should have the same dtype.

Writing a new layer: subclass ``Module``; keep Parameters (or lists of
modules) as attributes; in ``forward`` call ``self.save_for_backward(...)``
with what backward needs; in ``backward`` get it back with
``self.pop_saved()``, add parameter gradients with ``+=`` and return the input
gradient (a tuple, one per input, if forward took several). Then check it
with ``gradcheck(layer, inputs)``.

``gradcheck`` compares every backward against central finite differences.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from course import conv, pool
from course._validate import as_pair, check_ndim, check_nonnegative, check_positive

__all__ = [
    "Parameter", "Module", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "Tanh",
    "Sigmoid", "Flatten", "Sequential", "SoftmaxCrossEntropy", "gradcheck", "GradcheckReport",
]


# ============================================================== Parameter
class Parameter:
    """A trainable array: ``data`` (the values) and ``grad`` (d loss / d data, same shape).

    ``Parameter(data, dtype=None)``: ``data`` is copied; its dtype is kept if it
    is a floating-point array, float64 otherwise (or ``dtype`` when given).
    ``grad`` starts at zeros and is *added to* by backward passes.
    """

    def __init__(self, data, dtype=None):
        data = np.asarray(data)
        if dtype is None:
            dtype = data.dtype if np.issubdtype(data.dtype, np.floating) else np.float64
        self.data = np.array(data, dtype=dtype, order="C")
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        self.grad[...] = 0

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


# ============================================================== Module
class Module:
    """Base class of every layer and network.

    Subclasses write ``forward(*inputs)`` and ``backward(grad_output)``; in
    forward they call ``self.save_for_backward(...)`` and in backward
    ``self.pop_saved()``. Attributes that are Parameters, Modules, or
    lists/tuples/dicts of them are found by ``parameters()`` automatically.
    """

    training: bool = True

    # ------------------------------------------------------------ the two passes
    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward(*inputs)")

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__} must define backward(grad_output)")

    def __call__(self, *inputs):
        return self.forward(*inputs)

    # ------------------------------------------------------------ the cache stack
    def save_for_backward(self, *values) -> None:
        """Push what backward will need (training mode only; eval mode saves nothing)."""
        if self.training:
            self.__dict__.setdefault("_saved", []).append(values)

    def pop_saved(self):
        """Pop the latest forward's cache: one value, or a tuple if several were saved."""
        stack = self.__dict__.get("_saved")
        if not stack:
            raise RuntimeError(
                f"{type(self).__name__}.backward has no saved forward to go back through. "
                "Each forward in training mode saves one cache and each backward uses one "
                "(last in, first out): call forward before backward, once per backward, with "
                "the module in training mode (module.train(); eval mode saves nothing)."
            )
        values = stack.pop()
        return values[0] if len(values) == 1 else values

    def clear_cache(self) -> "Module":
        """Drop every saved cache in this module and its submodules."""
        for m in self.modules():
            m.__dict__.pop("_saved", None)
        return self

    # ------------------------------------------------------------ the tree
    def _members(self) -> Iterator[tuple[str, Any]]:
        """(name, Parameter or Module) for each attribute, lists/tuples/dicts expanded."""
        for name, value in vars(self).items():
            if name == "_saved":
                continue
            if isinstance(value, (Parameter, Module)):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, (Parameter, Module)):
                        yield f"{name}.{i}", item
            elif isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, (Parameter, Module)):
                        yield f"{name}.{key}", item

    def named_children(self) -> list[tuple[str, "Module"]]:
        return [(n, m) for n, m in self._members() if isinstance(m, Module)]

    def children(self) -> list["Module"]:
        return [m for _, m in self.named_children()]

    def modules(self) -> list["Module"]:
        """This module and every submodule, depth first, each once."""
        out, seen, stack = [], set(), [self]
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            out.append(m)
            stack.extend(reversed(m.children()))
        return out

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Parameter]]:
        """("0.weight", Parameter) pairs, found recursively; a shared Parameter appears once."""
        out: list[tuple[str, Parameter]] = []
        self._collect(prefix, out, set(), set())
        return out

    def _collect(self, prefix, out, seen_params, seen_modules):
        seen_modules.add(id(self))
        for name, member in self._members():
            full = f"{prefix}{name}"
            if isinstance(member, Parameter):
                if id(member) not in seen_params:
                    seen_params.add(id(member))
                    out.append((full, member))
            elif id(member) not in seen_modules:
                member._collect(full + ".", out, seen_params, seen_modules)

    def parameters(self) -> list[Parameter]:
        """Every Parameter of this module and its submodules (each once)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to zero (backward adds into it)."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> "Module":
        """Training mode for this module and all submodules (forward saves caches)."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: forward only, nothing saved for backward."""
        return self.train(False)

    def to(self, dtype) -> "Module":
        """Convert every parameter (data and grad) to ``dtype``, e.g. ``np.float32``."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = p.grad.astype(dtype)
        return self

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = self.named_children()
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        return "\n".join(lines) + "\n)"


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


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
        y = x @ self.weight.data.T
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
        return grad_output @ self.weight.data              # (*, in)


class Conv2d(Module):
    """2-D convolution (cross-correlation) layer: ``course.conv.conv2d`` as a module.

    x: (N, C_in, H, W) -> (N, C_out, OH, OW); weight (C_out, C_in, KH, KW),
    bias (C_out,), initialised uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] with
    fan_in = C_in*KH*KW (torch's default). ``kernel_size``, ``stride``,
    ``padding`` take an int or an (h, w) pair; zero padding.

    Two ways to the same numbers, picked by size:

    - small inputs (the unrolled input has at most ``im2col_max_elements``
      entries, e.g. a batch of digits): "im2col", as in CS231n's fast layers.
      Every receptive field becomes a column of ``cols`` (C*KH*KW, N*OH*OW), so
      the whole batch is ONE matrix product ``W.reshape(F, -1) @ cols``; on
      small images the cost of many small NumPy calls would dominate otherwise.
      Caches ``cols``: backward gets grad_W = grad @ cols^T, and grad_x by adding
      each column of grad_cols back onto the pixels it was copied from.
    - large inputs: ``conv.conv2d`` / ``conv.conv2d_backward`` (one product per
      kernel offset, no KH*KW-times copy of the input). Caches x.
    """

    #: Largest unrolled input (C*KH*KW * N*OH*OW entries) for the im2col path.
    im2col_max_elements: int = 2**21

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, rng=None, dtype=np.float64):
        rng = _rng(rng)
        kh, kw = as_pair(kernel_size, "kernel_size")
        if min(in_channels, out_channels, kh, kw) < 1:
            raise ValueError(f"Conv2d needs channels and kernel_size >= 1, got in_channels={in_channels}, "
                             f"out_channels={out_channels}, kernel_size={(kh, kw)}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = (kh, kw), as_pair(stride, "stride"), as_pair(padding, "padding")
        check_positive(self.stride, "stride")
        check_nonnegative(self.padding, "padding")
        bound = 1.0 / math.sqrt(in_channels * kh * kw)
        self.weight = Parameter(rng.uniform(-bound, bound, (out_channels, in_channels, kh, kw)), dtype)
        self.bias = Parameter(rng.uniform(-bound, bound, (out_channels,)), dtype) if bias else None

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}, padding={self.padding}")
        return s + ("" if self.bias is not None else ", bias=False")

    def _output_hw(self, x) -> tuple[int, int]:
        check_ndim(x, 4, "Conv2d: x", "(N, C, H, W); for one image use x[None]")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r} expects {self.in_channels} input channels, got x of shape {x.shape}: "
                "axis 1 of (N, C, H, W) must equal in_channels"
            )
        hw = tuple(conv.output_size(n, k, p, s) for n, k, p, s in
                   zip(x.shape[2:], self.kernel_size, self.padding, self.stride))
        if min(hw) < 1:
            raise ValueError(
                f"Conv2d: input {x.shape[2:]} with padding {self.padding} is smaller than the kernel "
                f"{self.kernel_size} (output would be {hw}); use a larger input or more padding"
            )
        return hw

    def forward(self, x):
        x = np.asarray(x)
        oh, ow = self._output_hw(x)
        n, f = x.shape[0], self.out_channels
        b = None if self.bias is None else self.bias.data
        if self.weight.data[0].size * n * oh * ow > self.im2col_max_elements:
            self.save_for_backward("x", x)
            return conv.conv2d(x, self.weight.data, b, stride=self.stride, padding=self.padding)
        cols = conv.im2col(x, self.kernel_size, self.stride, self.padding)  # (C*KH*KW, N*OH*OW)
        out = self.weight.data.reshape(f, -1) @ cols                               # (F, N*OH*OW)
        if b is not None:
            out += b[:, None]
        self.save_for_backward("cols", (cols, x.shape))
        return np.ascontiguousarray(out.reshape(f, n, oh, ow).transpose(1, 0, 2, 3))

    def backward(self, grad_output):
        kind, saved = self.pop_saved()
        if kind == "x":
            grad_x, grad_w, grad_b = conv.conv2d_backward(grad_output, saved, self.weight.data,
                                                          stride=self.stride, padding=self.padding)
        else:
            cols, x_shape = saved
            f = self.out_channels
            g = grad_output.transpose(1, 0, 2, 3).reshape(f, -1)   # (F, N*OH*OW)
            grad_w = (g @ cols.T).reshape(self.weight.data.shape)   # summed over batch and positions
            grad_b = g.sum(axis=1)
            grad_cols = self.weight.data.reshape(f, -1).T @ g       # (C*KH*KW, N*OH*OW)
            grad_x = conv.col2im(grad_cols, x_shape, self.kernel_size, self.stride, self.padding)
        self.weight.grad += grad_w
        if self.bias is not None:
            self.bias.grad += grad_b
        return grad_x


# ============================================================== pooling
class _Pool2d(Module):
    """Pooling on ``course.pool``: (N, C, H, W) -> (N, C, OH, OW); caches the input x.

    ``stride`` defaults to ``kernel_size`` (non-overlapping windows), as in torch.
    Subclasses name the forward and backward functions of ``course.pool``.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else as_pair(stride, "stride")
        self.padding = as_pair(padding, "padding")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        x = np.asarray(x)
        check_ndim(x, 4, f"{type(self).__name__}: x", "(N, C, H, W)")
        self.save_for_backward(x)
        return type(self)._pool(x, self.kernel_size, self.stride, self.padding)

    def backward(self, grad_output):
        x = self.pop_saved()
        return type(self)._pool_backward(grad_output, x, self.kernel_size, self.stride, self.padding)


class MaxPool2d(_Pool2d):
    """Max pooling: ``pool.max_pool2d``. Backward is ``pool.max_pool2d_backward``: each
    window's gradient goes to its first maximum (row-major), PyTorch's rule."""

    _pool, _pool_backward = pool.max_pool2d, pool.max_pool2d_backward


class AvgPool2d(_Pool2d):
    """Average pooling: ``pool.avg_pool2d``. Backward is ``pool.avg_pool2d_backward``:
    each input in a window receives grad / window size."""

    _pool, _pool_backward = pool.avg_pool2d, pool.avg_pool2d_backward


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


# ============================================================== loss
class SoftmaxCrossEntropy(Module):
    """Mean cross-entropy of softmax(logits) against integer class labels.

    ``forward(logits, targets)``: logits (N, K) real scores, targets (N,) ints in
    [0, K) -> a float, ``mean_i [ log sum_k exp(logits[i, k]) - logits[i, targets[i]] ]``,
    computed with the log-sum-exp shift (subtract each row's max) so large
    logits never overflow. Same value as ``torch.nn.functional.cross_entropy``.

    ``backward(grad_output=1.0)`` -> grad_logits (N, K) =
    ``grad_output * (softmax(logits) - onehot(targets)) / N`` (targets get no gradient).
    Caches the probabilities and the targets.
    """

    def forward(self, logits, targets):
        logits = np.asarray(logits)
        targets = np.asarray(targets)
        if logits.ndim != 2:
            raise ValueError(f"SoftmaxCrossEntropy expects logits of shape (N, K), got {logits.shape}")
        n, k = logits.shape
        if targets.shape != (n,):
            raise ValueError(f"targets must have shape (N,) = ({n},) to match logits {logits.shape}, got {targets.shape}")
        if targets.dtype.kind not in "iu":
            raise ValueError(f"targets must be integer class indices, got dtype {targets.dtype}: use y.astype(np.int64)")
        if n and (targets.min() < 0 or targets.max() >= k):
            raise ValueError(f"targets must lie in [0, {k}) for {k} classes, got values in [{targets.min()}, {targets.max()}]")
        shifted = logits - logits.max(axis=1, keepdims=True)      # largest logit becomes 0
        log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log-sum-exp of the shifted row
        log_probs = shifted - log_z
        self.save_for_backward(np.exp(log_probs), targets)
        return float(-log_probs[np.arange(n), targets].mean())

    def backward(self, grad_output=1.0):
        probs, targets = self.pop_saved()
        n = probs.shape[0]
        grad = probs.copy()
        grad[np.arange(n), targets] -= 1.0
        grad *= np.asarray(grad_output, dtype=probs.dtype) / n
        return grad


# ============================================================== gradient check
class GradcheckReport(dict):
    """``{name: max relative error}`` for every input and parameter checked.

    ``report.max_error`` is the worst one; ``print(report)`` shows a table.
    Relative error of analytic ``a`` vs numeric ``n``: ``|a - n| / max(|a| + |n|, 1e-8)``,
    maximised over elements. Below ~1e-5 in float64 (typically 1e-7 to 1e-10)
    means the backward is right; around 1e-2 or more means it is wrong.
    """

    @property
    def max_error(self) -> float:
        return max(self.values(), default=0.0)

    def passed(self, tol: float = 1e-5) -> bool:
        return self.max_error < tol

    def __str__(self) -> str:
        width = max([len(k) for k in self] + [8])
        lines = [f"{'checked':<{width}}  max rel. error"]
        for name, err in self.items():
            flag = "ok" if err < 1e-5 else ("check" if err < 1e-3 else "WRONG")
            lines.append(f"{name:<{width}}  {err:.2e}  {flag}")
        return "\n".join(lines)


def _rel_error(a: np.ndarray, n: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-8)))


def gradcheck(module_or_fn, inputs, eps: float = 1e-6, seed: int = 0, verbose: bool = False) -> GradcheckReport:
    """Compare a backward pass with central finite differences, in float64.

    ``module_or_fn``: a ``Module`` (its forward and backward are checked, and
    the gradients of all its parameters), or a function
    ``fn(*inputs) -> (output, backward_fn)`` with ``backward_fn(grad_output)``
    returning the input gradients (vector-Jacobian-product style).
    ``inputs``: one array or a tuple of arrays; integer arrays (class labels)
    are passed through unchecked.

    The scalar checked is ``loss = sum(output * R)`` for a fixed random R
    (seeded), so every output element matters with a different weight. For each
    float input or parameter entry v: ``(loss(v + eps) - loss(v - eps)) / (2 eps)``.
    Returns a ``GradcheckReport`` {``"input 0"``, ``"weight"``, ...: max relative
    error}; ``verbose=True`` also prints it. Parameter ``.grad`` values and the
    module's caches are left as they were.
    """
    single = not isinstance(inputs, (tuple, list))
    inputs = [inputs] if single else list(inputs)
    inputs = [np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x) for x in inputs]
    float_idx = [i for i, x in enumerate(inputs) if x.dtype.kind == "f"]
    is_module = isinstance(module_or_fn, Module)
    named = module_or_fn.named_parameters() if is_module else []
    for name, p in named:
        if p.data.dtype != np.float64:
            raise ValueError(f"gradcheck needs float64 parameters, {name} is {p.data.dtype}: "
                             "call module.to(np.float64) first (float32 finite differences are noise)")
    if is_module:
        saved_grads = [p.grad.copy() for _, p in named]
        saved_cache = {id(m): m.__dict__.pop("_saved", None) for m in module_or_fn.modules()}
        was_training = module_or_fn.training
        module_or_fn.train()

    def run():
        if is_module:
            return module_or_fn.forward(*inputs), module_or_fn.backward
        result = module_or_fn(*inputs)
        if not (isinstance(result, tuple) and len(result) == 2 and callable(result[1])):
            raise TypeError("gradcheck(fn, ...) needs fn(*inputs) -> (output, backward_fn); "
                            "for a layer, pass the Module itself")
        return result

    try:
        out, backward = run()
        out = np.asarray(out, dtype=np.float64)
        R = np.random.default_rng(seed).standard_normal(out.shape)
        for _, p in named:
            p.grad[...] = 0
        grads = backward(R if out.shape else float(R))
        grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
        if len(grads) == len(inputs):
            grads = [grads[i] for i in float_idx]
        elif len(grads) != len(float_idx):
            raise ValueError(f"backward returned {len(grads)} gradients for {len(inputs)} inputs "
                             f"({len(float_idx)} of them float): return one per input, in order")
        analytic = {f"input {i}": np.asarray(g) for i, g in zip(float_idx, grads)}
        analytic.update({name: p.grad.copy() for name, p in named})
        targets = {f"input {i}": inputs[i] for i in float_idx}
        targets.update({name: p.data for name, p in named})

        def loss() -> float:
            value = float(np.sum(np.asarray(run()[0], dtype=np.float64) * R))
            if is_module:  # forward-only: drop the cache it saved, or 2 per entry pile up
                module_or_fn.clear_cache()
            return value

        report = GradcheckReport()
        for name, arr in targets.items():
            numeric = np.zeros(arr.shape)
            for i in range(arr.size):
                old = arr.flat[i]
                arr.flat[i] = old + eps
                plus = loss()
                arr.flat[i] = old - eps
                minus = loss()
                arr.flat[i] = old
                numeric.flat[i] = (plus - minus) / (2 * eps)
            a = analytic[name]
            if a.shape != arr.shape:
                raise ValueError(f"gradient for {name} has shape {a.shape} but {name} has shape {arr.shape}: "
                                 "a gradient always has the shape of what it is the gradient of")
            report[name] = _rel_error(a, numeric)
    finally:
        if is_module:
            for (_, p), g in zip(named, saved_grads):
                p.grad[...] = g
            for m in module_or_fn.modules():
                m.__dict__.pop("_saved", None)
                if saved_cache.get(id(m)) is not None:
                    m._saved = saved_cache[id(m)]
            module_or_fn.train(was_training)
    if verbose:
        print(report)
    return report
