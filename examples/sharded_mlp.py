"""An MLP block on every device JAX sees: data parallel, tensor parallel (column, row, Megatron), and 2-D.

Run on whatever devices exist (GPUs, TPU cores, or the CPU)::

    python examples/sharded_mlp.py
    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/sharded_mlp.py   # 8 simulated CPUs

For each strategy it prints the largest difference from the single-device output, whether a
training step gives the single-device params, the collectives in the compiled forward pass, and
the parameter bytes one device holds. Then the per-device memory of GPT-3's Linear(12288, 49152)
under each strategy, computed from shapes alone (nothing of its 2.4 GB is allocated).
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

import jax
import jax.numpy as jnp

import tinyjax as tj
from tinyjax import sharding

COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute")


def setups(n: int) -> dict[str, tuple[tuple[int, int], str]]:
    """Strategy name -> ((data, model) mesh shape, tinyjax strategy) for ``n`` devices."""
    table = {
        "data": ((n, 1), "data"),
        "column": ((1, n), "column"),
        "row": ((1, n), "row"),
        "megatron": ((1, n), "megatron"),
    }
    if n >= 4 and n % 2 == 0:
        table["2-D"] = ((2, n // 2), "megatron")
    return table


def collective_counts(hlo: str) -> dict[str, int]:
    """How many of each collective op the compiled HLO text holds (async ``-start`` forms included)."""
    return {op: len(re.findall(rf"\b{op}(?:-start)?\(", hlo)) for op in COLLECTIVES}


def collectives(hlo: str) -> str:
    counts = collective_counts(hlo)
    return ", ".join(f"{count} {op}" for op, count in counts.items() if count) or "none"


def bytes_on_device(params: Any, device: Any) -> int:
    """Bytes of the shards of ``params`` that live on ``device``."""
    return sum(
        shard.data.nbytes
        for leaf in jax.tree_util.tree_leaves(params)
        for shard in leaf.addressable_shards
        if shard.device == device
    )


def run_strategies(width: int, batch: int) -> list[dict[str, Any]]:
    n = jax.device_count()
    model = tj.Sequential(tj.Linear(width, 4 * width), tj.GELU(), tj.Linear(4 * width, width))
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (batch, width))
    y = jax.random.normal(jax.random.key(2), (batch, width))
    reference = jax.jit(model.raw_apply)(params, x)
    ref_params, ref_loss = jax.jit(sharding.sgd_step(model, tj.losses.mse, 0.01))(params, x, y)

    rows = []
    for name, (mesh_shape, strategy) in setups(n).items():
        mesh = sharding.make_mesh(*mesh_shape)
        placed = sharding.shard_params(model, params, mesh, strategy)  # type: ignore[arg-type]
        placed_x, placed_y = sharding.shard_batch(x, mesh), sharding.shard_batch(y, mesh)
        # Compile once; the compiled program runs and its HLO shows the communication.
        forward = sharding.sharded_apply(model, mesh, strategy).lower(placed, placed_x).compile()  # type: ignore[arg-type]
        step = sharding.sharded_train_step(model, tj.losses.mse, mesh, strategy, learning_rate=0.01)  # type: ignore[arg-type]
        output = forward(placed, placed_x)
        new_params, loss = step(placed, placed_x, placed_y)
        param_diff = max(
            float(jnp.max(jnp.abs(a - b)))
            for a, b in zip(jax.tree_util.tree_leaves(new_params), jax.tree_util.tree_leaves(ref_params), strict=True)
        )
        rows.append(
            {
                "strategy": name,
                "mesh": f"{mesh_shape[0]} x {mesh_shape[1]}",
                "forward_max_diff": float(jnp.max(jnp.abs(output - reference))),
                "output_max_abs": float(jnp.max(jnp.abs(reference))),
                "train_params_max_diff": param_diff,
                "train_loss_diff": abs(float(loss) - float(ref_loss)),
                "collectives": collectives(forward.as_text()),
                "param_bytes_per_device": max(bytes_on_device(placed, d) for d in mesh.devices.flat),
                "param_bytes_total": tj.param_bytes(params),
            }
        )
    return rows


def gpt3_linear_memory(devices: int = 8, tokens: int = 2048) -> list[dict[str, Any]]:
    """Per-device bytes of Linear(12288, 49152) on ``devices`` devices, from shapes only.

    ``param_bytes_per_device`` comes from :func:`tinyjax.sharding.shard_shapes` on an
    ``AbstractMesh`` (no devices needed). Where JAX has ``devices`` devices, XLA compiles the
    layer for a ``(tokens, 12288)`` input, still without allocating it, and its own
    ``memory_analysis()`` gives the argument bytes per device: params plus the input's shard.
    """
    layer = tj.Linear(12288, 49152)
    shapes = layer.param_shapes()
    setups = {
        "replicated": ((devices, 1), "data"),
        "column": ((1, devices), "column"),
        "row": ((1, devices), "row"),
        f"2-D ({2} x {devices // 2}) megatron": ((2, devices // 2), "megatron"),
    }
    rows = []
    for name, (mesh_shape, strategy) in setups.items():
        abstract = jax.sharding.AbstractMesh(mesh_shape, ("data", "model"))
        row: dict[str, Any] = {
            "strategy": name,
            "mesh": f"{mesh_shape[0]} x {mesh_shape[1]}",
            "param_bytes_per_device": tj.param_bytes(sharding.shard_shapes(layer, abstract, strategy)),  # type: ignore[arg-type]
            "param_bytes_total": tj.param_bytes(shapes),
            "input_bytes_per_device": None,
            "xla_argument_bytes_per_device": None,
        }
        if jax.device_count() >= devices:
            mesh = sharding.make_mesh(*mesh_shape)
            placed = jax.tree_util.tree_map(
                lambda leaf, where: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=where),
                shapes,
                sharding.param_shardings(layer, mesh, strategy),  # type: ignore[arg-type]
            )
            x = jax.ShapeDtypeStruct((tokens, 12288), jnp.float32, sharding=sharding.batch_sharding(mesh))
            compiled = sharding.sharded_apply(layer, mesh, strategy).lower(placed, x).compile()  # type: ignore[arg-type]
            memory = compiled.memory_analysis()
            row["input_bytes_per_device"] = tokens // mesh_shape[0] * 12288 * 4
            if memory is not None:
                row["xla_argument_bytes_per_device"] = int(memory.argument_size_in_bytes)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=None, help="model width (default 64 x device count)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default 16 x device count)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    n = jax.device_count()
    width, batch = args.width or 64 * n, args.batch or 16 * n

    rows = run_strategies(width, batch)
    memory = gpt3_linear_memory()
    if args.json:
        print(json.dumps({"devices": n, "platform": jax.devices()[0].platform, "mlp": rows, "gpt3_linear": memory}))
        return

    print(f"{n} {jax.devices()[0].platform} device(s); MLP {width} -> {4 * width} -> {width}, batch {batch}")
    print(f"single-device outputs y_1 up to {rows[0]['output_max_abs']:.2f} in magnitude\n")
    header = f"{'strategy':<10} {'mesh':<7} {'max|y - y_1|':>13} {'max|step - step_1|':>19} {'bytes/device':>13}"
    print(f"{header}  collectives")
    for row in rows:
        share = row["param_bytes_per_device"] / row["param_bytes_total"]
        print(
            f"{row['strategy']:<10} {row['mesh']:<7} {row['forward_max_diff']:>13.2e} "
            f"{row['train_params_max_diff']:>19.2e} {row['param_bytes_per_device']:>13,} ({share:.3f})  "
            f"{row['collectives']}"
        )
    print("\nGPT-3's Linear(12288, 49152) on 8 devices, f32 params per device (shapes only, nothing allocated):")
    for row in memory:
        line = f"  {row['strategy']:<22} {row['param_bytes_per_device'] / 1e9:6.3f} GB"
        if row["xla_argument_bytes_per_device"] is not None:
            line += (
                f"   XLA memory_analysis: {row['xla_argument_bytes_per_device'] / 1e9:6.3f} GB of arguments"
                f" = params + {row['input_bytes_per_device'] / 1e6:.1f} MB of the (2048, 12288) input"
            )
        print(line)


if __name__ == "__main__":
    main()
