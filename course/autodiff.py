"""Scalar reverse-mode automatic differentiation (micrograd style).

A ``Value`` holds one number (``data``) and the derivative of the final output
with respect to it (``grad``). Every arithmetic operation on Values makes a new
Value that remembers its inputs (``_prev``), the operation (``_op``) and a small
function ``_backward`` that applies the chain rule *locally*:

    out = f(a, b)          a.grad += (d out / d a) * out.grad
                           b.grad += (d out / d b) * out.grad

``backward()`` visits the graph in reverse topological order (every node after
all the nodes that use it), so when a node's ``_backward`` runs, its ``grad``
already holds the complete derivative of the output with respect to it. That is
all backpropagation is: reverse-mode AD, one sweep, every gradient at once.

Gradients are *added* (``+=``), never assigned: a Value used twice (``x * x``,
or ``a`` feeding two branches) collects one contribution per use — the
multivariable chain rule sums over paths.

Semantics follow PyTorch's autograd: calling ``backward()`` twice adds the
gradients of leaves (Values made by you, with no inputs) a second time, while
intermediate nodes are recomputed from scratch each pass. ``zero_grad()``
resets every gradient in the graph.

The drawing of a graph lives in ``course.plotting.draw_graph`` (reference
modules do no plotting).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

__all__ = ["Value"]


class Value:
    """One scalar node of a computation graph.

    ``Value(data, _children=(), _op="", label="")``: ``data`` a Python number,
    ``_children`` the Values it was computed from, ``_op`` a short name of the
    operation ("+", "*", "tanh", ...), ``label`` a name for drawings.
    """

    __slots__ = ("data", "grad", "_backward", "_prev", "_op", "label")

    def __init__(self, data, _children: Iterable["Value"] = (), _op: str = "", label: str = ""):
        if isinstance(data, Value):
            raise TypeError("Value(data) expects a number, got a Value: use the Value itself")
        try:
            self.data = float(data)
        except (TypeError, ValueError):
            raise TypeError(f"Value(data) expects a real number, got {type(data).__name__} {data!r}") from None
        self.grad = 0.0
        self._backward: Callable[[], None] = lambda: None
        self._prev = tuple(_children)
        self._op = _op
        self.label = label

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other) -> "Value":
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # d(a + b)/da = 1, d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other) -> "Value":
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # d(a b)/da = b, d(a b)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent) -> "Value":
        if isinstance(exponent, Value) or not isinstance(exponent, (int, float)):
            raise TypeError(
                "Value ** k supports a constant int or float exponent k only; "
                "for a Value exponent write (k * x.log()).exp()"
            )
        out = Value(self.data**exponent, (self,), f"**{exponent:g}")

        def _backward():  # d(x^k)/dx = k x^(k-1)
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> "Value":
        return self * -1.0

    def __sub__(self, other) -> "Value":
        return self + (-_as_value(other))

    def __truediv__(self, other) -> "Value":
        return self * _as_value(other) ** -1

    def __radd__(self, other) -> "Value":  # other + self
        return self + other

    def __rmul__(self, other) -> "Value":  # other * self
        return self * other

    def __rsub__(self, other) -> "Value":  # other - self
        return _as_value(other) + (-self)

    def __rtruediv__(self, other) -> "Value":  # other / self
        return _as_value(other) * self**-1

    # ------------------------------------------------------------ functions
    def exp(self) -> "Value":
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():  # d(e^x)/dx = e^x
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> "Value":
        if self.data <= 0:
            raise ValueError(f"log needs a positive input, got {self.data:g}")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():  # d(log x)/dx = 1/x
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():  # d(tanh x)/dx = 1 - tanh(x)^2
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> "Value":
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():  # d relu(x)/dx = 1 if x > 0 else 0 (0 at x = 0, as in PyTorch)
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> "Value":
        s = 1.0 / (1.0 + math.exp(-self.data)) if self.data >= 0 else math.exp(self.data) / (1.0 + math.exp(self.data))
        out = Value(s, (self,), "sigmoid")

        def _backward():  # d sigma(x)/dx = sigma(x) (1 - sigma(x))
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    # ------------------------------------------------------------ the graph
    def topological_order(self) -> list["Value"]:
        """Every node this Value depends on (itself included), inputs before outputs.

        Depth-first search with an explicit stack, so long chains do not hit
        Python's recursion limit. Each node appears once even when reused.
        """
        order: list[Value] = []
        visited: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for child in reversed(node._prev):
                if id(child) not in visited:
                    stack.append((child, False))
        return order

    def backward(self) -> None:
        """Fill ``.grad`` of every node below with d(self)/d(node).

        Seeds d(self)/d(self) = 1, then runs each node's local chain rule in
        reverse topological order. Leaves accumulate across calls (as in
        PyTorch: call ``zero_grad()`` between steps); intermediate nodes are
        reset at the start of each pass so a second call is still correct.
        """
        order = self.topological_order()
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad = 1.0 if self._prev else self.grad + 1.0  # a leaf root accumulates too
        for node in reversed(order):
            node._backward()

    def zero_grad(self) -> None:
        """Set ``grad = 0`` on this node and every node it depends on."""
        for node in self.topological_order():
            node.grad = 0.0


def _as_value(x) -> Value:
    return x if isinstance(x, Value) else Value(x)
