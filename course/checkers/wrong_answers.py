"""Wrong answers that common mistakes produce, computed on purpose so that the
checkers can recognise them and name the mistake (used by several assignments).

A student's function may not call anything here (the checkers refuse calls into
any module of ``course`` while a student's function runs)."""
from __future__ import annotations

import numpy as np

from course._validate import as_pair

__all__ = ["loop_max_pool2d_backward"]


def loop_max_pool2d_backward(grad_out, x, kernel_size, stride, padding, ties="first", accumulate=True,
                             fill=-np.inf, unravel="kw"):
    """Max-pool backward as a loop with a choice of *wrong* rules, to name mistakes.

    ``ties``: "first" (right: PyTorch's), "last", or "all" (every tied maximum gets
    the gradient); ``accumulate=False``: overlapping windows overwrite instead of
    adding; ``fill``: the padding value (right: -inf; 0 is the mistake);
    ``unravel="kh"``: the flat arg-max of a (kh, kw) window turned into (row, col)
    with the wrong side (divmod by kh instead of kw).  Returns d x (N, C, H, W), or
    None when the windows do not fit or the wrong unravel leaves the array.
    """
    kh, kw = as_pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if stride is None else as_pair(stride, "stride")
    ph, pw = as_pair(padding, "padding")
    xp = np.pad(np.asarray(x, float), [(0, 0), (0, 0), (ph, ph), (pw, pw)], constant_values=fill)
    gp = np.zeros_like(xp)
    n, c, oh, ow = grad_out.shape
    if gp.shape[2] < (oh - 1) * sh + kh or gp.shape[3] < (ow - 1) * sw + kw:
        return None
    side = kw if unravel == "kw" else kh
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(n, c, -1)
            g = grad_out[:, :, i, j]
            if ties == "all":
                mask = (win == win.max(axis=2, keepdims=True)).astype(float)
            else:
                idx = win.argmax(axis=2) if ties == "first" else win.shape[2] - 1 - win[:, :, ::-1].argmax(axis=2)
                if side != kw:
                    r, q = np.divmod(idx, side)
                    rows, cols = i * sh + r, j * sw + q
                    if rows.max() >= gp.shape[2] or cols.max() >= gp.shape[3]:
                        return None
                    nn_, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
                    np.add.at(gp, (nn_, cc, rows, cols), g)
                    continue
                mask = np.zeros_like(win)
                np.put_along_axis(mask, idx[..., None], 1.0, axis=2)
            contrib = (mask * g[..., None]).reshape(n, c, kh, kw)
            region = gp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            if accumulate:
                region += contrib
            else:
                np.copyto(region, contrib, where=mask.reshape(n, c, kh, kw) > 0)
    return gp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
