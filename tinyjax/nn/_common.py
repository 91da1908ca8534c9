"""Checks and helpers shared by the layer families of tinyjax/nn (trace-time, never inside XLA)."""

from __future__ import annotations

import functools
import numbers
from typing import Any

import jax
import jax.numpy as jnp

from tinyjax._checks import check_features
from tinyjax._errors import ConfigError

__all__ = ["check_eps", "compute_dtype", "normalize", "pair", "sizes"]


def sizes(name: str, value: Any) -> tuple[int, ...]:
    """``value`` (a positive int or a sequence of them) as a tuple of positive ints, else ConfigError."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (check_features(name, value),)
    if isinstance(value, (tuple, list)) and value:
        return tuple(check_features(name, v) for v in value)
    raise ConfigError(f"{name} must be a positive int or a non-empty sequence of them, got {value!r}")


def pair(name: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    """``value`` (an int or a pair of ints, each >= ``minimum``) as ``(h, w)``, as torch's ``_pair``."""
    values = (value, value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    if (
        not isinstance(values, (tuple, list))
        or len(values) != 2
        or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or int(v) < minimum for v in values)
    ):
        raise ConfigError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(values[0]), int(values[1])


def check_eps(eps: Any, layer: str) -> float:
    """``eps`` as a positive float, else ConfigError."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not float(eps) > 0:
        raise ConfigError(f"{layer}: eps must be a positive number, got {eps!r}")
    return float(eps)


def compute_dtype(*arrays: Any) -> tuple[Any, Any]:
    """``(result dtype, dtype to compute in)``: bfloat16 / float16 are computed in float32, rounded once."""
    dtype = jnp.result_type(*arrays)
    return dtype, (jnp.float32 if jnp.finfo(dtype).bits < 32 else dtype)


def normalize(x: jax.Array, mean: jax.Array, var: jax.Array, eps: float) -> jax.Array:
    """``(x - mean) / sqrt(var + eps)``, broadcast."""
    return (x - mean) * jax.lax.rsqrt(var + eps)


@functools.partial(jax.custom_jvp, nondiff_argnums=(3, 4))
def standardize(x: jax.Array, scale: jax.Array, shift: jax.Array, axes: tuple[int, ...], eps: float) -> jax.Array:
    """``(x - mean) / sqrt(var + eps) * scale + shift``, mean and biased var over ``axes`` of ``x``.

    ``scale`` and ``shift`` broadcast against ``x`` (LayerNorm's ``(E,)``, BatchNorm's ``(1, C, 1, 1)``).
    Its derivative is written out (the normalization's closed form, linear in the tangents, so
    reverse mode transposes it): autodiff of the two reductions keeps more residuals and makes
    more passes over ``x`` in the backward.
    """
    mean = jnp.mean(x, axes, keepdims=True)
    return normalize(x, mean, jnp.mean(jnp.square(x - mean), axes, keepdims=True), eps) * scale + shift


@standardize.defjvp
def _standardize_jvp(
    axes: tuple[int, ...], eps: float, primals: tuple[jax.Array, ...], tangents: tuple[jax.Array, ...]
) -> tuple[jax.Array, jax.Array]:
    (x, scale, shift), (dx, dscale, dshift) = primals, tangents
    mean = jnp.mean(x, axes, keepdims=True)
    rstd = jax.lax.rsqrt(jnp.mean(jnp.square(x - mean), axes, keepdims=True) + eps)
    unit = (x - mean) * rstd
    dunit = rstd * (dx - jnp.mean(dx, axes, keepdims=True) - unit * jnp.mean(unit * dx, axes, keepdims=True))
    return unit * scale + shift, dunit * scale + unit * dscale + dshift
