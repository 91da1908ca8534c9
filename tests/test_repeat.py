"""Repeat: stacked params, scan, equal to the unrolled Sequential in values and gradients."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj

BLOCK = tj.Sequential(tj.Linear(16, 16), tj.Tanh())
N = 5


def _unrolled(params):
    return tuple(jax.tree_util.tree_map(lambda a, i=i: a[i], params) for i in range(N))


def test_params_are_stacked_and_each_copy_has_its_own_key():
    params = tj.Repeat(BLOCK, N).init(jax.random.key(0))
    chex.assert_shape(params[0]["weight"], (N, 16, 16))
    chex.assert_shape(params[0]["bias"], (N, 16))
    expected = jax.vmap(BLOCK.init)(jax.random.split(jax.random.key(0), N))
    chex.assert_trees_all_equal(params, expected)
    weights = np.asarray(params[0]["weight"])
    assert not np.array_equal(weights[0], weights[1])
    assert list(tj.named_parameters(params)) == ["0.weight", "0.bias"]


def test_equals_unrolled_sequential_values_and_grads():
    repeat = tj.Repeat(BLOCK, N)
    unrolled = tj.Sequential([BLOCK] * N)
    params = repeat.init(jax.random.key(1))
    x = jax.random.normal(jax.random.key(2), (3, 16))
    np.testing.assert_allclose(repeat.apply(params, x), unrolled.apply(_unrolled(params), x), rtol=1e-6, atol=1e-6)

    grads = jax.grad(lambda p: jnp.sum(repeat.apply(p, x) ** 2))(params)
    unrolled_grads = jax.grad(lambda p: jnp.sum(unrolled.apply(p, x) ** 2))(_unrolled(params))
    for i in range(N):
        chex.assert_trees_all_close(
            jax.tree_util.tree_map(lambda a, i=i: a[i], grads), unrolled_grads[i], rtol=1e-5, atol=1e-6
        )
    x_grad = jax.grad(lambda v: repeat.apply(params, v).sum())(x)
    np.testing.assert_allclose(x_grad, jax.grad(lambda v: unrolled.apply(_unrolled(params), v).sum())(x), rtol=1e-5)


def test_compiles_one_block_not_n():
    repeat = tj.Repeat(tj.Linear(8, 8), 50)
    jaxpr = jax.make_jaxpr(repeat.raw_apply)(repeat.param_shapes(), jnp.ones((2, 8)))
    text = str(jaxpr)
    assert text.count("dot_general") == 1 and "scan" in text


def test_inside_a_sequential_and_with_dropout_keys():
    model = tj.Sequential(tj.Linear(10, 16), tj.Repeat(tj.Sequential(tj.Linear(16, 16), tj.Dropout(0.5)), 3))
    params = model.init(jax.random.key(0))
    x = jnp.ones((2, 10))
    assert model.apply(params, x).shape == (2, 16)
    a = model.apply(params, x, key=jax.random.key(1))
    np.testing.assert_array_equal(a, model.apply(params, x, key=jax.random.key(1)))
    assert not np.array_equal(a, model.apply(params, x))


def test_errors():
    with pytest.raises(tj.ShapeError, match=r"Repeat\(Linear\(4 -> 3\), n=2\) block.*\(\.\.\., 4\).*\(\.\.\., 3\)"):
        tj.Repeat(tj.Linear(4, 3), 2)
    with pytest.raises(tj.ConfigError, match="n must be a positive integer"):
        tj.Repeat(tj.ReLU(), 0)
    repeat = tj.Repeat(tj.Linear(4, 4), 3)
    with pytest.raises(tj.ParamsError, match="leading axis of size 3"):
        repeat.apply(tj.Repeat(tj.Linear(4, 4), 2).init(jax.random.key(0)), jnp.ones((1, 4)))
    grow = tj.as_layer((lambda key: (), lambda p, x: jnp.concatenate([x, x], axis=-1)))
    with pytest.raises(tj.ShapeError, match="must map its input shape"):
        tj.Repeat(grow, 2).apply((), jnp.ones((1, 4)))


@pytest.mark.parametrize("remat", ["dots", "all"])
def test_every_remat_choice_gives_the_unrolled_gradients(remat):
    block = tj.TransformerBlock(8, 2, 2, causal=True)
    model = tj.Repeat(block, 2, remat=remat)
    params = model.init(jax.random.key(1))
    x = jax.random.normal(jax.random.key(2), (2, 5, 8))

    def unrolled(params, x):
        for i in range(2):
            x = block.apply(jax.tree_util.tree_map(lambda a, i=i: a[i], params), x)
        return jnp.sum(jnp.sin(x))

    got = jax.grad(lambda p, x: jnp.sum(jnp.sin(model.apply(p, x))), argnums=(0, 1))(params, x)
    chex.assert_trees_all_close(got, jax.grad(unrolled, argnums=(0, 1))(params, x), rtol=1e-5, atol=1e-6)


def test_an_unknown_remat_choice_is_refused():
    with pytest.raises(tj.ConfigError, match="remat"):
        tj.Repeat(BLOCK, N, remat="some")
