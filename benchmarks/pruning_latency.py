"""Structured pruning against the dense model and against zeros: latency at batch 256 through ``tj.compile``.

    python benchmarks/pruning_latency.py [--quick] [--rounds N]

For each MLP, four models are timed in rounds in one process (only XLA runs: one thread pool;
``_harness.rounds_here``):
dense; 50% of the hidden units removed by ``tj.compress.structured_prune``; 50% of the weights
zeroed by ``tj.compress.magnitude_prune`` (the same shapes); each hidden Linear factored at rank
``width / 8`` by ``tj.compress.low_rank``. Prints params, XLA FLOPs and median latencies, and the
median per-round ratio of each to dense. Target (issue 24): pruned / dense <= 0.70 at batch 256.
Writes ``results/pruning_latency.{json,md}``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _harness import rounds_here, summarise, write

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
    data: dict[str, dict[str, dict[str, float]]] = {}
    lines: list[str] = [f"Batch {BATCH}, {rounds} rounds; ratio: median per-round ratio to dense."]
    for sizes in ([64, 256, 256, 10], [784, 1024, 1024, 10]):
        x = np.random.default_rng(0).normal(size=(BATCH, sizes[0])).astype(np.float32)
        models = variants(sizes)
        predictors = {name: tj.compile(m, p, x) for name, (m, p) in models.items()}
        runs = {name: (lambda f=f, x=x: jax.block_until_ready(f(x))) for name, f in predictors.items()}
        summary = summarise(rounds_here(runs, rounds, runs=3, min_time=0.02 if args.quick else 0.1), "dense")
        title = f"MLP {'-'.join(map(str, sizes))}"
        print(f"\n{title}, batch {BATCH}, {rounds} rounds")
        print(f"{'model':18s} {'params':>9s} {'XLA FLOPs':>12s} {'median ms':>10s} {'/ dense':>8s}")
        lines += [
            "",
            f"**{title}**",
            "",
            "| model | params | XLA FLOPs | median ms | / dense |",
            "|---|---:|---:|---:|---:|",
        ]
        data[title] = {}
        for name, (_, p) in models.items():
            flops = int(predictors[name].cost_analysis(BATCH)["flops"])
            row = {"params": tj.count_params(p), "flops": flops, "ms": summary[name]["median_s"] * 1e3,
                   "ratio": summary[name]["ratio"], "cv": summary[name]["cv"]}  # fmt: skip
            data[title][name] = row
            print(f"{name:18s} {row['params']:9d} {flops:12d} {row['ms']:10.3f} {row['ratio']:8.2f}")
            lines.append(f"| {name} | {row['params']} | {flops} | {row['ms']:.3f} | {row['ratio']:.2f} |")
        pruned_ratio = summary["pruned 50% units"]["ratio"]
        verdict = f"target pruned / dense <= 0.70: {pruned_ratio:.2f} {'met' if pruned_ratio <= 0.70 else 'MISSED'}"
        print(verdict)
        lines += ["", verdict]
        met &= pruned_ratio <= 0.70
    write("pruning_latency", {"batch": BATCH, "rounds": rounds, "models": data}, lines)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
