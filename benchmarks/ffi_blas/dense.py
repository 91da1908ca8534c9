"""Experiment: the seed MLP with each Linear as an XLA FFI custom call into NumPy's OpenBLAS sgemm.

Builds ``dense.cc`` with g++ into a temporary folder on first use (needs a C++ compiler and jaxlib's
FFI headers). Not part of the library: ``benchmarks/candidates/ffi_blas.py`` times it beside the
others so that docs/performance.md can say, with figures, whether the custom call is worth having.
"""

from __future__ import annotations

import ctypes
import glob
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

HERE = Path(__file__).parent


def _build() -> ctypes.CDLL:
    include = Path(jax.ffi.include_dir())
    out = Path(tempfile.gettempdir()) / f"tinyjax_ffi_dense_{os.getuid()}.so"
    if not out.exists() or out.stat().st_mtime < (HERE / "dense.cc").stat().st_mtime:
        cmd = ["g++", "-O3", "-march=native", "-shared", "-fPIC", "-std=c++17", f"-I{include}", str(HERE / "dense.cc")]
        subprocess.run([*cmd, "-o", str(out)], check=True)
    lib = ctypes.CDLL(str(out))
    libs = glob.glob(str(Path(np.__file__).parent.parent / "numpy.libs" / "libscipy_openblas*.so"))
    blas = ctypes.CDLL(libs[0])
    lib.tinyjax_set_sgemm(ctypes.cast(blas.scipy_cblas_sgemm64_, ctypes.c_void_p))
    # One BLAS thread: called from XLA's own thread, a threaded sgemm fights XLA's pool for 2 cores
    # (measured: 40+ ms instead of ~0.1 ms at batch 32 on the loaded 2-core machine).
    blas.scipy_openblas_set_num_threads64_(1)
    jax.ffi.register_ffi_target("tinyjax_dense", jax.ffi.pycapsule(lib.TinyjaxDense), platform="cpu")
    return lib


_LIB = _build()


def dense(x: jax.Array, w: jax.Array, b: jax.Array, relu: bool) -> jax.Array:
    """``x @ w + b`` (then ReLU if ``relu``) for ``x`` (m, k), ``w`` (k, n), ``b`` (n,), float32."""
    out = jax.ShapeDtypeStruct((x.shape[0], w.shape[1]), jnp.float32)
    return jax.ffi.ffi_call("tinyjax_dense", out)(x, w, b, relu=relu)


@jax.jit
def mlp(params: Any, x: jax.Array) -> jax.Array:
    for i, (w, b) in enumerate(params):
        x = dense(x, w, b, relu=i < len(params) - 1)
    return x
