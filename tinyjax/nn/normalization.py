"""Normalization: LayerNorm and RMSNorm over the last axes, BatchNorm1d / BatchNorm2d with running statistics.

LayerNorm and RMSNorm are plain pairs. BatchNorm keeps its running statistics as state inside its
params, named as PyTorch's buffers (docs/state.md): ``apply(params, x)`` normalizes with them
(inference); ``apply(params, x, training=True)`` normalizes with the batch's statistics and returns
``(y, new_state)``, the updated statistics, without mutating anything. bfloat16 and float16 inputs
are normalized in float32 and rounded once.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._checks import check_features, check_float_input
from tinyjax._errors import ConfigError, ShapeError
from tinyjax.initializers import ones, zeros
from tinyjax.layer import Layer, Param, Params, Torch, cached, define, factory
from tinyjax.nn._common import check_eps, compute_dtype, normalize, sizes, standardize

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "RMSNorm"]


def _affine(shape: tuple[int, ...], *names: str) -> dict[str, Param]:
    """``weight`` (ones) and ``bias`` (zeros) over the normalized axes, as named."""
    axes = ("embed",) if len(shape) == 1 else tuple(f"norm{i}" for i in range(len(shape)))
    return {name: Param(shape, ones if name == "weight" else zeros, axes) for name in names}


def _check_trailing(x: jax.Array, shape: tuple[int, ...], layer: str) -> tuple[int, ...]:
    check_float_input(x, layer)
    if tuple(jnp.shape(x)[max(jnp.ndim(x) - len(shape), 0) :]) != shape or jnp.ndim(x) < len(shape):
        raise ShapeError(layer, (..., *shape), tuple(jnp.shape(x)))
    return tuple(range(-len(shape), 0))


def _layer_norm(params: Params, x: jax.Array, *, shape: tuple[int, ...], eps: float, affine: bool, name: str) -> Any:
    axes = _check_trailing(x, shape, name)
    dtype, work = compute_dtype(x, *jax.tree_util.tree_leaves(params))
    if affine:
        scale, shift = params["weight"].astype(work), params["bias"].astype(work)
    else:
        scale, shift = jnp.ones((), work), jnp.zeros((), work)
    return standardize(x.astype(work), scale, shift, axes, eps).astype(dtype)


@factory
@cached
def LayerNorm(normalized_shape: int | tuple[int, ...], eps: float = 1e-5, elementwise_affine: bool = True) -> Layer:
    """Layer normalization over the last axes, as ``torch.nn.LayerNorm``: ``(x - mean) / sqrt(var + eps) * w + b``.

    Args:
      normalized_shape: the size of the last axis (an int), or of the last axes (a tuple).
      eps: added to the (biased) variance, default 1e-5.
      elementwise_affine: whether to learn ``weight`` (ones at init) and ``bias`` (zeros).

    Shapes:
      params: ``{"weight": normalized_shape, "bias": normalized_shape}``, or ``()`` without affine.
      ``apply(params, x)``: ``(..., *normalized_shape)`` -> the same shape; each sample's last axes
      are normalized with their own mean and variance.
    """
    shape = sizes("normalized_shape", normalized_shape)
    eps = check_eps(eps, "LayerNorm")
    affine = bool(elementwise_affine)
    name = f"LayerNorm({shape[0] if len(shape) == 1 else shape}, eps={eps})"
    return define(
        name,
        functools.partial(_layer_norm, shape=shape, eps=eps, affine=affine, name=name),
        params=_affine(shape, "weight", "bias") if affine else {},
        doc=f"``apply(params, x) -> y``: {name} over the last {len(shape)} axes; ``y`` has ``x``'s shape and dtype.",
        config={"normalized_shape": shape, "eps": eps, "elementwise_affine": affine},
        in_features=shape[-1] if len(shape) == 1 else None,  # one sample (in,) fits only a 1-D shape
        out_features=shape[-1],
        torch=Torch(),
        onnx=functools.partial(_layer_norm_onnx, shape=shape, eps=eps),
    )


def _layer_norm_onnx(graph: Any, names: Params, x: str, *, shape: tuple[int, ...], eps: float) -> str:
    """ONNX ``LayerNormalization`` over the last ``len(shape)`` axes (a scale of ones without affine params)."""
    scale = names["weight"] if names else graph.constant(np.ones(shape, np.float32))
    inputs = [x, scale, *([names["bias"]] if names else [])]
    return graph.node("LayerNormalization", inputs, axis=-len(shape), epsilon=eps)


def _rms_norm(params: Params, x: jax.Array, *, shape: tuple[int, ...], eps: float | None, name: str) -> Any:
    axes = _check_trailing(x, shape, name)
    dtype, work = compute_dtype(x, params["weight"])
    xf = x.astype(work)
    epsilon = jnp.finfo(x.dtype).eps if eps is None else eps  # torch: the input dtype's machine epsilon
    y = xf * jax.lax.rsqrt(jnp.mean(jnp.square(xf), axes, keepdims=True) + epsilon)
    return (y * params["weight"].astype(work)).astype(dtype)


@factory
@cached
def RMSNorm(normalized_shape: int | tuple[int, ...], eps: float | None = None) -> Layer:
    """Root-mean-square normalization, as ``torch.nn.RMSNorm``: ``x / sqrt(mean(x**2) + eps) * weight``.

    Args:
      normalized_shape: the size of the last axis (an int), or of the last axes (a tuple).
      eps: added to the mean square; None (default) takes the input dtype's machine epsilon, as torch.

    Shapes:
      params: ``{"weight": normalized_shape}`` (ones at init).
      ``apply(params, x)``: ``(..., *normalized_shape)`` -> the same shape.
    """
    shape = sizes("normalized_shape", normalized_shape)
    eps = None if eps is None else check_eps(eps, "RMSNorm")
    name = f"RMSNorm({shape[0] if len(shape) == 1 else shape}, eps={eps})"
    return define(
        name,
        functools.partial(_rms_norm, shape=shape, eps=eps, name=name),
        params=_affine(shape, "weight"),
        doc=f"``apply(params, x) -> y``: {name} over the last {len(shape)} axes; ``y`` has ``x``'s shape and dtype.",
        config={"normalized_shape": shape, "eps": eps},
        in_features=shape[-1] if len(shape) == 1 else None,
        out_features=shape[-1],
        torch=Torch(),
        onnx=functools.partial(_rms_norm_onnx, shape=shape, eps=eps),
    )


def _rms_norm_onnx(graph: Any, names: Params, x: str, *, shape: tuple[int, ...], eps: float | None) -> str:
    """ONNX nodes of ``apply``'s ``x * rsqrt(mean(x**2) + eps) * weight`` (opset 20 has no ``RMSNormalization``).

    ``eps`` None is the export dtype's machine epsilon, as ``apply`` takes the input's (float32).
    """
    axes = graph.constant(np.arange(-len(shape), 0, dtype=np.int64))
    mean_square = graph.node("ReduceMean", [graph.node("Mul", [x, x]), axes], keepdims=1)
    epsilon = graph.constant(np.finfo(graph.dtype).eps if eps is None else eps)
    rsqrt = graph.node("Reciprocal", [graph.node("Sqrt", [graph.node("Add", [mean_square, epsilon])])])
    return graph.node("Mul", [graph.node("Mul", [x, rsqrt]), names["weight"]])


def _channel_axis(x: jax.Array, features: int, spatial: int, layer: str) -> int:
    """The channel axis of ``x``: ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``; else ShapeError."""
    check_float_input(x, layer)
    ndim = jnp.ndim(x)
    rest = ("L",) if spatial == 1 else ("H", "W")
    forms = [f"(N, {features})", f"(N, {features}, L)"] if spatial == 1 else [f"(N, {features}, H, W)"]
    axis = ({1: 0, 2: 1, 3: 1} if spatial == 1 else {3: 0, 4: 1}).get(ndim)
    if axis is None or x.shape[axis] != features:
        unbatched = f"({features},)" if spatial == 1 else f"({features}, {', '.join(rest)})"
        raise ShapeError(layer, f"{' or '.join([*forms, unbatched])}", tuple(jnp.shape(x)), what="input")
    return axis


def _batch_norm(
    params: Params,
    x: jax.Array,
    *,
    training: bool | None = None,
    features: int,
    spatial: int,
    eps: float,
    momentum: float | None,
    name: str,
) -> Any:
    axis = _channel_axis(x, features, spatial, name)
    if training not in (None, True, False):
        raise ConfigError(f"{name}: training must be True, False or None, got {training!r}")
    dtype, work = compute_dtype(x, params["weight"], params["bias"])
    xf = x.astype(work)
    shape = [1] * jnp.ndim(x)
    shape[axis] = features

    def per_channel(v: jax.Array) -> jax.Array:
        return v.astype(work).reshape(shape)

    scale, shift = per_channel(params["weight"]), per_channel(params["bias"])
    if not training:
        y = normalize(xf, per_channel(params["running_mean"]), per_channel(params["running_var"]), eps)
        return (y * scale + shift).astype(dtype)
    reduce = tuple(a for a in range(jnp.ndim(x)) if a != axis)
    count = math.prod(x.shape[a] for a in reduce)
    if count < 2:
        raise ShapeError(name, "more than one value per channel in training", tuple(jnp.shape(x)), what="input")
    y = standardize(xf, scale, shift, reduce, eps)
    mean = jnp.mean(xf, reduce)  # the batch's own statistics again, for the running ones (XLA computes them once)
    var = jnp.mean(jnp.square(xf - mean.reshape(shape)), reduce)
    tracked = params["num_batches_tracked"] + 1
    rate = (1.0 / tracked.astype(work)) if momentum is None else momentum  # None: a cumulative average, as torch
    mean, var = jax.lax.stop_gradient(mean), jax.lax.stop_gradient(var * count / (count - 1))  # unbiased, as torch

    def update(old: jax.Array, new: jax.Array) -> jax.Array:
        return ((1 - rate) * old.astype(work) + rate * new).astype(old.dtype)

    state = {"weight": None, "bias": None, "num_batches_tracked": tracked.astype(params["num_batches_tracked"].dtype)}
    state |= {"running_mean": update(params["running_mean"], mean), "running_var": update(params["running_var"], var)}
    return y.astype(dtype), state


def _batch_norm_layer(kind: str, spatial: int, num_features: int, eps: float, momentum: float | None) -> Layer:
    features = check_features("num_features", num_features)
    eps = check_eps(eps, kind)
    if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, (int, float))
                                 or not 0 <= momentum <= 1):  # fmt: skip
        raise ConfigError(f"{kind}: momentum must be a number in [0, 1] or None, got {momentum!r}")
    momentum = None if momentum is None else float(momentum)
    name = f"{kind}({features}, eps={eps}, momentum={momentum})"
    forms = "``(N, C)`` or ``(N, C, L)``" if spatial == 1 else "``(N, C, H, W)``"
    params = {
        name_: Param((features,), init, ("channels",), state=name_.startswith("running"))
        for name_, init in (("weight", ones), ("bias", zeros), ("running_mean", zeros), ("running_var", ones))
    }
    params["num_batches_tracked"] = Param((), zeros, (), dtype=jnp.int32, state=True, torch_dtype="int64")
    return define(
        name,
        functools.partial(_batch_norm, features=features, spatial=spatial, eps=eps, momentum=momentum, name=name),
        params=params,
        doc=f"""``apply(params, x, *, training=None)``: {name} over {forms} (or unbatched, without ``N``).

Inference (``training`` None or False): normalized with the running statistics, returns ``y``.
``training=True``: normalized with the batch's statistics (over every axis but C), returns
``(y, new_state)``: ``new_state`` has the params' structure, None for ``weight`` and ``bias``, and
the updated ``running_mean``, ``running_var`` (unbiased), ``num_batches_tracked``. Nothing is mutated.""",
        options=("training",),
        config={"num_features": features, "eps": eps, "momentum": momentum},
        torch=Torch(),
        onnx=functools.partial(_batch_norm_onnx, eps=eps),
    )


def _batch_norm_onnx(graph: Any, names: Params, x: str, *, eps: float) -> str:
    """ONNX ``BatchNormalization`` in inference mode: the running statistics, as ``apply`` without training."""
    inputs = [x, names["weight"], names["bias"], names["running_mean"], names["running_var"]]
    return graph.node("BatchNormalization", inputs, epsilon=eps)


_BN_ARGS = """
    Args:
      num_features: C, the number of channels.
      eps: added to the variance, default 1e-5.
      momentum: the running statistics' update rate, ``running = (1 - momentum) * running + momentum
        * batch`` (default 0.1, PyTorch's convention; Flax's and Keras' ``momentum`` is ``1 -`` this);
        None keeps a cumulative average, as torch.

    Shapes:
      params: ``{"weight": (C,), "bias": (C,), "running_mean": (C,), "running_var": (C,),
      "num_batches_tracked": ()}`` (int32), PyTorch's ``state_dict`` names. The last three are
      state (``layer.state``): :func:`~tinyjax.split_state` keeps them from the optimizer.
"""


@factory
@cached
def BatchNorm1d(num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> Layer:
    return _batch_norm_layer("BatchNorm1d", 1, num_features, eps, momentum)


@factory
@cached
def BatchNorm2d(num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> Layer:
    return _batch_norm_layer("BatchNorm2d", 2, num_features, eps, momentum)


BatchNorm1d.__doc__ = (
    "Batch normalization over ``(N, C)`` or ``(N, C, L)``, as ``torch.nn.BatchNorm1d``, with running statistics.\n"
    + _BN_ARGS
    + "      ``apply(params, x, *, training=None)``: ``(N, C)``, ``(N, C, L)`` or ``(C,)`` -> the same shape.\n"
)
BatchNorm2d.__doc__ = (
    "Batch normalization over ``(N, C, H, W)``, as ``torch.nn.BatchNorm2d``, with running statistics.\n"
    + _BN_ARGS
    + "      ``apply(params, x, *, training=None)``: ``(N, C, H, W)`` or ``(C, H, W)`` -> the same shape.\n"
)
