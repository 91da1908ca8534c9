"""``tinyjax.quantize`` / ``tinyjax.dequantize``: a model's Linears and Conv2ds as real int8 layers, and back.

The transformation walks the model's description: a chain (a Sequential, nested ones included) is
rebuilt with each float Linear / Conv2d replaced by its int8 twin (:mod:`tinyjax.nn.quantized`),
layers without params pass through as they are, and any other layer holding params (a norm, an
embedding, a combinator that is not a chain such as Residual or Repeat, a user's pair) is kept in
float and named in one :class:`QuantizationWarning`, so that nothing is ever quantized wrongly or
silently skipped. docs/quantization.md describes the scheme, what it costs and when it is faster.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params
from tinyjax.nn import quantized
from tinyjax.nn.sequential import Sequential
from tinyjax.tools._arguments import layer_argument

__all__ = ["QuantizationWarning", "dequantize", "quantize"]


class QuantizationWarning(UserWarning):
    """:func:`quantize` kept some layers that hold params in float (it names each, with its path)."""


def quantize(
    model: Any,
    params: Params,
    calibration: Any = None,
    *,
    per_channel: bool = True,
    activations: str | None = "dynamic",
) -> tuple[Layer, Params]:
    """``(qmodel, qparams)``: every Linear and Conv2d of ``model`` with int8 weights and float32 scales.

    A pure function: ``params`` are not changed.

    Args:
      model: a Layer (a Sequential of any depth, or a single Linear / Conv2d).
      params: its float params.
      calibration: a batch of typical inputs ``(batch, *features)``; needed by, and only used by,
        ``activations="static"``: each layer's input scale is the largest ``|x|`` it sees on this
        batch (through the float model), divided by 127.
      per_channel: one weight scale per output channel (default) or one per tensor.
      activations: ``"dynamic"`` (each row's input quantized to int8 at run time, int8 x int8 ->
        int32 products), ``"static"`` (int8 at the calibrated scale) or None (weight-only: float inputs).

    Returns:
      ``qmodel``, a Layer like any other (``apply``, summary, save / load with int8 tensors, export,
      ``tj.compile``), and ``qparams``: each quantized layer's ``{"weight": int8, "weight_scale":
      float32, "bias": float32}`` (``"input_scale"`` too when static). ``tj.param_bytes(qparams)``
      counts the int8 bytes.

    Raises:
      ConfigError: ``activations`` unknown; static without a calibration batch, or a calibration batch
        with another mode.
    Warns:
      QuantizationWarning: naming the layers that hold params and were kept in float.
    """
    model = layer_argument(model, "quantize")
    if activations not in quantized.ACTIVATIONS:
        raise ConfigError(f"activations must be 'dynamic', 'static' or None (weight-only), got {activations!r}")
    if (activations == "static") != (calibration is not None):
        raise ConfigError(
            "quantize: activations='static' needs a calibration batch (typical inputs, (batch, *features)), "
            f"and only it uses one; got activations={activations!r} and calibration="
            f"{'None' if calibration is None else 'a batch'}"
        )
    x = None if calibration is None else jnp.asarray(calibration)
    kept: list[str] = []
    options = {"per_channel": bool(per_channel), "activations": activations}
    qmodel, qparams, _ = _quantize(model, params, x, "", kept, options)
    if kept:
        warnings.warn(
            f"quantize({model.name}) kept {len(kept)} layer(s) with params in float: " + "; ".join(kept),
            QuantizationWarning,
            stacklevel=2,
        )
    return qmodel, qparams


def _quantize(
    layer: Layer, params: Params, x: Any, path: str, kept: list[str], options: dict[str, Any]
) -> tuple[Layer, Params, Any]:
    """The layer and params quantized, and (with a calibration batch) the float output of the layer."""
    if layer.chain:
        children, child_params = [], []
        for i, (child, p) in enumerate(zip(layer.children, params, strict=True)):
            q_child, q_p, x = _quantize(child, p, x, f"{path}{i}.", kept, options)
            children.append(q_child)
            child_params.append(q_p)
        return Sequential(children), tuple(child_params), x
    peak = None if x is None else float(jnp.max(jnp.abs(x)))
    y = None if x is None else layer.raw_apply(params, x)
    twin = quantized.quantize_layer(layer, params, input_range=peak, **options)
    if twin is not None:
        return twin[0], twin[1], y
    if jax.tree_util.tree_leaves(params):
        kept.append(f"{path.rstrip('.') or 'the model'}: {layer.name}")
    return layer, params, y


def dequantize(qmodel: Any, qparams: Params) -> tuple[Layer, Params]:
    """``(model, params)``: each int8 layer back as its float Linear / Conv2d with ``weight = q * scale``.

    Other layers are returned as they are. The float model computes what the int8 one approximates:
    ``dequantize(*quantize(model, params))`` differs from ``(model, params)`` by the weights' rounding.
    """
    qmodel = layer_argument(qmodel, "dequantize")
    return _dequantize(qmodel, qparams)


def _dequantize(layer: Layer, params: Params) -> tuple[Layer, Params]:
    if layer.chain:
        pairs = [_dequantize(child, p) for child, p in zip(layer.children, params, strict=True)]
        return Sequential([c for c, _ in pairs]), tuple(p for _, p in pairs)
    back = quantized.dequantize_layer(layer, params)
    return back if back is not None else (layer, params)
