"""The OOP face: one implementation of the math with the functional core, identity of parameters, bridges."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import oop


def _seed_mlp():
    return oop.Sequential(oop.Linear(784, 128), oop.ReLU(), oop.Linear(128, 64), oop.ReLU(), oop.Linear(64, 10))


def test_parameters_are_the_functional_arrays():
    layer = oop.Linear(6, 3)
    assert layer.parameters()[0] is layer.weight and layer.parameters()[1] is layer.bias
    assert layer.params["weight"] is layer.weight.array and layer.params["bias"] is layer.bias.array
    assert layer.weight.requires_grad and layer.bias.requires_grad  # TinyTorch marks both
    _, params = layer.to_functional()
    assert params["weight"] is layer.weight.array
    no_bias = oop.Linear(6, 3, bias=False)
    assert no_bias.bias is None and no_bias.parameters() == [no_bias.weight]


def test_updating_a_parameter_tensor_updates_the_forward():
    layer = oop.Linear(2, 2)
    layer.weight.data = jnp.eye(2)
    layer.bias.data = jnp.array([1.0, -1.0])
    np.testing.assert_array_equal(layer(np.array([[3.0, 4.0]])).numpy(), [[4.0, 3.0]])


def test_oop_equals_functional_for_the_same_weights():
    model = _seed_mlp()
    layer, params = model.to_functional()
    x = np.random.default_rng(0).standard_normal((16, 784)).astype(np.float32)
    oop_out = model.forward(x).numpy()
    np.testing.assert_allclose(oop_out, np.asarray(layer.apply(params, x)), rtol=1e-6, atol=1e-6)
    for source in (x, jnp.asarray(x), oop.Tensor(x)):  # every input kind, Tensor out
        out = model(source)
        assert isinstance(out, oop.Tensor)
        np.testing.assert_array_equal(out.numpy(), oop_out)


def test_round_trip_keeps_every_array_bit_identical():
    functional = tj.Sequential(tj.Linear(5, 4), tj.GELU(), tj.Dropout(0.3), tj.Linear(4, 3, bias=False), tj.Softmax())
    params = functional.init(jax.random.key(3))
    model = oop.from_functional(functional, params)
    assert [type(m).__name__ for m in model] == ["Linear", "GELU", "Dropout", "Linear", "Softmax"]
    assert model[2].p == 0.3 and model[4].dim == -1
    back_layer, back_params = model.to_functional()
    assert back_layer is functional  # the same Layer (memoised factories): same config, same programs
    chex.assert_trees_all_equal(back_params, params)
    for a, b in zip(jax.tree_util.tree_leaves(back_params), jax.tree_util.tree_leaves(params), strict=True):
        assert a is b  # the very same arrays: no copy either way
    again = oop.from_functional(back_layer, back_params)
    chex.assert_trees_all_equal(again.params, params)
    x = jnp.ones((2, 5))
    np.testing.assert_array_equal(model.eval()(x).numpy(), functional.apply(params, x))


def test_from_functional_wraps_user_pairs_and_rejects_wrong_params():
    pair = (lambda key: {"scale": jnp.array([2.0, 3.0])}, lambda p, x: x * p["scale"])
    functional = tj.Sequential(tj.Linear(2, 2), pair)
    params = functional.init(jax.random.key(0))
    model = oop.from_functional(functional, params)
    assert isinstance(model[1], oop.Functional)
    assert model[1].parameters()[0].array is params[1]["scale"]
    np.testing.assert_array_equal(model(jnp.ones((1, 2))).numpy(), functional.apply(params, jnp.ones((1, 2))))
    with pytest.raises(tj.ParamsError, match=r"Linear\(3 -> 2\).*\(3, 2\).*\(2, 2\)"):
        oop.from_functional(tj.Linear(3, 2), params[0])


def test_sequential_parameters_order_and_shared_layers_counted_once():
    shared = oop.Linear(4, 4)
    model = oop.Sequential([shared, oop.ReLU(), shared, oop.Linear(4, 2)])
    params = model.parameters()
    assert len(params) == 4
    assert params[0] is shared.weight and params[1] is shared.bias and params[2] is model[3].weight
    assert oop.ReLU().parameters() == [] and oop.Softmax(dim=0).parameters() == []


def test_sequential_container_protocol():
    model = _seed_mlp()
    assert len(model) == 5
    assert isinstance(model[0], oop.Linear) and isinstance(model[-1], oop.Linear)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    head = model[:2]
    assert isinstance(head, oop.Sequential) and len(head) == 2
    assert head(np.ones((1, 784))).shape == (1, 128)
    with pytest.raises(tj.ConfigError, match=r"tinyjax\.oop modules"):
        oop.Sequential([oop.Linear(2, 2), "relu"])


def test_train_and_eval_are_passed_down():
    model = oop.Sequential(oop.Linear(3, 3), oop.Dropout(0.5), oop.Sequential(oop.Dropout(0.5)))
    model.eval()
    assert not model.training and not model[1].training and not model[2][0].training
    model.train()
    assert model[1].training and model[2][0].training


def test_reprs():
    assert repr(oop.Linear(784, 128)) == "Linear(in_features=784, out_features=128, bias=True)"
    assert repr(oop.Linear(3, 2, bias=False)) == "Linear(in_features=3, out_features=2, bias=False)"
    assert repr(oop.Softmax(dim=1)) == "Softmax(dim=1)" and repr(oop.Dropout(0.1)) == "Dropout(p=0.1)"
    assert "(4): Linear(in_features=64, out_features=10, bias=True)" in repr(_seed_mlp())


def test_manual_seed_makes_construction_repeatable():
    oop.manual_seed(7)
    a = oop.Linear(5, 5)
    oop.manual_seed(7)
    b = oop.Linear(5, 5)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert not np.array_equal(oop.Linear(5, 5).weight.numpy(), b.weight.numpy())


def test_oop_errors_are_the_cores():
    with pytest.raises(tj.ShapeError, match=r"Linear\(10 -> 5\).*\(\.\.\., 10\).*\(3, 7\)"):
        oop.Linear(10, 5).forward(np.ones((3, 7), np.float32))
    with pytest.raises(tj.ConfigError):
        oop.Linear(0, 5)


def test_round_trip_keeps_the_linear_configuration():
    functional = tj.Linear(4, 3, dtype=jnp.bfloat16, weight_init=tj.initializers.zeros)
    params = functional.init(jax.random.key(0))
    module = oop.from_functional(functional, params)
    layer, back = module.to_functional()
    assert layer is functional and layer.config["dtype"] == jnp.bfloat16
    assert back["weight"] is params["weight"] and module.weight.dtype == jnp.bfloat16


def test_from_functional_rejects_a_missing_or_extra_bias():
    weight = jnp.ones((3, 2))
    with pytest.raises(tj.ParamsError, match=r"Linear\(3 -> 2\).*'bias', 'weight'.*\['weight'\]"):
        oop.from_functional(tj.Linear(3, 2), {"weight": weight})
    with pytest.raises(tj.ParamsError, match=r"\['bias', 'weight'\]"):
        oop.from_functional(tj.Linear(3, 2, bias=False), {"weight": weight, "bias": jnp.zeros(2)})


def test_empty_sequential_repr():
    assert repr(oop.Sequential()) == "Sequential()" and len(oop.Sequential([])) == 0


MIRRORED = [tj.Linear(4, 3), tj.Linear(4, 3, bias=False), tj.ReLU(), tj.Sigmoid(), tj.Tanh(), tj.GELU()]
MIRRORED += [tj.SiLU(), tj.GELU(True), tj.Softmax(axis=0), tj.Dropout(0.25)]


@pytest.mark.parametrize("layer", MIRRORED, ids=lambda layer: layer.name)
def test_each_class_from_functional_holds_exactly_the_arrays_and_the_options(layer):
    params = layer.init(jax.random.key(0))
    cls = getattr(oop, layer.kind)  # the class named like the functional layer
    module = cls.from_functional(layer, params)
    assert type(module) is cls
    back_layer, back_params = module.to_functional()
    assert back_layer is layer  # the same options: GELU's approximate, Softmax's axis, Dropout's rate, Linear's bias
    for got, want in zip(jax.tree_util.tree_leaves(back_params), jax.tree_util.tree_leaves(params), strict=True):
        assert got is want
    assert all(t.requires_grad for t in module.parameters())


def test_sequential_from_functional_goes_through_each_child():
    functional = tj.Sequential(tj.Linear(5, 4), tj.GELU(True), tj.Sequential(tj.Linear(4, 3), tj.Softmax()))
    params = functional.init(jax.random.key(1))
    model = oop.Sequential.from_functional(functional, params)
    assert [type(m).__name__ for m in model] == ["Linear", "GELU", "Sequential"]
    assert model[2][0].weight.array is params[2][0]["weight"]
    assert model.to_functional()[0] is functional


def test_sequential_checks_sizes_when_built_and_names_the_position():
    with pytest.raises(tj.ShapeError, match=r"Sequential\[2\] Linear\(64 -> 10\).*\(\.\.\., 64\).*\(128,\)"):
        oop.Sequential(oop.Linear(784, 128), oop.ReLU(), oop.Linear(64, 10))
    with pytest.raises(tj.ShapeError, match=r"Sequential\[1\]\[0\] Linear\(5 -> 2\)"):
        oop.Sequential(oop.Linear(3, 4), oop.Sequential(oop.Linear(5, 2)))


def test_sequential_forward_takes_training_for_its_dropouts():
    model = oop.Sequential(oop.Linear(8, 8), oop.Dropout(0.5), oop.Sequential(oop.Dropout(0.5)))
    x = np.ones((4, 8), np.float32)
    reference = model[0](x).numpy()
    np.testing.assert_array_equal(model.forward(x, training=False).numpy(), reference)
    assert model.training  # the flag is for this call only
    model.eval()
    assert not np.array_equal(model.forward(x, training=True).numpy(), reference)
    np.testing.assert_array_equal(model(x).numpy(), reference)


@pytest.mark.parametrize("bad", [None, "abc"])
def test_forward_of_none_or_a_string_raises_the_librarys_error(bad):
    for module in (oop.Linear(3, 2), oop.ReLU(), oop.Sequential(oop.Linear(3, 2))):
        with pytest.raises(tj.DTypeError, match=r"Tensor: expected real numbers.*got (NoneType None|str 'abc')"):
            module.forward(bad)


def test_integer_input_is_made_float32_as_tinytorch_does():
    # no dtype advice is needed in the OOP face: every input becomes a float32 Tensor
    out = oop.Linear(3, 2)(np.arange(6).reshape(2, 3))
    assert out.dtype == np.float32 and out.shape == (2, 2)


def test_base_module_forward_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        oop.Module()(np.ones(2))


def test_softmax_forward_takes_dim():
    x = np.arange(6.0).reshape(2, 3)
    softmax = oop.Softmax()
    np.testing.assert_allclose(softmax.forward(x, dim=0).numpy().sum(axis=0), [1.0, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(softmax(x).numpy().sum(axis=1), [1.0, 1.0], rtol=1e-6)
