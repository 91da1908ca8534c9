"""MaxPool2d's tiled path (stride = kernel, no padding): derivatives equal reduce_window's, ties included."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj


def _reduce_window_max(x, kernel):
    window = (1,) * (x.ndim - 2) + kernel
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, window, "VALID")


@pytest.mark.parametrize("shape, kernel", [((2, 3, 8, 8), (2, 2)), ((3, 9, 7), (2, 2)), ((1, 2, 7, 9), (2, 3))])
def test_gradient_and_forward_derivative_equal_reduce_window_with_ties(shape, kernel):
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    x = jnp.maximum(jnp.asarray(x).at[..., 0, :].set(0.0), 0)  # after a ReLU: windows of tied zeros
    layer = tj.MaxPool2d(kernel)
    y, pullback = jax.vjp(lambda x: layer.apply((), x), x)
    ref_y, ref_pullback = jax.vjp(lambda x: _reduce_window_max(x, kernel), x)
    g = jnp.asarray(np.random.default_rng(1).normal(size=y.shape).astype(np.float32))
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(pullback(g)[0], ref_pullback(g)[0])
    tangent = jnp.asarray(np.random.default_rng(2).normal(size=shape).astype(np.float32))
    np.testing.assert_array_equal(
        jax.jvp(lambda x: layer.apply((), x), (x,), (tangent,))[1],
        jax.jvp(lambda x: _reduce_window_max(x, kernel), (x,), (tangent,))[1],
    )
