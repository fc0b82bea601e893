"""course.autodiff.Value against torch autograd (float64): every op, reuse, a neuron, zero_grad."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course.autodiff import Value

finite = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False).filter(lambda v: abs(v) > 1e-3)
positive = st.floats(min_value=0.1, max_value=5.0)


def t(v):
    return torch.tensor(float(v), dtype=torch.float64, requires_grad=True)


def check(f, *xs, atol=1e-10):
    """Run f on Values and on torch leaves; compare output and every input gradient."""
    vs = [Value(x) for x in xs]
    ts = [t(x) for x in xs]
    out_v, out_t = f(*vs), f(*ts)
    out_v.backward()
    out_t.backward()
    assert out_v.data == pytest.approx(out_t.item(), rel=1e-12, abs=atol)
    for v, tt in zip(vs, ts):
        expected = 0.0 if tt.grad is None else tt.grad.item()
        assert v.grad == pytest.approx(expected, rel=1e-9, abs=atol), f"gradient of {f}"


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("op", BINARY)
@settings(max_examples=25, deadline=None)
@given(a=finite, b=finite)
def test_binary_ops_match_torch(op, a, b):
    check(BINARY[op], a, b)


REVERSE = {
    "radd": lambda a: 2.5 + a,
    "rsub": lambda a: 2.5 - a,
    "rmul": lambda a: 2.5 * a,
    "rtruediv": lambda a: 2.5 / a,
    "neg": lambda a: -a,
    "add_const": lambda a: a + 1.5,
    "sub_const": lambda a: a - 1.5,
    "div_const": lambda a: a / 1.5,
}


@pytest.mark.parametrize("op", REVERSE)
@settings(max_examples=15, deadline=None)
@given(a=finite)
def test_ops_with_python_numbers_match_torch(op, a):
    check(REVERSE[op], a)


UNARY = {
    "exp": (lambda a: a.exp(), finite),
    "log": (lambda a: a.log(), positive),
    "tanh": (lambda a: a.tanh(), finite),
    "relu": (lambda a: a.relu(), finite),
    "sigmoid": (lambda a: a.sigmoid(), finite),
    "pow2": (lambda a: a**2, finite),
    "pow3": (lambda a: a**3, finite),
    "pow-1": (lambda a: a**-1, finite),
    "pow0.5": (lambda a: a**0.5, positive),
    "pow-1.5": (lambda a: a**-1.5, positive),
}


@pytest.mark.parametrize("op", UNARY)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_unary_ops_match_torch(op, data):
    f, strategy = UNARY[op]
    check(f, data.draw(strategy))


def test_relu_gradient_at_zero_is_zero_like_torch():
    check(lambda a: a.relu(), 0.0)


@settings(max_examples=30, deadline=None)
@given(a=finite, b=finite)
def test_reused_nodes_accumulate_gradients(a, b):
    # a is used four times, c twice: the chain rule sums over every path.
    def f(a, b):
        c = a * b + a
        d = c * c + a.tanh() * c
        return d / (1 + a * a) - c

    check(f, a, b, atol=1e-9)


def test_the_same_node_on_both_sides():
    check(lambda a: a * a, 3.0)
    check(lambda a: a + a, 3.0)
    check(lambda a: a / a, 3.0)
    check(lambda a: a - a, 3.0)


@settings(max_examples=20, deadline=None)
@given(w=st.lists(finite, min_size=3, max_size=3), x=st.lists(finite, min_size=3, max_size=3), b=finite)
def test_a_neuron_matches_torch(w, x, b):
    # tanh(w . x + b): the neuron drawn in the lecture
    def neuron(*args):
        ws, xs, bias = args[:3], args[3:6], args[6]
        z = bias
        for wi, xi in zip(ws, xs):
            z = z + wi * xi
        return z.tanh()

    check(neuron, *w, *x, b)


def test_a_small_mlp_loss_matches_torch():
    rng = np.random.default_rng(0)
    W1, b1, W2, x = rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(3)
    Vw1 = [[Value(v) for v in row] for row in W1]
    Vb1 = [Value(v) for v in b1]
    Vw2 = [Value(v) for v in W2]
    hidden = [sum((w * xi for w, xi in zip(row, x)), bias).relu() for row, bias in zip(Vw1, Vb1)]
    out = sum((w * h for w, h in zip(Vw2, hidden)), Value(0.0))
    loss = (out - 1.0) ** 2
    loss.backward()

    tw1, tb1, tw2 = (torch.tensor(a, requires_grad=True) for a in (W1, b1, W2))
    tl = ((torch.relu(tw1 @ torch.tensor(x) + tb1) @ tw2) - 1.0) ** 2
    tl.backward()
    assert loss.data == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose([[v.grad for v in row] for row in Vw1], tw1.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose([v.grad for v in Vb1], tb1.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose([v.grad for v in Vw2], tw2.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_backward_twice_accumulates_into_leaves_like_torch():
    a, b = Value(1.5), Value(-0.7)
    out = (a * b).tanh() + a
    out.backward()
    out.backward()
    ta, tb = t(1.5), t(-0.7)
    tout = (ta * tb).tanh() + ta
    tout.backward(retain_graph=True)
    tout.backward()
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-12)
    assert b.grad == pytest.approx(tb.grad.item(), rel=1e-12)


def test_zero_grad_resets_the_whole_graph():
    a, b = Value(2.0), Value(3.0)
    c = a * b
    out = c.exp() + a
    out.backward()
    assert a.grad != 0 and b.grad != 0 and c.grad != 0
    out.zero_grad()
    assert all(node.grad == 0.0 for node in out.topological_order())
    out.backward()  # after zero_grad, one pass gives exactly the gradients again
    assert a.grad == pytest.approx(b.data * math.exp(6.0) + 1.0)
    assert b.grad == pytest.approx(a.data * math.exp(6.0))


def test_topological_order_puts_inputs_before_outputs_once_each():
    a = Value(1.0, label="a")
    b = a * 2.0
    c = a + b
    d = c * b
    order = d.topological_order()
    assert order[-1] is d
    assert len(order) == len({id(n) for n in order})
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for child in node._prev:
            assert position[id(child)] < position[id(node)]
    assert {id(a), id(b), id(c), id(d)} <= set(position)


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**5000, rel=1e-9)


def test_ops_record_their_graph():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    assert c._op == "*" and set(map(id, c._prev)) == {id(a), id(b)}
    assert (a + b)._op == "+"
    assert a.tanh()._op == "tanh" and a.exp()._op == "exp" and a.relu()._op == "relu"
    assert "a" in repr(a) and "2" in repr(a)


def test_bad_inputs_teach():
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ValueError, match="positive"):
        Value(-1.0).log()
    with pytest.raises(TypeError, match="number"):
        Value("three")


def test_draw_graph_shows_every_value_and_operation():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course.plotting import draw_graph

    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    out = (x * w + b).tanh()
    out.label = "out"
    out.backward()
    fig = draw_graph(out)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]  # arrows are empty annotations
    values = [t for t in texts if "data" in t]
    ops = [t for t in texts if "data" not in t]
    assert len(values) == len(out.topological_order()) == 6
    assert sorted(ops) == sorted(["*", "+", "tanh"])
    assert any(t.startswith("x | data 2.0000 | grad ") for t in values)
    assert f"grad {x.grad:.4f}" in next(t for t in values if t.startswith("x |"))
    arrows = [t for t in fig.axes[0].texts if not t.get_text()]
    assert len(arrows) == 3 + 5  # op -> result for each op, input -> op for each input
    plt.close(fig)
