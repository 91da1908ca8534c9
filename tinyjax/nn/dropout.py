"""Dropout with an explicit key: ``apply(params, x, *, key=None)``.

``rate`` is the probability of dropping an entry (as in PyTorch; stax's ``Dropout`` takes the
keep probability instead). Without a key, apply is the identity (inference). With a key, each
entry is kept with probability ``1 - rate`` and scaled by ``1 / (1 - rate)`` (inverted dropout),
so the expected output equals the input. ``rate = 1`` gives zeros, never NaN.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from tinyjax._checks import check_float_input, check_key
from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params, Torch, cached, check_training, define, factory

__all__ = ["Dropout", "dropout"]


def dropout(x: jax.Array, rate: float, key: jax.Array) -> jax.Array:
    """Inverted dropout of ``x`` (any shape, floating dtype) with drop probability ``rate``.

    The mask is ``jax.random.bernoulli(key, 1 - rate, x.shape)``: the same key gives the same mask.
    """
    if rate == 0.0:
        return x
    if rate == 1.0:
        return jnp.zeros_like(x)
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / jnp.asarray(1.0 - rate, x.dtype), jnp.zeros((), x.dtype))


def check_rate(rate: object) -> float:
    """Return ``rate`` as a float if it is a number in [0, 1], else raise ConfigError."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise ConfigError(f"Dropout rate must be a number in [0, 1], got {rate!r}")
    if not 0.0 <= float(rate) <= 1.0:
        raise ConfigError(f"Dropout rate must be in [0, 1] (the probability of dropping), got {rate}")
    return float(rate)


@factory
@cached
def Dropout(rate: float) -> Layer:
    """Dropout: each entry dropped with probability ``rate``, the rest scaled by ``1 / (1 - rate)``.

    Args:
      rate: the probability of dropping an entry, in [0, 1] (PyTorch's ``p``).

    Shapes:
      params: ``()``. ``apply(params, x, *, key=None, training=None)``: ``x`` of any shape and floating
      dtype, ``y`` of the same. ``training=None`` (default): a key means training, no key inference
      (the identity). ``training=True`` without a key raises KeyArgumentError; ``training=False``
      ignores the key. Inside a :func:`~tinyjax.Sequential`, ``Sequential.apply(params, x, key=key)``
      gives each Dropout its own subkey.
    """
    rate = check_rate(rate)
    name = f"Dropout(rate={rate})"

    def apply(params: Params, x: jax.Array, *, key: jax.Array | None = None, training: bool | None = None) -> jax.Array:
        check_float_input(x, name)
        if not check_training(training, key, name):
            return x
        check_key(key, name, where="apply")
        assert key is not None  # check_training refused training without a key
        return dropout(x, rate, key)

    return define(
        name,
        apply,
        doc=f"``apply((), x, *, key=None, training=None) -> y``: {name}; ``y`` has ``x``'s shape and dtype.",
        options=("key", "training"),
        config={"rate": rate},
        torch=Torch({"p": rate}),
        flops=_no_flops,
        onnx=_identity_onnx,
    )


def _no_flops(params: Params, x: jax.ShapeDtypeStruct, y: jax.ShapeDtypeStruct) -> int:
    """Counted in inference, where Dropout is the identity."""
    return 0


def _identity_onnx(graph: Any, names: Params, x: str) -> str:
    """Exported for inference, where Dropout is the identity: no node."""
    return x
