"""What one call of a layer costs: its own formula where it describes one, XLA's count where not."""

from __future__ import annotations

from typing import Any

import jax

from tinyjax.layer import Layer, Params

__all__ = ["layer_flops", "xla_costs"]


def layer_flops(layer: Layer, params: Params, x: jax.ShapeDtypeStruct) -> int:
    """FLOPs of ``layer.apply(params, x)`` for ``jax.ShapeDtypeStruct`` params and input (nothing runs).

    A layer with a ``flops`` formula uses it; a chain sums its children's along the chain; any other
    layer (a user's pair, a Lambda) is compiled alone for this input and XLA's count is used.
    """
    if layer.flops is not None:
        return int(layer.flops(params, x, jax.eval_shape(layer.raw_apply, params, x)))
    if layer.chain:
        total = 0
        for child, child_params in zip(layer.children, params, strict=True):
            total += layer_flops(child, child_params, x)
            x = jax.eval_shape(child.raw_apply, child_params, x)
        return total
    return int(xla_costs(jax.jit(layer.raw_apply).lower(params, x).compile()).get("flops", 0))


def xla_costs(compiled: Any) -> dict[str, float]:
    """XLA's cost analysis of a compiled program as a dict (``{}`` where the backend gives none)."""
    costs = compiled.cost_analysis()
    if isinstance(costs, (list, tuple)):
        costs = costs[0] if costs else None
    return dict(costs or {})
