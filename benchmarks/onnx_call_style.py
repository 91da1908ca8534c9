"""Ways to call one ONNX Runtime session, compared in one process on the seed MLP (hand-built graph).

    python benchmarks/onnx_call_style.py [--rounds 41] [--batches 1 32]

The call styles of ``candidates/_ort_common.py`` (``session.run``; the C++ session's ``run`` under the
Python wrapper; a preallocated output bound with I/O binding, copied out) run on one session, in a
fresh random order each round (``_harness.rounds_here``), ~2k rows per turn, each call timed by
``tj.benchmark(clock="process")``: the CPU seconds of the whole process per call (ONNX Runtime's
threads included), median over rounds, and the median per-round ratio to ``session.run``. Wall-clock
medians are taken in the same way in separate rounds. One process and one session, so only the call
differs. Writes ``results/onnx_call_style.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import onnxruntime as ort
from _harness import rounds_here, summarise, write
from _mlp import BATCHES, check_close, inputs, reference, weights
from candidates._ort_common import mlp_graph, runner

STYLES = ("run", "sess", "preallocated-copy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="9 rounds")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--batches", type=int, nargs="*", default=list(BATCHES))
    args = parser.parse_args()
    rounds = args.rounds or (9 if args.quick else 41)
    layers = weights()
    session = ort.InferenceSession(mlp_graph(layers), providers=["CPUExecutionProvider"])
    print(f"onnxruntime {ort.__version__}; CPU us per call (median), ratio to session.run; {rounds} rounds")
    lines = [
        f"onnxruntime {ort.__version__}, {rounds} rounds. Microseconds per call (median over rounds) and, in "
        "brackets, the median per-round ratio to `session.run`: CPU time of the process, then wall time.",
        "",
        "| batch | " + " | ".join(f"{style}: CPU us / wall us" for style in STYLES) + " |",
        "|---|" + "---:|" * len(STYLES),
    ]
    data = {}
    for batch in args.batches:
        x = inputs(batch)
        calls = {}
        for style in STYLES:
            os.environ["TINYJAX_ORT_CALL"] = style
            calls[style] = runner(session, x)
            check_close(style, calls[style](), reference(layers, x))
            for _ in range(100):
                calls[style]()
        n = max(5, 2048 // batch)
        cpu = summarise(rounds_here(calls, rounds, runs=n, clock="process"), "run")
        wall = summarise(rounds_here(calls, rounds, runs=n, seed=1), "run")
        data[str(batch)] = {"cpu": cpu, "wall": wall}
        cells = [
            f"{cpu[s]['median_s'] * 1e6:.1f} ({cpu[s]['ratio']:.2f}) / {wall[s]['median_s'] * 1e6:.1f} "
            f"({wall[s]['ratio']:.2f})"
            for s in STYLES
        ]
        lines.append(f"| {batch} | " + " | ".join(cells) + " |")
        print(f"batch {batch}: " + "; ".join(f"{s} {c}" for s, c in zip(STYLES, cells, strict=True)))
    write("onnx_call_style", {"onnxruntime": ort.__version__, "rounds": rounds, "batches": data}, lines)


if __name__ == "__main__":
    main()
