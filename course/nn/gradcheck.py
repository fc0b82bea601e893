"""``gradcheck``: every backward against central finite differences, in float64."""
from __future__ import annotations

import numpy as np

from course.nn.module import Module

__all__ = ["gradcheck", "GradcheckReport"]


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
