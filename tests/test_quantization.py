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
    with pytest.warns(tj.QuantizationWarning, match=r"kept 1 layer\(s\).*1: LayerNorm\(8") as caught:
        qmodel, _ = tj.quantize(model, model.init(KEY))
    assert len(caught) == 1
    assert [c.kind for c in qmodel.children] == ["QuantizedLinear", "LayerNorm", "Residual", "GELU", "QuantizedLinear"]
    assert qmodel.children[2].children[0].kind == "QuantizedLinear"  # a Residual is walked into
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


GPT = tj.GPT(vocab_size=11, embed_dim=16, num_layers=2, num_heads=2, max_seq_len=8)


@pytest.fixture(scope="module")
def int8_gpt():
    params = GPT.init(KEY)
    with pytest.warns(tj.QuantizationWarning, match=r"kept 3 layer\(s\).*0: Embedding.*1: Positional.*3: LayerNorm"):
        qmodel, qparams = tj.quantize(GPT, params)
    return params, qmodel, qparams


def test_every_projection_of_a_gpt_is_int8_its_blocks_stacked(int8_gpt):
    params, qmodel, qparams = int8_gpt
    assert [c.kind for c in qmodel.children[2].children] == ["QuantizedTransformerBlock"]
    blocks = qparams[2]
    for weight in (blocks["self_attn"]["in_proj_weight"], blocks["self_attn"]["out_proj_weight"],
                   blocks["linear1"]["weight"], blocks["linear2"]["weight"]):  # fmt: skip
        assert weight.dtype == jnp.int8 and weight.shape[0] == 2  # the layers axis of the Repeat
    assert blocks["self_attn"]["in_proj_weight_scale"].shape == (2, 3, 2, 8)  # per output channel: (3, H, D)
    assert qparams[4]["weight"].dtype == jnp.int8 and blocks["norm1"]["weight"].dtype == jnp.float32
    model, back = tj.dequantize(qmodel, qparams)
    assert model.name == GPT.name
    # each block's weights round to within half a step of its own scale (the layers were not mixed up)
    w, q = params[2]["self_attn"]["in_proj_weight"], blocks["self_attn"]["in_proj_weight_scale"]
    assert np.all(np.abs(w - back[2]["self_attn"]["in_proj_weight"]) <= np.asarray(q)[:, None] / 2 + 1e-7)


def test_an_int8_gpt_agrees_with_float_and_generates(int8_gpt):
    params, qmodel, qparams = int8_gpt
    tokens = jax.random.randint(KEY, (4, 8), 0, 11)
    float_logits, int8_logits = np.asarray(GPT.apply(params, tokens)), np.asarray(qmodel.apply(qparams, tokens))
    # each int8 code is within half a step (1/254 of its row's or channel's peak) of its value, per operand of
    # the ~6 chained products of a 2-block GPT: a few percent of the logits' range at most
    error = np.abs(int8_logits - float_logits).max()
    assert error <= 0.03 * np.abs(float_logits).max()
    top = np.sort(float_logits, -1)
    clear = top[..., -1] - top[..., -2] > 2 * error  # where the float model's top-1 leads by more than the error
    assert clear.mean() > 0.5
    np.testing.assert_array_equal(int8_logits.argmax(-1)[clear], float_logits.argmax(-1)[clear])
    assert (int8_logits.argmax(-1) == float_logits.argmax(-1)).mean() >= 0.9
    # the cached decode runs the same int8 projections: its greedy tokens are the full model's argmax
    prompt = tokens[:, :4]
    new = tj.gpt.generate(qmodel, qparams, prompt, 4)
    full = qmodel.apply(qparams, jnp.concatenate([prompt, new], axis=1))  # causal: the last token changes nothing
    np.testing.assert_array_equal(new, np.argmax(full[:, 3:7], -1))


def test_static_attention_calibrates_each_projection_at_its_own_input():
    layer = tj.MultiHeadAttention(16, 2, causal=True)
    params = layer.init(KEY)
    x = 2 * jax.random.normal(KEY, (4, 6, 16))
    qlayer, qparams = tj.quantize(layer, params, x, activations="static")
    np.testing.assert_allclose(qparams["in_proj_input_scale"], np.abs(x).max() / QMAX, rtol=1e-6)
    # the out-projection's input is the heads' attended values: bounded by the values' own range, not x's
    values = np.einsum("bte,echd->btchd", x, params["in_proj_weight"])[:, :, 2]
    assert 0 < qparams["out_proj_input_scale"] <= np.abs(values).max() / QMAX + 1e-6
    y, expected = qlayer.apply(qparams, x), layer.apply(params, x)
    assert np.abs(y - expected).max() <= 0.03 * np.abs(expected).max()  # a few steps of two int8 products


def test_an_int8_gpt_exports_to_onnx_with_integer_products(int8_gpt):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    _, qmodel, qparams = int8_gpt
    model = onnx.load_from_string(tj.export(qmodel, qparams, features=(8,), dtype=jnp.int32, format="onnx"))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("MatMulInteger") == 2 * 4 + 1  # per block: in, out, linear1, linear2; then the head
    tokens = np.asarray(jax.random.randint(KEY, (4, 8), 0, 11), np.int32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = session.run(None, {model.graph.input[0].name: tokens})[0]
    reference = np.asarray(qmodel.apply(qparams, tokens))
    # ONNX Runtime quantizes each activation with one asymmetric uint8 scale per tensor, not per row
    assert np.abs(y - reference).max() <= 0.03 * np.abs(reference).max()


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


@pytest.fixture(scope="module")
def digits_mlp():
    """The examples' digits MLP, trained once for the module (120 Adam steps: about 97% on the test split)."""
    example = _examples("train_digits")
    data = example.load_data(0)
    model = example.build_model()
    params, _ = example.train(model, model.init(KEY), data, epochs=100, max_steps=120, batch=64, lr=3e-3, seed=0)
    return model, params, data


@pytest.mark.parametrize("activations", ["dynamic", "static", None])
def test_digits_mlp_int8_keeps_the_accuracy(digits_mlp, activations):
    model, params, (x_train, x_test, _, y_test) = digits_mlp
    calibration = x_train[:256] if activations == "static" else None
    qmodel, qparams = tj.quantize(model, params, calibration, activations=activations)
    float_acc, int8_acc, agreement = _agreement(model, params, qmodel, qparams, x_test, y_test)
    assert float_acc > 0.95 and abs(int8_acc - float_acc) <= 0.005 and agreement >= 0.99


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
