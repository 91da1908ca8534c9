"""The harness's own cost per sample, and the latency spread of the compiled seed MLP at batch 32.

    python benchmarks/harness.py [--runs N]

Overhead: ``tj.benchmark`` of a function that returns an array already computed (so the call does
no work): each sample is then two clock reads, the call and ``block_until_ready`` -- the harness's
own time. The same for a pytree output (two arrays and an int: ``jax.block_until_ready`` over the
tree) and for an output without arrays (no wait). Target (issue 22): under 5 us per sample.
Latency: ``tj.compile`` of the seed MLP at batch 32, its median, 95% interval and CV (target: CV
under 10% on a quiet machine), beside the machine's own spread at that time scale: NumPy's product
of the same first layer, once and four times per call, on one thread in a fresh process. Writes
``results/harness.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _harness import write

import tinyjax as tj


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20000)
    args = parser.parse_args()
    warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)  # the CV is reported, not warned about
    ready = jnp.ones(())
    tree = (ready, {"b": ready}, 3)
    cases = {
        "array output": lambda: ready,
        "pytree output (2 arrays, 1 int)": lambda: tree,
        "no array (None)": lambda: None,
    }
    rows = {}
    for label, fn in cases.items():
        r = tj.benchmark(fn, runs=args.runs, min_time=0.0, warmup=1000, name=label)
        rows[label] = {"median_us": r.median * 1e6, "p90_us": r.p90 * 1e6, "mean_us": r.mean * 1e6}
    model = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (32, 784))
    predict = tj.compile(model, params, x)
    mlp = tj.benchmark(predict, x, warmup=300, runs=2000, min_time=0.5, name="seed MLP, batch 32")
    one_thread = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    machine = {  # the machine's own spread at this time scale: NumPy on one thread, in a fresh process
        f"NumPy, {n} x (32, 784) @ (784, 128), one thread": tj.benchmark(
            "harness:numpy_products", n, warmup=300, runs=2000, min_time=0.5, isolate=True, env=one_thread
        )
        for n in (1, 4)
    }
    lines = [
        "Harness overhead per sample (microseconds; target < 5 us):",
        "",
        "| output | median | p90 | mean |",
        "|---|---:|---:|---:|",
        *(f"| {k} | {v['median_us']:.2f} | {v['p90_us']:.2f} | {v['mean_us']:.2f} |" for k, v in rows.items()),
        "",
        f"Compiled seed MLP, batch 32 (`tj.compile`): median {mlp.median * 1e6:.1f} us "
        f"(95% CI {mlp.ci[0] * 1e6:.1f}-{mlp.ci[1] * 1e6:.1f}), p90 {mlp.p90 * 1e6:.1f} us, "
        f"p99 {mlp.p99 * 1e6:.1f} us, CV {100 * mlp.cv:.1f}% over {len(mlp.samples)} samples "
        "(target: CV < 10% on a quiet machine).",
        "",
        "The machine's own spread at this time scale (fresh processes, the same harness):",
        "",
        "| work | median | p90 | CV |",
        "|---|---:|---:|---:|",
        *(f"| {k} | {r.median * 1e6:.1f} us | {r.p90 * 1e6:.1f} us | {100 * r.cv:.1f}% |" for k, r in machine.items()),
    ]
    data = {
        "overhead": rows,
        "seed_mlp_32": {k: v for k, v in mlp.to_dict().items() if k != "samples"},
        "machine": {k: {m: v for m, v in r.to_dict().items() if m != "samples"} for k, r in machine.items()},
    }
    print(write("harness", data, lines))


def numpy_products(n: int) -> tuple:
    """``n`` NumPy products of the seed MLP's first layer at batch 32 (for ``tj.benchmark(isolate=True)``)."""
    rng = np.random.default_rng(0)
    x, w = rng.random((32, 784), np.float32), rng.random((784, 128), np.float32)
    return (lambda: [x @ w for _ in range(n)]), ()


if __name__ == "__main__":
    main()
