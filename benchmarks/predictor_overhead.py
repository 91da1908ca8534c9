"""tinyjax.compile against hand-written jax.jit in one process: what the predictor itself costs.

    python benchmarks/predictor_overhead.py [--rounds 31] [--out DIR]

``peers.py`` runs each library in its own process, as its users would; between two processes the
same program can differ by 10-25% at batch 1 on a 2-core machine (thread placement, which core
XLA's worker wakes on). This script removes that: the predictor (``embed_params`` on, the default
for the seed MLP, and off) and a hand-written ``jax.jit`` MLP run in one process, on the same
weights and inputs, in a fresh random order each round, and the ratio is taken within each round.
A fourth row asks the embedded predictor for ``batch - 1`` rows (a NumPy array): they run padded in
the bucket of ``batch`` and the first rows of the result are taken back, which is what every batch
size that is not a bucket costs (its ratio is to hand-written ``jax.jit`` at ``batch`` rows).
Each call is timed on its own by ``tj.benchmark``, result ready (``block_until_ready``): latency, as a
server sees it (``_harness.rounds_here``).
Prints a markdown table and writes ``predictor_overhead.{json,md}`` to ``--out`` (``_harness.write``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).parent))

from _harness import RESULTS, rounds_here, summarise, write
from _mlp import BATCHES, check_close, inputs, reference, weights
from candidates.jax_jit import forward

import tinyjax as tj


def measure(batch: int, rounds: int) -> dict[str, Any]:
    layers = weights()
    x = jnp.asarray(inputs(batch))
    hand_params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in layers]
    model = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
    linears = [{"weight": w, "bias": b} for w, b in hand_params]
    params = (linears[0], (), linears[1], (), linears[2])
    embedded = tj.compile(model, params, x, embed_params=True)
    arguments = tj.compile(model, params, x, embed_params=False)
    inside = inputs(batch)[: batch - 1]  # NumPy: padded to the bucket of batch, sliced back
    runs = {
        "jax.jit (hand-written)": lambda: forward(hand_params, x),
        "tinyjax.compile (params embedded)": lambda: embedded(x),
        "tinyjax.compile (params as arguments)": lambda: arguments(x),
        "tinyjax.compile (embedded), batch - 1 rows padded": lambda: embedded(inside),
    }
    want = reference(layers, inputs(batch))
    for label, run in runs.items():
        check_close(label, jax.device_get(run()), want[: len(inside)] if "padded" in label else want)
    # warm-up: the first calls run slower (docs/performance.md)
    rounds_here(runs, 1, runs=1, min_time=0.3)
    summary = summarise(rounds_here(runs, rounds, runs=20, min_time=0.02), "jax.jit (hand-written)")
    return {label: {"us": row["median_s"] * 1e6, "ratio_to_jit": row["ratio"]} for label, row in summary.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--batches", type=int, nargs="*", default=list(BATCHES))
    parser.add_argument("--quick", action="store_true", help="9 rounds")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.rounds = 9
    result = {str(b): measure(b, args.rounds) for b in args.batches}
    labels = list(next(iter(result.values())))
    lines = [
        f"One process, {args.rounds} rounds in random order; us per call (median), in brackets the median "
        "of the per-round ratios to hand-written `jax.jit` (target <= 1.05):",
        "",
        "| | " + " | ".join(f"batch {b}" for b in result) + " |",
        "|---|" + "---:|" * len(result),
    ]
    for label in labels:
        cells = [f"{r[label]['us']:.1f} ({r[label]['ratio_to_jit']:.2f})" for r in result.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"(jax {jax.__version__}, {jax.devices()[0].platform})"]
    print(write("predictor_overhead", {"rounds": args.rounds, "batches": result}, lines, args.out))


if __name__ == "__main__":
    main()
