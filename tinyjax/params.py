"""Parameter management over any params pytree: list, name, count, measure."""

from __future__ import annotations

import math
from typing import Any

import jax

from tinyjax._errors import ConfigError
from tinyjax.layer import Params

__all__ = ["count_params", "named_parameters", "param_bytes", "parameters", "path_name", "path_order"]

# Within one layer's dict, the weight comes before the bias (the seed's [W1, b1, W2, b2]),
# whatever order a JAX transformation rebuilt the dict in; other names follow, sorted.
_FIRST = {"weight": 0, "bias": 1}


def path_order(path: tuple[Any, ...]) -> tuple[tuple[int, int, str], ...]:
    """Sort key of a pytree key path: layer order, then ``weight`` before ``bias``, then other names."""
    parts = []
    for entry in path:
        if isinstance(entry, jax.tree_util.SequenceKey):
            parts.append((0, entry.idx, ""))
        elif isinstance(entry, jax.tree_util.DictKey):
            parts.append((1, _FIRST.get(str(entry.key), 2), str(entry.key)))
        else:
            parts.append((2, 0, str(entry)))
    return tuple(parts)


def path_name(path: tuple[Any, ...]) -> str:
    """PyTorch-style name of a pytree key path: ``(SequenceKey(0), DictKey('weight'))`` -> ``"0.weight"``."""
    parts = []
    for entry in path:
        if isinstance(entry, jax.tree_util.SequenceKey):
            parts.append(str(entry.idx))
        elif isinstance(entry, jax.tree_util.DictKey):
            parts.append(str(entry.key))
        elif isinstance(entry, jax.tree_util.GetAttrKey):
            parts.append(entry.name)
        else:
            parts.append(str(entry).strip(".[]'\""))
    return ".".join(parts)


def _ordered(params: Params) -> list[tuple[tuple[Any, ...], Any]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(params)
    return sorted(leaves, key=lambda item: path_order(item[0]))


def parameters(params: Params) -> list[jax.Array]:
    """Every array in ``params``, in layer order, weight before bias: ``[W1, b1, W2, b2, ...]``."""
    return [leaf for _, leaf in _ordered(params)]


def named_parameters(params: Params) -> dict[str, jax.Array]:
    """``{name: array}`` with PyTorch ``state_dict`` names: ``"0.weight"``, ``"0.bias"``, ``"2.weight"``...

    A Sequential's entries are named by position, nested ones by their path (``"1.0.weight"``);
    a lone Linear's params are ``"weight"`` and ``"bias"``. Layers without params add nothing.
    """
    return {path_name(path): leaf for path, leaf in _ordered(params)}


def count_params(params: Params) -> int:
    """Total number of scalars in ``params`` (arrays or ``jax.ShapeDtypeStruct`` leaves)."""
    return sum(math.prod(leaf.shape) for leaf in _arrays(params, "count_params"))


def param_bytes(params: Params) -> int:
    """Total bytes of ``params`` (works on ``jax.ShapeDtypeStruct`` leaves too, with no allocation)."""
    return sum(math.prod(leaf.shape) * leaf.dtype.itemsize for leaf in _arrays(params, "param_bytes"))


def _arrays(params: Params, call: str) -> list[Any]:
    """The leaves of ``params``; ConfigError naming ``call`` for a leaf that is not an array (a string, say)."""
    leaves = jax.tree_util.tree_leaves(params)
    for leaf in leaves:
        if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
            raise ConfigError(f"{call} takes a params pytree of arrays, got a leaf {type(leaf).__name__} {leaf!r:.60}")
    return leaves
