"""Structured pruning: remove whole hidden units, channels and attention heads, so the model gets smaller shapes.

Within a chain (a Sequential), a layer whose params have an ``"out"`` axis (a Linear's columns, a
Conv2d's output channels) is a *producer*; the next layer with an ``"in"`` axis is its *consumer*.
Between them may sit parameter-free layers (activations, pooling, Dropout, Flatten) and *followers*,
layers whose params are one vector per unit (a BatchNorm's ``"channels"``). Removing unit ``j``
removes the producer's slice ``j`` on ``"out"``, each follower's entry ``j`` and the consumer's
input rows of ``j`` (a Flatten between a Conv2d and a Linear turns one channel into ``H*W``
consecutive rows, which are removed together). A layer with a ``"heads"`` axis (MultiHeadAttention)
loses whole heads: its in- and out-projection slices of those heads.
The model's own input and output sizes never change.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params
from tinyjax.nn.sequential import Sequential
from tinyjax.tools.compress._rebuild import axis_positions, resized

__all__ = ["kept_units", "structured_prune", "unit_scores"]

CRITERIA = ("l2", "l1")


def unit_scores(weight: jax.Array, axis: int, criterion: str = "l2") -> np.ndarray:
    """The norm of each slice of ``weight`` along ``axis``: one score per unit (``(n,)`` float)."""
    moved = np.moveaxis(np.asarray(weight, np.float32), axis, 0).reshape(weight.shape[axis], -1)
    return np.abs(moved).sum(1) if criterion == "l1" else np.sqrt(np.square(moved).sum(1))


def kept_units(scores: np.ndarray, ratio: float) -> np.ndarray:
    """Sorted indices of the units :func:`structured_prune` keeps: the ``n - round(ratio * n)`` best (at least one)."""
    n = scores.size
    keep = max(n - round(ratio * n), 1)
    return np.sort(np.argsort(-scores, kind="stable")[:keep])


def _take(params: Params, positions: dict[str, int], index: np.ndarray) -> Params:
    return {name: jnp.take(value, index, axis=positions[name]) if name in positions else value
            for name, value in params.items()}  # fmt: skip


def _has_params(params: Params) -> bool:
    return bool(jax.tree_util.tree_leaves(params))


def _follower_axis(layer: Layer, params: Params, units: int) -> str | None:
    """The one axis every vector param of ``layer`` has, of ``units`` entries (a BatchNorm's ``"channels"``)."""
    info = layer.param_info()
    if not isinstance(info, dict):
        return None
    axes = {param.axes for param in info.values() if param.axes}
    if len(axes) != 1:
        return None
    (only,) = axes
    if len(only) != 1 or only[0] in ("in", "out"):
        return None
    sizes = {np.shape(params[name])[0] for name, param in info.items() if param.axes}
    return only[0] if sizes == {units} else None


def _prune_unit_pair(children: list[Layer], params: list[Params], i: int, ratio: float, criterion: str) -> bool:
    """Prune producer ``children[i]``'s units with its followers and consumer; False if the chain does not allow it."""
    producer = children[i]
    out = axis_positions(producer, "out")
    if "weight" not in out or not axis_positions(producer, "in"):
        return False
    units = int(np.shape(params[i]["weight"])[out["weight"]])
    followers: list[tuple[int, str]] = []
    consumer = None
    for j in range(i + 1, len(children)):
        if not _has_params(params[j]):
            continue
        axis = _follower_axis(children[j], params[j], units)
        if axis is not None:
            followers.append((j, axis))
            continue
        consumer = j if "weight" in axis_positions(children[j], "in") else None
        break
    if consumer is None:
        return False
    in_pos = axis_positions(children[consumer], "in")
    fan_in = int(np.shape(params[consumer]["weight"])[in_pos["weight"]])
    if fan_in % units:
        return False
    block = fan_in // units  # 1, or the H*W rows a Flatten makes of one channel
    keep = kept_units(unit_scores(params[i]["weight"], out["weight"], criterion), ratio)
    rows = (keep[:, None] * block + np.arange(block)).ravel()
    try:
        new = {i: resized(producer, "out", keep.size), consumer: resized(children[consumer], "in", rows.size)}
        new |= {j: resized(children[j], axis, keep.size) for j, axis in followers}
    except ConfigError:
        return False
    params[i] = _take(params[i], out, keep)
    params[consumer] = _take(params[consumer], in_pos, rows)
    for j, axis in followers:
        params[j] = _take(params[j], axis_positions(children[j], axis), keep)
    for j, layer in new.items():
        children[j] = layer
    return True


def _prune_heads(layer: Layer, params: Params, ratio: float, criterion: str) -> tuple[Layer, Params] | None:
    """A layer with fewer heads (its params' ``"heads"`` slices), or None where it has none or cannot shrink."""
    heads = axis_positions(layer, "heads")
    if not heads:
        return None
    count = {int(np.shape(params[name])[i]) for name, i in heads.items()}
    if len(count) != 1:
        return None
    scores = sum(unit_scores(params[name], i, criterion) ** 2 for name, i in heads.items() if np.ndim(params[name]) > 1)
    keep = kept_units(np.sqrt(scores), ratio)
    try:
        smaller = resized(layer, "heads", keep.size)
    except ConfigError:
        return None
    return smaller, _take(params, heads, keep)


def _prune_chain(model: Layer, params: Params, ratio: float, criterion: str) -> tuple[Layer, Params, bool]:
    children, params = list(model.children), list(params)
    changed = False
    for i, child in enumerate(children):
        if child.chain:
            children[i], params[i], inner = _prune_chain(child, params[i], ratio, criterion)
            changed |= inner
            continue
        smaller = _prune_heads(child, params[i], ratio, criterion)
        if smaller is not None:
            children[i], params[i] = smaller
            changed = True
    for i in range(len(children)):
        if not children[i].chain and isinstance(params[i], dict):
            changed |= _prune_unit_pair(children, params, i, ratio, criterion)
    return (Sequential(*children) if changed else model), tuple(params), changed


def structured_prune(model: Layer, params: Params, ratio: float, *, criterion: str = "l2") -> tuple[Layer, Params]:
    """Remove ``ratio`` of the hidden units, channels and heads: a new, smaller model and its params.

    Args:
      model: a Layer; a Sequential's hidden units are pruned (see the module's text for which layers
        take part), a layer with a ``"heads"`` axis loses heads (it may be the model itself).
      params: the model's params.
      ratio: the fraction of each pruned layer's units to remove, in [0, 1): 0.5 removes
        ``round(0.5 * n)`` of ``n`` (at least one unit stays).
      criterion: ``"l2"`` (default) or ``"l1"``: the norm of a unit's weights (its ``"out"`` slice of
        the producer; for a head, its slices of every param with a ``"heads"`` axis); the units with
        the smallest norms go.

    Returns:
      ``(smaller_model, smaller_params)``: an ordinary Layer built by the public factories (its
      summary, ``tj.save``, ``tj.export`` and ONNX export work as for any model), with the same input
      and output shapes. Layers that cannot be shrunk (the last layer, a layer followed by something
      the chain cannot see through) are kept as they are.

    Raises:
      ConfigError: for a ratio outside [0, 1), an unknown criterion, or a model with nothing to prune.
    """
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio < 1:
        raise ConfigError(f"structured_prune: ratio must be a fraction in [0, 1), got {ratio!r}")
    if criterion not in CRITERIA:
        raise ConfigError(f"structured_prune: criterion must be one of {CRITERIA}, got {criterion!r}")
    if model.chain:
        pruned, new_params, changed = _prune_chain(model, params, float(ratio), criterion)
    else:
        smaller = _prune_heads(model, params, float(ratio), criterion)
        changed = smaller is not None
        pruned, new_params = smaller if smaller is not None else (model, params)
    if not changed:
        raise ConfigError(
            f"structured_prune: nothing in {model.name} can lose units (it needs a Sequential with a "
            "hidden layer between two layers with weights, or a layer with heads)"
        )
    return pruned, new_params
