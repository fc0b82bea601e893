"""``LayerNorm``, ``GELU`` and ``Dropout``: the small layers a Transformer block is made of.

- ``LayerNorm(normalized_shape, eps=1e-5)``: normalise each token's features to mean 0,
  variance 1, then scale and shift (``weight``, ``bias``), as ``torch.nn.LayerNorm``;
- ``GELU(approximate="none")``: ``x * Phi(x)`` (Phi the standard normal CDF, the exact
  erf form, torch's default) or ``approximate="tanh"`` (faster, within ~1e-3);
- ``Dropout(p)``: zero each entry with probability p in training mode and scale the rest
  by 1/(1-p) (identity in eval mode), the mask from a seedable ``rng`` or passed explicitly.
"""
from __future__ import annotations

import math

import numpy as np

from course.nn.module import Module, Parameter, _rng

__all__ = ["LayerNorm", "GELU", "Dropout"]


# ============================================================== LayerNorm
class LayerNorm(Module):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` over the last ``len(normalized_shape)`` axes.

    x: (*, *normalized_shape) -> y: same shape. The variance is the biased one
    (divide by the count, as torch). ``weight`` starts at 1, ``bias`` at 0, both of
    shape ``normalized_shape``; ``elementwise_affine=False`` drops them.

    Caches the normalised input xhat and 1/std (backward:
    ``dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))``, dxhat = g * weight).
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 dtype=np.float64):
        shape = (int(normalized_shape),) if np.ndim(normalized_shape) == 0 else tuple(int(n) for n in normalized_shape)
        if not shape or min(shape) < 1:
            raise ValueError(f"LayerNorm needs a normalized_shape of positive sizes, got {normalized_shape}")
        self.normalized_shape, self.eps = shape, float(eps)
        self.weight = Parameter(np.ones(shape), dtype) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape), dtype) if elementwise_affine else None

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps:g}"

    def _axes(self, x):
        n = len(self.normalized_shape)
        if x.shape[x.ndim - n:] != self.normalized_shape:
            raise ValueError(f"LayerNorm{self.normalized_shape} expects inputs of shape (*, "
                             f"{', '.join(map(str, self.normalized_shape))}), got {x.shape}: the last axes "
                             "must be the features to normalise")
        return tuple(range(x.ndim - n, x.ndim))

    def forward(self, x):
        x = np.asarray(x)
        axes = self._axes(x)
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = np.mean(xc * xc, axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        xhat = np.multiply(xc, rstd, out=xc)
        self.save_for_backward(xhat, rstd)
        if self.weight is None:
            return xhat.copy()
        return xhat * self.weight.data + self.bias.data

    def backward(self, grad_output):
        xhat, rstd = self.pop_saved()
        g = np.asarray(grad_output)
        axes = self._axes(g)
        batch_axes = tuple(range(g.ndim - len(axes)))
        if self.weight is not None:
            self.weight.grad += np.sum(g * xhat, axis=batch_axes)
            self.bias.grad += np.sum(g, axis=batch_axes)
            g = g * self.weight.data                        # d loss / d xhat
        mean_g = g.mean(axis=axes, keepdims=True)
        mean_gx = np.mean(g * xhat, axis=axes, keepdims=True)
        return (g - mean_g - xhat * mean_gx) * rstd


# ============================================================== GELU
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # scipy comes with scikit-learn, a course dependency

    return erf(x)


class GELU(Module):
    """Gaussian Error Linear Unit, elementwise, as ``torch.nn.GELU(approximate=...)``.

    ``approximate="none"`` (default): ``x * Phi(x)``, ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``;
    derivative ``Phi(x) + x * phi(x)`` (phi the normal density).
    ``approximate="tanh"``: ``x/2 * (1 + tanh(u))``, ``u = sqrt(2/pi) (x + 0.044715 x^3)``,
    several times faster in NumPy. (``x*x*x``, never ``x**3``: in float32 NumPy's power
    is ~30x slower than two multiplications.) Caches what the derivative needs.
    """

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU's approximate must be 'none' or 'tanh' (as torch), got {approximate!r}")
        self.approximate = approximate

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}" if self.approximate != "none" else ""

    def forward(self, x):
        x = np.asarray(x)
        t = x.dtype.type
        if self.approximate == "tanh":
            x2 = x * x
            th = np.tanh(t(_SQRT_2_OVER_PI) * x * (t(1) + t(0.044715) * x2))
            self.save_for_backward(x, x2, th)
            return t(0.5) * x * (t(1) + th)
        cdf = t(0.5) * (t(1) + _erf(x * t(_INV_SQRT_2)))
        self.save_for_backward(x, cdf)
        return x * cdf

    def backward(self, grad_output):
        if self.approximate == "tanh":
            x, x2, th = self.pop_saved()
            t = x.dtype.type
            du = t(_SQRT_2_OVER_PI) * (t(1) + t(3 * 0.044715) * x2)
            return grad_output * (t(0.5) * (t(1) + th) + t(0.5) * x * (t(1) - th * th) * du)
        x, cdf = self.pop_saved()
        t = x.dtype.type
        pdf = t(_INV_SQRT_2PI) * np.exp(t(-0.5) * x * x)
        return grad_output * (cdf + x * pdf)


# ============================================================== Dropout
class Dropout(Module):
    """Zero each entry with probability ``p`` and scale the kept ones by ``1/(1-p)`` (training mode).

    ``Dropout(p=0.5, rng=None)``: ``rng`` a seed or ``np.random.Generator`` (the masks are
    reproducible). In eval mode, or with p = 0, it is the identity. For tests,
    ``forward(x, mask=keep)`` uses an explicit boolean ``keep`` mask (True = kept),
    e.g. the mask torch drew. Caches the scaled mask.
    """

    def __init__(self, p: float = 0.5, rng=None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got p={p}")
        self.p = float(p)
        self.rng = _rng(rng)

    def extra_repr(self) -> str:
        return f"p={self.p:g}"

    def __call__(self, *inputs, **options):
        return self.forward(*inputs, **options)

    def forward(self, x, mask=None):
        x = np.asarray(x)
        if not self.training or (self.p == 0.0 and mask is None):
            self.save_for_backward(None)
            return x
        keep = self.rng.random(x.shape) >= self.p if mask is None else np.broadcast_to(np.asarray(mask, bool), x.shape)
        scaled = keep * x.dtype.type(1.0 / (1.0 - self.p))
        self.save_for_backward(scaled)
        return x * scaled

    def backward(self, grad_output):
        scaled = self.pop_saved()
        return grad_output if scaled is None else grad_output * scaled
