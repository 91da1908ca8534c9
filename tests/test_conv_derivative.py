"""Conv2d's derivatives on CPU: matmuls over the patches (nn/conv.py ``_convolve``), against XLA's own.

The value of a differentiated call is XLA's convolution itself; the tangents and cotangents go
through the patches. Each test compares with ``lax.conv_general_dilated`` differentiated by jax.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import tinyjax as tj

CASES = [  # in, out, kernel, stride, padding, input shape
    (3, 5, 3, 1, 1, (2, 3, 7, 7)),
    (2, 4, (3, 2), (2, 1), (0, 1), (2, 2, 9, 8)),
    (1, 2, 5, 3, 2, (3, 1, 6, 6)),
    (4, 3, 1, 1, 0, (4, 5, 5)),  # one image (C, H, W), a 1x1 kernel
]


def _layer_and_inputs(case, dtype):
    c, o, k, s, p, shape = case
    layer = tj.Conv2d(c, o, k, stride=s, padding=p)
    params = jax.tree.map(lambda a: a.astype(dtype), layer.init(jax.random.key(0)))
    x = jax.random.normal(jax.random.key(1), shape, dtype)
    return layer, params, x


def _reference(layer, params, x):
    """The same convolution as one XLA op, differentiated by jax's own rules."""
    batched = x if x.ndim == 4 else x[None]
    y = jax.lax.conv_general_dilated(
        batched,
        params["weight"],
        layer.config["stride"],
        [(p, p) for p in layer.config["padding"]],
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
    )
    y = y + params["bias"][:, None, None]
    return y if x.ndim == 4 else y[0]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_gradients_equal_xla_convolution_gradients(case):
    with jax.enable_x64(True):
        layer, params, x = _layer_and_inputs(case, jnp.float64)

        def weighted(apply):
            def loss(params, x):
                y = apply(params, x)
                return jnp.sum(jnp.sin(y) * jnp.linspace(0.5, 2.0, y.size).reshape(y.shape))

            return loss

        got = jax.grad(weighted(layer.apply), argnums=(0, 1))(params, x)
        want = jax.grad(weighted(lambda p, x: _reference(layer, p, x)), argnums=(0, 1))(params, x)
        for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward_mode_equals_xla_convolution(case):
    with jax.enable_x64(True):
        layer, params, x = _layer_and_inputs(case, jnp.float64)
        dparams = jax.tree.map(lambda a: jnp.cos(jnp.arange(a.size, dtype=a.dtype)).reshape(a.shape), params)
        dx = jnp.sin(jnp.arange(x.size, dtype=x.dtype)).reshape(x.shape)
        y, dy = jax.jvp(layer.apply, (params, x), (dparams, dx))
        y_ref, dy_ref = jax.jvp(lambda p, x: _reference(layer, p, x), (params, x), (dparams, dx))
        np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dy, dy_ref, rtol=1e-12, atol=1e-12)
        check_grads(layer.apply, (params, x), order=2, modes=("fwd", "rev"))


def test_a_differentiated_call_gives_the_plain_calls_value():
    layer, params, x = _layer_and_inputs(CASES[0], jnp.float32)
    value, _ = jax.vjp(layer.apply, params, x)
    np.testing.assert_array_equal(value, layer.apply(params, x))  # bitwise: both are XLA's convolution


def test_the_compiled_gradient_has_one_convolution_the_forward_pass():
    layer, params, x = _layer_and_inputs(CASES[0], jnp.float32)
    step = jax.jit(jax.grad(lambda p, x: jnp.sum(layer.apply(p, x) ** 2), argnums=(0, 1)))
    hlo = step.lower(params, x).compile().as_text()
    # on CPU the weight and input gradients are matmuls over the patches; elsewhere XLA's own three convolutions
    assert hlo.count(" convolution(") == (1 if jax.default_backend() == "cpu" else 3)
    plain = jax.jit(jax.grad(lambda p, x: jnp.sum(_reference(layer, p, x) ** 2), argnums=(0, 1)))
    assert plain.lower(params, x).compile().as_text().count(" convolution(") == 3  # the control: XLA's three


def test_an_undifferentiated_input_costs_no_input_gradient():
    """The network's images are not differentiated: no product for their tangent is built."""
    layer, params, x = _layer_and_inputs(CASES[0], jnp.float32)
    weight_only = jax.make_jaxpr(jax.grad(lambda p: jnp.sum(layer.apply(p, x) ** 2)))(params)
    both = jax.make_jaxpr(jax.grad(lambda p, x: jnp.sum(layer.apply(p, x) ** 2), argnums=(0, 1)))(params, x)
    # one product per differentiated operand: patches^T @ dy for the weight, (dy @ W^T) to the input's patches
    assert str(weight_only).count("dot_general") == 1
    assert str(both).count("dot_general") == 2
