"""Checks for Assignment 1 (convolution and pooling).

One ``check_<function>`` per graded function.  Each takes the student's
function and one case, computes the expected answer with the course's
reference (``oracle="reference"``) or with PyTorch (``oracle="torch"``), and
raises :class:`~course.checkers.core.CheckFailure` naming the case, the
shapes, an excerpt around the largest error, and, when the evidence singles it
out, the mistake.  Test cells stay short::

    a1.check_conv2d(conv2d, x, w, b, stride=(2, 1), padding=2, oracle="torch")

The known mistakes are data: :data:`MISTAKES` maps each function to its
catalogue of :class:`~course.checkers.core.Known` mistakes (name, the wrong
answer it gives on a case, the message).  A mistake is named only when its
wrong answer equals the student's and no other known mistake's does (a second,
random case decides between look-alikes).  A function that fails because of a
helper of the student's (``pad2d``, ``output_size``) says so.  The exercises
that ask for vectorized code (``conv2d``, ``max_pool2d``, ``avg_pool2d``) are
also checked for Python loops over the batch, the channels/filters and the
pixels.  While a student's function runs, any call into the ``course`` package
or PyTorch scores nothing.

The student's functions follow the reference's signatures (PyTorch's names):
``output_size(n, kernel_size, padding=0, stride=1)``, ``pad2d(x, padding)``,
``conv2d_single(x, w)``, ``conv2d(x, weight, bias=None, stride=1, padding=0)``,
``max_pool2d(x, kernel_size, stride=None, padding=0)``, ``avg_pool2d(...)``,
``max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0)`` (Assignment 2,
exercise 6; its check lives here with the other pooling checks).
"""
from __future__ import annotations

import numpy as np

from course import conv, pool
from course._validate import as_pair
from course.checkers.core import (CheckFailure, Known, Mistake, Shape, call, describe, expect_close, expect_equal,
                                  expect_vectorized, mistakes_on)
from course.checkers.wrong_answers import loop_max_pool2d_backward

__all__ = ["CheckFailure", "MISTAKES", "check_output_size", "check_pad2d", "check_conv2d_single", "check_conv2d",
           "check_max_pool2d", "check_avg_pool2d", "check_max_pool2d_backward", "random_case_rng"]


def random_case_rng(seed: int) -> np.random.Generator:
    """The random generator hidden tests draw their cases from (fixed seed: same cases every run)."""
    return np.random.default_rng(seed)


def _args(**kw) -> str:
    return ", ".join(f"{k}={v}" for k, v in kw.items())


def _try(fn, *args, **kwargs):
    """The answer a mistake would give, or None where that mistake cannot even run."""
    try:
        return fn(*args, **kwargs)
    except Exception:  # ValueError (reference), RuntimeError (torch)
        return None


def _pads(c):
    return as_pair(c["padding"], "padding")


def _strides(c):
    return as_pair(c["stride"], "stride") if c.get("stride") is not None else None


# ============================================================ the catalogue
def _conv(c, **change):
    a = dict(x=c["x"], weight=c["w"], bias=c.get("b"), stride=c["stride"], padding=c["padding"])
    a.update(change)
    return conv.conv2d(a["x"], a["weight"], a["bias"], stride=a["stride"], padding=a["padding"])


def _conv_shape(c, dh=0, dw=0, kernel=None):
    n, _, h, w = c["x"].shape
    f, _, kh, kw = c["w"].shape
    kh, kw = kernel or (kh, kw)
    (sh, sw), (ph, pw) = as_pair(c["stride"], "stride"), _pads(c)
    return Shape((n, f, conv.output_size(h, kh, ph, sh) + dh, conv.output_size(w, kw, pw, sw) + dw))


def _if(cond, value):
    return value() if cond else None


def _pool(kind, c, **change):
    a = dict(x=c["x"], kernel_size=c["k"], stride=c.get("stride"), padding=c["padding"])
    a.update(change)
    fn = pool.max_pool2d if kind == "max" else pool.avg_pool2d
    return fn(a["x"], a["kernel_size"], stride=a["stride"], padding=a["padding"])


def _pool_catalogue(kind):
    other = "avg" if kind == "max" else "max"
    out = [
        Known("other pooling", lambda c: _pool(other, c),
              f"computed {'average' if kind == 'max' else 'max'} pooling instead of {kind} pooling"),
        Known("stride None as 1", lambda c: _if(c.get("stride") is None and as_pair(c["k"], "k") != (1, 1),
                                                 lambda: _pool(kind, c, stride=1)),
              "stride=None must mean stride = kernel_size (non-overlapping windows), not 1"),
        Known("stride ignored", lambda c: _if(c.get("stride") is not None
                                               and as_pair(c["stride"], "s") != as_pair(c["k"], "k"),
                                               lambda: _pool(kind, c, stride=None)),
              "stride ignored: the windows must move by `stride`, which differs from kernel_size"),
        Known("padding ignored", lambda c: _if(_pads(c) != (0, 0), lambda: _pool(kind, c, padding=0)),
              "padding ignored: pad the input by `padding` on every side first"),
    ]
    if kind == "max":
        out.append(Known("zero padding", lambda c: _if(_pads(c) != (0, 0), lambda: pool.max_pool2d(
            np.pad(c["x"], [(0, 0), (0, 0)] + [(p, p) for p in _pads(c)]), c["k"], stride=c.get("stride"))),
            "padded with zeros: max pooling pads with -inf, so the padding never wins a window"))
    else:
        out.append(Known("real pixels only", lambda c: _if(_pads(c) != (0, 0), lambda: _torch_pool(
            "avg", count_include_pad=False)(c["x"], c["k"], stride=c.get("stride"), padding=c["padding"])),
            "divided by the number of real pixels: PyTorch's default (count_include_pad=True) divides "
            "every window by kh * kw, the padded zeros included"))
    return out


def _mp_back(c, **rule):
    return loop_max_pool2d_backward(c["g"], c["x"], c["k"], c.get("stride"), c["padding"], **rule)


#: The named mistakes of each function: (name, the wrong answer it gives on a case, message).
MISTAKES: dict[str, list[Known]] = {
    "output_size": [
        Known("no + 1", lambda c: (c["n"] + 2 * c["p"] - c["k"]) // c["s"],
              "forgot the + 1: the first window position counts too"),
        Known("padding once", lambda c: (c["n"] + c["p"] - c["k"]) // c["s"] + 1,
              "padding counted on one side only: it is added on both sides"),
        Known("stride ignored", lambda c: c["n"] + 2 * c["p"] - c["k"] + 1,
              "stride ignored: the window moves `stride` pixels per step"),
        Known("padding ignored", lambda c: (c["n"] - c["k"]) // c["s"] + 1,
              "padding ignored: the padded axis is longer than n"),
        Known("rounded up", lambda c: -(-(c["n"] + 2 * c["p"] - c["k"]) // c["s"]) + 1,
              "rounded up: a window that would stick out of the padded input does not count (floor)"),
    ],
    "pad2d": [
        Known("top/left only", lambda c: np.pad(c["x"], [(0, 0)] * (c["x"].ndim - 2)
                                                + [(_pads(c)[0], 0), (_pads(c)[1], 0)]),
              "padded only the top/left: pad both sides of each spatial axis"),
        Known("bottom/right only", lambda c: np.pad(c["x"], [(0, 0)] * (c["x"].ndim - 2)
                                                    + [(0, _pads(c)[0]), (0, _pads(c)[1])]),
              "padded only the bottom/right: pad both sides of each spatial axis"),
        Known("every axis", lambda c: _if(c["x"].ndim > 2 and _pads(c)[0] == _pads(c)[1],
                                          lambda: Shape(tuple(s + 2 * _pads(c)[0] for s in c["x"].shape))),
              "padded every axis: only the last two (H, W) get padding, never N or C"),
        Known("ph/pw swapped", lambda c: _if(_pads(c)[0] != _pads(c)[1], lambda: np.pad(
            c["x"], [(0, 0)] * (c["x"].ndim - 2) + [(_pads(c)[1],) * 2, (_pads(c)[0],) * 2])),
              "height and width padding swapped: padding=(ph, pw) pads H by ph and W by pw"),
    ],
    "conv2d_single": [
        Known("flipped", lambda c: _single(c["x"], c["w"][::-1, ::-1]),
              "your output equals true convolution (flipped kernel); "
              "deep-learning layers compute cross-correlation: do not flip w"),
        Known("transposed", lambda c: _if(c["w"].shape[0] == c["w"].shape[1], lambda: _single(c["x"], c["w"].T)),
              "kernel transposed: w[i, j] multiplies x[r + i, c + j] (i: row, j: column)"),
        Known("KH/KW swapped", lambda c: _if(c["w"].shape[0] != c["w"].shape[1], lambda: Shape(
            (c["x"].shape[0] - c["w"].shape[1] + 1, c["x"].shape[1] - c["w"].shape[0] + 1))),
              "kernel height and width swapped: w has shape (KH, KW), KH rows first"),
        Known("short by one", lambda c: Shape((c["x"].shape[0] - c["w"].shape[0], c["x"].shape[1] - c["w"].shape[1])),
              "output is one row and one column short: an (H, W) input and (KH, KW) kernel give "
              "H - KH + 1 rows and W - KW + 1 columns"),
        Known("row short", lambda c: Shape((c["x"].shape[0] - c["w"].shape[0], c["x"].shape[1] - c["w"].shape[1] + 1)),
              "output is one row short: the last window starts at row H - KH (check the loop range)"),
        Known("column short", lambda c: Shape((c["x"].shape[0] - c["w"].shape[0] + 1, c["x"].shape[1] - c["w"].shape[1])),
              "output is one column short: the last window starts at column W - KW (check the loop range)"),
        Known("input size", lambda c: Shape(c["x"].shape),
              "output has the input's size: without padding it shrinks to (H - KH + 1, W - KW + 1)"),
    ],
    "conv2d": [
        Known("flipped", lambda c: _conv(c, weight=c["w"][..., ::-1, ::-1]),
              "your output equals true convolution (flipped kernel); "
              "deep-learning layers compute cross-correlation: do not flip the weights"),
        Known("bias missing", lambda c: _if(c.get("b") is not None, lambda: _conv(c, bias=None)),
              "bias missing: add bias[f] to every output pixel of filter f"),
        Known("height stride ignored", lambda c: _if(as_pair(c["stride"], "s")[0] != 1, lambda: _conv(
            c, stride=(1, as_pair(c["stride"], "s")[1]))),
              "stride applied only along width: step `stride[0]` rows too"),
        Known("width stride ignored", lambda c: _if(as_pair(c["stride"], "s")[1] != 1, lambda: _conv(
            c, stride=(as_pair(c["stride"], "s")[0], 1))),
              "stride applied only along height: step `stride[1]` columns too"),
        Known("stride ignored", lambda c: _if(as_pair(c["stride"], "s") != (1, 1), lambda: _conv(c, stride=1)),
              "stride ignored: move the window `stride` pixels per step"),
        Known("padding ignored", lambda c: _if(_pads(c) != (0, 0), lambda: _conv(c, padding=0)),
              "padding ignored: zero-pad the input by `padding` on every side first"),
        Known("top/left padding", lambda c: _if(_pads(c) != (0, 0), lambda: _conv(
            c, x=np.pad(c["x"], [(0, 0), (0, 0), (_pads(c)[0], 0), (_pads(c)[1], 0)]), padding=0)),
              "padded only the top/left: pad both sides"),
        Known("ph/pw swapped", lambda c: _if(_pads(c)[0] != _pads(c)[1], lambda: _conv(c, padding=_pads(c)[::-1])),
              "padding (ph, pw) swapped: ph pads the height, pw the width"),
        Known("kernel transposed", lambda c: _if(c["w"].shape[-1] == c["w"].shape[-2], lambda: _conv(
            c, weight=c["w"].swapaxes(-1, -2))),
              "kernel transposed: weight[f, c, i, j] multiplies x[n, c, r + i, col + j]"),
        Known("KH/KW swapped", lambda c: _if(c["w"].shape[-1] != c["w"].shape[-2], lambda: _conv_shape(
            c, kernel=c["w"].shape[:-3:-1])),
              "kernel height and width swapped: weight is (F, C, KH, KW), the height KH first"),
        Known("row short", lambda c: _conv_shape(c, dh=-1),
              "output is one row short: OH = output_size(H, KH, ph, sh)"),
        Known("row long", lambda c: _conv_shape(c, dh=+1),
              "output has one row too many: OH = output_size(H, KH, ph, sh)"),
        Known("column short", lambda c: _conv_shape(c, dw=-1),
              "output is one column short: OW = output_size(W, KW, pw, sw)"),
        Known("column long", lambda c: _conv_shape(c, dw=+1),
              "output has one column too many: OW = output_size(W, KW, pw, sw)"),
        Known("row and column short", lambda c: _conv_shape(c, dh=-1, dw=-1),
              "output is one row and one column short: OH = output_size(H, KH, ph, sh), and the same for OW"),
        Known("axes order", lambda c: _if(c["x"].shape[0] != c["w"].shape[0], lambda: Shape(
            (lambda s: (s[1], s[0]) + s[2:])(_conv_shape(c).shape))),
              "axes in the wrong order: the output is (N, F, OH, OW)"),
    ],
    "max_pool2d": _pool_catalogue("max"),
    "avg_pool2d": _pool_catalogue("avg"),
    "max_pool2d_backward": [
        Known("all ties", lambda c: _mp_back(c, ties="all"),
              "a window with tied maxima sent its gradient to every maximum; "
              "send it to the first one only (row-major), as PyTorch does"),
        Known("last tie", lambda c: _mp_back(c, ties="last"),
              "a window with tied maxima sent its gradient to the last maximum; PyTorch picks the first (row-major)"),
        Known("overwrote", lambda c: _mp_back(c, accumulate=False),
              "overlapping windows overwrote each other's gradient: accumulate with +="),
        Known("zero padding", lambda c: _if(_pads(c) != (0, 0), lambda: _mp_back(c, fill=0.0)),
              "padded with zeros: a window whose real pixels are all negative then sends its gradient "
              "into the padding; pad with -inf, as the forward pass does"),
        Known("unravel side", lambda c: _if(as_pair(c["k"], "k")[0] != as_pair(c["k"], "k")[1],
                                            lambda: _mp_back(c, unravel="kh")),
              "the flat arg-max of a (kh, kw) window was turned into (row, column) with the wrong side: "
              "in row-major order, index k is row k // kw, column k % kw"),
        Known("output shape", lambda c: Shape(c["g"].shape),
              "gradient has the output's shape: it must have the shape of x"),
    ],
}


# =============================================================== helpers used
def _blame(fn, name: str, uses: dict):
    """``blame`` for expect_close: if ``fn`` uses a helper of the student's (by name) and that
    helper is wrong on the arguments ``fn`` gives it, the failure starts there."""
    func = getattr(fn, "__func__", fn)
    code = getattr(func, "__code__", None)
    names = set(getattr(code, "co_names", ())) | set(getattr(code, "co_freevars", ()))
    glob = dict(getattr(func, "__globals__", {}))
    for var, cell in zip(getattr(code, "co_freevars", ()), getattr(func, "__closure__", None) or ()):
        try:
            glob[var] = cell.cell_contents          # a helper defined next to the function
        except ValueError:
            pass

    def blame():
        for helper, check in uses.items():
            student = glob.get(helper)
            if helper in names and callable(student) and student is not fn:
                try:
                    check(student)
                except CheckFailure as failure:
                    first = str(failure).splitlines()[0]
                    return (f"wrong answer because your {helper} is wrong ({first}); "
                            f"fix {helper} first (its own test says more)")
        return None
    return blame


def _size_uses(h, w, kh, kw, ph, pw, sh, sw):
    def check(student):
        check_output_size(student, h, kh, padding=ph, stride=sh)
        check_output_size(student, w, kw, padding=pw, stride=sw)
    return check


_VECTORIZED: set = set()


def _vectorized(fn, name: str, variants):
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if code is None or code in _VECTORIZED:
        return
    expect_vectorized(fn, name=name, variants=variants())
    _VECTORIZED.add(code)


# ------------------------------------------------------------------ output_size
def check_output_size(fn, n, kernel_size, padding=0, stride=1, expected=None):
    case = f"output_size({_args(n=n, kernel_size=kernel_size, padding=padding, stride=stride)})"
    got = call(fn, n, kernel_size, padding=padding, stride=stride, name="output_size", case=case)
    if expected is None:
        expected = conv.output_size(n, kernel_size, padding=padding, stride=stride)
    mistakes = mistakes_on(MISTAKES["output_size"], dict(n=n, k=kernel_size, p=padding, s=stride))

    def probe():            # more cases, to tell look-alike mistakes apart
        for n2, k2, p2, s2 in ((20, 3, 3, 1), (25, 5, 4, 2), (30, 4, 1, 3)):
            yield (call(fn, n2, k2, padding=p2, stride=s2, name="output_size", case=case),
                   conv.output_size(n2, k2, padding=p2, stride=s2),
                   mistakes_on(MISTAKES["output_size"], dict(n=n2, k=k2, p=p2, s=s2)))
    expect_equal(got, expected, name="output_size", case=case, mistakes=mistakes, probe=probe)


# ------------------------------------------------------------------------ pad2d
def check_pad2d(fn, x, padding, expected=None):
    case = f"x {describe(x)}, padding={padding}"
    got = call(fn, x, padding, name="pad2d", case=case)
    if expected is None:
        expected = conv.pad2d(x, padding)
    expect_close(got, expected, name="pad2d", case=case, rtol=0, atol=0,
                 mistakes=lambda: mistakes_on(MISTAKES["pad2d"], dict(x=x, padding=padding)))


# ---------------------------------------------------------------- conv2d_single
def check_conv2d_single(fn, x, w, expected=None):
    case = f"x {describe(x)}, w {describe(w)}"
    got = call(fn, x, w, name="conv2d_single", case=case)
    if expected is None:
        expected = _single(x, w)

    def probe():
        rng = np.random.default_rng(7)
        x2, w2 = rng.standard_normal(np.shape(x)), rng.standard_normal(np.shape(w))
        return (call(fn, x2, w2, name="conv2d_single", case=case), _single(x2, w2),
                mistakes_on(MISTAKES["conv2d_single"], dict(x=x2, w=w2)))
    expect_close(got, expected, name="conv2d_single", case=case, probe=probe,
                 mistakes=lambda: mistakes_on(MISTAKES["conv2d_single"], dict(x=x, w=w)))


def _single(x, w):
    return conv.conv2d(x[None, None], w[None, None])[0, 0]


# ----------------------------------------------------------------------- conv2d
def check_conv2d(fn, x, weight, bias=None, stride=1, padding=0, oracle="reference", expected=None,
                 vectorized=True):
    case = (f"x {describe(x)}, weight {describe(weight)}, bias {describe(bias) if bias is not None else None}, "
            f"stride={stride}, padding={padding}")
    got = call(fn, x, weight, bias, stride=stride, padding=padding, name="conv2d", case=case)
    if expected is None:
        expected = (_torch_conv2d if oracle == "torch" else conv.conv2d)(
            x, weight, bias, stride=stride, padding=padding)
    c = dict(x=x, w=weight, b=bias, stride=stride, padding=padding)

    def probe():
        rng = np.random.default_rng(7)
        c2 = dict(c, x=rng.standard_normal(x.shape), w=rng.standard_normal(weight.shape),
                  b=None if bias is None else rng.standard_normal(np.shape(bias)))
        got2 = call(fn, c2["x"], c2["w"], c2["b"], stride=stride, padding=padding, name="conv2d", case=case)
        return got2, _conv(c2), mistakes_on(MISTAKES["conv2d"], c2)

    (sh, sw), (ph, pw) = as_pair(stride, "stride"), as_pair(padding, "padding")
    kh, kw = weight.shape[-2:]
    uses = {"pad2d": lambda student: check_pad2d(student, x, (ph, pw)),
            "output_size": _size_uses(x.shape[2], x.shape[3], kh, kw, ph, pw, sh, sw)}
    expect_close(got, expected, name="conv2d", case=case, probe=probe, blame=_blame(fn, "conv2d", uses),
                 mistakes=lambda: mistakes_on(MISTAKES["conv2d"], c))
    if vectorized:
        r = np.random.default_rng(0)
        x1, x4, xl = r.standard_normal((1, 2, 6, 6)), r.standard_normal((4, 2, 6, 6)), r.standard_normal((1, 2, 12, 12))
        w1, w4 = r.standard_normal((1, 2, 3, 3)), r.standard_normal((4, 2, 3, 3))
        _vectorized(fn, "conv2d", lambda: {
            "the batch N": ((x1, w1, None, 1, 1), (x4, w1, None, 1, 1)),
            "the filters F": ((x1, w1, None, 1, 1), (x1, w4, None, 1, 1)),
            "the output pixels": ((x1, w1, None, 1, 1), (xl, w1, None, 1, 1)),
        })


def _torch_conv2d(x, w, b=None, stride=1, padding=0):
    import torch
    import torch.nn.functional as F

    t = lambda a: None if a is None else torch.from_numpy(np.asarray(a, dtype=np.float64))  # noqa: E731
    return F.conv2d(t(x), t(w), t(b), stride=as_pair(stride, "stride"),
                    padding=as_pair(padding, "padding")).numpy()


# ---------------------------------------------------------------------- pooling
def _check_pool(kind, fn, x, kernel_size, stride, padding, oracle, expected, vectorized):
    name = f"{kind}_pool2d"
    case = f"x {describe(x)}, kernel_size={kernel_size}, stride={stride}, padding={padding}"
    got = call(fn, x, kernel_size, stride=stride, padding=padding, name=name, case=case)
    ref = pool.max_pool2d if kind == "max" else pool.avg_pool2d
    if expected is None:
        expected = (_torch_pool(kind) if oracle == "torch" else ref)(x, kernel_size, stride=stride, padding=padding)
    c = dict(x=x, k=kernel_size, stride=stride, padding=padding)

    def probe():            # another case, larger (a tiny one can make look-alikes agree everywhere)
        rng = np.random.default_rng(7)
        c2 = dict(c, x=rng.standard_normal(x.shape[:2] + (x.shape[2] + 3, x.shape[3] + 3)))
        got2 = call(fn, c2["x"], kernel_size, stride=stride, padding=padding, name=name, case=case)
        return got2, ref(c2["x"], kernel_size, stride=stride, padding=padding), mistakes_on(MISTAKES[name], c2)

    kh, kw = as_pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if stride is None else as_pair(stride, "stride")
    ph, pw = as_pair(padding, "padding")
    uses = {"output_size": _size_uses(x.shape[2], x.shape[3], kh, kw, ph, pw, sh, sw)}
    if kind == "avg":
        uses["pad2d"] = lambda student: check_pad2d(student, x, (ph, pw))
    expect_close(got, expected, name=name, case=case, probe=probe, blame=_blame(fn, name, uses),
                 mistakes=lambda: mistakes_on(MISTAKES[name], c))
    if vectorized:
        r = np.random.default_rng(0)
        small, batch, large = r.standard_normal((1, 1, 6, 6)), r.standard_normal((3, 2, 6, 6)), \
            r.standard_normal((1, 1, 12, 12))
        _vectorized(fn, name, lambda: {
            "the batch N and the channels C": ((small, 2), (batch, 2)),
            "the output pixels": ((small, 2), (large, 2)),
        })


def check_max_pool2d(fn, x, kernel_size, stride=None, padding=0, oracle="reference", expected=None,
                     vectorized=True):
    _check_pool("max", fn, x, kernel_size, stride, padding, oracle, expected, vectorized)


def check_avg_pool2d(fn, x, kernel_size, stride=None, padding=0, oracle="reference", expected=None,
                     vectorized=True):
    _check_pool("avg", fn, x, kernel_size, stride, padding, oracle, expected, vectorized)


def _torch_pool(kind, **extra):
    def run(x, kernel_size, stride=None, padding=0):
        import torch
        import torch.nn.functional as F

        fn = F.max_pool2d if kind == "max" else F.avg_pool2d
        k = as_pair(kernel_size, "kernel_size")
        s = k if stride is None else as_pair(stride, "stride")
        return fn(torch.from_numpy(np.asarray(x, dtype=np.float64)), k, s,
                  as_pair(padding, "padding"), **extra).numpy()
    return run


# ---------------------------------------------------------- max_pool2d_backward
def check_max_pool2d_backward(fn, grad_out, x, kernel_size, stride=None, padding=0, oracle="reference",
                              expected=None, allow=()):
    """``max_pool2d_backward(grad_out, x, kernel_size, stride, padding)`` against the reference or torch
    (Assignment 2, exercise 6; loops over the output windows are allowed).  ``allow``: what the
    exercise hands the student from the course (the forward helpers)."""
    case = (f"grad_out {describe(grad_out)}, x {describe(x)}, kernel_size={kernel_size}, "
            f"stride={stride}, padding={padding}")
    got = call(fn, grad_out, x, kernel_size, stride=stride, padding=padding,
               name="max_pool2d_backward", case=case, allow=allow)
    if expected is None:
        if oracle == "torch":
            expected = _torch_max_pool_backward(grad_out, x, kernel_size, stride, padding)
        else:
            expected = pool.max_pool2d_backward(grad_out, x, kernel_size, stride=stride, padding=padding)
    c = dict(g=np.asarray(grad_out, float), x=np.asarray(x, float), k=kernel_size, stride=stride, padding=padding)

    def probe():
        rng = np.random.default_rng(7)
        c2 = dict(c, x=rng.integers(-3, 1, size=c["x"].shape).astype(float), g=rng.standard_normal(c["g"].shape))
        got2 = call(fn, c2["g"], c2["x"], kernel_size, stride=stride, padding=padding,
                    name="max_pool2d_backward", case=case, allow=allow)
        want2 = pool.max_pool2d_backward(c2["g"], c2["x"], kernel_size, stride=stride, padding=padding)
        return got2, want2, mistakes_on(MISTAKES["max_pool2d_backward"], c2)

    expect_close(got, expected, name="max_pool2d_backward", case=case, what="gradient", probe=probe,
                 mistakes=lambda: mistakes_on(MISTAKES["max_pool2d_backward"], c))


def _torch_max_pool_backward(grad_out, x, kernel_size, stride, padding):
    import torch
    import torch.nn.functional as F

    xt = torch.from_numpy(np.asarray(x, dtype=np.float64)).requires_grad_(True)
    k = as_pair(kernel_size, "kernel_size")
    s = k if stride is None else as_pair(stride, "stride")
    F.max_pool2d(xt, k, s, as_pair(padding, "padding")).backward(torch.from_numpy(np.asarray(grad_out, float)))
    return xt.grad.numpy()

