"""course.optim's Adam / AdamW and the warm-up + cosine schedule against torch.optim, step by step."""
import math

import numpy as np
import pytest
import torch

from course import nn, optim
from course.testing import to_numpy


def _quadratic_grads(params, targets, scales):
    """A fixed, badly scaled quadratic: grad_i = scale_i * (p_i - target_i)."""
    return [s * (p - t) for p, t, s in zip(params, targets, scales)]


@pytest.mark.parametrize("cls,kw", [
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6}),
    ("Adam", {"lr": 0.02, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.02, "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.03, "weight_decay": 0.3}),
    ("AdamW", {"lr": 0.03, "weight_decay": 0.1, "amsgrad": True}),
])
def test_adam_trajectory_equals_torch(cls, kw):
    rng = np.random.default_rng(0)
    shapes = [(3, 5), (7,)]
    init = [rng.standard_normal(s) for s in shapes]
    targets = [rng.standard_normal(s) for s in shapes]
    scales = [np.exp(rng.uniform(-3, 3, s)) for s in shapes]       # gradients of very different sizes
    ours = [nn.Parameter(a) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(optim, cls)(ours, **kw)
    topt = getattr(torch.optim, cls)(theirs, **kw)
    for step in range(12):
        grads = _quadratic_grads([p.data for p in ours], targets, scales)
        grads[0] = grads[0] * (1 + (step % 3 == 0) * 5)              # a spike now and then (amsgrad's max)
        opt.zero_grad()
        for p, g in zip(ours, grads):
            p.grad += g
        tg = _quadratic_grads([to_numpy(t) for t in theirs], targets, scales)
        tg[0] = tg[0] * (1 + (step % 3 == 0) * 5)
        for t, g in zip(theirs, tg):
            t.grad = torch.from_numpy(g)
        opt.step()
        topt.step()
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.data, to_numpy(t), rtol=1e-12, atol=1e-12, err_msg=f"step {step}")


def test_adam_first_step_moves_each_coordinate_by_lr():
    """With bias correction, step 1 is p -= lr * g / (|g| + eps): about lr, whatever the gradient's scale."""
    p = nn.Parameter(np.zeros(3))
    p.grad[...] = [1e-3, 1.0, -1e3]
    optim.Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [-0.1, -0.1, 0.1], rtol=1e-4)


def test_adamw_decay_is_decoupled():
    """Zero gradient: AdamW still shrinks the weights by lr * weight_decay; Adam's L2 term goes through m / sqrt(v)."""
    p = nn.Parameter(np.full(2, 2.0))
    optim.AdamW([p], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.data, 2.0 * (1 - 0.05))


def test_adam_trains_a_module_like_torch():
    rng = np.random.default_rng(1)
    ours = nn.Sequential(nn.Linear(5, 4, rng=0), nn.Tanh(), nn.Linear(4, 3, rng=1))
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)).double()
    from course.testing import copy_params
    copy_params(theirs, ours)
    X, y = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    opt, topt = optim.AdamW(ours.parameters(), lr=0.01), torch.optim.AdamW(theirs.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(5):
        opt.zero_grad()
        loss_fn.forward(ours.forward(X), y)
        ours.backward(loss_fn.backward())
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        topt.step()
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.data, to_numpy(tp[name]), rtol=1e-10, atol=1e-12, err_msg=name)


def test_adam_rejects_bad_arguments():
    p = [nn.Parameter(np.zeros(2))]
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])


# ============================================================== schedule
def test_warmup_cosine_shape():
    f = [optim.warmup_cosine(s, 4, 14) for s in range(16)]
    np.testing.assert_allclose(f[:4], [0.25, 0.5, 0.75, 1.0])
    assert f[4] == pytest.approx(1.0)
    assert f[9] == pytest.approx(0.5)                               # half way through the cosine
    assert f[14] == pytest.approx(0.0, abs=1e-12) and f[15] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(f[3:], f[4:]))
    assert optim.warmup_cosine(14, 4, 14, min_factor=0.1) == pytest.approx(0.1)


def test_warmup_cosine_scheduler_equals_torch_lambda_lr():
    p = nn.Parameter(np.ones(3))
    t = torch.ones(3, requires_grad=True)
    opt, topt = optim.Adam([p], lr=0.01), torch.optim.Adam([t], lr=0.01)
    sched = optim.WarmupCosine(opt, 3, 10, min_factor=0.05)
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, lambda s: optim.warmup_cosine(s, 3, 10, 0.05))
    for _ in range(12):
        assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-15)
        p.grad[...] = 1.0
        t.grad = torch.ones(3)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    np.testing.assert_allclose(p.data, to_numpy(t), rtol=1e-6)
    assert math.isfinite(opt.lr)
