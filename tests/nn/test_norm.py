"""LayerNorm, GELU, Dropout: hand-checkable cases, gradcheck on odd sizes, torch with copied weights."""
import numpy as np
import pytest
import torch

from course import nn
from course.testing import compare_module, to_numpy, to_torch


def _random_affine(m, rng):
    m.weight.data[...] = rng.standard_normal(m.weight.shape)
    m.bias.data[...] = rng.standard_normal(m.bias.shape)
    return m


# ============================================================== LayerNorm
def test_layernorm_by_hand():
    y = nn.LayerNorm(2).forward(np.array([[1.0, 3.0]]))
    np.testing.assert_allclose(y, [[-1.0, 1.0]], atol=1e-5)   # mean 2, std 1 (+ eps)


@pytest.mark.parametrize("shape,normalized", [((3, 5, 7), 7), ((2, 3, 5), (3, 5)), ((7,), 7)])
def test_layernorm_matches_torch(shape, normalized):
    rng = np.random.default_rng(0)
    ours = _random_affine(nn.LayerNorm(normalized), rng)
    compare_module(ours, torch.nn.LayerNorm(normalized), 3 * rng.standard_normal(shape) + 1)


def test_layernorm_gradcheck_odd_sizes():
    rng = np.random.default_rng(1)
    m = _random_affine(nn.LayerNorm(5), rng)
    assert nn.gradcheck(m, rng.standard_normal((3, 7, 5))).passed()
    m2 = nn.LayerNorm(5, elementwise_affine=False)
    assert m2.parameters() == []
    assert nn.gradcheck(m2, rng.standard_normal((3, 5))).passed(1e-4)


def test_layernorm_output_has_zero_mean_unit_variance():
    rng = np.random.default_rng(2)
    y = nn.LayerNorm(9).forward(5 * rng.standard_normal((4, 9)) - 3)
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1, rtol=1e-4)


def test_layernorm_shape_error():
    with pytest.raises(ValueError, match=r"\(\*, 4\)"):
        nn.LayerNorm(4).forward(np.zeros((2, 5)))


# ============================================================== GELU
def test_gelu_by_hand():
    y = nn.GELU().forward(np.array([0.0, 1.0, -1.0]))
    np.testing.assert_allclose(y, [0.0, 0.8413447460685429, -0.15865525393145707], rtol=1e-12)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_and_gradcheck(approximate):
    rng = np.random.default_rng(3)
    x = 3 * rng.standard_normal((3, 5, 7))
    compare_module(nn.GELU(approximate), torch.nn.GELU(approximate=approximate), x)
    assert nn.gradcheck(nn.GELU(approximate), rng.standard_normal((3, 5))).passed()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_close_to_torch(approximate):
    x = np.linspace(-8, 8, 1001, dtype=np.float32)
    y = nn.GELU(approximate).forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, to_numpy(torch.nn.GELU(approximate=approximate)(torch.from_numpy(x))),
                               atol=2e-6)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="tanh"):
        nn.GELU("fast")


# ============================================================== Dropout
def test_dropout_with_torch_mask_matches_torch():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 6)) + 5        # never zero, so the mask can be read off the output
    xt = to_torch(x, requires_grad=True)
    torch.manual_seed(0)
    yt = torch.nn.functional.dropout(xt, p=0.3, training=True)
    keep = to_numpy(yt) != 0
    g = rng.standard_normal(x.shape)
    yt.backward(torch.from_numpy(g))
    d = nn.Dropout(0.3)
    np.testing.assert_allclose(d.forward(x, mask=keep), to_numpy(yt), rtol=1e-15)
    np.testing.assert_allclose(d.backward(g), to_numpy(xt.grad), rtol=1e-15)


def test_dropout_seeded_masks_are_reproducible_and_have_the_right_rate():
    x = np.ones((200, 500))
    a = nn.Dropout(0.25, rng=7).forward(x)
    b = nn.Dropout(0.25, rng=7).forward(x)
    np.testing.assert_array_equal(a, b)
    assert abs((a == 0).mean() - 0.25) < 0.01
    np.testing.assert_allclose(a[a != 0], 1 / 0.75)
    assert abs(a.mean() - 1.0) < 0.02                # the scaling keeps the expectation


def test_dropout_is_identity_in_eval_mode_and_for_p0():
    x = np.arange(6.0)
    d = nn.Dropout(0.5, rng=0).eval()
    np.testing.assert_array_equal(d.forward(x), x)
    d0 = nn.Dropout(0.0)
    np.testing.assert_array_equal(d0.forward(x), x)
    np.testing.assert_array_equal(d0.backward(x), x)


def test_dropout_gradcheck_with_fixed_mask():
    rng = np.random.default_rng(5)
    keep = rng.random((3, 5)) > 0.4

    class Fixed(nn.Module):
        def __init__(self):
            self.d = nn.Dropout(0.4)

        def forward(self, x):
            return self.d.forward(x, mask=keep)

        def backward(self, g):
            return self.d.backward(g)

    assert nn.gradcheck(Fixed(), rng.standard_normal((3, 5))).passed()


def test_dropout_rejects_p_one():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        nn.Dropout(1.0)
