"""Flax NNX: stateful ``nnx.Linear`` modules called through ``nnx.jit`` (as NNX documents)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx


class MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.l1 = nnx.Linear(784, 128, rngs=rngs)
        self.l2 = nnx.Linear(128, 64, rngs=rngs)
        self.l3 = nnx.Linear(64, 10, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.l3(nnx.relu(self.l2(nnx.relu(self.l1(x)))))


@nnx.jit
def forward(model: MLP, x: jax.Array) -> jax.Array:
    return model(x)


def build(layers: Any, x: Any) -> Any:
    model = MLP(nnx.Rngs(0))
    for linear, (w, b) in zip((model.l1, model.l2, model.l3), layers, strict=True):
        linear.kernel.value = jnp.asarray(w)
        linear.bias.value = jnp.asarray(b)
    xj = jnp.asarray(x)
    return lambda: forward(model, xj).block_until_ready()
