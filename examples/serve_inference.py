"""Serve the seed MLP: cost it, compile it for every batch size, ship it as a file, run it without tinyjax.

    python examples/serve_inference.py OUT_DIR

1. ``tinyjax.summary``: what one batch of 32 costs, layer by layer, beside XLA's own figures;
2. ``tinyjax.compile``: an ahead-of-time predictor; batch sizes 1 to 100 run through power-of-two
   buckets, and the example prints how many executables that took;
3. ``dtype=jnp.bfloat16``: the low-precision policy, with its largest deviation from float32;
4. ``tinyjax.export``: one artifact with a symbolic batch size (``OUT_DIR/seed_mlp.jax``), loaded
   back in a fresh process that imports jax only, and checked equal to the predictor.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import tinyjax as tj

# Run in a process of its own: the artifact needs jax, not tinyjax or this file's model code.
_LOAD_AND_RUN = """
import sys, jax, numpy as np
assert "tinyjax" not in sys.modules
exported = jax.export.deserialize(bytearray(open(sys.argv[1], "rb").read()))
x = np.load(sys.argv[2])
np.save(sys.argv[3], np.asarray(jax.jit(exported.call)(x)))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the exported artifact")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    model = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
    params = model.init(jax.random.key(0))
    print(tj.summary(model, params, (32, 784)), "\n")

    predict = tj.compile(model, params, jnp.zeros((32, 784)))
    rows = jax.random.normal(jax.random.key(1), (100, 784))
    expected = model.apply(params, rows)  # one plain call; each batch n must give its first n rows
    for n in range(1, 101):
        np.testing.assert_allclose(predict(rows[:n]), expected[:n], rtol=1e-5, atol=1e-5)
    print(f"batch sizes 1..100: {predict.compilations} executables, buckets {predict.buckets}")
    x = jax.random.normal(jax.random.key(0), (32, 784))
    times = []
    for _ in range(200):
        start = time.perf_counter()
        predict(x).block_until_ready()
        times.append(time.perf_counter() - start)
    print(f"batch 32: {statistics.median(times) * 1e6:.1f} us per call (median of 200); {predict}")

    half = tj.compile(model, params, x, dtype=jnp.bfloat16)
    deviation = float(jnp.max(jnp.abs(half(x) - predict(x))) / jnp.max(jnp.abs(predict(x))))
    print(
        f"bfloat16 policy: params {tj.param_bytes(half.params):,} bytes (float32: {tj.param_bytes(params):,}); "
        f"largest deviation {deviation:.2e} of the output's scale"
    )

    artifact = args.out / "seed_mlp.jax"
    tj.export(model, params, path=artifact)
    inputs, outputs = args.out / "x.npy", args.out / "y.npy"
    x7 = np.asarray(jax.random.normal(jax.random.key(7), (7, 784)))  # a batch size never compiled before
    np.save(inputs, x7)
    subprocess.run([sys.executable, "-c", _LOAD_AND_RUN, str(artifact), str(inputs), str(outputs)], check=True)
    np.testing.assert_allclose(np.load(outputs), predict(x7), rtol=1e-5, atol=1e-5)
    print(
        f"exported {artifact} ({artifact.stat().st_size:,} bytes): loaded by a process without tinyjax, "
        "batch 7, equal to the predictor"
    )


if __name__ == "__main__":
    main()
