"""State (BatchNorm's running statistics): updated in training, used in inference, never mutated, never trained."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import tinyjax as tj

KEY = jax.random.key(0)
MODEL = tj.Sequential(tj.Conv2d(2, 3, 3, padding=1), tj.BatchNorm2d(3), tj.ReLU(), tj.Flatten(), tj.Linear(48, 4))


def _x(n=5, seed=1):
    return jax.random.normal(jax.random.key(seed), (n, 2, 4, 4)) * 2 + 1


def test_layers_without_state_keep_the_plain_apply():
    model = tj.Sequential(tj.Linear(3, 2), tj.Dropout(0.1))
    params = model.init(KEY)
    assert not model.stateful and not tj.Linear(3, 2).stateful
    assert model.apply(params, jnp.ones((1, 3)), training=True, key=KEY).shape == (1, 2)  # y, not a pair
    trainable, state = tj.split_state(model, params)
    assert trainable is not params and jax.tree_util.tree_leaves(state) == []


def test_training_returns_the_new_state_and_mutates_nothing():
    params = MODEL.init(KEY)
    before = jax.tree_util.tree_map(np.array, params)
    x = _x()
    y, state = MODEL.apply(params, x, training=True)
    for a, b in zip(jax.tree_util.tree_leaves(before), jax.tree_util.tree_leaves(params), strict=True):
        np.testing.assert_array_equal(a, b)  # nothing changed in place
    assert y.shape == (5, 4) and MODEL.stateful
    assert [jax.tree_util.tree_leaves(s) == [] for s in state] == [True, False, True, True, True]
    features = tj.Conv2d(2, 3, 3, padding=1).apply(params[0], x)
    np.testing.assert_allclose(state[1]["running_mean"], 0.1 * features.mean((0, 2, 3)), rtol=1e-5, atol=1e-6)
    n = 5 * 4 * 4
    np.testing.assert_allclose(
        state[1]["running_var"], 0.9 + 0.1 * features.var((0, 2, 3)) * n / (n - 1), rtol=1e-5, atol=1e-6
    )
    assert int(state[1]["num_batches_tracked"]) == 1
    merged = tj.merge_state(tj.split_state(MODEL, params)[0], state)
    inference = MODEL.apply(merged, x)  # the running statistics, a plain y
    assert inference.shape == (5, 4) and not np.allclose(inference, y)


def test_the_optimizer_never_sees_the_state():
    params = MODEL.init(KEY)
    trainable, state = tj.split_state(MODEL, params)
    names = set(tj.named_parameters(trainable))
    assert names == {"0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"}
    assert set(tj.named_parameters(state)) == {"1.running_mean", "1.running_var", "1.num_batches_tracked"}
    optimizer = optax.adamw(1e-2, weight_decay=0.5)  # a decay that would shrink any array it saw
    opt_state = optimizer.init(trainable)

    @jax.jit
    def step(trainable, state, opt_state, x):
        def loss(t):
            y, new = MODEL.apply(tj.merge_state(t, state), x, training=True)
            return jnp.mean(y**2), new

        (_, state), grads = jax.value_and_grad(loss, has_aux=True)(trainable)
        updates, opt_state = optimizer.update(grads, opt_state, trainable)
        return optax.apply_updates(trainable, updates), state, opt_state

    for i in range(3):
        trainable, state, opt_state = step(trainable, state, opt_state, _x(seed=i))
    assert set(tj.named_parameters(opt_state[0].mu)) == names  # Adam's moments: the trainable arrays only
    assert int(state[1]["num_batches_tracked"]) == 3
    assert jax.tree_util.tree_structure(tj.merge_state(trainable, state)) == jax.tree_util.tree_structure(params)


def test_grad_and_vmap_through_a_sequential_holding_a_batchnorm():
    params = MODEL.init(KEY)
    trainable, state = tj.split_state(MODEL, params)
    x = _x()

    def loss(t):
        y, new = MODEL.apply(tj.merge_state(t, state), x, training=True)
        return jnp.sum(y), new

    grads, _ = jax.grad(loss, has_aux=True)(trainable)
    assert float(jnp.abs(grads[1]["weight"]).sum()) > 0  # BatchNorm's scale is trained
    # an ensemble of 3 models trained in one vmap: each gets its own statistics
    ensemble = jax.vmap(MODEL.init)(jax.random.split(KEY, 3))
    ys, states = jax.vmap(lambda p: MODEL.apply(p, x, training=True))(ensemble)
    for i in range(3):
        one = jax.tree_util.tree_map(lambda a, i=i: a[i], ensemble)
        y, s = MODEL.apply(one, x, training=True)
        np.testing.assert_allclose(ys[i], y, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(states[1]["running_var"][i], s[1]["running_var"], rtol=1e-6)


@pytest.mark.parametrize("wrap", ["Residual", "Repeat"])
def test_combinators_carry_the_state(wrap):
    block = tj.Sequential(tj.Linear(4, 4), tj.BatchNorm1d(4))
    layer = tj.Residual(block) if wrap == "Residual" else tj.Repeat(block, 2)
    params = layer.init(KEY)
    x = jax.random.normal(KEY, (6, 4))
    y, state = layer.apply(params, x, training=True)
    assert layer.stateful and y.shape == (6, 4)
    trainable, _ = tj.split_state(layer, params)
    merged = tj.merge_state(trainable, state)
    assert jax.tree_util.tree_structure(merged) == jax.tree_util.tree_structure(params)
    counts = np.asarray(merged[1]["num_batches_tracked"])
    assert (counts == 1).all() and counts.shape == (() if wrap == "Residual" else (2,))
    assert layer.apply(merged, x).shape == (6, 4)


def test_save_and_load_carry_the_state(tmp_path):
    params = MODEL.init(KEY)
    _, state = MODEL.apply(params, _x(), training=True)
    params = tj.merge_state(tj.split_state(MODEL, params)[0], state)
    tj.save(tmp_path / "w.safetensors", params, layer=MODEL)
    loaded = tj.load(tmp_path / "w.safetensors", MODEL)
    np.testing.assert_array_equal(loaded[1]["running_var"], params[1]["running_var"])
    assert int(loaded[1]["num_batches_tracked"]) == 1 and loaded[1]["num_batches_tracked"].dtype == jnp.int32


def test_training_flag_is_checked():
    layer = tj.BatchNorm1d(3)
    with pytest.raises(tj.ConfigError, match="training must be"):
        layer.apply(layer.init(KEY), jnp.ones((2, 3)), training="yes")
    with pytest.raises(tj.ShapeError, match="more than one value per channel"):
        layer.apply(layer.init(KEY), jnp.ones((1, 3)), training=True)


def test_oop_batchnorm_updates_itself_and_matches_the_functional_state():
    from tinyjax import oop

    module = oop.BatchNorm2d(3)
    layer, params = module.to_functional()
    x = np.asarray(jax.random.normal(KEY, (4, 3, 2, 2)))
    y_oop = module(x)  # training mode at construction, as TinyTorch
    y, state = layer.apply(params, x, training=True)
    np.testing.assert_array_equal(np.asarray(y_oop.data), y)
    np.testing.assert_array_equal(module.running_mean, state["running_mean"])
    assert [t.shape for t in module.parameters()] == [(3,), (3,)] and module.gamma is module.weight
    module.eval()
    np.testing.assert_array_equal(np.asarray(module(x).data), layer.apply(module.params, x))
