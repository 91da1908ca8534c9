"""Linear (dense, fully connected): ``y = x @ W + b`` with ``W`` of shape ``(in, out)``.

Module-level pure pair::

    params = linear.init(key, 784, 128)          # {"weight": (784, 128), "bias": (128,)}
    y = linear.apply(params, x)                  # (..., 784) -> (..., 128)

and the :class:`~tinyjax.Layer` factory :func:`Linear`, whose ``init(key)`` binds the sizes.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from tinyjax import initializers
from tinyjax._checks import (
    check_array_shape,
    check_features,
    check_features_axis,
    check_float_input,
    check_key,
)
from tinyjax._errors import ConfigError, ParamsError
from tinyjax.initializers import Initializer
from tinyjax.layer import Layer, Params, cached, define

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
    in_features = check_features("in_features", in_features)
    out_features = check_features("out_features", out_features)
    check_key(key, _name(in_features, out_features))
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ConfigError(f"Linear params must have a floating dtype, got {jnp.dtype(dtype)}")
    weight_key, bias_key = jax.random.split(key)
    params = {"weight": weight_init(weight_key, (in_features, out_features), dtype)}
    if bias:
        params["bias"] = bias_init(bias_key, (out_features,), dtype)
    return params


def _check_params(params: Any, layer: str, in_features: int | None = None, out_features: int | None = None) -> None:
    if not isinstance(params, dict) or "weight" not in params or not set(params) <= {"weight", "bias"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ParamsError(
            layer,
            "a dict {'weight': (in, out), 'bias': (out,)}",
            got,
            what="params",
            hint="These params belong to another layer",
        )
    weight = params["weight"]
    expected_in = in_features if in_features is not None else getattr(weight, "shape", (None,))[0]
    expected_out = out_features if out_features is not None else getattr(weight, "shape", (None, None))[-1]
    check_array_shape(weight, (expected_in, expected_out), layer, "params['weight']")
    if "bias" in params:
        check_array_shape(params["bias"], (expected_out,), layer, "params['bias']")


def _apply(params: dict[str, jax.Array], x: jax.Array, *, precision: Any = None) -> jax.Array:
    weight = params["weight"]
    dtype = jnp.result_type(x, weight)
    if jnp.finfo(dtype).bits >= 32:
        y = jnp.matmul(x, weight, precision=precision)
        return y + params["bias"] if "bias" in params else y
    # bf16 / f16: products accumulated in float32, bias added in float32, result rounded once
    y = jnp.matmul(x, weight, precision=precision, preferred_element_type=jnp.float32)
    if "bias" in params:
        y = y + params["bias"].astype(jnp.float32)
    return y.astype(dtype)


def _checked_apply(params: dict[str, jax.Array], x: jax.Array, *, precision: Any = None) -> jax.Array:
    """``x @ weight + bias`` for ``x`` of shape ``(..., in)``; shapes checked at trace time."""
    shape = getattr(params.get("weight"), "shape", ()) if isinstance(params, dict) else ()
    layer = _name(*shape) if len(shape) == 2 else "Linear"
    _check_params(params, layer)
    check_float_input(x, layer)
    check_features_axis(x, params["weight"].shape[0], layer)
    return _apply(params, x, precision=precision)


apply = jax.jit(_checked_apply, static_argnames=("precision",))
"""``apply(params, x, *, precision=None) -> y``: ``(..., in)`` -> ``(..., out)``, jit-compiled.

``x`` may be one sample ``(in,)``, a batch ``(B, in)`` (``B`` may be 0) or have more leading
dimensions ``(B, T, in)``. With bfloat16 or float16 operands the products are accumulated in
float32 and the result is rounded to the operands' dtype once. ``precision`` is passed to
``jnp.matmul`` (``"highest"`` for exact f32 products on accelerators). Raises ShapeError,
ParamsError or DTypeError at trace time.
"""


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
    """A Linear :class:`~tinyjax.Layer`: ``init(key) -> params``, ``apply(params, x, *, precision=None)``.

    Same options as :func:`init`. ``apply`` maps ``(..., in_features)`` to ``(..., out_features)``
    and rejects params whose shapes are not ``(in_features, out_features)`` / ``(out_features,)``.
    """
    in_features = check_features("in_features", in_features)
    out_features = check_features("out_features", out_features)
    name = _name(in_features, out_features)

    def layer_init(key: jax.Array) -> Params:
        return init(
            key, in_features, out_features, bias=bias, weight_init=weight_init, bias_init=bias_init, dtype=dtype
        )

    def layer_apply(params: dict[str, jax.Array], x: jax.Array, *, precision: Any = None) -> jax.Array:
        _check_params(params, name, in_features, out_features)
        if bias and "bias" not in params:
            raise ParamsError(
                name, "a dict with 'weight' and 'bias'", sorted(params), what="params", hint="The bias is missing"
            )
        if not bias and "bias" in params:
            raise ParamsError(
                name,
                "a dict with 'weight' only",
                sorted(params),
                what="params",
                hint="This layer was built with bias=False",
            )
        check_float_input(x, name)
        check_features_axis(x, in_features, name)
        return _apply(params, x, precision=precision)

    return define(
        "Linear",
        name,
        layer_init,
        layer_apply,
        config={"in_features": in_features, "out_features": out_features, "bias": bias, "dtype": jnp.dtype(dtype)},
        in_features=in_features,
        out_features=out_features,
        static_argnames=("precision",),
    )
