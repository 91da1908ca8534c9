"""Time ``tinyjax.export(model, params, format="onnx")`` of the seed MLP (issue 15's target: under 100 ms).

    python benchmarks/onnx_export_time.py [--repeats 21]

Prints the time to import ``onnx`` (once per process, on the first ONNX export), the first export after
it (JAX's tracing caches cold: ``tj.benchmark``'s first call) and the median and range of the following
ones, each a complete export: graph, initializers, ``onnx.checker``. Writes ``results/onnx_export_time.*``.
"""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import write
from _mlp import weights
from candidates.tinyjax_predictor import _model_params

import tinyjax as tj


def _import_onnx() -> None:
    import onnx.checker
    import onnx.numpy_helper  # noqa: F401  (what the first export would import)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    model, params = _model_params(weights())
    warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)
    # an import runs once per process: tj.benchmark's first call (compile_s) is the import itself
    imported = tj.benchmark(_import_onnx, warmup=0, runs=1, min_time=0.0).compile_s * 1e3
    export = functools.partial(tj.export, format="onnx")
    r = tj.benchmark(export, model, params, warmup=0, runs=args.repeats, min_time=0.0, name="ONNX export")
    size = len(tj.export(model, params, format="onnx"))
    first, median = r.compile_s * 1e3, r.median * 1e3
    line = (
        f"seed MLP ONNX export ({size:,} bytes): import onnx {imported:.0f} ms (once); "
        f"first export {first:.1f} ms; then median {median:.1f} ms "
        f"(range {r.min * 1e3:.1f}-{r.samples.max() * 1e3:.1f}, {len(r.samples)} exports); target < 100 ms: "
        f"{'met' if max(first, median) < 100 else 'not met'}"
    )
    print(write("onnx_export_time", {"import_ms": imported, "export": r.to_dict()}, [line]))


if __name__ == "__main__":
    main()
