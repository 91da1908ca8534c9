"""``python -m tinyjax``: build the seed MLP, summarise it, time compiled inference.

``python -m tinyjax profile [--training]``: the seed MLP's profile instead (``tj.profile``).
"""

from __future__ import annotations

import argparse
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
    parser.add_argument(
        "command", nargs="?", choices=["profile"], help="profile: print the seed MLP's per-layer profile (tj.profile)"
    )
    parser.add_argument("--training", action="store_true", help="profile one training step (Adam), with profile")
    parser.add_argument("--batch", type=positive_int, default=32, help="inference batch size (default 32)")
    parser.add_argument("--repeats", type=positive_int, default=200, help="timed calls for the median (default 200)")
    args = parser.parse_args(argv)

    model = seed_mlp()
    params = model.init(jax.random.key(0))
    print(f"tinyjax {tj.__version__} on jax {jax.__version__}, {jax.devices()[0].platform}\n")
    if args.command == "profile":
        x = jax.random.normal(jax.random.key(1), (args.batch, 784), jnp.float32)
        print(tj.profile(model, params, x, training=args.training))
        return
    print(tj.summary(model, params, (args.batch, 784)), "\n")

    x = jax.random.normal(jax.random.key(1), (args.batch, 784), jnp.float32)
    start = time.perf_counter()
    predict = tj.compile(model, params, x)
    compile_s = time.perf_counter() - start
    # Warm-up: a freshly compiled predictor's first calls run slower than the rest (docs/performance.md, "Warm-up").
    timed = tj.benchmark(predict, x, warmup=300, runs=args.repeats, min_time=0.0, name="predict")
    low, high = timed.ci
    print(f"compile (trace + XLA, ahead of time): {compile_s * 1e3:.1f} ms")
    print(
        f"per call, median of {len(timed.samples)}:      {timed.median * 1e6:.1f} us (batch {args.batch}; "
        f"95% CI {low * 1e6:.1f} .. {high * 1e6:.1f} us, CV {100 * timed.cv:.0f}%)"
    )


if __name__ == "__main__":
    main()
