"""Augmenting a CIFAR-sized batch: TinyTorch's per-image NumPy loop against tinyjax.data under jit(vmap).

    python benchmarks/augmentation.py [--quick] [--rounds N] [--batch 256]

The augmentation is the CIFAR-10 recipe, a random horizontal flip then a 32x32 random crop of the
image zero-padded by 4, on ``(batch, 3, 32, 32)`` float32 images:

* ``TinyTorch (NumPy loop)``: TinyTorch's own ``Compose([RandomHorizontalFlip(), RandomCrop(32, padding=4)])``
  (``tinytorch/data/loader.py``, extracted at run time from the local git mirror at ``TINYTORCH_COMMIT``)
  called on each image in a Python loop, then ``np.stack``, as its ``DataLoader`` would collate them.
  Without the mirror, a transcription of the same per-image code runs instead (``np.random.random() < p``
  then ``np.flip(...).copy()``; ``np.pad`` then a slice at ``np.random.randint`` offsets); the JSON
  says which ran;
* ``tinyjax (on device)``: ``data.batch_augment(data.compose(data.random_flip, data.random_crop(32, 4)))``
  on a batch already on the device: one compiled program, a key per image, a fresh key per call;
* ``tinyjax (from host)``: the same, fed the NumPy batch (its transfer to the device included);
* ``tinyjax (on device, eager fold_in)``: the first, with each call's key made by an eager
  ``jax.random.fold_in(key, step)`` outside ``jit`` (a separate dispatch, timed with the call).

The first two tinyjax candidates take their keys from a list split beforehand: they time what the
augmentation itself costs, as inside a jitted training step that derives its keys there.

Each candidate runs in its own process (``_harness.Candidate``), timed by ``tj.benchmark`` (one call
per sample, the median of a round's samples), the candidates in a fresh random order each round.
Figures: each candidate's median over rounds, and the speed-up over TinyTorch as the median (and
range) of the per-round ratios TinyTorch / tinyjax. Writes ``results/augmentation.{json,md}``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

TINYTORCH_MIRROR = Path(os.environ.get("TINYTORCH_MIRROR", "/work/.mirror/MLSysBook+TinyTorch/repo"))
TINYTORCH_COMMIT = "02364f800abce3507cedbe9b5053078abd92b6d3"  # its package's data/loader.py has the augmentations
REFERENCE = "TinyTorch (NumPy loop)"
CANDIDATES = (REFERENCE, "tinyjax (on device)", "tinyjax (from host)", "tinyjax (on device, eager fold_in)")
TARGET = 10.0  # issue 26: at least 10x faster than TinyTorch's loop


def images(batch: int) -> Any:
    import numpy as np

    return np.random.default_rng(0).standard_normal((batch, 3, 32, 32)).astype(np.float32)


def build(name: str, batch: int) -> tuple[Any, tuple[Any, ...]]:
    """The candidate's process: ``(fn, ())``, ``fn()`` augments the whole batch once."""
    if name == REFERENCE:
        return _tinytorch(batch), ()
    import jax

    from tinyjax import data

    host = images(batch)
    xs = host if name == "tinyjax (from host)" else jax.device_put(host)
    augment = data.batch_augment(data.compose(data.random_flip, data.random_crop(32, padding=4)))
    if name == "tinyjax (on device, eager fold_in)":  # the key made per call outside jit, as a Python loop may
        key, step = jax.random.key(0), itertools.count()
        return (lambda: augment(jax.random.fold_in(key, next(step)), xs)), ()
    # keys made beforehand: a call costs what the augmentation costs inside a jitted step
    keys = itertools.cycle(list(jax.random.split(jax.random.key(0), 1024)))
    return (lambda: augment(next(keys), xs)), ()


def _tinytorch(batch: int) -> Any:
    import numpy as np

    transform = _tinytorch_transform()
    np.random.seed(0)
    xs = images(batch)
    return lambda: np.stack([transform(x) for x in xs])


def _tinytorch_transform() -> Any:
    """TinyTorch's own flip-then-crop from the mirror, or the transcription when there is none."""
    if (TINYTORCH_MIRROR / "HEAD").exists():
        files = ["tinytorch/core/tensor.py", "tinytorch/data"]
        archive = subprocess.run(
            ["git", "-C", str(TINYTORCH_MIRROR), "archive", TINYTORCH_COMMIT, *files], capture_output=True, check=True
        )
        with tempfile.TemporaryDirectory(prefix="tinytorch-") as where:
            subprocess.run(["tar", "-x", "-C", where], input=archive.stdout, check=True)
            # the package without its __init__ (which imports every module, some absent in this version)
            package = types.ModuleType("tinytorch")
            package.__path__ = [str(Path(where) / "tinytorch")]
            sys.modules["tinytorch"] = package
            from tinytorch.data.loader import (  # type: ignore[import-not-found]
                Compose,
                RandomCrop,
                RandomHorizontalFlip,
            )

        return Compose([RandomHorizontalFlip(), RandomCrop(32, padding=4)])
    return _transcription


def _transcription(x: Any, p: float = 0.5, size: int = 32, padding: int = 4) -> Any:
    """TinyTorch's per-image code for a (C, H, W) NumPy image: flip, then pad and slice."""
    import numpy as np

    if np.random.random() < p:
        x = np.flip(x, axis=-1).copy()
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)), mode="constant", constant_values=0)
    top = np.random.randint(0, 2 * padding + 1)
    left = np.random.randint(0, 2 * padding + 1)
    return padded[:, top : top + size, left : left + size]


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _harness import Candidate, rounds, summarise, write

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of short samples")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    n_rounds = args.rounds or (3 if args.quick else 11)
    runs, min_time = (10, 0.05) if args.quick else (30, 0.3)
    candidates = [Candidate(name, "augmentation:build", [name, args.batch]) for name in CANDIDATES]
    try:
        for candidate in candidates:
            if not candidate.ready.get("ok"):
                raise SystemExit(f"{candidate.label}: {candidate.ready}")
        results = rounds(candidates, n_rounds, runs, min_time)
    finally:
        for candidate in candidates:
            candidate.close()
    summary = summarise(results, REFERENCE)
    for name in CANDIDATES[1:]:  # the speed-up: TinyTorch / tinyjax, per round
        speedups = [a.median / b.median for a, b in zip(results[REFERENCE], results[name], strict=True)]
        summary[name]["speedup"] = statistics.median(speedups)
        summary[name]["speedup_range"] = [min(speedups), max(speedups)]
    source = f"mirror@{TINYTORCH_COMMIT[:8]}" if (TINYTORCH_MIRROR / "HEAD").exists() else "transcription"
    lines = [
        f"A random flip then RandomCrop(32, padding=4) on a ({args.batch}, 3, 32, 32) float32 batch; "
        f"milliseconds per batch (median over {n_rounds} rounds of tj.benchmark) and the speed-up over "
        f"TinyTorch's loop (TinyTorch's code: {source}): median and range of the per-round ratios. "
        f"Target: {TARGET:g}x.",
        "",
        "| candidate | ms per batch | speed-up over TinyTorch |",
        "|---|---:|---:|",
    ]
    for name in CANDIDATES:
        row = summary[name]
        cell = (
            "1"
            if name == REFERENCE
            else f"{row['speedup']:.1f}x ({row['speedup_range'][0]:.1f}-{row['speedup_range'][1]:.1f})"
        )
        lines.append(f"| {name} | {1e3 * row['median_s']:.3f} | {cell} |")
    data = {"batch": [args.batch, 3, 32, 32], "rounds": n_rounds, "tinytorch_source": source, "rows": summary}
    print(write("augmentation", data, lines))


if __name__ == "__main__":
    main()
