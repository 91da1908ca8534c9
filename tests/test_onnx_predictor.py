"""tj.compile(..., backend="onnxruntime"): the Predictor interface over one ONNX Runtime session."""

from __future__ import annotations

import concurrent.futures

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj

pytest.importorskip("onnxruntime")

MODEL = tj.Sequential(tj.Linear(20, 16), tj.ReLU(), tj.Linear(16, 8), tj.Tanh(), tj.Linear(8, 3))
PARAMS = MODEL.init(jax.random.key(0))
# one float32 product order against another (ONNX Runtime's kernels against XLA's): rounding only
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def _x(n: int) -> np.ndarray:
    return np.asarray(jax.random.normal(jax.random.key(n), (n, 20)))


@pytest.fixture(scope="module")
def predict():
    return tj.compile(MODEL, PARAMS, np.zeros((8, 20), np.float32), backend="onnxruntime", precompile=[1, 64])


@pytest.mark.parametrize("n", [0, 1, 3, 8, 33, 100])
def test_equals_apply_at_any_batch_size(predict, n):
    y = predict(_x(n))
    assert isinstance(y, np.ndarray) and y.shape == (n, 3) and y.dtype == np.float32
    np.testing.assert_allclose(y, MODEL.apply(PARAMS, _x(n)), **TOLERANCE)


def test_lists_jax_arrays_and_float64_inputs(predict):
    x = _x(4)
    expected = MODEL.apply(PARAMS, x)
    for given in (x.tolist(), jnp.asarray(x), x.astype(np.float64)):
        np.testing.assert_allclose(predict(given), expected, **TOLERANCE)
    low = jnp.asarray(x, jnp.bfloat16)  # bfloat16 is floating: converted to float32, as the XLA predictor does
    np.testing.assert_allclose(predict(low), MODEL.apply(PARAMS, low.astype(jnp.float32)), **TOLERANCE)
    np.testing.assert_allclose(predict(x[:, ::-1][:, ::-1]), expected, **TOLERANCE)  # not C-contiguous


def test_errors(predict):
    with pytest.raises(tj.DTypeError, match=r"Predictor\(Sequential.*expected floating input, got int32"):
        predict(np.ones((2, 20), np.int32))
    with pytest.raises(tj.ShapeError, match=r"Predictor\(Sequential"):
        predict(np.ones((2, 21), np.float32))
    with pytest.raises(tj.ShapeError):
        predict(np.float32(1.0))
    with pytest.raises(tj.ConfigError, match="precompile takes positive batch sizes"):
        tj.compile(MODEL, PARAMS, np.zeros((1, 20), np.float32), backend="onnxruntime", precompile=[0])
    with pytest.raises(tj.ConfigError, match="float32 inputs"):
        tj.compile(MODEL, PARAMS, np.zeros((1, 20), np.float16), backend="onnxruntime")
    with pytest.raises(tj.ConfigError, match="no dtype or embed_params"):
        tj.compile(MODEL, PARAMS, np.zeros((1, 20), np.float32), backend="onnxruntime", dtype=jnp.bfloat16)
    with pytest.raises(tj.ConfigError, match="backend must be 'xla' or 'onnxruntime'"):
        tj.compile(MODEL, PARAMS, np.zeros((1, 20), np.float32), backend="tvm")
    with pytest.raises(tj.ShapeError, match="example"):
        tj.compile(MODEL, PARAMS, np.float32(0), backend="onnxruntime")
    with pytest.raises(tj.ConfigError, match=r"Lambda\(silu\) \(inside .*\) has no ONNX mapping"):
        model = tj.Sequential(tj.Linear(20, 3), jax.nn.silu)
        tj.compile(model, model.init(jax.random.key(0)), np.zeros((1, 20), np.float32), backend="onnxruntime")


def test_one_session_for_every_batch_size_and_the_exported_model(predict):
    assert predict.compilations == 1 and predict.buckets == (1, 8, 64)
    for n in (5, 17, 300):
        predict(_x(n))
    assert predict.compilations == 1
    assert predict.model == tj.export(MODEL, PARAMS, format="onnx")
    assert "onnxruntime" in repr(predict)


def test_threads_share_one_predictor(predict):
    inputs = [_x(n) for n in (1, 2, 5, 9, 16, 31) * 4]
    expected = [np.asarray(MODEL.apply(PARAMS, x)) for x in inputs]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outputs = list(pool.map(predict, inputs))
    for y, want in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(y, want, **TOLERANCE)


GPT = tj.GPT(vocab_size=11, embed_dim=8, num_layers=2, num_heads=2, max_seq_len=6)
GPT_PARAMS = GPT.init(jax.random.key(0))
TOKENS = np.asarray(jax.random.randint(jax.random.key(1), (4, 5), 0, 11, np.int32))


def test_serves_a_gpt_on_integer_tokens():
    predict = tj.compile(GPT, GPT_PARAMS, TOKENS, backend="onnxruntime", precompile=[1])
    assert predict.input_dtype == np.int32 and predict.buckets == (1, 4) and "int32" in repr(predict)
    assert predict.model == tj.export(GPT, GPT_PARAMS, features=(5,), dtype=np.int32, format="onnx")
    expected = np.asarray(GPT.apply(GPT_PARAMS, TOKENS))
    # Two float32 programs (XLA's and ONNX Runtime's erf, sums in other orders) differ by rounding relative to
    # the size of the terms summed into each logit, the logits' scale (about 1.7 here), not to a logit near 0.
    scaled = {"rtol": TOLERANCE["rtol"], "atol": TOLERANCE["atol"] * max(1.0, float(np.abs(expected).max()))}
    for given in (TOKENS, TOKENS.astype(np.int64), TOKENS.astype(np.uint8), TOKENS.tolist(), jnp.asarray(TOKENS)):
        y = predict(given)  # any integer input, converted to int32 on the host
        assert y.shape == (4, 5, 11) and y.dtype == np.float32
        np.testing.assert_allclose(y, expected, **scaled)
    for n in (0, 1, 3, 9):
        tokens = np.asarray(jax.random.randint(jax.random.key(n), (n, 5), 0, 11, np.int32))
        np.testing.assert_allclose(predict(tokens), GPT.apply(GPT_PARAMS, tokens), **scaled)
    wide = tj.compile(GPT, GPT_PARAMS, TOKENS.astype(np.int64), backend="onnxruntime")
    assert wide.input_dtype == np.int64
    np.testing.assert_allclose(wide(TOKENS), expected, **scaled)


def test_an_integer_model_refuses_floats_and_a_float_model_integers():
    predict = tj.compile(GPT, GPT_PARAMS, TOKENS, backend="onnxruntime")
    for given in (TOKENS.astype(np.float32), TOKENS.astype(np.float64).tolist()):
        match = r"Predictor\(Sequential.*expected integer input, got float.*convert it with x.astype\(np.int32\)"
        with pytest.raises(tj.DTypeError, match=match):
            predict(given)
    with pytest.raises(tj.ShapeError, match=r"Predictor\(Sequential"):
        predict(TOKENS[:, :3])  # the example fixed T = 5
    with pytest.raises(tj.DTypeError, match=r"Embedding\(11, 8\): expected integer indices"):
        tj.compile(GPT, GPT_PARAMS, TOKENS.astype(np.float32), backend="onnxruntime")
    with pytest.raises(tj.ConfigError, match=r"float32 inputs, or int32 / int64 indices, got dtype=int16"):
        tj.compile(GPT, GPT_PARAMS, TOKENS.astype(np.int16), backend="onnxruntime")
    with pytest.raises(tj.DTypeError, match=r"Linear\(20 -> 16\)"):
        tj.compile(MODEL, PARAMS, np.zeros((1, 20), np.int32), backend="onnxruntime")
