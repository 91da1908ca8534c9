"""tinyjax.sharding across processes: 2 processes x 2 CPU devices on 127.0.0.1, as on 2 hosts.

``sharding.launch_local`` starts ``tests/multiprocess_worker.py`` as the 2 processes of one
``jax.distributed`` cluster (a free port, a time-out, every process killed and each one's output
shown if one fails). Each process feeds its own rows of the batch, runs every strategy on a mesh over
the 4 devices, gathers the global results and pickles them; the assertions compare both processes'
results with the same computations on one device, run here in the test's own process.
"""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import jax
import multiprocess_worker as worker
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import sharding

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = (0, 1)

# Rows of the (32, 16) batch each process feeds: the "data" axis spans the processes on the
# data-parallel and the 2-D mesh; on the others every process's devices hold every row.
ROWS = {
    "data": [(0, 16), (16, 32)],
    "2d": [(0, 16), (16, 32)],
    **{setup: [(0, 32), (0, 32)] for setup in ("column", "row", "megatron", "2d-model-across")},
}
# The shapes of each weight's shards on one process's 2 devices: (16, 64) then (64, 16), split
# 4 ways over "model" (1 x 4 mesh) or 2 ways (2 x 2), or whole (data parallel).
LOCAL_WEIGHT_SHARDS = {
    "data": [[(16, 64)] * 2, [(64, 16)] * 2],
    "column": [[(16, 16)] * 2, [(64, 4)] * 2],
    "row": [[(4, 64)] * 2, [(16, 16)] * 2],
    "megatron": [[(16, 16)] * 2, [(16, 16)] * 2],
    "2d": [[(16, 32)] * 2, [(32, 16)] * 2],
    "2d-model-across": [[(16, 32)] * 2, [(32, 16)] * 2],
}
LOCAL_BATCH_SHARDS = {
    "data": [(8, 16)] * 2,
    **{setup: [(32, 16)] * 2 for setup in ("column", "row", "megatron")},
    "2d": [(16, 16)] * 2,
    "2d-model-across": [(16, 16)] * 2,
}


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("multiprocess")
    command = [sys.executable, "tests/multiprocess_worker.py", str(out)]
    sharding.launch_local(command, len(PROCESSES), devices_per_process=2, timeout=240, cwd=ROOT)
    return [pickle.loads((out / f"process{i}.pkl").read_bytes()) for i in PROCESSES]


@pytest.fixture(scope="module")
def reference() -> dict[str, dict]:
    return {kind: worker.single_device_run(exact=kind == "exact") for kind in ("float", "exact")}


def max_diff(a, b) -> float:
    diffs = jax.tree_util.tree_map(lambda u, v: float(np.max(np.abs(np.asarray(u) - np.asarray(v)))), a, b)
    return max(jax.tree_util.tree_leaves(diffs))


def all_equal(a, b) -> bool:
    same = jax.tree_util.tree_map(lambda u, v: bool(np.array_equal(np.asarray(u), np.asarray(v))), a, b)
    return all(jax.tree_util.tree_leaves(same))


def test_two_processes_of_two_devices_each(measured):
    for i, result in zip(PROCESSES, measured, strict=True):
        assert (result["process_index"], result["process_count"]) == (i, 2)
        assert (result["device_count"], result["local_device_count"]) == (4, 2)


@pytest.mark.parametrize("setup", list(worker.SETUPS))
@pytest.mark.parametrize("process", PROCESSES)
def test_forward_equals_single_device(measured, reference, setup, process):
    result = measured[process]
    # Integer-valued params and inputs: every sum is exact in any order, so bit-identical.
    assert np.array_equal(result[f"{setup}/exact"]["forward"], reference["exact"]["forward"])
    # Random ones: float32 rounding from another order of summation (a split contraction).
    assert max_diff(result[f"{setup}/float"]["forward"], reference["float"]["forward"]) <= 2e-6


@pytest.mark.parametrize("setup", list(worker.SETUPS))
@pytest.mark.parametrize("process", PROCESSES)
def test_gradients_equal_single_device(measured, reference, setup, process):
    result = measured[process]
    assert all_equal(result[f"{setup}/exact"]["grads"], reference["exact"]["grads"])
    assert max_diff(result[f"{setup}/float"]["grads"], reference["float"]["grads"]) <= 1e-7


@pytest.mark.parametrize("setup", list(worker.SETUPS))
@pytest.mark.parametrize("process", PROCESSES)
def test_training_step_equals_single_device(measured, reference, setup, process):
    result = measured[process]
    exact, floats = result[f"{setup}/exact"], result[f"{setup}/float"]
    assert all_equal(exact["step_params"], reference["exact"]["step_params"])
    assert exact["step_loss"] == reference["exact"]["step_loss"]
    assert max_diff(floats["step_params"], reference["float"]["step_params"]) <= 1e-7
    assert abs(floats["step_loss"] - reference["float"]["step_loss"]) <= 1e-6


@pytest.mark.parametrize("setup", list(worker.SETUPS))
def test_each_process_feeds_only_its_rows(measured, setup):
    for process, result in zip(PROCESSES, measured, strict=True):
        run = result[f"{setup}/float"]
        assert run["rows"] == ROWS[setup][process]
        assert run["batch_shape"] == (worker.BATCH, 16)
        assert run["local_batch_shards"] == LOCAL_BATCH_SHARDS[setup]


@pytest.mark.parametrize("setup", list(worker.SETUPS))
def test_each_process_holds_only_its_shards_and_training_keeps_them(measured, setup):
    strategy = worker.SETUPS[setup][1]
    specs = sharding.param_specs(worker.model(), strategy)
    for result in measured:
        run = result[f"{setup}/float"]
        assert run["local_weight_shards"] == LOCAL_WEIGHT_SHARDS[setup]
        assert run["step_weight_specs"] == [str(specs[0]["weight"]), str(specs[2]["weight"])]


@pytest.mark.parametrize("setup", worker.INIT_SHARDED_SETUPS)
def test_init_sharded_across_processes_equals_the_host_init(measured, setup):
    host_params = worker.inputs(exact=False)[0]
    for result in measured:
        assert all_equal(result[f"{setup}/float"]["init_sharded"], host_params)


# --- launch_local itself, with stand-in scripts (no JAX in them) ------------------------------

ECHO = "import json, os, sys; print(json.dumps([sys.argv[1:], os.environ['XLA_FLAGS'], os.environ['JAX_PLATFORMS']]))"
# Process 1 fails at once; process 0 would wait 60 s (as a JAX process waits for a dead peer).
ONE_FAILS = (
    "import sys, time\n"
    "if sys.argv[sys.argv.index('--process-id') + 1] == '1':\n"
    "    print('process 1 went wrong'); sys.exit(3)\n"
    "time.sleep(60)\n"
)


def test_launch_local_gives_each_process_the_cluster_and_its_devices(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=8 --xla_cpu_enable_fast_math=false")
    outputs = sharding.launch_local([sys.executable, "-c", ECHO, "--steps", "3"], 3, devices_per_process=2)
    ports = set()
    for i, output in enumerate(outputs):
        args, flags, platforms = json.loads(output)
        assert args[:2] == ["--steps", "3"]
        assert args[args.index("--process-id") + 1] == str(i) and args[args.index("--num-processes") + 1] == "3"
        host, port = args[args.index("--coordinator") + 1].split(":")
        assert host == "127.0.0.1"
        ports.add(port)
        assert flags == "--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=2"
        assert platforms == "cpu"
    assert len(ports) == 1


def test_launch_local_stops_every_process_when_one_fails_and_shows_their_output():
    with pytest.raises(sharding.LaunchError) as failure:
        sharding.launch_local([sys.executable, "-c", ONE_FAILS], 2, timeout=120)
    message = str(failure.value)
    assert message.startswith("process 1 of 2 exited with status 3; every process was stopped.")
    assert "--- process 1: exit status 3" in message and "process 1 went wrong" in message
    assert "--- process 0: exit status -9" in message  # killed, not left waiting for its peer


def test_launch_local_kills_every_process_after_its_timeout():
    with pytest.raises(sharding.LaunchError, match=r"the 2 processes did not finish within 0.5 s") as failure:
        sharding.launch_local([sys.executable, "-c", "import time; time.sleep(60)"], 2, timeout=0.5)
    assert str(failure.value).count("exit status -9") == 2


@pytest.mark.parametrize("count", [0, -1, 1.5, True])
def test_launch_local_wants_positive_counts(count):
    with pytest.raises(tj.ConfigError, match="must be a positive int"):
        sharding.launch_local([sys.executable, "-c", "pass"], count)
    with pytest.raises(tj.ConfigError, match="devices_per_process must be a positive int"):
        sharding.launch_local([sys.executable, "-c", "pass"], 1, devices_per_process=count)


# --- the process-local API in this one process ------------------------------------------------


def test_in_one_process_every_row_is_local_and_process_local_is_shard_batch():
    mesh = sharding.make_mesh()
    x = np.arange(12.0, dtype=np.float32).reshape(6, 2)
    assert sharding.process_rows(mesh, 6) == slice(0, 6)
    placed = sharding.shard_batch(x, mesh, process_local=True)
    assert placed.shape == (6, 2) and placed.sharding == sharding.batch_sharding(mesh)
    np.testing.assert_array_equal(placed, x)


def test_a_scalar_is_no_process_local_batch():
    with pytest.raises(tj.ConfigError, match=r"this process's part of the batch, of shape \(\), must have"):
        sharding.shard_batch(np.float32(1.0), sharding.make_mesh(), process_local=True)


def test_process_local_mistakes_across_processes_raise_config_errors(measured):
    for result in measured:
        errors = result["errors"]
        assert errors["odd_local_rows"] == (
            "ConfigError: this process's part of the batch, of shape (3, 16), must have a number of rows "
            "divisible by the 2 slice(s) of mesh axis 'data' its devices hold; pass the rows process_rows names"
        )
        assert errors["batch_not_divisible"].startswith(
            "ConfigError: batch of shape (30,): a dimension of size 30 cannot be split evenly over mesh axis "
            "'data' of size 4"
        )
        assert errors["rows_not_contiguous"].startswith(
            "ConfigError: this process's devices hold rows [(0, 8), (16, 24)] of the batch, not one contiguous block"
            if result["process_index"] == 0
            else "ConfigError: this process's devices hold rows [(8, 16), (24, 32)] of the batch, not one contiguous"
        )


# --- examples/multiprocess_train.py, once, with few steps -------------------------------------


@pytest.mark.example_run
def test_example_trains_across_two_processes_as_in_one():
    for module in ("sklearn", "optax", "tqdm"):
        pytest.importorskip(module)
    command = [sys.executable, "examples/multiprocess_train.py", "--num-processes", "2", "--steps", "20"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    # Both runs report, and their loss curves agree to float32 noise at each of the 20 steps.
    assert re.search(r"^1 process: 1 device\(s\), final loss [\d.]+, .* ms per step", done.stdout, re.M), done.stdout
    assert re.search(r"^2 processes: 2 device\(s\), final loss [\d.]+, .* ms per step", done.stdout, re.M), done.stdout
    gap = re.search(r"^max \|loss difference\| over the 20 steps: (\S+) \(tolerance 1e-05\)", done.stdout, re.M)
    assert gap, done.stdout
    assert float(gap.group(1)) <= 1e-5
    assert "time per step, 2 processes / 1 process: " in done.stdout
