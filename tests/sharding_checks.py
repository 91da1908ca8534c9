"""Measurements on 8 simulated CPU devices, printed as one JSON object for tests/test_sharding.py.

Run by the test in a fresh interpreter, because the device count is fixed when JAX starts::

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python tests/sharding_checks.py

This script only measures (differences from the single-device run, shard shapes, collectives in
the compiled HLO); the test file holds the assertions.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
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
# model -> the setups measured for it (the MLP covers every strategy; the lone Linear is there for
# the row-parallel HLO, the Repeat for its stacked params under Megatron).
CASES = {
    "linear": ("row",),
    "mlp": tuple(SETUPS),
    "repeat": ("megatron",),
}


def models() -> dict[str, tuple[tj.Layer, float]]:
    """name -> (model, scale of its integer-valued params: small enough that every sum stays exact)."""
    block = tj.Sequential(tj.Linear(16, 64), tj.ReLU(), tj.Linear(64, 16))
    return {"linear": (tj.Linear(16, 64), 8.0), "mlp": (block, 8.0), "repeat": (tj.Repeat(block, 2), 2.0)}


def integer_valued(params: Any, scale: float) -> Any:
    """Params rounded to small integers: sums of their products are exact in any order."""
    return jax.tree_util.tree_map(lambda p: jnp.round(p * scale), params)


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


def measure(model: tj.Layer, mesh_shape: tuple[int, int], strategy: Any, reference: dict[str, Any]) -> dict[str, Any]:
    mesh = sharding.make_mesh(*mesh_shape)
    params, x, y = reference["params"], reference["x"], reference["y"]

    def place(params: Any, *batches: jax.Array) -> tuple[Any, ...]:
        return (sharding.shard_params(model, params, mesh, strategy), *(sharding.shard_batch(b, mesh) for b in batches))

    # Compiled once each; the compiled programs are what run and what the HLO is read from.
    forward = sharding.sharded_apply(model, mesh, strategy).lower(*place(params, x)).compile()
    step = sharding.sharded_train_step(model, tj.losses.mse, mesh, strategy, learning_rate=0.1).lower(
        *place(params, x, y)
    )
    step = step.compile()

    placed = place(params, x, y)
    output = forward(*placed[:2])
    new_params, loss = step(*placed)
    exact = place(reference["exact_params"], reference["exact_x"], reference["exact_y"])
    built_in_place = sharding.init_sharded(model, jax.random.key(0), mesh, strategy)
    return {
        "init_sharded_equal": exactly_equal(built_in_place, params),
        "init_sharded_weights": [shards(w) for w in weights_of(built_in_place)],
        "forward_max_diff": max_diff(output, reference["output"]),
        "forward_exact": exactly_equal(forward(*exact[:2]), reference["exact_output"]),
        "output_shards": shards(output),
        "weights": [shards(w) for w in weights_of(placed[0])],
        "forward_collectives": EXAMPLE.collective_counts(forward.as_text()),
        "train_params_max_diff": max_diff(new_params, reference["step"][0]),
        "train_loss_diff": abs(float(loss) - float(reference["step"][1])),
        "train_exact": exactly_equal(step(*exact), reference["exact_step"]),
        "train_weights": [shards(w) for w in weights_of(new_params)],
    }


def weights_of(params: Any) -> list[jax.Array]:
    layers = jax.tree_util.tree_leaves(params, is_leaf=lambda p: isinstance(p, dict))
    return [layer["weight"] for layer in layers]


def single_device_run(model: tj.Layer, scale: float) -> dict[str, Any]:
    """The same computations with plain ``jax.jit`` on the default device."""
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (32, 16))
    y = jax.random.normal(jax.random.key(2), (32, model.out_features or 0))
    forward, step = jax.jit(model.raw_apply), jax.jit(sharding.sgd_step(model, tj.losses.mse, 0.1))
    exact_params, exact_x, exact_y = integer_valued(params, scale), jnp.round(x * 2), jnp.round(y)
    return {
        "params": params,
        "x": x,
        "y": y,
        "output": forward(params, x),
        "step": step(params, x, y),
        "exact_params": exact_params,
        "exact_x": exact_x,
        "exact_y": exact_y,
        "exact_output": forward(exact_params, exact_x),
        "exact_step": step(exact_params, exact_x, exact_y),
    }


def explicit_mesh_run() -> dict[str, Any]:
    """The Megatron MLP on a ``jax.make_mesh`` mesh with ``AxisType.Explicit`` axes (jax 0.9+'s default)."""
    model = models()["mlp"][0]
    explicit = jax.sharding.AxisType.Explicit
    mesh = jax.make_mesh((2, 4), ("data", "model"), axis_types=(explicit, explicit))
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (32, 16))
    placed = sharding.shard_params(model, params, mesh, "megatron")
    output = sharding.sharded_apply(model, mesh, "megatron")(placed, sharding.shard_batch(x, mesh))
    return {
        "axis_types": [t.name for t in mesh.axis_types],
        "forward_max_diff": max_diff(output, jax.jit(model.raw_apply)(params, x)),
    }


def load_example() -> Any:
    """examples/sharded_mlp.py as a module: its figures come from the same 8 devices."""
    path = Path(__file__).resolve().parents[1] / "examples" / "sharded_mlp.py"
    spec = importlib.util.spec_from_file_location("sharded_mlp", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLE = load_example()


def main() -> None:
    results: dict[str, Any] = {"device_count": jax.device_count(), "platform": jax.devices()[0].platform}
    for model_name, (model, scale) in models().items():
        reference = single_device_run(model, scale)
        for setup in CASES[model_name]:
            mesh_shape, strategy = SETUPS[setup]
            results[f"{model_name}/{setup}"] = measure(model, mesh_shape, strategy, reference)
    results["explicit_mesh"] = explicit_mesh_run()
    results["example_gpt3_linear"] = EXAMPLE.gpt3_linear_memory()
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
