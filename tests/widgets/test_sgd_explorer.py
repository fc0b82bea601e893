"""SGDExplorer: driven from plain Python, as the widget conventions require."""
from __future__ import annotations

import io
import re

import ipywidgets as W
import numpy as np
import pytest
from PIL import Image

from course import recipe
from course.widgets.canvas import ImageView
from course.widgets.sgd import SGDExplorer


@pytest.fixture(scope="module")
def explorer():
    return SGDExplorer()


def status(w) -> str:
    return next(c for c in _walk(w) if "course-status" in c._dom_classes).value


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def classes(w) -> set[str]:
    return {cls for c in _walk(w) for cls in c._dom_classes}


def red_pixels(png: bytes) -> int:
    """Pixels close to the divergence red (#d62020)."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int(np.sum((rgb[..., 0] > 180) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)))


def test_is_a_vbox_with_caption_status_and_image():
    w = SGDExplorer()
    assert isinstance(w, W.VBox)
    assert {"course-caption", "course-status", "course-view"} <= classes(w)
    assert status(w) == "rendered #1" and w.error is None
    img = Image.open(io.BytesIO(w.png))
    assert img.format == "PNG" and img.size[0] >= 400
    views = [c for c in _walk(w) if isinstance(c, (W.Image, ImageView))]
    assert len(views) == 1 and isinstance(views[0], ImageView)  # raw pixels, no PNG
    np.testing.assert_array_equal(views[0].rgb(), w.pixels)
    assert w.pixels.shape == (img.size[1], img.size[0], 3)


def test_default_run_is_the_reference_sgd_path():
    w = SGDExplorer(lr=0.05, batch_size=1, momentum=0.0, steps=30, seed=2)
    traj, diverged = recipe.sgd_path(recipe.START, 0.05, 1, 0.0, 30, 2)
    np.testing.assert_array_equal(w.trajectory, traj)
    assert w.diverged is diverged is False
    assert w.trajectory.shape == (31, 2)
    np.testing.assert_allclose(w.losses, [recipe.objective(t) for t in traj])


def test_each_property_redraws_in_place(explorer):
    w = explorer
    image = next(c for c in _walk(w) if isinstance(c, ImageView))
    for name, value in [("lr", 0.2), ("batch_size", 10), ("momentum", 0.5), ("steps", 80), ("seed", 3)]:
        before, png = w.renders, w.png
        setattr(w, name, value)
        assert getattr(w, name) == value
        assert w.renders == before + 1 and status(w) == f"rendered #{w.renders}"
        assert w.png != png
        assert next(c for c in _walk(w) if isinstance(c, ImageView)) is image  # same view, new pixels
    traj, _ = recipe.sgd_path(recipe.START, 0.2, 10, 0.5, 80, 3)
    np.testing.assert_array_equal(w.trajectory, traj)


def test_batch_size_n_is_gradient_descent_and_1_is_noisy():
    w = SGDExplorer(lr=0.3, steps=40)
    w.batch_size = w.n_examples
    gd = w.trajectory
    w.seed = 7  # the shuffle does not matter when every step sees every example
    np.testing.assert_allclose(w.trajectory, gd, rtol=1e-12)
    # full-batch GD: J goes down every step
    assert np.all(np.diff(w.losses) <= 1e-12)
    w.batch_size = 1
    sgd7 = w.trajectory
    w.seed = 8
    assert not np.allclose(w.trajectory, sgd7)


def test_too_large_a_learning_rate_is_shown_as_divergence():
    w = SGDExplorer(lr=0.1, batch_size=50, steps=100)
    calm_red = red_pixels(w.png)
    assert not w.diverged and "Diverged" not in w.message
    w.lr = 1.2 * w.critical_lr
    assert w.diverged is True and w.error is None
    assert len(w.trajectory) < 101  # stopped where it blew up
    assert "Diverged" in w.message and f"{w.critical_lr:.3g}" in w.message
    msg = next(c for c in _walk(w) if "course-message" in c._dom_classes).value
    assert "Diverged" in msg and "#d62020" in msg
    assert red_pixels(w.png) > calm_red + 500  # red path, red frame, red "DIVERGED" label
    w.lr = 0.5 * w.critical_lr
    assert not w.diverged and red_pixels(w.png) < calm_red + 100


def test_critical_rate_matches_the_recipe():
    w = SGDExplorer()
    assert w.critical_lr == pytest.approx(recipe.critical_lr())
    w.batch_size = 50
    w.momentum = 0.0
    w.steps = 200
    w.lr = 0.97 * w.critical_lr
    assert not w.diverged
    w.lr = 1.03 * w.critical_lr
    assert w.diverged


def test_learning_rate_beyond_the_slider_widens_it():
    w = SGDExplorer()
    w.lr = 5.0
    assert w.lr == pytest.approx(5.0) and w.error is None and w.diverged
    w.lr = 1e-4
    assert w.lr == pytest.approx(1e-4) and not w.diverged


@pytest.mark.parametrize("name,value,match", [
    ("batch_size", 0, r"from 1 \(SGD\) to N=50"),
    ("batch_size", 51, r"from 1 \(SGD\) to N=50"),
    ("batch_size", 2.5, "whole number"),
    ("lr", -0.1, "positive"),
    ("lr", float("inf"), "positive"),
    ("momentum", 1.5, "momentum must be between 0 and"),
    ("steps", 0, "steps must be from 1"),
    ("lr", "fast", "could not convert"),
])
def test_bad_values_show_an_error_and_never_raise(name, value, match):
    w = SGDExplorer()
    before_value, before_renders, traj = getattr(w, name), w.renders, w.trajectory
    setattr(w, name, value)  # must not raise
    assert w.error is not None
    assert re.search(match, w.error), w.error
    assert getattr(w, name) == before_value  # the control did not move
    np.testing.assert_array_equal(w.trajectory, traj)
    assert w.renders == before_renders + 1 and status(w) == f"rendered #{w.renders}"
    err = next(c for c in _walk(w) if "course-error" in c._dom_classes)
    assert "red" in err.value or "#c00000" in err.value
    # a valid value clears the error, even the one the control already has
    setattr(w, name, before_value)
    assert w.error is None and w.renders == before_renders + 2


def test_bad_constructor_arguments_are_shown_not_raised():
    w = SGDExplorer(lr=-1.0, batch_size=10)
    assert w.error is not None and "positive" in w.error
    assert w.batch_size == 10 and w.lr > 0


def test_steps_controls_the_trajectory_length():
    w = SGDExplorer(lr=0.05)
    for steps in (1, 17, 200):
        w.steps = steps
        assert w.trajectory.shape == (steps + 1, 2)
        assert w.losses.shape == (steps + 1,)


def test_picture_depends_only_on_the_settings_not_on_the_way_there():
    """The contour background is drawn once and blitted; the loss panel's axes are
    cached while its limits stay. None of that may leak into the picture: a detour
    through a diverged run (other loss limits) gives back the same bytes."""
    direct = SGDExplorer(lr=0.2, batch_size=5, steps=40)
    detour = SGDExplorer(lr=0.05, batch_size=5, steps=40)
    detour.lr = 3.0
    assert detour.diverged
    detour.lr = 0.2
    assert detour.png == direct.png
