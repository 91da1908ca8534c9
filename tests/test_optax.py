"""Params pytrees work with optax as they are: a few Adam steps on a Sequential lower the loss."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj

optax = pytest.importorskip("optax")


def test_adam_steps_on_a_sequential_lower_the_loss():
    model = tj.Sequential(tj.Linear(4, 16), tj.ReLU(), tj.Linear(16, 3))
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (64, 4))
    labels = jnp.argmax(x[:, :3], axis=-1)  # a learnable rule
    optimizer = optax.adam(1e-2)
    state = optimizer.init(params)

    def loss_fn(p):
        return tj.losses.cross_entropy(model.apply(p, x), labels)

    @jax.jit
    def step(p, s):
        loss, grads = jax.value_and_grad(loss_fn)(p)
        updates, s = optimizer.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    losses = []
    for _ in range(30):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    assert jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(model.param_shapes())
    assert losses[-1] < 0.5 * losses[0]
    assert all(b <= a * 1.05 for a, b in itertools.pairwise(losses))  # no blow-up along the way


def test_an_adam_state_round_trips_through_a_weights_file(tmp_path):
    # Adam's state holds a 0-d step count beside the moments: every leaf must keep its shape.
    model = tj.Sequential(tj.Linear(4, 8), tj.ReLU(), tj.Linear(8, 3))
    params = model.init(jax.random.key(0))
    optimizer = optax.adam(1e-2)
    state = optimizer.init(params)
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    _, state = optimizer.update(grads, state, params)  # one step: a count of 1, non-zero moments
    path = tmp_path / "adam.safetensors"
    tj.save(path, state)
    back = tj.load(path, state)
    assert jax.tree_util.tree_structure(back) == jax.tree_util.tree_structure(state)
    leaves = jax.tree_util.tree_leaves(state)
    assert any(leaf.shape == () for leaf in leaves)  # the count
    for ours, saved in zip(jax.tree_util.tree_leaves(back), leaves, strict=True):
        assert ours.shape == saved.shape and ours.dtype == saved.dtype
        np.testing.assert_array_equal(ours, saved)
    _, resumed = optimizer.update(grads, back, params)  # the loaded state works in optax
    assert int(resumed[0].count) == 2
