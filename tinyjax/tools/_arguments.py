"""The layer argument every tool takes, checked where the user called the tool; the predictors' input dtype check."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError, DTypeError, ShapeError
from tinyjax.layer import Layer, Params, as_layer
from tinyjax.state import split_state


def layer_argument(obj: Any, call: str) -> Layer:
    """``obj`` as a Layer (a Layer, or a user's ``(init, apply)`` pair wrapped); else ConfigError naming ``call``."""
    try:
        if callable(obj) and not isinstance(obj, Layer):  # apply given where the layer belongs
            raise ConfigError("a bare function")
        return as_layer(obj)
    except ConfigError:
        described = getattr(obj, "__name__", None) or type(obj).__name__
        raise ConfigError(
            f"{call} takes a tinyjax Layer as its first argument, got {type(obj).__name__} {described!r}; "
            "a function apply(params, x) becomes one with tj.as_layer((init, apply))"
        ) from None


def trainable_params(layer: Layer, params: Params) -> Params:
    """The params without the layer's state (BatchNorm's integer counter is state, not a weight).

    Params that do not fit the layer are returned whole: the layer's own check names what is wrong.
    """
    try:
        return split_state(layer, params)[0]
    except ConfigError:
        return params


def float_params(layer: Layer, params: Params) -> Params:
    """The params without the leaves the layer itself makes integer (an int8 weight, a BatchNorm counter).

    What the float check of ``compile`` / ``export`` runs on: integer weights given to a float layer are
    still refused, the int8 weights of a quantized layer (its ``init`` makes them int8) pass.
    """
    try:
        shapes = layer.param_shapes()
        return jax.tree_util.tree_map(
            lambda leaf, like: leaf if jnp.issubdtype(like.dtype, jnp.floating) else None, params, shapes
        )
    except (ValueError, TypeError):  # params of another structure: the layer's own check names what is wrong
        return trainable_params(layer, params)


def check_input_kind(dtype: Any, expected: Any, call: str) -> None:
    """A predictor's input check: floating input for a model compiled for floats, integer for indices.

    Raises DTypeError naming ``call`` (``"Predictor(...)"``) when ``dtype`` is not of ``expected``'s kind.
    """
    kind = jnp.integer if jnp.issubdtype(expected, jnp.integer) else jnp.floating
    if not jnp.issubdtype(dtype, kind):
        raise DTypeError(
            call,
            f"expected {'integer' if kind is jnp.integer else 'floating'} input, got {dtype}; "
            f"convert it with x.astype(np.{jnp.dtype(expected)})",
        )


def host_array(x: Any, call: str) -> np.ndarray:
    """``x`` (a list, a scalar, an array) as a NumPy array; a ragged list or non-numbers raise naming ``call``."""
    try:
        array = np.asarray(x)
    except (ValueError, TypeError):
        raise ShapeError(
            call, "a rectangular array (batch, *features)", f"a ragged {type(x).__name__} (rows of different lengths)"
        ) from None
    if array.dtype == object or array.dtype.kind in "USV":
        text = repr(x)
        raise DTypeError(call, f"expected an array of numbers, got {type(x).__name__} {text[:60]}")
    return array


def features_argument(features: Any, call: str) -> tuple[Any, ...]:
    """``features`` as a tuple (sizes, or names of ONNX's symbolic dimensions); else ConfigError naming ``call``."""
    if isinstance(features, int | np.integer) and not isinstance(features, bool):
        raise ConfigError(f"{call}: features must be a tuple such as ({features},), got the int {features}")
    if isinstance(features, str) or not isinstance(features, tuple | list):
        raise ConfigError(f"{call}: features must be a tuple of sizes such as (784,), got {features!r}")
    return tuple(features)


def with_symbolic_batch(error: ShapeError, batch: str, features: Any) -> ShapeError:
    """The same ShapeError, saying that ``batch`` in its shape is the batch the export leaves symbolic."""
    note = f"{batch} is the batch dimension export leaves symbolic; the features given were {tuple(features)}"
    hint = f"{error.hint}. {note}" if error.hint else note
    return type(error)(error.layer, error.expected, error.got, error.what, hint=hint)
