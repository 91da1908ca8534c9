"""Train the digits MLP data-parallel across several JAX processes, and check it against one process.

    python examples/multiprocess_train.py [--num-processes N] [--steps S]
    python examples/multiprocess_train.py --coordinator HOST:PORT --process-id I --num-processes N [--steps S]

The first form runs on this machine: it trains once in this process on one device, then starts N
processes of one ``jax.distributed`` cluster on 127.0.0.1 (``tinyjax.sharding.launch_local``, each with
``--devices-per-process`` CPU devices) that train the same model on the same batches, data parallel
over all their devices; it prints both loss curves' largest difference and the time per step of each.
The second form is one process of a real multi-host run: start it on every host with the same
arguments except ``--process-id`` (``docs/scaling.md``); process 0 prints the curve and the step time.

Model and data are those of ``examples/train_digits.py`` (scikit-learn's digits, the MLP
64 -> 256 -> 128 -> 10, optax AdamW with a cosine decay). Each step's global batch of ``--batch`` rows is
drawn the same way on every process; each process feeds only its own rows
(``sharding.process_rows`` and ``sharding.shard_batch(..., process_local=True)``) and the gradient
is all-reduced over the processes. Needs ``pip install 'tinyjax[examples]'``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import jax
import numpy as np
import optax
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec
from train_digits import build_model, load_data

import tinyjax as tj
from tinyjax import sharding

RESULT = "result: "  # process 0's line with the curve, read back by the launching process
# Largest |loss difference| accepted between the N-process and the 1-process curves: float32 noise
# (the gradient all-reduce adds the processes' partial sums in another order, a few ulps of a loss
# between 0.01 and 2.5; docs/scaling.md has the measured gaps).
TOLERANCE = 1e-5


def train(mesh: jax.sharding.Mesh, *, steps: int, batch: int, lr: float, seed: int) -> dict[str, Any]:
    """``steps`` AdamW steps data parallel over ``mesh``; the loss of each and the wall time of each, in s.

    Run by every process of the cluster with the same arguments; the params stay replicated, each
    process feeds its rows of each global batch.
    """
    model = build_model()
    x_train, x_test, y_train, y_test = load_data(seed)
    optimizer = optax.adamw(optax.cosine_decay_schedule(lr, steps), weight_decay=1e-4)
    params_sharding = sharding.param_shardings(model, mesh, "data")
    replicated = NamedSharding(sharding.auto_axes(mesh), PartitionSpec())
    batch_sharding = sharding.batch_sharding(mesh)

    def loss_fn(params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        return tj.losses.cross_entropy(model.apply(params, x), y)

    def step(params: Any, state: Any, x: jax.Array, y: jax.Array) -> tuple[Any, Any, jax.Array]:
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    step = jax.jit(
        step,
        in_shardings=(params_sharding, replicated, batch_sharding, batch_sharding),
        out_shardings=(params_sharding, replicated, replicated),
    )
    params = sharding.init_sharded(model, jax.random.key(seed), mesh, "data")
    state = jax.jit(optimizer.init, out_shardings=replicated)(params)
    rows = sharding.process_rows(mesh, batch)  # this process's rows of every global batch
    order = np.random.default_rng(seed)
    losses, seconds = [], []
    for _ in range(steps):
        start = time.perf_counter()
        chosen = order.choice(len(x_train), batch, replace=False)[rows]  # a real loader reads only these
        x = sharding.shard_batch(x_train[chosen], mesh, process_local=True)
        y = sharding.shard_batch(y_train[chosen], mesh, process_local=True)
        params, state, loss = step(params, state, x, y)
        losses.append(float(loss))  # replicated: every process can read it; waits for the step
        seconds.append(time.perf_counter() - start)
    logits = model.apply(multihost_utils.process_allgather(params, tiled=True), x_test)
    accuracy = float(np.mean(np.argmax(logits, -1) == y_test))
    return {"losses": losses, "seconds": seconds, "accuracy": accuracy, "devices": mesh.size}


def per_step_ms(seconds: list[float]) -> float:
    """Median wall time of a step, in ms, the first (compilation) left out."""
    return 1e3 * float(np.median(seconds[1:] or seconds))


def describe(name: str, run: dict[str, Any]) -> str:
    return (
        f"{name}: {run['devices']} device(s), final loss {run['losses'][-1]:.4f}, "
        f"test accuracy {run['accuracy']:.4f}, {per_step_ms(run['seconds']):.2f} ms per step (median)"
    )


def join(args: argparse.Namespace) -> int:
    """One process of a multi-host run: train over every process's devices; process 0 reports."""
    jax.distributed.initialize(args.coordinator, num_processes=args.num_processes, process_id=args.process_id)
    mesh = sharding.make_mesh(data=jax.device_count())
    run = train(mesh, steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed)
    if jax.process_index() == 0:
        print(describe(f"{jax.process_count()} processes", run))
        print(RESULT + json.dumps(run), flush=True)
    jax.distributed.shutdown()
    return 0


def compare(args: argparse.Namespace) -> int:
    """Train in this process on one device, then in ``--num-processes`` local processes; compare."""
    single = train(sharding.make_mesh(), steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed)
    print(describe("1 process", single))
    options = ["--steps", str(args.steps), "--batch", str(args.batch), "--lr", str(args.lr), "--seed", str(args.seed)]
    outputs = sharding.launch_local(
        [sys.executable, __file__, *options],
        args.num_processes,
        devices_per_process=args.devices_per_process,
        timeout=args.timeout,
    )
    line = next(line for line in outputs[0].splitlines() if line.startswith(RESULT))
    multi = json.loads(line[len(RESULT) :])
    print(describe(f"{args.num_processes} processes", multi))
    gap = float(np.max(np.abs(np.array(multi["losses"]) - np.array(single["losses"]))))
    ratio = per_step_ms(multi["seconds"]) / per_step_ms(single["seconds"])
    print(f"max |loss difference| over the {args.steps} steps: {gap:.2e} (tolerance {TOLERANCE:g})")
    print(f"time per step, {args.num_processes} processes / 1 process: {ratio:.2f}")
    if not gap <= TOLERANCE:
        print("the loss curves differ by more than float32 noise")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-processes", type=int, default=2, help="processes of the cluster (default 2)")
    parser.add_argument("--coordinator", help="HOST:PORT of process 0: join a multi-host run as --process-id")
    parser.add_argument("--process-id", type=int, help="this process's index, 0 on the coordinator's host")
    parser.add_argument("--devices-per-process", type=int, default=1, help="CPU devices of each local process")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64, help="global batch, split over every device")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the local processes' run")
    args = parser.parse_args(argv)
    if (args.coordinator is None) != (args.process_id is None):
        parser.error("--coordinator and --process-id go together")
    return join(args) if args.coordinator else compare(args)


if __name__ == "__main__":
    sys.exit(main())
