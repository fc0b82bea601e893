"""course.nn and course.optim against torch (float64, weights copied in), plus gradcheck."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course import conv, nn, optim, pool
from course.testing import compare_module, copy_params, to_torch

TOL = dict(rtol=1e-6, atol=1e-9)
SETTINGS = settings(max_examples=15, deadline=None)


def tt(a, grad=True):
    return to_torch(a, requires_grad=grad)


# ------------------------------------------------------------------ layers vs torch
@SETTINGS
@given(n=st.integers(1, 5), i=st.integers(1, 7), o=st.integers(1, 7), bias=st.booleans(),
       lead=st.sampled_from([(), (3,)]), seed=st.integers(0, 1000))
def test_linear_matches_torch(n, i, o, bias, lead, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(i, o, bias=bias, rng=rng)
    compare_module(layer, torch.nn.Linear(i, o, bias=bias), rng.standard_normal((n, *lead, i)), seed=seed)


@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(1, 3), f=st.integers(1, 4), kh=st.integers(1, 3),
       kw=st.integers(1, 3), sh=st.integers(1, 2), sw=st.integers(1, 2), ph=st.integers(0, 2),
       pw=st.integers(0, 2), h=st.integers(3, 7), w=st.integers(3, 7), bias=st.booleans(),
       seed=st.integers(0, 1000))
def test_conv2d_matches_torch(n, c, f, kh, kw, sh, sw, ph, pw, h, w, bias, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Conv2d(c, f, (kh, kw), stride=(sh, sw), padding=(ph, pw), bias=bias, rng=rng)
    if seed % 2:
        layer.im2col_max_elements = 0  # the large-input path (course.conv) too
    theirs = torch.nn.Conv2d(c, f, (kh, kw), stride=(sh, sw), padding=(ph, pw), bias=bias)
    compare_module(layer, theirs, rng.standard_normal((n, c, h, w)), seed=seed)


@pytest.mark.parametrize("path", ["im2col", "course.conv"])
def test_conv2d_layer_agrees_with_course_conv(path):
    rng = np.random.default_rng(3)
    layer = nn.Conv2d(3, 5, 3, stride=2, padding=1, rng=rng)
    if path == "course.conv":  # large inputs go through conv.conv2d instead of one big im2col product
        layer.im2col_max_elements = 0
    x = rng.standard_normal((4, 3, 9, 8))
    out = layer(x)
    np.testing.assert_allclose(out, conv.conv2d(x, layer.weight.data, layer.bias.data, stride=2, padding=1),
                               rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(out.shape)
    gx = layer.backward(g)
    ref_x, ref_w, ref_b = conv.conv2d_backward(g, x, layer.weight.data, stride=2, padding=1)
    np.testing.assert_allclose(gx, ref_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, ref_w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, ref_b, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(k=st.integers(1, 3), s=st.sampled_from([None, 1, 2, 3]), pad=st.integers(0, 1),
       h=st.integers(3, 8), w=st.integers(3, 8), ties=st.booleans(), seed=st.integers(0, 1000))
def test_max_pool2d_matches_torch(k, s, pad, h, w, ties, seed):
    pad = min(pad, k // 2)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, h, w))
    if ties:  # equal values in a window: the gradient goes to the first one only, as in torch
        x = np.round(x)
    compare_module(nn.MaxPool2d(k, s, pad), torch.nn.MaxPool2d(k, s, pad), x, seed=seed)


@SETTINGS
@given(k=st.integers(1, 3), s=st.sampled_from([None, 1, 2]), pad=st.integers(0, 1),
       h=st.integers(3, 8), w=st.integers(3, 8), seed=st.integers(0, 1000))
def test_avg_pool2d_matches_torch(k, s, pad, h, w, seed):
    pad = min(pad, k // 2)
    rng = np.random.default_rng(seed)
    compare_module(nn.AvgPool2d(k, s, pad), torch.nn.AvgPool2d(k, s, pad), rng.standard_normal((2, 3, h, w)),
                   seed=seed)


def test_max_pool2d_layer_agrees_with_course_pool():
    rng = np.random.default_rng(5)
    x = np.maximum(rng.standard_normal((3, 4, 8, 8)), 0)  # after a ReLU: many all-zero windows
    layer = nn.MaxPool2d(2)
    out = layer(x)
    g = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(out, pool.max_pool2d(x, 2))
    np.testing.assert_array_equal(layer.backward(g), pool.max_pool2d_backward(g, x, 2))


ACTIVATIONS = [(nn.ReLU, torch.nn.ReLU), (nn.Tanh, torch.nn.Tanh), (nn.Sigmoid, torch.nn.Sigmoid),
               (nn.Flatten, torch.nn.Flatten)]


@pytest.mark.parametrize("ours, theirs", ACTIVATIONS, ids=lambda c: c.__name__)
@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4), seed=st.integers(0, 1000))
def test_parameter_free_layers_match_torch(ours, theirs, shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    compare_module(ours(), theirs(), x, seed=seed)


def test_relu_gradient_at_zero_is_zero_and_mask_comes_from_the_input():
    x = np.array([[-1.0, 0.0, 2.0]])
    relu = nn.ReLU()
    relu(x)
    np.testing.assert_array_equal(relu.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])


def test_sigmoid_and_tanh_do_not_overflow():
    x = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise"):
        y = nn.Sigmoid()(x)
        t = nn.Tanh()(x)
    np.testing.assert_allclose(y, torch.sigmoid(tt(x, False)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(t, torch.tanh(tt(x, False)).numpy(), rtol=1e-12)


def test_sequential_cnn_matches_torch():
    rng = np.random.default_rng(0)
    ours = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 3, 2, rng=rng),
                         nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(3, 5, rng=rng), nn.Sigmoid())
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Conv2d(4, 3, 2), torch.nn.Tanh(), torch.nn.AvgPool2d(2),
                                 torch.nn.Flatten(), torch.nn.Linear(3, 5), torch.nn.Sigmoid())
    compare_module(ours, theirs, rng.standard_normal((3, 2, 6, 6)))


# ------------------------------------------------------------------ the loss
@SETTINGS
@given(n=st.integers(1, 6), k=st.integers(2, 6), scale=st.sampled_from([1.0, 50.0]), seed=st.integers(0, 1000))
def test_softmax_cross_entropy_matches_torch(n, k, scale, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, k)) * scale
    y = rng.integers(0, k, n)
    loss = nn.SoftmaxCrossEntropy()
    value = loss(logits, y)
    tl = tt(logits)
    t_value = F.cross_entropy(tl, torch.from_numpy(y))
    t_value.backward()
    assert isinstance(value, float)
    assert value == pytest.approx(t_value.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(loss.backward(), tl.grad.numpy(), **TOL)


def test_softmax_cross_entropy_is_stable_for_huge_logits_and_scales_grad_output():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0]])
    y = np.array([0, 2])
    loss = nn.SoftmaxCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss(logits, y)
    tl = tt(logits)
    (3.0 * F.cross_entropy(tl, torch.from_numpy(y))).backward()
    assert value == pytest.approx(F.cross_entropy(tt(logits, False), torch.from_numpy(y)).item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(3.0), tl.grad.numpy(), **TOL)


def test_softmax_cross_entropy_rejects_bad_targets():
    loss = nn.SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        loss(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="integer"):
        loss(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(N,\)"):
        loss(np.zeros((2, 3)), np.array([0, 1, 2]))


# ------------------------------------------------------------------ gradcheck
def _gradcheck_cases():
    rng = np.random.default_rng(7)
    x4 = rng.standard_normal((2, 2, 5, 5))
    return {
        "Linear": (nn.Linear(4, 3, rng=rng), rng.standard_normal((3, 4))),
        "Conv2d": (nn.Conv2d(2, 3, 3, stride=2, padding=1, rng=rng), x4),
        "MaxPool2d": (nn.MaxPool2d(2, 1), x4),
        "AvgPool2d": (nn.AvgPool2d(3, 2, 1), x4),
        "ReLU": (nn.ReLU(), x4),
        "Tanh": (nn.Tanh(), x4),
        "Sigmoid": (nn.Sigmoid(), x4),
        "Flatten": (nn.Flatten(), x4),
        "Sequential": (nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                                     nn.Flatten(), nn.Linear(12, 4, rng=rng)), x4),
        "SoftmaxCrossEntropy": (nn.SoftmaxCrossEntropy(), (rng.standard_normal((4, 5)), rng.integers(0, 5, 4))),
    }


@pytest.mark.parametrize("name", list(_gradcheck_cases()))
def test_gradcheck_passes_for_every_module(name):
    module, inputs = _gradcheck_cases()[name]
    report = nn.gradcheck(module, inputs)
    n_params = len(module.parameters())
    assert len(report) == 1 + n_params, report  # one input (labels are not checked) + every parameter
    assert report.passed(), f"\n{report}"
    assert report.max_error < 1e-5


def test_gradcheck_catches_a_wrong_backward_and_leaves_grads_alone():
    class ForgotTheBatchSum(nn.Linear):  # a classic mistake: weight gradient of the first example only
        def backward(self, grad_output):
            x = self.pop_saved()
            self.weight.grad += np.outer(grad_output[0], x[0])
            self.bias.grad += grad_output.sum(axis=0)
            return grad_output @ self.weight.data

    rng = np.random.default_rng(0)
    bad = ForgotTheBatchSum(3, 2, rng=rng)
    bad.weight.grad[...] = 7.0
    report = nn.gradcheck(bad, rng.standard_normal((4, 3)))
    assert report["weight"] > 1e-2 and report["bias"] < 1e-6 and report["input 0"] < 1e-6
    assert not report.passed()
    assert "WRONG" in str(report)
    np.testing.assert_array_equal(bad.weight.grad, 7.0)
    with pytest.raises(RuntimeError, match="no saved forward"):
        bad.backward(np.ones((4, 2)))


def test_gradcheck_of_a_function_with_its_backward(capsys):
    def square_sum(a, b):
        def backward(g):
            return 2 * a * g, np.full_like(b, 1.0) * g

        return a**2 + b, backward

    rng = np.random.default_rng(1)
    report = nn.gradcheck(square_sum, (rng.standard_normal(5), rng.standard_normal(5)), verbose=True)
    assert set(report) == {"input 0", "input 1"} and report.passed()
    assert "input 1" in capsys.readouterr().out


def test_gradcheck_refuses_float32_parameters():
    with pytest.raises(ValueError, match="float64"):
        nn.gradcheck(nn.Linear(2, 2, rng=0).to(np.float32), np.ones((1, 2)))


# ------------------------------------------------------------------ optimizer
@pytest.mark.parametrize("momentum, weight_decay, dampening, nesterov",
                         [(0.0, 0.0, 0.0, False), (0.9, 0.0, 0.0, False), (0.9, 0.01, 0.0, False),
                          (0.5, 0.1, 0.3, False), (0.9, 0.01, 0.0, True)])
def test_sgd_matches_torch_over_several_steps(momentum, weight_decay, dampening, nesterov):
    rng = np.random.default_rng(0)
    ours = [nn.Parameter(rng.standard_normal(s)) for s in [(3, 4), (4,), (2, 2, 3)]]
    theirs = [tt(p.data) for p in ours]
    kw = dict(lr=0.1, momentum=momentum, weight_decay=weight_decay, dampening=dampening, nesterov=nesterov)
    opt, t_opt = optim.SGD(ours, **kw), torch.optim.SGD(theirs, **kw)
    for _ in range(5):
        opt.zero_grad()
        t_opt.zero_grad()
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(p.shape)
            p.grad += g
            q.grad = torch.from_numpy(g.copy())
        opt.step()
        t_opt.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_sgd_zero_grad_and_bad_arguments():
    p = nn.Parameter(np.ones(3))
    p.grad += 5
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad()
    np.testing.assert_array_equal(p.grad, 0)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([p], lr=-1)


def test_a_whole_training_step_of_a_cnn_matches_torch():
    rng = np.random.default_rng(0)
    ours = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(6 * 4 * 4, 10, rng=rng))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Flatten(), torch.nn.Linear(6 * 4 * 4, 10)).double()
    copy_params(theirs, ours)
    loss = nn.SoftmaxCrossEntropy()
    opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    t_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    for step in range(3):
        x, y = rng.random((8, 1, 8, 8)), rng.integers(0, 10, 8)
        opt.zero_grad()
        value = loss(ours(x), y)
        ours.backward(loss.backward())
        opt.step()
        t_opt.zero_grad()
        t_value = F.cross_entropy(theirs(tt(x, False)), torch.from_numpy(y))
        t_value.backward()
        t_opt.step()
        assert value == pytest.approx(t_value.item(), rel=1e-10)
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.data, t_params[name].detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


# ------------------------------------------------------------------ the Module machinery
def test_parameters_are_found_recursively_once_each():
    shared = nn.Linear(3, 3, rng=0)

    class Block(nn.Module):
        def __init__(self):
            self.layers = [nn.Linear(3, 3, rng=1), nn.ReLU(), shared]
            self.pair = (nn.Linear(3, 2, rng=2, bias=False), nn.Tanh())
            self.heads = {"a": nn.Linear(2, 1, rng=3)}
            self.scale = nn.Parameter(np.ones(1))
            self.again = shared  # the same module twice: its parameters count once
            self.not_a_param = np.ones(5)

    class Net(nn.Module):
        def __init__(self):
            self.body = Block()
            self.tail = nn.Sequential(nn.Linear(2, 2, rng=4), shared)

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["body.layers.0.weight", "body.layers.0.bias", "body.layers.2.weight", "body.layers.2.bias",
                     "body.pair.0.weight", "body.heads.a.weight", "body.heads.a.bias", "body.scale",
                     "tail.0.weight", "tail.0.bias"]
    assert len(net.parameters()) == len({id(p) for p in net.parameters()}) == 10
    assert net.num_parameters() == 12 + 12 + 6 + 3 + 1 + 6


def test_sequential_parameter_names_match_torch():
    ours = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2, 3))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(2, 3))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.shape == tuple(q.shape)
    assert isinstance(ours[0], nn.Conv2d) and len(ours) == 4


def test_train_eval_flags_and_caches():
    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Sequential(nn.Linear(4, 2, rng=1)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net(np.ones((2, 3)))  # eval mode saves nothing ...
    with pytest.raises(RuntimeError, match="training mode"):  # ... so backward explains what to do
        net.backward(np.ones((2, 2)))
    net.train()
    assert all(m.training for m in net.modules())
    net(np.ones((2, 3)))
    net.clear_cache()
    with pytest.raises(RuntimeError, match="forward before backward"):
        net.backward(np.ones((2, 2)))


def test_a_layer_called_twice_backpropagates_twice_in_reverse_like_torch():
    # parameter sharing over time (an RNN unrolled two steps): h2 = tanh(W tanh(W x))
    rng = np.random.default_rng(0)
    lin, act1, act2 = nn.Linear(3, 3, rng=rng), nn.Tanh(), nn.Tanh()
    x = rng.standard_normal((2, 3))
    h2 = act2(lin(act1(lin(x))))
    g = rng.standard_normal(h2.shape)
    gx = lin.backward(act1.backward(lin.backward(act2.backward(g))))
    tl = torch.nn.Linear(3, 3).double()
    copy_params(tl, lin)
    tx = tt(x)
    th = torch.tanh(tl(torch.tanh(tl(tx))))
    th.backward(torch.from_numpy(g))
    np.testing.assert_allclose(h2, th.detach().numpy(), **TOL)
    np.testing.assert_allclose(gx, tx.grad.numpy(), **TOL)
    np.testing.assert_allclose(lin.weight.grad, tl.weight.grad.numpy(), **TOL)  # two uses, summed
    np.testing.assert_allclose(lin.bias.grad, tl.bias.grad.numpy(), **TOL)


def test_backward_accumulates_until_zero_grad():
    lin = nn.Linear(2, 2, rng=0)
    x = np.ones((1, 2))
    lin(x)
    lin.backward(np.ones((1, 2)))
    once = lin.weight.grad.copy()
    lin(x)
    lin.backward(np.ones((1, 2)))
    np.testing.assert_allclose(lin.weight.grad, 2 * once)
    lin.zero_grad()
    assert not lin.weight.grad.any() and not lin.bias.grad.any()


def test_init_is_torch_like_reproducible_and_float64():
    a, b = nn.Linear(100, 50, rng=0), nn.Linear(100, 50, rng=0)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert a.weight.shape == (50, 100) and a.bias.shape == (50,) and a.weight.dtype == np.float64
    assert np.abs(a.weight.data).max() <= 0.1 and np.abs(a.weight.data).max() > 0.09  # U(-1/sqrt(100), ...)
    c = nn.Conv2d(4, 8, 3, rng=0)
    bound = 1 / np.sqrt(4 * 9)
    assert c.weight.shape == (8, 4, 3, 3) and np.abs(c.weight.data).max() <= bound
    t = torch.nn.Conv2d(4, 8, 3)
    assert np.abs(t.weight.detach().numpy()).max() <= bound  # the same bound as torch's default
    assert not np.array_equal(nn.Linear(3, 3, rng=1).weight.data, nn.Linear(3, 3, rng=2).weight.data)


def test_to_float32_converts_parameters_and_outputs():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=0), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2, rng=0))
    net.to(np.float32)
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32 for p in net.parameters())
    out = net(np.ones((3, 1, 2, 2), np.float32))
    assert out.dtype == np.float32
    net.backward(np.ones_like(out))
    assert all(p.grad.dtype == np.float32 for p in net.parameters())


def test_repr_is_readable():
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10))
    text = repr(net)
    assert text.splitlines()[0] == "Sequential("
    assert "(0): Conv2d(1, 16, kernel_size=(3, 3)" in text
    assert "(4): Linear(in_features=256, out_features=10, bias=True)" in text
    assert repr(nn.ReLU()) == "ReLU()"


def test_bad_inputs_teach():
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\).*Flatten"):
        nn.Linear(4, 2)(np.ones((2, 1, 2, 2)))
    with pytest.raises(ValueError, match="input channels"):
        nn.Conv2d(3, 2, 3)(np.ones((1, 1, 5, 5)))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        nn.Conv2d(1, 2, 5)(np.ones((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        nn.MaxPool2d(2)(np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"Conv2d: x must be 4-D \(N, C, H, W\); for one image use x\[None\]"):
        nn.Conv2d(1, 2, 3)(np.ones((1, 5, 5)))
    with pytest.raises(ValueError, match=r"stride must be positive \(>= 1\), got 0"):
        nn.Conv2d(1, 2, 3, stride=0)
    with pytest.raises(TypeError, match="Modules"):
        nn.Sequential(nn.ReLU(), "relu")
