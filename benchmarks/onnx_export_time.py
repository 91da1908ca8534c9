"""Time ``tinyjax.export(model, params, format="onnx")`` of the seed MLP (issue 15's target: under 100 ms).

    python benchmarks/onnx_export_time.py [--repeats 21]

Prints the time to import ``onnx`` (once per process, on the first ONNX export), the first export after
it (JAX's tracing caches cold) and the median and range of the following ones, each a complete export:
graph, initializers, ``onnx.checker``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _mlp import weights
from candidates.tinyjax_predictor import _model_params

import tinyjax as tj


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    model, params = _model_params(weights())
    start = time.perf_counter()
    import onnx.checker
    import onnx.numpy_helper  # what the first export would import

    imported = (time.perf_counter() - start) * 1e3
    del onnx
    times = []
    for _ in range(args.repeats + 1):
        start = time.perf_counter()
        data = tj.export(model, params, format="onnx")
        times.append(time.perf_counter() - start)
    first, rest = times[0] * 1e3, [t * 1e3 for t in times[1:]]
    print(
        f"seed MLP ONNX export ({len(data):,} bytes): import onnx {imported:.0f} ms (once); "
        f"first export {first:.1f} ms; then median {statistics.median(rest):.1f} ms "
        f"(range {min(rest):.1f}-{max(rest):.1f}, {args.repeats} exports); target < 100 ms: "
        f"{'met' if max(first, statistics.median(rest)) < 100 else 'not met'}"
    )


if __name__ == "__main__":
    main()
