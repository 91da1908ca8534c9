"""Augmenting a CIFAR-sized batch: TinyTorch's per-image NumPy loop against tinyjax.data under jit(vmap).

    python benchmarks/augmentation.py [--batch 256] [--rounds 11] [--reps 20] [--out FILE.json]

The augmentation is the CIFAR-10 recipe, a random horizontal flip then a 32x32 random crop of the
image padded by 4, on ``(batch, 3, 32, 32)`` float32 images:

* ``NumPy loop (TinyTorch)``: what TinyTorch's ``Compose([RandomHorizontalFlip(), RandomCrop(32, 4)])``
  does per image (``np.random.random() < p`` then ``np.flip``; ``np.pad`` then a slice at
  ``np.random.randint`` offsets), in a Python loop over the batch, then ``np.stack``;
* ``tinyjax (on device)``: ``data.batch_augment(data.compose(data.random_flip, data.random_crop(32, 4)))``
  on a batch already on the device: one compiled program, a key per image;
* ``tinyjax (from host)``: the same, fed the NumPy batch (its transfer included);
* ``tinyjax (on device, 1 thread)``: the first, with ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false``.

Each candidate runs in its own process (its own thread pools); the driver asks one at a time to
time a block of ``--reps`` calls back to back, in rotating order, for ``--rounds`` rounds; a round's
figure is the block's time per call (a throughput: on a shared machine, time lost to other processes
then counts in proportion to each candidate's own running time, whereas a median of single calls
lands a 1 ms call wholly inside or outside a lost scheduler slice). It reports each candidate's
median over rounds and the ratio NumPy / tinyjax.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CANDIDATES = ("NumPy loop (TinyTorch)", "tinyjax (on device)", "tinyjax (from host)", "tinyjax (on device, 1 thread)")
# The last runs XLA's CPU runtime on one thread, as the NumPy loop runs: on a 2-core machine shared
# with other work, a multi-threaded 1.5 ms program can wait for its second thread to be scheduled.
ENV = {CANDIDATES[3]: {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}}


def numpy_candidate(batch: int) -> Any:
    import numpy as np

    images = np.random.default_rng(0).standard_normal((batch, 3, 32, 32)).astype(np.float32)

    def flip(x: np.ndarray) -> np.ndarray:
        return np.flip(x, axis=-1).copy() if np.random.random() < 0.5 else x

    def crop(x: np.ndarray, size: int = 32, padding: int = 4) -> np.ndarray:
        padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)), mode="constant")
        top = np.random.randint(0, 2 * padding + 1)
        left = np.random.randint(0, 2 * padding + 1)
        return padded[:, top : top + size, left : left + size]

    def run() -> None:
        np.stack([crop(flip(x)) for x in images])

    return run


def tinyjax_candidate(batch: int, on_device: bool) -> Any:
    import jax
    import numpy as np

    from tinyjax import data

    host = np.random.default_rng(0).standard_normal((batch, 3, 32, 32)).astype(np.float32)
    images = jax.device_put(host) if on_device else host
    augment = data.batch_augment(data.compose(data.random_flip, data.random_crop(32, padding=4)))
    key = jax.random.key(0)
    calls = [0]

    def run() -> None:
        calls[0] += 1
        augment(jax.random.fold_in(key, calls[0]), images).block_until_ready()

    return run


def worker(name: str, batch: int) -> None:
    numpy = name == CANDIDATES[0]
    run = numpy_candidate(batch) if numpy else tinyjax_candidate(batch, on_device=name != CANDIDATES[2])
    for _ in range(3):  # compile and warm up
        run()
    print(json.dumps({"ready": name}), flush=True)
    for line in sys.stdin:
        reps = json.loads(line)["reps"]
        start = time.perf_counter()
        for _ in range(reps):
            run()
        print(json.dumps({"per_call_s": (time.perf_counter() - start) / reps}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.batch)
        return 0
    procs = {
        name: subprocess.Popen(
            [sys.executable, __file__, "--worker", name, "--batch", str(args.batch)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **ENV.get(name, {})},
        )
        for name in CANDIDATES
    }
    for proc in procs.values():
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())
    rounds: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    for r in range(args.rounds):
        order = CANDIDATES[r % len(CANDIDATES) :] + CANDIDATES[: r % len(CANDIDATES)]
        for name in order:
            proc = procs[name]
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps({"reps": args.reps}) + "\n")
            proc.stdin.flush()
            rounds[name].append(json.loads(proc.stdout.readline())["per_call_s"])
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)
    medians = {name: statistics.median(times) for name, times in rounds.items()}
    numpy_s = medians[CANDIDATES[0]]
    result = {
        "batch": [args.batch, 3, 32, 32],
        "rounds": args.rounds,
        "reps": args.reps,
        "median_ms_per_call": {name: 1e3 * s for name, s in medians.items()},
        "per_round_ms": {name: [1e3 * s for s in times] for name, times in rounds.items()},
        "numpy_over_tinyjax": {name: numpy_s / medians[name] for name in CANDIDATES[1:]},
    }
    for name in CANDIDATES:
        ratio = f"  NumPy / this = {numpy_s / medians[name]:.1f}x" if name != CANDIDATES[0] else ""
        print(f"{name:<24} median {1e3 * medians[name]:8.2f} ms per call{ratio}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
