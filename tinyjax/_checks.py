"""Validation helpers. They run in Python at init or at trace time, never inside XLA."""

from __future__ import annotations

import numbers
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError, DTypeError, KeyArgumentError, ParamsError, ShapeError


def check_features(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be a positive integer, got {value!r} ({type(value).__name__})")
    if value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value}")
    return int(value)


def check_float_dtype(dtype: Any, what: str) -> None:
    """Raise ConfigError unless ``dtype`` is a floating dtype (``what``: ``"Linear params"``)."""
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ConfigError(f"{what} must have a floating dtype, got {jnp.dtype(dtype)}")


def check_key(key: Any, layer: str, where: str = "init") -> None:
    """Raise KeyArgumentError unless ``key`` is one PRNG key (new-style typed or legacy uint32[2])."""
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if shape == ():
            return
        raise KeyArgumentError(
            f"{layer}.{where} expects one key, got a batch of keys of shape {shape}; "
            "to use a batch of keys, jax.vmap over them"
        )
    if dtype == jnp.uint32 and shape == (2,):
        return
    if dtype == jnp.uint32 and shape is not None and len(shape) == 2 and shape[-1] == 2:
        raise KeyArgumentError(
            f"{layer}.{where} expects one key, got a batch of keys of shape {shape}; "
            "to use a batch of keys, jax.vmap over them"
        )
    described = f"{type(key).__name__} {key!r}" if dtype is None else f"array of {dtype}{list(shape or ())}"
    raise KeyArgumentError(f"{layer}.{where} expects a PRNG key such as jax.random.key(0), got {described}")


def check_float_input(x: Any, layer: str) -> None:
    """Raise DTypeError unless ``x`` holds real floating-point numbers."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        dtype = np.asarray(x).dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        kind = "complex" if jnp.issubdtype(dtype, jnp.complexfloating) else str(dtype)
        raise DTypeError(
            layer, f"expected floating-point input, got {kind} ({dtype}); convert it with x.astype(jnp.float32)"
        )


def check_float_params(params: Any, layer: str) -> None:
    """Raise DTypeError unless every leaf of ``params`` is a real floating-point array.

    Integer weights would make a float model compute in integers or truncate what it is given; this
    names the first leaf that is not floating and says how to convert the params.
    """
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        dtype = getattr(leaf, "dtype", None)
        if dtype is None:
            dtype = np.asarray(leaf).dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            name = jax.tree_util.keystr(path) or "params"
            raise DTypeError(
                layer,
                f"params{name if name != 'params' else ''} is {dtype}: weights must be floating-point; "
                "convert them with jax.tree.map(lambda a: a.astype(jnp.float32), params)",
            )


def check_shape_argument(value: Any, what: str, call: str) -> tuple[int, ...]:
    """``value`` as a shape tuple if it is a sequence of non-negative ints, else ConfigError naming ``call``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        raise ConfigError(
            f"{call}: {what} must be a shape tuple such as (32, {value}), got the int {value}; "
            f"for one sample of {value} features pass ({value},)"
        )
    try:
        shape = tuple(value)
    except TypeError:
        raise ConfigError(f"{call}: {what} must be a shape tuple such as (32, 784), got {value!r}") from None
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and int(d) >= 0 for d in shape):
        raise ConfigError(f"{call}: {what} must hold non-negative ints, got {value!r}")
    return tuple(int(d) for d in shape)


def check_features_axis(x: Any, features: int, layer: str) -> None:
    """Raise ShapeError unless ``x`` has shape ``(..., features)`` with at least one dimension."""
    shape = tuple(np.shape(x))
    if not shape:
        raise ShapeError(layer, (..., features), shape, hint="A scalar has no feature axis; use x.reshape(1)")
    try:
        chex.assert_shape(x, (..., features))
    except AssertionError:
        raise ShapeError(layer, (..., features), shape) from None


def check_array_shape(value: Any, expected: tuple[Any, ...], layer: str, what: str) -> None:
    """Raise ParamsError unless ``value`` is an array of shape ``expected``."""
    shape = getattr(value, "shape", None)
    if shape is None:
        raise ParamsError(layer, expected, type(value).__name__, what=what)
    try:
        chex.assert_shape(value, expected)
    except AssertionError:
        raise ParamsError(layer, expected, tuple(shape), what=what) from None


def check_no_params(params: Any, layer: str) -> None:
    """Raise ParamsError unless ``params`` is empty (as every activation's is)."""
    if jax.tree_util.tree_leaves(params):
        raise ParamsError(layer, "empty, ()", _structure(params), what="params", hint="This layer has no parameters")


def _structure(params: Any) -> str:
    return str(jax.tree_util.tree_map(lambda a: tuple(getattr(a, "shape", ())), params))


def check_input_array(x: Any, layer: str, params: Any = None) -> Any:
    """``x`` as an array if it is one or array-like (a list of numbers); else a DTypeError saying what came.

    Runs outside ``jax.jit``, on what the caller passed to ``apply``: NumPy arrays pass as they are,
    lists become NumPy arrays, and None, strings or params (a dict, say) given where ``x`` belongs are
    refused; when ``params`` is itself an array, the message says the arguments look swapped.
    """
    if isinstance(x, np.ndarray | np.generic) or hasattr(x, "__jax_array__"):
        return x
    array = None
    if x is not None and not isinstance(x, str | bytes | dict):
        try:
            array = np.asarray(x)
        except (TypeError, ValueError):
            array = None
    if array is not None and array.dtype != object and array.dtype.kind not in "USV":
        return array
    swapped = isinstance(x, dict) or isinstance(params, jax.Array | np.ndarray)
    hint = "; the arguments look swapped: call apply(params, x)" if swapped else ""
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], tuple | dict):
        hint = "; apply(params, x, training=True) on a model with state returns (y, new_state): unpack it first"
    raise DTypeError(layer, f"expected an input array x of numbers, got {type(x).__name__} {_short(x)}{hint}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
