"""The layer API around the pair: one error root, training=, keyed user pairs, Lambda, precision=, docs, inputs."""

import inspect
import pydoc

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax.layer import Param, ParamInfo, Torch, define

KEY = jax.random.key(0)
X = jnp.ones((64, 32))


def test_every_exception_has_one_root_and_keeps_its_builtin_base():
    errors = [getattr(tj, name) for name in tj.__all__ if name.endswith("Error")]
    assert len(errors) == 16 and tj.TinyjaxError in errors
    for error in errors:
        assert issubclass(error, tj.TinyjaxError)
    assert issubclass(tj.ShapeError, ValueError) and issubclass(tj.DTypeError, TypeError)
    assert issubclass(tj.MissingAttributeError, AttributeError)
    assert issubclass(tj.IndexRangeError, IndexError) and issubclass(tj.UnsupportedError, TypeError)
    assert issubclass(tj.MissingPathError, FileNotFoundError) and issubclass(tj.PathPermissionError, PermissionError)
    assert issubclass(tj.PathIsFolderError, IsADirectoryError) and issubclass(tj.PathError, OSError)
    with pytest.raises(tj.TinyjaxError):
        tj.Linear(3, 2).apply(tj.Linear(3, 2).init(KEY), jnp.ones((1, 4)))


def test_dropout_training_flag():
    layer = tj.Dropout(0.5)
    key = jax.random.key(1)
    np.testing.assert_array_equal(layer.apply((), X, key=key, training=False), X)  # the key is ignored
    np.testing.assert_array_equal(layer.apply((), X, key=key, training=True), layer.apply((), X, key=key))
    np.testing.assert_array_equal(layer.apply((), X, training=None), X)  # None: no key means inference
    with pytest.raises(tj.KeyArgumentError, match=r"Dropout\(rate=0.5\).apply: training=True needs a key"):
        layer.apply((), X, training=True)
    with pytest.raises(tj.ConfigError, match="training must be True, False or None"):
        layer.apply((), X, key=key, training="yes")


def test_sequential_passes_training_to_its_dropouts():
    model = tj.Sequential(tj.Linear(32, 32), tj.Dropout(0.5))
    params = model.init(KEY)
    clean = model.apply(params, X)
    np.testing.assert_array_equal(model.apply(params, X, key=jax.random.key(2), training=False), clean)
    assert not np.array_equal(model.apply(params, X, key=jax.random.key(2), training=True), clean)
    with pytest.raises(tj.KeyArgumentError, match=r"Sequential\[1\] |Dropout"):
        model.apply(params, X, training=True)
    assert model.options == {"key", "training", "precision"}
    assert tj.Sequential(tj.ReLU()).options == frozenset()  # a Sequential takes only what its layers take


def test_repeat_passes_training_and_key():
    block = tj.Sequential(tj.Linear(32, 32), tj.Dropout(0.5))
    model = tj.Repeat(block, 2)
    params = model.init(KEY)
    clean = model.apply(params, X)
    np.testing.assert_array_equal(model.apply(params, X, key=jax.random.key(3), training=False), clean)
    assert not np.array_equal(model.apply(params, X, key=jax.random.key(3)), clean)
    with pytest.raises(tj.KeyArgumentError):
        model.apply(params, X, training=True)


def test_a_keyed_user_pair_receives_its_share_of_the_key():
    seen = []

    def init(key):
        return {"scale": jnp.ones(())}

    def apply(params, x, *, key=None):
        seen.append(key is not None)
        noise = 0.0 if key is None else jax.random.normal(key, x.shape)
        return params["scale"] * x + noise

    model = tj.Sequential(tj.as_layer((init, apply), takes_key=True), tj.Dropout(0.5))
    params = model.init(KEY)
    key = jax.random.key(4)
    y = model.apply(params, X, key=key)
    first, second = jax.random.split(key)
    expected = tj.Dropout(0.5).apply((), X + jax.random.normal(first, X.shape), key=second)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    np.testing.assert_array_equal(model.apply(params, X), X)  # inference: key=None reaches the pair
    assert seen[-1] is False
    assert tj.as_layer((init, apply)).options == frozenset()  # without takes_key, no key is passed


def test_lambda_and_bare_functions_in_a_sequential():
    model = tj.Sequential(tj.Linear(32, 8), jax.nn.relu, tj.Lambda(lambda v: v * 2, name="double"))
    assert model.children[0] is tj.Linear(32, 8)
    assert model.children[1].name == "Lambda(relu)" and model.children[2].name == "double"
    params = model.init(KEY)
    assert params[1] == () and params[2] == ()
    linear = tj.Linear(32, 8)
    np.testing.assert_allclose(model.apply(params, X), 2 * jax.nn.relu(linear.apply(params[0], X)), rtol=1e-6)
    keyed = tj.Lambda(lambda v, key: v + (0 if key is None else jax.random.normal(key, v.shape)), takes_key=True)
    assert keyed.takes_key and not np.array_equal(keyed.apply((), X, key=KEY), X)
    with pytest.raises(tj.ConfigError, match="Lambda takes a function"):
        tj.Lambda(3)
    with pytest.raises(tj.ParamsError, match="Lambda"):
        tj.Lambda(jnp.sin).apply({"w": jnp.ones(2)}, X)


def test_precision_reaches_every_linear():
    model = tj.Sequential(tj.Linear(32, 16), tj.GELU(), tj.Linear(16, 4))
    params = model.init(KEY)
    x = jax.random.normal(KEY, (8, 32))
    text = model.apply.jitted.lower(params, x, precision="highest").as_text()
    assert text.count("HIGHEST") >= 2  # both dot products carry the requested precision
    assert "HIGHEST" not in model.apply.jitted.lower(params, x).as_text()
    np.testing.assert_allclose(model.apply(params, x, precision="highest"), model.apply(params, x), rtol=1e-5)


@pytest.mark.parametrize(
    "layer, shows",
    [
        (tj.Linear(3, 2), "(..., in)"),
        (tj.ReLU(), "any shape"),
        (tj.Dropout(0.1), "training=None"),
        (tj.Sequential(tj.Linear(3, 2), tj.Dropout(0.1)), "training=None"),
        (tj.Repeat(tj.Linear(3, 3), 2), "stacked"),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_help_of_apply_shows_shapes(layer, shows):
    assert shows in pydoc.render_doc(layer.apply)
    assert "Shapes:" in pydoc.render_doc(tj.Linear) and "Args:" in pydoc.render_doc(tj.Linear)


def test_sequential_apply_signature_names_its_options():
    model = tj.Sequential(tj.Linear(3, 2), tj.Dropout(0.1))
    assert list(inspect.signature(model.raw_apply).parameters) == ["params", "x", "key", "precision", "training"]


def test_module_level_apply_takes_a_list_and_refuses_swapped_arguments():
    # tests/test_bad_inputs.py has the table of bad inputs; this is the module-level pair's own wrapper
    layer = tj.Linear(2, 3)
    params = layer.init(KEY)
    np.testing.assert_array_equal(tj.linear.apply(params, [1.0, 2.0]), layer.apply(params, jnp.array([1.0, 2.0])))
    with pytest.raises(tj.DTypeError, match="expected floating-point input, got int"):  # as jnp.array([[1, 2]])
        layer.apply(params, [[1, 2]])
    with pytest.raises(tj.DTypeError, match="swapped"):
        tj.linear.apply(jnp.ones((1, 2)), params)
    with pytest.raises(tj.DTypeError, match="got list"):
        layer.apply(params, [[1.0, "a"]])


def test_interop_follows_the_description_not_the_param_name():
    # A layer whose "weight" has the same axis order in both libraries (as an Embedding's (vocab, embed)):
    # interop must copy it as it is, where the old name-based rule transposed every 2-D "weight".
    table = define(
        "Table(4, 3)",
        lambda params, ids: params["weight"][ids],
        params={"weight": Param((4, 3), jax.nn.initializers.normal(1.0), ("vocab", "embed"))},
        torch=Torch({"num_embeddings": 4, "embedding_dim": 3}, "Embedding"),
    )
    assert table.param_info() == {"weight": ParamInfo(("vocab", "embed"), "weight", ("vocab", "embed"))}
    torch = pytest.importorskip("torch")
    params = table.init(KEY)
    state = tj.interop.to_torch_state_dict(params, table)
    np.testing.assert_array_equal(state["weight"].numpy(), params["weight"])
    module = torch.nn.Embedding(4, 3)
    module.load_state_dict(state, strict=True)
    np.testing.assert_array_equal(module(torch.tensor([2, 0])).detach().numpy(), table.apply(params, jnp.array([2, 0])))
    np.testing.assert_array_equal(
        tj.interop.from_torch_state_dict(module.state_dict(), table)["weight"], params["weight"]
    )
    # an undescribed param (a user pair) is copied unchanged, whatever its name
    pair = tj.as_layer((lambda key: {"weight": jnp.ones((2, 5))}, lambda p, x: x @ p["weight"]))
    assert tuple(tj.interop.to_torch_state_dict(pair.init(KEY), pair)["weight"].shape) == (2, 5)


def test_declared_params_drive_init_info_and_one_check_for_any_dtype():
    # A quantized-style layer: int8 weights and float32 scales, declared once each.
    def apply(params, x):
        return x @ (params["weight"].astype(x.dtype) * params["scale"])

    layer = define(
        "Int8Table(4 -> 3)",
        apply,
        params={
            "weight": Param((4, 3), lambda key, shape, dtype: jnp.ones(shape, dtype), ("in", "out"), dtype=jnp.int8),
            "scale": Param((3,), jax.nn.initializers.constant(0.5), ("out",)),
        },
    )
    params = layer.init(KEY)
    assert params["weight"].dtype == jnp.int8 and params["scale"].dtype == jnp.float32
    assert layer.kind == "Int8Table" and layer.param_info()["weight"] == ParamInfo(("in", "out"))
    np.testing.assert_array_equal(layer.apply(params, jnp.ones((2, 4))), np.full((2, 3), 2.0))
    assert layer.apply({**params, "weight": params["weight"].astype(jnp.int32)}, jnp.ones((2, 4))).shape == (2, 3)
    with pytest.raises(tj.DTypeError, match=r"Int8Table\(4 -> 3\): params\['weight'\] is float32: expected int8"):
        layer.apply({**params, "weight": jnp.ones((4, 3))}, jnp.ones((2, 4)))
    with pytest.raises(tj.DTypeError, match=r"params\['scale'\] is int32: weights must be floating-point"):
        layer.apply({**params, "scale": jnp.ones(3, jnp.int32)}, jnp.ones((2, 4)))
    with pytest.raises(tj.ParamsError, match=r"Sequential\[0\] Int8Table\(4 -> 3\).*params\['scale'\].*\(3,\).*\(4,\)"):
        tj.Sequential(layer).apply(({**params, "scale": jnp.ones(4)},), jnp.ones((2, 4)))
    with pytest.raises(tj.ParamsError, match=r"a dict \{'weight': \(4, 3\), 'scale': \(3,\)\}.*\['weight'\]"):
        layer.apply({"weight": params["weight"]}, jnp.ones((2, 4)))
