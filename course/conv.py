"""2-D convolution (PyTorch's cross-correlation), padding, output size, kernels.

Notation (as in ``torch.nn.functional.conv2d``)::

    x       (N, C, H, W)      N images, C input channels, H x W pixels
    weight  (F, C, KH, KW)    F filters, each C x KH x KW
    out     (N, F, OH, OW)

    out[n, f, r, c] = bias[f] + sum_{ch, i, j} weight[f, ch, i, j]
                      * xpad[n, ch, r*stride_h + i*dilation_h, c*stride_w + j*dilation_w]

    OH = (H + 2*padding_h - dilation_h*(KH - 1) - 1) // stride_h + 1   (same for OW)

"Convolution" in deep learning is cross-correlation: the kernel is *not*
flipped. ``stride``, ``padding``, ``dilation`` and kernel sizes accept an int
or an ``(h, w)`` pair, exactly like PyTorch.

How the vectorized version works (one GEMM per kernel offset)
-------------------------------------------------------------
Fix one kernel offset ``(i, j)``. Every output pixel looks at the input pixel
``(r*s + i*d, c*s + j*d)``; over all output pixels these form a strided view
of the padded input, ``tap = xpad[:, :, i*d :: s, j*d :: s]`` cropped to
``(N, C, OH, OW)``. That offset's contribution to the output is a matrix
product over channels, ``weight[:, :, i, j] @ tap``:
``(F, C) @ (N, C, OH*OW) -> (N, F, OH*OW)``. Summing the KH*KW products gives
the convolution. This is the im2col idea without building the 9x larger
column matrix: the same GEMMs, done one kernel column at a time.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from course._validate import (
    as_float_array,
    as_pair,
    check_finite,
    check_ndim,
    check_nonnegative,
    check_positive,
)

__all__ = [
    "Kernel", "KERNELS", "kernel", "box_blur", "gaussian_blur", "output_size",
    "pad2d", "conv2d", "conv2d_backward", "im2col", "col2im", "filter_image",
]

# ----------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Kernel:
    """A named filter: ``weight`` is a read-only (KH, KW) float64 array."""

    name: str
    weight: np.ndarray
    description: str

    def __post_init__(self):
        w = np.array(self.weight, dtype=np.float64)  # private copy
        w.setflags(write=False)
        object.__setattr__(self, "weight", w)


def _check_odd_size(size, who: str) -> None:
    if not (isinstance(size, (int, np.integer)) and size >= 1 and size % 2 == 1):
        raise ValueError(
            f"{who}: size must be a positive odd int (1, 3, 5, ...) so the kernel "
            f"has a centre pixel, got {size!r}"
        )


def box_blur(size: int = 3) -> np.ndarray:
    """(size, size) mean filter: every weight is 1/size**2, so they sum to 1."""
    _check_odd_size(size, "box_blur")
    return np.full((size, size), 1.0 / size**2)


def gaussian_blur(size: int = 3, sigma: float | None = None) -> np.ndarray:
    """(size, size) Gaussian blur whose weights sum to 1.

    ``sigma=None`` uses the binomial weights (a row of Pascal's triangle, e.g.
    1 2 1 for size 3), the integer approximation of a Gaussian with
    sigma**2 = (size - 1) / 4. A given ``sigma`` samples exp(-r**2 / (2 sigma**2)).
    """
    _check_odd_size(size, "gaussian_blur")
    if sigma is None:
        row = np.array([1.0])
        for _ in range(size - 1):  # Pascal's triangle: 1 -> 1 1 -> 1 2 1 -> ...
            row = np.convolve(row, [1.0, 1.0])
    else:
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"gaussian_blur: sigma must be a positive number, got {sigma!r}")
        r = np.arange(size) - size // 2
        row = np.exp(-(r**2) / (2.0 * sigma**2))
    row = row / row.sum()
    return np.outer(row, row)


def _identity(size: int) -> np.ndarray:
    k = np.zeros((size, size))
    k[size // 2, size // 2] = 1.0
    return k


_LAPLACIAN = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])

# Sign convention: a positive response where the image gets brighter going
# down (horizontal edges, sobel_y) or going right (vertical edges, sobel_x).
KERNELS: dict[str, Kernel] = {
    k.name: k
    for k in [
        Kernel("identity", _identity(3),
               "Copies the image unchanged: the single 1 picks the centre pixel."),
        Kernel("box_blur", box_blur(3),
               "Averages each 3x3 neighbourhood equally: smooths noise and detail."),
        Kernel("gaussian_blur", gaussian_blur(3),
               "Weighted average favouring the centre (1-2-1 weights): a softer, more natural blur."),
        Kernel("horizontal_edge", np.array([[-1.0, -1, -1], [0, 0, 0], [1, 1, 1]]),
               "Responds to horizontal edges: positive where brightness increases downward."),
        Kernel("vertical_edge", np.array([[-1.0, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
               "Responds to vertical edges: positive where brightness increases to the right."),
        Kernel("sobel_x", np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
               "Sobel horizontal gradient d/dx: vertical edges, with extra weight on the centre row."),
        Kernel("sobel_y", np.array([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]]),
               "Sobel vertical gradient d/dy: horizontal edges, with extra weight on the centre column."),
        Kernel("sharpen", _identity(3) - _LAPLACIAN,
               "Identity minus Laplacian: boosts each pixel against its neighbours to crisp up detail."),
        Kernel("laplacian", _LAPLACIAN,
               "Second derivative: zero on flat or linear regions, large at edges and fine detail."),
        Kernel("emboss", np.array([[-2.0, -1, 0], [-1, 1, 1], [0, 1, 2]]),
               "Diagonal difference plus the pixel itself: a raised, relief-like look."),
    ]
}

_ANY_SIZE = ("identity", "box_blur", "gaussian_blur", "sharpen")


def _preset(name: str) -> Kernel:
    if name not in KERNELS:
        raise ValueError(f"unknown kernel {name!r}; choose one of {sorted(KERNELS)}")
    return KERNELS[name]


def kernel(name: str, size: int = 3) -> np.ndarray:
    """The preset ``name`` as a (size, size) float64 array (a fresh copy).

    ``identity``, ``box_blur``, ``gaussian_blur`` and ``sharpen`` exist at any
    odd size; sharpen at size > 3 is unsharp masking, 2*identity - gaussian_blur.
    The edge detectors, Laplacian and emboss are defined at size 3 only.
    """
    preset = _preset(name)
    _check_odd_size(size, f"kernel({name!r})")
    if size == 3:
        return preset.weight.copy()
    if name == "identity":
        return _identity(size)
    if name == "box_blur":
        return box_blur(size)
    if name == "gaussian_blur":
        return gaussian_blur(size)
    if name == "sharpen":
        return 2.0 * _identity(size) - gaussian_blur(size)
    raise ValueError(
        f"kernel {name!r} is defined at size 3 only, got size={size}; "
        f"presets available at any odd size: {', '.join(_ANY_SIZE)}"
    )


# ----------------------------------------------------------------------------
# Output size and padding
# ----------------------------------------------------------------------------


def output_size(n: int, kernel_size: int, padding: int = 0, stride: int = 1,
                dilation: int = 1) -> int:
    """Output length along one axis: ``(n + 2p - d*(k-1) - 1) // s + 1``.

    With dilation 1 this is ``(n + 2p - k) // s + 1``. The result may be <= 0
    when the (dilated) kernel is larger than the padded input; ``conv2d``
    turns that into an error, this function just does the arithmetic.

    >>> output_size(5, 3), output_size(5, 3, padding=1), output_size(7, 3, stride=2)
    (3, 5, 3)
    """
    for v, name, low in ((n, "n", 0), (kernel_size, "kernel_size", 1),
                         (padding, "padding", 0), (stride, "stride", 1),
                         (dilation, "dilation", 1)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
            raise ValueError(f"output_size: {name} must be an int >= {low}, got {v!r}")
    return (n + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def _output_hw(in_hw, kernel_hw, padding, stride, dilation) -> tuple[int, int]:
    """(OH, OW), or a ValueError that shows the formula with the numbers in it."""
    out = []
    for axis, n, k, p, s, d in zip(("height", "width"), in_hw, kernel_hw,
                                   padding, stride, dilation):
        o = output_size(n, k, p, s, d)
        if o < 1:
            if d == 1:
                formula = f"({n} + 2*{p} - {k})//{s} + 1 = {o}"
                why = f"kernel {k} is larger than padded input {n + 2 * p}"
            else:
                formula = f"({n} + 2*{p} - {d}*({k}-1) - 1)//{s} + 1 = {o}"
                why = (f"dilated kernel {d * (k - 1) + 1} (kernel {k}, dilation {d}) "
                       f"is larger than padded input {n + 2 * p}")
            raise ValueError(
                f"output {axis} {formula}: {why}; use a smaller kernel or dilation, "
                f"more padding, or a larger input"
            )
        out.append(o)
    return out[0], out[1]


_PAD_MODES = {"constant": "constant", "zeros": "constant", "reflect": "reflect",
              "replicate": "edge"}


def pad2d(x, padding, value: float = 0.0, mode: str = "constant") -> np.ndarray:
    """Pad the last two axes (H, W) of x, which is (H, W), (C, H, W) or (N, C, H, W).

    padding: int or (ph, pw): ph rows on top *and* bottom, pw columns left and right.
    mode:    "constant" (fill with ``value``), "reflect" (mirror, edge not
             repeated: ``c b | a b c | b a``) or "replicate" (repeat the edge
             pixel: ``a a | a b c | c c``) -- PyTorch's ``F.pad`` modes.
    Returns (..., H + 2*ph, W + 2*pw).
    """
    x = np.asarray(x)
    check_ndim(x, (2, 3, 4), "pad2d: x", "(H, W), (C, H, W) or (N, C, H, W)")
    ph, pw = as_pair(padding, "padding")
    check_nonnegative((ph, pw), "padding")
    out = _pad_hw(x, (ph, ph), (pw, pw), mode, value)
    return out.copy() if out is x else out  # always a new array, like F.pad


def _pad_hw(x: np.ndarray, pad_h, pad_w, mode: str = "constant", value: float = 0.0):
    """Pad the last two axes by (top, bottom) and (left, right); x itself if no padding."""
    if mode not in _PAD_MODES:
        raise ValueError(f"padding mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    if mode == "reflect":
        for axis, (a, b), n in (("height", pad_h, x.shape[-2]), ("width", pad_w, x.shape[-1])):
            if max(a, b) >= n:
                raise ValueError(
                    f"reflect padding {max(a, b)} must be smaller than the input {axis} {n} "
                    f"(mirroring {n} pixels about the edge pixel gives at most {n - 1} new "
                    f"ones, PyTorch's rule); use less padding or mode='replicate'"
                )
    if pad_h == (0, 0) and pad_w == (0, 0):
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [tuple(pad_h), tuple(pad_w)]
    if _PAD_MODES[mode] == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=_PAD_MODES[mode])


# ----------------------------------------------------------------------------
# conv2d forward and backward
# ----------------------------------------------------------------------------

# Images per chunk: small enough that a chunk's working arrays stay in the CPU
# cache (about 1.5x faster at N=64, C=F=16, 32x32); any value gives the same result.
_CHUNK = 8


def _tap(xp: np.ndarray, i: int, j: int, out_hw, stride) -> np.ndarray:
    """The pixels that kernel offset (i, j) (already times dilation) sees.

    xp (..., Hp, Wp) -> strided view (..., OH, OW): element [..., r, q] is
    xp[..., r*sh + i, q*sw + j]. A view, not a copy: writing into it writes xp.
    """
    (oh, ow), (sh, sw) = out_hw, stride
    return xp[..., i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw]


def _conv_args(x, weight, stride, padding, dilation, who="conv2d"):
    """Validate and normalize; returns (x, weight, stride, padding, dilation, (OH, OW))."""
    x = as_float_array(x, "x")
    weight = as_float_array(weight, "weight")
    check_ndim(x, 4, f"{who}: x", "(N, C, H, W); for one image use x[None]")
    check_ndim(weight, 4, f"{who}: weight", "(F, C, KH, KW)")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{who}: x has C={x.shape[1]} but weight expects {weight.shape[1]} "
            f"(x {x.shape} is (N, C, H, W), weight {weight.shape} is (F, C, KH, KW)); "
            f"weight.shape[1] must equal the number of input channels"
        )
    check_finite(weight, "weight")
    stride, padding, dilation = (as_pair(stride, "stride"), as_pair(padding, "padding"),
                                 as_pair(dilation, "dilation"))
    check_positive(stride, "stride")
    check_nonnegative(padding, "padding")
    check_positive(dilation, "dilation")
    dtype = np.result_type(x, weight)
    out_hw = _output_hw(x.shape[2:], weight.shape[2:], padding, stride, dilation)
    return x.astype(dtype, copy=False), weight.astype(dtype, copy=False), stride, padding, dilation, out_hw


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """2-D convolution, same semantics as ``torch.nn.functional.conv2d``.

    x: (N, C, H, W), weight: (F, C, KH, KW), bias: (F,) or None -> (N, F, OH, OW).
    Zero padding; dtype follows NumPy promotion of x and weight.
    """
    x, weight, stride, padding, dilation, (oh, ow) = _conv_args(x, weight, stride, padding, dilation)
    n, f = x.shape[0], weight.shape[0]
    if bias is not None:
        bias = as_float_array(bias, "bias")
        if bias.shape != (f,):
            raise ValueError(f"conv2d: bias must have shape (F,) = ({f},), one per filter, got {bias.shape}")
        check_finite(bias, "bias")
    xp = _pad_hw(x, (padding[0],) * 2, (padding[1],) * 2)  # zero padding
    # a few images at a time, so that each chunk's arrays stay in the CPU cache
    out = np.concatenate(
        [_conv_forward(xp[s: s + _CHUNK], weight, stride, dilation, (oh, ow))
         for s in range(0, n, _CHUNK)]
    ) if n else np.zeros((0, f, oh * ow), x.dtype)
    if bias is not None:
        out += bias.astype(out.dtype)[:, None]  # (F, 1) broadcasts over (N, F, OH*OW)
    return out.reshape(n, f, oh, ow)


def _conv_forward(xp, weight, stride, dilation, out_hw) -> np.ndarray:
    """xp (N, C, Hp, Wp) already padded -> (N, F, OH*OW): one GEMM per kernel offset."""
    n, c = xp.shape[:2]
    f, _, kh, kw = weight.shape
    out = np.zeros((n, f, out_hw[0] * out_hw[1]), xp.dtype)
    for i in range(kh):
        for j in range(kw):
            tap = _tap(xp, i * dilation[0], j * dilation[1], out_hw, stride)
            # (F, C) @ (N, C, OH*OW) -> (N, F, OH*OW): mix channels at this offset
            out += weight[:, :, i, j] @ tap.reshape(n, c, -1)
    return out


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1):
    """Gradients of ``conv2d`` (any bias): returns (grad_x, grad_weight, grad_bias).

    grad_out: (N, F, OH, OW) = dLoss/d(out); x: (N, C, H, W); weight: (F, C, KH, KW)
    -> grad_x (N, C, H, W), grad_weight (F, C, KH, KW), grad_bias (F,).

    Per kernel offset (i, j) the forward pass did ``out += W_ij @ tap_ij``, so
        grad_weight[:, :, i, j] = sum_n grad_out[n] @ tap_ij[n].T     (F, C)
        grad_tap_ij            += W_ij.T @ grad_out                    (N, C, OH*OW)
    and grad_tap_ij is scattered back (added) into the padded input's gradient
    through the same strided view; the padding border is then cut off.
    """
    x, weight, stride, padding, dilation, (oh, ow) = _conv_args(
        x, weight, stride, padding, dilation, who="conv2d_backward")
    grad_out = as_float_array(grad_out, "grad_out")
    n, f = x.shape[0], weight.shape[0]
    if grad_out.shape != (n, f, oh, ow):
        raise ValueError(
            f"conv2d_backward: grad_out must have the output's shape (N, F, OH, OW) = "
            f"{(n, f, oh, ow)} for x {x.shape} and weight {weight.shape}, got {grad_out.shape}"
        )
    grad_out = grad_out.astype(x.dtype, copy=False)
    xp = _pad_hw(x, (padding[0],) * 2, (padding[1],) * 2)  # zero padding
    grad_xp = np.zeros_like(xp)
    grad_weight = np.zeros_like(weight)
    for s in range(0, n, _CHUNK):
        g = grad_out[s: s + _CHUNK].reshape(-1, f, oh * ow)
        grad_weight += _conv_backward_chunk(g, xp[s: s + _CHUNK], grad_xp[s: s + _CHUNK],
                                            weight, stride, dilation, (oh, ow))
    ph, pw = padding
    grad_x = grad_xp[:, :, ph: ph + x.shape[2], pw: pw + x.shape[3]]
    return np.ascontiguousarray(grad_x), grad_weight, grad_out.sum(axis=(0, 2, 3))


def _conv_backward_chunk(g, xp, grad_xp, weight, stride, dilation, out_hw):
    """g (N, F, OH*OW); adds into grad_xp (N, C, Hp, Wp); returns grad_weight (F, C, KH, KW)."""
    n, c = xp.shape[:2]
    _, _, kh, kw = weight.shape
    grad_weight = np.empty_like(weight)
    for i in range(kh):
        for j in range(kw):
            tap = _tap(xp, i * dilation[0], j * dilation[1], out_hw, stride).reshape(n, c, -1)
            # (N, F, P) @ (N, P, C) -> (N, F, C), summed over the images
            grad_weight[:, :, i, j] = (g @ tap.transpose(0, 2, 1)).sum(axis=0)
            # (C, F) @ (N, F, P) -> (N, C, P), added where this offset read its pixels
            grad_tap = _tap(grad_xp, i * dilation[0], j * dilation[1], out_hw, stride)
            grad_tap += (weight[:, :, i, j].T @ g).reshape(grad_tap.shape)
    return grad_weight


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Unroll every receptive field into a column: the textbook "im2col".

    x: (N, C, H, W) -> cols (C*KH*KW, N*OH*OW); column ``n*OH*OW + r*OW + q``
    holds the C x KH x KW pixels that output pixel (r, q) of image n looks at
    (zero padded). Then convolution is ONE matrix product:

        conv2d(x, W) == (W.reshape(F, -1) @ cols).reshape(F, N, OH, OW).transpose(1, 0, 2, 3)

    The copy is KH*KW times larger than x, so ``conv2d`` itself avoids it (one
    GEMM per kernel offset, above); for small batches, such as digits, the
    single large GEMM is faster, and ``course.nn.Conv2d`` uses it there.
    """
    x = as_float_array(x, "x")
    check_ndim(x, 4, "im2col: x", "(N, C, H, W)")
    (kh, kw), stride, padding, dilation = (as_pair(kernel_size, "kernel_size"), as_pair(stride, "stride"),
                                           as_pair(padding, "padding"), as_pair(dilation, "dilation"))
    n, c = x.shape[:2]
    out_hw = _output_hw(x.shape[2:], (kh, kw), padding, stride, dilation)
    xp = _pad_hw(x, (padding[0],) * 2, (padding[1],) * 2)
    cols = np.empty((c, kh, kw, n) + out_hw, x.dtype)
    for i in range(kh):
        for j in range(kw):  # cols[c, i, j, n, r, q] = xp[n, c, r*sh + i*dh, q*sw + j*dw]
            cols[:, i, j] = _tap(xp, i * dilation[0], j * dilation[1], out_hw, stride).transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, -1)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The adjoint of ``im2col``: add every entry of cols back onto its pixel.

    cols: (C*KH*KW, N*OH*OW) -> (N, C, H, W) = x_shape. A pixel that several
    receptive fields share receives the sum of their entries, which is exactly
    the gradient rule: ``grad_x = col2im(W.reshape(F, -1).T @ grad_out_cols, ...)``.
    """
    n, c, h, w = x_shape
    (kh, kw), stride, padding, dilation = (as_pair(kernel_size, "kernel_size"), as_pair(stride, "stride"),
                                           as_pair(padding, "padding"), as_pair(dilation, "dilation"))
    out_hw = _output_hw((h, w), (kh, kw), padding, stride, dilation)
    expected = (c * kh * kw, n * out_hw[0] * out_hw[1])
    if cols.shape != expected:
        raise ValueError(f"col2im: cols must have shape (C*KH*KW, N*OH*OW) = {expected} for x_shape "
                         f"{tuple(x_shape)}, got {cols.shape}")
    g = cols.reshape(c, kh, kw, n, *out_hw)
    ph, pw = padding
    grad_xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), cols.dtype)
    for i in range(kh):
        for j in range(kw):  # one strided add per kernel offset: overlapping fields add up
            _tap(grad_xp, i * dilation[0], j * dilation[1], out_hw, stride)[...] += g[:, i, j].transpose(1, 0, 2, 3)
    return grad_xp[:, :, ph: ph + h, pw: pw + w].copy() if (ph or pw) else grad_xp


# ----------------------------------------------------------------------------
# filter_image: one image, one 2-D kernel (the call lectures and widgets use)
# ----------------------------------------------------------------------------


def filter_image(image, kernel, padding="same", stride=1, padding_mode="zeros") -> np.ndarray:
    """Cross-correlate a grayscale (H, W) or colour (H, W, 3) image with a 2-D kernel.

    kernel:       (KH, KW) array, a ``Kernel``, or a preset name from ``KERNELS``.
                  A colour image is filtered channel by channel with the same kernel.
    padding:      "same" (output H x W at stride 1; for an even kernel the extra
                  row/column goes at the bottom/right, as in PyTorch), "valid" (no
                  padding), an int, or an (ph, pw) pair.
    padding_mode: "zeros", "reflect" or "replicate" (what fills the border).
    Returns (OH, OW) or (OH, OW, 3), in the image's float dtype (ints -> float64).

    Same numbers as ``F.conv2d(F.pad(img, ..., mode), kernel[None, None], stride=stride)``.
    """
    image = as_float_array(image, "image")
    if image.ndim == 3 and image.shape[-1] != 3:
        raise ValueError(
            f"filter_image: a colour image must be (H, W, 3), got {image.shape}; "
            f"for a batch of (N, C, H, W) images use conv2d"
        )
    check_ndim(image, (2, 3), "filter_image: image", "(H, W) grayscale or (H, W, 3) colour")
    k = _as_kernel_2d(kernel)
    kh, kw = k.shape
    sh, sw = as_pair(stride, "stride")
    check_positive((sh, sw), "stride")
    pad_h, pad_w = _filter_padding(padding, (kh, kw))
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"padding_mode must be 'zeros', 'reflect' or 'replicate', got {padding_mode!r}")
    h, w = image.shape[:2]
    if pad_h[0] == pad_h[1] and pad_w[0] == pad_w[1]:
        oh, ow = _output_hw((h, w), (kh, kw), (pad_h[0], pad_w[0]), (sh, sw), (1, 1))
    else:  # "same" with an even kernel: the padded input always fits the kernel
        oh, ow = output_size(h + sum(pad_h), kh, 0, sh), output_size(w + sum(pad_w), kw, 0, sw)

    chw = np.moveaxis(image, -1, 0) if image.ndim == 3 else image  # (3, H, W) view or (H, W)
    xp = _pad_hw(chw, pad_h, pad_w, padding_mode)
    k = k.astype(image.dtype)
    # One multiply-add per kernel offset over shifted views: out = sum_ij k[i, j] * shifted_ij.
    out = np.zeros(chw.shape[:-2] + (oh, ow), image.dtype)
    term = np.empty_like(out)
    for i in range(kh):
        for j in range(kw):
            shifted = _tap(xp, i, j, (oh, ow), (sh, sw))  # (..., OH, OW) view
            np.multiply(shifted, k[i, j], out=term)  # into a reused buffer: no allocation
            out += term
    return np.moveaxis(out, 0, -1).copy() if image.ndim == 3 else out


def _as_kernel_2d(kernel) -> np.ndarray:
    if isinstance(kernel, str):
        return _preset(kernel).weight
    if isinstance(kernel, Kernel):
        return kernel.weight
    k = as_float_array(kernel, "kernel")
    check_ndim(k, 2, "filter_image: kernel", "(KH, KW)")
    if k.size == 0:
        raise ValueError(f"filter_image: kernel must not be empty, got shape {k.shape}")
    check_finite(k, "kernel")
    return k


def _filter_padding(padding, kernel_hw):
    """((top, bottom), (left, right)) for "same" | "valid" | int | pair."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            # total k - 1 per axis; PyTorch puts the odd one out at the end
            return tuple(((k - 1) // 2, (k - 1) - (k - 1) // 2) for k in kernel_hw)
        raise ValueError(f"padding must be 'same', 'valid', an int or a pair, got {padding!r}")
    ph, pw = as_pair(padding, "padding")
    check_nonnegative((ph, pw), "padding")
    return (ph, ph), (pw, pw)


# ----------------------------------------------------------------------------
# Comparing kernels with the presets
# ----------------------------------------------------------------------------


def preset_similarity(kernels, exclude=("identity",)) -> tuple[list[str], np.ndarray]:
    """For each (3, 3) kernel, the most similar preset in ``KERNELS`` and how similar.

    kernels: (K, 3, 3) or one (3, 3). Similarity is the cosine of the angle between
    the two as 9-vectors (sign included: -1 is the same pattern with the sign
    flipped); "most similar" maximizes its magnitude. Returns ``(names, cosines)``:
    K preset names and a (K,) float64 array of signed cosines in [-1, 1].
    Presets in ``exclude`` are skipped (by default the identity, which every
    kernel with a large centre weight would resemble).
    """
    k = as_float_array(kernels, "kernels")
    if k.ndim == 2:
        k = k[None]
    if k.ndim != 3 or k.shape[1:] != (3, 3):
        raise ValueError(f"kernels must be (K, 3, 3) or (3, 3), got shape {k.shape}: the presets are 3x3, "
                         f"so compare 3x3 kernels (e.g. conv.weight.data[:, 0] of a 1-channel layer)")
    names = [n for n in KERNELS if n not in exclude]
    P = np.stack([KERNELS[n].weight.ravel() for n in names])            # (P, 9)
    P = P / np.linalg.norm(P, axis=1, keepdims=True)
    flat = k.reshape(len(k), 9)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("an all-zero kernel has no direction, so no cosine with any preset")
    cos = (flat / norms) @ P.T                                         # (K, P)
    best = np.abs(cos).argmax(axis=1)
    return [names[i] for i in best], cos[np.arange(len(k)), best]
