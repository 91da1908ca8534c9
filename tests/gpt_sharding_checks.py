"""Run on 8 simulated CPU devices by tests/test_gpt_sharding.py: a sharded GPT against one device, as JSON."""

from __future__ import annotations

import json

import jax
import numpy as np

import tinyjax as tj


def main() -> None:
    model = tj.GPT(96, 32, 2, 4, 16)
    params = model.init(jax.random.key(0))
    tokens = jax.random.randint(jax.random.key(1), (4, 16), 0, 96)
    expected = np.asarray(model.apply(params, tokens))
    results = {"devices": jax.device_count()}
    for data, width in ((1, 8), (2, 4)):
        mesh = tj.sharding.make_mesh(data=data, model=width)
        sharded = tj.sharding.shard_params(model, params, mesh, "megatron")
        y = tj.sharding.sharded_apply(model, mesh, "megatron")(sharded, tj.sharding.shard_batch(tokens, mesh))
        block = jax.tree_util.tree_map(lambda a: a.sharding.shard_shape(a.shape), sharded[2])
        results[f"{data}x{width}"] = {
            "max_abs_diff": float(np.max(np.abs(np.asarray(y) - expected))),
            "linear1_weight_shard": list(block["linear1"]["weight"]),
            "linear2_weight_shard": list(block["linear2"]["weight"]),
            "in_proj_weight_shard": list(block["self_attn"]["in_proj_weight"]),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
