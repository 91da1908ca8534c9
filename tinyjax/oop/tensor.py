"""``Tensor``: TinyTorch's tensor as a thin wrapper of a jax array.

Arithmetic runs eagerly, one jax operation per call, as in TinyTorch. Operands may be Tensors,
NumPy or jax arrays, or Python scalars, on either side, with NumPy broadcasting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Tensor", "as_array"]


def as_array(value: Any) -> jax.Array:
    """The jax array behind a Tensor, NumPy array, jax array, list or scalar (no copy for jax arrays)."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, jax.Array):
        return value
    array = np.asarray(value)
    if array.dtype == np.float64:  # TinyTorch feeds np.random.randn (float64); JAX computes in float32
        array = array.astype(np.float32)
    return jnp.asarray(array)


def _operand(value: Any) -> Any:
    """An arithmetic operand: Python scalars stay Python scalars, so that, as in NumPy and PyTorch,
    ``Tensor(bf16) * 1.5`` stays bfloat16 (JAX treats them as weakly typed); anything else as an array."""
    if type(value) in (bool, int, float, complex):
        return value
    return as_array(value)


class Tensor:
    """An n-dimensional array: ``Tensor(np.random.randn(32, 784))``.

    Attributes:
      data: the jax array (shape ``shape``, dtype ``dtype``); assigning to it replaces the values,
        which is how TinyTorch-style code updates parameters (``w.data = w.data - lr * g``).
    """

    __slots__ = ("data",)
    __array_priority__ = 100  # NumPy defers to Tensor's reflected operators

    def __init__(self, data: Any):
        self.data: jax.Array = as_array(data)

    # --- what it is -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(self.data.dtype)

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def ndim(self) -> int:
        return int(self.data.ndim)

    def numpy(self) -> np.ndarray[Any, Any]:
        """The values as a NumPy array."""
        return np.asarray(self.data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        array = np.asarray(self.data)
        return array if dtype is None else array.astype(dtype)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d Tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", threshold=20, edgeitems=2, precision=4, prefix="Tensor(")
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype})"

    # --- arithmetic ----------------------------------------------------------------------------
    def matmul(self, other: Any) -> Tensor:
        """Matrix product ``self @ other``; inner sizes must agree (ValueError naming both shapes)."""
        right = as_array(other)
        if self.ndim == 0 or right.ndim == 0:
            raise ValueError(f"matmul needs at least 1-D operands, got shapes {self.shape} and {tuple(right.shape)}")
        inner_right = right.shape[0] if right.ndim == 1 else right.shape[-2]
        if self.shape[-1] != inner_right:
            raise ValueError(
                f"matmul: inner sizes differ: {self.shape} @ {tuple(right.shape)} ({self.shape[-1]} != {inner_right})"
            )
        return Tensor(jnp.matmul(self.data, right))

    def __matmul__(self, other: Any) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return Tensor(other).matmul(self)

    def __add__(self, other: Any) -> Tensor:
        return Tensor(self.data + _operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return Tensor(_operand(other) + self.data)

    def __sub__(self, other: Any) -> Tensor:
        return Tensor(self.data - _operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return Tensor(_operand(other) - self.data)

    def __mul__(self, other: Any) -> Tensor:
        return Tensor(self.data * _operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return Tensor(_operand(other) * self.data)

    def __truediv__(self, other: Any) -> Tensor:
        return Tensor(self.data / _operand(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return Tensor(_operand(other) / self.data)

    def __neg__(self) -> Tensor:
        return Tensor(-self.data)

    # --- shape and reductions --------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """``reshape(2, 3)`` or ``reshape((2, 3))``; one size may be -1."""
        target = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return Tensor(jnp.reshape(self.data, tuple(target)))

    def transpose(self, dim0: int | None = None, dim1: int | None = None) -> Tensor:
        """Swap two axes: the last two by default (TinyTorch's convention)."""
        if self.ndim < 2 and dim0 is None:
            return Tensor(self.data)
        first = -2 if dim0 is None else dim0
        second = -1 if dim1 is None else dim1
        return Tensor(jnp.swapaxes(self.data, first, second))

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return Tensor(jnp.sum(self.data, axis=axis, keepdims=keepdims))

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return Tensor(jnp.mean(self.data, axis=axis, keepdims=keepdims))

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data
        return Tensor(self.data[index])
