"""SGDExplorer: gradient descent, SGD and minibatch SGD on a loss surface you can see.

Controls: learning rate, batch size (1 = SGD, N = full-batch gradient descent,
between = minibatch), momentum, number of steps, shuffling seed. View: the
contour plot of J(w, b) with the optimizer's trajectory on it, and J per step.
When the learning rate is too large the run diverges: the widget says so in a
red message, draws the path and the frame in red and names the critical rate.

Driveable from plain Python::

    w = SGDExplorer()
    w.lr = 0.8                   # redraws
    w.diverged, w.trajectory     # True, (k + 1, 2) array
    w.batch_size = w.n_examples  # full-batch gradient descent

The math lives in ``course.recipe``; this file only draws it.
"""
from __future__ import annotations

import html
import math

import ipywidgets as W
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from course import recipe
from course.widgets._base import Explorer, control_property, guarded, new_figure
from course.widgets.canvas import ImageView

__all__ = ["SGDExplorer"]

_PATH_OK = "#1f4e9c"
_PATH_BAD = "#d62020"


class SGDExplorer(Explorer):
    """Minibatch SGD with momentum on the 2-parameter line fit of ``course.recipe``.

    Properties (set one to redraw): ``lr``, ``batch_size``, ``momentum``, ``steps``,
    ``seed``. Results: ``trajectory`` ((T + 1, 2) array of (w, b)), ``losses``
    ((T + 1,) J along it), ``diverged`` (bool), ``message`` (str), ``error``
    (str or None).
    """

    caption_text = ("Start with full-batch gradient descent (batch size = N) and raise the "
                    "learning rate past the critical rate until the path flies off; then set "
                    "batch size 1 to see SGD's noisy path, and add momentum.")

    def __init__(self, lr: float = 0.1, batch_size: int = 1, momentum: float = 0.0,
                 steps: int = 50, seed: int = 0, data=None, start=recipe.START,
                 w_range=(-3.0, 5.0), b_range=(-4.0, 4.0)):
        super().__init__()
        self._data = recipe.make_data() if data is None else tuple(np.asarray(a, float) for a in data)
        self._start = tuple(float(v) for v in start)
        self.n_examples = int(self._data[0].size)
        self.critical_lr = recipe.critical_lr(self._data)
        self._path = recipe.SGDPath(np.array([self._start]), False)
        self._losses = np.array([recipe.objective(self._start, self._data)])
        self.message = ""

        style = {"description_width": "110px"}
        layout = W.Layout(width="420px")
        self._lr = W.FloatLogSlider(value=0.1, base=10, min=-3, max=0.2, step=0.05,
                                    readout_format=".3g", description="learning rate η",
                                    style=style, layout=layout)
        self._batch = W.IntSlider(value=1, min=1, max=self.n_examples,
                                  description="batch size B", style=style, layout=layout)
        self._momentum = W.FloatSlider(value=0.0, min=0.0, max=0.99, step=0.01,
                                       description="momentum μ", style=style, layout=layout)
        self._steps = W.IntSlider(value=50, min=1, max=200, description="steps",
                                  style=style, layout=layout)
        self._seed = W.BoundedIntText(value=0, min=0, max=2**31 - 1, description="shuffle seed",
                                      style=style, layout=W.Layout(width="220px"))
        self._controls = {"lr": self._lr, "batch_size": self._batch, "momentum": self._momentum,
                          "steps": self._steps, "seed": self._seed}
        for name, ctrl in self._controls.items():
            self._labelled(ctrl, f"course-{name.replace('_', '-')}")

        self._mode = W.HTML("")
        self._mode.add_class("course-mode")
        self._message_html = W.HTML("")
        self._message_html.add_class("course-message")
        self._image = ImageView()
        self._image.add_class("course-view")
        self._main_view = self._image

        self._build_figure(w_range, b_range)
        self._finish([W.HBox([W.VBox([self._lr, self._batch, self._momentum, self._steps]),
                              W.VBox([self._seed, self._mode])]),
                      self._image, self._message_html])
        for ctrl in self._controls.values():
            ctrl.observe(self._redraw, names="value")
        self._hold = True  # apply the initial values without one redraw each
        errors = [self._apply(name, value) for name, value in
                  dict(lr=lr, batch_size=batch_size, momentum=momentum, steps=steps,
                       seed=seed).items()]
        self._hold = False
        self._redraw()
        errors = [e for e in errors if e is not None]
        if errors:
            self._reject(errors[0])

    # ------------------------------------------------------------ properties
    lr = control_property("_lr", "learning rate η", convert=float, via="_set")
    batch_size = control_property("_batch", "examples per step: 1 = SGD, N = full-batch "
                                            "gradient descent", convert=int, via="_set")
    momentum = control_property("_momentum", "momentum μ in [0, 0.99]", convert=float,
                                via="_set")
    steps = control_property("_steps", "number of optimizer steps", convert=int, via="_set")
    seed = control_property("_seed", "seed of the shuffle that picks the minibatches",
                            convert=int, via="_set")

    @property
    def trajectory(self) -> np.ndarray:
        """(T + 1, 2): (w, b) at the start and after every step (fewer rows if diverged)."""
        return self._path.trajectory.copy()

    @property
    def losses(self) -> np.ndarray:
        """(T + 1,): J(w, b) along the trajectory."""
        return self._losses.copy()

    @property
    def diverged(self) -> bool:
        return bool(self._path.diverged)

    # ---------------------------------------------------- setting a control
    def _check(self, name: str, value):
        """The value a control should take, or ValueError naming the rule and the fix."""
        if name == "lr":
            v = float(value)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"the learning rate must be a positive number, got lr={value}; "
                                 f"try 0.1, or {self.critical_lr:.3g} to sit at the critical rate")
            return v
        if name == "momentum":
            v = float(value)
            if not 0.0 <= v <= self._momentum.max:
                raise ValueError(f"momentum must be between 0 and {self._momentum.max}, got "
                                 f"{value}; 0.9 is the usual choice")
            return v
        if isinstance(value, bool) or int(value) != value:
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        v = int(value)
        if name == "batch_size" and not 1 <= v <= self.n_examples:
            raise ValueError(f"batch_size must be from 1 (SGD) to N={self.n_examples} "
                             f"(full-batch gradient descent), got {value}")
        if name == "steps" and not 1 <= v <= 5000:
            raise ValueError(f"steps must be from 1 to 5000, got {value}")
        if name == "seed" and not 0 <= v <= self._seed.max:
            raise ValueError(f"seed must be a non-negative integer, got {value}")
        return v

    def _set(self, name: str, value) -> None:
        """Property setter: move the control (it redraws), or show why not."""
        error = self._apply(name, value)
        if error is not None:
            self._reject(error)

    def _apply(self, name: str, value) -> Exception | None:
        """Move control ``name`` to ``value``; return the error instead of raising it."""
        try:
            value = self._check(name, value)
        except (TypeError, ValueError) as exc:
            return exc
        ctrl = self._controls[name]
        if name == "lr" and not 10**ctrl.min <= value <= 10**ctrl.max:
            # a rate beyond the slider: widen the slider instead of clamping silently
            ctrl.min, ctrl.max = min(ctrl.min, math.log10(value)), max(ctrl.max, math.log10(value))
        if name == "steps" and value > ctrl.max:
            ctrl.max = value
        if ctrl.value == value:
            self._redraw()  # no change event: redraw anyway (clears a previous error)
        else:
            ctrl.value = value
        return None

    @guarded
    def _reject(self, exc: Exception) -> None:
        raise exc

    # ------------------------------------------------------------- drawing
    def _build_figure(self, w_range, b_range) -> None:
        """The persistent figure: contours drawn once (cached as pixels), the path
        and the loss curve updated in place and drawn over them."""
        Wg, Bg, J = recipe.loss_surface(w_range, b_range, num=121, data=self._data)
        best = recipe.minimizer(self._data)
        j_min = recipe.objective(best, self._data)
        self._fig = fig = new_figure(8.0, 3.8)
        ax, ax_loss = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        levels = j_min + np.geomspace(1e-2, J.max() - j_min, 14)
        ax.contourf(Wg, Bg, J, levels=np.concatenate([[j_min], levels]), cmap="Blues_r", alpha=0.55)
        ax.contour(Wg, Bg, J, levels=levels, colors="#35577d", linewidths=0.6)
        (star,) = ax.plot(*best, marker="*", color="gold", markeredgecolor="k", markersize=14,
                          zorder=4, label="minimum θ*")
        (start,) = ax.plot(*self._start, marker="o", color="k", markersize=6, zorder=4,
                           label="start")
        (self._line,) = ax.plot([], [], "-o", color=_PATH_OK, markersize=2.5, lw=1.2, zorder=3,
                                label="trajectory")
        (self._end,) = ax.plot([], [], "s", color=_PATH_OK, markersize=6, zorder=5)
        ax.set_xlim(*w_range)
        ax.set_ylim(*b_range)
        ax.set_xlabel("w (slope)")
        ax.set_ylabel("b (intercept)")
        ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
        self._warn_text = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center",
                                  fontsize=15, fontweight="bold", color=_PATH_BAD, zorder=6,
                                  bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": _PATH_BAD})
        self._warn_text.set_visible(False)
        (self._loss_line,) = ax_loss.plot([], [], color=_PATH_OK, lw=1.5)
        ax_loss.axhline(j_min, color="goldenrod", ls="--", lw=1, label="J(θ*)")
        ax_loss.set_yscale("log")
        ax_loss.set_xlabel("step t")
        ax_loss.set_ylabel("J(θ_t)  (log scale)")
        ax_loss.legend(loc="upper right", fontsize=7)
        ax_loss.grid(True, which="both", alpha=0.25)
        self._ax, self._ax_loss, self._j_min = ax, ax_loss, j_min
        ax_loss.set_ylim(j_min * 0.8, 1e4)
        # Fixed title and axis-label positions: matplotlib would otherwise measure
        # every tick label on each draw to place them (~10 ms a draw).
        for a in (ax, ax_loss):
            a.set_title(" ", fontsize=10, y=1.0)
            a.xaxis.set_label_coords(0.5, -0.1)
        ax.yaxis.set_label_coords(-0.1, 0.5)
        ax_loss.yaxis.set_label_coords(-0.13, 0.5)
        # Blitting: the filled contours cost ~100 ms to draw, so they are drawn once,
        # into a background kept as pixels. What changes (the path and the markers on
        # top of it, the titles, the frame, the loss curve) is "animated":
        # left out of the background and drawn over it on each update (the legends stay
        # in the background: ~8 ms each to draw). The loss panel's axes (ticks, grid)
        # join the background for as long as its limits stay the same.
        on_path = [self._line, self._end, star, start, ax.title, self._warn_text,
                   *ax.spines.values()]
        self._dynamic = (sorted(on_path, key=lambda artist: artist.get_zorder())
                         + [self._loss_line, ax_loss.title])
        for artist in [*self._dynamic, ax_loss]:
            artist.set_animated(True)
        fig.set_dpi(80)
        self._canvas = FigureCanvasAgg(fig)
        self._canvas.draw()  # lays the figure out once; it stays frozen from here on
        fig.set_layout_engine("none")
        self._contours = self._canvas.copy_from_bbox(fig.bbox)
        self._background, self._background_limits = self._contours, None

    def _render_rgb(self) -> np.ndarray:
        """Paste the cached background, draw the changing artists over it: (H, W, 4)
        uint8 RGBA, the canvas' own buffer (one copy to send, not a strided RGB copy)."""
        limits = (self._ax_loss.get_xlim(), self._ax_loss.get_ylim())
        if limits != self._background_limits:  # new loss-panel axes: into the background
            self._canvas.restore_region(self._contours)
            self._fig.draw_artist(self._ax_loss)  # its animated line and title are left out
            self._background = self._canvas.copy_from_bbox(self._fig.bbox)
            self._background_limits = limits
        self._canvas.restore_region(self._background)
        for artist in self._dynamic:
            self._fig.draw_artist(artist)
        return np.asarray(self._canvas.buffer_rgba())

    def _mode_text(self) -> str:
        b, n = self.batch_size, self.n_examples
        if b == 1:
            kind = "stochastic gradient descent: one example per step"
        elif b == n:
            kind = "full-batch gradient descent: all N examples per step"
        else:
            kind = f"minibatch SGD: {b} of N={n} examples per step"
        limit = recipe.critical_lr(self._data, self.momentum)
        return (f"<small>{html.escape(kind)}<br>gradient descent diverges for "
                f"η &gt; 2(1+μ)/λ<sub>max</sub> = {limit:.3g}</small>")

    @guarded
    def _redraw(self, change=None) -> None:
        path = recipe.sgd_path(self._start, self.lr, self.batch_size, self.momentum, self.steps,
                               self.seed, data=self._data)
        x, y = self._data
        traj = path.trajectory  # J at every step at once: f broadcasts over the (T,) pairs
        with np.errstate(over="ignore", invalid="ignore"):
            losses = recipe.loss(recipe.decision_function(x, traj[:, 0], traj[:, 1]), y).mean(axis=1)
        self._path, self._losses = path, losses
        self._clear_error()
        self._mode.value = self._mode_text()
        self.message = self._describe(path, losses)
        colour = _PATH_BAD if path.diverged else _PATH_OK
        self._message_html.value = (
            f'<span style="color:{colour};font-weight:{"bold" if path.diverged else "normal"}">'
            f"{html.escape(self.message)}</span>")
        self._draw(path, losses, colour)

    def _describe(self, path, losses) -> str:
        steps_run = len(path.trajectory) - 1
        if path.diverged:
            limit = recipe.critical_lr(self._data, self.momentum)
            return (f"Diverged after {steps_run} steps: the loss grew from {losses[0]:.3g} to "
                    f"{losses[-1]:.3g}. Each step overshoots the valley by more than the last. "
                    f"Lower the learning rate (full-batch gradient descent is stable only for "
                    f"η < 2(1+μ)/λmax = {limit:.3g}; a small batch needs a smaller η still).")
        if losses[-1] > losses[0]:
            return (f"J went up, from {losses[0]:.3g} to {losses[-1]:.3g}: the learning rate is "
                    f"too large and the path is on its way out. More steps will show it diverge.")
        return (f"After {steps_run} steps: w = {path.trajectory[-1, 0]:.3f}, "
                f"b = {path.trajectory[-1, 1]:.3f}, J = {losses[-1]:.4g} "
                f"(the minimum is {self._j_min:.4g}).")

    def _draw(self, path, losses, colour) -> None:
        traj = path.trajectory
        self._line.set_data(traj[:, 0], traj[:, 1])
        self._end.set_data(traj[-1:, 0], traj[-1:, 1])
        for artist in (self._line, self._end, self._loss_line):
            artist.set_color(colour)
        self._warn_text.set_text("DIVERGED")
        self._warn_text.set_visible(path.diverged)
        for spine in self._ax.spines.values():
            spine.set_edgecolor(colour if path.diverged else "black")
            spine.set_linewidth(3 if path.diverged else 0.8)
        title_colour = colour if path.diverged else "black"
        self._ax.title.set_text(f"η = {self.lr:.3g}, B = {self.batch_size}, "
                                f"μ = {self.momentum:.2f}")
        self._ax.title.set_color(title_colour)
        steps = np.arange(len(losses))
        shown = np.clip(np.nan_to_num(losses, nan=1e300, posinf=1e300), 1e-12, 1e300)
        self._loss_line.set_data(steps, shown)
        self._ax_loss.set_xlim(0, max(self.steps, 1))
        # top: the decade above twice the largest J, so the axes change only now and then
        top = 10 ** math.ceil(math.log10(max(float(shown.max()), float(losses[0])) * 2))
        self._ax_loss.set_ylim(self._j_min * 0.8, top)
        self._ax_loss.title.set_text("J per step" + ("  (blew up)" if path.diverged else ""))
        self._ax_loss.title.set_color(title_colour)
        self._image.show_rgb(self._render_rgb())
