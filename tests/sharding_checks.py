"""Measurements on 8 simulated CPU devices, printed as one JSON object for tests/test_sharding.py.

Run by the test in a fresh interpreter, because the device count is fixed when JAX starts::

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python tests/sharding_checks.py

This script only measures (differences from the single-device run, shard shapes, collectives in
the compiled HLO); the test file holds the assertions.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import tinyjax as tj
from tinyjax import sharding

# name -> (mesh (data, model), strategy)
SETUPS = {
    "data": ((8, 1), "data"),
    "column": ((1, 8), "column"),
    "row": ((1, 8), "row"),
    "megatron": ((1, 8), "megatron"),
    "2d": ((2, 4), "megatron"),
}
COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute")


def models() -> dict[str, tj.Layer]:
    return {
        "linear": tj.Linear(16, 64),
        "mlp": tj.Sequential(tj.Linear(16, 64), tj.ReLU(), tj.Linear(64, 16)),
    }


def integer_valued(params: Any) -> Any:
    """Params rounded to small integers: sums of their products are exact in any order."""
    return jax.tree_util.tree_map(lambda p: jnp.round(p * 8), params)


def collectives(hlo: str) -> dict[str, int]:
    return {op: len(re.findall(rf"\b{op}(?:-start)?\(", hlo)) for op in COLLECTIVES}


def shards(array: jax.Array) -> dict[str, Any]:
    """How ``array`` is spread: shard count, shard shapes, devices, and whether the shards tile it."""
    rebuilt = np.zeros(array.shape, array.dtype)
    for shard in array.addressable_shards:
        rebuilt[shard.index] = np.asarray(shard.data)
    return {
        "count": len(array.addressable_shards),
        "devices": len({shard.device.id for shard in array.addressable_shards}),
        "shapes": sorted({tuple(shard.data.shape) for shard in array.addressable_shards}),
        "tiles_whole": bool(np.array_equal(rebuilt, np.asarray(array))),
        "spec": str(array.sharding.spec),
    }


def max_diff(a: Any, b: Any) -> float:
    diffs = jax.tree_util.tree_map(lambda u, v: float(jnp.max(jnp.abs(u - v))), a, b)
    return max(jax.tree_util.tree_leaves(diffs), default=0.0)


def exactly_equal(a: Any, b: Any) -> bool:
    return all(jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda u, v: bool(jnp.array_equal(u, v)), a, b)))


def mse(predictions: jax.Array, targets: jax.Array) -> jax.Array:
    return jnp.mean((predictions - targets) ** 2)


def measure(model: tj.Layer, mesh_shape: tuple[int, int], strategy: str) -> dict[str, Any]:
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (32, 16))
    y = jax.random.normal(jax.random.key(2), (32, model.out_features or 0))
    exact_params = integer_valued(params)
    exact_x = jnp.round(x * 2)
    mesh = sharding.make_mesh(*mesh_shape)

    reference = jax.jit(model.raw_apply)
    forward = sharding.sharded_apply(model, mesh, strategy)  # type: ignore[arg-type]
    placed = sharding.shard_params(model, params, mesh, strategy)  # type: ignore[arg-type]
    placed_x = sharding.shard_batch(x, mesh)
    output = forward(placed, placed_x)

    step = sharding.sharded_train_step(model, mse, mesh, strategy, learning_rate=0.1)  # type: ignore[arg-type]
    reference_step = jax.jit(sharding.sgd_step(model, mse, 0.1))
    new_params, loss = step(placed, placed_x, sharding.shard_batch(y, mesh))
    ref_params, ref_loss = reference_step(params, x, y)

    weights = [p["weight"] for p in jax.tree_util.tree_leaves(placed, is_leaf=lambda p: isinstance(p, dict))]
    new_weights = [p["weight"] for p in jax.tree_util.tree_leaves(new_params, is_leaf=lambda p: isinstance(p, dict))]
    return {
        "forward_max_diff": max_diff(output, reference(params, x)),
        "forward_exact": exactly_equal(forward(exact_params, exact_x), reference(exact_params, exact_x)),
        "output_shards": shards(output),
        "weights": [shards(w) for w in weights],
        "forward_collectives": collectives(forward.lower(placed, placed_x).compile().as_text()),
        "train_params_max_diff": max_diff(new_params, ref_params),
        "train_loss_diff": abs(float(loss) - float(ref_loss)),
        "train_exact": exactly_equal(
            step(exact_params, exact_x, jnp.round(y)), reference_step(exact_params, exact_x, jnp.round(y))
        ),
        "train_weights": [shards(w) for w in new_weights],
    }


def main() -> None:
    results: dict[str, Any] = {"device_count": jax.device_count(), "platform": jax.devices()[0].platform}
    for model_name, model in models().items():
        for setup, (mesh_shape, strategy) in SETUPS.items():
            results[f"{model_name}/{setup}"] = measure(model, mesh_shape, strategy)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
