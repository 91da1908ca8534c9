"""tinyjax.compile: equal to the plain apply, buckets without recompiles, the bf16 policy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj

MODEL = tj.Sequential(tj.Linear(20, 16), tj.ReLU(), tj.Linear(16, 8), tj.Tanh(), tj.Linear(8, 3))
PARAMS = MODEL.init(jax.random.key(0))


def _x(n: int) -> jax.Array:
    return jax.random.normal(jax.random.key(n), (n, 20))


@pytest.mark.parametrize("n", [1, 3, 8, 32, 33, 100])
def test_equals_plain_apply(n):
    predict = tj.compile(MODEL, PARAMS, jnp.zeros((8, 20)))
    y = predict(_x(n))
    assert y.shape == (n, 3)
    np.testing.assert_allclose(y, MODEL.apply(PARAMS, _x(n)), rtol=1e-6, atol=1e-6)


def test_numpy_and_float64_inputs_and_empty_batch():
    predict = tj.compile(MODEL, PARAMS, jnp.zeros((4, 20)))
    x = np.asarray(_x(4), np.float64)
    np.testing.assert_allclose(predict(x), MODEL.apply(PARAMS, x.astype(np.float32)), rtol=1e-6, atol=1e-6)
    assert predict(np.zeros((0, 20), np.float32)).shape == (0, 3)


def test_no_recompile_within_a_bucket():
    predict = tj.compile(MODEL, PARAMS, jnp.zeros((32, 20)))
    assert predict.compilations == 1 and predict.buckets == (32,)
    for n in (17, 20, 25, 31, 32):  # all in the bucket of 32
        predict(_x(n))
    assert predict.compilations == 1
    for n in (5, 6, 7, 8):  # one new bucket: 8
        predict(_x(n))
    assert predict.compilations == 2 and predict.buckets == (8, 32)
    predict(_x(100))
    assert predict.buckets == (8, 32, 128) and predict.compilations == 3


def test_params_are_placed_once_and_not_the_callers_arrays_mutated():
    predict = tj.compile(MODEL, PARAMS, jnp.zeros((2, 20)))
    leaves = jax.tree_util.tree_leaves(predict.params)
    assert all(isinstance(leaf, jax.Array) for leaf in leaves)
    assert all(leaf.devices() == {jax.devices()[0]} for leaf in leaves)


def test_bf16_policy_within_tolerance_of_f32():
    model = tj.Sequential(tj.Linear(64, 64), tj.ReLU(), tj.Linear(64, 10))
    params = model.init(jax.random.key(1))
    x = jax.random.normal(jax.random.key(2), (32, 64))
    reference = np.asarray(model.apply(params, x))
    for dtype in (jnp.bfloat16, jnp.float16):
        predict = tj.compile(model, params, x, dtype=dtype)
        assert all(leaf.dtype == dtype for leaf in jax.tree_util.tree_leaves(predict.params))
        y = predict(x)
        assert y.dtype == jnp.float32
        # bf16 keeps 8 significant bits: relative error per rounding 2**-8; two layers, f32 accumulation.
        scale = np.abs(reference).max()
        tolerance = 3e-2 if dtype == jnp.bfloat16 else 4e-3
        assert np.abs(np.asarray(y) - reference).max() <= tolerance * scale, dtype
        assert not np.array_equal(np.asarray(y), reference)  # it really ran in low precision


def test_low_precision_linear_accumulates_in_f32():
    # 4096 products of 1.0 * 1.0 + 1/256: summed in bf16 the small terms vanish; in f32 they do not.
    n = 4096
    x = jnp.ones((1, n), jnp.bfloat16)
    w = jnp.full((n, 1), 1.0 + 1 / 256, jnp.bfloat16)
    y = tj.linear.apply({"weight": w}, x)
    assert y.dtype == jnp.bfloat16
    assert float(y[0, 0]) == pytest.approx(n * (1 + 1 / 256), rel=2**-8)


def test_errors():
    predict = tj.compile(MODEL, PARAMS, jnp.zeros((4, 20)))
    with pytest.raises(
        tj.ShapeError, match=r"Predictor\(Sequential.*expected input of shape \(batch, 20\), got \(4, 7\)"
    ):
        predict(np.zeros((4, 7), np.float32))
    with pytest.raises(tj.ShapeError):
        tj.compile(MODEL, PARAMS, jnp.zeros(()))
    with pytest.raises(tj.ShapeError, match=r"Sequential\[0\] Linear\(20 -> 16\)"):
        tj.compile(MODEL, PARAMS, jnp.zeros((4, 19)))
    with pytest.raises(tj.ConfigError, match="bfloat16, float16 or float32"):
        tj.compile(MODEL, PARAMS, jnp.zeros((4, 20)), dtype=jnp.int8)


def test_cost_analysis_counts_the_model():
    predict = tj.compile(MODEL, PARAMS, jnp.zeros((8, 20)))
    flops = predict.cost_analysis(8)["flops"]
    assert flops >= 2 * 8 * (20 * 16 + 16 * 8 + 8 * 3)


@pytest.mark.parametrize("n", [1, 5, 32])
def test_embedded_and_argument_params_give_identical_outputs(n):
    embedded = tj.compile(MODEL, PARAMS, jnp.zeros((8, 20)), embed_params=True)
    arguments = tj.compile(MODEL, PARAMS, jnp.zeros((8, 20)), embed_params=False)
    assert embedded.embedded and not arguments.embedded
    # Bit-identical on jax 0.10; with the weights as constants XLA may order a sum differently, and
    # jax 0.8 gave 1-ulp differences (6e-8): equal up to float32 rounding, then.
    np.testing.assert_allclose(embedded(_x(n)), arguments(_x(n)), rtol=1e-6, atol=1e-7)
    assert embedded.compilations == arguments.compilations == (1 if n == 5 else 2)  # 5 runs in the bucket of 8


def test_embedded_params_leave_the_executables_arguments_and_large_models_pass_them():
    small = tj.compile(MODEL, PARAMS, jnp.zeros((8, 20)))
    assert small.embedded  # 716 bytes of params: under EMBED_LIMIT_BYTES
    assert small.compiled(8).memory_analysis().argument_size_in_bytes == 8 * 20 * 4  # the input only
    large = tj.Linear(1024, 1025)  # 4,198,500 bytes of f32 params: over the 4 MiB limit
    large_params = large.init(jax.random.key(0))
    assert tj.param_bytes(large_params) > tj.tools.predictor.EMBED_LIMIT_BYTES
    predict = tj.compile(large, large_params, jnp.zeros((2, 1024)))
    assert not predict.embedded
    assert predict.compiled(2).memory_analysis().argument_size_in_bytes == tj.param_bytes(large_params) + 2 * 1024 * 4
    np.testing.assert_allclose(predict(jnp.ones((2, 1024))), large.apply(large_params, jnp.ones((2, 1024))), rtol=1e-6)


def test_precompile_compiles_the_buckets_of_the_given_sizes_now():
    predict = tj.compile(MODEL, PARAMS, jnp.zeros((32, 20)), precompile=[1, 5, 8, 100])
    assert predict.buckets == (1, 8, 32, 128) and predict.compilations == 4  # 5 and 8 share the bucket 8
    for n in (1, 6, 7, 20, 32, 100, 128):  # buckets 1, 8, 8, 32, 32, 128, 128
        np.testing.assert_allclose(predict(_x(n)), MODEL.apply(PARAMS, _x(n)), rtol=1e-6, atol=1e-6)
    assert predict.compilations == 4  # every request fitted a precompiled bucket
    for bad in (0, -3, 2.5, True, "8"):
        with pytest.raises(tj.ConfigError, match="precompile takes positive batch sizes"):
            tj.compile(MODEL, PARAMS, jnp.zeros((4, 20)), precompile=[bad])


def test_lists_are_accepted_and_integer_input_refused_like_the_plain_apply():
    predict = tj.compile(MODEL, PARAMS, jnp.zeros((2, 20)))
    rows = np.asarray(_x(2)).tolist()
    np.testing.assert_allclose(predict(rows), MODEL.apply(PARAMS, jnp.asarray(rows)), rtol=1e-6, atol=1e-6)
    for dtype in (np.int32, np.complex64):
        with pytest.raises(tj.DTypeError, match=r"Predictor\(Sequential.*expected floating input, got"):
            predict(np.ones((2, 20), dtype))
    with pytest.raises(tj.DTypeError):
        MODEL.apply(PARAMS, np.ones((2, 20), np.int32))  # the same rule as the layer's own apply
