"""``jax.example_libraries.stax``: init/apply pairs, jitted by the user."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.example_libraries import stax

_, _apply = stax.serial(stax.Dense(128), stax.Relu, stax.Dense(64), stax.Relu, stax.Dense(10))
forward = jax.jit(_apply)


def build(layers: Any, x: Any) -> Any:
    dense = [(jnp.asarray(w), jnp.asarray(b)) for w, b in layers]
    params = [dense[0], (), dense[1], (), dense[2]]
    xj = jnp.asarray(x)
    return lambda: forward(params, xj).block_until_ready()
