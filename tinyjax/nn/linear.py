"""Linear (dense, fully connected): ``y = x @ W + b`` with ``W`` of shape ``(in, out)``.

Module-level pure pair::

    params = linear.init(key, 784, 128)          # {"weight": (784, 128), "bias": (128,)}
    y = linear.apply(params, x)                  # (..., 784) -> (..., 128)

and the :class:`~tinyjax.Layer` factory :func:`Linear`, which binds that pair to its sizes.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp

from tinyjax import initializers
from tinyjax._checks import (
    check_array_shape,
    check_features,
    check_features_axis,
    check_float_input,
    check_float_params,
    check_key,
)
from tinyjax._errors import ConfigError, ParamsError
from tinyjax.initializers import Initializer
from tinyjax.layer import Layer, Params, Torch, cached, define, factory, jit_apply

__all__ = ["Linear", "apply", "init"]


def _name(in_features: Any, out_features: Any) -> str:
    return f"Linear({in_features} -> {out_features})"


def init(
    key: jax.Array,
    in_features: int,
    out_features: int,
    *,
    bias: bool = True,
    weight_init: Initializer = initializers.xavier_uniform,
    bias_init: Initializer = initializers.zeros,
    dtype: Any = jnp.float32,
) -> dict[str, jax.Array]:
    """Create a Linear layer's params.

    Args:
      key: one ``jax.random`` key (``jax.random.key(seed)``).
      in_features, out_features: positive ints.
      bias: whether to create a bias (``False`` leaves the ``"bias"`` entry out).
      weight_init, bias_init: ``(key, shape, dtype) -> array``; Xavier-uniform and zeros by default.
      dtype: floating dtype of the params (float32 by default).

    Returns:
      ``{"weight": (in_features, out_features), "bias": (out_features,)}`` of ``dtype``.
    """
    in_features, out_features = _check_config(in_features, out_features, dtype)
    check_key(key, _name(in_features, out_features))
    return _init(key, in_features, out_features, bias, weight_init, bias_init, dtype)


def _check_config(in_features: Any, out_features: Any, dtype: Any) -> tuple[int, int]:
    in_features = check_features("in_features", in_features)
    out_features = check_features("out_features", out_features)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ConfigError(f"Linear params must have a floating dtype, got {jnp.dtype(dtype)}")
    return in_features, out_features


def _init(
    key: jax.Array,
    in_features: int,
    out_features: int,
    bias: bool,
    weight_init: Initializer,
    bias_init: Initializer,
    dtype: Any,
) -> dict[str, jax.Array]:
    weight_key, bias_key = jax.random.split(key)
    params = {"weight": weight_init(weight_key, (in_features, out_features), dtype)}
    if bias:
        params["bias"] = bias_init(bias_key, (out_features,), dtype)
    return params


def _apply(
    params: dict[str, jax.Array],
    x: jax.Array,
    *,
    precision: Any = None,
    sizes: tuple[int, int, bool] | None = None,
) -> jax.Array:
    """``x @ weight + bias``: ``(..., in)`` -> ``(..., out)``; ``sizes`` = ``(in, out, bias)`` a factory fixed."""
    layer = _check_params(params, sizes)
    check_float_params(params, layer)
    check_float_input(x, layer)
    check_features_axis(x, params["weight"].shape[0], layer)
    weight = params["weight"]
    dtype = jnp.result_type(x, weight)
    if jnp.finfo(dtype).bits >= 32:
        y = jnp.matmul(x, weight, precision=precision)
        return y + params["bias"] if "bias" in params else y
    # bf16 / f16: products accumulated in float32, bias added in float32, result rounded once
    y = jax.lax.platform_dependent(
        x,
        weight,
        cpu=functools.partial(_float32_matmul, precision=precision),
        default=functools.partial(jnp.matmul, precision=precision, preferred_element_type=jnp.float32),
    )
    if "bias" in params:
        y = y + params["bias"].astype(jnp.float32)
    return y.astype(dtype)


def _float32_matmul(x: jax.Array, weight: jax.Array, *, precision: Any = None) -> jax.Array:
    """On CPU, the half-precision operands in float32 first: the same products (exact in float32), and
    XLA:CPU (jax 0.8) cannot emit a bfloat16 dot inside a loop such as Repeat's scan."""
    return jnp.matmul(x.astype(jnp.float32), weight.astype(jnp.float32), precision=precision)


def _check_params(params: Any, sizes: tuple[int, int, bool] | None) -> str:
    """Check the params' structure and shapes (against ``sizes`` if given); return the layer's name."""
    weight_shape = getattr(params.get("weight"), "shape", ()) if isinstance(params, dict) else ()
    known = sizes[:2] if sizes is not None else weight_shape
    layer = _name(*known) if len(known) == 2 else "Linear"
    names = {"weight", "bias"} if sizes is None or sizes[2] else {"weight"}
    if not isinstance(params, dict) or "weight" not in params or not set(params) <= names:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        if names == {"weight"}:
            expected, hint = "a dict with 'weight' only", "This layer was built with bias=False"
        else:
            expected, hint = "a dict {'weight': (in, out), 'bias': (out,)}", "These params belong to another layer"
        raise ParamsError(layer, expected, got, what="params", hint=hint)
    if sizes is not None and sizes[2] and "bias" not in params:
        raise ParamsError(
            layer, "a dict with 'weight' and 'bias'", sorted(params), what="params", hint="The bias is missing"
        )
    in_features, out_features = sizes[:2] if sizes is not None else (*weight_shape, None, None)[:2]
    check_array_shape(params["weight"], (in_features, out_features), layer, "params['weight']")
    if "bias" in params:
        check_array_shape(params["bias"], (out_features,), layer, "params['bias']")
    return layer


apply = jit_apply(
    _apply,
    "Linear",
    static_argnames=("precision",),
    doc="""``apply(params, x, *, precision=None) -> y``: ``(..., in)`` -> ``(..., out)``, jit-compiled.

``x`` may be one sample ``(in,)``, a batch ``(B, in)`` (``B`` may be 0) or have more leading
dimensions ``(B, T, in)``. With bfloat16 or float16 operands the products are accumulated in
float32 and the result is rounded to the operands' dtype once. ``precision`` is passed to
``jnp.matmul`` (``"highest"`` for exact f32 products on accelerators). Raises ShapeError,
ParamsError or DTypeError at trace time.
""",
)


def _flops(params: Params, x: jax.ShapeDtypeStruct, y: jax.ShapeDtypeStruct) -> int:
    fan_in, fan_out = params["weight"].shape
    batch = math.prod(y.shape) // fan_out
    return 2 * batch * fan_in * fan_out + (batch * fan_out if "bias" in params else 0)


@factory
@cached
def Linear(
    in_features: int,
    out_features: int,
    *,
    bias: bool = True,
    weight_init: Initializer = initializers.xavier_uniform,
    bias_init: Initializer = initializers.zeros,
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
    in_features, out_features = _check_config(in_features, out_features, dtype)
    bias = bool(bias)
    return define(
        "Linear",
        _name(in_features, out_features),
        functools.partial(
            _init,
            in_features=in_features,
            out_features=out_features,
            bias=bias,
            weight_init=weight_init,
            bias_init=bias_init,
            dtype=dtype,
        ),
        functools.partial(_apply, sizes=(in_features, out_features, bias)),
        doc=apply.__doc__,
        options=("precision",),
        config={"in_features": in_features, "out_features": out_features, "bias": bias, "dtype": jnp.dtype(dtype)},
        in_features=in_features,
        out_features=out_features,
        axes={"weight": ("in", "out"), "bias": ("out",)},
        torch=Torch(
            "Linear",
            {"in_features": in_features, "out_features": out_features, "bias": bias},
            axes={"weight": ("out", "in")},
        ),
        flops=_flops,
        oop="Linear",
        onnx=_onnx,
    )


def _onnx(graph: Any, names: dict[str, str], x: str) -> str:
    """ONNX nodes: ``MatMul`` (any leading axes), then ``Add`` of the bias (ONNX Runtime fuses the two)."""
    y = graph.node("MatMul", [x, names["weight"]])
    return graph.node("Add", [y, names["bias"]]) if "bias" in names else y
