"""Linear: exact values, shapes, options, and numerics against NumPy."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyjax as tj
from tinyjax import linear


def test_exact_values_with_hand_written_params():
    params = {
        "weight": jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),  # (in=2, out=3)
        "bias": jnp.array([0.5, -1.0, 10.0]),
    }
    x = jnp.array([[1.0, 1.0], [2.0, -1.0]])
    expected = np.array([[5.5, 6.0, 19.0], [-1.5, -2.0, 10.0]])
    np.testing.assert_array_equal(linear.apply(params, x), expected)
    np.testing.assert_array_equal(tj.Linear(2, 3).apply(params, x), expected)


def test_bias_false_has_no_bias_entry_and_no_offset():
    params = tj.Linear(4, 3, bias=False).init(jax.random.key(0))
    assert set(params) == {"weight"}
    x = jnp.zeros((2, 4))
    np.testing.assert_array_equal(tj.Linear(4, 3, bias=False).apply(params, x), np.zeros((2, 3)))
    assert set(linear.init(jax.random.key(0), 4, 3, bias=False)) == {"weight"}


@pytest.mark.parametrize(
    "x_shape, y_shape",
    [((7,), (3,)), ((0, 7), (0, 3)), ((5, 7), (5, 3)), ((2, 4, 7), (2, 4, 3)), ((1, 2, 1, 7), (1, 2, 1, 3))],
)
def test_input_shapes(x_shape, y_shape):
    layer = tj.Linear(7, 3, bias_init=tj.initializers.constant(0.25))
    params = layer.init(jax.random.key(1))
    x = jax.random.normal(jax.random.key(2), x_shape)
    y = layer.apply(params, x)
    assert y.shape == y_shape
    expected = np.asarray(x) @ np.asarray(params["weight"]) + 0.25
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_module_level_pair_matches_layer():
    key = jax.random.key(3)
    params = linear.init(key, 6, 4)
    layer = tj.Linear(6, 4)
    chex.assert_trees_all_equal(params, layer.init(key))
    x = jnp.ones((2, 6))
    np.testing.assert_array_equal(linear.apply(params, x), layer.apply(params, x))


def test_dtype_and_precision_options():
    params = tj.Linear(8, 2, dtype=jnp.bfloat16).init(jax.random.key(0))
    assert all(a.dtype == jnp.bfloat16 for a in jax.tree_util.tree_leaves(params))
    x = jnp.ones((3, 8), jnp.bfloat16)
    assert tj.Linear(8, 2, dtype=jnp.bfloat16).apply(params, x).dtype == jnp.bfloat16
    f32 = tj.Linear(8, 2).init(jax.random.key(0))
    y = tj.Linear(8, 2).apply(f32, jnp.ones((3, 8)), precision="highest")
    np.testing.assert_allclose(y, np.ones((3, 8)) @ np.asarray(f32["weight"]), rtol=1e-6)


def test_custom_and_jax_initializers():
    layer = tj.Linear(3, 2, weight_init=jax.nn.initializers.ones, bias_init=tj.initializers.constant(2.0))
    params = layer.init(jax.random.key(0))
    np.testing.assert_array_equal(layer.apply(params, jnp.ones((1, 3))), [[5.0, 5.0]])


class NumericsTest(chex.TestCase):
    """Against a plain NumPy reference, over random sizes and batch shapes, with and without jit."""

    @chex.variants(with_jit=True, without_jit=True)
    @settings(max_examples=15)
    @given(
        in_features=st.integers(1, 48),
        out_features=st.integers(1, 48),
        batch=st.lists(st.integers(0, 5), min_size=0, max_size=3),
        bias=st.booleans(),
        seed=st.integers(0, 2**31 - 1),
    )
    def test_matches_numpy(self, in_features, out_features, batch, bias, seed):
        layer = tj.Linear(in_features, out_features, bias=bias, bias_init=tj.initializers.normal(1.0))
        params = layer.init(jax.random.key(seed))
        x = np.random.default_rng(seed).standard_normal((*batch, in_features)).astype(np.float32)
        y = self.variant(lambda p, v: layer.apply(p, v, precision="highest"))(params, x)
        w = np.asarray(params["weight"], np.float64)
        expected = x.astype(np.float64) @ w + (np.asarray(params["bias"], np.float64) if bias else 0.0)
        assert y.shape == (*batch, out_features)
        np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5, atol=1e-5)
