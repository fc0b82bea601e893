"""``Parameter`` and ``Module``: the two classes every layer of ``course.nn`` is built on.

See ``course.nn``'s docstring for the design (caches on a stack, gradients that accumulate).
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

__all__ = ["Parameter", "Module"]

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

