"""Figure helpers for the lectures: pictures first, tables second.

- ``show_images``   images side by side with titles (signed ones on a diverging map)
- ``imshow_signed`` one signed image, zero drawn as mid-grey, symmetric limits
- ``heatmap``       a small grid with every number written in its cell
- ``show_conv``     the picture "input * kernel = output"
- ``show_gallery``  kernels (top row, with their numbers) above their outputs
- ``draw_unrolled`` a recurrent network unrolled over time (layers, directions)

Every helper returns the matplotlib ``Figure`` it drew on, so in a notebook end
the line with ``;`` to keep the figure from showing twice. Helpers that draw on
one axes take ``ax=`` (a new figure when omitted).

No maths here: the arrays come from ``course.conv`` and ``course.pool``.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap

__all__ = ["SIGNED_CMAP", "signed_limit", "imshow_signed", "show_images", "heatmap", "show_conv",
           "show_gallery", "draw_graph", "draw_unrolled", "ladder_figure"]

#: Diverging colour map for signed images: negative blue, zero mid-grey, positive orange.
#: Zero in the middle means "nothing here", so only the structure the kernel found stands out.
SIGNED_CMAP = LinearSegmentedColormap.from_list(
    "course_signed", ["#08306b", "#2f7fc1", "#808080", "#f08c2e", "#7f2704"]
)


def signed_limit(img: np.ndarray, robust: bool = False) -> float:
    """Half-width ``v`` of the symmetric colour range ``[-v, v]`` for a signed image.

    ``robust=False``: the largest absolute value, so nothing is clipped.
    ``robust=True``: the 99.5th percentile of ``|img|``, so a few very strong
    responses (typical for edge kernels on a photograph) do not wash out the rest.
    Never zero, so an all-zero image still draws (as flat mid-grey).
    """
    a = np.abs(np.asarray(img, dtype=np.float64))
    if a.size == 0:
        return 1.0
    v = float(np.percentile(a, 99.5) if robust else a.max())
    return v if v > 0 else 1.0


def _new_ax(ax, figsize=(3.2, 3.2)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def imshow_signed(img, ax=None, title=None, vmax=None, robust=False, colorbar=True):
    """Show a signed 2-D image with zero as mid-grey and limits ``[-vmax, vmax]``.

    img: (H, W). ``vmax=None`` picks ``signed_limit(img, robust)``.
    Returns the Figure.
    """
    img = np.asarray(img)
    if img.ndim != 2:
        raise ValueError(f"imshow_signed expects a 2-D (H, W) image, got shape {img.shape}")
    ax = _new_ax(ax)
    v = signed_limit(img, robust) if vmax is None else float(vmax)
    im = ax.imshow(img, cmap=SIGNED_CMAP, vmin=-v, vmax=v, interpolation="nearest")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    _tidy(ax, title)
    return ax.figure


def _is_signed(img) -> bool:
    return bool(np.asarray(img).min() < 0)


def _tidy(ax, title):
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def _show_one(ax, img, title, signed, robust):
    """Draw one image. ``signed``: True (zero = mid-grey), False (brightness on the
    fixed range [0, 1], overshoot clipped as a screen would), None (decide: signed
    if any value is negative, else black = 0 and white = max(1, largest value), or
    max(1, 99.5th percentile) when ``robust``)."""
    img = np.asarray(img)
    if signed is None:
        signed = _is_signed(img)
        top = float(np.percentile(img, 99.5) if robust else img.max()) if img.size else 1.0
        lo, hi = 0.0, max(1.0, top)
    else:
        lo, hi = 0.0, 1.0
    if signed:
        imshow_signed(img, ax=ax, title=title, robust=robust, colorbar=True)
    elif img.ndim == 3:
        ax.imshow(np.clip(img, 0, 1), interpolation="nearest")
        _tidy(ax, title)
    else:
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        _tidy(ax, title)


def _sums_to_zero(kernel) -> bool:
    """A kernel whose weights add up to 0 ignores flat regions: its output is signed."""
    k = np.asarray(kernel, dtype=np.float64)
    return bool(abs(k.sum()) <= 1e-9 * max(1.0, np.abs(k).sum()))


def show_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None,
                signed: bool | Sequence[bool | None] | None = None, robust: bool = False,
                ncols: int | None = None, size: float = 3.0, suptitle: str | None = None):
    """Images side by side, each with its title.

    images: list of (H, W) or (H, W, 3) arrays. ``signed``, one flag for all or
    one per image: True draws with ``imshow_signed`` (zero = mid-grey); False
    draws brightness on the fixed range [0, 1] (black to white, overshoot clipped,
    so a blur looks like a blur and is not re-stretched); None (default) decides:
    signed if any value is negative, else black = 0 and white = max(1, largest).
    ``robust`` ignores the top 0.5% of absolute values when choosing the colour
    range (see ``signed_limit``), so a few very strong responses do not make the
    rest invisible. Returns the Figure.
    """
    images = list(images)
    n = len(images)
    if n == 0:
        raise ValueError("show_images needs at least one image")
    titles = list(titles) if titles is not None else [None] * n
    if len(titles) != n:
        raise ValueError(f"got {n} images but {len(titles)} titles: give one title per image")
    flags = list(signed) if isinstance(signed, (list, tuple)) else [signed] * n
    if len(flags) != n:
        raise ValueError(f"got {n} images but {len(flags)} signed flags: give one per image")
    ncols = min(n, ncols or n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows),
                             layout="constrained", squeeze=False)
    for ax, img, title, flag in zip(axes.flat, images, titles, flags):
        _show_one(ax, img, title, flag, robust)
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def heatmap(grid, ax=None, title=None, fmt="{:g}", cmap=None, signed=None,
            vmin=None, vmax=None, highlight=None, fontsize=None, colorbar=False):
    """A small 2-D grid with its numbers written in the cells.

    grid: (H, W) numbers, best for H, W <= ~16. ``signed`` (auto when None: any
    negative value) uses the diverging map with zero as mid-grey. ``highlight``:
    an iterable of (row, col) cells to outline in red (e.g. the arg-max of a
    pooling window). Returns the Figure.
    """
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 2:
        raise ValueError(f"heatmap expects a 2-D (H, W) grid, got shape {grid.shape}")
    h, w = grid.shape
    ax = _new_ax(ax, figsize=(0.55 * w + 0.8, 0.55 * h + 0.6))
    if signed is None:
        signed = _is_signed(grid)
    if signed:
        v = signed_limit(grid) if vmax is None else float(vmax)
        vmin, vmax, cmap = -v, v, cmap or SIGNED_CMAP
    else:
        cmap = cmap or "viridis"
        vmin = grid.min() if vmin is None else vmin
        vmax = grid.max() if vmax is None else vmax
        if vmax == vmin:
            vmax = vmin + 1.0
    im = ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fontsize = fontsize or (10 if max(h, w) <= 8 else 7)
    norm, cm = im.norm, im.get_cmap()
    for (i, j), value in np.ndenumerate(grid):
        r, g, b, _ = cm(norm(value))
        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
        ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=fontsize,
                color="white" if dark else "black")
    for i, j in highlight or ():
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", lw=2.5))
    ax.set_xticks(np.arange(w))
    ax.set_yticks(np.arange(h))
    ax.tick_params(length=0, labelsize=7)
    # thin white grid lines between the cells
    ax.set_xticks(np.arange(w + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(h + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=1)
    ax.tick_params(which="minor", length=0)
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


def show_conv(image, kernel, output, titles=("input", "kernel", "output"),
              robust=False, size=3.0):
    """The picture ``input * kernel = output`` in one row.

    image: (H, W); kernel: (KH, KW), drawn as a heat map with its numbers;
    output: (OH, OW), drawn signed (zero = mid-grey) when the kernel's weights sum
    to zero (an edge detector: flat regions give 0), else as brightness on [0, 1]
    (a blurred or sharpened photo). Kernel weights use the same colours: blue negative,
    grey zero, orange positive. Returns the Figure.
    """
    fig, axes = plt.subplots(1, 3, figsize=(3 * size + 1.0, size),
                             gridspec_kw={"width_ratios": [1, 0.6, 1]}, layout="constrained")
    _show_one(axes[0], image, titles[0], None, robust)
    kernel = np.asarray(kernel, dtype=np.float64)
    big = max(kernel.shape) > 5
    heatmap(kernel, ax=axes[1], title=titles[1], fmt="{:.2g}", fontsize=6 if big else 9,
            signed=True)
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    _show_one(axes[2], output, titles[2], _sums_to_zero(kernel), robust)
    # the operators between the panels, placed in figure coordinates after layout
    fig.canvas.draw()
    for left, right, sym in ((axes[0], axes[1], "$\\star$"), (axes[1], axes[2], "$=$")):
        x = (left.get_position().x1 + right.get_position().x0) / 2
        fig.text(x, 0.5, sym, fontsize=30, ha="center", va="center")
    return fig


def show_gallery(kernels: Sequence[np.ndarray], outputs: Sequence[np.ndarray],
                 titles: Sequence[str], robust: bool = False, size: float = 2.6):
    """Each kernel (top row, a heat map with its numbers) above its output image.

    kernels: list of (KH, KW); outputs: list of (OH, OW), one per kernel. As in
    ``show_conv``, the output of a kernel whose weights sum to zero is drawn
    signed (zero = mid-grey), any other as brightness on [0, 1]. Returns the Figure.
    """
    kernels, outputs, titles = list(kernels), list(outputs), list(titles)
    n = len(kernels)
    if not n == len(outputs) == len(titles):
        raise ValueError(f"got {n} kernels, {len(outputs)} outputs and {len(titles)} titles: "
                         "give one output and one title per kernel")
    fig, axes = plt.subplots(2, n, figsize=(size * n, size * 1.75), layout="constrained",
                             squeeze=False, gridspec_kw={"height_ratios": [0.75, 1]})
    for col, (k, out, title) in enumerate(zip(kernels, outputs, titles)):
        k = np.asarray(k, dtype=np.float64)
        heatmap(k, ax=axes[0, col], title=title, fmt="{:.2g}", signed=True,
                fontsize=9 if max(k.shape) <= 3 else 6)
        axes[0, col].set_xticks([])
        axes[0, col].set_yticks([])
        _show_one(axes[1, col], out, None, _sums_to_zero(k), robust)
    return fig


def draw_graph(root, ax=None, precision: int = 4):
    """Draw the computation graph below a ``course.autodiff.Value``, left (inputs) to right (output).

    Each value is a box ``label | data | grad``; each operation a circle
    (``+``, ``*``, ``tanh``, ...) between its inputs and its result. Columns are
    depths (longest path from an input; an input sits just left of its first
    use), so the forward pass reads left to right and backward right to left.
    Call ``root.backward()`` first to see the gradients. Matplotlib only (no
    graphviz). Returns the Figure.
    """
    import matplotlib.pyplot as plt  # noqa: F811  (kept local: only this helper needs it here)

    order = root.topological_order()  # inputs before outputs
    depth = {}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(c)] for c in node._prev), default=-1)
    first_use: dict[int, int] = {}
    for node in order:
        for c in node._prev:
            first_use[id(c)] = min(first_use.get(id(c), depth[id(node)]), depth[id(node)])
    for node in order:  # a leaf is drawn next to the operation that first uses it
        if not node._prev and id(node) in first_use:
            depth[id(node)] = first_use[id(node)] - 1
    columns: dict[int, list] = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(node)
    y = {}
    for col in sorted(columns):  # each node near the mean height of its inputs (fewer crossings)
        nodes = columns[col]
        want = [np.mean([y[id(c)] for c in n._prev]) if n._prev else i for i, n in enumerate(nodes)]
        nodes = [t[2] for t in sorted(zip(want, range(len(nodes)), nodes), key=lambda t: t[:2])]
        for i, n in enumerate(nodes):
            y[id(n)] = i - (len(nodes) - 1) / 2
    n_cols = max(columns) + 1
    n_rows = max(len(v) for v in columns.values())
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 3.4 * n_cols), max(1.6, 0.75 * n_rows + 0.6)),
                             layout="constrained")
    step = 3.0  # a value column every 3 units, its operation 1.2 units to its left
    arrow = dict(arrowstyle="-|>", color="0.45", lw=1.0, shrinkA=2, shrinkB=2)
    fmt = f"{{:.{precision}f}}"
    boxes = {}
    for node in order:
        x0, y0 = step * depth[id(node)], y[id(node)]
        text = f"data {fmt.format(node.data)} | grad {fmt.format(node.grad)}"
        if node.label:
            text = f"{node.label} | " + text
        boxes[id(node)] = ax.text(x0, y0, text, ha="center", va="center", fontsize=8,
                                  family="monospace", zorder=3,
                                  bbox=dict(boxstyle="round,pad=0.35", fc="#eef4fb", ec="#2f7fc1"))
    for node in order:
        if not node._prev:
            continue
        x0, y0 = step * depth[id(node)], y[id(node)]
        op = ax.text(x0 - 0.5 * step, y0, node._op, ha="center", va="center", fontsize=9, zorder=3,
                     bbox=dict(boxstyle="circle,pad=0.3", fc="#fdebd9", ec="#f08c2e"))
        # arrows anchored to the boxes' edges: (0, .5) is a box's left middle, (1, .5) its right
        ax.annotate("", xy=(0, 0.5), xycoords=boxes[id(node)], xytext=(1, 0.5), textcoords=op,
                    arrowprops=arrow, zorder=2)
        for child in dict.fromkeys(node._prev):  # an input used twice gets one arrow
            skips = depth[id(node)] - depth[id(child)] > 1  # curve over the columns in between
            ax.annotate("", xy=(0, 0.5), xycoords=op, xytext=(1, 0.5), textcoords=boxes[id(child)],
                        arrowprops=dict(arrow, connectionstyle="arc3,rad=-0.25" if skips else "arc3"),
                        zorder=2)
    ax.set_xlim(-0.5 * step, step * (n_cols - 0.5))
    ax.set_ylim(-n_rows / 2 - 0.3, n_rows / 2 + 0.3)
    ax.set_axis_off()
    return ax.figure


def draw_unrolled(T: int = 4, num_layers: int = 1, bidirectional: bool = False, ax=None, title=None):
    """Draw a recurrent network unrolled over ``T`` steps: inputs x_t at the bottom, one row of
    cells per layer and direction, outputs y_t on top. Arrows: the state passed along a row
    (to the right forward in time, to the left for a reverse direction), the layer's input
    from below. Every cell of a row is the *same* cell (the same parameters). Returns the Figure."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    D = 2 if bidirectional else 1
    rows = num_layers * D
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(1.3 * T + 1.5, 0.9 * rows + 1.8))
    ys = {"x": 0.0}
    for k in range(num_layers):
        for d in range(D):
            ys[(k, d)] = 1.0 + k * D + d * 0.85 + k * 0.3
    top = max(ys.values()) + 1.0
    colors = ["#f3c98b", "#9ecae1"]

    def arrow(p, q, **kw):
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=10, lw=1.0, color="#444", **kw))

    def bypass(p, q):
        g = p[0] + 0.32
        ax.plot([p[0], g, g], [p[1], p[1] + 0.12, q[1] - 0.12], color="#888", lw=0.9)
        arrow((g, q[1] - 0.12), q, linestyle="-")

    for t in range(T):
        ax.text(t, ys["x"], f"$x_{{{t + 1}}}$", ha="center", va="center", fontsize=11)
        ax.text(t, top, f"$y_{{{t + 1}}}$", ha="center", va="center", fontsize=11)
    for k in range(num_layers):
        for d in range(D):
            y = ys[(k, d)]
            for t in range(T):
                ax.add_patch(FancyBboxPatch((t - 0.28, y - 0.22), 0.56, 0.44, boxstyle="round,pad=0.02",
                                            fc=colors[d], ec="#333"))
                sup = f"{k + 1}" + (",\\leftarrow" if d == 1 else "")
                ax.text(t, y, f"$h^{{({sup})}}_{{{t + 1}}}$" if (num_layers > 1 or d) else f"$h_{{{t + 1}}}$",
                        ha="center", va="center", fontsize=9)
                sources = [ys["x"] + 0.2] if k == 0 else [ys[(k - 1, e)] + 0.22 for e in range(D)]
                for e, src in enumerate(sources):       # every row of the layer below (or x_t) feeds this row
                    direct = (k == 0 and d == 0) or (k > 0 and e == D - 1 and d == 0)
                    if direct:
                        arrow((t, src), (t, y - 0.22))
                    else:                               # past the boxes in between, in the gap on the right
                        bypass((t + 0.12, src), (t + 0.2, y - 0.22))
                if t < T - 1:
                    a, b = (t + 0.28, t + 0.72) if d == 0 else (t + 0.72, t + 0.28)
                    arrow((a, y), (b, y))
            ax.text(-0.55 if d == 0 else T - 0.45, y, "$h_0$", ha="right" if d == 0 else "left",
                    va="center", fontsize=8, color="#666")
    for t in range(T):
        arrow((t, ys[(num_layers - 1, D - 1)] + 0.22), (t, top - 0.2))
        if D == 2:                                      # y_t reads both directions
            bypass((t + 0.12, ys[(num_layers - 1, 0)] + 0.22), (t + 0.15, top - 0.2))
    ax.set(xlim=(-1.0, T), ylim=(-0.4, top + 0.4))
    ax.axis("off")
    ax.set_title(title or (f"{'bidirectional ' if bidirectional else ''}RNN, {num_layers} layer"
                           f"{'s' if num_layers > 1 else ''}, unrolled over T = {T}"), fontsize=10)
    return fig


def ladder_figure(rows, title: str | None = None):
    """Horizontal bars, one per row of ``course.ladder.char_ladder`` / ``word_ladder`` (best at the
    bottom): bits per character or perplexity, each labelled with its training seconds; a neural
    model read at several budgets gets one bar per budget (``"LSTM @ 60 s"``). Returns the figure."""
    import matplotlib.pyplot as plt

    from course.ladder import label, score

    word = bool(rows) and "perplexity" in rows[0]
    rows = sorted(rows, key=score, reverse=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.2), layout="constrained")
    y = np.arange(len(rows))
    neural = [r.get("seed") is not None for r in rows]
    ax.barh(y, [score(r) for r in rows], color=["tab:orange" if n else "tab:blue" for n in neural])
    top = max(score(r) for r in rows)
    for i, r in enumerate(rows):
        value = f"{score(r):.1f}" if word else f"{score(r):.2f}"
        ax.text(score(r) + 0.01 * top, i, f"{value}  ({r['train_seconds']:.1f} s)", va="center", fontsize=8)
    ax.set_yticks(y, [label(r) for r in rows])
    what = "perplexity" if word else "bits per character"
    ax.set(xlabel=f"{what} (lower is better); training seconds in brackets", xlim=(0, top * 1.3),
           title=title or f"the perplexity ladder ({'word' if word else 'character'} level, held-out text)")
    ax.grid(axis="x", alpha=0.3)
    return fig
