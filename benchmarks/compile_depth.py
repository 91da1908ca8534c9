"""Compile time against depth: an unrolled Sequential of n blocks versus Repeat(block, n).

Run: python benchmarks/compile_depth.py [--quick] [--depths 10 100 500] [--repeats 3] [--out DIR]

The block is Linear(64, 64) + ReLU, batch 32, float32. For each depth it measures, as the median of
``--repeats`` fresh builds, the trace + lower + XLA compile of ``apply`` (``jax.jit(...).lower(...).compile()``
on a new function each time, so no cache is hit), and for the unrolled model also its first build
(the build check), both by ``tj.benchmark``. Prints a markdown table and the target: Repeat at the
deepest depth <= 2x Repeat at the shallowest. Writes ``compile_depth.{json,md}`` (``_harness.write``) and, with
matplotlib, ``compile_depth.png`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).parent))

from _harness import RESULTS, write

import tinyjax as tj


def compile_seconds(layer: tj.Layer, repeats: int) -> float:
    """Median seconds of ``repeats`` fresh compiles (a new ``jax.jit`` each: nothing cached), by ``tj.benchmark``."""
    params = layer.param_shapes()
    x = jax.ShapeDtypeStruct((32, 64), jnp.float32)

    def compile_once() -> object:
        return jax.jit(lambda p, v: layer.raw_apply(p, v)).lower(params, x).compile()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)
        return tj.benchmark(compile_once, warmup=0, runs=repeats, min_time=0.0).median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="depths 10 and 100, one compile each")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for compile_depth.{json,md,png}")
    args = parser.parse_args()
    if args.quick:
        args.depths, args.repeats = [10, 100], 1
    block = tj.Sequential(tj.Linear(64, 64), tj.ReLU())
    rows = []
    for depth in args.depths:
        built: list[tj.Layer] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)
            # the build check's cost is its first call (tj.benchmark's compile_s): later builds hit caches
            first = tj.benchmark(lambda d=depth, out=built: out.append(tj.Sequential([block] * d)), warmup=0, runs=1)
        unrolled, build = built[0], first.compile_s
        unrolled_s = compile_seconds(unrolled, args.repeats)
        repeat_s = compile_seconds(tj.Repeat(block, depth), args.repeats)
        rows.append({"depth": depth, "unrolled_s": unrolled_s, "unrolled_build_s": build, "repeat_s": repeat_s})

    lines = [
        "| depth | unrolled Sequential: compile | (its build check) | Repeat: compile | unrolled / Repeat |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['depth']} | {r['unrolled_s'] * 1e3:,.0f} ms | {r['unrolled_build_s'] * 1e3:,.0f} ms "
            f"| {r['repeat_s'] * 1e3:,.0f} ms | {r['unrolled_s'] / r['repeat_s']:.1f}x |"
        )
    growth = rows[-1]["repeat_s"] / rows[0]["repeat_s"]
    verdict = "met" if growth <= 2 else "NOT met"
    lines += [
        "",
        f"target: Repeat compile at depth {rows[-1]['depth']} <= 2x depth {rows[0]['depth']}: {growth:.2f}x, {verdict}",
        f"(jax {jax.__version__}, {jax.devices()[0].platform}; medians of {args.repeats} fresh compiles)",
    ]
    print(write("compile_depth", {"rows": rows, "repeat_growth": growth}, lines, args.out))
    plot(rows, args.out / "compile_depth.png")


def plot(rows: list[dict[str, float]], path: Path) -> None:
    """Compile seconds against depth, both designs, log-log; skipped without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    depths = [r["depth"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(depths, [r["unrolled_s"] for r in rows], "o-", label="unrolled Sequential")
    ax.plot(depths, [r["repeat_s"] for r in rows], "s-", label="Repeat (lax.scan)")
    ax.set(xscale="log", yscale="log", xlabel="depth (Linear(64, 64) + ReLU blocks)", ylabel="compile time (s)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
