"""course.conv against PyTorch (the oracle), plus the errors that teach."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course import conv

DTYPES = [np.float32, np.float64]
FAST = settings(max_examples=40, deadline=None)


def assert_close(ours, ref, dtype):
    """1e-10 in float64; 1e-5 in float32, relative to the size of the numbers."""
    ref = np.asarray(ref)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol * scale)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


# ---------------------------------------------------------------- strategies


@st.composite
def conv_cases(draw):
    """A valid conv2d configuration (output at least 1x1) with random data."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    # input at least as large as the dilated kernel minus the padding
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 9))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 9))
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**31))
    # each argument as an int when square, else as a pair: both spellings get used
    pair = lambda a, b: a if a == b else (a, b)  # noqa: E731
    rng = np.random.default_rng(seed)
    return dict(
        x=rng.standard_normal((n, c, h, w)).astype(dtype),
        weight=rng.standard_normal((f, c, kh, kw)).astype(dtype),
        bias=rng.standard_normal(f).astype(dtype) if draw(st.booleans()) else None,
        stride=pair(sh, sw), padding=pair(ph, pw), dilation=pair(dh, dw), rng=rng,
    )


# ---------------------------------------------------------------- conv2d


@FAST
@given(conv_cases())
def test_conv2d_matches_torch(case):
    x, w, b = case["x"], case["weight"], case["bias"]
    kw = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"])
    ours = conv.conv2d(x, w, b, **kw)
    ref = F.conv2d(t(x), t(w), None if b is None else t(b), **kw).numpy()
    assert ours.dtype == x.dtype
    assert_close(ours, ref, x.dtype)


@FAST
@given(conv_cases())
def test_conv2d_backward_matches_autograd(case):
    x, w, b = case["x"], case["weight"], case["bias"]
    kw = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"])
    xt, wt = t(x).requires_grad_(), t(w).requires_grad_()
    bt = t(b if b is not None else np.zeros(w.shape[0], x.dtype)).requires_grad_()
    out = F.conv2d(xt, wt, bt, **kw)
    grad_out = case["rng"].standard_normal(out.shape).astype(x.dtype)
    out.backward(t(grad_out))

    gx, gw, gb = conv.conv2d_backward(grad_out, x, w, **kw)
    assert_close(gx, xt.grad.numpy(), x.dtype)
    assert_close(gw, wt.grad.numpy(), x.dtype)
    assert_close(gb, bt.grad.numpy(), x.dtype)
    assert gx.dtype == gw.dtype == gb.dtype == x.dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_batch_larger_than_a_chunk(dtype, stride):
    """N=19 crosses the internal chunk boundaries; results must not depend on them."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((19, 5, 12, 10)).astype(dtype)
    w = rng.standard_normal((7, 5, 3, 3)).astype(dtype)
    b = rng.standard_normal(7).astype(dtype)
    xt, wt, bt = t(x).requires_grad_(), t(w).requires_grad_(), t(b).requires_grad_()
    out = F.conv2d(xt, wt, bt, stride=stride, padding=1)
    assert_close(conv.conv2d(x, w, b, stride=stride, padding=1), out.detach().numpy(), dtype)
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(t(g))
    gx, gw, gb = conv.conv2d_backward(g, x, w, stride=stride, padding=1)
    for ours, ref in ((gx, xt.grad), (gw, wt.grad), (gb, bt.grad)):
        assert_close(ours, ref.numpy(), dtype)


def test_conv2d_accepts_lists_and_ints():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out = conv.conv2d(x.tolist(), [[[[1, 0], [0, -1]]]])
    ref = F.conv2d(t(x), torch.tensor([[[[1.0, 0], [0, -1]]]], dtype=torch.float64))
    assert_close(out, ref.numpy(), np.float64)


# ---------------------------------------------------------------- output_size


@FAST
@given(n=st.integers(1, 20), k=st.integers(1, 6), p=st.integers(0, 3),
       s=st.integers(1, 4), d=st.integers(1, 3))
def test_output_size_matches_torch(n, k, p, s, d):
    o = conv.output_size(n, k, p, s, d)
    if o >= 1:
        shape = F.conv2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1),
                         stride=(s, 1), padding=(p, 0), dilation=(d, 1)).shape
        assert shape[2] == o
    else:  # torch refuses exactly when the formula gives no output
        with pytest.raises(RuntimeError):
            F.conv2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1),
                     stride=(s, 1), padding=(p, 0), dilation=(d, 1))


def test_output_size_worked_numbers():
    assert conv.output_size(5, 3) == 3            # (5 - 3)//1 + 1
    assert conv.output_size(5, 3, padding=1) == 5  # "same"
    assert conv.output_size(7, 3, stride=2) == 3  # (7 - 3)//2 + 1
    assert conv.output_size(32, 3, 1, 2) == 16
    assert conv.output_size(5, 7) == -1           # may be <= 0: the caller decides


# ---------------------------------------------------------------- pad2d


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
@pytest.mark.parametrize("shape", [(5, 6), (2, 5, 6), (2, 3, 5, 6)])
@pytest.mark.parametrize("padding", [0, 1, (2, 3)])
def test_pad2d_matches_torch_pad(mode, shape, padding):
    x = np.random.default_rng(1).standard_normal(shape)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xt = t(x).reshape((-1,) + shape[-2:])[None]  # torch wants (N, C, H, W) for 2-D modes
    ref = F.pad(xt, (pw, pw, ph, ph), mode=mode).reshape(shape[:-2] + (shape[-2] + 2 * ph, shape[-1] + 2 * pw))
    np.testing.assert_array_equal(conv.pad2d(x, padding, mode=mode), ref.numpy())


def test_pad2d_returns_a_new_array():
    x = np.ones((3, 3))
    out = conv.pad2d(x, 0)
    out[...] = 0
    assert (x == 1).all()


def test_pad2d_value():
    out = conv.pad2d(np.ones((2, 2)), 1, value=-5.0)
    assert out.shape == (4, 4)
    assert out[0, 0] == -5.0 and out[1, 1] == 1.0 and out.sum() == 4 - 5 * 12


# ---------------------------------------------------------------- filter_image


def torch_filter(image, k, pads, mode, stride):
    """Oracle: channels as a batch of 1-channel images, F.pad, then F.conv2d."""
    chw = image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)
    xt = t(chw)[:, None]  # (C, 1, H, W)
    if any(pads):
        xt = F.pad(xt, pads, mode={"zeros": "constant"}.get(mode, mode))
    out = F.conv2d(xt, t(k.astype(image.dtype))[None, None], stride=stride)[:, 0].numpy()
    return out[0] if image.ndim == 2 else np.moveaxis(out, 0, -1)


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate"])
@pytest.mark.parametrize("ksize", [(3, 3), (5, 3), (1, 1)])
@pytest.mark.parametrize("stride", [1, 2, (1, 3)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_filter_image_same_matches_torch(color, mode, ksize, stride, dtype):
    rng = np.random.default_rng(2)
    image = rng.random((11, 13, 3) if color else (11, 13)).astype(dtype)
    k = rng.standard_normal(ksize)
    kh, kw = ksize
    ours = conv.filter_image(image, k, padding="same", stride=stride, padding_mode=mode)
    ref = torch_filter(image, k, (kw // 2, kw // 2, kh // 2, kh // 2), mode, stride)
    assert ours.dtype == dtype
    assert_close(ours, ref, dtype)
    if stride == 1:
        assert ours.shape == image.shape


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("ksize", [(2, 2), (4, 3), (2, 5)])
def test_filter_image_same_even_kernel_matches_torch_same(ksize):
    """Even kernels: torch's padding='same' puts the extra row/column at the end."""
    image = np.random.default_rng(3).random((9, 10))
    k = np.random.default_rng(4).standard_normal(ksize)
    ref = F.conv2d(t(image)[None, None], t(k)[None, None], padding="same")[0, 0].numpy()
    assert_close(conv.filter_image(image, k, padding="same"), ref, np.float64)


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate"])
@pytest.mark.parametrize("padding", ["valid", 0, 2, (1, 2)])
def test_filter_image_explicit_padding_matches_torch(color, mode, padding):
    rng = np.random.default_rng(5)
    image = rng.random((10, 12, 3) if color else (10, 12))
    k = rng.standard_normal((3, 3))
    ph, pw = {"valid": (0, 0)}.get(padding, padding) if not isinstance(padding, int) else (padding,) * 2
    ours = conv.filter_image(image, k, padding=padding, stride=2, padding_mode=mode)
    assert_close(ours, torch_filter(image, k, (pw, pw, ph, ph), mode, 2), np.float64)


def test_filter_image_accepts_names_and_kernel_objects():
    image = np.random.default_rng(6).random((8, 9))
    by_array = conv.filter_image(image, conv.KERNELS["sobel_x"].weight)
    np.testing.assert_array_equal(conv.filter_image(image, "sobel_x"), by_array)
    np.testing.assert_array_equal(conv.filter_image(image, conv.KERNELS["sobel_x"]), by_array)


def test_filter_image_integer_image_becomes_float64():
    image = np.random.default_rng(7).integers(0, 256, (6, 7), dtype=np.uint8)
    out = conv.filter_image(image, "box_blur")
    assert out.dtype == np.float64
    assert_close(out, torch_filter(image.astype(np.float64), conv.kernel("box_blur"), (1,) * 4, "zeros", 1),
                 np.float64)


def test_filter_image_is_conv2d_on_one_channel():
    image = np.random.default_rng(8).random((7, 9))
    k = np.random.default_rng(9).standard_normal((3, 3))
    via_conv2d = conv.conv2d(image[None, None], k[None, None], padding=1)[0, 0]
    assert_close(conv.filter_image(image, k), via_conv2d, np.float64)


# ---------------------------------------------------------------- kernels

NAMES = ["identity", "box_blur", "gaussian_blur", "horizontal_edge", "vertical_edge",
         "sobel_x", "sobel_y", "sharpen", "laplacian", "emboss"]


def test_presets_are_complete_and_documented():
    assert set(NAMES) <= set(conv.KERNELS)
    for name, k in conv.KERNELS.items():
        assert k.name == name
        assert k.weight.shape == (3, 3) and k.weight.dtype == np.float64
        assert np.isfinite(k.weight).all()
        assert k.description and "\n" not in k.description and len(k.description) < 120
        assert not k.weight.flags.writeable  # presets cannot be changed by accident
        assert conv.kernel(name) is not k.weight and np.array_equal(conv.kernel(name), k.weight)


def test_kernel_sums():
    """Blurs and sharpen keep the mean brightness (sum 1); detectors ignore it (sum 0)."""
    for name in ["identity", "box_blur", "gaussian_blur", "sharpen"]:
        for size in (1, 3, 5, 7):
            assert conv.kernel(name, size).shape == (size, size)
            assert conv.kernel(name, size).sum() == pytest.approx(1.0)
    for name in ["horizontal_edge", "vertical_edge", "sobel_x", "sobel_y", "laplacian"]:
        assert conv.kernel(name).sum() == 0


def test_gaussian_blur_weights():
    np.testing.assert_allclose(conv.gaussian_blur(3), np.outer([1, 2, 1], [1, 2, 1]) / 16)
    np.testing.assert_allclose(conv.gaussian_blur(5)[2], np.array([1, 4, 6, 4, 1]) * 6 / 256)
    r = np.arange(5) - 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5**2))
    np.testing.assert_allclose(conv.gaussian_blur(5, sigma=1.5), g / g.sum())
    np.testing.assert_allclose(conv.box_blur(5), np.full((5, 5), 1 / 25))


def test_kernels_do_what_their_descriptions_say():
    step_right = np.tile(np.r_[np.zeros(5), np.ones(5)], (10, 1))  # dark left, bright right
    step_down = step_right.T                                      # dark top, bright bottom
    valid = dict(padding="valid")
    assert (conv.filter_image(step_right, "vertical_edge", **valid) >= 0).all()
    assert conv.filter_image(step_right, "vertical_edge", **valid).max() == 3
    assert conv.filter_image(step_right, "sobel_x", **valid).max() == 4
    assert np.abs(conv.filter_image(step_right, "horizontal_edge", **valid)).max() == 0
    assert conv.filter_image(step_down, "horizontal_edge", **valid).max() == 3
    assert conv.filter_image(step_down, "sobel_y", **valid).max() == 4
    image = np.random.default_rng(10).random((6, 6))
    np.testing.assert_array_equal(conv.filter_image(image, "identity"), image)
    flat = np.full((6, 6), 0.5)
    np.testing.assert_allclose(conv.filter_image(flat, "laplacian", **valid), 0, atol=1e-15)
    np.testing.assert_allclose(conv.filter_image(flat, "box_blur", **valid), 0.5)


# ---------------------------------------------------------------- errors that teach


def raises(match):
    return pytest.raises(ValueError, match=re.escape(match))


def test_error_channel_mismatch():
    with raises("x has C=3 but weight expects 1") as e:
        conv.conv2d(np.zeros((2, 3, 5, 5)), np.zeros((4, 1, 3, 3)))
    assert "(2, 3, 5, 5)" in str(e.value) and "(4, 1, 3, 3)" in str(e.value)


def test_error_kernel_larger_than_input():
    with raises("output height (5 + 2*0 - 7)//1 + 1 = -1: kernel 7 is larger than padded input 5"):
        conv.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 7, 3)))
    with raises("output width (4 + 2*1 - 7)//2 + 1 = 0: kernel 7 is larger than padded input 6"):
        conv.conv2d(np.zeros((1, 1, 9, 4)), np.zeros((1, 1, 3, 7)), stride=2, padding=1)
    with raises("output height (5 + 2*0 - 7)//1 + 1 = -1"):
        conv.filter_image(np.zeros((5, 5)), np.ones((7, 7)), padding="valid")


def test_error_dilated_kernel_larger_than_input():
    with raises("output height (5 + 2*0 - 3*(3-1) - 1)//1 + 1 = -1: dilated kernel 7") as e:
        conv.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), dilation=3)
    assert "dilation 3" in str(e.value) and "padded input 5" in str(e.value)


@pytest.mark.parametrize("stride", [0, -1, (1, 0)])
def test_error_non_positive_stride(stride):
    with raises("stride must be positive"):
        conv.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=stride)
    with raises("stride must be positive"):
        conv.filter_image(np.zeros((5, 5)), "identity", stride=stride)


def test_error_bad_padding_and_dilation():
    with raises("padding must be >= 0, got -1"):
        conv.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), padding=-1)
    with raises("dilation must be positive"):
        conv.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), dilation=0)
    with raises("padding must be an int or a pair of ints"):
        conv.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), padding=1.5)
    with raises("stride must be an int or a pair of ints"):
        conv.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=(1, 2, 3))


def test_error_wrong_ndim():
    with raises("x must be 4-D (N, C, H, W); for one image use x[None], got shape (3, 5, 5) (3-D)"):
        conv.conv2d(np.zeros((3, 5, 5)), np.zeros((1, 3, 3, 3)))
    with raises("weight must be 4-D (F, C, KH, KW), got shape (3, 3) (2-D)"):
        conv.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((3, 3)))
    with raises("got shape (5,) (1-D)"):
        conv.pad2d(np.zeros(5), 1)
    with raises("image must be 2-D or 3-D"):
        conv.filter_image(np.zeros((1, 1, 5, 5)), "identity")
    with raises("colour image must be (H, W, 3), got (5, 5, 4)"):
        conv.filter_image(np.zeros((5, 5, 4)), "identity")
    with raises("kernel must be 2-D (KH, KW), got shape (1, 3, 3)"):
        conv.filter_image(np.zeros((5, 5)), np.zeros((1, 3, 3)))


def test_error_non_finite_kernel():
    w = np.zeros((1, 1, 3, 3))
    w[0, 0, 1, 2] = np.nan
    with raises("weight contains non-finite values (NaN or inf), e.g. weight[0, 0, 1, 2] = nan"):
        conv.conv2d(np.zeros((1, 1, 5, 5)), w)
    k = np.ones((3, 3))
    k[2, 0] = np.inf
    with raises("kernel contains non-finite values"):
        conv.filter_image(np.zeros((5, 5)), k)
    with raises("bias contains non-finite"):
        conv.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), bias=[np.inf])


def test_error_bias_and_grad_out_shapes():
    with raises("bias must have shape (F,) = (2,)"):
        conv.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)), bias=np.zeros(3))
    with raises("grad_out must have the output's shape (N, F, OH, OW) = (1, 2, 3, 3)"):
        conv.conv2d_backward(np.zeros((1, 2, 5, 5)), np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)))


def test_error_padding_arguments_of_filter_image():
    with raises("padding must be 'same', 'valid', an int or a pair"):
        conv.filter_image(np.zeros((5, 5)), "identity", padding="full")
    with raises("padding_mode must be"):
        conv.filter_image(np.zeros((5, 5)), "identity", padding_mode="circular")
    with raises("reflect padding 5 must be smaller than the input height 4"):
        conv.pad2d(np.zeros((4, 9)), 5, mode="reflect")
    with raises("unknown kernel 'blurr'"):
        conv.filter_image(np.zeros((5, 5)), "blurr")


def test_error_kernel_presets():
    with raises("unknown kernel 'edge'"):
        conv.kernel("edge")
    with raises("size must be a positive odd int"):
        conv.kernel("box_blur", 4)
    with raises("'sobel_x' is defined at size 3 only"):
        conv.kernel("sobel_x", 5)
    with raises("sigma must be a positive number"):
        conv.gaussian_blur(3, sigma=0)


# ----------------------------------------------------------------------------
# im2col / col2im against torch's unfold / fold
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), ((1, 2), (2, 0), (2, 1))])
def test_im2col_matches_torch_unfold_and_col2im_matches_fold(stride, padding, dilation):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 2, 7, 9))
    cols = conv.im2col(x, (3, 2), stride, padding, dilation)
    unfold = torch.nn.functional.unfold(torch.from_numpy(x), (3, 2), dilation, padding, stride)
    # torch: (N, C*KH*KW, L); ours: (C*KH*KW, N*L) with the batch outermost in the columns
    expected = unfold.permute(1, 0, 2).reshape(cols.shape[0], -1).numpy()
    np.testing.assert_allclose(cols, expected, rtol=0, atol=0)

    g = rng.standard_normal(cols.shape)
    n_l = unfold.shape[-1]
    g_torch = torch.from_numpy(g.reshape(g.shape[0], 3, n_l).transpose(1, 0, 2).copy())
    folded = torch.nn.functional.fold(g_torch, x.shape[2:], (3, 2), dilation, padding, stride)
    np.testing.assert_allclose(conv.col2im(g, x.shape, (3, 2), stride, padding, dilation),
                               folded.numpy(), rtol=1e-12, atol=1e-12)


def test_one_gemm_on_im2col_is_conv2d():
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    cols = conv.im2col(x, 3, stride=2, padding=1)
    out = (w.reshape(4, -1) @ cols).reshape(4, 2, 3, 3).transpose(1, 0, 2, 3)
    np.testing.assert_allclose(out, conv.conv2d(x, w, stride=2, padding=1), rtol=1e-12, atol=1e-12)


def test_col2im_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(C\*KH\*KW, N\*OH\*OW\) = \(18, 18\)"):
        conv.col2im(np.zeros((18, 17)), (2, 2, 5, 5), 3)


# ------------------------------------------------------------ preset_similarity
def test_preset_similarity_finds_each_preset_itself_and_its_negative():
    names = [n for n in conv.KERNELS if n != "identity"]
    stack = np.stack([conv.KERNELS[n].weight for n in names])
    found, cos = conv.preset_similarity(stack)
    for n, f in zip(names, found):
        # sharpen and emboss are not orthogonal to others, but each is closest to itself
        assert f == n
    np.testing.assert_allclose(cos, 1.0)
    _, neg = conv.preset_similarity(-3.0 * stack)
    np.testing.assert_allclose(neg, -1.0)


def test_preset_similarity_by_hand():
    """A single centre weight: cosine = centre weight / norm. sharpen 5/sqrt(29) = 0.93 beats
    the Laplacian -4/sqrt(20) = -0.89 and the Gaussian 4/sqrt(36) = 0.67 (identity excluded)."""
    k = np.zeros((3, 3))
    k[1, 1] = 2.0
    names, cos = conv.preset_similarity(k)
    assert names == ["sharpen"] and cos[0] == pytest.approx(5 / np.sqrt(29))
    names, cos = conv.preset_similarity(-k, exclude=("identity", "sharpen"))
    assert names == ["laplacian"] and cos[0] == pytest.approx(4 / np.sqrt(20))
    assert conv.preset_similarity(k, exclude=())[0] == ["identity"]


def test_random_kernels_resemble_a_preset_by_chance():
    """The baseline lecture 5 compares learned kernels with: random 3x3 kernels (the layer's own
    initialization) already have a median best |cos| of about 0.54, and about 14 % exceed 0.7."""
    from course import nn

    init = np.concatenate([nn.Conv2d(1, 8, 3, rng=s).weight.data[:, 0] for s in range(250)])   # 2000 kernels
    _, cos = conv.preset_similarity(init)
    best = np.abs(cos)
    assert 0.50 < np.median(best) < 0.58
    assert 0.10 < (best > 0.7).mean() < 0.18
    gauss = np.random.default_rng(1).standard_normal((2000, 3, 3))      # the scale does not matter, the law little
    assert abs(np.median(np.abs(conv.preset_similarity(gauss)[1])) - np.median(best)) < 0.03


def test_preset_similarity_explains_bad_shapes():
    with pytest.raises(ValueError, match="3x3"):
        conv.preset_similarity(np.ones((2, 5, 5)))
    with pytest.raises(ValueError, match="all-zero"):
        conv.preset_similarity(np.zeros((3, 3)))
