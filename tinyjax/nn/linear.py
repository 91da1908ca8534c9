"""Linear (dense, fully connected): ``y = x @ W + b`` with ``W`` of shape ``(in, out)``.

The factory :func:`Linear` is the layer. The seed's module-level pair is kept as two thin aliases
over it::

    params = linear.init(key, 784, 128)          # {"weight": (784, 128), "bias": (128,)}
    y = linear.apply(params, x)                  # (..., 784) -> (..., 128), sizes read from the weight
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any

import jax
import jax.numpy as jnp

from tinyjax._checks import check_features, check_features_axis, check_float_dtype, check_float_input, check_input_array
from tinyjax._errors import ParamsError
from tinyjax.initializers import Initializer, xavier_uniform, zeros
from tinyjax.layer import Layer, Param, Params, Torch, cached, define, factory
from tinyjax.nn._common import compute_dtype

__all__ = ["Linear", "apply", "init"]


@factory
@cached
def Linear(
    in_features: int,
    out_features: int,
    *,
    bias: bool = True,
    weight_init: Initializer = xavier_uniform,
    bias_init: Initializer = zeros,
    dtype: Any = jnp.float32,
) -> Layer:
    """A Linear layer, ``y = x @ weight + bias``, as PyTorch's ``nn.Linear`` with the weight transposed.

    Args:
      in_features, out_features: sizes of the input's and the output's last axis.
      bias: whether to add a learned bias (default True).
      weight_init, bias_init: initializers ``(key, shape, dtype) -> array``: Xavier-uniform and zeros
        by default (``tinyjax.initializers``; any ``jax.nn.initializers`` works).
      dtype: floating dtype of the params (default float32).

    Shapes:
      params: ``{"weight": (in_features, out_features), "bias": (out_features,)}``.
      ``apply(params, x, *, precision=None)``: ``(..., in_features)`` -> ``(..., out_features)``.
    """
    fan_in, fan_out = check_features("in_features", in_features), check_features("out_features", out_features)
    check_float_dtype(dtype, "Linear params")
    torch = {"in_features": fan_in, "out_features": fan_out, "bias": bool(bias)}
    weight = Param((fan_in, fan_out), weight_init, ("in", "out"), dtype=dtype, torch_axes=("out", "in"))
    bias_param = {"bias": Param((fan_out,), bias_init, ("out",), dtype=dtype)} if bias else {}
    name = f"Linear({fan_in} -> {fan_out})"
    return define(name, functools.partial(_apply, name=name), params={"weight": weight} | bias_param,
                  torch=Torch(torch), config=torch | {"dtype": jnp.dtype(dtype)}, flops=_flops, onnx=_onnx,
                  options=("precision",), doc=_apply.__doc__, in_features=fan_in, out_features=fan_out)  # fmt: skip


def _apply(params: Params, x: jax.Array, *, precision: Any = None, name: str) -> jax.Array:
    """``apply(params, x, *, precision=None) -> y``: ``(..., in)`` -> ``(..., out)``, jit-compiled.

    ``x`` may be one sample ``(in,)``, a batch ``(B, in)`` (``B`` may be 0) or have more leading
    dimensions ``(B, T, in)``. With bfloat16 or float16 operands the products are accumulated in
    float32 and the result is rounded to the operands' dtype once. ``precision`` is passed to
    ``jnp.matmul`` (``"highest"`` for exact f32 products on accelerators). Raises ShapeError,
    ParamsError or DTypeError at trace time.
    """
    w = params["weight"]
    check_float_input(x, name)
    check_features_axis(x, w.shape[0], name)
    if jnp.ndim(x) > 2:  # one (rows, in) matmul: its weight gradient is then a plain matmul, no batch axes to move
        flat = _apply(params, x.reshape(-1, x.shape[-1]), precision=precision, name=name)
        return flat.reshape(*x.shape[:-1], w.shape[1])
    dtype, work = compute_dtype(x, w)
    if work == dtype:
        y = jnp.matmul(x, w, precision=precision)
        return y + params["bias"] if "bias" in params else y
    # XLA:CPU cannot emit a half-precision dot accumulating in float32 inside a loop (Repeat's scan): on CPU the
    # operands go to float32 first, the same products as they are exact in float32 (docs/performance.md)
    dot = functools.partial(jnp.matmul, precision=precision, preferred_element_type=work)
    y = jax.lax.platform_dependent(x, w, cpu=lambda a, b: dot(a.astype(work), b.astype(work)), default=dot)
    return (y + params["bias"].astype(work) if "bias" in params else y).astype(dtype)


def _flops(params: Params, x: jax.ShapeDtypeStruct, y: jax.ShapeDtypeStruct) -> int:
    fan_in = params["weight"].shape[0]
    return (2 * fan_in + ("bias" in params)) * math.prod(y.shape)  # a multiply-add per weight, an add per bias


def _onnx(graph: Any, names: dict[str, str], x: str) -> str:
    """ONNX nodes: ``MatMul`` (any leading axes), then ``Add`` of the bias (ONNX Runtime fuses the two)."""
    y = graph.node("MatMul", [x, names["weight"]])
    return graph.node("Add", [y, names["bias"]]) if "bias" in names else y


def init(key: jax.Array, in_features: int, out_features: int, **options: Any) -> dict[str, jax.Array]:
    """``Linear(in_features, out_features, **options).init(key)``: the seed's ``init(key, in, out)``.

    ``options``: :func:`Linear`'s (``bias``, ``weight_init``, ``bias_init``, ``dtype``).
    Returns ``{"weight": (in_features, out_features), "bias": (out_features,)}``.
    """
    return Linear(in_features, out_features, **options).init(key)


def apply(params: Params, x: jax.Array, **options: Any) -> jax.Array:
    """The seed's ``apply(params, x)``: the :func:`Linear` of ``params["weight"]``'s shape, applied.

    ``x``: ``(..., in)`` -> ``(..., out)``; the same function as ``tj.Linear(in, out).apply`` (see its help).
    Raises ParamsError when ``params`` hold no 2-D ``"weight"``.
    """
    shape = getattr(params.get("weight") if isinstance(params, dict) else None, "shape", ())
    if len(shape) != 2:
        check_input_array(x, "Linear", params)  # the arguments swapped: says so
        expected = "a dict {'weight': (in, out), 'bias': (out,)}"
        raise ParamsError("Linear", expected, type(params).__name__, what="params")
    return Linear(*shape, bias="bias" in params).apply(params, x, **options)  # which checks the options


apply.__signature__ = inspect.signature(Linear(1, 1).apply)  # type: ignore[attr-defined]  # help(): precision=
