"""Int8 against float32: a 1024-wide 3-layer ReLU MLP served by XLA and by ONNX Runtime, side by side.

    python benchmarks/quantization.py [--rounds 7] [--batches 1 32 256] [--out benchmarks/results]

Each candidate runs in its own process (its own thread pools, as ``peers.py`` runs them), built from
the same weights; the driver asks one process at a time to time itself, in rotating order, round
after round. A ratio (int8 / float, same backend) is the median of the per-round ratios, taken seconds
apart, so other load on the machine weighs on both alike. Also times ``tj.quantize`` of the seed MLP
(784-128-64-10) in a fresh process. Writes ``quantization.json`` to ``--out``; docs/quantization.md
quotes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def time_calls(run: Any, calls: int) -> float:
    """Seconds per call of ``run()`` over ``calls`` calls: the one timing function (tj.benchmark can replace it)."""
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


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


def _worker(key: str) -> None:
    """A candidate's process: build its predictor, then answer ``{"batch", "calls"}`` with seconds per call."""
    import numpy as np

    import tinyjax as tj

    backend, mode = CANDIDATES[key]
    model, params = _model()
    if mode != "float":
        model, params = tj.quantize(model, params, activations=mode)
    predictors: dict[int, Any] = {}
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        message = json.loads(line)
        batch = message["batch"]
        x = np.random.default_rng(batch).standard_normal((batch, WIDTH)).astype(np.float32)
        if batch not in predictors:
            predictors[batch] = tj.compile(model, params, x, backend=backend)
            for _ in range(20):  # warm: first calls are slower
                predictors[batch](x)
        run = _runner(predictors[batch], x, backend)
        calls = message.get("calls") or max(3, int(0.25 / max(time_calls(run, 3), 1e-6)))
        print(json.dumps({"s": time_calls(run, calls), "calls": calls}), flush=True)


def _runner(predict: Any, x: Any, backend: str) -> Any:
    if backend == "xla":
        return lambda: predict(x).block_until_ready()
    return lambda: predict(x)


def _quantize_time() -> float:
    """Seconds of ``tj.quantize`` on the seed MLP, its first call in a fresh process."""
    code = (
        "import time, jax, tinyjax as tj\n"
        "m = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))\n"
        "p = jax.block_until_ready(m.init(jax.random.key(0)))\n"
        "t = time.perf_counter(); jax.block_until_ready(tj.quantize(m, p)); print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32, 256])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker)
        return
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = {
        key: subprocess.Popen(
            [sys.executable, __file__, "--worker", key],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for key in CANDIDATES
    }

    def ask(key: str, message: dict[str, Any]) -> dict[str, Any]:
        proc = procs[key]
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    for proc in procs.values():
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())
    result: dict[str, Any] = {"load_before": os.getloadavg(), "batches": {}}
    order = list(CANDIDATES)
    for batch in args.batches:
        calls = {key: ask(key, {"batch": batch})["calls"] for key in order}  # builds, warms, sizes each
        rounds: dict[str, list[float]] = {key: [] for key in order}
        for _ in range(args.rounds):
            random.shuffle(order)
            for key in order:
                rounds[key].append(ask(key, {"batch": batch, "calls": calls[key]})["s"])
        medians = {key: statistics.median(times) for key, times in rounds.items()}
        ratios = {
            label: statistics.median(a / b for a, b in zip(rounds[num], rounds[den], strict=True))
            for label, (num, den, _) in RATIOS.items()
        }
        result["batches"][batch] = {"median_s": medians, "ratios": ratios}
        print(f"batch {batch}:")
        for key in CANDIDATES:
            s = medians[key]
            print(f"  {key:28s} {s * 1e6:10.1f} us")
        for label, ratio in ratios.items():
            target = RATIOS[label][2]
            met = "" if target is None else f"  (target <= {target}: {'met' if ratio <= target else 'MISSED'})"
            print(f"  {label:30s} {ratio:6.3f}{met}")
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
    result["quantize_seed_mlp_s"] = _quantize_time()
    result["load_after"] = os.getloadavg()
    print(f"tj.quantize(seed MLP), first call in a fresh process: {result['quantize_seed_mlp_s']:.3f} s (target < 1 s)")
    print(f"load average before / after: {result['load_before']} / {result['load_after']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quantization.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
