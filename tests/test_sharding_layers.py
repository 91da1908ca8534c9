"""A CNN with BatchNorm on 4 CPU devices (a subprocess with XLA_FLAGS): data parallel and Megatron-style tensor
parallel give the single-device outputs, and training on a split batch gives the global batch's statistics; an
int8 MLP (tj.quantize) shards its int8 weights and scales by their axes, in the same subprocess."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import json, jax, jax.numpy as jnp, numpy as np, tinyjax as tj
    from tinyjax import sharding
    model = tj.Sequential(tj.Conv2d(2, 4, 3, padding=1), tj.BatchNorm2d(4), tj.ReLU(), tj.Conv2d(4, 4, 3, padding=1),
                          tj.MaxPool2d(2), tj.Flatten(), tj.LayerNorm(16), tj.Linear(16, 4))
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (8, 2, 4, 4))
    reference = model.apply(params, x)
    _, reference_state = model.apply(params, x, training=True)
    out = {}
    for name, shape, strategy in (("data", (4, 1), "data"), ("megatron", (2, 2), "megatron")):
        mesh = sharding.make_mesh(*shape)
        placed = sharding.shard_params(model, params, mesh, strategy)
        batch = sharding.shard_batch(x, mesh)
        y = sharding.sharded_apply(model, mesh, strategy)(placed, batch)
        _, state = jax.jit(lambda p, v: model.apply(p, v, training=True))(placed, batch)
        out[name] = {
            "output": float(jnp.abs(y - reference).max()),
            "running_var": float(jnp.abs(state[1]["running_var"] - reference_state[1]["running_var"]).max()),
            "conv_spec": list(placed[0]["weight"].sharding.spec),
        }
    mlp = tj.Sequential(tj.Linear(16, 32), tj.ReLU(), tj.Linear(32, 16), tj.ReLU(), tj.Linear(16, 8))
    qmodel, qparams = tj.quantize(mlp, mlp.init(jax.random.key(0)))
    x = jax.random.normal(jax.random.key(1), (8, 16))
    reference = qmodel.apply(qparams, x)
    int8 = {}
    for name, shape, strategy in (("data", (4, 1), "data"), ("megatron", (2, 2), "megatron")):
        mesh = sharding.make_mesh(*shape)
        placed = sharding.shard_params(qmodel, qparams, mesh, strategy)
        y = sharding.sharded_apply(qmodel, mesh, strategy)(placed, sharding.shard_batch(x, mesh))
        int8[name] = {
            "output": float(jnp.abs(y - reference).max()),
            "dtype": str(placed[0]["weight"].dtype),
            "specs": [list(placed[i][k].sharding.spec) for i in (0, 2) for k in ("weight", "weight_scale")],
        }
    print(json.dumps({"cnn": out, "int8": int8}))
    """
)


@pytest.fixture(scope="module")
def measured():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cnn_with_batchnorm_data_and_tensor_parallel(measured):
    results = measured["cnn"]
    for name in ("data", "megatron"):
        assert results[name]["output"] < 1e-5, results
        assert results[name]["running_var"] < 1e-6, results  # the statistics of the whole batch, not one shard's
    assert results["data"]["conv_spec"] == []
    assert results["megatron"]["conv_spec"] == ["model", None, None, None]  # column-parallel: output channels split


def test_int8_params_shard_by_their_axes(measured):
    results = measured["int8"]
    assert results["data"] == {"output": 0.0, "dtype": "int8", "specs": [[], [], [], []]}
    # megatron: the first Linear column-parallel (its outputs and their scales split), the second row-parallel
    assert results["megatron"] == {
        "output": 0.0,
        "dtype": "int8",
        "specs": [[None, "model"], ["model"], ["model", None], []],
    }
