"""Activations: elementwise (or, for Softmax, per-axis) functions with empty params.

Each is available as a plain function (``relu(x)``) and as a :class:`~tinyjax.Layer`
factory (``ReLU()``) whose ``init(key)`` returns ``()`` and whose ``apply(params, x)``
maps ``(...)`` to the same shape and dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from tinyjax._checks import check_float_input, check_no_params
from tinyjax._errors import ConfigError, ShapeError
from tinyjax.layer import Layer, Params, cached, define

__all__ = ["GELU", "ReLU", "Sigmoid", "Softmax", "Tanh", "gelu", "relu", "sigmoid", "softmax", "tanh"]


def relu(x: jax.Array) -> jax.Array:
    """``max(x, 0)`` elementwise."""
    return jax.nn.relu(x)


def sigmoid(x: jax.Array) -> jax.Array:
    """``1 / (1 + exp(-x))`` elementwise, stable for large ``|x|``."""
    return jax.nn.sigmoid(x)


def tanh(x: jax.Array) -> jax.Array:
    """Hyperbolic tangent elementwise."""
    return jnp.tanh(x)


def gelu(x: jax.Array, approximate: bool = False) -> jax.Array:
    """Gaussian error linear unit: exact (erf) by default, tanh approximation if ``approximate``."""
    return jax.nn.gelu(x, approximate=approximate)


def softmax(x: jax.Array, axis: int = -1) -> jax.Array:
    """``exp(x) / sum(exp(x))`` along ``axis``; the max is subtracted first, so large inputs do not overflow."""
    return jax.nn.softmax(x, axis=axis)


def _activation(
    kind: str, name: str, fn: Callable[[jax.Array], jax.Array], axis: int | None = None, **config: object
) -> Layer:
    def init(key: jax.Array) -> Params:
        del key
        return ()

    def apply(params: Params, x: jax.Array) -> jax.Array:
        check_no_params(params, name)
        check_float_input(x, name)
        if axis is not None and not -jnp.ndim(x) <= axis < jnp.ndim(x):
            raise ShapeError(name, f"an input with axis {axis}", tuple(jnp.shape(x)))
        return fn(x)

    return define(kind, name, init, apply, config=config if axis is None else {"axis": axis, **config})


@cached
def ReLU() -> Layer:
    """ReLU layer: ``max(x, 0)``; shape and dtype preserved; no params."""
    return _activation("ReLU", "ReLU()", relu)


@cached
def Sigmoid() -> Layer:
    """Sigmoid layer; shape and dtype preserved; no params."""
    return _activation("Sigmoid", "Sigmoid()", sigmoid)


@cached
def Tanh() -> Layer:
    """Tanh layer; shape and dtype preserved; no params."""
    return _activation("Tanh", "Tanh()", tanh)


@cached
def GELU(approximate: bool = False) -> Layer:
    """GELU layer (exact erf form unless ``approximate``); shape and dtype preserved; no params."""
    approximate = bool(approximate)
    return _activation(
        "GELU", f"GELU(approximate={approximate})", lambda x: gelu(x, approximate), approximate=approximate
    )


@cached
def Softmax(axis: int = -1) -> Layer:
    """Softmax layer along ``axis`` (numerically stable); shape and dtype preserved; no params."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ConfigError(f"Softmax axis must be an int, got {axis!r}")
    return _activation("Softmax", f"Softmax(axis={axis})", lambda x: softmax(x, axis), axis=axis)
