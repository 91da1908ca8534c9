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

import dataclasses
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
from tinyjax.nn import attention, conv, linear, transformer
from tinyjax.nn._common import pair

__all__ = [
    "ACTIVATIONS",
    "QuantizedConv2d",
    "QuantizedLinear",
    "QuantizedMultiHeadAttention",
    "QuantizedTransformerBlock",
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


def quantize_weight(weight: jax.Array, channel_axis: int | tuple[int, ...] | None) -> tuple[jax.Array, jax.Array]:
    """``(q, scale)``: symmetric int8 ``q`` (the weight's shape) and float32 ``scale``.

    ``channel_axis`` is the axis with one scale per entry (the output channels: 1 for a Linear's
    ``(in, out)`` weight, 0 for a Conv2d's ``(out, in, kh, kw)``), giving ``scale`` of shape ``(out,)``,
    or a tuple of such axes (attention's in-projection ``(E, 3, H, D)``: ``(1, 2, 3)``, scale ``(3, H, D)``);
    None gives one scale for the tensor, shape ``()``. An all-zero channel gets scale 1 (its codes are 0).
    """
    # concrete weights are quantized by NumPy on the host (no XLA compilation per shape); traced ones by jnp
    xp: Any = jnp if isinstance(weight, jax.core.Tracer) else np
    weight = xp.asarray(weight, np.float32)
    given = () if channel_axis is None else channel_axis if isinstance(channel_axis, tuple) else (channel_axis,)
    channels = {a % weight.ndim for a in given}
    axes = tuple(a for a in range(weight.ndim) if a not in channels)
    peak = xp.max(xp.abs(weight), axis=axes)
    scale = xp.where(peak > 0, peak / QMAX, 1.0).astype(np.float32)
    shaped = xp.expand_dims(scale, axes) if channels else scale
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
    acc = op(xq, q, jnp.int32).astype(jnp.float32)
    if jnp.ndim(s):  # a row's scale, over the output's axes after the row's own (rows are x's trailing axes)
        kept = x.ndim - len(rows)
        s = s.reshape(s.shape[:kept] + (1,) * (acc.ndim - kept))
    return post(acc * s, scale)


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


def _describe(per_channel: bool, activations: str | None) -> str:
    return f"int8 {'per channel' if per_channel else 'per tensor'}, activations={activations}"


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


# --- QuantizedMultiHeadAttention and QuantizedTransformerBlock ----------------------------------------------------


def _dot_heads(x: jax.Array, weight: jax.Array, preferred: Any) -> jax.Array:
    """``(..., T, H, D)`` by ``(H, D, E)``: the out-projection, both head axes contracted."""
    contract = ((x.ndim - 2, x.ndim - 1), (0, 1))
    return jax.lax.dot_general(x, weight, (contract, ((), ())), preferred_element_type=preferred)


_PROJECTIONS = {"in": ((1, 2, 3), _dot, (-1,)), "out": ((2,), _dot_heads, (-2, -1))}
"""Per projection: the weight's output-channel axes, the int8 map, the axes of one activation row (a token)."""


def _attention_project(params: Params, x: jax.Array, which: str, work: Any, *, mode: str | None) -> jax.Array:
    """:data:`tinyjax.nn.attention.Project` in int8: each token's row quantized as a Linear's input is."""
    _, op, rows = _PROJECTIONS[which]
    view = {"weight": params[f"{which}_proj_weight"], "weight_scale": params[f"{which}_proj_weight_scale"]}
    if mode == "static":
        view["input_scale"] = params[f"{which}_proj_input_scale"]
    y = _run(view, x, op, rows, _scale_last, mode).astype(work)
    bias = f"{which}_proj_bias"
    return y + params[bias].astype(work) if bias in params else y


def _attention_specs(embed: int, heads: int, bias: bool, per_channel: bool, mode: str | None) -> dict[str, Param]:
    """The float layer's declared params with int8 weights, plus each projection's scales (and input scales)."""
    float_specs = attention.MultiHeadAttention(embed, heads, bias=bias).specs or {}
    specs: dict[str, Any] = {
        name: dataclasses.replace(spec, init=None, dtype=jnp.int8 if name.endswith("weight") else jnp.float32)
        for name, spec in float_specs.items()
        if isinstance(spec, Param)
    }
    head_axes = ("qkv", "heads", "head_dim")
    specs["in_proj_weight_scale"] = Param((3, heads, embed // heads) if per_channel else (), None,
                                          head_axes if per_channel else ())  # fmt: skip
    specs["out_proj_weight_scale"] = Param((embed,) if per_channel else (), None, ("out",) if per_channel else ())
    if mode == "static":
        specs["in_proj_input_scale"] = specs["out_proj_input_scale"] = Param((), None, ())
    return specs


def _attention_params(float_params: Params, per_channel: bool, mode: str | None, ranges: Any = None) -> Params:
    """Int8 projections from a MultiHeadAttention's params; ``ranges``: the calibrated ``max|x|`` per projection."""
    params = {}
    for which, (channels, _, _) in _PROJECTIONS.items():
        q, scale = quantize_weight(float_params[f"{which}_proj_weight"], channels if per_channel else None)
        params[f"{which}_proj_weight"], params[f"{which}_proj_weight_scale"] = q, scale
        if f"{which}_proj_bias" in float_params:
            params[f"{which}_proj_bias"] = jnp.asarray(float_params[f"{which}_proj_bias"], jnp.float32)
        if mode == "static":
            params[f"{which}_proj_input_scale"] = _input_scale(None if ranges is None else ranges[which])
    return params


def _input_scale(peak: Any) -> jax.Array:
    """A static layer's input scale for a calibrated ``max|x|`` (None: the fresh layer's default range)."""
    peak = np.float32(STATIC_DEFAULT_RANGE if peak is None else peak)
    return jnp.asarray(peak / QMAX if peak > 0 else np.float32(1.0))


def _attention_onnx(
    graph: Any, names: Params, which: str, x: str, out: int, *, mode: str | None, per_channel: bool
) -> str:
    """A projection as :func:`_linear_onnx` maps a Linear: its int8 weight seen as (E, out), scales (out,)."""
    view = {"weight": attention.flat_param(graph, names, f"{which}_proj_weight", -1, out)}
    if mode == "static":
        view["input_scale"] = names[f"{which}_proj_input_scale"]
    scale = names[f"{which}_proj_weight_scale"]
    scale = attention.flat_param(graph, names, f"{which}_proj_weight_scale", out) if per_channel else scale
    y = _integer_product(graph, x, view, scale, mode, "MatMulInteger", {}, "MatMul")
    bias = f"{which}_proj_bias"
    return graph.node("Add", [y, attention.flat_param(graph, names, bias, out)]) if bias in names else y


@factory
@cached
def QuantizedMultiHeadAttention(
    embed_dim: int,
    num_heads: int,
    *,
    bias: bool = True,
    causal: bool = False,
    per_channel: bool = True,
    activations: str | None = "dynamic",
) -> Layer:
    """A MultiHeadAttention whose in- and out-projections are int8 (``tj.MultiHeadAttention``'s arguments).

    The softmax and the attention products stay float: only the projections hold weights. Each
    projection quantizes its input per token (dynamic), at its calibrated scale (static) or not at all.

    Shapes:
      params: ``{"in_proj_weight": int8 (E, 3, H, D), "in_proj_weight_scale": float32 (3, H, D) or (),
      "in_proj_bias": (3, H, D), "out_proj_weight": int8 (H, D, E), "out_proj_weight_scale": float32
      (E,) or (), "out_proj_bias": (E,)}`` (scales per output channel, or per tensor), plus
      ``"in_proj_input_scale"`` and ``"out_proj_input_scale"`` (float32 ``()``) when static.
      ``apply(params, x, *, mask=None)``: ``(..., T, E)`` -> ``(..., T, E)``, as the float layer's.
    """
    embed = check_features("embed_dim", embed_dim)
    heads = check_features("num_heads", num_heads)
    float_layer = attention.MultiHeadAttention(embed, heads, bias=bias, causal=causal)  # checks the sizes
    mode, bias, causal, per_channel = _check_mode(activations), bool(bias), bool(causal), bool(per_channel)
    name = (
        f"QuantizedMultiHeadAttention({embed}, heads={heads}{', causal' if causal else ''}, "
        f"{_describe(per_channel, mode)})"
    )
    return define(
        name,
        functools.partial(
            attention._apply,
            embed_dim=embed,
            num_heads=heads,
            causal=causal,
            name=name,
            project=functools.partial(_attention_project, mode=mode),
        ),
        params=_attention_specs(embed, heads, bias, per_channel, mode),
        init=lambda key: _attention_params(float_layer.init(key), per_channel, mode),
        doc=f"``apply(params, x, *, mask=None) -> y``: {name}; ``(..., T, {embed})`` -> ``(..., T, {embed})``.",
        config={**float_layer.config, "per_channel": per_channel, "activations": mode},
        out_features=embed,
        onnx=functools.partial(
            attention._onnx,
            embed_dim=embed,
            num_heads=heads,
            causal=causal,
            head_dim=embed // heads,
            project_onnx=functools.partial(_attention_onnx, mode=mode, per_channel=per_channel),
        ),
    )


@factory
@cached
def QuantizedTransformerBlock(
    embed_dim: int,
    num_heads: int,
    mlp_ratio: int = 4,
    dropout: float = 0.0,
    *,
    causal: bool = True,
    per_channel: bool = True,
    activations: str | None = "dynamic",
) -> Layer:
    """A TransformerBlock whose attention projections and two Linears are int8; its LayerNorms stay float.

    Shapes:
      params: ``tj.TransformerBlock``'s dict, ``"self_attn"`` a :func:`QuantizedMultiHeadAttention`'s
      params and ``"linear1"`` / ``"linear2"`` :func:`QuantizedLinear`'s. ``apply`` as the float block's;
      :func:`tinyjax.nn.transformer.decode` (and so ``tj.gpt.generate``) runs it over a cache.
    """
    block = transformer.TransformerBlock(embed_dim, num_heads, mlp_ratio, dropout, causal=causal)
    config = block.config
    options: dict[str, Any] = {"per_channel": bool(per_channel), "activations": _check_mode(activations)}
    embed, heads, hidden = config["embed_dim"], config["num_heads"], config["embed_dim"] * config["mlp_ratio"]
    parts = {
        "norm1": block.children[0],
        "self_attn": QuantizedMultiHeadAttention(embed, heads, causal=config["causal"], **options),
        "norm2": block.children[2],
        "linear1": QuantizedLinear(embed, hidden, **options),
        "linear2": QuantizedLinear(hidden, embed, **options),
    }
    name = (
        f"QuantizedTransformerBlock({embed}, heads={heads}, mlp={hidden}{', causal' if config['causal'] else ''}, "
        f"{_describe(**options)})"
    )
    return define(
        name,
        functools.partial(transformer._apply, parts=parts, rate=config["dropout"], name=name),
        params=parts,
        doc=f"``apply(params, x, *, mask=None, key=None, training=None) -> y``: {name}; ``(..., T, {embed})``.",
        options=sorted(block.options),
        config={**config, **options},
        out_features=embed,
        onnx=functools.partial(transformer._onnx, parts=parts),
    )


# --- conversions, for the tools ----------------------------------------------------------------------------------


def _math_of(layer: Layer) -> Any:
    """The function a layer's apply computes, behind the params check ``define`` puts in front of it."""
    return getattr(inspect.unwrap(layer.raw_apply), "func", None)


def quantize_layer(
    layer: Layer, params: Params, *, per_channel: bool, activations: str | None, inputs: Any = None
) -> tuple[Layer, Params] | None:
    """A float Linear, Conv2d, MultiHeadAttention or TransformerBlock and its params as its int8 twin; else None.

    ``inputs``: the calibration batch at this layer's input (static activations: each int8 map's
    ``input_scale`` is the largest ``|x|`` it sees, through the float layer, divided by 127).
    """
    mode = _check_mode(activations)
    options: dict[str, Any] = {"per_channel": per_channel, "activations": mode}
    base, config = _math_of(layer), layer.config
    peak = None if inputs is None else float(jnp.max(jnp.abs(inputs)))
    if base is linear._apply:
        twin = QuantizedLinear(config["in_features"], config["out_features"], bias=config["bias"], **options)
        qparams = _quantized_params(params, 1, per_channel, mode)
    elif base is conv._conv2d:
        geometry = (config["kernel_size"], config["stride"], config["padding"], config["bias"])
        twin = QuantizedConv2d(config["in_channels"], config["out_channels"], *geometry, **options)
        qparams = _quantized_params(params, 0, per_channel, mode)
    elif base is attention._apply and attention.projection(layer) is attention.dense:
        twin = QuantizedMultiHeadAttention(
            config["embed_dim"], config["num_heads"], bias=config["bias"], causal=config["causal"], **options
        )
        ranges = None if inputs is None else {"in": peak, "out": _attended_peak(layer, params, inputs)}
        return twin, _attention_params(params, per_channel, mode, ranges)
    elif base is transformer._apply and attention.projection(layer.children[1]) is attention.dense:
        return _quantize_block(layer, params, inputs, options)
    else:
        return None
    if mode == "static":
        qparams["input_scale"] = _input_scale(peak)
    return twin, qparams


def _attended_peak(layer: Layer, params: Params, x: jax.Array) -> float:
    """The largest ``|x|`` at a float attention's out-projection: its heads' outputs on ``x``."""
    q, k, v = attention._heads(x, params, jnp.float32, attention.dense)
    seq = x.shape[-2]
    allowed = np.tril(np.ones((seq, seq), bool)) if layer.config["causal"] else None
    return float(jnp.max(jnp.abs(attention.attend(q, k, v, allowed))))


def _quantize_block(layer: Layer, params: Params, x: Any, options: dict[str, Any]) -> tuple[Layer, Params]:
    """A TransformerBlock's attention and Linears as int8 twins (calibrated at their own inputs); norms as they are."""
    config = layer.config
    twin = QuantizedTransformerBlock(
        config["embed_dim"], config["num_heads"], config["mlp_ratio"], config["dropout"], causal=config["causal"],
        **options,
    )  # fmt: skip
    parts = dict(zip(("norm1", "self_attn", "norm2", "linear1", "linear2"), layer.children, strict=True))
    inputs: dict[str, Any] = dict.fromkeys(parts)
    if x is not None:  # the inputs each part sees in the float block (dropout is off in inference)
        inputs["self_attn"] = parts["norm1"].raw_apply(params["norm1"], x)
        h = x + parts["self_attn"].raw_apply(params["self_attn"], inputs["self_attn"])
        inputs["linear1"] = parts["norm2"].raw_apply(params["norm2"], h)
        inputs["linear2"] = jax.nn.gelu(parts["linear1"].raw_apply(params["linear1"], inputs["linear1"]), False)
    qparams = dict(params)
    for label in ("self_attn", "linear1", "linear2"):
        done = quantize_layer(parts[label], params[label], inputs=inputs[label], **options)
        qparams[label] = done[1]  # type: ignore[index]
    return twin, qparams


def dequantize_layer(layer: Layer, params: Params) -> tuple[Layer, Params] | None:
    """An int8 layer of this module and its params as the float layer (``weight = q * scale``); else None."""
    base = _math_of(layer)
    config = layer.config
    if base is _linear_apply:
        float_layer = linear.Linear(config["in_features"], config["out_features"], bias=config["bias"])
        return float_layer, _dequantized(params, "", 1)
    if base is _conv_apply:
        geometry = (config["kernel_size"], config["stride"], config["padding"], config["bias"])
        return conv.Conv2d(config["in_channels"], config["out_channels"], *geometry), _dequantized(params, "", 0)
    if base is attention._apply and attention.projection(layer) is not attention.dense:
        float_layer = attention.MultiHeadAttention(
            config["embed_dim"], config["num_heads"], bias=config["bias"], causal=config["causal"]
        )
        return float_layer, {**_dequantized(params, "in_proj_", 1), **_dequantized(params, "out_proj_", 2)}
    if base is transformer._apply and attention.projection(layer.children[1]) is not attention.dense:
        block = transformer.TransformerBlock(
            config["embed_dim"], config["num_heads"], config["mlp_ratio"], config["dropout"], causal=config["causal"]
        )
        labels = ("norm1", "self_attn", "norm2", "linear1", "linear2")
        back = {
            label: dequantize_layer(child, params[label]) for label, child in zip(labels, layer.children, strict=True)
        }
        return block, {label: params[label] if pair is None else pair[1] for label, pair in back.items()}
    return None


def _dequantized(params: Params, prefix: str, first_channel: int) -> Params:
    """``{prefix}weight = q * scale`` (the scale's axes placed from ``first_channel`` on) and the bias, float32."""
    q, scale = params[f"{prefix}weight"], params[f"{prefix}weight_scale"]
    shaped = scale.reshape(scale.shape + (1,) * (q.ndim - first_channel - scale.ndim)) if scale.ndim else scale
    float_params = {f"{prefix}weight": q.astype(jnp.float32) * shaped}
    if f"{prefix}bias" in params:
        float_params[f"{prefix}bias"] = params[f"{prefix}bias"]
    return float_params
