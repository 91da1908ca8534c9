"""Sweep XLA:CPU and JAX CPU settings on the hand-written ``jax.jit`` seed MLP.

    python benchmarks/xla_settings.py [--quick] [--out benchmarks/results] [--only NAME ...]

Each setting runs in its own process (``XLA_FLAGS`` and ``JAX_*`` variables are read once, when
JAX starts its CPU backend), all processes take turns as in ``peers.py``, and each is compared with
the default settings timed in the same rounds. Outputs are checked against the float64 reference
first: a setting that changes the results beyond float32 rounding is reported failed, not timed.
Writes ``xla_settings.json`` and ``xla_settings.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import write
from _mlp import BATCHES
from peers import REFERENCE, measure

# label -> environment of its process (XLA_FLAGS replaced); docs/performance.md says what each one is
SETTINGS: dict[str, dict[str, str]] = {
    "default (control)": {},  # identical to the default: the spread between two identical processes
    "no-async": {"JAX_CPU_ENABLE_ASYNC_DISPATCH": "0"},
    "eigen-1thread": {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"},
    "no-async+eigen-1thread": {
        "JAX_CPU_ENABLE_ASYNC_DISPATCH": "0",
        "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false",
    },
    "xnn": {"XLA_FLAGS": "--xla_cpu_experimental_xnn_fusion_type=dot,eltwise"},
    "xnn+no-async": {
        "JAX_CPU_ENABLE_ASYNC_DISPATCH": "0",
        "XLA_FLAGS": "--xla_cpu_experimental_xnn_fusion_type=dot,eltwise",
    },
    "xnn-graph": {"XLA_FLAGS": "--xla_cpu_experimental_xnn_graph_fusion_mode=XNN_GRAPH_FUSION_MODE_GREEDY"},
    "ynn": {"XLA_FLAGS": "--xla_cpu_experimental_ynn_fusion_type=dot,eltwise"},
    "onednn": {"XLA_FLAGS": "--xla_cpu_experimental_onednn_fusion_type=dot,eltwise"},
    "no-thunk-runtime": {"XLA_FLAGS": "--xla_cpu_use_thunk_runtime=false"},
    "fast-math": {"XLA_FLAGS": "--xla_cpu_enable_fast_math=true"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--only", nargs="*", help="labels of settings to run (the default always runs)")
    parser.add_argument("--batches", type=int, nargs="*", default=list(BATCHES))
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    rounds = args.rounds or (9 if args.quick else 21)
    candidates = {REFERENCE: ("jax_jit", {"XLA_FLAGS": ""})}
    for label, env in SETTINGS.items():
        if not args.only or label in args.only:
            candidates[label] = ("jax_jit", {"XLA_FLAGS": "", **env})
    if not args.only or "ffi-blas" in args.only:
        # not a setting but another means: each Linear as a jax.ffi custom call into OpenBLAS's sgemm
        candidates["ffi-blas"] = ("ffi_blas", {"XLA_FLAGS": ""})
    candidates["NumPy OOP"] = ("numpy_oop", {})
    candidates["trivial jit (floor)"] = ("trivial_jit", {"XLA_FLAGS": ""})
    started = time.time()
    result = measure(candidates, tuple(args.batches), rounds, 0.01 if args.quick else 0.02)
    result.update(rounds=rounds, seconds=round(time.time() - started, 1))
    print(write("xla_settings", result, table(result), Path(args.out)))


def table(result: dict) -> list[str]:
    """Per setting and batch: wall and CPU us per call, each with its median per-round ratio to the default."""
    batches = list(result["batches"])
    lines = [
        f"{result['rounds']} rounds; wall and process CPU microseconds per call, medians over rounds, each with "
        "its median per-round ratio to the default.",
        "",
        "| setting | " + " | ".join(f"batch {b}: us (ratio) / CPU us (ratio)" for b in batches) + " |",
        "|---|" + "---:|" * len(batches),
    ]
    for label, info in result["candidates"].items():
        cells = []
        for b in batches:
            row = result["batches"][b]["rows"].get(label)
            if row is None:
                failed = result["batches"][b]["failed"].get(label) or info.get("skipped") or info.get("error")
                cells.append(f"failed: {str(failed)[:50]}")
            else:
                cells.append(
                    f"{row['us']:.1f} ({row['ratio_to_jit']:.2f}) / {row['cpu_us']:.1f} ({row['cpu_ratio_to_jit']:.2f})"
                )
        name = "default" if label == REFERENCE else label
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    main()
