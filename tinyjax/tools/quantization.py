"""``tinyjax.quantize`` / ``tinyjax.dequantize``: a model's Linears and Conv2ds as real int8 layers, and back.

The transformation walks the model's description: a chain (a Sequential, nested ones included), a
Residual and a Repeat (each of its stacked blocks quantized, the int8 params stacked again) are
rebuilt with each float Linear, Conv2d, MultiHeadAttention and TransformerBlock replaced by its int8
twin (:mod:`tinyjax.nn.quantized`; a block's norms stay float). Layers without params pass through
as they are, and any other layer holding params (a norm, an embedding, a user's pair or combinator)
is kept in float and named in one :class:`QuantizationWarning`, so that nothing is ever quantized
wrongly or silently skipped. Layers are recognised by their apply functions, never by their names.
docs/quantization.md describes the scheme, what it costs and when it is faster.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params
from tinyjax.nn import quantized
from tinyjax.nn.basic import Identity, Residual
from tinyjax.nn.repeat import Repeat
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
    """``(qmodel, qparams)``: every Linear, Conv2d and attention projection of ``model`` in int8, float32 scales.

    A pure function: ``params`` are not changed.

    Args:
      model: a Layer: a Sequential of any depth, Residuals and Repeats (a ``tj.GPT``'s blocks), or a single
        Linear / Conv2d / MultiHeadAttention / TransformerBlock.
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


def _stacked(blocks: list[Params]) -> Params:
    """The blocks' params stacked on a new leading axis (on the host: no XLA program per shape)."""
    return jax.tree_util.tree_map(lambda *a: jnp.asarray(np.stack([np.asarray(v) for v in a])), *blocks)


@functools.cache
def _probes() -> tuple[Layer, Layer]:
    """A Repeat and a Residual: every Repeat (Residual) shares its apply's code with these."""
    return Repeat(Identity(), 1), Residual(Identity())


def _built_as(layer: Layer, probe: Layer) -> bool:
    return getattr(layer.raw_apply, "__code__", None) is getattr(probe.raw_apply, "__code__", False)


def _quantize(
    layer: Layer, params: Params, x: Any, path: str, kept: list[str], options: dict[str, Any]
) -> tuple[Layer, Params, Any]:
    """The layer and params quantized, and (with a calibration batch) the float output of the layer."""
    repeat, residual = _probes()
    if layer.chain:
        children, child_params = [], []
        for i, (child, p) in enumerate(zip(layer.children, params, strict=True)):
            q_child, q_p, x = _quantize(child, p, x, f"{path}{i}.", kept, options)
            children.append(q_child)
            child_params.append(q_p)
        return Sequential(children), tuple(child_params), x
    if _built_as(layer, residual):
        inner, q_params, y = _quantize(layer.children[0], params, x, path, kept, options)
        return Residual(inner), q_params, None if x is None else x + y
    if _built_as(layer, repeat):
        blocks = []
        for i in range(layer.config["n"]):  # block by block: a static layer calibrates at its own block's input
            block_params = jax.tree_util.tree_map(lambda a, i=i: np.asarray(a)[i], params)
            blocks.append(_quantize(layer.children[0], block_params, x, path, kept if i == 0 else [], options))
            x = blocks[-1][2]
        return Repeat(blocks[0][0], layer.config["n"]), _stacked([p for _, p, _ in blocks]), x
    y = None if x is None else layer.raw_apply(params, x)
    twin = quantized.quantize_layer(layer, params, inputs=x, **options)
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
    repeat, residual = _probes()
    if layer.chain:
        pairs = [_dequantize(child, p) for child, p in zip(layer.children, params, strict=True)]
        return Sequential([c for c, _ in pairs]), tuple(p for _, p in pairs)
    if _built_as(layer, residual):
        inner, float_params = _dequantize(layer.children[0], params)
        return Residual(inner), float_params
    if _built_as(layer, repeat):
        n = layer.config["n"]
        blocks = [_dequantize(layer.children[0], jax.tree_util.tree_map(lambda a, i=i: np.asarray(a)[i], params))
                  for i in range(n)]  # fmt: skip
        return Repeat(blocks[0][0], n), _stacked([p for _, p in blocks])
    back = quantized.dequantize_layer(layer, params)
    return back if back is not None else (layer, params)
