"""Candidates that ``tests/test_benchmarking.py`` names as ``"benchmark_candidates:NAME"`` strings.

A fresh process (``tj.benchmark(..., isolate=True)``) imports this module and calls the builder,
which returns the function to time and its arguments.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp


def matmul(n: int):
    """An ``(n, n) @ (n, n)`` product, jit-compiled."""
    x = jnp.ones((n, n), jnp.float32)
    return jax.jit(lambda a: a @ a), (x,)


def needs_env(n: int):
    """The same product; refuses to build unless the environment says it came through ``env=``."""
    if os.environ.get("TINYJAX_BENCH_TEST") != "yes":
        raise RuntimeError("TINYJAX_BENCH_TEST is not set")
    return matmul(n)


def not_a_pair():
    return 42
