"""``clip_grad_norm_``: torch's gradient clipping by the global norm."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``, as
    ``torch.nn.utils.clip_grad_norm_``.

    ``parameters``: Parameters (a list, a generator, ``model.parameters()``) or one Parameter.
    The total norm is the ``norm_type``-norm of all gradients concatenated (``inf``: the
    largest absolute entry). If it exceeds ``max_norm`` every ``.grad`` is multiplied, in
    place, by ``max_norm / (total_norm + 1e-6)`` — one factor for all, so the direction
    of the step is kept. Returns the total norm *before* clipping (a float).
    """
    params = [parameters] if hasattr(parameters, "grad") else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    norm_type = float(norm_type)
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        per = [np.sum(np.abs(g.astype(np.float64)) ** norm_type) for g in grads]
        total = float(np.sum(per) ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {total}: "
                           "clip_grad_norm_ cannot scale non-finite gradients (error_if_nonfinite=True)")
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= g.dtype.type(coef)
    return total
