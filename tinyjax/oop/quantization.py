"""TinyTorch's quantization module (15) on tinyjax's int8 core: the same names, int8 stored for real.

``quantize_int8`` keeps TinyTorch's numbers (asymmetric, per tensor: ``q = round(x / scale + zero_point)``
in ``[-128, 127]``, ``scale = (max - min) / 255``) and returns ``(q, scale, zero_point)`` where ``q``
is a Tensor of int8. :class:`QuantizedLinear` wraps the functional ``tinyjax.QuantizedLinear``
(symmetric int8 weights per output channel, float32 bias; int8 x int8 -> int32 products): its
``forward`` quantizes each input row at run time, or at the input scale :meth:`~QuantizedLinear.calibrate`
measured. ``memory_usage`` and ``compare_model_sizes`` count the arrays' real bytes.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params
from tinyjax.nn.quantized import quantize_layer
from tinyjax.oop.autograd import no_grad
from tinyjax.oop.module import Module
from tinyjax.oop.modules import Linear
from tinyjax.oop.tensor import Tensor, as_tensor
from tinyjax.params import param_bytes

__all__ = [
    "QuantizedLinear",
    "Quantizer",
    "analyze_model_sizes",
    "compare_model_sizes",
    "dequantize_int8",
    "quantize_int8",
    "quantize_model",
]

INT8_MIN, INT8_MAX = -128, 127
MB = 1024 * 1024


def quantize_int8(tensor: Any) -> tuple[Tensor, float, int]:
    """``(q, scale, zero_point)``: ``q`` an int8 Tensor of ``tensor``'s shape, ``x ~= (q - zero_point) * scale``.

    Asymmetric over the whole tensor, as TinyTorch: ``scale = (max - min) / 255``, ``zero_point =
    round(-128 - min / scale)``. A constant tensor gives zeros, scale 1.0 and zero point 0.
    """
    data = np.asarray(as_tensor(tensor).data, np.float32)
    low, high = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    if high - low < 1e-8:
        return Tensor.wrap(jnp.zeros(data.shape, jnp.int8)), 1.0, 0
    scale = (high - low) / (INT8_MAX - INT8_MIN)
    zero_point = int(np.clip(np.round(INT8_MIN - low / scale), INT8_MIN, INT8_MAX))
    q = np.clip(np.round(data / scale + zero_point), INT8_MIN, INT8_MAX).astype(np.int8)
    return Tensor.wrap(jnp.asarray(q)), scale, zero_point


def dequantize_int8(q_tensor: Any, scale: float, zero_point: int) -> Tensor:
    """The float32 Tensor ``(q - zero_point) * scale``."""
    q = q_tensor.array if isinstance(q_tensor, Tensor) else jnp.asarray(q_tensor)
    return Tensor.wrap((q.astype(jnp.float32) - zero_point) * np.float32(scale))


class QuantizedLinear(Module):
    """An int8 Linear from a trained ``tinyjax.oop.Linear``: ``QuantizedLinear(linear)``.

    Attributes:
      q_weight: the int8 weight Tensor (in, out); ``weight_scale``: float32 Tensor, one scale per output.
      bias: the float32 bias Tensor (or None); ``input_scale``: None until :meth:`calibrate`.
    """

    def __init__(self, linear_layer: Linear, *, per_channel: bool = True) -> None:
        if not isinstance(linear_layer, Linear):
            raise ConfigError(f"QuantizedLinear takes a tinyjax.oop.Linear, got {type(linear_layer).__name__}")
        self.original_layer = linear_layer
        self.per_channel = per_channel
        self._quantize(None)

    def _quantize(self, input_range: float | None) -> None:
        mode = "dynamic" if input_range is None else "static"
        twin = quantize_layer(
            self.original_layer.layer,
            self.original_layer.params,
            per_channel=self.per_channel,
            activations=mode,
            inputs=None if input_range is None else np.float32(input_range),  # its max |x| is the range
        )
        assert twin is not None  # a Linear always has an int8 twin
        self.layer, params = twin
        self.q_weight = Tensor.wrap(params["weight"])
        self.weight_scale = Tensor.wrap(params["weight_scale"])
        self.bias = Tensor.wrap(params["bias"]) if "bias" in params else None
        self.input_scale = Tensor.wrap(params["input_scale"]) if "input_scale" in params else None

    def calibrate(self, sample_inputs: list[Any]) -> None:
        """Fix the input scale from sample inputs (their largest ``|x|`` / 127): static int8 activations."""
        if not sample_inputs:
            raise ConfigError("calibrate takes a non-empty list of sample inputs")
        peak = max(float(np.max(np.abs(as_tensor(x).data))) for x in sample_inputs)
        self._quantize(peak)

    def forward(self, x: Any) -> Tensor:
        """``(..., in)`` -> ``(..., out)`` float32: int8 products, inference only (nothing recorded for backward)."""
        return Tensor.wrap(self.layer.apply(self.params, as_tensor(x).array))

    @property
    def params(self) -> Params:
        """The functional int8 params (the arrays these Tensors hold)."""
        params = {"weight": self.q_weight.array, "weight_scale": self.weight_scale.array}
        if self.bias is not None:
            params["bias"] = self.bias.array
        if self.input_scale is not None:
            params["input_scale"] = self.input_scale.array
        return params

    def to_functional(self) -> tuple[Layer, Params]:
        """``(tinyjax.QuantizedLinear, params)`` sharing these arrays."""
        return self.layer, self.params

    def parameters(self) -> list[Tensor]:
        """The quantized weight and the bias (TinyTorch's list); the scales are attributes."""
        return [self.q_weight] if self.bias is None else [self.q_weight, self.bias]

    def memory_usage(self) -> dict[str, float]:
        """``original_bytes`` (float32), ``quantized_bytes`` (int8 weight, scales, bias: real bytes), their ratio."""
        original = param_bytes(self.original_layer.params)
        quantized = param_bytes(self.params)
        return {"original_bytes": original, "quantized_bytes": quantized, "compression_ratio": original / quantized}

    def __repr__(self) -> str:
        return self.layer.name


def quantize_model(model: Any, calibration_data: list[Any] | None = None) -> None:
    """Replace every ``Linear`` of ``model.layers`` by a :class:`QuantizedLinear`, in place.

    With ``calibration_data`` (sample inputs of the model), each layer is calibrated on what reaches
    it (the first 10 samples through the layers before it), as TinyTorch does.
    """
    if isinstance(model, Linear):
        raise ConfigError("cannot quantize a single Linear in place: use QuantizedLinear(linear)")
    if not hasattr(model, "layers"):
        raise ConfigError(f"quantize_model takes a model with .layers (a Sequential), got {type(model).__name__}")
    for i, layer in enumerate(model.layers):
        if not isinstance(layer, Linear):
            continue
        quantized = QuantizedLinear(layer)
        if calibration_data is not None:
            samples = []
            with no_grad():
                for x in calibration_data[:10]:
                    for previous in model.layers[:i]:
                        x = previous.forward(x)
                    samples.append(x)
            quantized.calibrate(samples)
        model.layers[i] = quantized


def _sizes(model: Any) -> tuple[int, int]:
    """(number of values, bytes) of every array a model's layers hold, scales included."""
    layers = getattr(model, "layers", [model])
    arrays = []
    for layer in layers:
        if isinstance(layer, QuantizedLinear):
            arrays += list(layer.params.values())
        else:
            arrays += [t.array for t in layer.parameters()]
    return sum(int(a.size) for a in arrays), sum(int(a.size) * a.dtype.itemsize for a in arrays)


def compare_model_sizes(original_model: Any, quantized_model: Any) -> dict[str, float]:
    """Sizes before and after, in real bytes: TinyTorch's keys (params, bytes, ratio, MB and percent saved)."""
    original_params, original_bytes = _sizes(original_model)
    quantized_params, quantized_bytes = _sizes(quantized_model)
    saved = original_bytes - quantized_bytes
    return {
        "original_params": original_params,
        "quantized_params": quantized_params,
        "original_bytes": original_bytes,
        "quantized_bytes": quantized_bytes,
        "compression_ratio": original_bytes / quantized_bytes if quantized_bytes else 1.0,
        "memory_saved_mb": saved / MB,
        "memory_saved_percent": 100 * saved / original_bytes if original_bytes else 0.0,
    }


analyze_model_sizes = compare_model_sizes
"""The course's newer name for :func:`compare_model_sizes`."""


class Quantizer:
    """TinyTorch's bundle of the functions above, as static methods."""

    quantize_tensor = staticmethod(quantize_int8)
    dequantize_tensor = staticmethod(dequantize_int8)

    @staticmethod
    def quantize_model(model: Any, calibration_data: list[Any] | None = None) -> dict[str, Any]:
        """Every parameter of ``model.layers`` quantized by :func:`quantize_int8` (the model unchanged).

        Returns ``{"quantized_layers": {"param_i": {"quantized", "scale", "zero_point", "original_shape"}},
        "original_size_mb", "quantized_size_mb", "compression_ratio"}``, sizes in real bytes.
        """
        del calibration_data  # per-tensor weights need none; kept for TinyTorch's signature
        found: dict[str, Any] = {}
        original = quantized = 0
        for layer in getattr(model, "layers", [model]):
            for param in layer.parameters():
                q, scale, zero_point = quantize_int8(param)
                found[f"param_{len(found)}"] = {
                    "quantized": q,
                    "scale": scale,
                    "zero_point": zero_point,
                    "original_shape": param.shape,
                }
                original += int(param.array.nbytes)
                quantized += int(q.array.nbytes) + 8  # the scale (float32) and the zero point (int32)
        return {
            "quantized_layers": found,
            "original_size_mb": original / MB,
            "quantized_size_mb": quantized / MB,
            "compression_ratio": original / quantized if quantized else 1.0,
        }

    @staticmethod
    def compare_models(original_model: Any, quantized_info: dict[str, Any]) -> dict[str, float]:
        """The sizes of :meth:`quantize_model`'s result, in MB, and the ratio."""
        del original_model
        return {
            "original_mb": quantized_info["original_size_mb"],
            "quantized_mb": quantized_info["quantized_size_mb"],
            "compression_ratio": quantized_info["compression_ratio"],
            "memory_saved_mb": quantized_info["original_size_mb"] - quantized_info["quantized_size_mb"],
        }
