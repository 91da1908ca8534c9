"""Hand-written ``jax.jit``: the zero-abstraction floor every JAX library is compared with."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._jax_common import compiled_memory


def mlp(params: Any, x: jax.Array) -> jax.Array:
    for i, (w, b) in enumerate(params):
        x = x @ w + b
        if i < len(params) - 1:
            x = jax.nn.relu(x)
    return x


forward = jax.jit(mlp)


def _args(layers: Any, x: Any) -> tuple[Any, jax.Array]:
    return [(jnp.asarray(w), jnp.asarray(b)) for w, b in layers], jnp.asarray(x)


def build(layers: Any, x: Any) -> Any:
    params, xj = _args(layers, x)
    return lambda: forward(params, xj).block_until_ready()


def memory(layers: Any, x: Any) -> dict[str, int]:
    return compiled_memory(forward, *_args(layers, x))
