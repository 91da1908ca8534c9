"""Sequential: construction forms, nesting, user pairs, and JAX transformations through it."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import tinyjax as tj


def _mlp():
    return tj.Sequential(tj.Linear(6, 8), tj.Tanh(), tj.Linear(8, 4), tj.Sigmoid(), tj.Linear(4, 3))


def _numpy_mlp(params, x):
    h = np.tanh(x @ np.asarray(params[0]["weight"]) + np.asarray(params[0]["bias"]))
    h = 1 / (1 + np.exp(-(h @ np.asarray(params[2]["weight"]) + np.asarray(params[2]["bias"]))))
    return h @ np.asarray(params[4]["weight"]) + np.asarray(params[4]["bias"])


def test_list_tuple_and_positional_forms_agree():
    layers = [tj.Linear(6, 8), tj.ReLU(), tj.Linear(8, 2)]
    key, x = jax.random.key(0), jnp.ones((2, 6))
    outs = [
        m.apply(m.init(key), x) for m in (tj.Sequential(layers), tj.Sequential(tuple(layers)), tj.Sequential(*layers))
    ]
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])


def test_matches_numpy_reference():
    model = _mlp()
    params = model.init(jax.random.key(1))
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    np.testing.assert_allclose(model.apply(params, x), _numpy_mlp(params, x), rtol=1e-5, atol=1e-6)


def test_nested_sequentials_equal_flat():
    flat = tj.Sequential(tj.Linear(6, 8), tj.ReLU(), tj.Linear(8, 4), tj.ReLU(), tj.Linear(4, 3))
    nested = tj.Sequential(
        tj.Sequential(tj.Linear(6, 8), tj.ReLU()), tj.Sequential(tj.Linear(8, 4), tj.ReLU()), tj.Linear(4, 3)
    )
    flat_params = flat.init(jax.random.key(0))
    nested_params = ((flat_params[0], ()), (flat_params[2], ()), flat_params[4])
    x = jnp.arange(12.0).reshape(2, 6)
    np.testing.assert_array_equal(flat.apply(flat_params, x), nested.apply(nested_params, x))
    assert nested.in_features == 6 and nested.out_features == 3


def test_user_pair_inside():
    def init(key):
        return {"scale": jnp.full((3,), 2.0)}

    def double(params, x):
        return x * params["scale"]

    model = tj.Sequential(tj.Linear(4, 3), (init, double), tj.ReLU())
    params = model.init(jax.random.key(0))
    x = jnp.ones((2, 4))
    expected = np.maximum(2 * (np.ones((2, 4)) @ np.asarray(params[0]["weight"])), 0)
    np.testing.assert_allclose(model.apply(params, x), expected, rtol=1e-6)
    assert model.children[1].param_info() == {"scale": tj.layer.ParamInfo()}  # a user's pair describes nothing


def test_layers_unpack_as_stax_pairs():
    init, apply = tj.Sequential(tj.Linear(3, 2), tj.ReLU())
    params = init(jax.random.key(0))
    assert apply(params, jnp.ones(3)).shape == (2,)


def _mlp64():
    f64 = {"dtype": jnp.float64}
    return tj.Sequential(
        tj.Linear(6, 8, **f64), tj.Tanh(), tj.Linear(8, 4, **f64), tj.Sigmoid(), tj.Linear(4, 3, **f64)
    )


# Finite differences in float64: central differences with eps = 1e-6 are exact to ~1e-10, so the
# analytical gradient must agree to 1e-7 (in float32 the differences themselves would be the noise).
EPS = 1e-6


def test_grad_wrt_params_matches_finite_differences():
    with jax.enable_x64(True):
        model = _mlp64()
        params = model.init(jax.random.key(3))
        x = jax.random.normal(jax.random.key(4), (4, 6), jnp.float64)

        def loss(p):
            return jnp.sum(model.apply(p, x) ** 2)

        grads = jax.grad(loss)(params)
        flat, unravel = ravel_pytree(params)
        g_flat, _ = ravel_pytree(grads)
        assert flat.dtype == g_flat.dtype == jnp.float64
        rng = np.random.default_rng(0)
        for i in rng.choice(flat.size, 12, replace=False):
            bump = jnp.zeros_like(flat).at[i].set(EPS)
            numeric = (loss(unravel(flat + bump)) - loss(unravel(flat - bump))) / (2 * EPS)
            np.testing.assert_allclose(g_flat[i], numeric, rtol=1e-7, atol=1e-9)


def test_grad_wrt_inputs_and_jit_of_grad():
    with jax.enable_x64(True):
        model = _mlp64()
        params = model.init(jax.random.key(5))
        x = jax.random.normal(jax.random.key(6), (6,), jnp.float64)
        g = jax.jit(jax.grad(lambda v: model.apply(params, v).sum()))(x)
        for i in range(6):
            e = jnp.zeros(6, jnp.float64).at[i].set(EPS)
            numeric = (model.apply(params, x + e).sum() - model.apply(params, x - e).sum()) / (2 * EPS)
            np.testing.assert_allclose(g[i], numeric, rtol=1e-7, atol=1e-9)


def test_vmap_over_inputs_equals_batched_apply():
    model = _mlp()
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (7, 6))
    np.testing.assert_allclose(jax.vmap(model.apply, in_axes=(None, 0))(params, x), model.apply(params, x), rtol=1e-6)


def test_vmap_ensemble_equals_python_loop():
    model = tj.Sequential(tj.Sequential(tj.Linear(6, 8), tj.ReLU()), tj.Linear(8, 2))
    keys = jax.random.split(jax.random.key(0), 5)
    stacked = jax.vmap(model.init)(keys)
    chex.assert_shape(stacked[0][0]["weight"], (5, 6, 8))
    x = jax.random.normal(jax.random.key(9), (3, 6))
    ensemble = jax.jit(jax.vmap(model.apply, in_axes=(0, None)))(stacked, x)
    loop = np.stack([model.apply(model.init(k), x) for k in keys])
    np.testing.assert_allclose(ensemble, loop, rtol=1e-5, atol=1e-6)
    assert not np.allclose(loop[0], loop[1])  # members really differ


def test_eager_apply_is_one_compiled_program():
    model = _mlp()
    params = model.init(jax.random.key(0))
    jaxpr = jax.make_jaxpr(model.apply)(params, jnp.ones((2, 6)))
    assert [eqn.primitive.name for eqn in jaxpr.eqns] == ["jit"]  # one program, dispatched once
    inner = jaxpr.eqns[0].params["jaxpr"].jaxpr
    assert [eqn.primitive.name for eqn in inner.eqns].count("dot_general") == 3
    assert "jit" not in [eqn.primitive.name for eqn in inner.eqns]  # the layers are inlined, not nested calls


def test_empty_sequential_is_identity():
    model = tj.Sequential()
    x = jnp.ones((2, 3))
    np.testing.assert_array_equal(model.apply(model.init(jax.random.key(0)), x), x)


def test_apply_key_is_validated_only_when_a_layer_takes_one():
    model = _mlp()
    params = model.init(jax.random.key(0))
    # no layer takes a key: the key is ignored, as in inference
    np.testing.assert_array_equal(
        model.apply(params, jnp.ones((1, 6)), key=jax.random.key(1)), model.apply(params, jnp.ones((1, 6)))
    )
    with pytest.raises(tj.ConfigError, match="Layer, an"):
        tj.Sequential(tj.Linear(2, 2), "relu")
