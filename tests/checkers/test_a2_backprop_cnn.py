"""Assignment 2 (backpropagation and a CNN): its checker, its release, and its grading with nbgrader.

Fast tests (no kernel) run the checks of ``course.checkers.a2_backprop_cnn`` on
the solution's own code (executed from solutions/a2_backprop_cnn), on the
released stubs, and on the solution with one typical mistake written in: the
right answer passes, a stub fails with "not implemented yet", and each
mistake is named in the first line of the failure.  Every entry of the mistake
catalogue (``a2.MISTAKES``) is also made by a fake student (the entry's wrong
answer on what the student's code is given) and must be named by its test cell.

The slow tests release the assignment with ``course grade release`` into a
temporary folder (the committed ``assignments/`` must equal it), grade two
submissions with ``course grade autograde --workers 2`` (the released stubs
and the released notebook with the solutions filled in), and run ``course
check`` on the released notebook.  Helpers come from tests/grading_helpers.py.
"""
from __future__ import annotations

import time

import nbformat
import numpy as np
import pytest

from course import conv, nn, optim
from course.checkers import a2_backprop_cnn as a2
from course.checkers.core import CheckFailure

import grading_helpers as gh

ROOT = gh.ROOT
A = "a2_backprop_cnn"
SOLUTION = ROOT / "solutions" / A / f"{A}.ipynb"
RELEASE = ROOT / "assignments" / A / f"{A}.ipynb"
TESTS = {"test_value": 10, "test_linear": 15, "test_relu": 5, "test_softmax_cross_entropy": 15,
         "test_conv2d": 20, "test_max_pool2d_backward": 10, "test_maxpool2d": 5, "test_sgd_step": 5, "test_cnn": 15}
WRITTEN = {"written_gradients": 5}
CNN_CLASSES = ("Conv2d", "ReLU", "MaxPool2d", "Linear")


# ============================================================ the student's code
_cells = gh.code_cells
_namespace = gh.answer_namespace


_first_line = gh.first_line


def _classes(ns):
    return tuple(ns[c] for c in CNN_CLASSES)


# =========================================================== right answers pass
def test_the_solution_passes_every_check(sol):
    V = sol["Value"]
    rng = a2.random_case_rng(0)
    for op in ("mul", "tanh", "exp"):
        a2.check_value_op(V, op, 0.7, -1.3, out_grad=-0.4, grad_before=0.3)
    for _ in range(10):
        expr, inputs = a2.random_expression(rng, n_inputs=3)
        a2.check_value_graph(V, expr, **inputs)
    a2.check_linear(sol["Linear"], n=3, in_features=4, out_features=2, twice=True)
    a2.check_relu(sol["ReLU"], rng.integers(-2, 3, size=(3, 4)) * 0.5, twice=True)
    a2.check_softmax_cross_entropy(sol["SoftmaxCrossEntropy"], [[0., 800.], [800., 0.]], [0, 0])
    a2.check_softmax_cross_entropy(sol["SoftmaxCrossEntropy"], rng.standard_normal((4, 3)), [0, 1, 2, 0],
                                   grad_output=2.0)
    a2.check_conv2d(sol["Conv2d"], x_shape=(2, 3, 7, 6), out_channels=4, kernel_size=(2, 3), stride=(2, 1),
                    padding=(1, 2), twice=True)
    a2.check_maxpool2d(sol["MaxPool2d"], rng.integers(0, 2, size=(2, 2, 6, 5)).astype(float), 3, stride=(2, 1),
                       padding=1)
    a2.check_gradcheck(sol["Conv2d"](2, 3, 3, stride=2, padding=1, rng=0), rng.standard_normal((2, 2, 5, 4)))
    a2.check_sgd_step(sol["sgd_step"], steps=3)
    a2.check_cnn(sol["make_cnn"], classes=_classes(sol))


def test_the_reference_layers_pass_the_same_checks(monkeypatch):
    """course.nn itself passes (so the checks cannot be unfair to a right answer)."""
    from course.checkers import core

    monkeypatch.setattr(a2, "FORBID", {k: () for k in a2.FORBID})
    monkeypatch.setattr(core, "WATCHED", ())
    rng = np.random.default_rng(1)
    a2.check_linear(nn.Linear, n=4, in_features=3, out_features=3, twice=True)
    a2.check_relu(nn.ReLU, rng.integers(-1, 2, size=(2, 5)).astype(float), twice=True)
    a2.check_softmax_cross_entropy(nn.SoftmaxCrossEntropy, 1000 * rng.standard_normal((3, 5)), [4, 0, 2])
    a2.check_conv2d(nn.Conv2d, x_shape=(2, 2, 5, 5), out_channels=2, kernel_size=3, stride=2, padding=2)
    a2.check_maxpool2d(nn.MaxPool2d, np.zeros((1, 1, 4, 5)), 2, stride=1, twice=True)
    a2.check_max_pool2d_backward(__import__("course.pool").pool.max_pool2d_backward, rng.standard_normal((1, 2, 5, 3)),
                                 rng.integers(-2, 1, size=(1, 2, 4, 5)).astype(float), (2, 3), stride=(1, 2),
                                 padding=1, oracle="torch")


# ================================================================ stubs fail
def test_every_stub_fails_as_not_implemented(stub):
    rng = np.random.default_rng(2)
    checks = [
        lambda: a2.check_value_op(stub["Value"], "mul", 2.0, 3.0),
        lambda: a2.check_value_op(stub["Value"], "tanh", 0.5),
        lambda: a2.check_value_op(stub["Value"], "exp", 0.5),
        lambda: a2.check_value_graph(stub["Value"], "a * a + a", a=3.0),
        lambda: a2.check_linear(stub["Linear"]),
        lambda: a2.check_gradcheck(stub["Linear"](3, 2, rng=0), rng.standard_normal((4, 3))),
        lambda: a2.check_relu(stub["ReLU"], [[1., -1.]]),
        lambda: a2.check_softmax_cross_entropy(stub["SoftmaxCrossEntropy"], [[0., 0.]], [0]),
        lambda: a2.check_conv2d(stub["Conv2d"]),
        lambda: a2.check_max_pool2d_backward(stub["max_pool2d_backward"], np.ones((1, 1, 1, 1)), np.ones((1, 1, 2, 2)), 2),
        lambda: a2.check_maxpool2d(stub["MaxPool2d"], rng.standard_normal((1, 2, 4, 4)), 2),
        lambda: a2.check_sgd_step(stub["sgd_step"]),
        lambda: a2.check_cnn(stub["make_cnn"], classes=_classes(stub)),
        lambda: a2.check_training(stub["train_digits"], classes=_classes(stub)),
    ]
    for check in checks:
        assert "not implemented yet" in _first_line(check)


# ============================================================ mistakes are named
def test_value_mistakes_are_named():
    swapped = _namespace(SOLUTION, value=("self.grad += other.data * out.grad\n            other.grad += self.data",
                                          "self.grad += self.data * out.grad\n            other.grad += other.data"))
    assert "factors swapped" in _first_line(a2.check_value_op, swapped["Value"], "mul", 2.0, -3.0)
    assigned = _namespace(SOLUTION, value=("self.grad += other.data * out.grad\n            other.grad +=",
                                           "self.grad = other.data * out.grad\n            other.grad ="))
    V = assigned["Value"]
    assert "assigned (=) instead of adding (+=)" in _first_line(a2.check_value_op, V, "mul", 2.0, -3.0,
                                                                 out_grad=0.5, grad_before=0.25)
    assert "a node used twice kept only one contribution" in _first_line(a2.check_value_op, V, "mul", 3.0,
                                                                          same_node=True)
    first = _first_line(a2.check_value_graph, V, "a * a + a", a=3.0)
    assert "wrong gradient for a, which the formula uses 3 times" in first
    tanh_of_input = _namespace(SOLUTION, value=("(1.0 - t * t) * out.grad", "(1.0 - self.data ** 2) * out.grad"))
    assert "square the OUTPUT" in _first_line(a2.check_value_op, tanh_of_input["Value"], "tanh", 0.5, out_grad=2.0)
    no_chain = _namespace(SOLUTION, value=("self.grad += out.data * out.grad", "self.grad += out.data"))
    assert "forgot the chain rule" in _first_line(a2.check_value_op, no_chain["Value"], "exp", 1.0, out_grad=2.0)


def test_linear_mistakes_are_named():
    def first(old, new, **kw):
        return _first_line(a2.check_linear, _namespace(SOLUTION, linear=(old, new))["Linear"], **kw)

    assert "bias gradient not summed over the batch: grad_output[0]" in first(
        "grad_output.sum(axis=0)", "grad_output[0]")
    assert "bias gradient averaged over the batch" in first("grad_output.sum(axis=0)", "grad_output.mean(axis=0)")
    assert "weight gradient transposed" in first("grad_output.T @ x", "x.T @ grad_output",
                                                 in_features=4, out_features=4)
    assert "weight gradient divided by the batch size" in first("grad_output.T @ x", "grad_output.T @ x / len(x)")
    assert "second backward overwrote the first" in first("self.weight.grad += ", "self.weight.grad = ", twice=True)
    # a non-square transposed gradient cannot even be added: the broadcasting error is explained
    assert "a gradient has the wrong shape" in first("grad_output.T @ x", "x.T @ grad_output",
                                                     in_features=3, out_features=5)


def test_relu_mistakes_are_named():
    x, g = np.array([[-1., 0., 2.]]), np.array([[5., -6., -7.]])

    def first(*edits, **kw):
        return _first_line(a2.check_relu, _namespace(SOLUTION, relu=list(edits))["ReLU"], kw.pop("x", x), **kw)

    assert "must be 0 (PyTorch's convention)" in first(("mask = x > 0", "mask = x >= 0"), grad_output=g)
    assert "mask taken from grad_output" in first(
        ("return grad_output * mask", "return grad_output * (grad_output > 0)"), grad_output=g)
    in_place = ("x[x < 0] = 0\n"
                "        self.save_for_backward(x > 0)\n"
                "        return x")
    assert "changed its input x in place" in first(
        ("mask = x > 0\n        self.save_for_backward(mask)\n        return x * mask", in_place))
    assert "both backwards used the mask of the LAST forward" in first(
        ("self.save_for_backward(mask)", "self.mask = mask"), ("mask = self.pop_saved()", "mask = self.mask"),
        x=np.random.default_rng(0).integers(-2, 3, size=(3, 4)) * 0.5, twice=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")     # the overflow being diagnosed
def test_softmax_mistakes_are_named():
    def cls(old, new):
        return _namespace(SOLUTION, softmax_cross_entropy=(old, new))["SoftmaxCrossEntropy"]

    no_shift = cls("shifted = logits - logits.max(axis=1, keepdims=True)", "shifted = logits")
    big = 1000 + np.random.default_rng(3).standard_normal((3, 4))
    first = _first_line(a2.check_softmax_cross_entropy, no_shift, big, [0, 1, 2])
    assert "exp overflowed" in first and "subtract each row's max" in first
    a2.check_softmax_cross_entropy(no_shift, [[0., 1.], [2., 0.]], [0, 1])        # small logits: fine
    log_of_softmax = cls("log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
                         "log_probs = np.log(np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))")
    assert "log(0)" in _first_line(a2.check_softmax_cross_entropy, log_of_softmax, [[0., 800.], [-1., 0.]], [0, 0])
    assert "SUM over the batch" in _first_line(a2.check_softmax_cross_entropy,
                                               cls("].mean())", "].sum())"), [[0., 1.], [2., 0.]], [0, 1])
    logits = np.random.default_rng(4).standard_normal((4, 3))
    assert "gradient not divided by N" in _first_line(a2.check_softmax_cross_entropy,
                                                      cls("grad * grad_output / n", "grad * grad_output"), logits,
                                                      [0, 1, 2, 0])
    assert "ignored grad_output" in _first_line(a2.check_softmax_cross_entropy,
                                                cls("grad * grad_output / n", "grad / n"), logits, [0, 1, 2, 0],
                                                grad_output=2.5)


def test_conv2d_and_maxpool2d_mistakes_are_named():
    def conv_first(old, new, **kw):
        kw.setdefault("padding", 1)
        return _first_line(a2.check_conv2d, _namespace(SOLUTION, conv2d=(old, new))["Conv2d"], **kw)

    assert "weight gradient of the first image only" in conv_first(
        'np.einsum("nfhw,nchw->fc", grad_output, xp[:, :, rows, cols])',
        'np.einsum("fhw,chw->fc", grad_output[0], xp[0, :, rows, cols])')
    assert "grad_x has the padded input's shape" in conv_first("return grad_xp[:, :, ph:ph + h, pw:pw + w]",
                                                               "return grad_xp")
    assert "second backward overwrote" in conv_first("self.bias.grad += ", "self.bias.grad = ", twice=True)
    assert "a gradient has the wrong shape" in conv_first("grad_output.sum(axis=(0, 2, 3))", "grad_output.sum(axis=0)")
    last_tie = _namespace(SOLUTION, maxpool2d=("better = v > best", "better = v >= best"))["MaxPool2d"]
    assert "tied maxima sent its gradient to the last maximum" in _first_line(
        a2.check_maxpool2d, last_tie, np.zeros((1, 1, 4, 4)), 2)


def test_sgd_mistakes_are_named():
    def first(old, new):
        return _first_line(a2.check_sgd_step, _namespace(SOLUTION, sgd_step=(old, new))["sgd_step"])

    assert "forgot to zero the gradients" in first("    model.zero_grad()\n", "")
    assert "moved UP the gradient" in first("p.data -= lr * p.grad", "p.data += lr * p.grad")
    assert "the parameters did not change" in first("p.data -= lr * p.grad", "d = p.data\n        d = d - lr * p.grad")
    assert "returned the wrong loss" in first("return loss", "return loss_fn(model(x), y)")


# ============================================ the mistake catalogue, one by one
def _answer(wrong, case):
    """The wrong answer of a catalogue entry on ``case`` (zeros of its shape for a shape-only one), or None."""
    m = wrong.on(case)
    if m is None:
        return None
    return m.value if m.value is not None else np.zeros(m.shape)


def _fake_value(Value, key, wrong):
    """A Value whose op of ``key`` passes on the entry's wrong gradients, and is right elsewhere."""
    wrong_op = key.split(".")[1]

    def wrap(op):
        def method(self, *other):
            out = getattr(Value, op)(self, *other)
            out.__class__ = type(self)
            if op != wrong_op:
                return out
            a, b, right = out._prev[0], out._prev[-1], out._backward

            def _backward():
                m = wrong.on(dict(op=op.strip("_"), x=a.data, y=b.data, g=out.grad, p=a.grad,
                                  same=len(out._prev) == 2 and a is b))
                if m is None:
                    return right()
                a.grad = m.value["a"]
                if "b" in m.value:
                    b.grad = m.value["b"]

            out._backward = _backward
            return out
        return method

    ops = {op: wrap(op) for op in ("__add__", "__mul__", "tanh", "exp")}
    return type("Value", (Value,), {**ops, "__radd__": ops["__add__"], "__rmul__": ops["__mul__"]})


def _fake_layer(base, key, wrong):
    """A subclass of the solution's layer whose answer ``key`` is the entry's wrong answer on the
    inputs it was given (``xs``: its forwards' inputs, ``gs``: its backwards' upstream gradients, in
    forward order), and right elsewhere."""
    part = key.split(" (")[1].rstrip(")") if " (" in key else key.split(".")[1]

    class Fake(base):
        def _case(self, **more):
            case = dict(xs=self._xs, gs=self._gs, **more)
            if hasattr(self, "weight"):
                case.update(W=self.weight.data.copy(), b=self.bias.data.copy())
            if base.__name__ == "Conv2d":
                case.update(stride=self.stride, padding=self.padding)
            if base.__name__ == "MaxPool2d":
                case.update(k=self.kernel_size, stride=self.stride, padding=self.padding)
            return case

        def forward(self, x):
            self._xs, self._gs = [*getattr(self, "_xs", []), x.copy()], []
            y = super().forward(x)
            wrong_y = _answer(wrong, self._case(x=x)) if part == "forward" else None
            return y if wrong_y is None else wrong_y

        def backward(self, g):
            self._gs = [g, *self._gs]
            i = len(self._xs) - len(self._gs)                  # the use this backward belongs to
            gx = super().backward(g)
            if part in ("backward", "returned grad_x"):
                wrong_gx = _answer(wrong, self._case(x=self._xs[i], g=g))
                return gx if wrong_gx is None else wrong_gx
            if part.endswith(".grad") and i == 0:              # after the last backward: every use's sum
                wrong_grad = _answer(wrong, self._case())
                if wrong_grad is not None:
                    getattr(self, part.split(".")[0]).grad = wrong_grad
            return gx

    return Fake


def _fake_loss(base, key, wrong):
    """SoftmaxCrossEntropy whose forward or backward returns the entry's wrong answer."""
    class Fake(base):
        def forward(self, logits, targets):
            self._known = dict(logits=logits, targets=targets)
            loss = super().forward(logits, targets)
            wrong_loss = _answer(wrong, self._known) if key.endswith(".forward") else None
            return loss if wrong_loss is None else wrong_loss

        def backward(self, grad_output=1.0):
            grad = super().backward(grad_output)
            wrong_grad = _answer(wrong, dict(self._known, scale=float(grad_output))) \
                if key.endswith(".backward") else None
            return grad if wrong_grad is None else wrong_grad

    return Fake


#: sgd_step's entries, written into the solution as a student would (its wrong answers are
#: trajectories of a whole run, which one step cannot reconstruct).
SGD_EDITS = {"no zero_grad": ("    model.zero_grad()\n", ""),
             "up the gradient": ("p.data -= lr * p.grad", "p.data += lr * p.grad"),
             "lr ignored": ("p.data -= lr * p.grad", "p.data -= p.grad")}
CATALOGUE = [(key, wrong) for key, entries in a2.MISTAKES.items() for wrong in entries]


def _student(sol, key, wrong) -> tuple[str, object]:
    """(the notebook's name, the student's code that makes exactly this mistake)."""
    name = key.split(".")[0].split(" ")[0]
    if name == "Value":
        return name, _fake_value(sol["Value"], key, wrong)
    if name == "SoftmaxCrossEntropy":
        return name, _fake_loss(sol[name], key, wrong)
    if name == "sgd_step":
        return name, _namespace(SOLUTION, sgd_step=SGD_EDITS[wrong.name])["sgd_step"]
    return name, _fake_layer(sol[name], key, wrong)


def _failures(source: str, ns: dict, until: str) -> list[str]:
    """Run a test cell statement by statement, going on after a failed check, until a failure names
    ``until``: each failure's first line."""
    import ast

    out = []
    for stmt in ast.parse(source).body:
        try:
            exec(compile(ast.Module([stmt], []), f"<{A}>", "exec"), ns)   # noqa: S102  (our own notebook)
        except CheckFailure as failure:
            out.append(str(failure).splitlines()[0])
            if until in out[-1]:
                break
    return out


TEST_CELL = {"Value": "test_value", "Linear": "test_linear", "ReLU": "test_relu",
             "SoftmaxCrossEntropy": "test_softmax_cross_entropy", "Conv2d": "test_conv2d",
             "MaxPool2d": "test_maxpool2d", "sgd_step": "test_sgd_step"}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("key,wrong", CATALOGUE, ids=[f"{k}-{w.name}" for k, w in CATALOGUE])
def test_each_catalogued_mistake_is_named_by_its_test_cell(sol, monkeypatch, key, wrong):
    """Every entry of ``a2.MISTAKES``, made by a student, is named by a check of its test cell (visible
    or hidden; where two entries give the same answer on a case, another case of the cell tells them
    apart).  The fakes compute their wrong answers with course and torch code: delegation is not watched."""
    from course.checkers import core

    monkeypatch.setattr(a2, "FORBID", {k: () for k in a2.FORBID})
    monkeypatch.setattr(core, "WATCHED", ())
    name, student = _student(sol, key, wrong)
    failures = _failures(_cells(SOLUTION)[TEST_CELL[name]], dict(sol, **{name: student}), until=wrong.message)
    assert failures, "the cell passed"
    assert any(wrong.message in line for line in failures), failures


def test_the_catalogue_is_data_with_distinct_names_and_messages():
    assert set(SGD_EDITS) == {w.name for w in a2.MISTAKES["sgd_step"]}
    assert {key.split(".")[0].split(" ")[0] for key in a2.MISTAKES} == set(TEST_CELL)
    for key, entries in a2.MISTAKES.items():
        assert len({w.name for w in entries}) == len(entries), key
        assert len({w.message for w in entries}) == len(entries), key


# ================================================================ delegation
def test_delegating_to_the_reference_or_torch_scores_nothing(sol):
    class Conv2dDelegates(sol["Conv2d"]):
        def backward(self, grad_output):
            x = self.pop_saved()
            gx, gw, gb = conv.conv2d_backward(grad_output, x, self.weight.data, self.stride, self.padding)
            self.weight.grad += gw
            self.bias.grad += gb
            return gx

    class LinearInherits(nn.Linear):          # the reference's backward, inherited
        pass

    class ReLUTorch(sol["ReLU"]):
        def backward(self, grad_output):
            import torch
            return (torch.from_numpy(grad_output) * torch.from_numpy(self.pop_saved())).numpy()

    def sgd_with_optim(model, loss_fn, x, y, lr):
        step = optim.SGD(model.parameters(), lr=lr)
        step.zero_grad()
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        step.step()
        return loss

    msg = _first_line(a2.check_conv2d, Conv2dDelegates, padding=1)
    assert "calls course.conv.conv2d_backward" in msg and "no points for delegating" in msg
    inherits = _first_line(a2.check_linear, LinearInherits)
    assert "course.nn.Linear" in inherits and "no points for delegating" in inherits
    assert "(PyTorch); no points for delegating" in _first_line(a2.check_relu, ReLUTorch, [[1., -1.]])
    assert "calls course.optim.SGD" in _first_line(a2.check_sgd_step, sgd_with_optim)
    # the given forward may use course.conv's forward helpers: that is not delegation
    a2.check_conv2d(sol["Conv2d"], padding=1)


def test_training_checks_the_layers_the_budget_and_the_accuracy(sol):
    classes = _classes(sol)

    def reference_layers(seed=0):
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=seed), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(128, 10, rng=seed + 1))

    def untrained(X, y, seed=0):
        return sol["make_cnn"](seed)

    def slow(X, y, seed=0):
        time.sleep(0.3)
        return sol["make_cnn"](seed)

    refused = _first_line(a2.check_cnn, reference_layers, classes=classes)   # the watcher sees it at once
    assert "course.nn.Conv2d" in refused and "no points for delegating" in refused
    assert "test accuracy below 95%" in _first_line(a2.check_training, untrained, classes=classes)
    assert "training took too long" in _first_line(a2.check_training, slow, classes=classes, budget_s=0.1)


# ======================================================= one bug costs points once
RELU_BUG = ("return grad_output * mask", "return grad_output * (grad_output > 0)")   # the mask from the wrong array


def test_a_layer_bug_costs_its_own_test_and_not_the_cnn_tests(capsys):
    """A wrong ReLU backward fails check_relu; the CNN checks run with the course's ReLU in its
    place and say so, so the same bug does not cost test_cnn's points too."""
    ns = _namespace(SOLUTION, relu=RELU_BUG)
    assert "mask taken from grad_output" in _first_line(a2.check_relu, ns["ReLU"], [[-1., 0., 2.]],
                                                      grad_output=[[5., -6., -7.]])
    broken = ns["ReLU"]
    a2.check_cnn(ns["make_cnn"], classes=_classes(ns))
    a2.check_training(ns["train_digits"], classes=_classes(ns), seed=0, budget_s=20, min_accuracy=0.95)
    out = capsys.readouterr().out
    assert "make_cnn: ReLU (test_relu) failed its own test" in out
    assert "train_digits: ReLU (test_relu) failed its own test" in out and "test accuracy" in out
    assert ns["ReLU"] is broken                         # the notebook's own class is back afterwards


def test_a_broken_sgd_step_is_replaced_in_training_only(capsys):
    ns = _namespace(SOLUTION, sgd_step=("    model.zero_grad()\n", ""))
    assert "forgot to zero the gradients" in _first_line(a2.check_sgd_step, ns["sgd_step"])
    a2.check_cnn(ns["make_cnn"], classes=_classes(ns))           # the network needs no sgd_step: no note
    assert "failed its own test" not in capsys.readouterr().out
    a2.check_training(ns["train_digits"], classes=_classes(ns), seed=0, budget_s=20, min_accuracy=0.95)
    assert "train_digits: sgd_step (test_sgd_step) failed its own test" in capsys.readouterr().out


def test_a_stand_in_does_not_excuse_a_wrong_network_or_delegation(sol):
    """What test_cnn grades still fails: a network of the wrong shape, or one built from course.nn directly."""
    ns = _namespace(SOLUTION, relu=RELU_BUG, cnn=("padding=1", "padding=0"))
    assert "make_cnn" in _first_line(a2.check_cnn, ns["make_cnn"], classes=_classes(ns))
    ns = _namespace(SOLUTION, relu=RELU_BUG, cnn=("Conv2d(1, 8", "nn.Conv2d(1, 8"))
    msg = _first_line(a2.check_cnn, ns["make_cnn"], classes=_classes(ns))
    assert "course.nn.Conv2d" in msg and "no points for delegating" in msg


def test_the_solution_trains_to_95_percent_within_the_budget(sol, capsys):
    a2.check_training(sol["train_digits"], classes=_classes(sol), seed=0, budget_s=20, min_accuracy=0.95, val_size=0.15)
    assert "train_digits: test accuracy" in capsys.readouterr().out


# ===================================================== release and grading (slow)
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """release (into a temporary folder) -> collect stub + correct -> autograde with 2 workers -> export."""
    def relu_bug(correct):
        """The solution with one wrong ReLU backward (the mask from the wrong array)."""
        cell = next(c for c in correct.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")
        assert RELU_BUG[0] in cell.source
        cell.source = cell.source.replace(*RELU_BUG)
        return correct

    return gh.grade_stub_and_solution(A, tmp_path_factory.mktemp("a2"), SOLUTION, also={"relu_bug": relu_bug})


def _autograded(graded, student):
    return nbformat.read(graded["ws"] / "autograded" / student / A / f"{A}.ipynb", as_version=4)


@pytest.mark.slow
def test_release_hides_solutions_and_hidden_tests(graded):
    assert gh.hashes(graded["release"] / A) == gh.hashes(ROOT / "assignments" / A), "run `make release`"
    text = RELEASE.read_text()
    for secret in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "random_case_rng", "check_training", "np.einsum(\"nfhw",
                   "grad_output.T @ x", "lr *= 0.85", "A gradient is a sum over every path"):
        assert secret not in text, secret
    nb = nbformat.reads(text, as_version=4)
    stubs = sum(c.source.count("raise NotImplementedError()") for c in nb.cells if c.cell_type == "code")
    assert stubs == 3 + 1 + 2 + 2 + 1 + 1 + 1 + 1 + 2   # Value x3, Linear, ReLU x2, loss x2, conv, pool fn, pool, sgd, cnn x2
    assert "YOUR ANSWER HERE" in text


@pytest.mark.slow
def test_stub_scores_zero_and_solution_full_on_every_test(graded):
    assert sum(TESTS.values()) + sum(WRITTEN.values()) == 105
    stub, correct = graded["csv"]["stub"], graded["csv"]["correct"]
    assert {t: float(stub[t]) for t in TESTS} == {t: 0.0 for t in TESTS}
    assert {t: float(correct[t]) for t in TESTS} == {t: float(p) for t, p in TESTS.items()}
    assert float(correct["score"]) == 100 and float(correct["max_score"]) == 105
    assert correct["needs_manual_grade"] == "True" and correct["flags"] == "" and stub["flags"] == ""
    stub_nb = _autograded(graded, "stub")
    for t in TESTS:
        assert "not implemented yet" in gh.errors(stub_nb, t), t


@pytest.mark.slow
def test_one_relu_bug_costs_test_relu_only(graded):
    """The policy, end to end: a wrong ReLU backward loses test_relu's 5 points, not test_cnn's 15 too."""
    row = graded["csv"]["relu_bug"]
    assert {t: float(row[t]) for t in TESTS} == {t: (0.0 if t == "test_relu" else float(p)) for t, p in TESTS.items()}
    cnn = next(c for c in _autograded(graded, "relu_bug").cells
               if c.metadata.get("nbgrader", {}).get("grade_id") == "test_cnn")
    assert "ReLU (test_relu) failed its own test" in "".join(o.get("text", "") for o in cnn.outputs)


# ======================================================= issue #15: gaps closed
def test_max_pool2d_backward_moved_here_names_its_mistakes(sol):
    """Zero padding instead of -inf and the wrong side in unravelling a non-square window's arg-max
    fail the VISIBLE cases, and are named; ties and overlap still are."""
    def first(old, new, *args, **kw):
        fn = _namespace(SOLUTION, max_pool2d_backward=(old, new))["max_pool2d_backward"]
        return _first_line(a2.check_max_pool2d_backward, fn, *args, **kw)

    x = -np.array([[[[3., 1., 2.], [4., 6., 5.]]]])
    g = np.array([[[[1., 2.], [3., 4.]]]])
    assert "padded with zeros" in first("constant_values=-np.inf", "constant_values=0", g, x, 2, padding=1,
                                        oracle="torch")
    unravel = ("            mask = np.zeros((n, c, kh * kw))\n"
               "            np.put_along_axis(mask, first[..., None], 1.0, axis=2)\n"
               "            gp[:, :, rows, cols] += (mask * grad_out[:, :, r, col][..., None]).reshape(n, c, kh, kw)",
               "            rr, cc = np.divmod(first, kh)\n"
               "            for a in range(n):\n"
               "                for b in range(c):\n"
               "                    gp[a, b, r * sh + rr[a, b], col * sw + cc[a, b]] += grad_out[a, b, r, col]")
    rng = np.random.default_rng(4)
    xr = -rng.integers(1, 4, size=(2, 2, 5, 6)).astype(float)
    msg = first(*unravel, rng.standard_normal((2, 2, 6, 3)), xr, (2, 3), stride=(1, 2), padding=1, oracle="torch")
    assert "wrong side" in msg, msg


def test_visible_max_pool2d_backward_cell_fails_the_tried_wrong_answers():
    """The visible test cell itself (not only the hidden ones) fails zero padding and the wrong unravel."""
    cell = _cells(SOLUTION)["test_max_pool2d_backward"].split("### BEGIN HIDDEN TESTS")[0]
    for old, new in (("constant_values=-np.inf", "constant_values=0"),
                     ("argmax(axis=2)", "argmax(axis=2) * 0")):
        ns = _namespace(SOLUTION, max_pool2d_backward=(old, new))
        with pytest.raises(CheckFailure):
            exec(cell, ns)                                            # noqa: S102
    exec(cell, _namespace(SOLUTION))                                  # noqa: S102  (the solution passes)


def test_returning_the_checkers_own_helper_is_refused():
    """max_pool2d_backward that hands the work to the package's own code (a helper of the checker found by
    searching course for "backward") scores nothing, through A1's and A2's checks alike."""
    from course.checkers import a1_convolution as a1
    from course.checkers import wrong_answers

    def via_helper(grad_out, x, kernel_size, stride=None, padding=0):
        return wrong_answers.loop_max_pool2d_backward(grad_out, x, kernel_size, stride, padding)

    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    for check in (a1.check_max_pool2d_backward, a2.check_max_pool2d_backward):
        msg = _first_line(check, via_helper, np.ones((1, 1, 2, 2)), x, 2)
        assert "calls course.checkers.wrong_answers.loop_max_pool2d_backward" in msg
        assert "the checker's own code" in msg and "no points for delegating" in msg
        named = _first_line(check, wrong_answers.loop_max_pool2d_backward, np.ones((1, 1, 2, 2)), x, 2)
        assert "not your own code" in named


def test_a_cache_on_the_instance_fails_every_layers_visible_twice_case():
    """The ReLU standard, everywhere: a layer keeping its input on self fails the forward-twice check."""
    lin = _namespace(SOLUTION, linear=[("self.save_for_backward(x)", "self.x = x"),
                                       ("x = self.pop_saved()", "x = self.x")])["Linear"]
    assert "LAST forward" in _first_line(a2.check_linear, lin, n=3, in_features=2, out_features=4, seed=3, twice=True)
    conv_ = _namespace(SOLUTION, conv2d=[("self.save_for_backward(x)", "self.x = x"),
                                         ("x = self.pop_saved()", "x = self.x")])["Conv2d"]
    with pytest.raises(CheckFailure):
        a2.check_conv2d(conv_, x_shape=(2, 2, 4, 5), out_channels=3, kernel_size=(2, 3), stride=(1, 2), padding=1,
                        seed=2, twice=True)
    pool_ = _namespace(SOLUTION, maxpool2d=[("self.save_for_backward(x)", "self.x = x"),
                                            ("x = self.pop_saved()", "x = self.x")])["MaxPool2d"]
    msg = _first_line(a2.check_maxpool2d, pool_, np.random.default_rng(1).standard_normal((2, 3, 4, 6)), (2, 3),
                      stride=(2, 1), padding=1, twice=True)
    assert "LAST forward" in msg, msg


def test_layers_may_use_what_they_are_handed_and_nothing_else(sol):
    """Module's cache and the forward helpers are allowed; any other course code is not."""
    a2.check_linear(sol["Linear"], twice=True)                 # save_for_backward / pop_saved: allowed

    class ReLUviaNN(sol["ReLU"]):
        def backward(self, grad_output):
            from course.nn import layers
            self.pop_saved()
            return layers.Tanh().forward(grad_output) * 0 + grad_output   # any other course code

    assert "no points for delegating" in _first_line(a2.check_relu, ReLUviaNN, [[1., -1.]])
