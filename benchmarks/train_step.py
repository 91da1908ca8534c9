"""One training step (forward, backward, Adam) per design, each in its own process, in rounds.

    python benchmarks/train_step.py [--quick] [--rounds N] [--only LABEL ...] [--models mlp64 ...]
                                    [--code LABEL=PATH ...] [--flags LABEL=XLA_FLAGS ...] [--name NAME]

Designs: tinyjax functional (one jitted step), the same model in plain JAX, tinyjax.oop, PyTorch
eager (default threads and 1 thread), Equinox and Flax NNX (one jitted step each, written with the
library's own modules), and TinyTorch itself (its NumPy code, extracted from a local git mirror at
run time, skipped with a message otherwise; the seed MLP only: its package has no BatchNorm2d for
the CNN and its GPT is not the same step; see ``train_step_candidates.py``). Models: the seed MLP
at batch 64 and 1024, the digits CNN at 64 and 512, the tiny GPT (V 96, E 128, 4 blocks, 4 heads,
T 64) at batch 16. Every candidate is timed by ``tj.benchmark`` in its own process
(``_harness.py``); each round takes the candidates in a fresh random order; figures are medians
over rounds, ratios medians of the per-round ratios to tinyjax functional (their range in
brackets). ``--code before=../old`` adds tinyjax functional as another checkout's tinyjax computes
it (what a change gave); ``--flags no-ynn=--xla_cpu_...`` adds it under other ``XLA_FLAGS``. The JSON
has each candidate's process CPU time per step beside the wall time (``cpu_s``, ``cpu_ratio``).
Writes ``results/NAME.{json,md}`` (``train_step`` by default).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Candidate, rounds, summarise, write

TARGET = "train_step_candidates:build"
REFERENCE = "tinyjax functional"
DESIGNS = {  # label: (design, extra environment)
    REFERENCE: ("tinyjax", {}),
    "plain JAX": ("jax", {}),
    "Equinox": ("equinox", {}),
    "Flax NNX": ("nnx", {}),
    "PyTorch eager": ("torch", {}),
    "PyTorch eager (1 thread)": ("torch", {"OMP_NUM_THREADS": "1"}),
    "tinyjax.oop": ("oop", {}),
    "TinyTorch (NumPy)": ("tinytorch", {}),
}
MODELS = {  # key: (model, batch, title)
    "mlp64": ("mlp", 64, "seed MLP, batch 64"),
    "mlp1024": ("mlp", 1024, "seed MLP, batch 1024"),
    "cnn64": ("cnn", 64, "digits CNN, batch 64"),
    "cnn512": ("cnn", 512, "digits CNN, batch 512"),
    "gpt16": ("gpt", 16, "tiny GPT (V 96, E 128, 4 blocks, 4 heads, T 64), batch 16"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of short samples")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--only", nargs="*", help="design labels (default: all)")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--code",
        nargs="*",
        default=[],
        metavar="LABEL=PATH",
        help="also time tinyjax functional as another checkout's tinyjax computes it (PATH goes first on PYTHONPATH)",
    )
    parser.add_argument(
        "--flags",
        nargs="*",
        default=[],
        metavar="LABEL=XLA_FLAGS",
        help="also time tinyjax functional with these XLA_FLAGS, e.g. no-ynn=--xla_cpu_experimental_ynn_fusion_type=",
    )
    parser.add_argument("--name", default="train_step", help="results/NAME.{json,md} (default: train_step)")
    args = parser.parse_args()
    n_rounds = args.rounds or (2 if args.quick else 3)
    runs, min_time = (5, 0.1) if args.quick else (10, 0.4)
    designs = {k: v for k, v in DESIGNS.items() if not args.only or k in args.only or k == REFERENCE}
    for spec in args.code:
        label, _, path = spec.partition("=")
        if not path or not (Path(path) / "tinyjax" / "__init__.py").is_file():
            parser.error(f"--code {spec!r}: expected LABEL=PATH with PATH/tinyjax/__init__.py")
        designs[f"tinyjax functional ({label})"] = ("tinyjax", {"PYTHONPATH": str(Path(path).resolve())})
    for spec in args.flags:
        label, _, flags = spec.partition("=")
        if not flags.startswith("--xla"):
            parser.error(f"--flags {spec!r}: expected LABEL=--xla_...")
        designs[f"tinyjax functional ({label})"] = ("tinyjax", {"XLA_FLAGS": flags})
    table: dict[str, dict[str, str]] = {}
    cpu_table: dict[str, dict[str, str]] = {}
    data: dict[str, object] = {}
    for key in args.models:
        model, batch, title = MODELS[key]
        candidates = []
        for label, (design, env) in designs.items():
            candidate = Candidate(label, TARGET, [design, model, batch], env)
            candidates.append(candidate)
            if not candidate.ready.get("ok"):
                print(f"{title}: {label}: {candidate.ready}", file=sys.stderr)
        try:
            timed = rounds(candidates, n_rounds, runs, min_time)
            summary = summarise(timed, REFERENCE, cpu={c.label: c.cpu_s for c in candidates if c.label in timed})
        finally:
            for candidate in candidates:
                candidate.close()
        data[key] = {
            "title": title,
            "rows": summary,
            "skipped": {c.label: c.ready for c in candidates if not c.ready.get("ok")},
        }
        table[title] = {label: _cell(summary.get(label)) for label in designs}
        cpu_table[title] = {label: _cpu_cell(summary.get(label)) for label in designs}
        print(f"{title}: " + ", ".join(f"{k} {v}" for k, v in table[title].items()), file=sys.stderr)
    labels = list(designs)
    lines = [
        f"Milliseconds per training step (median over {n_rounds} rounds) and, in brackets, the median and range of the "
        f"per-round ratio to tinyjax functional; '-': not written for this model or skipped (see the JSON).",
        "",
        "| model | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
        *(f"| {title} | " + " | ".join(cells[label] for label in labels) + " |" for title, cells in table.items()),
        "",
        "Process CPU milliseconds per step (every thread of the candidate's process, median over rounds) and, in "
        "brackets, CPU time over wall time (how many cores the step kept busy):",
        "",
        "| model | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
        *(f"| {title} | " + " | ".join(cells[label] for label in labels) + " |" for title, cells in cpu_table.items()),
    ]
    print(write(args.name, {"rounds": n_rounds, "models": data}, lines))


def _cpu_cell(row: dict | None) -> str:
    if row is None or "cpu_s" not in row:
        return "-"
    return f"{row['cpu_s'] * 1e3:.2f} ({row['cpu_s'] / row['median_s']:.2f})"


def _cell(row: dict | None) -> str:
    if row is None:
        return "-"
    ms = f"{row['median_s'] * 1e3:.2f}"
    if "ratio" not in row:
        return ms
    low, high = row["ratio_range"]
    return f"{ms} ({row['ratio']:.2f}, {low:.2f}-{high:.2f})"


if __name__ == "__main__":
    main()
