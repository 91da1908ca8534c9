"""Every property, for every public layer of the conformance table (tests/conformance.py).

jit equals eager; vmap over inputs and over params; gradients against finite differences (float64);
bfloat16 and float16 inputs; shape and dtype errors naming the layer inside a Sequential;
``param_shapes``; the summary's FLOPs against XLA's count; save / load; the PyTorch oracle and round
trip; the OOP round trip; export. The closed-world test fails when a public layer has no row.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conformance import TABLE, Row
from jax.flatten_util import ravel_pytree

import tinyjax as tj
from tinyjax import oop
from tinyjax.layer import is_factory

ROWS = pytest.mark.parametrize("row", TABLE, ids=lambda row: row.id)
KEY = jax.random.key(0)


def _setup(row: Row, dtype=jnp.float32):
    params = row.layer.init(KEY)
    if jnp.issubdtype(row.input_dtype, jnp.integer):  # indices, drawn in [0, 4): every table row has 4 or more
        return params, jax.random.randint(jax.random.key(1), row.input_shape, 0, 4, row.input_dtype)
    x = jax.random.normal(jax.random.key(1), row.input_shape, dtype)
    return params, x


def _floating(a) -> bool:
    return jnp.issubdtype(a.dtype, jnp.floating)


def _cast(tree, dtype):
    """Floating leaves cast to ``dtype``; integer ones (indices, a batch counter) kept."""
    return jax.tree_util.tree_map(lambda a: a.astype(dtype) if _floating(a) else a, tree)


def test_every_public_layer_has_a_row():
    public = {name for name in tj.__all__ if is_factory(getattr(tj, name))}
    assert public >= {"Linear", "Sequential", "Repeat", "Lambda", "ReLU", "Dropout"}  # the check sees them
    assert public == {row.factory for row in TABLE}, "a public layer is missing from tests/conformance.py"


@ROWS
def test_output_shape_and_param_shapes(row):
    params, x = _setup(row)
    y = row.layer.apply(params, x)
    assert y.shape == row.output_shape and y.dtype == (x.dtype if _floating(x) else jnp.float32)
    assert row.layer.output_shape(row.input_shape, row.input_dtype) == row.output_shape
    shapes = row.layer.param_shapes()
    assert jax.tree_util.tree_structure(shapes) == jax.tree_util.tree_structure(params)
    for struct, array in zip(jax.tree_util.tree_leaves(shapes), jax.tree_util.tree_leaves(params), strict=True):
        assert (struct.shape, struct.dtype) == (array.shape, array.dtype)


@ROWS
def test_jit_equals_eager(row):
    params, x = _setup(row)
    with jax.disable_jit():
        eager = row.layer.raw_apply(params, x)
    np.testing.assert_allclose(row.layer.apply(params, x), eager, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jax.jit(row.layer.apply)(params, x), eager, rtol=1e-6, atol=1e-6)


@ROWS
def test_vmap_over_inputs_and_over_params(row):
    params, x = _setup(row)
    per_example = jax.vmap(row.layer.apply, in_axes=(None, 0))(params, x)
    np.testing.assert_allclose(per_example, np.stack([row.layer.apply(params, xi) for xi in x]), rtol=1e-6, atol=1e-6)
    keys = jax.random.split(KEY, 3)
    ensemble = jax.vmap(row.layer.apply, in_axes=(0, None), axis_size=3)(jax.vmap(row.layer.init)(keys), x)
    loop = np.stack([row.layer.apply(row.layer.init(k), x) for k in keys])
    np.testing.assert_allclose(ensemble, loop, rtol=1e-6, atol=1e-6)


# Central differences in float64: the error is truncation (~eps^2) plus rounding (~|loss| * 1e-16 / eps);
# eps = 1e-5, near the optimal cube root of float64's epsilon, keeps both near 1e-10: the analytical gradient
# must agree to 1e-7 (1e-9 absolute, which an exactly zero gradient, such as attention's key bias, meets
# only when rounding is small).
EPS = 1e-5


@ROWS
def test_grad_matches_finite_differences(row):
    if row.straight_through is not None:
        _check_straight_through(row)
        return
    with jax.enable_x64(True):
        params, x = _setup(row)
        params, x = _cast((params, x), jnp.float64)
        weights = jax.random.normal(jax.random.key(2), row.output_shape, jnp.float64)
        # differentiate every floating array (params and input); integer ones (indices, a batch counter) stay fixed
        leaves, treedef = jax.tree_util.tree_flatten((params, x))
        floating = [i for i, a in enumerate(leaves) if _floating(a)]

        def loss(flat, unravel):
            values = list(leaves)
            for i, v in zip(floating, unravel(flat), strict=True):
                values[i] = v
            p, v = jax.tree_util.tree_unflatten(treedef, values)
            return jnp.sum(row.layer.apply(p, v) * weights)

        flat, unravel = ravel_pytree([leaves[i] for i in floating])
        grad = jax.grad(loss)(flat, unravel)
        for i in np.random.default_rng(0).choice(flat.size, min(flat.size, 10), replace=False):
            bump = jnp.zeros_like(flat).at[i].set(EPS)
            numeric = (loss(flat + bump, unravel) - loss(flat - bump, unravel)) / (2 * EPS)
            np.testing.assert_allclose(grad[i], numeric, rtol=1e-7, atol=1e-9)


def _check_straight_through(row: Row) -> None:
    """An int8 layer's gradient (inputs, scales, biases) is that of its dequantized float layer, through the same map.

    The expected gradient runs through ``tj.dequantize`` (``weight = q * scale``, differentiable in the
    scales), so every float param of any int8 layer is checked, the scales included.
    """
    params, x = _setup(row)
    weights = jax.random.normal(jax.random.key(2), row.output_shape)
    float_layer, _ = tj.dequantize(row.layer, params)

    def through_float(v, p):
        return jnp.sum(float_layer.apply(tj.dequantize(row.layer, p)[1], v) * weights)

    gx, gp = jax.grad(lambda v, p: jnp.sum(row.layer.apply(p, v) * weights), argnums=(0, 1), allow_int=True)(x, params)
    fx, fp = jax.grad(through_float, argnums=(0, 1), allow_int=True)(x, params)
    np.testing.assert_allclose(gx, fx, rtol=1e-5, atol=1e-5)
    checked = 0
    for got, expected in zip(jax.tree_util.tree_leaves(gp), jax.tree_util.tree_leaves(fp), strict=True):
        if _floating(got):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
            checked += 1
    assert checked >= 1  # a scale at least


# Half-precision storage: bfloat16 keeps 8 significant bits (relative rounding 2^-9 per value), float16 11
# (2^-12); inputs and params are O(1) and sums have at most 8 terms, accumulated in float32 by Linear.
HALF = [(jnp.bfloat16, 3e-2), (jnp.float16, 4e-3)]


@ROWS
@pytest.mark.parametrize("dtype, tolerance", HALF, ids=["bfloat16", "float16"])
def test_half_precision_inputs_and_params(row, dtype, tolerance):
    params, x = _setup(row)
    low = row.layer.apply(*_cast((params, x), dtype))
    assert low.dtype == dtype
    reference = row.layer.apply(params, _cast(_cast(x, dtype), jnp.float32))
    np.testing.assert_allclose(np.asarray(low, np.float32), reference, rtol=tolerance, atol=tolerance)


@ROWS
def test_errors_name_the_layer_inside_a_sequential(row):
    model = tj.Sequential(tj.Lambda(lambda v: v, name="identity"), row.layer)
    params = ((), row.layer.init(KEY))
    names = "|".join(re.escape(layer.name) for layer in _self_and_descendants(row.layer))
    where = rf"^Sequential\[1\]\S* (.* )?({names})"  # the innermost layer that refused, with its path
    if row.refuses is not None:
        with pytest.raises(tj.DTypeError, match=where):
            model.apply(params, jnp.ones(row.input_shape, row.refuses))
    if row.bad_shape is not None:
        with pytest.raises(tj.ShapeError, match=where):
            model.apply(params, jnp.ones(row.bad_shape, row.input_dtype))
    # a row that checks nothing must be a layer that accepts every input by nature, and say why
    assert (row.refuses is None and row.bad_shape is None) == (row.accepts_any_input is not None)


def _self_and_descendants(layer: tj.Layer) -> list[tj.Layer]:
    return [layer, *(d for child in layer.children for d in _self_and_descendants(child))]


@ROWS
def test_summary_flops_agree_with_xla(row):
    report = tj.summary(row.layer, row.layer.param_shapes(), row.input_shape, dtype=row.input_dtype)
    if not row.loop:
        assert report.flops == report.xla_flops
    else:  # XLA counts a loop's body once: the layer costs n times its block, as XLA counts the block
        (block,) = row.layer.children
        block_report = tj.summary(block, jax.eval_shape(block.init, KEY), row.input_shape, dtype=row.input_dtype)
        n = jax.tree_util.tree_leaves(row.layer.param_shapes())[0].shape[0]  # the copies, stacked on axis 0
        assert report.flops == n * block_report.xla_flops


@ROWS
def test_save_and_load_round_trip(row, tmp_path):
    params, _ = _setup(row)
    path = tmp_path / "weights.safetensors"
    if not jax.tree_util.tree_leaves(params):  # nothing to save: refused, and no file written
        with pytest.raises(tj.ConfigError, match="the params are empty"):
            tj.save(path, params, layer=row.layer)
        assert not path.exists()
        return
    tj.save(path, params, layer=row.layer)
    loaded = tj.load(path, row.layer)
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(loaded), strict=True):
        np.testing.assert_array_equal(a, b)


def _torch_module(torch, layer: tj.Layer):
    """The torch counterpart the layer describes: ``torch.nn.<module>(**kwargs)``; a chain's holds its children's."""
    if layer.chain:
        return getattr(torch.nn, layer.torch.module)(*(_torch_module(torch, child) for child in layer.children))
    return getattr(torch.nn, layer.torch.module)(**layer.torch.kwargs)


def _torch_call(torch, module, x, row: Row):
    """``module(x)``, or the row's ``torch_call`` with a causal layer's mask."""
    causal = row.layer.config.get("causal", False)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(x.shape[-2]) if causal else None
    return module(x) if row.torch_call is None else row.torch_call(module, x, mask)


def _has_torch(layer: tj.Layer) -> bool:
    return layer.torch is not None and all(_has_torch(child) for child in layer.children)


@ROWS
def test_torch_oracle_and_round_trip(row):
    torch = pytest.importorskip("torch")
    assert _has_torch(row.layer) == (row.no_torch is None), f"{row.id}: no torch module, and the row says why"
    if row.no_torch is not None:
        return
    params, x = _setup(row)
    module = _torch_module(torch, row.layer).eval()
    module.load_state_dict(tj.interop.to_torch_state_dict(params, row.layer), strict=True)
    with torch.no_grad():
        expected = _torch_call(torch, module, torch.from_numpy(np.array(x)), row).numpy()
    np.testing.assert_allclose(row.layer.apply(params, x), expected, rtol=1e-5, atol=1e-6)
    back = tj.interop.from_torch_state_dict(module.state_dict(), row.layer)
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(back), strict=True):
        np.testing.assert_array_equal(a, b)


@ROWS
def test_oop_round_trip(row):
    params, x = _setup(row)
    module = oop.from_functional(row.layer, params).eval()
    np.testing.assert_array_equal(np.asarray(module(np.asarray(x)).data), row.layer.apply(params, x))
    layer, same = module.to_functional()
    assert layer.name == row.layer.name
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(same), strict=True):
        assert a is b


@ROWS
def test_export_runs_without_the_model_code(row):
    params, x = _setup(row)
    run = tj.load_exported(tj.export(row.layer, params, features=row.input_shape[1:], dtype=row.input_dtype))
    np.testing.assert_allclose(run(x), row.layer.apply(params, x), rtol=1e-6, atol=1e-6)
