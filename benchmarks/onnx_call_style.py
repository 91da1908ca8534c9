"""Ways to call one ONNX Runtime session, compared in one process on the seed MLP (hand-built graph).

    python benchmarks/onnx_call_style.py [--rounds 41]

The call styles of ``candidates/_ort_common.py`` (``session.run``; the C++ session's ``run`` under the
Python wrapper; a preallocated output bound with I/O binding, copied out) run on one session, in a
fresh random order each round, ~2k rows per turn; process CPU time per call, median over rounds, and
the median per-round ratio to ``session.run``. One process and one session, so only the call differs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import onnxruntime as ort
from _mlp import BATCHES, check_close, inputs, reference, weights
from candidates._ort_common import mlp_graph, runner

STYLES = ("run", "sess", "preallocated-copy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--batches", type=int, nargs="*", default=list(BATCHES))
    args = parser.parse_args()
    layers = weights()
    session = ort.InferenceSession(mlp_graph(layers), providers=["CPUExecutionProvider"])
    print(f"onnxruntime {ort.__version__}; CPU us per call (median), ratio to session.run; {args.rounds} rounds")
    for batch in args.batches:
        x = inputs(batch)
        calls = {}
        for style in STYLES:
            os.environ["TINYJAX_ORT_CALL"] = style
            calls[style] = runner(session, x)
            check_close(style, calls[style](), reference(layers, x))
            for _ in range(100):
                calls[style]()
        times: dict[str, list[float]] = {style: [] for style in STYLES}
        order, n = list(STYLES), max(5, 2048 // batch)
        for _ in range(args.rounds):
            random.shuffle(order)
            for style in order:
                start = time.process_time()
                for _ in range(n):
                    calls[style]()
                times[style].append((time.process_time() - start) / n)
        cells = [
            f"{style} {statistics.median(t) * 1e6:.1f} us "
            f"({statistics.median(a / b for a, b in zip(t, times['run'], strict=True)):.2f})"
            for style, t in times.items()
        ]
        print(f"batch {batch}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
