"""tj.quantize / tj.dequantize and the int8 layers: bytes, accuracy on the digits, the scheme's numbers, serving.

The generic properties (jit, vmap, gradients, save / load, export, ONNX) run on the int8 rows of
tests/conformance.py; this file checks what is specific to quantization.
"""

from __future__ import annotations

import json
import struct
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax.nn.quantized import QMAX, quantize_weight

KEY = jax.random.key(0)
ROOT = Path(__file__).resolve().parents[1]
SEED_MLP = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
WIDE = tj.Sequential(tj.Linear(256, 512), tj.ReLU(), tj.Linear(512, 256), tj.ReLU(), tj.Linear(256, 256))


def test_param_bytes_are_the_int8_weights_and_the_scales():
    params = WIDE.init(KEY)
    _, qparams = tj.quantize(WIDE, params)
    weights = 256 * 512 + 512 * 256 + 256 * 256
    channels = 512 + 256 + 256
    assert tj.param_bytes(qparams) == weights + 4 * channels + 4 * channels  # int8, float32 scales and biases
    assert tj.param_bytes(params) / tj.param_bytes(qparams) >= 3.9
    _, per_tensor = tj.quantize(WIDE, params, per_channel=False)
    assert tj.param_bytes(per_tensor) == weights + 4 * 3 + 4 * channels


def test_weights_round_to_the_nearest_step_per_output_channel():
    w = np.array([[0.5, -2.0, 0.0], [-0.25, 1.0, 0.0]], np.float32)  # (in=2, out=3); the last column is zero
    q, scale = quantize_weight(w, 1)
    assert q.dtype == jnp.int8 and scale.dtype == jnp.float32
    np.testing.assert_allclose(scale, [0.5 / QMAX, 2.0 / QMAX, 1.0])
    np.testing.assert_array_equal(q, [[127, -127, 0], [-64, 64, 0]])  # -0.25 / (0.5/127) = -63.5: to even, -64
    q, scale = quantize_weight(w, None)
    assert scale.shape == () and np.isclose(scale, 2.0 / QMAX)
    np.testing.assert_array_equal(q[:, 1], [-127, 64])


def test_dynamic_products_are_int8_times_int8_summed_in_int32():
    layer = tj.QuantizedLinear(4, 2)
    params = {
        "weight": jnp.array([[1, -2], [3, 4], [-5, 6], [7, 127]], jnp.int8),
        "weight_scale": jnp.array([0.5, 0.25], jnp.float32),
        "bias": jnp.array([1.0, -1.0], jnp.float32),
    }
    x = np.array([[127.0, -63.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0]], np.float32)
    # row scales 1 and 2/127: the codes are exact here, so the result is exact integer arithmetic
    codes = np.array([[127, -63, 0, 1], [127, 127, 127, 127]])
    acc = codes @ np.asarray(params["weight"], np.int64)
    expected = acc * np.array([[1.0], [2 / 127]]) * [0.5, 0.25] + [1.0, -1.0]
    np.testing.assert_allclose(layer.apply(params, x), expected, rtol=1e-6)
    jaxpr = str(jax.make_jaxpr(layer.raw_apply)(params, x))
    assert "preferred_element_type=int32" in jaxpr and "i8[2,4]" in jaxpr


def test_a_non_finite_row_gives_a_non_finite_output_row_only():
    params = tj.QuantizedLinear(3, 2).init(KEY)
    y = tj.QuantizedLinear(3, 2).apply(params, jnp.array([[1.0, jnp.nan, 0.0], [1.0, 2.0, 3.0], [jnp.inf, 0, 0]]))
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all() and not np.isfinite(y[2]).any()


def test_quantize_rebuilds_the_chain_and_dequantize_inverts_it_to_the_rounding():
    params = SEED_MLP.init(KEY)
    qmodel, qparams = tj.quantize(SEED_MLP, params)
    assert [c.kind for c in qmodel.children] == ["QuantizedLinear", "ReLU"] * 2 + ["QuantizedLinear"]
    assert qparams[1] == () and qparams[0]["weight"].dtype == jnp.int8
    model, back = tj.dequantize(qmodel, qparams)
    assert model.name == SEED_MLP.name
    for p, b, q in zip(params[::2], back[::2], qparams[::2], strict=True):
        assert np.all(np.abs(np.asarray(p["weight"]) - b["weight"]) <= np.asarray(q["weight_scale"]) / 2 + 1e-7)
    x = jax.random.normal(KEY, (16, 784))
    np.testing.assert_allclose(
        tj.quantize(SEED_MLP, params, activations=None)[0].apply(qparams, x), model.apply(back, x), atol=1e-5
    )


def test_static_scales_come_from_the_calibration_batch():
    params = SEED_MLP.init(KEY)
    x = 3 * jax.random.normal(KEY, (64, 784))
    _, qparams = tj.quantize(SEED_MLP, params, x, activations="static")
    hidden = jax.nn.relu(tj.Linear(784, 128).apply(params[0], x))
    np.testing.assert_allclose(qparams[0]["input_scale"], np.abs(x).max() / QMAX, rtol=1e-6)
    np.testing.assert_allclose(qparams[2]["input_scale"], hidden.max() / QMAX, rtol=1e-5)


def test_bad_arguments_are_refused_by_name():
    params = SEED_MLP.init(KEY)
    with pytest.raises(tj.ConfigError, match="activations must be"):
        tj.quantize(SEED_MLP, params, activations="int4")
    with pytest.raises(tj.ConfigError, match="needs a calibration batch"):
        tj.quantize(SEED_MLP, params, activations="static")
    with pytest.raises(tj.ConfigError, match="only it uses one"):
        tj.quantize(SEED_MLP, params, jnp.ones((2, 784)))
    with pytest.raises(tj.ParamsError, match="These params belong to another layer"):
        tj.QuantizedLinear(784, 128).apply(params[0], jnp.ones((2, 784)))  # float params: no weight_scale
    with pytest.raises(tj.DTypeError, match=r"params\['weight'\] is float32: expected int8"):
        tj.QuantizedLinear(784, 128).apply({**params[0], "weight_scale": jnp.ones(128)}, jnp.ones((2, 784)))
    with pytest.raises(tj.DTypeError, match=r"params\['weight'\] is int8: weights must be floating-point"):
        tj.compile(tj.Linear(2, 2), {"weight": jnp.ones((2, 2), jnp.int8), "bias": jnp.ones(2)}, jnp.ones((1, 2)))


def test_layers_kept_in_float_are_named_in_a_warning():
    model = tj.Sequential(tj.Linear(8, 8), tj.LayerNorm(8), tj.Residual(tj.Linear(8, 8)), tj.GELU(), tj.Linear(8, 2))
    with pytest.warns(tj.QuantizationWarning, match=r"kept 2 layer\(s\).*1: LayerNorm.*2: Residual") as caught:
        qmodel, _ = tj.quantize(model, model.init(KEY))
    assert len(caught) == 1
    assert [c.kind for c in qmodel.children] == ["QuantizedLinear", "LayerNorm", "Residual", "GELU", "QuantizedLinear"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a model of Linears and activations only: nothing to report
        tj.quantize(SEED_MLP, SEED_MLP.init(KEY))


def test_weights_file_holds_int8_tensors(tmp_path):
    qmodel, qparams = tj.quantize(SEED_MLP, SEED_MLP.init(KEY))
    path = tmp_path / "q.safetensors"
    tj.save(path, qparams, layer=qmodel)
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    assert header["0.weight"]["dtype"] == "I8" and header["0.weight_scale"]["dtype"] == "F32"
    assert path.stat().st_size < tj.param_bytes(qparams) + 8 + size + 1
    loaded = tj.load(path, qmodel)
    for a, b in zip(jax.tree_util.tree_leaves(qparams), jax.tree_util.tree_leaves(loaded), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_compile_serves_the_int8_model_on_both_backends():
    pytest.importorskip("onnxruntime")
    qmodel, qparams = tj.quantize(SEED_MLP, SEED_MLP.init(KEY))
    x = np.asarray(jax.random.normal(KEY, (5, 784)))
    xla = tj.compile(qmodel, qparams, x[:4])
    np.testing.assert_allclose(xla(x), qmodel.apply(qparams, x), rtol=1e-6, atol=1e-6)  # 5 rows, padded to 8
    ort = tj.compile(qmodel, qparams, x[:4], backend="onnxruntime")
    np.testing.assert_allclose(ort(x), qmodel.apply(qparams, x), atol=0.05)  # ONNX Runtime's activation scheme
    assert tj.summary(qmodel, qparams, (4, 784)).param_bytes == tj.param_bytes(qparams)


def _dql_reference(x: np.ndarray, q: np.ndarray, w_scale: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """ONNX's DynamicQuantizeLinear (uint8, one asymmetric scale per tensor) + MatMulInteger, in NumPy."""
    low, high = min(x.min(), 0.0), max(x.max(), 0.0)
    scale = np.float32((high - low) / 255)
    zero = np.clip(np.round(-low / scale), 0, 255)
    codes = np.clip(np.round(x / scale) + zero, 0, 255)
    return ((codes - zero) @ q.astype(np.int64)) * scale * w_scale + bias


def test_onnx_graph_is_dynamic_quantize_linear_and_matmul_integer():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    layer = tj.QuantizedLinear(16, 4)
    params = layer.init(KEY)
    model = onnx.load_from_string(tj.export(layer, params, format="onnx"))
    assert [n.op_type for n in model.graph.node][:2] == ["DynamicQuantizeLinear", "MatMulInteger"]
    assert {i.name: i.data_type for i in model.graph.initializer}["weight"] == onnx.TensorProto.INT8
    x = np.asarray(jax.random.normal(KEY, (3, 16)))
    y = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    args = (np.asarray(params["weight"]), np.asarray(params["weight_scale"]), np.asarray(params["bias"]))
    np.testing.assert_allclose(y, _dql_reference(x, *args), rtol=1e-5, atol=1e-5)


def _examples(name: str):
    pytest.importorskip("sklearn")
    pytest.importorskip("optax")
    pytest.importorskip("tqdm")
    sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


def _agreement(model, params, qmodel, qparams, x, y) -> tuple[float, float, float]:
    float_top = np.argmax(model.apply(params, x), -1)
    int8_top = np.argmax(qmodel.apply(qparams, x), -1)
    return float(np.mean(float_top == y)), float(np.mean(int8_top == y)), float(np.mean(float_top == int8_top))


def test_digits_mlp_int8_keeps_the_accuracy():
    example = _examples("train_digits")
    data = example.load_data(0)
    model = example.build_model()
    params, _ = example.train(model, model.init(KEY), data, epochs=100, max_steps=200, batch=64, lr=3e-3, seed=0)
    x_train, x_test, _, y_test = data
    for activations in ("dynamic", "static", None):
        calibration = x_train[:256] if activations == "static" else None
        qmodel, qparams = tj.quantize(model, params, calibration, activations=activations)
        float_acc, int8_acc, agreement = _agreement(model, params, qmodel, qparams, x_test, y_test)
        assert float_acc > 0.95 and abs(int8_acc - float_acc) <= 0.005 and agreement >= 0.99, activations


def test_digits_cnn_int8_keeps_the_accuracy():
    example = _examples("train_cnn")
    data = example.load_data(0)
    model = example.build_model()
    params, _ = example.train(model, model.init(KEY), data, epochs=2, batch=64, lr=3e-3, seed=0)
    with pytest.warns(tj.QuantizationWarning, match="BatchNorm2d"):
        qmodel, qparams = tj.quantize(model, params)
    _, x_test, _, y_test = data
    float_acc, int8_acc, agreement = _agreement(model, params, qmodel, qparams, x_test, y_test)
    assert float_acc > 0.9 and abs(int8_acc - float_acc) <= 0.005 and agreement >= 0.99


SHARDING = """
import json, jax, jax.numpy as jnp, tinyjax as tj
from tinyjax import sharding
model = tj.Sequential(tj.Linear(16, 32), tj.ReLU(), tj.Linear(32, 16), tj.ReLU(), tj.Linear(16, 8))
qmodel, qparams = tj.quantize(model, model.init(jax.random.key(0)))
x = jax.random.normal(jax.random.key(1), (8, 16))
reference = qmodel.apply(qparams, x)
out = {}
for name, shape, strategy in (("data", (4, 1), "data"), ("megatron", (2, 2), "megatron")):
    mesh = sharding.make_mesh(*shape)
    placed = sharding.shard_params(qmodel, qparams, mesh, strategy)
    y = sharding.sharded_apply(qmodel, mesh, strategy)(placed, sharding.shard_batch(x, mesh))
    out[name] = {"output": float(jnp.abs(y - reference).max()), "dtype": str(placed[0]["weight"].dtype),
                 "specs": [list(placed[i][k].sharding.spec) for i in (0, 2) for k in ("weight", "weight_scale")]}
print(json.dumps(out))
"""


def test_int8_params_shard_by_their_axes():
    import os
    import subprocess

    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SHARDING], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["data"] == {"output": 0.0, "dtype": "int8", "specs": [[], [], [], []]}
    # megatron: the first Linear column-parallel (its outputs and their scales split), the second row-parallel
    assert results["megatron"] == {
        "output": 0.0,
        "dtype": "int8",
        "specs": [[None, "model"], ["model"], ["model", None], []],
    }
