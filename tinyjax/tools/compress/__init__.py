"""Compression by transformation: pure functions from ``(model, params)`` to a smaller ``(model, params)``.

::

    import tinyjax as tj

    params, masks = tj.compress.magnitude_prune(params, 0.9)            # 90% of the weights zero
    optimizer = optax.chain(optax.adamw(1e-3), tj.compress.mask_updates(masks))   # and they stay zero
    small, small_params = tj.compress.structured_prune(model, params, 0.5)    # half the hidden units
    factored, factored_params = tj.compress.low_rank(model, params, rank=32)  # Linear -> two thin ones

Zeros (magnitude pruning) shrink a compressed file but not a dense program's work; structured
pruning and low rank give a model with smaller shapes, so XLA compiles less work. Each result is an
ordinary Layer built by the public factories: summary, save / load, export and ONNX work on it.
Knowledge distillation's loss is :func:`tinyjax.losses.distillation` (docs/compression.md).
"""

from __future__ import annotations

from tinyjax.tools.compress.low_rank import dense_layer, low_rank, rank_for_energy
from tinyjax.tools.compress.masks import apply_masks, magnitude_prune, mask_updates, prunable, sparsity
from tinyjax.tools.compress.structured import kept_units, structured_prune, unit_scores

__all__ = [
    "apply_masks",
    "dense_layer",
    "kept_units",
    "low_rank",
    "magnitude_prune",
    "mask_updates",
    "prunable",
    "rank_for_energy",
    "sparsity",
    "structured_prune",
    "unit_scores",
]
