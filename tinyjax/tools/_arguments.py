"""The layer argument every tool takes, checked where the user called the tool."""

from __future__ import annotations

from typing import Any

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, as_layer


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
