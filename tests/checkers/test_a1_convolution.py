"""Assignment 1's checker: each known mistake is named, delegation scores nothing,
and the course's reference passes every check."""
from __future__ import annotations

import numpy as np
import pytest

from course import conv, pool
from course.checkers import a1_convolution as a1
from course.checkers.core import CheckFailure
from course.checkers.wrong_answers import loop_max_pool2d_backward


def as_pair(v, name=""):
    """The tests' own (a student's function may not call anything in course)."""
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


# ============================================================ the checker (fast)
def _np_conv2d(x, w, b=None, stride=1, padding=0):
    """A plain NumPy conv2d for these tests (the checker refuses answers that call course.conv)."""
    (sh, sw), (ph, pw) = as_pair(stride, "stride"), as_pair(padding, "padding")
    xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    kh, kw = w.shape[-2:]
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = sum(np.einsum("nchw,fc->nfhw", xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw],
                        w[:, :, i, j]) for i in range(kh) for j in range(kw))
    return out if b is None else out + b[None, :, None, None]


def _np_pool(x, k, stride=None, padding=0, kind="max", count_pad=True):
    (kh, kw) = as_pair(k, "k")
    sh, sw = (kh, kw) if stride is None else as_pair(stride, "stride")
    ph, pw = as_pair(padding, "padding")
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)], constant_values=fill)
    ones = np.pad(np.ones_like(x), [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    views = [(xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw],
              ones[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]) for i in range(kh) for j in range(kw)]
    if kind == "max":
        return np.max([v for v, _ in views], axis=0)
    return sum(v for v, _ in views) / (kh * kw if count_pad else sum(c for _, c in views))


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailure) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_flipped_kernel_is_named():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2))

    def flipped(x, weight, bias=None, stride=1, padding=0):
        return _np_conv2d(x, weight[..., ::-1, ::-1], bias, stride=stride, padding=padding)

    msg = _message(a1.check_conv2d, flipped, x, w, stride=2, padding=1, oracle="torch")
    first = msg.splitlines()[0]
    assert "true convolution (flipped kernel)" in first and "cross-correlation" in first
    assert "case: x (2, 3, 6, 5), weight (4, 3, 3, 2)" in msg and "stride=2, padding=1" in msg
    assert "expected shape (2, 4, 3, 3), got (2, 4, 3, 3)" in msg


def test_conv2d_shape_and_stride_mistakes_are_named():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 7, 9)), rng.standard_normal((3, 2, 3, 3))

    def stride_width_only(x, weight, bias=None, stride=1, padding=0):
        s = as_pair(stride, "stride")
        return _np_conv2d(x, weight, bias, stride=(1, s[1]), padding=padding)

    def one_row_short(x, weight, bias=None, stride=1, padding=0):
        return _np_conv2d(x, weight, bias, stride=stride, padding=padding)[:, :, :-1]

    def forgets_bias(x, weight, bias=None, stride=1, padding=0):
        return _np_conv2d(x, weight, None, stride=stride, padding=padding)

    with_call = lambda f, **kw: _message(a1.check_conv2d, f, x, w, **kw).splitlines()[0]  # noqa: E731
    assert "stride applied only along width" in with_call(stride_width_only, stride=2, padding=1)
    assert "output is one row short" in with_call(one_row_short, padding=2)
    assert "bias missing" in with_call(forgets_bias, bias=rng.standard_normal(3))


def test_output_size_mistakes_are_named():
    assert "forgot the + 1" in _message(a1.check_output_size, lambda n, k, padding=0, stride=1:
                                        (n + 2 * padding - k) // stride, 9, 3, 2, 1)
    # (7, 3, 1, 2): "no + 1" and "padding ignored" both give 3; more cases single out the "+ 1"
    assert "forgot the + 1" in _message(a1.check_output_size, lambda n, k, padding=0, stride=1:
                                        (n + 2 * padding - k) // stride, 7, 3, 1, 2)
    assert "returned a float" in _message(a1.check_output_size, lambda n, k, padding=0, stride=1:
                                          (n + 2 * padding - k) / stride + 1, 7, 3, 1, 2)
    assert "not implemented yet" in _message(a1.check_output_size, _stub, 5, 3)


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _np_max_pool_backward(grad_out, x, kernel_size, stride=None, padding=0, ties="first", fill=-np.inf):
    """A plain loop max-pool backward for these tests (students may not call the package's own)."""
    kh, kw = as_pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else as_pair(stride)
    ph, pw = as_pair(padding)
    xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)], constant_values=fill)
    gp = np.zeros(xp.shape)
    n, c = x.shape[:2]
    for r in range(grad_out.shape[2]):
        for q in range(grad_out.shape[3]):
            win = xp[:, :, r * sh:r * sh + kh, q * sw:q * sw + kw].reshape(n, c, -1)
            if ties == "all":
                mask = (win == win.max(axis=2, keepdims=True)).astype(float)
            else:
                mask = np.zeros_like(win)
                np.put_along_axis(mask, win.argmax(axis=2)[..., None], 1.0, axis=2)
            gp[:, :, r * sh:r * sh + kh, q * sw:q * sw + kw] += (mask * grad_out[:, :, r, q][..., None]).reshape(
                n, c, kh, kw)
    return gp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


def test_pooling_mistakes_are_named():
    x = np.random.default_rng(2).integers(0, 3, size=(2, 2, 6, 6)).astype(float)   # ties
    g = np.ones((2, 2, 5, 5))

    def all_maxima(grad_out, x, kernel_size, stride=None, padding=0):
        return _np_max_pool_backward(grad_out, x, kernel_size, stride, padding, ties="all")

    assert "tied maxima" in _message(a1.check_max_pool2d_backward, all_maxima, g, x, 2, stride=1,
                                     oracle="torch").splitlines()[0]
    assert "stride=None must mean stride = kernel_size" in _message(
        a1.check_max_pool2d, lambda x, k, stride=None, padding=0: _np_pool(x, k, 1), x, 2)
    assert "count_include_pad" in _message(
        a1.check_avg_pool2d, lambda x, k, stride=None, padding=0: _np_pool(x, k, stride, padding, "avg", False),
        x, 3, stride=2, padding=1)


# ================================================= issue #15: tried as a student would
def _visible_cell(grade_id: str) -> str:
    """The visible part of a test cell of the A1 solution notebook (what a student sees and runs)."""
    import nbformat

    nb = nbformat.read(ROOT / "solutions" / "a1_convolution" / "a1_convolution.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return cell.source.split("### BEGIN HIDDEN TESTS")[0]


def _run_visible(grade_id: str, **functions) -> str | None:
    """Run the visible test cell with the given student functions; the first line of its failure or None."""
    ns = {"np": np, "a1": a1, **functions}
    try:
        exec(_visible_cell(grade_id), ns)                   # noqa: S102  (our own notebook)
    except CheckFailure as failure:
        return str(failure).splitlines()[0]
    return None


ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _conv_no_width_stride(x, weight, bias=None, stride=1, padding=0):
    return _np_conv2d(x, weight, bias, stride=(as_pair(stride)[0], 1), padding=padding)


def test_conv2d_ignoring_the_width_stride_fails_the_visible_cell():
    first = _run_visible("test_conv2d", conv2d=_conv_no_width_stride)
    assert first is not None and first.startswith("conv2d: ")
    assert _run_visible("test_conv2d", conv2d=_np_conv2d) is None      # a right answer passes


def test_max_pool_backward_cases_with_padding_and_non_square_windows_fail_the_tried_answers():
    rng = np.random.default_rng(4)
    x = -rng.integers(1, 4, size=(2, 2, 5, 6)).astype(float)
    g = rng.standard_normal((2, 2, 6, 3))

    def zero_pad(grad_out, x, kernel_size, stride=None, padding=0):
        return _np_max_pool_backward(grad_out, x, kernel_size, stride, padding, fill=0.0)

    msg = _message(a1.check_max_pool2d_backward, zero_pad, g, x, (2, 3), stride=(1, 2), padding=1, oracle="torch")
    assert "padded with zeros" in msg.splitlines()[0]


def test_avg_pool_over_real_pixels_is_not_called_max_pooling():
    """On the all-ones visible case "max pooling" and "real pixels only" give the same answer: the
    evidence does not single one out, so a second case decides (it is the real-pixel count)."""
    def real_pixels(x, k, stride=None, padding=0):
        return _np_pool(x, k, stride, padding, "avg", count_pad=False)

    first = _message(a1.check_avg_pool2d, real_pixels, np.ones((1, 1, 2, 2)), 2, padding=1,
                     expected=np.full((1, 1, 2, 2), 0.25)).splitlines()[0]
    assert "divided by the number of real pixels" in first and "max pooling" not in first
    first = _run_visible("test_avg_pool2d", avg_pool2d=real_pixels)
    assert "divided by the number of real pixels" in first


def test_swapped_kernel_height_and_width_is_not_called_an_output_size_error():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 2))

    def swapped(x, weight, bias=None, stride=1, padding=0):     # reads KH, KW the wrong way round
        return _np_conv2d(x, weight.swapaxes(-1, -2), bias, stride=stride, padding=padding)

    msg = _message(a1.check_conv2d, swapped, x, w, rng.standard_normal(4), stride=(2, 1), padding=1)
    first = msg.splitlines()[0]
    assert "output-size" not in first and "off by one" not in first and "column short" not in first
    assert first == "conv2d: wrong output shape" and "more than one known mistake" in msg


def test_a_diagnosis_only_when_the_evidence_singles_it_out():
    from course.checkers.core import Mistake, single_out

    want, got = np.zeros(3), np.ones(3)
    assert single_out(got, want, [Mistake("a", value=np.ones(3))], 0, 0)[0] == "a"
    assert single_out(got, want, [Mistake("a", value=np.ones(3)), Mistake("b", value=np.ones(3))], 0, 0)[0] is None
    assert single_out(got, want, [Mistake("right anyway", value=np.zeros(3))], 0, 0)[0] is None


def test_a_broken_helper_is_blamed_instead_of_repeating_its_failure():
    def pad2d(x, padding):                       # the student's broken helper
        raise IndexError("tuple index out of range")

    def conv2d(x, weight, bias=None, stride=1, padding=0):
        xp = pad2d(x, padding)
        return _np_conv2d(xp, weight, bias, stride=stride)

    def output_size(n, kernel_size, padding=0, stride=1):
        return (n + 2 * padding - kernel_size) // stride        # forgot the + 1

    def conv2d_small(x, weight, bias=None, stride=1, padding=0):
        oh = output_size(x.shape[2], weight.shape[2], 0, 1)
        return _np_conv2d(x, weight, bias)[:, :, :oh]

    x, w = np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3))
    glob = globals()
    glob.update(pad2d=pad2d, output_size=output_size)
    try:
        first = _message(a1.check_conv2d, conv2d, x, w, padding=1).splitlines()[0]
        assert first.startswith("conv2d: fails because your pad2d raises IndexError"), first
        first = _message(a1.check_conv2d, conv2d_small, x, w).splitlines()[0]
        assert "because your output_size is wrong" in first and "forgot the + 1" in first, first
    finally:
        del glob["pad2d"], glob["output_size"]


def test_loops_over_the_batch_filters_or_pixels_fail_the_vectorization_check():
    def seven_loops(x, weight, bias=None, stride=1, padding=0):
        (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
        xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
        n, c, h, w = xp.shape
        f, _, kh, kw = weight.shape
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        out = np.zeros((n, f, oh, ow))
        for a in range(n):
            for b in range(f):
                for r in range(oh):
                    for q in range(ow):
                        for k in range(c):
                            for i in range(kh):
                                for j in range(kw):
                                    out[a, b, r, q] += xp[a, k, r * sh + i, q * sw + j] * weight[b, k, i, j]
        return out if bias is None else out + bias[None, :, None, None]

    def loop_over_batch(x, weight, bias=None, stride=1, padding=0):
        return np.concatenate([_np_conv2d(x[i:i + 1], weight, bias, stride, padding) for i in range(len(x))])

    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    msg = _message(a1.check_conv2d, seven_loops, x, w, stride=2, padding=1)
    assert msg.startswith("conv2d: not vectorized: a Python loop runs over the batch N") and "slower" in msg
    assert "over the batch N" in _message(a1.check_conv2d, loop_over_batch, x, w)
    a1.check_conv2d(_np_conv2d, x, w, stride=2, padding=1)           # a loop over kernel offsets is fine

    def pool_loop_pixels(x, k, stride=None, padding=0):
        out = np.zeros(x.shape[:2] + (x.shape[2] // k, x.shape[3] // k))
        for r in range(out.shape[2]):
            for q in range(out.shape[3]):
                out[:, :, r, q] = x[:, :, r * k:r * k + k, q * k:q * k + k].max(axis=(2, 3))
        return out
    assert "over the output pixels" in _message(a1.check_max_pool2d, pool_loop_pixels, rng.standard_normal((1, 2, 4, 4)), 2)


def test_failure_excerpt_shows_the_part_around_the_largest_error():
    x = np.zeros((1, 2, 12, 12))
    want = np.zeros((1, 2, 12, 12))
    got = want.copy()
    got[0, 1, 9, 10] = 5.0
    from course.checkers.core import expect_close

    with pytest.raises(CheckFailure) as info:
        expect_close(got, want, name="f")
    text = str(info.value)
    assert "largest error 5 at index (0, 1, 9, 10)" in text and "got[0, 1, 7:11, 6:12]" in text
    assert "5." in text.split("got[0, 1, 7:11, 6:12] =")[1]
    del x


def test_the_max_pool_comment_says_what_the_call_does():
    cell = _visible_cell("test_max_pool2d")
    assert "stride (2, 3)" not in cell and "a (2, 3) window, stride (2, 1)" in cell


def test_delegation_to_the_reference_or_torch_scores_nothing():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 1, 3, 3))
    from course.conv import conv2d as renamed   # any alias: the call itself is detected

    def delegates(x, weight, bias=None, stride=1, padding=0):
        return renamed(x, weight, bias, stride=stride, padding=padding)

    def uses_torch(x, kernel_size, stride=None, padding=0):
        import torch
        return torch.nn.functional.max_pool2d(torch.from_numpy(x), kernel_size, stride, padding).numpy()

    msg = _message(a1.check_conv2d, delegates, x, w)
    assert "calls course.conv.conv2d" in msg and "no points for delegating" in msg
    assert "(PyTorch)" in _message(a1.check_max_pool2d, uses_torch, x, 2)


def test_reference_answers_pass_every_check(monkeypatch):
    """The course's reference passes its own checks (hidden tests cannot be unfair to it)."""
    from course.checkers import core as checks

    monkeypatch.setattr(checks, "WATCHED", ())     # here calling the reference is the point
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 6))
    a1.check_output_size(conv.output_size, 9, 4, padding=3, stride=2)
    a1.check_pad2d(conv.pad2d, x, (2, 1))
    a1.check_conv2d(conv.conv2d, x, rng.standard_normal((2, 3, 2, 3)), rng.standard_normal(2),
                    stride=(3, 1), padding=(2, 0), oracle="torch")
    a1.check_max_pool2d(pool.max_pool2d, x, (3, 2), stride=(1, 2), padding=1, oracle="torch")
    a1.check_avg_pool2d(pool.avg_pool2d, x, 3, stride=2, padding=1, oracle="torch")
    ties = rng.integers(0, 2, size=(1, 2, 5, 5)).astype(float)
    a1.check_max_pool2d_backward(pool.max_pool2d_backward, rng.standard_normal((1, 2, 4, 4)), ties, 2,
                                 stride=1, oracle="torch")


