"""Low-rank factoring: a Linear ``(in, out)`` becomes ``Linear(in, r, bias=False)`` then ``Linear(r, out)``.

The weight ``W = U S V^T`` (a singular value decomposition) is replaced by its best rank-``r``
approximation ``(U_r S_r) V_r^T`` (Eckart-Young: the error in Frobenius norm is the norm of the
discarded singular values). The pair costs ``r * (in + out)`` params and multiply-adds per row
instead of ``in * out``: smaller and faster where ``r < in * out / (in + out)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params
from tinyjax.nn.linear import Linear
from tinyjax.nn.sequential import Sequential

__all__ = ["dense_layer", "low_rank", "rank_for_energy"]


def dense_layer(layer: Layer) -> bool:
    """Whether ``layer`` is an affine map of its last axis: ``{"weight": ("in", "out")}``, maybe a ``("out",)`` bias."""
    if layer.chain or layer.children:
        return False
    info = layer.param_info()
    if not isinstance(info, dict) or "weight" not in info or info["weight"].axes != ("in", "out"):
        return False
    return set(info) <= {"weight", "bias"} and ("bias" not in info or info["bias"].axes == ("out",))


def rank_for_energy(singular_values: np.ndarray, energy: float) -> int:
    """The smallest ``r`` whose first ``r`` singular values hold ``energy`` of the sum of their squares."""
    squares = np.square(np.asarray(singular_values, np.float64))
    total = squares.sum()
    if total == 0:
        return 1
    found = int(np.searchsorted(np.cumsum(squares) / total, energy - 1e-12)) + 1
    return min(found, int(squares.size))


def _factor(params: Params, rank: int | None, energy: float | None) -> tuple[Params, Params, int]:
    weight = np.asarray(params["weight"], np.float64)
    u, s, vt = np.linalg.svd(weight, full_matrices=False)
    r = rank_for_energy(s, energy) if energy is not None else min(int(rank), s.size)  # type: ignore[arg-type]
    dtype = params["weight"].dtype
    first = {"weight": jnp.asarray(u[:, :r] * s[:r], dtype)}
    second = {"weight": jnp.asarray(vt[:r], dtype)}
    if "bias" in params:
        second["bias"] = params["bias"]
    return first, second, r


def low_rank(
    model: Layer,
    params: Params,
    rank: int | None = None,
    *,
    energy: float | None = None,
    select: Callable[[Layer], bool] | None = None,
) -> tuple[Layer, Params]:
    """Factor each chosen Linear by a truncated SVD: ``(in, out)`` -> ``(in, r)`` then ``(r, out)``.

    Args:
      model: a Layer: a Linear-like layer itself (:func:`dense_layer`), or a Sequential holding them
        (nested Sequentials included).
      params: its params.
      rank: ``r``, the same for every chosen layer (capped at ``min(in, out)``); or
      energy: a fraction in (0, 1]: each layer keeps the fewest singular values whose squares hold
        that fraction of the total (its own ``r``). Give exactly one of the two.
      select: which layers to factor, ``select(layer) -> bool``; by default every Linear-like layer
        that its rank makes smaller (``r * (in + out) < in * out``).

    Returns:
      ``(model, params)``: each factored layer becomes ``Linear(in, r, bias=False)`` then
      ``Linear(r, out, bias=...)`` (its bias kept on the second), spliced into the chain in its place
      (a bare layer becomes a two-layer Sequential); the first weight is ``U_r S_r``, the second
      ``V_r^T``, in the weight's dtype. The reconstruction error of each weight in Frobenius norm is
      the norm of its discarded singular values.
    """
    if (rank is None) == (energy is None):
        raise ConfigError("low_rank: give either rank=r or energy=fraction, exactly one")
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 1):
        raise ConfigError(f"low_rank: rank must be a positive int, got {rank!r}")
    if energy is not None and (isinstance(energy, bool) or not isinstance(energy, (int, float)) or not 0 < energy <= 1):
        raise ConfigError(f"low_rank: energy must be a fraction in (0, 1], got {energy!r}")
    layers, new_params, changed = _walk(model, params, rank, energy, select)
    if not changed:
        raise ConfigError(f"low_rank: no layer of {model.name} is chosen (none is Linear-like and made smaller by it)")
    return Sequential(*layers), tuple(new_params)


def _walk(
    model: Layer, params: Params, rank: int | None, energy: float | None, select: Callable[[Layer], bool] | None
) -> tuple[list[Layer], list[Any], bool]:
    """The layers and params that replace ``model`` in its chain, and whether anything was factored."""
    if model.chain:
        layers: list[Layer] = []
        out: list[Any] = []
        changed = False
        for child, child_params in zip(model.children, params, strict=True):
            sub, sub_params, inner = _walk(child, child_params, rank, energy, select)
            if child.chain and inner:
                layers.append(Sequential(*sub))
                out.append(tuple(sub_params))
            else:
                layers.extend(sub)
                out.extend(sub_params)
            changed |= inner
        return layers, out, changed
    if not dense_layer(model) or (select is not None and not select(model)):
        return [model], [params], False
    first, second, r = _factor(params, rank, energy)
    fan_in, fan_out = np.shape(params["weight"])
    if select is None and r * (fan_in + fan_out) >= fan_in * fan_out:
        return [model], [params], False
    dtype = params["weight"].dtype
    return (
        [Linear(fan_in, r, bias=False, dtype=dtype), Linear(r, fan_out, bias="bias" in params, dtype=dtype)],
        [first, second],
        True,
    )
