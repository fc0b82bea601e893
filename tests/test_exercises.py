"""course.exercises: every lecture's "your turn" check says not-done / correct / a named mistake, never raises."""
import numpy as np
import pytest

from course import exercises as ex


def _starts(msg, status):
    assert msg.startswith(status), msg


def test_right_difference():
    _starts(ex.check_right_difference(np.zeros((3, 3))), ex.NOT_DONE)
    w = np.zeros((3, 3))
    w[1, 1], w[1, 2] = -1, 1
    _starts(ex.check_right_difference(w), ex.CORRECT)
    _starts(ex.check_right_difference(-w), ex.WRONG)
    assert "sign" in ex.check_right_difference(-w)
    _starts(ex.check_right_difference(np.ones((2, 2))), ex.WRONG)
    shifted = np.zeros((3, 3))
    shifted[1, 0], shifted[1, 1] = -1, 1                   # the left difference
    _starts(ex.check_right_difference(shifted), ex.WRONG)


def test_output_size():
    _starts(ex.check_output_size(None), ex.NOT_DONE)
    assert (20 + 4 - 5) // 3 + 1 == 7
    _starts(ex.check_output_size(7), ex.CORRECT)
    assert "padding" in ex.check_output_size(6)
    assert "stride" in ex.check_output_size(20)
    assert "floor" in ex.check_output_size(19 / 3 + 1)
    _starts(ex.check_output_size(3), ex.WRONG)


def test_step_decay():
    _starts(ex.check_step_decay(lambda t: None), ex.NOT_DONE)
    _starts(ex.check_step_decay(lambda t: 0.5 ** (t // 25)), ex.CORRECT)
    assert "smooth" in ex.check_step_decay(lambda t: 0.5 ** (t / 25))
    assert "t = 0" in ex.check_step_decay(lambda t: 0.5 ** (t // 25 + 1))
    assert "raised ZeroDivisionError" in ex.check_step_decay(lambda t: 1 / 0)
    _starts(ex.check_step_decay(lambda t: 1.0), ex.WRONG)


def test_avg_pool_backward():
    _starts(ex.check_avg_pool_backward(lambda g, k: None), ex.NOT_DONE)
    right = lambda g, k: np.repeat(np.repeat(g, k, axis=2), k, axis=3) / (k * k)
    _starts(ex.check_avg_pool_backward(right), ex.CORRECT)
    assert "1/4" in ex.check_avg_pool_backward(lambda g, k: right(g, k) * k * k)
    assert "shape" in ex.check_avg_pool_backward(lambda g, k: g)
    assert "raised" in ex.check_avg_pool_backward(lambda g, k: g.nope)


def test_param_count_agrees_with_the_module():
    from course import nn

    for pooled, side in [(False, 8), (True, 4)]:
        layers = [nn.Conv2d(1, 8, 3, padding=1, rng=0), nn.ReLU()] + ([nn.MaxPool2d(2)] if pooled else [])
        model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(8 * side * side, 10, rng=1))
        _starts(ex.check_param_count(model.num_parameters(), pooled=pooled), ex.CORRECT)
    _starts(ex.check_param_count(None), ex.NOT_DONE)
    assert "biases" in ex.check_param_count(72 + 5120)
    assert "pooled network" in ex.check_param_count(1370)


@pytest.mark.parametrize("check, junk", [(ex.check_right_difference, "abc"), (ex.check_output_size, "x")])
def test_checks_on_junk_do_not_crash_the_notebook(check, junk):
    try:
        msg = check(junk)
    except (ValueError, TypeError):
        pytest.fail("a check must report, not raise")
    _starts(msg, ex.WRONG)
