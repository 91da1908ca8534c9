"""The seed MLP (784-128-64-10, ReLU between, float32) with one fixed set of weights for every peer."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

SIZES = (784, 128, 64, 10)
BATCHES = (1, 32, 256, 4096)


def weights(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(W (in, out) f32, b (out,) f32), ...]`` for the three Linear layers, Xavier-uniform, small bias."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in itertools.pairwise(SIZES):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)
        b = rng.uniform(-0.1, 0.1, (fan_out,)).astype(np.float32)
        layers.append((w, b))
    return layers


def inputs(batch: int, seed: int = 1) -> np.ndarray:
    """``(batch, 784)`` float32 inputs, standard normal."""
    return np.random.default_rng(seed + batch).standard_normal((batch, SIZES[0])).astype(np.float32)


def reference(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """The forward pass in float64: what every peer's float32 output is checked against."""
    h = x.astype(np.float64)
    for i, (w, b) in enumerate(layers):
        h = h @ w.astype(np.float64) + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h


def flops(batch: int) -> int:
    """Analytical FLOPs of one forward pass: 2*B*in*out per product plus B*out per bias (ReLU not counted)."""
    return sum(2 * batch * i * o + batch * o for i, o in itertools.pairwise(SIZES))


def check_close(name: str, got: np.ndarray, want: np.ndarray, rtol: float = 1e-4, atol: float = 1e-4) -> float:
    """Raise if ``got`` differs from the float64 reference beyond float32 rounding; return the max abs error."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{name}: output shape {got.shape}, expected {want.shape}")
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        raise AssertionError(f"{name}: output differs from the float64 reference (max abs error {err:.2e})")
    return err


def candidate(module_name: str, batch: int, check: bool = True, warm_up_s: float = 0.3) -> tuple[Any, tuple, dict]:
    """``_harness`` builder of a peer: ``benchmarks/candidates/<module_name>.py`` at ``batch``.

    Returns ``(run, (), info)``: ``info`` holds the output's max abs error against the float64
    reference (``check``), the peak product's FLOPs and size, XLA's memory analysis where the
    candidate has one, and its process's ``XLA_FLAGS``. The candidate is warmed up for
    ``warm_up_s`` seconds first (first calls run slower, docs/performance.md).
    """
    import importlib
    import os
    import sys
    import time

    module = importlib.import_module(f"candidates.{module_name}")
    layers, x = weights(), inputs(batch)
    run = module.build(layers, x)
    out = run()
    info: dict[str, Any] = {"xla_flags": os.environ.get("XLA_FLAGS", "")}
    if "jax" in sys.modules:
        info["jax"] = sys.modules["jax"].__version__
    if hasattr(module, "flops"):  # the peak product: its size is the process's own setting
        info["flops"], info["size"] = module.flops(), module.SIZE
    if check:
        info["max_abs_err"] = check_close(module_name, np.asarray(out), reference(layers, x))
    if hasattr(module, "memory"):
        info["memory"] = module.memory(layers, x)
    end = time.perf_counter() + warm_up_s
    while time.perf_counter() < end:
        run()
    return run, (), info
