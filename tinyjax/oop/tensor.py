"""``Tensor``: TinyTorch's tensor (modules 01 and 05) over a jax array, with autograd on ``jax.vjp``.

``Tensor(data, requires_grad=False)`` stores float32 whatever it is given, as TinyTorch does
(``np.array(data, dtype=np.float32)``). Operations run eagerly and return new Tensors; operands may
be Tensors, NumPy or jax arrays, lists or Python scalars, on either side, with NumPy broadcasting.
When an operand requires grad, the result records one :class:`~tinyjax.oop.autograd.Node` and
``loss.backward()`` fills ``.grad`` (see :mod:`tinyjax.oop.autograd`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError, DTypeError, IndexRangeError, ShapeError, UnsupportedError
from tinyjax.oop import autograd
from tinyjax.oop.autograd import Variable
from tinyjax.oop.hostdata import host_data

__all__ = ["Tensor", "as_tensor"]

Axis = int | tuple[int, ...] | None


def _copy_to_jax(value: Any, dtype: Any) -> jax.Array:
    """``value`` as a jax array of ``dtype``: a NumPy array is always copied (``jnp.asarray`` may alias
    an aligned NumPy buffer on CPU, and the caller may change that buffer later); a jax array is
    immutable, so it is only converted when its dtype differs."""
    if isinstance(value, Tensor):
        value = value.array
    if isinstance(value, jax.Array):
        return value if value.dtype == dtype else value.astype(dtype)
    return jnp.array(value, dtype=dtype)


def _float32(data: Any) -> jax.Array:
    """``data`` as a float32 jax array (a copy unless it already is one): numbers only, never complex."""
    if isinstance(data, Tensor):
        data = data.array
    dtype = getattr(data, "dtype", None)
    if not isinstance(data, jax.Array):
        if data is None or isinstance(data, (str, bytes)):
            dtype = None
        else:
            try:
                data = np.asarray(data)
            except (ValueError, TypeError):
                raise ShapeError(
                    "Tensor",
                    "a rectangular nested list",
                    f"a ragged {type(data).__name__} (rows of different lengths)",
                    what="data",
                ) from None
            dtype = data.dtype
    if dtype is None or np.dtype(dtype).kind not in "biuf":
        shown = f"{type(data).__name__} {data!r}" if dtype is None else f"an array of {dtype}"
        raise DTypeError(
            "Tensor",
            f"expected real numbers (a Tensor, NumPy or jax array, nested list or scalar), got {shown}"[:300],
        )
    return _copy_to_jax(data, jnp.float32)


def array_of(value: Any) -> jax.Array:
    """The jax array a Tensor holds, or ``value`` as a jax array with its own dtype (token ids, masks)."""
    return value.array if isinstance(value, Tensor) else jnp.asarray(value)


def indices_of(value: Any, layer: str) -> Any:
    """Integer indices from ``value``: a Tensor's whole numbers (TinyTorch stores them as float32) or an array."""
    if not isinstance(value, Tensor):
        return value
    values = value.data
    if not np.array_equal(values, np.round(values)):
        raise DTypeError(layer, "expected whole-number indices, got fractions in the Tensor")
    return values.astype(np.int32)


def as_tensor(value: Any) -> Tensor:
    """``value`` itself if it is a Tensor, else ``Tensor(value)`` (float32, no gradient)."""
    return value if isinstance(value, Tensor) else Tensor(value)


def _operand(value: Any) -> Any:
    """An arithmetic operand: a Tensor stays a Tensor (it may require grad); a Python scalar stays a
    Python scalar, so that, as in NumPy and PyTorch, a bfloat16 Tensor times 1.5 stays bfloat16; a
    jax array keeps its dtype; anything else becomes float32."""
    if isinstance(value, Tensor) or type(value) in (bool, int, float) or isinstance(value, jax.Array):
        return value
    return _float32(value)


def _matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.matmul(a, b)


def _reshape(x: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    return jnp.reshape(x, shape)


def _swapaxes(x: jax.Array, dim0: int, dim1: int) -> jax.Array:
    return jnp.swapaxes(x, dim0, dim1)


def _sum(x: jax.Array, axis: Axis, keepdims: bool) -> jax.Array:
    return jnp.sum(x, axis=axis, keepdims=keepdims)


def _mean(x: jax.Array, axis: Axis, keepdims: bool) -> jax.Array:
    return jnp.mean(x, axis=axis, keepdims=keepdims)


def _max(x: jax.Array, axis: Axis, keepdims: bool) -> jax.Array:
    return jnp.max(x, axis=axis, keepdims=keepdims)


def _min(x: jax.Array, axis: Axis, keepdims: bool) -> jax.Array:
    return jnp.min(x, axis=axis, keepdims=keepdims)


def _check_axis(axis: Axis, ndim: int, call: str) -> None:
    for a in (axis,) if isinstance(axis, int) else (axis or ()):
        if isinstance(a, bool) or not isinstance(a, int | np.integer) or not -max(ndim, 1) <= a < max(ndim, 1):
            raise ConfigError(f"{call}: axis {a!r} is out of range for a Tensor of {ndim} dimension(s)")


def _broadcast(call: str, left: tuple[int, ...], right: tuple[int, ...]) -> None:
    """ShapeError naming both shapes unless they broadcast (NumPy's rules), as JAX's TypeError would not."""
    try:
        np.broadcast_shapes(left, right)
    except ValueError:
        raise ShapeError(
            f"Tensor {call}",
            "a shape that broadcasts with " + str(left),
            right,
            what="the other operand",
            hint="Sizes must be equal or 1 on each axis, counted from the last",
        ) from None


def _index_items(index: Any) -> tuple[Any, ...]:
    """An index as a tuple of items: a Tensor's whole numbers as an int32 array, lists as arrays."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = indices_of(item, "Tensor index") if item.dtype != np.bool_ else item.data
        elif isinstance(item, list | jax.Array | np.ndarray):
            item = np.asarray(item)
        out.append(item)
    return tuple(out)


def _check_index(items: tuple[Any, ...], shape: tuple[int, ...]) -> None:
    """IndexRangeError for an index outside its axis (JAX would clamp it), or too many indices; DTypeError
    for an index that is not an integer, a slice, None, ``...``, or an integer or boolean array."""

    def width(item: Any) -> int:
        if item is None or item is Ellipsis:
            return 0
        return item.ndim if isinstance(item, np.ndarray) and item.dtype == np.bool_ else 1

    used = sum(width(item) for item in items)
    if used > len(shape):
        raise IndexRangeError(f"Tensor index: too many indices for a Tensor of shape {shape}: {used} given")
    axis = 0
    for item in items:
        if item is Ellipsis:
            axis += len(shape) - used
        elif item is None:
            continue
        elif isinstance(item, slice):
            axis += 1
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            if not -shape[axis] <= item < shape[axis]:
                raise IndexRangeError(
                    f"Tensor index {int(item)} is out of range for axis {axis} of size {shape[axis]} (shape {shape})"
                )
            axis += 1
        elif isinstance(item, np.ndarray) and item.dtype == np.bool_:
            if item.shape != shape[axis : axis + item.ndim]:
                raise IndexRangeError(f"Tensor index: a boolean mask of shape {item.shape} for axes of {shape[axis:]}")
            axis += item.ndim
        elif isinstance(item, np.ndarray) and np.issubdtype(item.dtype, np.integer):
            bad = item[(item < -shape[axis]) | (item >= shape[axis])]
            if bad.size:
                first = int(bad.flat[0])
                raise IndexRangeError(
                    f"Tensor index {first} is out of range for axis {axis} of size {shape[axis]} (shape {shape})"
                )
            axis += 1
        else:
            shown = f"an array of {item.dtype}" if isinstance(item, np.ndarray) else f"{type(item).__name__} {item!r}"
            raise DTypeError(
                "Tensor index",
                f"indices must be integers, slices, None, ..., or integer or boolean arrays, got {shown}",
            )


_UFUNCS: dict[Any, str] = {
    np.add: "__add__", np.subtract: "__sub__", np.multiply: "__mul__", np.true_divide: "__truediv__",
    np.power: "__pow__", np.matmul: "__matmul__", np.negative: "__neg__", np.absolute: "abs", np.exp: "exp",
    np.log: "log", np.sqrt: "sqrt", np.less: "__lt__", np.less_equal: "__le__", np.greater: "__gt__",
    np.greater_equal: "__ge__", np.equal: "__eq__", np.not_equal: "__ne__",
}  # fmt: skip
_REDUCTIONS: dict[Any, str] = {
    np.sum: "sum",
    np.mean: "mean",
    np.max: "max",
    np.amax: "max",
    np.min: "min",
    np.amin: "min",
    np.argmax: "argmax",
}


def _to_numpy(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, list | tuple):
        return type(value)(_to_numpy(v) for v in value)
    return value


def _axis(axis: Any) -> Axis:
    return tuple(axis) if isinstance(axis, list) else axis


class Tensor(Variable):
    """An n-dimensional float32 array that can record gradients: ``Tensor(np.random.randn(32, 784))``.

    Args:
      data: numbers: a nested list, a scalar, a NumPy or jax array, a Tensor. Stored as float32
        (a copy); ``None``, strings and complex numbers raise :class:`~tinyjax.DTypeError`.
      requires_grad: record the operations that use this Tensor, so that ``backward()`` fills
        its ``.grad``.

    Attributes:
      data: the values as a writable NumPy array of shape ``shape``: a copy of the jax array whose
        in-place writes reach this Tensor (``p.data -= lr * p.grad.data``, ``w.data[0] = 1``; see
        :mod:`tinyjax.oop.hostdata`). Assigning to it replaces the values (``w.data = values``).
      array: the jax array itself (no copy).
      requires_grad, grad: whether gradients are recorded; the accumulated gradient, a Tensor of
        ``shape`` (as in PyTorch; NumPy reads it as an array) or ``None`` before the first
        ``backward()``. ``backward()`` adds to the same ``grad`` Tensor; assigning an array to
        ``grad`` stores a float32 copy of it.
    """

    __slots__ = ()
    __array_priority__ = 100  # NumPy defers to Tensor's reflected operators

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        self.array: jax.Array = _float32(data)
        self.requires_grad = bool(requires_grad)
        self._grad = None
        self.node = None

    # --- what it is -------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray[Any, Any]:
        return host_data(self, self.array)

    @data.setter
    def data(self, value: Any) -> None:
        self.array = _copy_to_jax(value, self.array.dtype)

    @property
    def grad(self) -> Tensor | None:
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is None:
            self._grad = None
            return
        grad = _copy_to_jax(value, self.array.dtype)
        if grad.shape != self.array.shape:
            raise ShapeError("Tensor.grad", self.shape, tuple(grad.shape), what="a gradient")
        self._grad = Tensor.wrap(grad)

    @property
    def grad_array(self) -> jax.Array | None:
        """The accumulated gradient as a jax array (no copy), or ``None``."""
        return None if self._grad is None else self._grad.array

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(self.array.dtype)

    @property
    def size(self) -> int:
        return int(self.array.size)

    @property
    def ndim(self) -> int:
        return int(self.array.ndim)

    def numpy(self) -> np.ndarray[Any, Any]:
        """The values as a NumPy array (a read-only view of the jax array on CPU: no copy)."""
        return np.asarray(self.array)

    def copy(self) -> Tensor:
        """A Tensor with the same values and no graph (jax arrays are immutable: nothing is copied)."""
        return Tensor.wrap(self.array)

    def item(self) -> float:
        """The value of a one-element Tensor as a Python float (ShapeError for more elements, as NumPy's ValueError)."""
        if self.size != 1:
            raise ShapeError(
                "Tensor.item", "a one-element Tensor", self.shape, what="self",
                hint="Index one element first (t[0, 1].item()), or read all of them with t.numpy()",
            )  # fmt: skip
        return float(self.array.reshape(()))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        array = np.asarray(self.array)
        return array if dtype is None else array.astype(dtype)

    def __float__(self) -> float:
        return self.item()

    def __len__(self) -> int:
        if not self.shape:
            raise UnsupportedError("len() of a 0-d Tensor: it holds one value (t.item()), not a sequence")
        return self.shape[0]

    def __iter__(self) -> Any:
        """The rows ``t[0], t[1], ...`` (each a Tensor on the tape), as NumPy iterates; a 0-d Tensor refuses."""
        if not self.shape:
            raise UnsupportedError("iteration over a 0-d Tensor: it holds one value (t.item()), not a sequence")
        for i in range(self.shape[0]):
            yield self[i]

    def __bool__(self) -> bool:
        """The truth of a one-element Tensor; more elements are ambiguous (ShapeError, NumPy's ValueError)."""
        if self.size != 1:
            raise ShapeError(
                "Tensor.__bool__", "a one-element Tensor", self.shape, what="self",
                hint="The truth of several values is ambiguous: use (t > 0).numpy().any() or .all()",
            )  # fmt: skip
        return bool(self.array.reshape(()))

    __hash__ = object.__hash__  # identity, as PyTorch's: == compares values elementwise

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy's ufuncs on Tensors: the Tensor's own operation (on the tape) where one exists, else NumPy's."""
        name = _UFUNCS.get(ufunc)
        if method == "__call__" and name is not None and not kwargs:
            first, *rest = inputs
            if not isinstance(first, Tensor):  # a NumPy operand on the left: the same operation, reflected
                return getattr(Tensor.wrap(jnp.asarray(first)), name)(*rest)
            return getattr(first, name)(*rest)
        return getattr(ufunc, method)(*_to_numpy(inputs), **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """``np.sum(t)``, ``np.mean``, ``np.max``, ``np.min``, ``np.argmax``: the Tensor's own (differentiable) ones.

        Other NumPy functions get NumPy arrays in place of the Tensors (no gradient).
        """
        name = _REDUCTIONS.get(func)
        if name is not None and args and isinstance(args[0], Tensor) and kwargs.get("out") is None:
            options = {k: v for k, v in kwargs.items() if k in ("axis", "keepdims")}
            return getattr(args[0], name)(*args[1:2], **options)
        return func(*_to_numpy(args), **{k: _to_numpy(v) for k, v in kwargs.items()})

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", threshold=20, edgeitems=2, precision=4, prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{grad})"

    # --- gradients -------------------------------------------------------------------------------
    def backward(self, gradient: Any = None) -> None:
        """Fill ``.grad`` of every Tensor this one was computed from that requires grad (adding up).

        ``gradient``: the gradient of this Tensor (its shape); may be omitted for a one-element
        Tensor (a loss), where it is 1. The graph is kept, so calling ``backward()`` again adds
        the same gradients once more (TinyTorch's and PyTorch's accumulation; ``zero_grad()``
        clears them). On a Tensor that does not require grad it does nothing, as in TinyTorch.
        """
        if not self.requires_grad:
            return
        if gradient is None:
            if self.size != 1:
                raise ShapeError(
                    "Tensor.backward",
                    "a one-element Tensor (a loss)",
                    self.shape,
                    what="the output",
                    hint="For any other output, pass its gradient: backward(gradient) with gradient of its shape",
                )
            seed = jnp.ones_like(self.array)
        else:
            seed = _copy_to_jax(gradient, self.array.dtype)
            if seed.shape != self.array.shape:
                raise ShapeError("Tensor.backward", self.shape, tuple(seed.shape), what="gradient")
        autograd.backward(self, seed)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad`` becomes ``None``)."""
        self._grad = None

    def detach(self) -> Tensor:
        """The same values, cut from the graph (``requires_grad=False``)."""
        return self.copy()

    # --- arithmetic ----------------------------------------------------------------------------
    def _binary(self, fn: Any, other: Any, reflected: bool = False) -> Tensor:
        operand = _operand(other)
        if not isinstance(operand, int | float | bool):
            right = operand.shape if isinstance(operand, Tensor) else tuple(operand.shape)
            _broadcast(fn.__name__, *((right, self.shape) if reflected else (self.shape, right)))
        return autograd.apply(fn, (operand, self) if reflected else (self, operand))

    def _compare(self, fn: Any, other: Any) -> Tensor:
        """A boolean Tensor (no gradient), as NumPy's comparisons give."""
        operand = _operand(other)
        if not isinstance(operand, int | float | bool):
            _broadcast(fn.__name__, self.shape, operand.shape if isinstance(operand, Tensor) else tuple(operand.shape))
        right = operand.array if isinstance(operand, Tensor) else operand
        return Tensor.wrap(fn(self.array, right), requires_grad=False)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(jnp.less, other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(jnp.less_equal, other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(jnp.greater, other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(jnp.greater_equal, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(jnp.equal, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(jnp.not_equal, other)

    def __rpow__(self, base: Any) -> Tensor:
        return self._binary(jnp.power, base, reflected=True)

    def __abs__(self) -> Tensor:
        return self.abs()

    def abs(self) -> Tensor:
        """``|x|`` elementwise (gradient ``sign(x)``)."""
        return autograd.apply(jnp.abs, (self,))

    def exp(self) -> Tensor:
        """``e**x`` elementwise."""
        return autograd.apply(jnp.exp, (self,))

    def log(self) -> Tensor:
        """The natural logarithm elementwise (``-inf`` at 0 and NaN below, as NumPy without its warning)."""
        return autograd.apply(jnp.log, (self,))

    def sqrt(self) -> Tensor:
        """The square root elementwise (NaN below 0, as NumPy without its warning)."""
        return autograd.apply(jnp.sqrt, (self,))

    def __add__(self, other: Any) -> Tensor:
        return self._binary(jnp.add, other)

    def __radd__(self, other: Any) -> Tensor:
        return self._binary(jnp.add, other, reflected=True)

    def __sub__(self, other: Any) -> Tensor:
        return self._binary(jnp.subtract, other)

    def __rsub__(self, other: Any) -> Tensor:
        return self._binary(jnp.subtract, other, reflected=True)

    def __mul__(self, other: Any) -> Tensor:
        return self._binary(jnp.multiply, other)

    def __rmul__(self, other: Any) -> Tensor:
        return self._binary(jnp.multiply, other, reflected=True)

    def __truediv__(self, other: Any) -> Tensor:
        return self._binary(jnp.divide, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._binary(jnp.divide, other, reflected=True)

    def __pow__(self, exponent: Any) -> Tensor:
        return self._binary(jnp.power, exponent)

    def __neg__(self) -> Tensor:
        return autograd.apply(jnp.negative, (self,))

    def matmul(self, other: Any) -> Tensor:
        """Matrix product ``self @ other`` (NumPy's ``matmul`` rules; a 0-d operand multiplies).

        Raises :class:`~tinyjax.ShapeError` naming both shapes when the inner sizes differ.
        """
        right = _operand(other)
        right_shape = tuple(np.shape(right.array if isinstance(right, Tensor) else right))
        if self.ndim == 0 or not right_shape:
            return self * right
        inner = right_shape[0] if len(right_shape) == 1 else right_shape[-2]
        if self.shape[-1] != inner:
            expected = (inner,) if len(right_shape) == 1 else (self.shape[-1], ...)
            raise ShapeError(
                f"Tensor.matmul {self.shape} @ {right_shape}",
                expected,
                right_shape,
                what="right operand",
                hint=f"Inner dimensions must match: {self.shape[-1]} ≠ {inner}",
            )
        return autograd.apply(_matmul, (self, right))

    def __matmul__(self, other: Any) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return as_tensor(_operand(other)).matmul(self)

    # --- shape ---------------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """``reshape(2, 3)`` or ``reshape((2, 3))``; one size may be -1. The sizes must hold every element."""
        target = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        sizes = tuple(int(s) for s in target)  # type: ignore[arg-type]
        if sizes.count(-1) > 1:
            raise ConfigError(f"Tensor.reshape: at most one size may be -1, got {sizes}")
        known = math.prod(s for s in sizes if s != -1)
        fits = self.size % known == 0 if -1 in sizes and known else known == self.size
        if not fits:
            raise ShapeError(
                "Tensor.reshape",
                sizes,
                self.shape,
                what=f"a Tensor of {self.size} elements for shape",
                hint=f"Total elements must match: {self.size} ≠ {known}",
            )
        return autograd.apply(_reshape, (self,), shape=sizes)

    def flatten(self) -> Tensor:
        """The values as a 1-D Tensor (``reshape(-1)``)."""
        return self.reshape(-1)

    def transpose(self, dim0: int | None = None, dim1: int | None = None) -> Tensor:
        """Swap two axes: the last two by default (TinyTorch's convention); a 0-d or 1-d Tensor is unchanged."""
        if dim0 is None and dim1 is None:
            if self.ndim < 2:
                return autograd.apply(_reshape, (self,), shape=self.shape)
            dim0, dim1 = -2, -1
        if dim0 is None or dim1 is None:
            raise ConfigError(f"Tensor.transpose: give both dim0 and dim1 or neither, got {dim0} and {dim1}")
        return autograd.apply(_swapaxes, (self,), dim0=dim0, dim1=dim1)

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        """NumPy's indexing: ints, slices, None, ``...``, integer arrays (or Tensors of whole numbers) and
        boolean masks; an index outside its axis raises :class:`~tinyjax.IndexRangeError` (an IndexError)."""
        items = _index_items(index)
        _check_index(items, self.shape)
        index = items if isinstance(index, tuple) else items[0]
        return autograd.apply_eager(lambda x: x[index], self)

    # --- reductions ----------------------------------------------------------------------------
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        _check_axis(_axis(axis), self.ndim, "Tensor.sum")
        return autograd.apply(_sum, (self,), axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        _check_axis(_axis(axis), self.ndim, "Tensor.mean")
        return autograd.apply(_mean, (self,), axis=_axis(axis), keepdims=keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The largest value along ``axis`` (every axis by default); its gradient goes to the maxima."""
        self._check_reduce(axis, "Tensor.max")
        return autograd.apply(_max, (self,), axis=_axis(axis), keepdims=keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The smallest value along ``axis`` (every axis by default); its gradient goes to the minima."""
        self._check_reduce(axis, "Tensor.min")
        return autograd.apply(_min, (self,), axis=_axis(axis), keepdims=keepdims)

    def argmax(self, axis: int | None = None) -> Tensor:
        """The index of the largest value (of the flattened values without ``axis``): an int32 Tensor, no gradient."""
        self._check_reduce(axis, "Tensor.argmax")
        return Tensor.wrap(jnp.argmax(self.array, axis=axis).astype(jnp.int32), requires_grad=False)

    def _check_reduce(self, axis: Any, call: str) -> None:
        _check_axis(_axis(axis), self.ndim, call)
        if self.size == 0:
            raise ShapeError(call, "a Tensor with at least one element", self.shape, what="self",
                             hint="An empty Tensor has no largest or smallest value")  # fmt: skip
