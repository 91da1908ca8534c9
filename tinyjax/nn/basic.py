"""Shape plumbing and a skip connection: Flatten, Identity, Residual."""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError, DTypeError, ShapeError
from tinyjax.costs import layer_flops
from tinyjax.layer import Layer, Params, Torch, as_layer, block_signature, cached, define, factory

__all__ = ["Flatten", "Identity", "Residual"]


def _no_flops(params: Params, x: jax.ShapeDtypeStruct, y: jax.ShapeDtypeStruct) -> int:
    return 0  # a reshape moves no numbers


def _flatten(params: Params, x: jax.Array, *, start: int, end: int, name: str) -> jax.Array:
    shape, ndim = tuple(jnp.shape(x)), jnp.ndim(x)
    first, last = start % ndim if -ndim <= start < ndim else None, end % ndim if -ndim <= end < ndim else None
    if first is None or last is None or first > last:
        raise ShapeError(name, f"an input with axes {start} to {end}", shape, hint=f"It has {ndim} axes")
    return x.reshape(*shape[:first], math.prod(shape[first : last + 1]), *shape[last + 1 :])


@factory
@cached
def Flatten(start_dim: int = 1, end_dim: int = -1) -> Layer:
    """Merge axes ``start_dim`` to ``end_dim`` into one, as ``torch.nn.Flatten``: ``(N, C, H, W)`` -> ``(N, C*H*W)``.

    Args:
      start_dim, end_dim: the first and last axis merged (negative counts from the end), default 1 and -1.

    Shapes:
      params: ``()``. ``apply((), x)``: any dtype; ``(d0, ..., dk)`` -> the same with axes
      ``start_dim..end_dim`` multiplied into one. An input without those axes raises ShapeError.
    """
    for label, value in (("start_dim", start_dim), ("end_dim", end_dim)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ConfigError(f"Flatten {label} must be an int, got {value!r}")
    start, end = int(start_dim), int(end_dim)
    if (start >= 0) == (end >= 0) and start > end:
        raise ConfigError(f"Flatten start_dim={start} comes after end_dim={end}: nothing to merge")
    name = f"Flatten(start_dim={start}, end_dim={end})"
    return define(
        name,
        lambda params, x: _flatten(params, x, start=start, end=end, name=name),
        doc=f"``apply((), x) -> y``: {name}; ``y`` holds ``x``'s values, in order, with fewer axes.",
        config={"start_dim": start, "end_dim": end},
        torch=Torch(),
        flops=_no_flops,
        onnx=functools.partial(_flatten_onnx, start=start, end=end),
    )


def _identity(params: Params, x: jax.Array) -> jax.Array:
    return x


@factory
@cached
def Identity() -> Layer:
    """The identity, as ``torch.nn.Identity``: ``apply((), x)`` returns ``x`` (any shape, any dtype); no params."""
    return define(
        "Identity()",
        _identity,
        doc="``apply((), x) -> x``: any shape and dtype.",
        torch=Torch(),
        flops=_no_flops,
        onnx=_identity_onnx,
    )


@factory
def Residual(layer: Any) -> Layer:
    """A skip connection around ``layer``: ``x + layer(x)``.

    Args:
      layer: a Layer (a Sequential block, say), an ``(init, apply)`` pair or a function; it must map
        its input's shape and dtype to themselves (checked when built, where its sizes are known,
        and at trace time, with a ShapeError or DTypeError).

    Shapes:
      params: the inner layer's, unchanged (``param_info``, interop names, sharding are its own).
      ``apply(params, x, **options)``: ``x`` -> the same shape; options (``key``, ``training``,
      ``precision``) go to the inner layer. With state inside and ``training=True``, returns
      ``(y, new_state)`` as the inner layer does.
    """
    return _residual(as_layer(layer))


@cached
def _residual(inner: Layer) -> Layer:
    name = f"Residual({inner.name})"
    if inner.in_features is not None and inner.out_features is not None and inner.in_features != inner.out_features:
        raise ShapeError(name, (..., inner.in_features), (..., inner.out_features), what="inner output",
                         hint="x + layer(x) needs the layer to keep the shape")  # fmt: skip

    def apply(params: Params, x: jax.Array, **given: Any) -> Any:
        options = {k: v for k, v in given.items() if v is not None}
        out = inner.raw_apply(params, x, **options)
        collect = options.get("training") is True and inner.stateful
        y, state = out if collect else (out, None)
        if jnp.shape(y) != jnp.shape(x):
            raise ShapeError(name, tuple(jnp.shape(x)), tuple(jnp.shape(y)), what="inner output",
                             hint="x + layer(x) needs the layer to keep the shape")  # fmt: skip
        if jnp.result_type(y) != jnp.result_type(x):
            raise DTypeError(name, f"the inner layer turned {jnp.result_type(x)} into {jnp.result_type(y)}")
        return (x + y, state) if collect else x + y

    def flops(params: Params, x: jax.ShapeDtypeStruct, y: jax.ShapeDtypeStruct) -> int:
        return layer_flops(inner, params, x) + math.prod(y.shape)  # the inner layer's, then one add per element

    apply.__signature__ = block_signature(inner.options)  # type: ignore[attr-defined]
    return define(
        name,
        apply,
        init=inner.init,
        doc=f"``apply(params, x, **options) -> y``: {name}, ``x + inner(x)``.",
        options=sorted(inner.options),
        children=(inner,),
        in_features=inner.in_features,
        out_features=inner.out_features,
        flops=flops,
        info=inner.param_info,
        onnx=lambda graph, names, x: graph.node("Add", [x, graph.layer(inner, names, x)]),
    )


def _flatten_onnx(graph: Any, names: Params, x: str, *, start: int, end: int) -> str:
    """ONNX ``Reshape`` to ``x.shape[:start] + (-1,) + x.shape[end + 1:]``, the dims read by ``Shape`` at run time.

    (ONNX's own ``Flatten`` always makes a 2-D output.)
    """
    parts = [graph.node("Shape", [x], end=start)] if start != 0 else []
    parts.append(graph.constant(np.array([-1], np.int64)))
    if end != -1:
        parts.append(graph.node("Shape", [x], start=end + 1))
    return graph.node("Reshape", [x, graph.node("Concat", parts, axis=0)])


def _identity_onnx(graph: Any, names: Params, x: str) -> str:
    return x
