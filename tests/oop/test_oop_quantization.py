"""tinyjax.oop's quantization face: TinyTorch's names and numbers, with int8 stored for real."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import oop


def test_quantize_int8_is_asymmetric_per_tensor_and_stores_int8():
    x = oop.Tensor([[-1.0, 0.0, 2.0], [0.5, 1.5, -0.5]])
    q, scale, zero_point = oop.quantize_int8(x)
    assert q.dtype == np.int8 and q.array.dtype == jnp.int8
    assert scale == pytest.approx(3.0 / 255) and zero_point == -43  # round(-128 + 1 / (3/255)) = round(-42.75)
    np.testing.assert_array_equal(q.data, np.clip(np.round(x.data / scale + zero_point), -128, 127))
    back = oop.dequantize_int8(q, scale, zero_point)
    assert back.dtype == np.float32 and np.abs(back.data - x.data).max() <= scale / 2 + 1e-7
    q, scale, zero_point = oop.Quantizer.quantize_tensor(oop.Tensor(np.full((2, 2), 3.0)))
    assert (scale, zero_point) == (1.0, 0) and not q.data.any()


def test_quantized_linear_calibrates_and_counts_real_bytes():
    oop.manual_seed(0)
    linear = oop.Linear(256, 128)
    layer = oop.QuantizedLinear(linear)
    x = np.random.default_rng(0).standard_normal((4, 256)).astype(np.float32)
    expected = tj.QuantizedLinear(256, 128).apply(layer.to_functional()[1], x)
    np.testing.assert_array_equal(layer(x).data, expected)
    np.testing.assert_allclose(layer.forward(x).data, linear(x).data, atol=0.05)
    assert [p.dtype for p in layer.parameters()] == [np.int8, np.float32]
    usage = layer.memory_usage()
    assert usage["original_bytes"] == 4 * (256 * 128 + 128)
    assert usage["quantized_bytes"] == 256 * 128 + 4 * 128 + 4 * 128 and usage["compression_ratio"] > 3.85
    layer.calibrate([x, 2 * x])
    assert layer.input_scale is not None and np.isclose(layer.input_scale.data, 2 * np.abs(x).max() / 127)
    np.testing.assert_allclose(layer(x).data, linear(x).data, atol=0.1)  # a step twice as coarse: range 2 max|x|


def test_quantize_model_replaces_the_linears_in_place_and_sizes_shrink():
    oop.manual_seed(0)
    model = oop.Sequential(oop.Linear(64, 256), oop.ReLU(), oop.Linear(256, 10))
    original = oop.Sequential(list(model.layers))
    x = np.random.default_rng(1).standard_normal((8, 64)).astype(np.float32)
    before = model(x).data
    oop.quantize_model(model, [x])
    assert [type(layer).__name__ for layer in model.layers] == ["QuantizedLinear", "ReLU", "QuantizedLinear"]
    assert model.layers[2].input_scale is not None  # calibrated on what reaches it
    np.testing.assert_allclose(model(x).data, before, atol=0.1)
    sizes = oop.compare_model_sizes(original, model)
    assert sizes["compression_ratio"] > 3.5 and sizes["original_params"] == 64 * 256 + 256 + 256 * 10 + 10
    assert oop.analyze_model_sizes(original, model) == sizes
    info = oop.Quantizer.quantize_model(original)
    assert len(info["quantized_layers"]) == 4 and info["compression_ratio"] > 3.9
    assert oop.Quantizer.compare_models(original, info)["compression_ratio"] == info["compression_ratio"]
    with pytest.raises(tj.ConfigError, match="single Linear"):
        oop.quantize_model(oop.Linear(2, 2))
