"""Unstructured (magnitude) pruning: zero the smallest weights, and keep them at zero through training.

A mask is a pytree shaped like the params whose leaves are boolean arrays (True: the weight is kept).
Only floating leaves with two or more axes (matrices, kernels) are pruned: biases, norm scales and
integer state keep every entry. Zeros alone do not make a dense program faster (XLA multiplies them
as any other number); :func:`~tinyjax.compress.structured_prune` removes whole units instead.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tinyjax._errors import ConfigError, ParamsError
from tinyjax.layer import Params

__all__ = ["apply_masks", "magnitude_prune", "mask_updates", "prunable", "sparsity"]

Masks = Any
"""A pytree shaped like the params, boolean leaves of the params' shapes (True: kept)."""


def prunable(leaf: Any) -> bool:
    """Whether magnitude pruning touches ``leaf``: a floating array with at least two axes (a weight)."""
    return hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating) and jnp.ndim(leaf) >= 2


def sparsity(params: Params) -> float:
    """The fraction of zeros among the prunable weights (floating leaves with two or more axes), in [0, 1].

    Biases and norm params are not counted, as :func:`magnitude_prune` never prunes them; params
    without any such weight give 0.0.
    """
    leaves = [leaf for leaf in jax.tree_util.tree_leaves(params) if prunable(leaf)]
    total = sum(int(np.size(leaf)) for leaf in leaves)
    if total == 0:
        return 0.0
    return sum(int(jnp.sum(leaf == 0)) for leaf in leaves) / total


def _check_fraction(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{what} must be a fraction in [0, 1] (0.5 prunes half), got {value!r}")
    return float(value)


def _smallest(magnitudes: np.ndarray, sparsity: float) -> np.ndarray:
    """A boolean keep-mask of ``magnitudes`` (1-D) that drops exactly ``round(sparsity * n)`` smallest entries."""
    drop = round(sparsity * magnitudes.size)
    keep = np.ones(magnitudes.size, bool)
    keep[np.argsort(magnitudes, kind="stable")[:drop]] = False
    return keep


def magnitude_prune(params: Params, sparsity: float, *, scope: str = "global") -> tuple[Params, Masks]:
    """Zero the weights of smallest magnitude: ``(params, masks)`` with exactly ``sparsity`` of them zero.

    Args:
      params: any params pytree; its floating leaves with two or more axes are pruned (:func:`prunable`).
      sparsity: the fraction of those weights to zero, in [0, 1]: 0.5 zeroes half of them.
      scope: ``"global"`` ranks every weight of the model together (layers with small weights lose
        more); ``"layer"`` zeroes ``sparsity`` of each weight array on its own.

    Returns:
      ``(pruned, masks)``: ``pruned`` has the params' structure, shapes and dtypes with
      ``round(sparsity * n)`` entries zeroed (``n`` the model's prunable weights, or each array's with
      ``scope="layer"``; ties broken by position); ``masks`` is shaped like the params, boolean, True
      where a value is kept (every entry of a leaf that is not pruned). Keep them through training
      with :func:`mask_updates`.
    """
    fraction = _check_fraction(sparsity, "magnitude_prune: sparsity")
    if scope not in ("global", "layer"):
        raise ConfigError(f"magnitude_prune: scope must be 'global' or 'layer', got {scope!r}")
    leaves, treedef = jax.tree_util.tree_flatten(params)
    chosen = [i for i, leaf in enumerate(leaves) if prunable(leaf)]
    masks: list[Any] = [np.ones(np.shape(leaf), bool) for leaf in leaves]
    if scope == "layer":
        for i in chosen:
            masks[i] = _smallest(np.abs(np.asarray(leaves[i], np.float32)).ravel(), fraction).reshape(leaves[i].shape)
    elif chosen:
        flat = np.concatenate([np.abs(np.asarray(leaves[i], np.float32)).ravel() for i in chosen])
        keep = _smallest(flat, fraction)
        start = 0
        for i in chosen:
            size = int(np.size(leaves[i]))
            masks[i] = keep[start : start + size].reshape(leaves[i].shape)
            start += size
    mask_tree = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(m) for m in masks])
    return apply_masks(params, mask_tree), mask_tree


def apply_masks(params: Params, masks: Masks) -> Params:
    """``params`` with every entry whose mask is False set to zero (a pure function; jit-friendly).

    ``masks`` must have the params' structure (as :func:`magnitude_prune` returns it); a leaf's mask
    broadcasts against the leaf. Integer leaves (state counters) are returned unchanged.
    """
    try:
        return jax.tree_util.tree_map(_mask_leaf, params, masks)
    except ValueError as error:
        raise ParamsError("apply_masks", "masks with the params' structure", str(error), what="masks") from None


def _mask_leaf(leaf: Any, mask: Any) -> Any:
    if not jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
        return leaf
    return jnp.where(mask, leaf, jnp.zeros((), jnp.result_type(leaf)))


class MaskUpdatesState(NamedTuple):
    """:func:`mask_updates` keeps no state of its own."""


def mask_updates(masks: Masks) -> optax.GradientTransformation:
    """An optax ``GradientTransformation`` that zeroes the updates of pruned weights.

    Chain it last, after the optimizer (momentum and Adam's moments would otherwise move a pruned
    weight away from zero)::

        params, masks = tj.compress.magnitude_prune(params, 0.9)
        optimizer = optax.chain(optax.adamw(1e-3), tj.compress.mask_updates(masks))

    Pruned weights then stay exactly zero after every ``optax.apply_updates``; weight decay is harmless
    (it decays a zero to zero).
    """

    def init(params: Params) -> MaskUpdatesState:
        del params
        return MaskUpdatesState()

    def update(updates: Params, state: MaskUpdatesState, params: Params | None = None) -> tuple[Params, Any]:
        del params
        return apply_masks(updates, masks), state

    return optax.GradientTransformation(init, update)
