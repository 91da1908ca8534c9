"""Dropout: explicit keys in the functional core, the object's own key in the OOP face."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import oop

X = jnp.ones((200, 250))  # 50,000 entries


def test_no_key_is_identity():
    layer = tj.Dropout(0.5)
    np.testing.assert_array_equal(layer.apply(layer.init(jax.random.key(0)), X), X)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_keep_rate_and_scale(rate):
    y = np.asarray(tj.Dropout(rate).apply((), X, key=jax.random.key(1)))
    kept = y != 0
    keep = 1 - rate
    # the kept fraction of n Bernoulli(keep) draws has std sqrt(keep * rate / n); allow 5 std
    assert abs(kept.mean() - keep) < 5 * math.sqrt(keep * rate / X.size)
    np.testing.assert_allclose(y[kept], 1 / keep, rtol=1e-6)  # inverted dropout: 1 / (1 - rate)


def test_rate_zero_and_one():
    np.testing.assert_array_equal(tj.Dropout(0.0).apply((), X, key=jax.random.key(0)), X)
    y = tj.Dropout(1.0).apply((), X, key=jax.random.key(0))
    assert np.all(np.asarray(y) == 0.0) and not np.any(np.isnan(np.asarray(y)))
    assert np.all(oop.Dropout(1.0)(X, training=True).numpy() == 0.0)
    np.testing.assert_array_equal(oop.Dropout(0.0)(X, training=True).numpy(), X)


def test_same_key_same_mask_different_key_different_mask():
    layer = tj.Dropout(0.5)
    a = layer.apply((), X, key=jax.random.key(5))
    np.testing.assert_array_equal(a, layer.apply((), X, key=jax.random.key(5)))
    assert not np.array_equal(a, layer.apply((), X, key=jax.random.key(6)))


def test_sequential_gives_each_dropout_its_own_key():
    model = tj.Sequential(tj.Dropout(0.5), tj.Dropout(0.5))
    twice = model.apply(model.init(jax.random.key(0)), X, key=jax.random.key(2))
    k0, k1 = jax.random.split(jax.random.key(2))
    expected = tj.Dropout(0.5).apply((), tj.Dropout(0.5).apply((), X, key=k0), key=k1)
    np.testing.assert_array_equal(twice, expected)
    first = tj.Dropout(0.5).apply((), X, key=k0)
    assert not np.array_equal(np.asarray(first) != 0, np.asarray(tj.Dropout(0.5).apply((), X, key=k1)) != 0)


def test_sequential_splits_only_among_keyed_layers_and_inference_without_key():
    model = tj.Sequential(tj.Linear(250, 250), tj.ReLU(), tj.Dropout(0.5))
    params = model.init(jax.random.key(0))
    clean = model.apply(params, X)
    (k,) = jax.random.split(jax.random.key(3), 1)
    dropped = model.apply(params, X, key=jax.random.key(3))
    np.testing.assert_array_equal(dropped, tj.Dropout(0.5).apply((), clean, key=k))


def test_oop_mask_equals_functional_mask_for_the_same_key():
    key = jax.random.key(11)
    functional = tj.Dropout(0.4).apply((), X, key=key)
    np.testing.assert_array_equal(oop.Dropout(0.4)(X, training=True, key=key).numpy(), functional)
    # the object's own stream: each call draws split(state)[1] and keeps split(state)[0]
    layer = oop.Dropout(0.4, key=key)
    state, first = jax.random.split(key)
    np.testing.assert_array_equal(layer(X).numpy(), tj.Dropout(0.4).apply((), X, key=first))
    _, second = jax.random.split(state)
    np.testing.assert_array_equal(layer(X).numpy(), tj.Dropout(0.4).apply((), X, key=second))


def test_oop_training_flag_and_eval():
    layer = oop.Dropout(0.5)
    np.testing.assert_array_equal(layer.forward(X, training=False).numpy(), X)
    layer.eval()
    np.testing.assert_array_equal(layer(X).numpy(), X)
    assert not np.array_equal(layer(X, training=True).numpy(), X)


@pytest.mark.parametrize("rate", [-0.1, 1.5, "half", True])
def test_bad_rates(rate):
    with pytest.raises(tj.ConfigError, match="rate"):
        tj.Dropout(rate)
    with pytest.raises(ValueError):
        oop.Dropout(rate)


def test_bad_key_and_integer_input():
    with pytest.raises(tj.KeyArgumentError, match=r"Dropout\(rate=0.5\).apply"):
        tj.Dropout(0.5).apply((), X, key=3)
    with pytest.raises(tj.DTypeError, match="Dropout"):
        tj.Dropout(0.5).apply((), jnp.ones(3, jnp.int32), key=jax.random.key(0))


def test_grad_through_dropout_uses_the_same_mask():
    key = jax.random.key(4)
    x = jnp.linspace(1.0, 2.0, 100)
    g = jax.grad(lambda v: tj.Dropout(0.5).apply((), v, key=key).sum())(x)
    mask = np.asarray(tj.Dropout(0.5).apply((), x, key=key)) != 0
    np.testing.assert_allclose(np.asarray(g), np.where(mask, 2.0, 0.0))
