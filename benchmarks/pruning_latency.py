"""Structured pruning against the dense model and against zeros: latency at batch 256 through ``tj.compile``.

    python benchmarks/pruning_latency.py [--quick] [--rounds N]

For each MLP, four models are timed in turns in one process (only XLA runs: one thread pool):
dense; 50% of the hidden units removed by ``tj.compress.structured_prune``; 50% of the weights
zeroed by ``tj.compress.magnitude_prune`` (the same shapes); each hidden Linear factored at rank
``width / 8`` by ``tj.compress.low_rank``. Prints params, XLA FLOPs and median latencies, and the
median per-round ratio of each to dense. Target (issue 24): pruned / dense <= 0.70 at batch 256.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _timing import in_turns, median, ratio

import tinyjax as tj

BATCH = 256


def mlp(sizes: list[int]) -> tj.Layer:
    layers: list[tj.Layer] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [tj.Linear(fan_in, fan_out), tj.ReLU()]
    return tj.Sequential(*layers[:-1])


def variants(sizes: list[int]) -> dict[str, tuple[tj.Layer, object]]:
    model = mlp(sizes)
    params = model.init(jax.random.key(0))
    pruned = tj.compress.structured_prune(model, params, 0.5)
    zeros = (model, tj.compress.magnitude_prune(params, 0.5)[0])
    rank = max(sizes[1:-1]) // 8
    factored = tj.compress.low_rank(model, params, rank, select=lambda layer: layer.out_features != sizes[-1])
    return {"dense": (model, params), "pruned 50% units": pruned, "50% zeros": zeros, f"low rank {rank}": factored}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 15)
    met = True
    for sizes in ([64, 256, 256, 10], [784, 1024, 1024, 10]):
        x = np.random.default_rng(0).normal(size=(BATCH, sizes[0])).astype(np.float32)
        models = variants(sizes)
        predictors = {name: tj.compile(m, p, x) for name, (m, p) in models.items()}
        runs = {name: (lambda f=f, x=x: jax.block_until_ready(f(x))) for name, f in predictors.items()}
        samples = in_turns(runs, rounds, min_time=0.02 if args.quick else 0.1)
        print(f"\nMLP {'-'.join(map(str, sizes))}, batch {BATCH}, {rounds} rounds")
        print(f"{'model':18s} {'params':>9s} {'XLA FLOPs':>12s} {'median ms':>10s} {'/ dense':>8s}")
        for name, (_, p) in models.items():
            flops = int(predictors[name].cost_analysis(BATCH)["flops"])
            print(f"{name:18s} {tj.count_params(p):9d} {flops:12d} {median(samples[name]) * 1e3:10.3f} "
                  f"{ratio(samples, name, 'dense'):8.2f}")  # fmt: skip
        pruned_ratio = ratio(samples, "pruned 50% units", "dense")
        print(f"target pruned / dense <= 0.70: {pruned_ratio:.2f} {'met' if pruned_ratio <= 0.70 else 'MISSED'}")
        met &= pruned_ratio <= 0.70
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
