"""Sweep ONNX Runtime session settings on the seed MLP (a hand-built MatMul/Add/Relu graph).

    python benchmarks/onnx_settings.py [--quick] [--out benchmarks/results] [--only NAME ...]

Each setting runs in its own process, the processes take turns as in ``peers.py``, and each is
compared with ONNX Runtime's default settings timed in the same rounds; a second default process is
the control. Outputs are checked against the float64 reference first. Writes ``onnx_settings.json``
and ``onnx_settings.md``; docs/performance.md says which setting ``backend="onnxruntime"`` uses and why.
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
from xla_settings import table

# label -> the TINYJAX_ORT_* environment of its process (benchmarks/candidates/_ort_common.py)
SETTINGS: dict[str, dict[str, str]] = {
    "default (control)": {},
    "1 thread": {"TINYJAX_ORT_INTRA": "1"},
    "2 threads": {"TINYJAX_ORT_INTRA": "2"},
    "no spinning": {"TINYJAX_ORT_SPIN": "0"},
    "1 thread, no spinning": {"TINYJAX_ORT_INTRA": "1", "TINYJAX_ORT_SPIN": "0"},
    "parallel mode": {"TINYJAX_ORT_MODE": "parallel", "TINYJAX_ORT_INTER": "2"},
    "optimizations: basic": {"TINYJAX_ORT_LEVEL": "basic"},
    "optimizations: extended": {"TINYJAX_ORT_LEVEL": "extended"},
    "optimizations: none": {"TINYJAX_ORT_LEVEL": "disable"},
    "call: C++ session": {"TINYJAX_ORT_CALL": "sess"},
    "call: I/O binding": {"TINYJAX_ORT_CALL": "iobinding"},
    "call: preallocated output": {"TINYJAX_ORT_CALL": "preallocated"},
    "call: preallocated output, copied": {"TINYJAX_ORT_CALL": "preallocated-copy"},
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
    # the default settings take the reference's place: every ratio in the table is to them
    candidates = {REFERENCE: ("onnxruntime_plain", {})}
    for label, env in SETTINGS.items():
        if not args.only or label in args.only:
            candidates[label] = ("onnxruntime_plain", env)
    candidates["NumPy OOP"] = ("numpy_oop", {})
    started = time.time()
    result = measure(candidates, tuple(args.batches), rounds, 0.01 if args.quick else 0.02)
    result.update(rounds=rounds, seconds=round(time.time() - started, 1))
    print(write("onnx_settings", result, table(result), Path(args.out)))


if __name__ == "__main__":
    main()
