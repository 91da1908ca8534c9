"""Haiku: ``hk.Linear`` modules in ``hk.transform``, ``jax.jit(apply)``."""

from __future__ import annotations

from typing import Any

import haiku as hk
import jax
import jax.numpy as jnp


def _mlp(x: jax.Array) -> jax.Array:
    x = jax.nn.relu(hk.Linear(128)(x))
    x = jax.nn.relu(hk.Linear(64)(x))
    return hk.Linear(10)(x)


_model = hk.without_apply_rng(hk.transform(_mlp))
forward = jax.jit(_model.apply)


def build(layers: Any, x: Any) -> Any:
    names = ("linear", "linear_1", "linear_2")
    params = {n: {"w": jnp.asarray(w), "b": jnp.asarray(b)} for n, (w, b) in zip(names, layers, strict=True)}
    xj = jnp.asarray(x)
    return lambda: forward(params, xj).block_until_ready()
