"""Int8 layers: QuantizedLinear and QuantizedConv2d, whose weights are real int8 arrays with float32 scales.

A weight is quantized symmetrically, ``weight ~= q * scale`` with ``q = round(weight / scale)`` in
``[-127, 127]`` and ``scale = max|weight| / 127``, per output channel (a scale per output column of a
Linear, per output filter of a Conv2d) or per tensor (one scale). The activations are quantized as
``activations`` says:

* ``"dynamic"``: at run time, one symmetric scale per row (per sample for a Conv2d), from the row's
  own ``max|x|``; the products are int8 x int8 summed in int32 (``lax.dot_general`` /
  ``lax.conv_general_dilated`` with ``preferred_element_type=int32``), then scaled back to float32.
* ``"static"``: one fixed scale, ``params["input_scale"]``, measured on a calibration batch by
  :func:`tinyjax.quantize`; values beyond it saturate to ``[-128, 127]``.
* ``None``: weight-only: the input stays float and multiplies the int8 weight converted to float.

Gradients with respect to the float inputs (and the scales) are the straight-through ones: those of
the same layer with the dequantized weight ``q * scale``, as rounding has no useful derivative.
bfloat16 / float16 inputs are computed in float32 and rounded once to the input's dtype.

Each layer is one :func:`~tinyjax.layer.define` call; :func:`quantize_layer` and :func:`dequantize_layer`
convert a float Linear or Conv2d (recognised by its apply function, never by its name) to and from its
int8 twin, and the tools (:func:`tinyjax.quantize`) walk a model with them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._checks import check_features, check_features_axis, check_float_input
from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Param, Params, cached, define, factory
from tinyjax.nn import conv, linear
from tinyjax.nn._common import pair

__all__ = [
    "ACTIVATIONS",
    "QuantizedConv2d",
    "QuantizedLinear",
    "dequantize_layer",
    "quantize_layer",
    "quantize_weight",
]

ACTIVATIONS = ("dynamic", "static", None)
"""How a quantized layer treats its input: int8 per row at run time, int8 at a calibrated scale, or float."""
QMAX = 127
STATIC_DEFAULT_RANGE = 4.0
"""A fresh static layer's input range (``input_scale = 4 / 127``) until a calibration batch sets it."""

Op = Callable[[jax.Array, jax.Array, Any], jax.Array]
"""``op(x, weight, preferred_element_type) -> y``: the layer's linear map (a dot, a convolution)."""
Post = Callable[[jax.Array, jax.Array], jax.Array]
"""``post(y, scale) -> y * scale``, the weight scale broadcast along the output's channel axis."""


def quantize_weight(weight: jax.Array, channel_axis: int | None) -> tuple[jax.Array, jax.Array]:
    """``(q, scale)``: symmetric int8 ``q`` (the weight's shape) and float32 ``scale``.

    ``channel_axis`` is the axis with one scale per entry (the output channels: 1 for a Linear's
    ``(in, out)`` weight, 0 for a Conv2d's ``(out, in, kh, kw)``), giving ``scale`` of shape ``(out,)``;
    None gives one scale for the tensor, shape ``()``. An all-zero channel gets scale 1 (its codes are 0).
    """
    # concrete weights are quantized by NumPy on the host (no XLA compilation per shape); traced ones by jnp
    xp: Any = jnp if isinstance(weight, jax.core.Tracer) else np
    weight = xp.asarray(weight, np.float32)
    channel = None if channel_axis is None else channel_axis % weight.ndim
    axes = tuple(a for a in range(weight.ndim) if a != channel)
    peak = xp.max(xp.abs(weight), axis=axes)
    scale = xp.where(peak > 0, peak / QMAX, 1.0).astype(np.float32)
    shaped = scale if channel is None else xp.expand_dims(scale, axes)
    q = xp.clip(xp.round(weight / shaped), -QMAX, QMAX).astype(np.int8)
    return jnp.asarray(q), jnp.asarray(scale)


def _row_scale(x: jax.Array, rows: tuple[int, ...]) -> jax.Array:
    """One symmetric scale per row (``max|x| / 127`` over the axes ``rows``), kept broadcastable.

    A row of zeros gets scale 1; a row holding NaN or inf gets a NaN or inf scale, which reaches the
    row's output: a non-finite input never gives finite, wrong numbers.
    """
    peak = jnp.max(jnp.abs(x), axis=rows, keepdims=True)
    return jnp.where(peak == 0, 1.0, peak / QMAX)


def _forward(
    op: Op, rows: tuple[int, ...], post: Post, mode: str | None, x: jax.Array, q: jax.Array, scale: Any, x_scale: Any
) -> jax.Array:
    if mode is None:
        return post(op(x, q.astype(jnp.float32), None), scale)
    s = x_scale if mode == "static" else _row_scale(x, rows)
    low = -QMAX - 1 if mode == "static" else -QMAX
    xq = jnp.clip(jnp.round(x / s), low, QMAX).astype(jnp.int8)
    return post(op(xq, q, jnp.int32).astype(jnp.float32) * s, scale)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2, 3))
def _quantized(
    op: Op, rows: tuple[int, ...], post: Post, mode: str | None, x: jax.Array, q: jax.Array, scale: Any, x_scale: Any
) -> jax.Array:
    return _forward(op, rows, post, mode, x, q, scale, x_scale)


def _quantized_fwd(
    op: Op, rows: tuple[int, ...], post: Post, mode: str | None, x: Any, q: Any, scale: Any, xs: Any
) -> tuple[jax.Array, tuple[Any, ...]]:
    return _forward(op, rows, post, mode, x, q, scale, xs), (x, q, scale, xs)


def _quantized_bwd(
    op: Op, rows: tuple[int, ...], post: Post, mode: str | None, residuals: Any, g: jax.Array
) -> tuple[Any, ...]:
    x, q, scale, x_scale = residuals
    # straight-through: the derivative of the same map with the dequantized weight (rounding has none)
    _, pullback = jax.vjp(lambda v, s: post(op(v, q.astype(jnp.float32), None), s), x, scale)
    gx, gscale = pullback(g)
    zero_q = np.zeros(q.shape, jax.dtypes.float0)
    return gx, zero_q, gscale, None if x_scale is None else jnp.zeros_like(x_scale)


_quantized.defvjp(_quantized_fwd, _quantized_bwd)


def _check_mode(activations: Any) -> str | None:
    if activations not in ACTIVATIONS:
        raise ConfigError(f"activations must be 'dynamic', 'static' or None (weight-only), got {activations!r}")
    return activations


def _params(
    weight: tuple[int, ...], axes: tuple[str, ...], per_channel: bool, bias: bool, mode: str | None
) -> dict[str, Param]:
    """The declared params (made together by the layer's init: the codes and their scales from one float draw)."""
    out = (weight[axes.index("out")],)
    params = {
        "weight": Param(weight, None, axes, dtype=jnp.int8),
        "weight_scale": Param(out if per_channel else (), None, ("out",) if per_channel else ()),
    }
    if bias:
        params["bias"] = Param(out, None, ("out",))
    if mode == "static":
        params["input_scale"] = Param((), None, ())
    return params


def _quantized_params(float_params: Params, channel_axis: int, per_channel: bool, mode: str | None) -> Params:
    q, scale = quantize_weight(float_params["weight"], channel_axis if per_channel else None)
    params = {"weight": q, "weight_scale": scale}
    if "bias" in float_params:
        params["bias"] = jnp.asarray(float_params["bias"], jnp.float32)
    if mode == "static":
        params["input_scale"] = jnp.asarray(np.float32(STATIC_DEFAULT_RANGE / QMAX))
    return params


def _run(params: Params, x: jax.Array, op: Op, rows: tuple[int, ...], post: Post, mode: str | None) -> jax.Array:
    """The int8 map with the bias added, in float32; the result in the input's dtype."""
    dtype = x.dtype
    scale = params["weight_scale"].astype(jnp.float32)
    x_scale = params["input_scale"].astype(jnp.float32) if mode == "static" else None
    y = _quantized(op, rows, post, mode, x.astype(jnp.float32), params["weight"], scale, x_scale)
    return y.astype(dtype)


# --- QuantizedLinear -------------------------------------------------------------------------------------------


def _dot(x: jax.Array, weight: jax.Array, preferred: Any) -> jax.Array:
    return jax.lax.dot_general(x, weight, (((x.ndim - 1,), (0,)), ((), ())), preferred_element_type=preferred)


def _scale_last(y: jax.Array, scale: jax.Array) -> jax.Array:
    return y * scale


def _linear_apply(params: Params, x: jax.Array, *, mode: str | None, name: str) -> jax.Array:
    check_float_input(x, name)
    check_features_axis(x, params["weight"].shape[0], name)
    y = _run(params, x, _dot, (-1,), _scale_last, mode)
    return y + params["bias"].astype(y.dtype) if "bias" in params else y


def _linear_init(key: jax.Array, *, float_layer: Layer, per_channel: bool, mode: str | None) -> Params:
    return _quantized_params(float_layer.init(key), 1, per_channel, mode)


@factory
@cached
def QuantizedLinear(
    in_features: int,
    out_features: int,
    *,
    bias: bool = True,
    per_channel: bool = True,
    activations: str | None = "dynamic",
) -> Layer:
    """An int8 Linear: ``y ~= x @ (weight * weight_scale) + bias`` with an int8 ``weight``.

    Args:
      in_features, out_features: sizes of the input's and the output's last axis.
      bias: whether it adds a float32 bias.
      per_channel: a scale per output column (default) or one for the whole weight.
      activations: ``"dynamic"`` (int8 per row at run time), ``"static"`` (int8 at the calibrated
        ``input_scale``) or None (float input, weight-only).

    Shapes:
      params: ``{"weight": int8 (in, out), "weight_scale": float32 (out,) or (), "bias": float32 (out,)}``,
      plus ``"input_scale": float32 ()`` when static. ``init(key)`` quantizes a fresh ``tj.Linear``'s
      params; :func:`tinyjax.quantize` makes them from trained ones.
      ``apply(params, x)``: ``(..., in)`` -> ``(..., out)`` in ``x``'s floating dtype.
    """
    in_features = check_features("in_features", in_features)
    out_features = check_features("out_features", out_features)
    mode, bias, per_channel = _check_mode(activations), bool(bias), bool(per_channel)
    name = f"QuantizedLinear({in_features} -> {out_features}, {_describe(per_channel, mode)})"
    return define(
        name,
        functools.partial(_linear_apply, mode=mode, name=name),
        params=_params((in_features, out_features), ("in", "out"), per_channel, bias, mode),
        init=functools.partial(
            _linear_init,
            float_layer=linear.Linear(in_features, out_features, bias=bias),
            per_channel=per_channel,
            mode=mode,
        ),
        doc=f"``apply(params, x) -> y``: {name}; ``(..., {in_features})`` -> ``(..., {out_features})``.",
        config={
            "in_features": in_features,
            "out_features": out_features,
            "bias": bias,
            "per_channel": per_channel,
            "activations": mode,
        },
        in_features=in_features,
        out_features=out_features,
        onnx=functools.partial(_linear_onnx, mode=mode),
    )


def _describe(per_channel: bool, mode: str | None) -> str:
    return f"int8 {'per channel' if per_channel else 'per tensor'}, activations={mode}"


def _linear_onnx(graph: Any, names: Params, x: str, *, mode: str | None) -> str:
    """Standard ONNX integer nodes (docs/quantization.md says why these, measured in ONNX Runtime).

    dynamic: ``DynamicQuantizeLinear`` (uint8, one asymmetric scale per tensor: ONNX Runtime's scheme,
    which it fuses with the next node) then ``MatMulInteger``; static: ``QuantizeLinear`` at the
    calibrated scale (uint8 with zero point 128: the int8 codes shifted) then ``MatMulInteger``;
    weight-only: ``MatMul`` with the weight ``Cast`` to float (ONNX Runtime folds the cast once, at load).
    """
    y = _integer_product(graph, x, names, names["weight_scale"], mode, "MatMulInteger", {}, "MatMul")
    return graph.node("Add", [y, names["bias"]]) if "bias" in names else y


def _integer_product(
    graph: Any, x: str, names: Params, scale: str, mode: str | None, integer_op: str, attributes: Any, float_op: str
) -> str:
    weight = names["weight"]
    if mode is None:
        y = graph.node(float_op, [x, graph.cast(weight, np.float32)], **attributes)
        return graph.node("Mul", [y, scale])
    if mode == "dynamic":
        xq, x_scale, zero = graph.node_outputs("DynamicQuantizeLinear", [x], 3)
    else:
        x_scale = names["input_scale"]
        zero = graph.constant(np.uint8(128))
        xq = graph.node("QuantizeLinear", [x, x_scale, zero])
    acc = graph.cast(graph.node(integer_op, [xq, weight, zero], **attributes), np.float32)
    return graph.node("Mul", [acc, graph.node("Mul", [x_scale, scale])])


# --- QuantizedConv2d -------------------------------------------------------------------------------------------


def _conv(x: jax.Array, weight: jax.Array, preferred: Any, *, stride: Any, padding: Any) -> jax.Array:
    return jax.lax.conv_general_dilated(
        x,
        weight,
        stride,
        [(p, p) for p in padding],
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        preferred_element_type=preferred,
    )


def _scale_channels(y: jax.Array, scale: jax.Array) -> jax.Array:
    return y * (scale[:, None, None] if scale.ndim else scale)


def _conv_apply(params: Params, x: jax.Array, *, mode: str | None, op: Op, name: str, geometry: Any) -> jax.Array:
    shape = params["weight"].shape
    conv.check_spatial(x, shape[1], shape[2:], geometry, name)
    batched = x if x.ndim == 4 else x[None]
    y = _run(params, batched, op, (-3, -2, -1), _scale_channels, mode)
    if "bias" in params:
        y = y + params["bias"].astype(y.dtype)[:, None, None]
    return y if x.ndim == 4 else y[0]


def _conv_init(key: jax.Array, *, float_layer: Layer, per_channel: bool, mode: str | None) -> Params:
    return _quantized_params(float_layer.init(key), 0, per_channel, mode)


@factory
@cached
def QuantizedConv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    bias: bool = True,
    *,
    per_channel: bool = True,
    activations: str | None = "dynamic",
) -> Layer:
    """An int8 Conv2d on NCHW input (``tj.Conv2d``'s arguments, and ``per_channel`` / ``activations``).

    Shapes:
      params: ``{"weight": int8 (C_out, C_in, kh, kw), "weight_scale": float32 (C_out,) or (),
      "bias": float32 (C_out,)}``, plus ``"input_scale": float32 ()`` when static.
      ``apply(params, x)``: ``(N, C_in, H, W)`` (or ``(C_in, H, W)``) -> ``(N, C_out, H', W')``; dynamic
      activations take one scale per sample.
    """
    cin, cout = check_features("in_channels", in_channels), check_features("out_channels", out_channels)
    kernel, strides, pads = pair("kernel_size", kernel_size), pair("stride", stride), pair("padding", padding, 0)
    mode, bias, per_channel = _check_mode(activations), bool(bias), bool(per_channel)
    name = (
        f"QuantizedConv2d({cin} -> {cout}, kernel={kernel}, stride={strides}, padding={pads}, "
        f"{_describe(per_channel, mode)})"
    )
    op = functools.partial(_conv, stride=strides, padding=pads)
    return define(
        name,
        functools.partial(_conv_apply, mode=mode, op=op, name=name, geometry=pads),
        params=_params((cout, cin, *kernel), ("out", "in", "kh", "kw"), per_channel, bias, mode),
        init=functools.partial(
            _conv_init,
            float_layer=conv.Conv2d(cin, cout, kernel, strides, pads, bias),
            per_channel=per_channel,
            mode=mode,
        ),
        doc=f"``apply(params, x) -> y``: {name}; ``(N, {cin}, H, W)`` -> ``(N, {cout}, H', W')``.",
        config={
            "in_channels": cin,
            "out_channels": cout,
            "kernel_size": kernel,
            "stride": strides,
            "padding": pads,
            "bias": bias,
            "per_channel": per_channel,
            "activations": mode,
        },
        onnx=functools.partial(
            _conv_onnx, mode=mode, per_channel=per_channel, kernel=kernel, stride=strides, padding=pads
        ),
    )


def _conv_onnx(
    graph: Any, names: Params, x: str, *, mode: str | None, per_channel: bool, kernel: Any, stride: Any, padding: Any
) -> str:
    """``ConvInteger`` on the quantized input (as :func:`_linear_onnx`), the scales per output channel."""
    attributes = {"kernel_shape": list(kernel), "strides": list(stride), "pads": [*padding, *padding]}
    scale = names["weight_scale"]
    channel_scale = (
        graph.node("Unsqueeze", [scale, graph.constant(np.array([1, 2], np.int64))]) if per_channel else scale
    )
    y = _integer_product(graph, x, names, channel_scale, mode, "ConvInteger", attributes, "Conv")
    if "bias" in names:
        bias = graph.node("Unsqueeze", [names["bias"], graph.constant(np.array([1, 2], np.int64))])
        y = graph.node("Add", [y, bias])
    return y


# --- conversions, for the tools ----------------------------------------------------------------------------------


def _math_of(layer: Layer) -> Any:
    """The function a layer's apply computes, behind the params check ``define`` puts in front of it."""
    return getattr(inspect.unwrap(layer.raw_apply), "func", None)


def quantize_layer(
    layer: Layer, params: Params, *, per_channel: bool, activations: str | None, input_range: Any = None
) -> tuple[Layer, Params] | None:
    """A float Linear or Conv2d and its params as their int8 twin; None for any other layer.

    ``input_range``: the largest ``|x|`` of the calibration batch at this layer's input (static
    activations: ``input_scale = input_range / 127``).
    """
    mode = _check_mode(activations)
    base = _math_of(layer)
    config = layer.config
    if base is linear._apply:
        twin = QuantizedLinear(
            config["in_features"],
            config["out_features"],
            bias=config["bias"],
            per_channel=per_channel,
            activations=mode,
        )
        channel_axis = 1
    elif base is conv._conv2d:
        twin = QuantizedConv2d(
            config["in_channels"],
            config["out_channels"],
            config["kernel_size"],
            config["stride"],
            config["padding"],
            config["bias"],
            per_channel=per_channel,
            activations=mode,
        )
        channel_axis = 0
    else:
        return None
    qparams = _quantized_params(params, channel_axis, per_channel, mode)
    if mode == "static" and input_range is not None:
        peak = np.float32(input_range)
        qparams["input_scale"] = jnp.asarray(peak / QMAX if peak > 0 else np.float32(1.0))
    return twin, qparams


def dequantize_layer(layer: Layer, params: Params) -> tuple[Layer, Params] | None:
    """An int8 layer of this module and its params as the float layer (``weight = q * scale``); else None."""
    base = _math_of(layer)
    config = layer.config
    if base is _linear_apply:
        float_layer = linear.Linear(config["in_features"], config["out_features"], bias=config["bias"])
        weight = params["weight"].astype(jnp.float32) * params["weight_scale"]
    elif base is _conv_apply:
        float_layer = conv.Conv2d(
            config["in_channels"],
            config["out_channels"],
            config["kernel_size"],
            config["stride"],
            config["padding"],
            config["bias"],
        )
        scale = params["weight_scale"]
        weight = params["weight"].astype(jnp.float32) * (scale[:, None, None, None] if scale.ndim else scale)
    else:
        return None
    float_params = {"weight": weight}
    if "bias" in params:
        float_params["bias"] = params["bias"]
    return float_layer, float_params
