"""Parameter management: order, names, counts, bytes."""

import jax
import jax.numpy as jnp
import numpy as np

import tinyjax as tj


def _model():
    return tj.Sequential(tj.Linear(4, 3), tj.ReLU(), tj.Linear(3, 2, bias=False), tj.Sequential(tj.Linear(2, 5)))


def test_parameters_in_layer_order_weight_before_bias():
    params = _model().init(jax.random.key(0))
    flat = tj.parameters(params)
    expected = [params[0]["weight"], params[0]["bias"], params[2]["weight"], params[3][0]["weight"]]
    expected.append(params[3][0]["bias"])
    assert len(flat) == len(expected)
    for got, want in zip(flat, expected, strict=True):
        assert got is want


def test_order_survives_a_jax_transformation():
    params = jax.tree_util.tree_map(lambda a: a, _model().init(jax.random.key(0)))
    params = jax.jit(lambda p: p)(params)  # dicts come back with sorted keys: bias before weight
    assert [a.shape for a in tj.parameters(params)] == [(4, 3), (3,), (3, 2), (2, 5), (5,)]


def test_named_parameters_use_state_dict_names():
    params = _model().init(jax.random.key(0))
    named = tj.named_parameters(params)
    assert list(named) == ["0.weight", "0.bias", "2.weight", "3.0.weight", "3.0.bias"]
    assert named["2.weight"] is params[2]["weight"]
    assert list(tj.named_parameters(tj.Linear(2, 2).init(jax.random.key(0)))) == ["weight", "bias"]


def test_count_and_bytes():
    params = _model().init(jax.random.key(0))
    count = 4 * 3 + 3 + 3 * 2 + 2 * 5 + 5
    assert tj.count_params(params) == count
    assert tj.param_bytes(params) == 4 * count
    bf16 = tj.Linear(10, 10, dtype=jnp.bfloat16).init(jax.random.key(0))
    assert tj.param_bytes(bf16) == 2 * 110


def test_count_without_allocating():
    huge = tj.Linear(12288, 49152)
    shapes = huge.param_shapes()
    assert isinstance(shapes["weight"], jax.ShapeDtypeStruct)
    assert tj.count_params(shapes) == 12288 * 49152 + 49152
    assert tj.param_bytes(shapes) == 4 * (12288 * 49152 + 49152)


def test_empty_params():
    assert tj.parameters(tj.ReLU().init(jax.random.key(0))) == []
    assert tj.count_params(()) == 0
    np.testing.assert_equal(tj.named_parameters(()), {})
