"""Which mesh axis each parameter is split over: a ``PartitionSpec`` pytree from a Layer's description.

The rules read only what a Layer says about itself (``kind``, ``config``, ``children``) and the
shapes of its params, never the layer's code:

* ``"data"``: every parameter replicated (data parallelism splits the batch, not the params).
* ``"column"``: every Linear split on its output features (Megatron's column-parallel layer):
  ``weight (in, out)`` -> ``P(None, model)``, ``bias (out,)`` -> ``P(model)``.
* ``"row"``: every Linear split on its input features (row-parallel): ``weight`` -> ``P(model, None)``,
  ``bias`` replicated; each device holds a partial sum that the XLA partitioner all-reduces.
* ``"megatron"``: the Linears, in order, alternate column, row, column, row... A
  ``Linear -> activation -> Linear`` block then needs one all-reduce, after its second Linear:
  the activation works on the column-split features without any communication.

A ``Repeat`` (params stacked on a leading axis) gets its block's specs with that axis whole.
Parameters of other layers are replicated. ``overrides`` maps glob patterns over the parameter
names of :func:`tinyjax.named_parameters` (``"0.weight"``, ``"*.bias"``, ``"2.*"``) to the
``PartitionSpec`` to use instead.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import jax
from jax.sharding import PartitionSpec

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params
from tinyjax.params import path_name as param_name

__all__ = ["STRATEGIES", "Strategy", "input_feature_axis", "param_specs"]

Strategy = Literal["data", "column", "row", "megatron"]
STRATEGIES: tuple[str, ...] = ("data", "column", "row", "megatron")

Role = Literal["replicated", "column", "row"]


def param_specs(
    layer: Layer,
    strategy: Strategy = "megatron",
    *,
    overrides: Mapping[str, PartitionSpec] | None = None,
    params: Params | None = None,
    model_axis: str = "model",
) -> Params:
    """The ``PartitionSpec`` of every parameter of ``layer``, as a pytree shaped like its params.

    Args:
      layer: a tinyjax Layer (a Sequential walks its children, nested ones included).
      strategy: ``"data"``, ``"column"``, ``"row"`` or ``"megatron"`` (see the module docstring).
      overrides: ``{pattern: PartitionSpec}``; a pattern is a glob over parameter names
        (``"0.weight"``, ``"*.bias"``); the last matching pattern wins. A pattern that matches
        nothing raises :class:`~tinyjax.ConfigError` (a typo would otherwise go unnoticed).
      params: the params (or ``jax.ShapeDtypeStruct`` leaves) the specs are for; by default
        ``layer.param_shapes()``, computed without allocating anything.
      model_axis: the mesh axis name tensor parallelism splits over.

    Returns:
      A pytree with the structure of ``params`` whose leaves are ``PartitionSpec`` objects.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown sharding strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if params is None:
        params = layer.param_shapes()
    roles = _roles(strategy)
    specs = _specs(layer, params, roles, model_axis)
    return _apply_overrides(specs, params, overrides or {})


def input_feature_axis(layer: Layer, specs: Params) -> Any:
    """The mesh axis (or ``None``) the first Linear of ``layer`` splits its input features over.

    A row-parallel first Linear wants its input split the same way on the last axis: each device
    then multiplies its slice of the features by its rows of the weight, and one all-reduce sums
    the partial products. ``specs`` is the result of :func:`param_specs`.
    """
    found = _first_linear_weight_spec(layer, specs)
    return found[0] if found else None


def _first_linear_weight_spec(layer: Layer, specs: Params) -> PartitionSpec | None:
    if layer.kind == "Linear" and isinstance(specs, Mapping) and isinstance(specs.get("weight"), PartitionSpec):
        return specs["weight"]
    if layer.kind == "Repeat" and len(layer.children) == 1:
        block_specs = _map_specs(lambda spec: PartitionSpec(*tuple(spec)[1:]), specs)
        return _first_linear_weight_spec(layer.children[0], block_specs)
    if layer.children and isinstance(specs, (tuple, list)) and len(specs) == len(layer.children):
        for child, child_specs in zip(layer.children, specs, strict=True):
            found = _first_linear_weight_spec(child, child_specs)
            if found is not None:
                return found
    return None


def _roles(strategy: str) -> Iterator[Role]:
    """The role of each Linear, in the order the walk meets them."""
    while True:
        if strategy == "data":
            yield "replicated"
        elif strategy == "megatron":
            yield "column"
            yield "row"
        else:
            yield strategy  # type: ignore[misc]


def _specs(layer: Layer, params: Params, roles: Iterator[Role], model_axis: str) -> Params:
    if layer.kind == "Linear" and _is_linear_params(params, layer):
        return _linear_specs(params, next(roles), model_axis)
    if _is_stack(layer, params):
        # n copies stacked on a leading axis: the block's specs, with that axis kept whole.
        block_specs = _specs(layer.children[0], _unstacked(params), roles, model_axis)
        return _map_specs(lambda spec: PartitionSpec(None, *spec), block_specs)
    if layer.children and isinstance(params, (tuple, list)) and len(params) == len(layer.children):
        return type(params)(_specs(c, p, roles, model_axis) for c, p in zip(layer.children, params, strict=True))
    return jax.tree_util.tree_map(lambda _: PartitionSpec(), params)


def _is_stack(layer: Layer, params: Params) -> bool:
    """A Repeat: one child whose params are stacked ``n`` times on a new leading axis."""
    n = layer.config.get("n")
    leaves = jax.tree_util.tree_leaves(params)
    return (
        layer.kind == "Repeat"
        and len(layer.children) == 1
        and bool(leaves)
        and all(len(getattr(leaf, "shape", ())) >= 1 and leaf.shape[0] == n for leaf in leaves)
    )


def _unstacked(params: Params) -> Params:
    return jax.tree_util.tree_map(lambda leaf: jax.ShapeDtypeStruct(tuple(leaf.shape[1:]), leaf.dtype), params)


def _map_specs(fn: Any, specs: Params) -> Params:
    return jax.tree_util.tree_map(fn, specs, is_leaf=lambda s: isinstance(s, PartitionSpec))


def _is_linear_params(params: Params, layer: Layer) -> bool:
    if not isinstance(params, Mapping) or not set(params) <= {"weight", "bias"} or "weight" not in params:
        return False
    expected = (layer.config.get("in_features"), layer.config.get("out_features"))
    return tuple(getattr(params["weight"], "shape", ())) == expected


def _linear_specs(params: Mapping[str, Any], role: Role, model_axis: str) -> dict[str, PartitionSpec]:
    if role == "column":
        weight, bias = PartitionSpec(None, model_axis), PartitionSpec(model_axis)
    elif role == "row":
        weight, bias = PartitionSpec(model_axis, None), PartitionSpec()
    else:
        weight, bias = PartitionSpec(), PartitionSpec()
    return {name: (weight if name == "weight" else bias) for name in params}


def _apply_overrides(specs: Params, params: Params, overrides: Mapping[str, PartitionSpec]) -> Params:
    if not overrides:
        return specs
    for pattern, spec in overrides.items():
        if not isinstance(spec, PartitionSpec):
            raise ConfigError(
                f"override {pattern!r} must map to a jax.sharding.PartitionSpec, got {type(spec).__name__}: {spec!r}"
            )
    names = [param_name(path) for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    unused = [p for p in overrides if not any(fnmatch.fnmatchcase(name, p) for name in names)]
    if unused:
        raise ConfigError(f"sharding override pattern(s) {unused} match no parameter; the parameters are {names}")
    leaves, treedef = jax.tree_util.tree_flatten(specs, is_leaf=lambda s: isinstance(s, PartitionSpec))
    for i, name in enumerate(names):
        for pattern, spec in overrides.items():
            if fnmatch.fnmatchcase(name, pattern):
                leaves[i] = spec
    return jax.tree_util.tree_unflatten(treedef, leaves)
