"""course.data.digits: the train / validation / test split."""
import numpy as np
import pytest

from course.data import Digits, digits


def _keys(X):
    """One number per image that tells images apart (a fixed random projection)."""
    proj = np.random.default_rng(0).standard_normal((8, 8))
    return np.round((X[:, 0] * proj).sum(axis=(1, 2)), 9)


def test_default_has_an_empty_validation_set_of_the_right_shape():
    d = digits()
    assert isinstance(d, Digits) and len(d) == 6
    assert d.X_val.shape == (0, 1, 8, 8) and d.y_val.shape == (0,)
    assert d.X_val.dtype == np.float64 and d.y_val.dtype == np.int64
    assert d.X_train.shape == (1347, 1, 8, 8) and d.X_test.shape == (450, 1, 8, 8)


def test_validation_comes_out_of_train_and_leaves_test_unchanged():
    plain, split = digits(), digits(val_size=0.15)
    np.testing.assert_array_equal(split.X_test, plain.X_test)
    np.testing.assert_array_equal(split.y_test, plain.y_test)
    assert len(split.X_val) == round(0.15 * 1797) == 270
    assert len(split.X_train) + len(split.X_val) == len(plain.X_train) == 1347
    # train + val is exactly the old training set: same images, none lost, none duplicated
    np.testing.assert_array_equal(np.sort(_keys(np.concatenate([split.X_train, split.X_val]))),
                                  np.sort(_keys(plain.X_train)))
    # train, val and test together are all 1797 images, each once: a partition
    from sklearn.datasets import load_digits

    everything = np.concatenate([split.X_train, split.X_val, split.X_test])
    np.testing.assert_array_equal(np.sort(_keys(everything)), np.sort(_keys(load_digits().images[:, None] / 16.0)))


def test_labels_follow_their_images():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    label_of = dict(zip(_keys(bunch.images[:, None] / 16.0), bunch.target))
    d = digits(val_size=0.2)
    for X, y in [(d.X_train, d.y_train), (d.X_val, d.y_val), (d.X_test, d.y_test)]:
        assert [label_of[k] for k in _keys(X)] == list(y)


def test_validation_is_stratified():
    d = digits(val_size=0.2)
    counts_all = np.bincount(np.concatenate([d.y_train, d.y_val, d.y_test]), minlength=10)
    np.testing.assert_allclose(np.bincount(d.y_val, minlength=10) / counts_all, 0.2, atol=0.02)
    np.testing.assert_allclose(np.bincount(d.y_train, minlength=10) / counts_all, 0.55, atol=0.02)


def test_fixed_by_seed_and_different_for_another_seed():
    a, b, c = digits(val_size=0.1), digits(val_size=0.1), digits(val_size=0.1, seed=1)
    np.testing.assert_array_equal(a.X_val, b.X_val)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_val, c.y_val)


def test_arrays_are_the_callers_copies():
    d = digits(val_size=0.1)
    d.X_val[:] = 7
    assert digits(val_size=0.1).X_val.max() == 1.0


def test_unpacks_in_field_order_with_validation_last():
    d = digits(val_size=0.1)
    X_train, y_train, X_test, y_test, X_val, y_val = d
    assert X_test is d.X_test and y_val is d.y_val


@pytest.mark.parametrize("kwargs, match", [
    (dict(val_size=-0.1), "val_size"),
    (dict(val_size=1.0), "val_size"),
    (dict(test_size=0.5, val_size=0.5), "test_size \\+ val_size < 1"),
    (dict(val_size=0.002), "at least one of each"),
])
def test_bad_validation_sizes_are_explained(kwargs, match):
    with pytest.raises(ValueError, match=match):
        digits(**kwargs)
