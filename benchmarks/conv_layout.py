"""Conv2d on NCHW (tinyjax's layout, PyTorch's) against NHWC (TensorFlow's, Flax's) on this machine's CPU.

    python benchmarks/conv_layout.py [--repeats 50]

For a few CNN-sized shapes, times a jit-compiled ``conv_general_dilated`` with
``("NCHW", "OIHW", "NCHW")`` and with ``("NHWC", "HWIO", "NHWC")`` on the same numbers (median of
``--repeats`` calls, after a warm-up), and prints the medians and the NCHW / NHWC ratio. The
figures vary with the machine and with the load of other processes: read them as a ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

SHAPES = [  # (batch, in channels, height, width, out channels, kernel)
    (64, 1, 8, 8, 32, 3),  # examples/train_cnn.py's first conv
    (64, 32, 4, 4, 64, 3),  # and its second
    (32, 64, 32, 32, 64, 3),  # a CIFAR-sized block
    (8, 128, 56, 56, 128, 3),  # a ResNet stage
]


def _median(fn, *args, repeats: int) -> float:
    fn(*args).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args).block_until_ready()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    print(f"jax {jax.__version__}, {jax.devices()[0].platform}, {jax.device_count()} device(s)")
    print(f"{'shape (N, C, H, W) -> C_out, k':<34}{'NCHW ms':>10}{'NHWC ms':>10}{'NCHW/NHWC':>11}")
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
        a = _median(nchw, x, kernel, repeats=args.repeats) * 1e3
        b = _median(nhwc, x_t, k_t, repeats=args.repeats) * 1e3
        print(f"{str((n, c, h, w)) + f' -> {out}, {k}':<34}{a:>10.3f}{b:>10.3f}{a / b:>11.2f}")


if __name__ == "__main__":
    main()
