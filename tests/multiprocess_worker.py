"""One process of the 2-process checks of tests/test_multiprocess.py: every strategy on a global mesh.

Started by ``tinyjax.sharding.launch_local`` (2 processes x 2 CPU devices), as on 2 hosts::

    python tests/multiprocess_worker.py OUT_DIR --coordinator 127.0.0.1:PORT --process-id I --num-processes 2

Each process builds the same params (same key), feeds only its own rows of the batch
(``shard_batch(..., process_local=True)``), runs the forward pass, the gradients and a training step,
gathers the global results (``process_allgather``) and pickles them to ``OUT_DIR/process{I}.pkl``.
It only measures; the test holds the assertions, against a single-device run of the same
functions in the test's own process (``single_device_run`` below).
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

import tinyjax as tj
from tinyjax import sharding

BATCH, LEARNING_RATE = 32, 0.1
# name -> (mesh (data, model), strategy, whether the "model" axis spans the processes). make_mesh puts
# each process's devices next to each other, so on (2, 2) "data" spans the processes and "model" stays
# inside each; "2d-model-across" orders the devices the other way: both processes then hold every
# slice of "data" and feed the same rows.
SETUPS = {
    "data": ((4, 1), "data", False),
    "column": ((1, 4), "column", False),
    "row": ((1, 4), "row", False),
    "megatron": ((1, 4), "megatron", False),
    "2d": ((2, 2), "megatron", False),
    "2d-model-across": ((2, 2), "megatron", True),
}

# init_sharded (each device computes its own shards of the random init) is checked where the params
# are split across the processes: Linears column- then row-parallel over 4 devices, and the 2-D mesh.
# Compiling the random init takes a while, so not on every setup.
INIT_SHARDED_SETUPS = ("megatron", "2d")


def model() -> tj.Layer:
    return tj.Sequential(tj.Linear(16, 64), tj.ReLU(), tj.Linear(64, 16))


def inputs(exact: bool) -> tuple[Any, np.ndarray, np.ndarray]:
    """Params, batch ``(32, 16)`` and targets ``(32, 16)``, float32; the same on every process.

    ``exact=True`` rounds them to small integers: every sum of products is then exact in float32,
    in any order, so a sharded run must match the single-device run bit for bit.
    """
    params = model().init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (BATCH, 16))
    y = jax.random.normal(jax.random.key(2), (BATCH, 16))
    if exact:
        params = jax.tree_util.tree_map(lambda p: jnp.round(p * 8.0), params)
        x, y = jnp.round(x * 2.0), jnp.round(y)
    return params, np.asarray(x), np.asarray(y)


def objective(params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    return tj.losses.mse(model().raw_apply(params, x), y)


def single_device_run(exact: bool) -> dict[str, Any]:
    """Forward pass, gradients and one SGD step with plain ``jax.jit`` on the default device."""
    params, x, y = inputs(exact)
    new_params, loss = jax.jit(sharding.sgd_step(model(), tj.losses.mse, LEARNING_RATE))(params, x, y)
    return {
        "forward": np.asarray(jax.jit(model().raw_apply)(params, x)),
        "grads": jax.device_get(jax.jit(jax.grad(objective))(params, x, y)),
        "step_params": jax.device_get(new_params),
        "step_loss": float(loss),
    }


def make_mesh(shape: tuple[int, int], model_across: bool) -> jax.sharding.Mesh:
    if not model_across:
        return sharding.make_mesh(*shape)
    # Devices listed model-major: (p0 d0, p1 d0, p0 d1, p1 d1) fills rows (p0 d0, p1 d0), (p0 d1, p1 d1).
    by_process = [[d for d in jax.devices() if d.process_index == p] for p in range(jax.process_count())]
    return sharding.make_mesh(*shape, devices=[d for group in zip(*by_process, strict=True) for d in group])


def sharded_runs(setup: str) -> dict[str, dict[str, Any]]:
    """The computations of :func:`single_device_run` on a mesh over every process's devices, float and exact."""
    mesh_shape, strategy, model_across = SETUPS[setup]
    mesh = make_mesh(mesh_shape, model_across)
    rows = sharding.process_rows(mesh, BATCH)
    shardings = sharding.param_shardings(model(), mesh, strategy)
    # Compiled once for both runs (jax.jit caches by function: these are built once per setup).
    grad = jax.jit(jax.grad(objective), out_shardings=shardings)
    step = sharding.sharded_train_step(model(), tj.losses.mse, mesh, strategy, learning_rate=LEARNING_RATE)
    forward = sharding.sharded_apply(model(), mesh, strategy)
    gather = multihost_utils.process_allgather
    results = {}
    for exact in (False, True):
        params, x, y = inputs(exact)
        placed = sharding.shard_params(model(), params, mesh, strategy)
        xb = sharding.shard_batch(x[rows], mesh, process_local=True)
        yb = sharding.shard_batch(y[rows], mesh, process_local=True)
        new_params, loss = step(placed, xb, yb)
        results["exact" if exact else "float"] = {
            "forward": gather(forward(placed, xb), tiled=True),
            "grads": gather(grad(placed, xb, yb), tiled=True),
            "step_params": gather(new_params, tiled=True),
            "step_loss": float(loss),
            "rows": (rows.start, rows.stop),
            "batch_shape": xb.shape,
            "local_batch_shards": sorted(tuple(s.data.shape) for s in xb.addressable_shards),
            # This process's share of each weight: the shapes of the shards on its 2 devices.
            "local_weight_shards": [sorted(tuple(s.data.shape) for s in w.addressable_shards) for w in weights(placed)],
            "step_weight_specs": [str(w.sharding.spec) for w in weights(new_params)],
        }
    if setup in INIT_SHARDED_SETUPS:
        built = sharding.init_sharded(model(), jax.random.key(0), mesh, strategy)
        results["float"]["init_sharded"] = gather(built, tiled=True)
    return results


def mistakes() -> dict[str, str]:
    """The errors of the process-local API's misuses, as ``"ConfigError: message"``."""
    data_parallel = sharding.make_mesh(data=4)
    interleaved = make_mesh((4, 1), model_across=True)  # each process's devices at data slices 0, 2 or 1, 3
    calls = {
        "odd_local_rows": lambda: sharding.shard_batch(np.zeros((3, 16)), data_parallel, process_local=True),
        "batch_not_divisible": lambda: sharding.process_rows(data_parallel, 30),
        "rows_not_contiguous": lambda: sharding.process_rows(interleaved, BATCH),
    }
    errors = {}
    for name, call in calls.items():
        try:
            call()
            errors[name] = "no error"
        except tj.ConfigError as error:
            errors[name] = f"ConfigError: {error}"
    return errors


def weights(params: Any) -> list[jax.Array]:
    return [layer["weight"] for layer in params if layer]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--coordinator", required=True)
    parser.add_argument("--process-id", type=int, required=True)
    parser.add_argument("--num-processes", type=int, required=True)
    args = parser.parse_args()
    jax.distributed.initialize(args.coordinator, num_processes=args.num_processes, process_id=args.process_id)
    results: dict[str, Any] = {
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "device_count": jax.device_count(),
        "local_device_count": jax.local_device_count(),
        "errors": mistakes(),
    }
    for setup in SETUPS:
        start = time.perf_counter()
        for kind, result in sharded_runs(setup).items():
            results[f"{setup}/{kind}"] = result
        print(f"{setup}: {time.perf_counter() - start:.1f} s", flush=True)
    with open(args.out_dir / f"process{args.process_id}.pkl", "wb") as f:
        pickle.dump(results, f)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main()
