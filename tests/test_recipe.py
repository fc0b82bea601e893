"""course.recipe: the ML recipe on a 2-parameter line fit, checked against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course import recipe

torch.set_default_dtype(torch.float64)


def torch_objective(theta, x, y):
    """J(w, b) = mean 1/2 (w x + b - y)^2, written with torch's own MSE loss."""
    w, b = theta[0], theta[1]
    return 0.5 * torch.nn.functional.mse_loss(w * x + b, y)


def torch_grad(theta, x, y):
    t = torch.tensor(np.asarray(theta, dtype=np.float64), requires_grad=True)
    torch_objective(t, torch.from_numpy(x), torch.from_numpy(y)).backward()
    return t.grad.numpy()


# ----------------------------------------------------------------------- data
def test_data_is_seeded_and_shaped():
    x1, y1 = recipe.make_data(30, seed=3)
    x2, y2 = recipe.make_data(30, seed=3)
    x3, _ = recipe.make_data(30, seed=4)
    assert x1.shape == y1.shape == (30,) and x1.dtype == np.float64
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(x1, x3)
    assert x1.min() >= -1 and x1.max() <= 3


def test_data_follows_the_true_line():
    x, y = recipe.make_data(2000, seed=1)
    w, b = recipe.minimizer((x, y))
    assert abs(w - recipe.TRUE_W) < 0.05 and abs(b - recipe.TRUE_B) < 0.05


def test_make_data_rejects_empty():
    with pytest.raises(ValueError, match="at least one example"):
        recipe.make_data(0)


# ----------------------------------------------------------- the ingredients
def test_predict_loss_objective_match_torch():
    x, y = recipe.make_data()
    theta = (0.7, -0.3)
    np.testing.assert_allclose(recipe.decision_function(x, *theta), 0.7 * torch.from_numpy(x).numpy() - 0.3)
    per_example = torch.nn.functional.mse_loss(
        torch.from_numpy(recipe.decision_function(x, *theta)), torch.from_numpy(y), reduction="none") / 2
    np.testing.assert_allclose(recipe.loss(recipe.decision_function(x, *theta), y), per_example.numpy())
    expected = torch_objective(torch.tensor(theta), torch.from_numpy(x), torch.from_numpy(y))
    assert recipe.objective(theta) == pytest.approx(expected.item(), rel=1e-12)


def test_predict_broadcasts_over_a_parameter_grid():
    x, _ = recipe.make_data(7)
    W, B = np.meshgrid(np.linspace(-1, 1, 4), np.linspace(0, 2, 3))
    out = recipe.decision_function(x, W, B)
    assert out.shape == (3, 4, 7)
    np.testing.assert_allclose(out[2, 1], W[2, 1] * x + B[2, 1])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 10_000),
       w=st.floats(-5, 5), b=st.floats(-5, 5))
def test_gradient_matches_torch_autograd(n, seed, w, b):
    x, y = recipe.make_data(n, seed=seed)
    np.testing.assert_allclose(recipe.gradient((w, b), (x, y)), torch_grad((w, b), x, y),
                               rtol=1e-10, atol=1e-12)


def test_minibatch_gradient_is_the_gradient_on_those_examples():
    x, y = recipe.make_data()
    idx = np.array([3, 17, 41, 8])
    got = recipe.gradient((1.0, 0.5), (x, y), idx)
    np.testing.assert_allclose(got, torch_grad((1.0, 0.5), x[idx], y[idx]), rtol=1e-12)
    # one index: the single-example gradient of plain SGD
    np.testing.assert_allclose(recipe.gradient((1.0, 0.5), (x, y), 5),
                               torch_grad((1.0, 0.5), x[5:6], y[5:6]), rtol=1e-12)
    # the minibatch gradients average to the full gradient over one epoch of equal batches
    parts = [recipe.gradient((1.0, 0.5), (x, y), i) for i in np.arange(50).reshape(5, 10)]
    np.testing.assert_allclose(np.mean(parts, axis=0), recipe.gradient((1.0, 0.5), (x, y)))


def test_loss_surface_agrees_with_the_objective_pointwise():
    data = recipe.make_data(20, seed=2)
    W, B, J = recipe.loss_surface((-2, 4), (-3, 3), num=9, data=data)
    assert W.shape == B.shape == J.shape == (9, 9)
    assert np.all(np.diff(W[0]) > 0) and np.all(np.diff(B[:, 0]) > 0)
    x, y = (torch.from_numpy(a) for a in data)
    for i, j in [(0, 0), (4, 7), (8, 2), (3, 3)]:
        expected = torch_objective(torch.tensor([W[i, j], B[i, j]]), x, y).item()
        assert J[i, j] == pytest.approx(expected, rel=1e-10)


def test_minimizer_is_where_the_gradient_vanishes():
    x, y = recipe.make_data()
    best = recipe.minimizer((x, y))
    A = torch.stack([torch.from_numpy(x), torch.ones(50)], dim=1)
    expected = torch.linalg.lstsq(A, torch.from_numpy(y)[:, None]).solution[:, 0]
    np.testing.assert_allclose(best, expected.numpy(), rtol=1e-10)
    np.testing.assert_allclose(torch_grad(best, x, y), 0, atol=1e-12)


def test_hessian_matches_torch():
    x, y = recipe.make_data()
    H = torch.autograd.functional.hessian(
        lambda t: torch_objective(t, torch.from_numpy(x), torch.from_numpy(y)),
        torch.tensor([0.3, 0.2]))
    np.testing.assert_allclose(recipe.hessian((x, y)), H.numpy(), rtol=1e-12)


# ------------------------------------------------------------------------ SGD
def test_minibatches_cover_each_epoch_once():
    rng = np.random.default_rng(0)
    stream = recipe.minibatches(10, 4, rng)
    epoch = [next(stream) for _ in range(3)]
    assert [len(b) for b in epoch] == [4, 4, 2]  # like DataLoader(drop_last=False)
    np.testing.assert_array_equal(np.sort(np.concatenate(epoch)), np.arange(10))
    second = [next(stream) for _ in range(3)]
    np.testing.assert_array_equal(np.sort(np.concatenate(second)), np.arange(10))
    assert not all(np.array_equal(a, b) for a, b in zip(epoch, second))  # reshuffled


def torch_sgd_path(start, lr, batch_size, momentum, steps, seed, data):
    """The same run with torch.optim.SGD, visiting the same minibatches."""
    x, y = (torch.from_numpy(a) for a in data)
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=lr, momentum=momentum)
    batches = recipe.minibatches(len(x), batch_size, np.random.default_rng(seed))
    path = [theta.detach().clone()]
    for _ in range(steps):
        idx = torch.from_numpy(next(batches))
        opt.zero_grad()
        torch_objective(theta, x[idx], y[idx]).backward()
        opt.step()
        path.append(theta.detach().clone())
    return torch.stack(path).numpy()


@pytest.mark.parametrize("batch_size,momentum", [(1, 0.0), (7, 0.0), (50, 0.0), (1, 0.9), (10, 0.5)])
def test_sgd_path_matches_torch_optim_sgd(batch_size, momentum):
    data = recipe.make_data()
    traj, diverged = recipe.sgd_path((-1.5, 3.0), 0.05, batch_size, momentum, 60, seed=4, data=data)
    assert not diverged and traj.shape == (61, 2)
    expected = torch_sgd_path((-1.5, 3.0), 0.05, batch_size, momentum, 60, 4, data)
    np.testing.assert_allclose(traj, expected, rtol=1e-10, atol=1e-12)


def test_sgd_path_matches_course_optim_sgd():
    """The lecture's explicit update and the package's optimizer are the same algorithm."""
    from course.nn import Parameter
    from course.optim import SGD

    data = recipe.make_data()
    traj, _ = recipe.sgd_path((-1.5, 3.0), 0.08, 5, 0.9, 40, seed=1, data=data)
    p = Parameter(np.array([-1.5, 3.0]))
    opt = SGD([p], lr=0.08, momentum=0.9)
    batches = recipe.minibatches(50, 5, np.random.default_rng(1))
    for t in range(40):
        opt.zero_grad()
        p.grad[...] = recipe.gradient(p.data, data, next(batches))
        opt.step()
        np.testing.assert_allclose(p.data, traj[t + 1], rtol=1e-12, atol=1e-14)


def test_full_batch_ignores_the_seed_and_small_batches_do_not():
    a, _ = recipe.sgd_path(batch_size=50, seed=0, steps=20)
    b, _ = recipe.sgd_path(batch_size=50, seed=9, steps=20)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    c, _ = recipe.sgd_path(batch_size=1, seed=0, steps=20)
    d, _ = recipe.sgd_path(batch_size=1, seed=9, steps=20)
    assert not np.allclose(c, d)


def test_gradient_descent_converges_to_the_minimizer():
    traj, diverged = recipe.sgd_path(lr=0.5, batch_size=recipe.N_EXAMPLES, steps=300)
    assert not diverged
    np.testing.assert_allclose(traj[-1], recipe.minimizer(), atol=1e-8)
    J = [recipe.objective(t) for t in traj]
    assert np.all(np.diff(J) <= 1e-12)  # below the critical rate, GD never goes uphill


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_critical_learning_rate_separates_convergence_from_divergence(momentum):
    crit = recipe.critical_lr(momentum=momentum)
    lam = np.linalg.eigvalsh(recipe.hessian())
    assert crit == pytest.approx(2 * (1 + momentum) / lam.max())
    below = recipe.sgd_path(lr=0.95 * crit, batch_size=50, momentum=momentum, steps=400)
    above = recipe.sgd_path(lr=1.05 * crit, batch_size=50, momentum=momentum, steps=400)
    assert not below.diverged
    assert recipe.objective(below.trajectory[-1]) < recipe.objective(recipe.START)
    assert above.diverged
    # the run stops at the first blown-up point and says so
    assert len(above.trajectory) < 401
    J_last = recipe.objective(above.trajectory[-1])
    assert J_last > recipe.DIVERGENCE_FACTOR * recipe.objective(recipe.START)
    assert np.all([recipe.objective(t) <= J_last for t in above.trajectory[:-1]])


def test_huge_learning_rate_diverges_without_warnings():
    with np.errstate(all="raise"):
        traj, diverged = recipe.sgd_path(lr=1e3, batch_size=1, steps=100)
    assert diverged and np.all(np.isfinite(traj[:-1]))


def test_zero_steps_is_just_the_start():
    traj, diverged = recipe.sgd_path(start=(0.5, 0.25), steps=0)
    np.testing.assert_array_equal(traj, [[0.5, 0.25]])
    assert not diverged


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs,match", [
    ({"lr": 0.0}, "learning rate must be a positive"),
    ({"lr": float("nan")}, "learning rate must be a positive"),
    ({"batch_size": 0}, r"from 1 \(SGD\) to N=50"),
    ({"batch_size": 51}, r"from 1 \(SGD\) to N=50"),
    ({"batch_size": 2.5}, "batch_size must be an integer"),
    ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
    ({"steps": -1}, "steps must be a non-negative integer"),
    ({"start": (1.0, 2.0, 3.0)}, r"theta must be the pair \(w, b\)"),
])
def test_sgd_path_rejects_bad_arguments_with_a_lesson(kwargs, match):
    with pytest.raises(ValueError, match=match):
        recipe.sgd_path(**kwargs)


def test_bad_data_is_named():
    with pytest.raises(ValueError, match="same shape"):
        recipe.objective((1.0, 0.0), (np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="pair"):
        recipe.objective((1.0, 0.0), np.zeros(3))
    with pytest.raises(ValueError, match="at least one index"):
        recipe.gradient((1.0, 0.0), None, np.array([], dtype=int))


# ------------------------------------------------------------- decaying learning rate
def _inverse_time(t):
    return 1.0 / (1.0 + t / 10.0)


@pytest.mark.parametrize("batch_size,momentum", [(1, 0.0), (10, 0.9)])
def test_lr_schedule_matches_torch_lambda_lr(batch_size, momentum):
    data = recipe.make_data()
    traj, diverged = recipe.sgd_path((-1.5, 3.0), 0.2, batch_size, momentum, 50, seed=3, data=data,
                                     lr_schedule=_inverse_time)
    x, y = (torch.from_numpy(a) for a in data)
    theta = torch.tensor((-1.5, 3.0), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=0.2, momentum=momentum)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _inverse_time)
    batches = recipe.minibatches(50, batch_size, np.random.default_rng(3))
    expected = [theta.detach().clone()]
    for _ in range(50):
        idx = torch.from_numpy(next(batches))
        opt.zero_grad()
        torch_objective(theta, x[idx], y[idx]).backward()
        opt.step()
        sched.step()
        expected.append(theta.detach().clone())
    assert not diverged
    np.testing.assert_allclose(traj, torch.stack(expected).numpy(), rtol=1e-10, atol=1e-12)


def test_lr_schedule_by_hand_and_constant_default():
    """Step t moves by eta_0 * schedule(t) * gradient: check the first two steps by hand."""
    data = recipe.make_data()
    traj, _ = recipe.sgd_path((0.0, 0.0), 0.1, 50, 0.0, 2, data=data, lr_schedule=lambda t: 0.5 ** t)
    g0 = recipe.gradient(traj[0], data)
    np.testing.assert_allclose(traj[1], traj[0] - 0.1 * g0, rtol=1e-12)
    np.testing.assert_allclose(traj[2], traj[1] - 0.05 * recipe.gradient(traj[1], data), rtol=1e-12)
    same, _ = recipe.sgd_path(lr=0.1, steps=30, lr_schedule=lambda t: 1.0)
    np.testing.assert_array_equal(same, recipe.sgd_path(lr=0.1, steps=30).trajectory)


def test_decaying_lr_settles_sgd_closer_than_a_constant_one():
    """With a constant eta SGD keeps hopping around theta*; eta_t -> 0 lets it settle."""
    star = recipe.minimizer()
    const, _ = recipe.sgd_path(lr=0.1, batch_size=1, steps=2000, seed=0)
    decay, _ = recipe.sgd_path(lr=0.1, batch_size=1, steps=2000, seed=0, lr_schedule=lambda t: 1 / (1 + t / 50))
    spread = lambda tr: np.linalg.norm(tr[-500:] - star, axis=1).mean()
    assert spread(decay) < 0.5 * spread(const)


@pytest.mark.parametrize("bad", [0.1, lambda t: -1.0, lambda t: float("nan")])
def test_bad_lr_schedule_is_explained(bad):
    with pytest.raises(ValueError, match="lr_schedule"):
        recipe.sgd_path(steps=3, lr_schedule=bad)
