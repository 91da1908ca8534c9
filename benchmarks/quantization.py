"""Int8 against float32: a 1024-wide 3-layer ReLU MLP served by XLA and by ONNX Runtime, side by side.

    python benchmarks/quantization.py [--quick] [--rounds 7] [--batches 1 32 256] [--out benchmarks/results]

Each candidate runs in its own process (``_harness.Candidate``: its own thread pools, as ``peers.py``
runs them), built from the same weights; one process at a time times itself with ``tj.benchmark``, in
a fresh random order, round after round. A ratio (int8 / float, same backend) is the median of the
per-round ratios, taken seconds apart, so other load on the machine weighs on both alike. Also times
``tj.quantize`` of the seed MLP (784-128-64-10), its first call in a fresh process
(``tj.benchmark(isolate=True)``'s ``compile_s``). Writes ``quantization.{json,md}`` to ``--out``
through ``_harness.write``; docs/quantization.md quotes the figures.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Candidate, rounds, summarise, write

import tinyjax as tj

WIDTH = 1024
CANDIDATES = {
    "xla float": ("xla", "float"),
    "xla int8 dynamic": ("xla", "dynamic"),
    "xla int8 weight-only": ("xla", None),
    "onnxruntime float": ("onnxruntime", "float"),
    "onnxruntime int8 dynamic": ("onnxruntime", "dynamic"),
}
RATIOS = {  # label -> (numerator, denominator, target or None)
    "ONNX Runtime int8 / float": ("onnxruntime int8 dynamic", "onnxruntime float", 0.6),
    "XLA int8 / float": ("xla int8 dynamic", "xla float", 0.8),
    "XLA weight-only / float": ("xla int8 weight-only", "xla float", None),
    "ONNX Runtime int8 / XLA int8": ("onnxruntime int8 dynamic", "xla int8 dynamic", None),
}


def _model() -> tuple[Any, Any]:
    import jax.numpy as jnp
    import numpy as np

    import tinyjax as tj

    rng = np.random.default_rng(0)
    model = tj.Sequential(
        tj.Linear(WIDTH, WIDTH), tj.ReLU(), tj.Linear(WIDTH, WIDTH), tj.ReLU(), tj.Linear(WIDTH, WIDTH)
    )
    params = tuple(
        {}
        if i % 2
        else {
            "weight": jnp.asarray(rng.uniform(-1, 1, (WIDTH, WIDTH)).astype(np.float32) * np.sqrt(3 / WIDTH)),
            "bias": jnp.asarray(rng.uniform(-0.1, 0.1, WIDTH).astype(np.float32)),
        }
        for i in range(5)
    )
    return model, tuple(() if p == {} else p for p in params)


def candidate(key: str, batch: int) -> tuple[Any, tuple[()], dict[str, Any]]:
    """``_harness`` builder of one candidate at ``batch``: its predictor (quantized unless float), warmed up."""
    import numpy as np

    import tinyjax as tj

    backend, mode = CANDIDATES[key]
    model, params = _model()
    if mode != "float":
        model, params = tj.quantize(model, params, activations=mode)
    x = np.random.default_rng(batch).standard_normal((batch, WIDTH)).astype(np.float32)
    predict = tj.compile(model, params, x, backend=backend)
    for _ in range(20):  # warm: first calls are slower
        predict(x)
    return (lambda: predict(x)), (), {}


def quantize_seed_mlp() -> tuple[Any, tuple[()]]:
    """``tj.quantize`` of the seed MLP: timed by ``tj.benchmark(isolate=True)``, its first call is ``compile_s``."""
    import jax

    import tinyjax as tj

    m = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
    p = jax.block_until_ready(m.init(jax.random.key(0)))
    return (lambda: tj.quantize(m, p)), ()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, batches 1 and 32, shorter turns")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--batches", type=int, nargs="+")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    n_rounds = args.rounds or (3 if args.quick else 7)
    batches = args.batches or ([1, 32] if args.quick else [1, 32, 256])
    min_time = 0.05 if args.quick else 0.25
    result: dict[str, Any] = {"rounds": n_rounds, "batches": {}}
    lines = [
        f"{WIDTH}-wide 3-layer ReLU MLP, {n_rounds} rounds; microseconds per call (median over rounds), and the "
        "median per-round ratios.",
        "",
        "| batch | " + " | ".join(f"{key} us" for key in CANDIDATES) + " | " + " | ".join(RATIOS) + " |",
        "|---|" + "---:|" * (len(CANDIDATES) + len(RATIOS)),
    ]
    for batch in batches:
        started = [Candidate(key, "quantization:candidate", [key, batch]) for key in CANDIDATES]
        try:
            failed = {c.label: c.ready for c in started if not c.ready.get("ok")}
            if failed:
                raise RuntimeError(f"batch {batch}: {failed}")
            timed = rounds(started, n_rounds, runs=3, min_time=min_time, seed=batch)
        finally:
            for c in started:
                c.close()
        medians = {key: row["median_s"] for key, row in summarise(timed, None).items()}
        ratios = {label: summarise(timed, den)[num]["ratio"] for label, (num, den, _) in RATIOS.items()}
        result["batches"][batch] = {"median_s": medians, "ratios": ratios}
        print(f"batch {batch}:")
        for key in CANDIDATES:
            print(f"  {key:28s} {medians[key] * 1e6:10.1f} us")
        for label, ratio in ratios.items():
            target = RATIOS[label][2]
            met = "" if target is None else f"  (target <= {target}: {'met' if ratio <= target else 'MISSED'})"
            print(f"  {label:30s} {ratio:6.3f}{met}")
        cells = [f"{medians[key] * 1e6:.1f}" for key in CANDIDATES] + [f"{ratios[label]:.3f}" for label in RATIOS]
        lines.append(f"| {batch} | " + " | ".join(cells) + " |")
    targets = [f"{label} <= {t}" for label, (_, _, t) in RATIOS.items() if t is not None]
    lines += ["", "Targets: " + "; ".join(targets) + "."]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)  # one sample: its first call is what counts
        first = tj.benchmark("quantization:quantize_seed_mlp", warmup=0, runs=1, min_time=0.0, isolate=True)
    result["quantize_seed_mlp_s"] = first.compile_s
    line = f"tj.quantize(seed MLP), first call in a fresh process: {first.compile_s:.3f} s (target < 1 s)"
    print(line)
    lines += ["", line]
    write("quantization", result, lines, args.out)


if __name__ == "__main__":
    main()
