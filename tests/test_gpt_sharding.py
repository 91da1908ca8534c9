"""A GPT under the megatron plan on 8 simulated devices: equal to one device, each device holding whole heads.

Megatron's plan for a block: the attention split by heads (queries, keys, values and the output
projection's rows of each head on one device) and the MLP column- then row-parallel, so the forward
of a block needs exactly two all-reduces and nothing else. Run in a fresh interpreter (8 devices).
"""

from __future__ import annotations

import json

import pytest
from jax.sharding import AbstractMesh
from jax.sharding import PartitionSpec as P
from test_sharding import run_on_8_devices

import tinyjax as tj

E, HEADS, D, LAYERS, HIDDEN = 32, 8, 4, 2, 128
ONLY_ALL_REDUCES = {"all-gather": 0, "reduce-scatter": 0, "all-to-all": 0, "collective-permute": 0}


@pytest.fixture(scope="module")
def measured() -> dict:
    done = run_on_8_devices("tests/gpt_sharding_checks.py")
    assert done.returncode == 0, f"tests/gpt_sharding_checks.py failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


@pytest.mark.parametrize("mesh", ["1x8", "2x4"])
def test_sharded_gpt_equals_one_device(measured, mesh):
    assert measured["devices"] == 8
    assert measured[mesh]["max_abs_diff"] < 1e-5


@pytest.mark.parametrize(("mesh", "width"), [("1x8", 8), ("2x4", 4)])
def test_each_device_holds_whole_heads_and_the_mlp_is_column_then_row(measured, mesh, width):
    shards = measured[mesh]["shards"]  # the two blocks stacked by Repeat: a leading axis of 2, kept whole
    heads = HEADS // width
    assert shards["self_attn.in_proj_weight"] == [LAYERS, E, 3, heads, D]
    assert shards["self_attn.in_proj_bias"] == [LAYERS, 3, heads, D]
    assert shards["self_attn.out_proj_weight"] == [LAYERS, heads, D, E]
    assert shards["self_attn.out_proj_bias"] == [LAYERS, E]
    assert shards["linear1.weight"] == [LAYERS, E, HIDDEN // width]
    assert shards["linear1.bias"] == [LAYERS, HIDDEN // width]
    assert shards["linear2.weight"] == [LAYERS, HIDDEN // width, E]
    assert shards["linear2.bias"] == [LAYERS, E]
    assert shards["norm1.weight"] == [LAYERS, E]


@pytest.mark.parametrize("mesh", ["1x8", "2x4"])
def test_a_block_attends_without_communication_and_all_reduces_twice(measured, mesh):
    # one all-reduce after the heads' output projection, one after the MLP's row-parallel Linear
    assert measured[mesh]["block_collectives"] == {"all-reduce": 2, **ONLY_ALL_REDUCES}


@pytest.mark.parametrize("mesh", ["1x8", "2x4"])
def test_the_gpt_all_reduces_twice_per_block_and_gathers_only_its_logits(measured, mesh):
    # the blocks sit in Repeat's scan: their two all-reduces appear once, in the loop body; the head
    # Linear is column-parallel (vocab split) and its logits are gathered once at the end
    expected = {**ONLY_ALL_REDUCES, "all-reduce": 2, "all-gather": 1}
    assert measured[mesh]["gpt_collectives"] == expected


def test_every_tensor_parallel_strategy_splits_the_heads_and_data_parallelism_none():
    block = tj.TransformerBlock(E, HEADS)
    heads = {
        "in_proj_weight": P(None, None, "model", None),
        "in_proj_bias": P(None, "model", None),
        "out_proj_weight": P("model", None, None),
        "out_proj_bias": P(),
    }
    for strategy in ("column", "row", "megatron"):
        assert tj.sharding.param_specs(block, strategy)["self_attn"] == heads, strategy
    assert set(tj.sharding.param_specs(block, "data")["self_attn"].values()) == {P()}


def test_a_head_count_the_model_axis_does_not_divide_is_refused_by_name():
    block = tj.TransformerBlock(E, 4)
    with pytest.raises(tj.ConfigError, match=r"self_attn\.in_proj_bias of shape \(3, 4, 8\): a dimension of size 4"):
        tj.sharding.shard_shapes(block, AbstractMesh((8,), ("model",)), "megatron")
