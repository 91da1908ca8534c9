"""Weight initializers, each ``(key, shape, dtype) -> array`` like ``jax.nn.initializers``.

For a weight of shape ``(in, out)``, ``fan_in = in`` and ``fan_out = out``. For more than two
dimensions the leading ones form the receptive field and multiply both fans, as in JAX and
PyTorch. Any ``jax.nn.initializers`` initializer can be passed to a layer in place of these.

=================  ============================================================
``xavier_uniform``  U(-a, a), ``a = sqrt(6 / (fan_in + fan_out))`` (the seed's; Linear's default)
``xavier_normal``   N(0, 2 / (fan_in + fan_out))
``kaiming_uniform`` U(-a, a), ``a = sqrt(6 / fan_in)`` (He, for ReLU)
``kaiming_normal``  N(0, 2 / fan_in)
``lecun_uniform``   U(-a, a), ``a = sqrt(3 / fan_in)``
``lecun_normal``    N(0, 1 / fan_in)
``normal(stddev)``  N(0, stddev**2)
``uniform(limit)``  U(-limit, limit) (PyTorch's Conv2d default with ``limit = 1 / sqrt(fan_in)``)
``zeros``/``ones``  constants (``zeros`` is Linear's bias default)
``constant(v)``     every entry ``v``
=================  ============================================================

The normal variants draw from a plain (untruncated) normal, as PyTorch's ``nn.init`` does.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import jax
import jax.numpy as jnp

from tinyjax._checks import check_shape_argument
from tinyjax._errors import ConfigError

__all__ = [
    "Initializer",
    "constant",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Shape = tuple[int, ...]


class Initializer(Protocol):
    """``(key, shape, dtype) -> array`` of that shape and dtype."""

    def __call__(self, key: jax.Array, shape: Shape, dtype: Any = jnp.float32) -> jax.Array: ...


def _scaled(
    scale: float,
    mode: Literal["fan_in", "fan_avg"],
    distribution: Literal["normal", "uniform"],
    name: str,
    doc: str,
) -> Initializer:
    base = jax.nn.initializers.variance_scaling(scale, mode, distribution)

    def init(key: jax.Array, shape: Shape, dtype: Any = jnp.float32) -> jax.Array:
        shape = check_shape_argument(shape, "shape", name)
        if len(shape) < 2:
            raise ConfigError(f"{name} needs a shape with at least 2 dimensions (in, out), got {shape}")
        _check_float(name, dtype)
        return base(key, shape, dtype)

    init.__name__ = init.__qualname__ = name
    init.__doc__ = doc
    return init


def _check_float(name: str, dtype: Any) -> None:
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ConfigError(f"{name} draws floating-point values; dtype {jnp.dtype(dtype)} is not one")


xavier_uniform = _scaled(
    1.0, "fan_avg", "uniform", "xavier_uniform", "Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))."
)
xavier_normal = _scaled(
    1.0, "fan_avg", "normal", "xavier_normal", "Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out))."
)
kaiming_uniform = _scaled(
    2.0, "fan_in", "uniform", "kaiming_uniform", "He/Kaiming uniform: U(-a, a), a = sqrt(6 / fan_in)."
)
kaiming_normal = _scaled(2.0, "fan_in", "normal", "kaiming_normal", "He/Kaiming normal: N(0, 2 / fan_in).")
lecun_uniform = _scaled(1.0, "fan_in", "uniform", "lecun_uniform", "LeCun uniform: U(-a, a), a = sqrt(3 / fan_in).")
lecun_normal = _scaled(1.0, "fan_in", "normal", "lecun_normal", "LeCun normal: N(0, 1 / fan_in).")


def normal(stddev: float = 1e-2) -> Initializer:
    """An initializer drawing from N(0, stddev**2)."""
    if not stddev >= 0:
        raise ConfigError(f"normal(stddev) needs stddev >= 0, got {stddev}")

    def init(key: jax.Array, shape: Shape, dtype: Any = jnp.float32) -> jax.Array:
        _check_float("normal", dtype)
        return stddev * jax.random.normal(key, tuple(shape), dtype)

    return init


def uniform(limit: float) -> Initializer:
    """An initializer drawing from U(-limit, limit)."""
    if not limit >= 0:
        raise ConfigError(f"uniform(limit) needs limit >= 0, got {limit}")

    def init(key: jax.Array, shape: Shape, dtype: Any = jnp.float32) -> jax.Array:
        _check_float("uniform", dtype)
        return jax.random.uniform(key, tuple(shape), dtype, -limit, limit)

    return init


def constant(value: float) -> Initializer:
    """An initializer filling every entry with ``value`` (the key is ignored)."""

    def init(key: jax.Array, shape: Shape, dtype: Any = jnp.float32) -> jax.Array:
        del key
        return jnp.full(tuple(shape), value, dtype)

    return init


def zeros(key: jax.Array, shape: Shape, dtype: Any = jnp.float32) -> jax.Array:
    """All zeros (the key is ignored). Linear's default bias."""
    del key
    return jnp.zeros(tuple(shape), dtype)


def ones(key: jax.Array, shape: Shape, dtype: Any = jnp.float32) -> jax.Array:
    """All ones (the key is ignored)."""
    del key
    return jnp.ones(tuple(shape), dtype)
