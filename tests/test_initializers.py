"""Initializers: bounds, variances, determinism, and keys in a Sequential."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import initializers as init


def _relative_error(actual: float, expected: float) -> float:
    return abs(actual - expected) / expected


def test_xavier_uniform_bounds_and_variance():
    fan_in, fan_out = 400, 300
    w = np.asarray(init.xavier_uniform(jax.random.key(0), (fan_in, fan_out), jnp.float32))
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert w.shape == (fan_in, fan_out) and w.dtype == np.float32
    assert np.all(np.abs(w) <= limit)
    assert np.abs(w).max() > 0.99 * limit  # the whole range is used, not a narrower one
    # 120,000 draws: the sample variance is within ~0.6% (1 std) of 2 / (in + out); allow 3%.
    assert _relative_error(w.var(), 2 / (fan_in + fan_out)) < 0.03
    assert abs(w.mean()) < 3 * limit / math.sqrt(3 * w.size)


@pytest.mark.parametrize(
    "initializer, variance, bound",
    [
        (init.xavier_uniform, 2 / (400 + 300), math.sqrt(6 / 700)),
        (init.xavier_normal, 2 / (400 + 300), None),
        (init.kaiming_uniform, 2 / 400, math.sqrt(6 / 400)),
        (init.kaiming_normal, 2 / 400, None),
        (init.lecun_uniform, 1 / 400, math.sqrt(3 / 400)),
        (init.lecun_normal, 1 / 400, None),
        (init.normal(0.5), 0.25, None),
    ],
)
def test_variances(initializer, variance, bound):
    w = np.asarray(initializer(jax.random.key(1), (400, 300), jnp.float32))
    assert _relative_error(w.var(), variance) < 0.03
    if bound is not None:
        assert np.all(np.abs(w) <= bound)
    else:  # a normal: about 4.6% of draws lie beyond 2 std (truncation would give none)
        assert np.mean(np.abs(w) > 2 * math.sqrt(variance)) > 0.03


def test_constants():
    key = jax.random.key(0)
    np.testing.assert_array_equal(init.zeros(key, (3, 2), jnp.float32), np.zeros((3, 2)))
    np.testing.assert_array_equal(init.ones(key, (4,), jnp.float32), np.ones(4))
    np.testing.assert_array_equal(init.constant(-1.5)(key, (2,), jnp.float32), [-1.5, -1.5])


def test_linear_defaults_are_xavier_weight_and_zero_bias():
    key = jax.random.key(7)
    params = tj.Linear(30, 20).init(key)
    np.testing.assert_array_equal(params["bias"], np.zeros(20))
    weight_key, _ = jax.random.split(key)
    np.testing.assert_array_equal(params["weight"], init.xavier_uniform(weight_key, (30, 20), jnp.float32))


def test_same_key_bit_identical_with_and_without_jit():
    model = tj.Sequential(tj.Linear(20, 10), tj.ReLU(), tj.Linear(10, 3))
    a = model.init(jax.random.key(42))
    chex.assert_trees_all_equal(a, model.init(jax.random.key(42)))
    chex.assert_trees_all_equal(a, jax.jit(model.init)(jax.random.key(42)))
    chex.assert_trees_all_equal(a, model.init(jax.random.PRNGKey(42)))  # legacy uint32 keys work too


def test_different_keys_give_different_params():
    layer = tj.Linear(20, 10)
    a, b = layer.init(jax.random.key(0)), layer.init(jax.random.key(1))
    assert not np.any(np.asarray(a["weight"]) == np.asarray(b["weight"]))


def test_each_sequential_layer_gets_its_own_subkey():
    model = tj.Sequential([tj.Linear(16, 16), tj.ReLU(), tj.Linear(16, 16), tj.Linear(16, 16)])
    params = model.init(jax.random.key(0))
    weights = [np.asarray(p["weight"]) for p in params if p]
    for i in range(len(weights)):
        for j in range(i + 1, len(weights)):
            assert not np.any(weights[i] == weights[j]), (i, j)
    keys = jax.random.split(jax.random.key(0), 4)
    np.testing.assert_array_equal(params[2]["weight"], tj.Linear(16, 16).init(keys[2])["weight"])


def test_initializer_errors():
    with pytest.raises(tj.ConfigError, match="at least 2 dimensions"):
        init.xavier_uniform(jax.random.key(0), (5,), jnp.float32)
    with pytest.raises(tj.ConfigError, match="floating"):
        init.kaiming_normal(jax.random.key(0), (5, 5), jnp.int32)
    with pytest.raises(tj.ConfigError, match="stddev"):
        init.normal(-1.0)


def test_uniform_draws_within_its_limit_and_is_conv2d_default():
    w = np.asarray(init.uniform(0.25)(jax.random.key(0), (400, 30), jnp.float32))
    assert w.shape == (400, 30) and w.dtype == np.float32
    assert -0.25 <= w.min() < -0.24 and 0.24 < w.max() <= 0.25
    conv = tj.Conv2d(3, 4, 3, bias=False)  # one param: its init gets the key itself
    expected = init.uniform(1 / math.sqrt(27))(jax.random.key(1), (4, 3, 3, 3), jnp.float32)
    np.testing.assert_array_equal(conv.init(jax.random.key(1))["weight"], expected)
    with pytest.raises(tj.ConfigError, match="limit >= 0"):
        init.uniform(-1.0)
