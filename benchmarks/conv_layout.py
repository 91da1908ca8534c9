"""Conv2d on NCHW (tinyjax's layout, PyTorch's) against NHWC (TensorFlow's, Flax's) on this machine's CPU.

    python benchmarks/conv_layout.py [--repeats 50]

For a few CNN-sized shapes, compares a jit-compiled ``conv_general_dilated`` with
``("NCHW", "OIHW", "NCHW")`` against ``("NHWC", "HWIO", "NHWC")`` on the same numbers with
``tj.compare`` (alternating rounds, at least ``--repeats`` samples each): the medians, the NCHW /
NHWC ratio and its 95% interval. Writes ``results/conv_layout.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _harness import write

import tinyjax as tj

SHAPES = [  # (batch, in channels, height, width, out channels, kernel)
    (64, 1, 8, 8, 32, 3),  # examples/train_cnn.py's first conv
    (64, 32, 4, 4, 64, 3),  # and its second
    (32, 64, 32, 32, 64, 3),  # a CIFAR-sized block
    (8, 128, 56, 56, 128, 3),  # a ResNet stage
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)  # each CV is in the JSON
    lines = ["| shape (N, C, H, W) -> C_out, k | NCHW ms | NHWC ms | NCHW / NHWC (95% CI) |", "|---|---:|---:|---:|"]
    rows = []
    for n, c, h, w, out, k in SHAPES:
        rng = np.random.default_rng(0)
        x = jnp.asarray(rng.standard_normal((n, c, h, w), np.float32))
        kernel = jnp.asarray(rng.standard_normal((out, c, k, k), np.float32))
        nchw = jax.jit(
            lambda x, k: jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW"))
        )
        nhwc = jax.jit(
            lambda x, k: jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        )
        x_t, k_t = jnp.transpose(x, (0, 2, 3, 1)), jnp.transpose(kernel, (2, 3, 1, 0))
        np.testing.assert_allclose(np.transpose(nchw(x, kernel), (0, 2, 3, 1)), nhwc(x_t, k_t), rtol=1e-4, atol=1e-3)
        c_ = tj.compare((nchw, x, kernel), (nhwc, x_t, k_t), runs=args.repeats, min_time=0.2)
        shape = f"{(n, c, h, w)} -> {out}, {k}"
        lines.append(
            f"| {shape} | {c_.a.median * 1e3:.3f} | {c_.b.median * 1e3:.3f} | "
            f"{c_.ratio:.2f} ({c_.ci[0]:.2f}-{c_.ci[1]:.2f}) |"
        )
        rows.append({"shape": shape, **c_.to_dict(), "nchw": c_.a.to_dict(), "nhwc": c_.b.to_dict()})
    print(write("conv_layout", {"rows": rows}, lines))


if __name__ == "__main__":
    main()
