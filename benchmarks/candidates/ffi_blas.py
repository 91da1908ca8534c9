"""Experiment: each Linear as an XLA FFI custom call into OpenBLAS (``benchmarks/ffi_blas``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).parent.parent / "ffi_blas"))
from dense import mlp


def build(layers: Any, x: Any) -> Any:
    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in layers]
    xj = jnp.asarray(x)
    return lambda: mlp(params, xj).block_until_ready()
