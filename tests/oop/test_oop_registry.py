"""The OOP face owns the links from layer factories to its classes: each registered class exists and round-trips."""

import jax
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import oop
from tinyjax.oop import bridge

RNG = np.random.default_rng(0)
IMAGE = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
ROWS = RNG.standard_normal((2, 4)).astype(np.float32)
SEQ = RNG.standard_normal((2, 5, 8)).astype(np.float32)

EXAMPLES = {  # factory -> (a layer it builds, an input)
    tj.Linear: (tj.Linear(4, 3), ROWS),
    tj.ReLU: (tj.ReLU(), ROWS),
    tj.Sigmoid: (tj.Sigmoid(), ROWS),
    tj.Tanh: (tj.Tanh(), ROWS),
    tj.SiLU: (tj.SiLU(), ROWS),
    tj.GELU: (tj.GELU(True), ROWS),
    tj.Softmax: (tj.Softmax(axis=0), ROWS),
    tj.Dropout: (tj.Dropout(0.25), ROWS),
    tj.Conv2d: (tj.Conv2d(3, 2, 3, padding=1, bias=False), IMAGE),
    tj.BatchNorm2d: (tj.BatchNorm2d(3), IMAGE),
    tj.BatchNorm1d: (tj.BatchNorm1d(4), ROWS),
    tj.LayerNorm: (tj.LayerNorm(4), ROWS),
    tj.MaxPool2d: (tj.MaxPool2d(2), IMAGE),
    tj.AvgPool2d: (tj.AvgPool2d(2, stride=1), IMAGE),
    tj.Flatten: (tj.Flatten(), IMAGE),
    tj.Embedding: (tj.Embedding(7, 4), np.array([[1, 2], [6, 0]])),
    tj.PositionalEncoding: (tj.PositionalEncoding(6, 8), SEQ),
    tj.MultiHeadAttention: (tj.MultiHeadAttention(8, 2), SEQ),
    tj.TransformerBlock: (tj.TransformerBlock(8, 2), SEQ),
    tj.Sequential: (tj.Sequential(tj.Linear(4, 3), tj.ReLU()), ROWS),
}


def test_every_registered_factory_has_an_example_and_a_class():
    links = bridge.classes()
    assert set(links) == set(EXAMPLES)
    for factory, cls in links.items():
        assert tj.layer.is_factory(factory) and issubclass(cls, oop.Module)
        assert getattr(oop, cls.__name__) is cls  # the class is public


@pytest.mark.parametrize("factory", list(EXAMPLES), ids=lambda f: f.__name__)
def test_registered_class_round_trips(factory):
    layer, x = EXAMPLES[factory]
    params = layer.init(jax.random.key(0))
    module = oop.from_functional(layer, params).eval()
    assert type(module) is bridge.classes()[factory]
    back_layer, back = module.to_functional()
    assert back_layer is layer
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(back), strict=True):
        assert a is b
    np.testing.assert_array_equal(np.asarray(module(x).data), np.asarray(layer.apply(params, x)))


def test_a_factory_without_a_class_gives_the_functional_wrapper():
    for layer in (tj.Identity(), tj.Repeat(tj.Linear(4, 4), 2)):
        params = layer.init(jax.random.key(1))
        module = oop.from_functional(layer, params)
        assert type(module) is oop.Functional
        np.testing.assert_array_equal(np.asarray(module(ROWS).data), np.asarray(layer.apply(params, ROWS)))
        assert len(module.parameters()) == len(tj.parameters(params))
