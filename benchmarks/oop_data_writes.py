"""What TinyTorch's in-place parameter update costs in the OOP face, against its optimizer and the functional step.

    python benchmarks/oop_data_writes.py [--rounds 41] [--batch 32]

The seed MLP (784-128-64-10) with gradients filled once by ``loss.backward()``; then, in a fresh
random order each round, one update of every parameter by

- ``data``: TinyTorch's loop, ``for p in params: p.data -= lr * p.grad.data`` (each ``.data`` read is a
  NumPy copy; the write stores a new jax array: ``tinyjax.oop.hostdata``);
- ``sgd``: ``tinyjax.oop.SGD(params, lr).step()`` (optax's update, jit-compiled, on the arrays);
- ``functional``: one jit-compiled ``params - lr * grads`` over the params pytree (what the functional
  core runs, untouched by ``.data``: it never sees a Tensor).

Each update is waited for (``block_until_ready``) and timed by ``tj.benchmark`` in rounds
(``_harness.rounds_here``). Prints the median microseconds per update of all parameters and the
median per-round ratios to ``sgd``; writes ``results/oop_data_writes.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _harness import rounds_here, summarise, write

from tinyjax import oop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--quick", action="store_true", help="9 rounds")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    if args.quick:
        args.rounds = 9
    oop.manual_seed(0)
    model = oop.Sequential(oop.Linear(784, 128), oop.ReLU(), oop.Linear(128, 64), oop.ReLU(), oop.Linear(64, 10))
    x = np.random.default_rng(0).standard_normal((args.batch, 784)).astype(np.float32)
    labels = np.arange(args.batch) % 10
    oop.CrossEntropyLoss()(model(x), labels).backward()
    params, lr = model.parameters(), 1e-6
    optimizer = oop.SGD(params, lr=lr)
    grads = [p.grad.array for p in params]
    step = jax.jit(lambda ps, gs: [p - lr * g for p, g in zip(ps, gs, strict=True)])

    def data() -> None:
        for p in params:
            p.data -= lr * p.grad.data
        jax.block_until_ready([p.array for p in params])

    def sgd() -> None:
        optimizer.step()
        jax.block_until_ready([p.array for p in params])

    def functional() -> None:
        jax.block_until_ready(step([p.array for p in params], grads))

    candidates: dict[str, Any] = {"data": data, "sgd": sgd, "functional": functional}
    for run in candidates.values():  # compile and warm up
        for _ in range(20):
            run()
    summary = summarise(rounds_here(candidates, args.rounds, runs=10), "sgd")
    lines = [
        f"Batch {args.batch}, {args.rounds} rounds; median microseconds per update of all {len(params)} "
        "parameters, and the median per-round ratio to `sgd`.",
        "",
        f"| update of all {len(params)} parameters | median us | / sgd |",
        "|---|---:|---:|",
    ]
    for name, row in summary.items():
        lines.append(f"| {name} | {row['median_s'] * 1e6:.1f} | {row['ratio']:.2f}x |")
    print(write("oop_data_writes", {"batch": args.batch, "rounds": args.rounds, "rows": summary}, lines))


if __name__ == "__main__":
    main()
