"""TinyTorch's acceleration module (newer course: 17, first course: 18) over :mod:`tinyjax.nn.kernels`.

Each function takes Tensors (or arrays) and returns a Tensor, recorded for autograd like any other
operation. The point of the module is measured in ``benchmarks/acceleration.py`` and
docs/acceleration.md: under ``jax.jit`` XLA fuses :func:`unfused_gelu`'s eight operations exactly as
:func:`fused_gelu`'s one expression, and :func:`tiled_matmul` really loops over blocks (TinyTorch's
calls ``np.matmul``), which is slower than the library's own blocked ``matmul``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from tinyjax._errors import ShapeError
from tinyjax.nn import kernels
from tinyjax.oop import autograd
from tinyjax.oop.tensor import Tensor, as_tensor

__all__ = ["col2im", "fused_gelu", "im2col", "tiled_matmul", "unfused_gelu", "vectorized_matmul"]


def _check_matmul(a: Tensor, b: Tensor, name: str) -> None:
    # The hints carry TinyTorch's wording ("2D+", "Shape mismatch"): its tests look for those words.
    expected, got = "(..., M, K) @ (..., K, N)", f"{a.shape} @ {b.shape}"
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise ShapeError(name, expected, got, what="operands", hint="a matmul needs 2D+ operands")
    if a.shape[-1] != b.shape[-2]:
        hint = f"Shape mismatch: inner sizes {a.shape[-1]} != {b.shape[-2]}"
        raise ShapeError(name, expected, got, what="operands", hint=hint)


def vectorized_matmul(a: Any, b: Any) -> Tensor:
    """``a @ b`` in one library call (``jnp.matmul``: batched and broadcast), ``(..., M, K) @ (..., K, N)``."""
    a, b = as_tensor(a), as_tensor(b)
    _check_matmul(a, b, "vectorized_matmul")
    return autograd.apply(jnp.matmul, (a, b))


def fused_gelu(x: Any) -> Tensor:
    """tanh-GELU as one expression (:func:`tinyjax.nn.kernels.gelu_fused`); ``x``'s shape."""
    return autograd.apply(kernels.gelu_fused, (as_tensor(x),))


def unfused_gelu(x: Any) -> Tensor:
    """tanh-GELU as eight separate operations (:func:`tinyjax.nn.kernels.gelu_unfused`); the same values."""
    return autograd.apply(kernels.gelu_unfused, (as_tensor(x),))


def _tiled(a: jax.Array, b: jax.Array, *, tile_size: int) -> jax.Array:
    return kernels.tiled_matmul(a, b, tile_size)


def tiled_matmul(a: Any, b: Any, tile_size: int = 64) -> Tensor:
    """``a @ b`` for matrices, computed ``tile_size`` x ``tile_size`` block by block (a ``lax.fori_loop``)."""
    a, b = as_tensor(a), as_tensor(b)
    _check_matmul(a, b, "tiled_matmul")
    return autograd.apply(_tiled, (a, b), tile_size=int(tile_size))


def _im2col(x: jax.Array, *, kernel_size: Any, stride: Any, padding: Any) -> jax.Array:
    return kernels.im2col(x, kernel_size, stride, padding)


def _col2im(cols: jax.Array, *, input_shape: Any, kernel_size: Any, stride: Any, padding: Any) -> jax.Array:
    return kernels.col2im(cols, input_shape, kernel_size, stride, padding)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, (list, tuple)) else value


def im2col(x: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0) -> Tensor:
    """Patches as columns: ``(N, C, H, W)`` -> ``(N, C * kh * kw, H' * W')`` (:func:`tinyjax.nn.kernels.im2col`)."""
    return autograd.apply(_im2col, (as_tensor(x),), kernel_size=_hashable(kernel_size), stride=_hashable(stride),
                          padding=_hashable(padding))  # fmt: skip


def col2im(cols: Any, input_shape: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0) -> Tensor:
    """:func:`im2col`'s adjoint: columns summed back into ``input_shape`` (overlaps add)."""
    options = {"kernel_size": _hashable(kernel_size), "stride": _hashable(stride), "padding": _hashable(padding)}
    return autograd.apply(_col2im, (as_tensor(cols),), input_shape=tuple(int(d) for d in input_shape), **options)
