"""Run on 8 simulated CPU devices by tests/test_gpt_sharding.py: a sharded GPT against one device, as JSON.

Measures, for a GPT of 8 heads under the megatron plan on meshes 1x8 and 2x4 (data x model): the largest
difference from the single-device logits, each block param's shard shape, and the collectives in the
compiled forward of one TransformerBlock and of the whole GPT.
"""

from __future__ import annotations

import json
from typing import Any

import jax
import numpy as np
from sharding_checks import EXAMPLE

import tinyjax as tj

HEADS = 8


def block_forward_collectives(mesh: Any) -> dict[str, int]:
    """Collectives in one sharded TransformerBlock's compiled forward (E=32, 8 heads)."""
    block = tj.TransformerBlock(32, HEADS)
    params = tj.sharding.shard_params(block, block.init(jax.random.key(2)), mesh, "megatron")
    x = tj.sharding.shard_batch(jax.random.normal(jax.random.key(3), (4, 16, 32)), mesh)
    compiled = tj.sharding.sharded_apply(block, mesh, "megatron").lower(params, x).compile()
    return EXAMPLE.collective_counts(compiled.as_text())


def main() -> None:
    model = tj.GPT(96, 32, 2, HEADS, 16)
    params = model.init(jax.random.key(0))
    tokens = jax.random.randint(jax.random.key(1), (4, 16), 0, 96)
    expected = np.asarray(model.apply(params, tokens))
    results: dict[str, Any] = {"devices": jax.device_count()}
    for data, width in ((1, 8), (2, 4)):
        mesh = tj.sharding.make_mesh(data=data, model=width)
        sharded = tj.sharding.shard_params(model, params, mesh, "megatron")
        forward = tj.sharding.sharded_apply(model, mesh, "megatron")
        batch = tj.sharding.shard_batch(tokens, mesh)
        y = forward(sharded, batch)
        results[f"{data}x{width}"] = {
            "max_abs_diff": float(np.max(np.abs(np.asarray(y) - expected))),
            "shards": {
                name: list(a.sharding.shard_shape(a.shape)) for name, a in tj.named_parameters(sharded[2]).items()
            },
            "block_collectives": block_forward_collectives(mesh),
            "gpt_collectives": EXAMPLE.collective_counts(forward.lower(sharded, batch).compile().as_text()),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
