"""Layer factories are memoised: equal arguments share one Layer and so one compiled program."""

import jax
import jax.numpy as jnp
import pytest

import tinyjax as tj
from tinyjax import oop
from tinyjax.oop import autograd


def test_equal_arguments_give_the_same_layer():
    assert tj.Linear(3, 2) is tj.Linear(3, 2)
    assert tj.Linear(3, 2) is not tj.Linear(3, 2, bias=False)
    assert tj.Softmax(axis=0) is tj.Softmax(axis=0) and tj.Softmax(axis=0) is not tj.Softmax()
    assert tj.Sequential(tj.Linear(3, 2), tj.ReLU()) is tj.Sequential([tj.Linear(3, 2), tj.ReLU()])


def test_arguments_of_another_type_are_not_confused():
    tj.Linear(2, 3)
    with pytest.raises(tj.ConfigError):
        tj.Linear(2.0, 3)  # equal to 2 and hashes alike, but a float is still refused
    with pytest.raises(tj.ConfigError):
        tj.Linear(True, 3)


def test_unhashable_arguments_still_build():
    class Unhashable:
        __hash__ = None

        def __call__(self, key, shape, dtype=jnp.float32):
            return jnp.zeros(shape, dtype)

    layer = tj.Linear(3, 2, weight_init=Unhashable())
    assert float(layer.init(jax.random.key(0))["weight"].sum()) == 0.0


def test_many_oop_objects_share_one_compiled_apply():
    members = [oop.Sequential(oop.Linear(7, 5), oop.ReLU(), oop.Linear(5, 3)) for _ in range(4)]
    x = jnp.ones((2, 7))
    with oop.no_grad():  # inference calls each layer's own compiled apply
        for member in members:
            member(x)
    assert tj.Linear(7, 5).apply.jitted._cache_size() == 1  # one trace and compile for all four objects
    # recording for backward (the parameters require grad): one jax.vjp program per layer, shared too
    members[0](x)
    compiled = autograd._forward._cache_size()
    for member in members[1:]:
        member(x)
    assert autograd._forward._cache_size() == compiled
