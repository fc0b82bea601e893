"""PyTorch as the oracle: the converters and "torch twins" that tests, benchmarks,
checkers and lectures share.

- ``to_torch(a, requires_grad=False)``: a float64 (or ``dtype``) tensor copy of an array;
- ``copy_params(theirs, ours)``: our parameters into the torch module whose
  ``named_parameters()`` have the same names (``"0.weight"``, ``"weight_ih_l0"``);
- ``torch_twin(model)``: the torch ``Sequential`` equal to a ``course.nn.Sequential``
  of the Unit 2 layers, weights copied (or ``None`` if a layer has no twin);
- ``compare_module(ours, theirs, *inputs)``: forward and backward of ours against
  torch on a random upstream gradient: the output, every input gradient and **every**
  parameter gradient, by name.

torch is imported on first use, so importing this module stays cheap.
"""
from __future__ import annotations

import numpy as np

__all__ = ["to_torch", "to_numpy", "copy_params", "torch_twin", "compare_module"]


def _torch():
    import torch

    return torch


def to_torch(a, requires_grad: bool = False, dtype=None):
    """A torch tensor holding a copy of ``a`` (float64 unless ``dtype``; integer arrays stay integer)."""
    torch = _torch()
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return torch.from_numpy(a.copy())
    t = torch.tensor(a, dtype=dtype or torch.float64)
    return t.requires_grad_(True) if requires_grad else t


def to_numpy(t) -> np.ndarray:
    """The values of a tensor (detached, on the CPU) as an array."""
    return t.detach().cpu().numpy()


def copy_params(theirs, ours) -> None:
    """Copy each of ``ours.named_parameters()`` into the torch parameter of the same name.

    The names must match exactly (our modules are named like torch's for this).
    """
    torch = _torch()
    t_params = dict(theirs.named_parameters())
    o_params = dict(ours.named_parameters())
    if set(o_params) != set(t_params):
        raise ValueError(f"parameter names differ: ours {sorted(o_params)} vs torch {sorted(t_params)}")
    with torch.no_grad():
        for name, p in o_params.items():
            t_params[name].copy_(torch.from_numpy(np.asarray(p.data)))


def torch_twin(model, dtype=None):
    """The torch network equal to ``model`` (a ``course.nn.Sequential`` of Conv2d, Linear,
    ReLU, Tanh, Sigmoid, MaxPool2d, AvgPool2d, Flatten), its weights copied in; ``None`` if
    some layer has no twin. float64 unless ``dtype``."""
    torch = _torch()
    make = {
        "Conv2d": lambda m: torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride,
                                            padding=m.padding, bias=m.bias is not None),
        "Linear": lambda m: torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None),
        "ReLU": lambda m: torch.nn.ReLU(), "Tanh": lambda m: torch.nn.Tanh(), "Sigmoid": lambda m: torch.nn.Sigmoid(),
        "MaxPool2d": lambda m: torch.nn.MaxPool2d(m.kernel_size, m.stride, m.padding),
        "AvgPool2d": lambda m: torch.nn.AvgPool2d(m.kernel_size, m.stride, m.padding),
        "Flatten": lambda m: torch.nn.Flatten(getattr(m, "start_dim", 1)),
    }
    layers = list(getattr(model, "layers", None) or [])
    if not layers or any(type(m).__name__ not in make for m in layers):
        return None
    twin = torch.nn.Sequential(*(make[type(m).__name__](m) for m in layers)).to(dtype or torch.float64)
    try:
        copy_params(twin, model)
    except ValueError:
        return None
    return twin


def compare_module(ours, theirs, *inputs, grad_output=None, seed: int = 0, rtol: float = 1e-6, atol: float = 1e-9):
    """Assert that ``ours`` (a ``course.nn.Module``) computes what ``theirs`` (torch) computes.

    Copies our parameters into ``theirs`` (float64), runs both forward on ``inputs``,
    then backward with ``grad_output`` (random, seeded, by default), and compares the
    output, each float input's gradient and every parameter gradient by name.
    Returns ``(output, input_grads)`` of ours.
    """
    torch = _torch()
    theirs = theirs.double()
    copy_params(theirs, ours)
    t_inputs = [to_torch(x, requires_grad=np.asarray(x).dtype.kind == "f") for x in inputs]
    out_t = theirs(*t_inputs)
    ours.zero_grad()
    out = ours(*inputs)
    np.testing.assert_allclose(out, to_numpy(out_t), rtol=rtol, atol=atol, err_msg="forward output")
    g = np.random.default_rng(seed).standard_normal(out.shape) if grad_output is None else np.asarray(grad_output)
    out_t.backward(torch.from_numpy(g))
    grads = ours.backward(g)
    grads = grads if isinstance(grads, tuple) else (grads,)
    float_inputs = [(i, t) for i, t in enumerate(t_inputs) if t.requires_grad]
    if len(grads) == len(inputs):
        grads = tuple(grads[i] for i, _ in float_inputs)
    assert len(grads) == len(float_inputs), f"backward returned {len(grads)} gradients for {len(float_inputs)} inputs"
    for gi, (i, ti) in zip(grads, float_inputs):
        assert gi.shape == ti.shape, f"gradient of input {i}: shape {gi.shape}, expected {tuple(ti.shape)}"
        np.testing.assert_allclose(gi, to_numpy(ti.grad), rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, to_numpy(t_params[name].grad), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of {name}")
    return out, grads
