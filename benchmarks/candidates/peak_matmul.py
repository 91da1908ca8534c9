"""The machine's float32 limit: one large square product (XLA's, jitted), timed beside the models."""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp

SIZE = int(os.environ.get("TINYJAX_BENCH_PEAK_SIZE", "2048"))
forward = jax.jit(jnp.matmul)


def flops() -> int:
    return 2 * SIZE**3


def build(layers: Any, x: Any) -> Any:
    a = jax.random.normal(jax.random.key(0), (SIZE, SIZE), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (SIZE, SIZE), jnp.float32)
    return lambda: forward(a, b).block_until_ready()
