"""Where the OOP face's training step spends its time beyond the functional step's.

    python benchmarks/oop_step.py [--quick] [--rounds N] [--models mlp64 cnn64 cnn512 gpt16]

For each model of ``train_step.py``, in one process (only XLA's thread pool runs), in rounds:
the functional step (one jitted program: forward, backward, Adam), and the OOP face's step cut
after each of its parts: the forward pass (the tape recorded, the loss computed), the forward and
``loss.backward()`` (the gradients filled), and the whole step (``Adam.step`` too). The differences
between the cuts are each part's share; each figure is the median over rounds of
``tj.benchmark``'s median, each ratio the median of the per-round ratios to the functional step.
Writes ``results/oop_step.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import rounds_here, summarise, write
from train_step import MODELS
from train_step_candidates import _tinyjax, oop_parts

REFERENCE = "functional step"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of short samples")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args()
    n_rounds = args.rounds or (3 if args.quick else 7)
    runs, min_time = (5, 0.1) if args.quick else (10, 0.3)
    data: dict[str, object] = {}
    lines = [
        f"Milliseconds per call (median over {n_rounds} rounds) and, in brackets, the median and range of the "
        "per-round ratio to the functional step. The OOP columns are cumulative (each adds one part); the last "
        "two are the backward's and Adam's shares in ms.",
        "",
        "| model | functional step | OOP forward | OOP forward + backward | OOP step | backward | Adam |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key in args.models:
        model, batch, title = MODELS[key]
        candidates = {REFERENCE: _tinyjax(model, batch), **{f"OOP {k}": v for k, v in oop_parts(model, batch).items()}}
        summary = summarise(rounds_here(candidates, n_rounds, runs, min_time), REFERENCE)
        data[key] = {"title": title, "rows": summary}
        ms = {label: 1e3 * row["median_s"] for label, row in summary.items()}
        cells = [
            f"{ms[label]:.2f} ({row['ratio']:.2f}, {row['ratio_range'][0]:.2f}-{row['ratio_range'][1]:.2f})"
            for label, row in summary.items()
        ]
        backward = ms["OOP forward + backward"] - ms["OOP forward"]
        adam = ms["OOP step"] - ms["OOP forward + backward"]
        lines.append(f"| {title} | {' | '.join(cells)} | {backward:.2f} | {adam:.2f} |")
        print(lines[-1], file=sys.stderr)
    print(write("oop_step", data, lines))


if __name__ == "__main__":
    main()
