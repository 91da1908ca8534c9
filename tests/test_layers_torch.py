"""PyTorch as the oracle for the new layers beyond the conformance table: BatchNorm in training over several
steps, a Sequential mixing every family, padding and out-of-range semantics, and from_torch_state_dict bit for bit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj

torch = pytest.importorskip("torch")
KEY = jax.random.key(0)


def _torch(layer):
    if layer.chain:
        return getattr(torch.nn, layer.torch.module)(*(_torch(child) for child in layer.children))
    return getattr(torch.nn, layer.torch.module)(**layer.torch.kwargs)


def _run(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(np.array(x))).numpy()


@pytest.mark.parametrize(
    "layer, shape",
    [(tj.BatchNorm2d(3), (4, 3, 5, 5)), (tj.BatchNorm1d(3), (6, 3, 4)), (tj.BatchNorm1d(3, momentum=None), (6, 3))],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_batchnorm_training_steps_and_running_statistics_match_torch(layer, shape):
    params = layer.init(KEY)
    module = _torch(layer)
    module.load_state_dict(tj.interop.to_torch_state_dict(params, layer), strict=True)
    module.train()
    trainable, state = tj.split_state(layer, params)
    for step in range(4):
        x = np.asarray(jax.random.normal(jax.random.key(step), shape) * (step + 1) + step)
        y, state = layer.apply(tj.merge_state(trainable, state), x, training=True)
        np.testing.assert_allclose(y, _run(module, x), rtol=1e-5, atol=1e-5)
    theirs = module.state_dict()
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(state[name], theirs[name].numpy(), rtol=1e-5, atol=1e-6)
    assert int(state["num_batches_tracked"]) == int(theirs["num_batches_tracked"]) == 4
    module.eval()
    x = np.asarray(jax.random.normal(KEY, shape))
    np.testing.assert_allclose(layer.apply(tj.merge_state(trainable, state), x), _run(module, x), rtol=1e-5, atol=1e-5)


MIXED = tj.Sequential(
    tj.Conv2d(2, 4, 3, stride=1, padding=1),
    tj.BatchNorm2d(4),
    tj.ReLU(),
    tj.MaxPool2d(3, stride=2, padding=1),
    tj.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
    tj.Conv2d(4, 3, (2, 3), padding=(1, 0), bias=False),
    tj.Flatten(),
    tj.LayerNorm(30),
    tj.Linear(30, 8),
    tj.RMSNorm(8),
    tj.Identity(),
)


def test_a_sequential_mixing_the_families_matches_torch_in_training_and_eval():
    x = np.asarray(jax.random.normal(KEY, (3, 2, 6, 6)))
    params = MIXED.init(KEY)
    module = _torch(MIXED)
    module.load_state_dict(tj.interop.to_torch_state_dict(params, MIXED), strict=True)
    assert MIXED.output_shape(x.shape) == (3, 8)
    trainable, state = tj.split_state(MIXED, params)
    module.train()
    for _ in range(3):
        y, state = MIXED.apply(tj.merge_state(trainable, state), x, training=True)
        np.testing.assert_allclose(y, _run(module, x), rtol=1e-5, atol=1e-5)
    module.eval()
    params = tj.merge_state(trainable, state)
    np.testing.assert_allclose(MIXED.apply(params, x), _run(module, x), rtol=1e-5, atol=1e-5)
    back = tj.interop.from_torch_state_dict(module.state_dict(), MIXED)  # bit for bit, running statistics included
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(back), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # torch's own running statistics, equal to ours
        assert a.dtype == b.dtype and a.shape == b.shape
    again = tj.interop.to_torch_state_dict(back, MIXED)
    for name, tensor in module.state_dict().items():
        assert torch.equal(again[name].to(tensor.dtype), tensor), name  # torch -> tinyjax -> torch, bit for bit


def test_embedding_matches_torch_and_fills_out_of_range_rows_with_nan():
    layer = tj.Embedding(6, 3)
    params = layer.init(KEY)
    module = _torch(layer)
    module.load_state_dict(tj.interop.to_torch_state_dict(params, layer), strict=True)
    indices = np.array([[0, 5, 2], [1, 1, 4]], np.int32)
    np.testing.assert_array_equal(layer.apply(params, indices), _run(module, indices.astype(np.int64)))
    out = np.asarray(layer.apply(params, np.array([-1, 6, 2], np.int32)))
    assert np.isnan(out[:2]).all() and np.array_equal(out[2], params["weight"][2])  # torch raises IndexError there
    with pytest.raises(tj.DTypeError, match="integer indices"):
        layer.apply(params, np.ones((2,), np.float32))
    grads = jax.grad(lambda p: jnp.nansum(layer.apply(p, np.array([1, 9], np.int32))))(params)
    np.testing.assert_array_equal(grads["weight"].sum(1), [0, 3, 0, 0, 0, 0])  # the bad index reaches no row


def test_max_pool_pads_with_minus_infinity_and_avg_pool_counts_the_padding():
    x = -np.abs(np.asarray(jax.random.normal(KEY, (1, 1, 4, 4)))) - 1  # all negative: a zero pad would win a max
    for layer in (tj.MaxPool2d(3, 2, 1), tj.AvgPool2d(3, 2, 1), tj.AvgPool2d(3, 2, 1, count_include_pad=False)):
        np.testing.assert_allclose(layer.apply((), x), _run(_torch(layer), x), rtol=1e-6, atol=1e-6)
    assert float(tj.MaxPool2d(3, 2, 1).apply((), x).max()) < -1


def test_bad_configurations_are_refused():
    with pytest.raises(tj.ConfigError, match="at most half the kernel"):
        tj.MaxPool2d(2, padding=2)
    with pytest.raises(tj.ConfigError, match="kernel_size"):
        tj.Conv2d(1, 2, 0)
    with pytest.raises(tj.ShapeError, match=r"Residual.*inner output"):
        tj.Residual(tj.Linear(3, 4))
    with pytest.raises(tj.ShapeError, match=r"Conv2d\(3 -> 4.*\(N, 3, H, W\)"):
        tj.Conv2d(3, 4, 3).apply(tj.Conv2d(3, 4, 3).init(KEY), jnp.ones((1, 2, 5, 5)))
