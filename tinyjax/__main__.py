"""``python -m tinyjax``: build the seed MLP, summarise it, time compiled inference."""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

import tinyjax as tj


def seed_mlp() -> tj.Layer:
    """The seed module's MLP: 784 -> 128 -> 64 -> 10 with ReLUs."""
    return tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (argparse turns the ValueError into a usage error, no traceback)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


positive_int.__name__ = "positive integer"  # argparse's message: "invalid positive integer value: '-1'"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tinyjax", description=__doc__)
    parser.add_argument("--batch", type=positive_int, default=32, help="inference batch size (default 32)")
    parser.add_argument("--repeats", type=positive_int, default=200, help="timed calls for the median (default 200)")
    args = parser.parse_args(argv)

    model = seed_mlp()
    params = model.init(jax.random.key(0))
    print(f"tinyjax {tj.__version__} on jax {jax.__version__}, {jax.devices()[0].platform}\n")
    print(tj.summary(model, params, (args.batch, 784)), "\n")

    x = jax.random.normal(jax.random.key(1), (args.batch, 784), jnp.float32)
    start = time.perf_counter()
    predict = tj.compile(model, params, x)
    compile_s = time.perf_counter() - start
    # Warm-up: a freshly compiled predictor's first calls run slower than the rest (docs/performance.md, "Warm-up").
    warm_until = time.perf_counter() + 0.3
    while time.perf_counter() < warm_until:
        predict(x).block_until_ready()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        predict(x).block_until_ready()
        times.append(time.perf_counter() - start)
    print(f"compile (trace + XLA, ahead of time): {compile_s * 1e3:.1f} ms")
    print(f"per call, median of {args.repeats}:      {statistics.median(times) * 1e6:.1f} us (batch {args.batch})")


if __name__ == "__main__":
    main()
