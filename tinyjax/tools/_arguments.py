"""The layer argument every tool takes, checked where the user called the tool."""

from __future__ import annotations

from typing import Any

from tinyjax._errors import ConfigError
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
