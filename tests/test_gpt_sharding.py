"""A GPT under the megatron plan on 8 simulated devices equals one device (run in a fresh interpreter)."""

from __future__ import annotations

import json

import pytest
from test_sharding import run_on_8_devices


@pytest.fixture(scope="module")
def measured() -> dict:
    done = run_on_8_devices("tests/gpt_sharding_checks.py")
    assert done.returncode == 0, f"tests/gpt_sharding_checks.py failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


@pytest.mark.parametrize("mesh", ["1x8", "2x4"])
def test_sharded_gpt_equals_one_device(measured, mesh):
    assert measured["devices"] == 8
    assert measured[mesh]["max_abs_diff"] < 1e-5


def test_the_mlp_is_column_then_row_parallel_and_the_heads_projection_is_split(measured):
    width = 8
    # stacked (layers, in, out): linear1 (2, 32, 128) split on its output, linear2 (2, 128, 32) on its input
    assert measured["1x8"]["linear1_weight_shard"] == [2, 32, 128 // width]
    assert measured["1x8"]["linear2_weight_shard"] == [2, 128 // width, 32]
    assert measured["1x8"]["in_proj_weight_shard"] == [2, 32, 96 // width]
