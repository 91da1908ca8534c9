"""The seed module's inline tests and example, in functional form."""

import jax
import numpy as np

import tinyjax as tj


def test_linear_shape_and_params():
    layer = tj.Linear(10, 5)
    params = layer.init(jax.random.key(0))
    x = np.random.default_rng(0).standard_normal((3, 10)).astype(np.float32)
    assert layer.apply(params, x).shape == (3, 5)
    arrays = tj.parameters(params)
    assert len(arrays) == 2
    assert arrays[0].shape == (10, 5)
    assert arrays[1].shape == (5,)


def test_sequential_small():
    model = tj.Sequential([tj.Linear(10, 5), tj.ReLU(), tj.Linear(5, 2)])
    params = model.init(jax.random.key(0))
    x = np.random.default_rng(0).standard_normal((3, 10)).astype(np.float32)
    assert model.apply(params, x).shape == (3, 2)


def test_seed_mlp():
    model = tj.Sequential([tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10)])
    params = model.init(jax.random.key(0))
    x = np.random.default_rng(0).standard_normal((32, 784)).astype(np.float32)
    assert model.apply(params, x).shape == (32, 10)
    arrays = tj.parameters(params)
    assert len(tj.parameters(params)) == 6  # [W1, b1, W2, b2, W3, b3]
    assert [a.shape for a in arrays] == [(784, 128), (128,), (128, 64), (64,), (64, 10), (10,)]
    assert tj.count_params(params) == 109_386
    assert tj.count_params(params) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10


def test_seed_two_layer_example_parameters():
    model = tj.Sequential([tj.Linear(784, 256), tj.ReLU(), tj.Linear(256, 10)])
    params = model.init(jax.random.key(0))
    w1, b1, w2, b2 = tj.parameters(params)
    assert (w1.shape, b1.shape, w2.shape, b2.shape) == ((784, 256), (256,), (256, 10), (10,))
