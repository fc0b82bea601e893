"""Checks for Assignment 1 (convolution and pooling).

One ``check_<function>`` per graded function.  Each takes the student's
function and one case, computes the expected answer with the course's
reference (``oracle="reference"``) or with PyTorch (``oracle="torch"``), and
raises :class:`~course.checkers.core.CheckFailure` naming the case, the
shapes, an excerpt, and, when the wrong answer is what a known mistake
produces, the mistake.  Test cells stay short::

    a1.check_conv2d(conv2d, x, w, b, stride=(2, 1), padding=2, oracle="torch")

The student's functions follow the reference's signatures (PyTorch's names):
``output_size(n, kernel_size, padding=0, stride=1)``, ``pad2d(x, padding)``,
``conv2d_single(x, w)``, ``conv2d(x, weight, bias=None, stride=1, padding=0)``,
``max_pool2d(x, kernel_size, stride=None, padding=0)``, ``avg_pool2d(...)``,
``max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0)``.
"""
from __future__ import annotations

import numpy as np

from course import conv, pool
from course._validate import as_pair
from course.checkers.wrong_answers import loop_max_pool2d_backward
from course.checkers.core import CheckFailure, Mistake, call, describe, expect_close, expect_equal

__all__ = ["CheckFailure", "check_output_size", "check_pad2d", "check_conv2d_single", "check_conv2d",
           "check_max_pool2d", "check_avg_pool2d", "check_max_pool2d_backward", "random_case_rng"]


def random_case_rng(seed: int) -> np.random.Generator:
    """The random generator hidden tests draw their cases from (fixed seed: same cases every run)."""
    return np.random.default_rng(seed)


def _args(**kw) -> str:
    return ", ".join(f"{k}={v}" for k, v in kw.items())


# ------------------------------------------------------------------ output_size
def check_output_size(fn, n, kernel_size, padding=0, stride=1, expected=None):
    case = f"output_size({_args(n=n, kernel_size=kernel_size, padding=padding, stride=stride)})"
    got = call(fn, n, kernel_size, padding=padding, stride=stride, name="output_size", case=case)
    if expected is None:
        expected = conv.output_size(n, kernel_size, padding=padding, stride=stride)
    span = n + 2 * padding - kernel_size
    mistakes = [
        Mistake("forgot the + 1: the first window position counts too", value=span // stride),
        Mistake("padding counted on one side only: it is added on both sides (2 * padding)",
                value=(n + padding - kernel_size) // stride + 1),
        Mistake("stride ignored: the window moves `stride` pixels per step", value=span + 1),
        Mistake("padding ignored: add 2 * padding to n", value=(n - kernel_size) // stride + 1),
        Mistake("rounded up: a window that would stick out of the padded input does not count (floor)",
                value=-(-span // stride) + 1),
    ]
    expect_equal(got, expected, name="output_size", case=case, mistakes=[m for m in mistakes
                                                                         if m.value != expected])


# ------------------------------------------------------------------------ pad2d
def check_pad2d(fn, x, padding, expected=None):
    case = f"x {describe(x)}, padding={padding}"
    got = call(fn, x, padding, name="pad2d", case=case)
    if expected is None:
        expected = conv.pad2d(x, padding)
    ph, pw = as_pair(padding, "padding")
    lead = [(0, 0)] * (x.ndim - 2)
    mistakes = lambda: [  # noqa: E731  (computed only when the answer is wrong)
        Mistake("padded only the top/left: pad both sides of each spatial axis",
                value=np.pad(x, lead + [(ph, 0), (pw, 0)])),
        Mistake("padded only the bottom/right: pad both sides of each spatial axis",
                value=np.pad(x, lead + [(0, ph), (0, pw)])),
        Mistake("padded every axis: only the last two (H, W) get padding, never N or C",
                shape=tuple(s + 2 * ph for s in x.shape) if x.ndim > 2 and ph == pw else None),
        Mistake("height and width padding swapped: padding=(ph, pw) pads H by ph and W by pw",
                value=np.pad(x, lead + [(pw, pw), (ph, ph)]) if ph != pw else None),
    ]
    expect_close(got, expected, name="pad2d", case=case, mistakes=mistakes, rtol=0, atol=0)


# ---------------------------------------------------------------- conv2d_single
def check_conv2d_single(fn, x, w, expected=None):
    case = f"x {describe(x)}, w {describe(w)}"
    got = call(fn, x, w, name="conv2d_single", case=case)
    ref = _ref_single
    if expected is None:
        expected = ref(x, w)
    oh, ow = expected.shape
    mistakes = lambda: [  # noqa: E731
        Mistake("your output equals true convolution (flipped kernel); "
                "deep-learning layers compute cross-correlation: do not flip w",
                value=ref(x, w[::-1, ::-1])),
        Mistake("kernel transposed: w[i, j] multiplies x[r + i, c + j] (i: row, j: column)",
                value=ref(x, w.T) if w.shape[0] == w.shape[1] else None),
        Mistake("output is off by one row and column: an (H, W) input and (KH, KW) kernel give "
                "H - KH + 1 rows and W - KW + 1 columns", shape=(oh - 1, ow - 1)),
        Mistake("output is off by one row: H - KH + 1 rows (check the loop range)", shape=(oh - 1, ow)),
        Mistake("output is off by one column: W - KW + 1 columns (check the loop range)", shape=(oh, ow - 1)),
        Mistake("output has the input's size: without padding it shrinks to (H - KH + 1, W - KW + 1)",
                shape=x.shape if x.shape != expected.shape else None),
    ]
    expect_close(got, expected, name="conv2d_single", case=case, mistakes=mistakes)


def _ref_single(x, w):
    return conv.conv2d(x[None, None], w[None, None])[0, 0]


# ----------------------------------------------------------------------- conv2d
def check_conv2d(fn, x, weight, bias=None, stride=1, padding=0, oracle="reference", expected=None):
    case = (f"x {describe(x)}, weight {describe(weight)}, bias {describe(bias) if bias is not None else None}, "
            f"stride={stride}, padding={padding}")
    got = call(fn, x, weight, bias, stride=stride, padding=padding, name="conv2d", case=case)
    if expected is None:
        expected = (_torch_conv2d if oracle == "torch" else conv.conv2d)(
            x, weight, bias, stride=stride, padding=padding)
    expect_close(got, expected, name="conv2d", case=case,
                 mistakes=lambda: _conv2d_mistakes(x, weight, bias, stride, padding, expected.shape))


def _conv2d_mistakes(x, w, b, stride, padding, shape):
    sh, sw = as_pair(stride, "stride")
    ph, pw = as_pair(padding, "padding")
    ref = conv.conv2d
    n, f, oh, ow = shape
    out = [Mistake("your output equals true convolution (flipped kernel); "
                   "deep-learning layers compute cross-correlation: do not flip the weights",
                   value=ref(x, w[..., ::-1, ::-1], b, stride=stride, padding=padding))]
    if b is not None:
        out.append(Mistake("bias missing: add bias[f] to every output pixel of filter f",
                           value=ref(x, w, None, stride=stride, padding=padding)))
    if sh != 1:
        out.append(Mistake("stride applied only along width: step `stride[0]` rows too",
                           value=_try(ref, x, w, b, stride=(1, sw), padding=padding)))
    if sw != 1:
        out.append(Mistake("stride applied only along height: step `stride[1]` columns too",
                           value=_try(ref, x, w, b, stride=(sh, 1), padding=padding)))
    if (sh, sw) != (1, 1):
        out.append(Mistake("stride ignored: move the window `stride` pixels per step",
                           value=_try(ref, x, w, b, stride=1, padding=padding)))
    if (ph, pw) != (0, 0):
        out.append(Mistake("padding ignored: zero-pad the input by `padding` on every side first",
                           value=_try(ref, x, w, b, stride=stride, padding=0)))
        out.append(Mistake("padded only the top/left: pad both sides",
                           value=_try(ref, np.pad(x, [(0, 0), (0, 0), (ph, 0), (pw, 0)]), w, b, stride=stride)))
    if ph != pw:
        out.append(Mistake("padding (ph, pw) swapped: ph pads the height, pw the width",
                           value=_try(ref, x, w, b, stride=stride, padding=(pw, ph))))
    if w.shape[-1] == w.shape[-2]:
        out.append(Mistake("kernel transposed: weight[f, c, i, j] multiplies x[n, c, r + i, col + j]",
                           value=ref(x, w.swapaxes(-1, -2), b, stride=stride, padding=padding)))
    out += [
        Mistake("output is off by one row: check the output-size formula "
                "floor((H + 2*padding - KH) / stride) + 1", shape=(n, f, oh - 1, ow)),
        Mistake("output is off by one row: check the output-size formula "
                "floor((H + 2*padding - KH) / stride) + 1", shape=(n, f, oh + 1, ow)),
        Mistake("output is off by one column: check the output-size formula "
                "floor((W + 2*padding - KW) / stride) + 1", shape=(n, f, oh, ow - 1)),
        Mistake("output is off by one column: check the output-size formula "
                "floor((W + 2*padding - KW) / stride) + 1", shape=(n, f, oh, ow + 1)),
        Mistake("output is off by one row and column: check the output-size formula",
                shape=(n, f, oh - 1, ow - 1)),
        Mistake("axes in the wrong order: the output is (N, F, OH, OW)", shape=(f, n, oh, ow) if f != n else None),
    ]
    return out


def _try(fn, *args, **kwargs):
    """The answer a mistake would give, or None where that mistake cannot even run."""
    try:
        return fn(*args, **kwargs)
    except Exception:  # ValueError (reference), RuntimeError (torch)
        return None


def _torch_conv2d(x, w, b=None, stride=1, padding=0):
    import torch
    import torch.nn.functional as F

    t = lambda a: None if a is None else torch.from_numpy(np.asarray(a, dtype=np.float64))  # noqa: E731
    return F.conv2d(t(x), t(w), t(b), stride=as_pair(stride, "stride"),
                    padding=as_pair(padding, "padding")).numpy()


# ---------------------------------------------------------------------- pooling
def check_max_pool2d(fn, x, kernel_size, stride=None, padding=0, oracle="reference", expected=None):
    case = f"x {describe(x)}, kernel_size={kernel_size}, stride={stride}, padding={padding}"
    got = call(fn, x, kernel_size, stride=stride, padding=padding, name="max_pool2d", case=case)
    if expected is None:
        expected = (_torch_pool("max") if oracle == "torch" else pool.max_pool2d)(
            x, kernel_size, stride=stride, padding=padding)

    def mistakes():
        out = _pool_mistakes(x, kernel_size, stride, padding, "max")
        if padding != 0:
            zero_padded = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in as_pair(padding, "padding")])
            out.append(Mistake("padded with zeros: max pooling pads with -inf, so padding never wins",
                               value=_try(pool.max_pool2d, zero_padded, kernel_size, stride=stride)))
        return out
    expect_close(got, expected, name="max_pool2d", case=case, mistakes=mistakes)


def check_avg_pool2d(fn, x, kernel_size, stride=None, padding=0, oracle="reference", expected=None):
    case = f"x {describe(x)}, kernel_size={kernel_size}, stride={stride}, padding={padding}"
    got = call(fn, x, kernel_size, stride=stride, padding=padding, name="avg_pool2d", case=case)
    if expected is None:
        expected = (_torch_pool("avg") if oracle == "torch" else pool.avg_pool2d)(
            x, kernel_size, stride=stride, padding=padding)

    def mistakes():
        out = _pool_mistakes(x, kernel_size, stride, padding, "avg")
        if padding != 0:
            out.append(Mistake("divided by the number of real pixels: PyTorch's default "
                               "(count_include_pad=True) divides every window by kh * kw",
                               value=_try(_torch_pool("avg", count_include_pad=False),
                                          x, kernel_size, stride=stride, padding=padding)))
        return out
    expect_close(got, expected, name="avg_pool2d", case=case, mistakes=mistakes)


def _pool_mistakes(x, k, stride, padding, kind):
    ref, other = (pool.max_pool2d, pool.avg_pool2d) if kind == "max" else (pool.avg_pool2d, pool.max_pool2d)
    out = [Mistake(f"computed {'average' if kind == 'max' else 'max'} pooling instead of {kind} pooling",
                   value=_try(other, x, k, stride=stride, padding=padding))]
    kh, kw = as_pair(k, "kernel_size")
    if stride is None and (kh, kw) != (1, 1):
        out.append(Mistake("stride=None must mean stride = kernel_size (non-overlapping windows), not 1",
                           value=_try(ref, x, k, stride=1, padding=padding)))
    if stride is not None and as_pair(stride, "stride") != (kh, kw):
        out.append(Mistake("stride ignored: the windows must move by `stride`, which differs from kernel_size",
                           value=_try(ref, x, k, stride=None, padding=padding)))
    return out


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
                              expected=None):
    case = (f"grad_out {describe(grad_out)}, x {describe(x)}, kernel_size={kernel_size}, "
            f"stride={stride}, padding={padding}")
    got = call(fn, grad_out, x, kernel_size, stride=stride, padding=padding,
               name="max_pool2d_backward", case=case)
    if expected is None:
        if oracle == "torch":
            expected = _torch_max_pool_backward(grad_out, x, kernel_size, stride, padding)
        else:
            expected = pool.max_pool2d_backward(grad_out, x, kernel_size, stride=stride, padding=padding)
    mistakes = lambda: [  # noqa: E731
        Mistake("a window with tied maxima sent its gradient to every maximum; "
                "send it to the first one only (row-major), as PyTorch does",
                value=loop_max_pool2d_backward(grad_out, x, kernel_size, stride, padding, ties="all")),
        Mistake("a window with tied maxima sent its gradient to the last maximum; "
                "PyTorch picks the first (row-major)",
                value=loop_max_pool2d_backward(grad_out, x, kernel_size, stride, padding, ties="last")),
        Mistake("overlapping windows overwrote each other's gradient: accumulate with +=",
                value=loop_max_pool2d_backward(grad_out, x, kernel_size, stride, padding, accumulate=False)),
        Mistake("gradient has the output's shape: it must have the shape of x", shape=grad_out.shape),
    ]
    expect_close(got, expected, name="max_pool2d_backward", case=case, mistakes=mistakes, what="gradient")


def _torch_max_pool_backward(grad_out, x, kernel_size, stride, padding):
    import torch
    import torch.nn.functional as F

    xt = torch.from_numpy(np.asarray(x, dtype=np.float64)).requires_grad_(True)
    k = as_pair(kernel_size, "kernel_size")
    s = k if stride is None else as_pair(stride, "stride")
    F.max_pool2d(xt, k, s, as_pair(padding, "padding")).backward(torch.from_numpy(np.asarray(grad_out, float)))
    return xt.grad.numpy()
