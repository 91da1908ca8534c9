"""tinyjax.sharding: specs from layer descriptions (in this process), and placement on 8 devices.

The device checks need 8 devices, and JAX fixes the device count when it starts, so they run
once in a fresh interpreter (``tests/sharding_checks.py`` with
``XLA_FLAGS=--xla_force_host_platform_device_count=8``) that prints its measurements as JSON;
each assertion below reads one of them. This test session keeps its own single device.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest
from jax.sharding import AbstractMesh
from jax.sharding import PartitionSpec as P

import tinyjax as tj
from tinyjax import sharding

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("linear", "row"),
    *[("mlp", setup) for setup in ("data", "column", "row", "megatron", "2d")],
    ("repeat", "megatron"),
]


def mlp() -> tj.Layer:
    return tj.Sequential(tj.Linear(16, 64), tj.ReLU(), tj.Linear(64, 16))


def load_example():
    spec = importlib.util.spec_from_file_location("sharded_mlp", ROOT / "examples" / "sharded_mlp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_on_8_devices(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
    env["JAX_PLATFORMS"] = "cpu"
    return subprocess.run(
        [sys.executable, script, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def measured() -> dict:
    done = run_on_8_devices("tests/sharding_checks.py")
    assert done.returncode == 0, f"tests/sharding_checks.py failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


# --- specs: pure functions of the layer description -------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "first", "second"),
    [
        ("data", (P(), P()), (P(), P())),
        ("column", (P(None, "model"), P("model")), (P(None, "model"), P("model"))),
        ("row", (P("model", None), P()), (P("model", None), P())),
        ("megatron", (P(None, "model"), P("model")), (P("model", None), P())),
    ],
)
def test_specs_follow_the_strategy(strategy, first, second):
    specs = sharding.param_specs(mlp(), strategy)
    assert specs == ({"weight": first[0], "bias": first[1]}, (), {"weight": second[0], "bias": second[1]})


def test_megatron_alternates_across_nested_sequentials_and_skips_other_layers():
    model = tj.Sequential(
        tj.Sequential(tj.Linear(8, 16), tj.GELU()), tj.Dropout(0.1), tj.Linear(16, 8), tj.Linear(8, 8, bias=False)
    )
    specs = sharding.param_specs(model, "megatron")
    assert specs == (
        ({"weight": P(None, "model"), "bias": P("model")}, ()),
        (),
        {"weight": P("model", None), "bias": P()},
        {"weight": P(None, "model")},
    )


def test_repeat_keeps_its_stacking_axis_whole():
    specs = sharding.param_specs(tj.Repeat(mlp(), 3), "megatron")
    assert specs == (
        {"weight": P(None, None, "model"), "bias": P(None, "model")},
        (),
        {"weight": P(None, "model", None), "bias": P()},
    )


def test_user_pairs_are_replicated():
    def init(key):
        return {"scale": jax.numpy.ones((8,))}

    def apply(params, x):
        return x * params["scale"]

    specs = sharding.param_specs(tj.Sequential(tj.Linear(4, 8), (init, apply)), "column")
    assert specs == ({"weight": P(None, "model"), "bias": P("model")}, {"scale": P()})


def test_overrides_by_name_pattern_last_match_wins():
    specs = sharding.param_specs(mlp(), "megatron", overrides={"*.bias": P(), "2.weight": P(None, "model"), "2.*": P()})
    assert specs == ({"weight": P(None, "model"), "bias": P()}, (), {"weight": P(), "bias": P()})


def test_model_axis_name_is_configurable():
    specs = sharding.param_specs(tj.Linear(4, 8), "column", model_axis="tp")
    assert specs == {"weight": P(None, "tp"), "bias": P("tp")}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sharding.param_specs(mlp(), "pipeline"), "unknown sharding strategy 'pipeline'"),
        (lambda: sharding.param_specs(mlp(), overrides={"3.weight": P()}), "match no parameter"),
        (lambda: sharding.param_specs(mlp(), overrides={"0.weight": ("model",)}), "must map to a jax.sharding"),
        (
            lambda: sharding.shard_shapes(mlp(), AbstractMesh((3,), ("model",)), "column"),
            "0.weight of shape (16, 64): a dimension of size 64 cannot be split evenly over mesh axis 'model'",
        ),
        (
            lambda: sharding.shard_shapes(mlp(), AbstractMesh((8,), ("data",)), "row"),
            "splits over mesh axis 'model', but the mesh has axes ('data',)",
        ),
        (
            lambda: sharding.shard_shapes(mlp(), AbstractMesh((2,), ("model",)), overrides={"0.bias": P(None, "m")}),
            "0.bias of shape (64,) cannot take the 2-dimensional spec",
        ),
        (lambda: sharding.make_mesh(data=2, model=64), "XLA_FLAGS=--xla_force_host_platform_device_count=128"),
        (lambda: sharding.make_mesh(model=0), "mesh axis 'model' must have a positive int size"),
    ],
)
def test_mistakes_raise_config_errors(call, message):
    with pytest.raises(tj.ConfigError) as caught:
        call()
    assert message in str(caught.value)


def test_per_device_bytes_of_gpt3_linear_without_allocating():
    layer = tj.Linear(12288, 49152)
    weight, bias = 12288 * 49152 * 4, 49152 * 4
    one_d = AbstractMesh((8,), ("model",))
    two_d = AbstractMesh((2, 4), ("data", "model"))
    assert tj.param_bytes(sharding.shard_shapes(layer, AbstractMesh((8,), ("data",)), "data")) == weight + bias
    assert tj.param_bytes(sharding.shard_shapes(layer, one_d, "column")) == (weight + bias) // 8
    assert tj.param_bytes(sharding.shard_shapes(layer, one_d, "row")) == weight // 8 + bias
    assert tj.param_bytes(sharding.shard_shapes(layer, two_d, "megatron")) == (weight + bias) // 4
    shapes = sharding.shard_shapes(layer, one_d, "row")
    assert shapes["weight"] == jax.ShapeDtypeStruct((1536, 49152), jax.numpy.float32)


def test_a_one_device_mesh_runs_every_strategy_unchanged():
    model = mlp()
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (4, 16))
    mesh = sharding.make_mesh()
    for strategy in sharding.STRATEGIES:
        placed = sharding.shard_params(model, params, mesh, strategy)
        y = sharding.sharded_apply(model, mesh, strategy)(placed, sharding.shard_batch(x, mesh))
        assert jax.numpy.array_equal(y, model.apply(params, x)), strategy


# --- 8 simulated devices ---------------------------------------------------------------------


def test_the_checks_ran_on_8_devices(measured):
    assert (measured["device_count"], measured["platform"]) == (8, "cpu")
    assert sorted(k for k in measured if "/" in k) == sorted(f"{m}/{s}" for m, s in CASES)


@pytest.mark.parametrize(("model", "setup"), CASES)
def test_forward_equals_single_device(measured, model, setup):
    result = measured[f"{model}/{setup}"]
    # Integer-valued params and inputs: every partial sum is exact, so any order of summation
    # (split over devices or not) must give the very same floats.
    assert result["forward_exact"], f"{model}/{setup}: output differs from the single-device output"
    # Random params: only the order of the f32 sums may differ (outputs are of order 1).
    assert result["forward_max_diff"] <= 2e-6, f"{model}/{setup}: max |diff| {result['forward_max_diff']}"
    assert result["output_shards"]["tiles_whole"]


@pytest.mark.parametrize(("model", "setup"), CASES)
def test_training_step_equals_single_device(measured, model, setup):
    result = measured[f"{model}/{setup}"]
    assert result["train_exact"], f"{model}/{setup}: SGD step differs from the single-device step"
    assert result["train_params_max_diff"] <= 1e-7, result["train_params_max_diff"]
    assert result["train_loss_diff"] <= 1e-6, result["train_loss_diff"]
    # The update keeps every weight where it was: no device ends up with a whole tensor-parallel weight.
    assert result["train_weights"] == result["weights"]


# (model, setup) -> for each weight, the shapes of its shards (one shape: all 8 shards alike).
SHARD_SHAPES = {
    ("linear", "row"): [[[2, 64]]],  # split on in: 1/8 on each device
    ("mlp", "data"): [[[16, 64]], [[64, 16]]],
    ("mlp", "column"): [[[16, 8]], [[64, 2]]],  # split on out: 1/8 of each weight on each device
    ("mlp", "row"): [[[2, 64]], [[8, 16]]],
    ("mlp", "megatron"): [[[16, 8]], [[8, 16]]],
    ("mlp", "2d"): [[[16, 16]], [[16, 16]]],  # 1/4 over "model", copied over "data"
    # Repeat(mlp, 2): the same, with the stacking axis (2) whole on every device.
    ("repeat", "megatron"): [[[2, 16, 8]], [[2, 8, 16]]],
}


@pytest.mark.parametrize(("model", "setup"), list(SHARD_SHAPES))
def test_each_device_holds_its_share_of_each_weight(measured, model, setup):
    weights = measured[f"{model}/{setup}"]["weights"]
    assert [w["shapes"] for w in weights] == SHARD_SHAPES[model, setup]
    assert measured[f"{model}/{setup}"]["init_sharded_weights"] == weights
    assert measured[f"{model}/{setup}"]["init_sharded_equal"], "init_sharded gave other values than init"
    for weight in weights:
        assert weight["count"] == weight["devices"] == 8
        assert weight["tiles_whole"], "the shards do not put the weight back together"


def test_row_parallel_linear_all_reduces_its_partial_sums(measured):
    counts = measured["linear/row"]["forward_collectives"]
    assert counts["all-reduce"] == 1, counts
    assert counts["all-gather"] == 0, "the weight was gathered instead of summing partial products"


def test_data_parallel_forward_communicates_nothing(measured):
    counts = measured["mlp/data"]["forward_collectives"]
    assert sum(counts.values()) == 0, counts


@pytest.mark.parametrize(("model", "setup"), [("mlp", "megatron"), ("mlp", "2d"), ("repeat", "megatron")])
def test_megatron_mlp_block_needs_exactly_one_all_reduce(measured, model, setup):
    # For the Repeat, the one all-reduce sits in the scan's loop body: once per block.
    counts = measured[f"{model}/{setup}"]["forward_collectives"]
    assert counts == {"all-reduce": 1, "all-gather": 0, "reduce-scatter": 0, "all-to-all": 0, "collective-permute": 0}


def test_a_mesh_with_explicit_axes_works_too(measured):
    result = measured["explicit_mesh"]
    assert result["axis_types"] == ["Explicit", "Explicit"]
    assert result["forward_max_diff"] <= 2e-6


def test_example_gpt3_linear_bytes_match_xla_on_8_devices(measured):
    memory = {row["strategy"]: row for row in measured["example_gpt3_linear"]}
    assert list(memory) == ["replicated", "column", "row", "2-D (2 x 4) megatron"]
    assert memory["column"]["param_bytes_per_device"] == (12288 * 49152 + 49152) * 4 // 8
    for name, row in memory.items():  # XLA's own per-device count agrees with the shapes
        xla_params = row["xla_argument_bytes_per_device"] - row["input_bytes_per_device"]
        assert xla_params == row["param_bytes_per_device"], name


def test_example_prints_its_table_on_one_device(monkeypatch, capsys):
    example = load_example()
    monkeypatch.setattr(sys, "argv", ["sharded_mlp.py", "--width", "16", "--batch", "4"])
    example.main()
    printed = capsys.readouterr().out
    assert "1 cpu device(s); MLP 16 -> 64 -> 16, batch 4" in printed
    assert "megatron   1 x 1        0.00e+00" in printed
    assert "column                  0.302 GB" in printed
