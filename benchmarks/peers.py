"""The seed MLP (784-128-64-10, float32) in tinyjax and every peer, timed side by side.

    python benchmarks/peers.py [--quick] [--out benchmarks/results] [--only NAME ...]

Same weights everywhere; every output is checked against a float64 NumPy reference before timing.
Each candidate runs in its own process (``_harness.Candidate`` building ``_mlp.candidate``; each
times itself with ``tj.benchmark`` and reports its process's CPU time per call too) and the
candidates take turns, round after round, in a fresh random order; figures are medians over rounds,
and ratios are medians of the per-round ratios (taken seconds apart), so other load on the machine
weighs on all alike. Writes ``peers.json``, ``peers.md`` (the table and the targets, through
``_harness.write``) and ``peers.png`` to ``--out``.
A peer whose library is not installed (``pip install -e .[bench]``) is reported as skipped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Candidate, write
from _harness import rounds as harness_rounds
from _mlp import BATCHES, flops
from _report import ONNX_PLAIN, ONNX_PREDICTOR, markdown, plot, targets

REFERENCE = "jax.jit (hand-written)"
CONTROL = "control: jax.jit again, own process"
# label -> (candidate module, extra environment)
CANDIDATES: dict[str, tuple[str, dict[str, str]]] = {
    "tinyjax.compile": ("tinyjax_predictor", {}),
    ONNX_PREDICTOR: ("tinyjax_onnxruntime", {}),
    REFERENCE: ("jax_jit", {}),
    # the reference's very code in a second process: its ratio to the reference is the spread between
    # two processes running one program, the noise floor of every ratio in the table
    CONTROL: ("jax_jit", {}),
    "stax": ("stax", {}),
    "Flax linen": ("flax_linen", {}),
    "Flax NNX (nnx.jit)": ("flax_nnx", {}),
    "Equinox (filter_jit)": ("equinox", {}),
    "Haiku": ("haiku", {}),
    "PyTorch eager": ("torch_eager", {}),
    # the same peers with one BLAS / OpenMP thread: on a busy 2-core machine their threaded kernels can
    # wait milliseconds for a core, so each is also shown at its best setting
    "PyTorch eager (1 thread)": ("torch_eager", {"OMP_NUM_THREADS": "1"}),
    "NumPy OOP": ("numpy_oop", {}),
    "NumPy OOP (1 thread)": ("numpy_oop", {"OPENBLAS_NUM_THREADS": "1"}),
    # issue 15's floor for the ONNX Runtime predictor: the same MLP as a hand-built ONNX graph in one plain
    # session with default settings (the predictor's own), and the same with one thread
    ONNX_PLAIN: ("onnxruntime_plain", {}),
    "ONNX Runtime, 1 thread": ("onnxruntime_plain", {"TINYJAX_ORT_INTRA": "1"}),
    "trivial jit (floor)": ("trivial_jit", {}),
    "peak matmul": ("peak_matmul", {}),
}
UNCHECKED = {"trivial jit (floor)", "peak matmul"}  # not the MLP: nothing to compare


def measure(
    candidates: dict[str, tuple[str, dict[str, str]]], batches: tuple[int, ...], rounds: int, budget_s: float
) -> dict[str, Any]:
    """For each batch size, start every candidate's process (``_harness.Candidate``), then time them in rounds."""
    result: dict[str, Any] = {"candidates": {}, "batches": {}}
    for batch in batches:
        started = [
            Candidate(label, "_mlp:candidate", [module, batch, label not in UNCHECKED], env)
            for label, (module, env) in candidates.items()
        ]  # all start at once: their imports and builds overlap
        try:
            errors: dict[str, Any] = {}
            memory: dict[str, Any] = {}
            peak: dict[str, int] = {}
            for c in started:
                info = dict(c.ready)
                memory[c.label] = info.pop("memory", None)
                if "flops" in info:
                    peak = {"flops": info["flops"], "size": info["size"]}
                errors[c.label] = info.get("max_abs_err") if info.get("ok") else info.get("error", info.get("skipped"))
                result["candidates"].setdefault(c.label, {"module": candidates[c.label][0], **info})
                if not info.get("ok"):
                    print(f"{c.label} batch {batch}: {info}", file=sys.stderr)
            timed = harness_rounds(started, rounds, runs=5, min_time=budget_s, seed=batch)
            times = {label: [r.median for r in per_round] for label, per_round in timed.items()}
            cpu = {c.label: c.cpu_s for c in started if c.label in timed}
        finally:
            for c in started:
                c.close()
        result["batches"][str(batch)] = summarise(batch, times, cpu, errors, memory, peak)
        print(f"batch {batch} done", file=sys.stderr)
    return result


def summarise(
    batch: int,
    times: dict[str, list[float]],
    cpu: dict[str, list[float]],
    errors: dict[str, Any],
    memory: dict[str, Any],
    peak: dict[str, int],
) -> dict[str, Any]:
    """Medians, and medians of per-round ratios against the reference, tinyjax and the peak."""

    def ratio(a: str, b: str) -> float | None:
        if a not in times or b not in times:
            return None
        return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))

    rows: dict[str, Any] = {}
    for label, samples in times.items():
        row: dict[str, Any] = {
            "us": statistics.median(samples) * 1e6,
            "us_min": min(samples) * 1e6,
            "cpu_us": statistics.median(cpu[label]) * 1e6,
            "cpu_ratio_to_jit": statistics.median(a / b for a, b in zip(cpu[label], cpu[REFERENCE], strict=True))
            if REFERENCE in cpu
            else None,
            "ratio_to_jit": ratio(label, REFERENCE),
            "tinyjax_over_this": ratio("tinyjax.compile", label),
            "onnx_predictor_over_this": ratio(ONNX_PREDICTOR, label),
            "max_abs_err": errors.get(label),
            "memory": memory.get(label) or None,
        }
        if label not in UNCHECKED:
            row["gflops"] = flops(batch) / statistics.median(samples) / 1e9
            if "peak matmul" in times:
                # fraction of the peak, per round: (flops/t) / (peak_flops/t_peak)
                row["fraction_of_peak"] = statistics.median(
                    (flops(batch) / t) / (peak["flops"] / p) for t, p in zip(samples, times["peak matmul"], strict=True)
                )
        rows[label] = row
    if "peak matmul" in times:
        rows["peak matmul"]["gflops"] = peak["flops"] / statistics.median(times["peak matmul"]) / 1e9
        rows["peak matmul"]["size"] = peak["size"]
    skipped = {label: error for label, error in errors.items() if label not in times}
    return {"rows": rows, "failed": skipped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller peak product (< 3 minutes)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--only", nargs="*", help="labels of candidates to run (default: all)")
    parser.add_argument("--batches", type=int, nargs="*", default=list(BATCHES))
    parser.add_argument("--rounds", type=int, help="rounds of turns per batch size (default 9 quick, 25 full)")
    args = parser.parse_args()
    rounds = args.rounds or (9 if args.quick else 25)
    budget_s = 0.01 if args.quick else 0.03
    candidates = {k: v for k, v in CANDIDATES.items() if not args.only or k in args.only}
    if not args.quick:
        for label in ("peak matmul",):
            if label in candidates:
                module, env = candidates[label]
                candidates[label] = (module, {**env, "TINYJAX_BENCH_PEAK_SIZE": "4096"})
    started = time.time()
    result = measure(candidates, tuple(args.batches), rounds, budget_s)
    result["rounds"] = rounds
    result["seconds"] = round(time.time() - started, 1)
    result["targets"] = targets(result)
    out = Path(args.out)
    text = write("peers", result, markdown(result), out)
    plot(result, out / "peers.png")
    print(text)


if __name__ == "__main__":
    main()
