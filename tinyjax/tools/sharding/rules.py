"""Which mesh axis each parameter is split over: a ``PartitionSpec`` pytree from the layers' logical axes.

The rules read only what each layer says about its params (:meth:`tinyjax.Layer.param_info`: the
logical axes, such as Linear's ``weight: ("in", "out")``, ``bias: ("out",)``), never a layer's name:

* ``"data"``: every parameter replicated (data parallelism splits the batch, not the params).
* ``"column"``: every projection (a layer whose params have an ``"in"`` and an ``"out"`` axis) split
  on ``"out"`` (Megatron's column-parallel layer): ``weight (in, out)`` -> ``P(None, model)``,
  ``bias (out,)`` -> ``P(model)``.
* ``"row"``: every projection split on ``"in"`` (row-parallel): ``weight`` -> ``P(model, None)``,
  ``bias`` replicated; each device holds a partial sum that the XLA partitioner all-reduces.
* ``"megatron"``: the projections, in order, alternate column, row, column, row... A
  ``Linear -> activation -> Linear`` block then needs one all-reduce, after its second Linear:
  the activation works on the column-split features without any communication.

* Attention heads: under every tensor-parallel strategy (all but ``"data"``), a param with a
  ``"heads"`` axis is split on it: MultiHeadAttention's ``in_proj_weight (E, 3, H, D)`` ->
  ``P(None, None, model, None)``, ``out_proj_weight (H, D, E)`` -> ``P(model, None, None)``. Each
  device then holds whole heads (their queries, keys, values and rows of the output projection),
  attends without communication, and one all-reduce sums the heads' projections: Megatron's
  attention. The number of heads must be divisible by the model axis' size.

A ``Repeat``'s params have a leading ``"layers"`` axis, kept whole. Parameters with no ``"in"`` /
``"out"`` axis, and parameters no layer describes (a user's pair), are replicated. ``overrides``
maps glob patterns over the parameter names of :func:`tinyjax.named_parameters` (``"0.weight"``,
``"*.bias"``, ``"2.*"``) to the ``PartitionSpec`` to use instead.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import jax
from jax.sharding import PartitionSpec

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, ParamInfo, Params, is_param_info
from tinyjax.params import path_name as param_name

__all__ = ["STRATEGIES", "Strategy", "input_feature_axis", "param_specs"]

Strategy = Literal["data", "column", "row", "megatron"]
STRATEGIES: tuple[str, ...] = ("data", "column", "row", "megatron")

Role = Literal["replicated", "column", "row"]
_SPLIT = {"column": "out", "row": "in"}  # the logical axis each role splits


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
        ``layer.param_shapes()``, computed without allocating anything. Their structure must be the layer's.
      model_axis: the mesh axis name tensor parallelism splits over.

    Returns:
      A pytree with the structure of ``params`` whose leaves are ``PartitionSpec`` objects.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown sharding strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if params is None:
        params = layer.param_shapes()
    infos, treedef = _infos(layer, params)
    roles = _roles(strategy)
    role_of: dict[str, Role] = {}
    specs = []
    for name, info in infos:
        owner = name.rpartition(".")[0]
        if owner not in role_of:
            role_of[owner] = next(roles) if _is_projection(infos, owner) else "replicated"
        split = "heads" if strategy != "data" and info.axes is not None and "heads" in info.axes else None
        specs.append(_spec(info, split or _SPLIT.get(role_of[owner]), model_axis))
    return _apply_overrides(jax.tree_util.tree_unflatten(treedef, specs), params, overrides or {})


def input_feature_axis(layer: Layer, specs: Params) -> Any:
    """The mesh axis (or ``None``) the first projection of ``layer`` splits its input features over.

    A row-parallel first Linear wants its input split the same way on the last axis: each device
    then multiplies its slice of the features by its rows of the weight, and one all-reduce sums
    the partial products. ``specs`` is the result of :func:`param_specs`.
    """
    infos, _ = _infos(layer, layer.param_shapes())
    leaves = jax.tree_util.tree_leaves(specs, is_leaf=lambda s: isinstance(s, PartitionSpec))
    by_name = dict(zip((name for name, _ in _in_order(layer)), leaves, strict=True))
    for name, info in infos:
        if info.axes is not None and "in" in info.axes and _is_projection(infos, name.rpartition(".")[0]):
            spec = tuple(by_name[name])
            position = info.axes.index("in")
            return spec[position] if position < len(spec) else None
    return None


def _infos(layer: Layer, params: Params) -> tuple[list[tuple[str, ParamInfo]], Any]:
    """``[(name, ParamInfo)]`` in parameter order (layer order, weight before bias) and the params' treedef."""
    info_tree = layer.param_info()
    treedef = jax.tree_util.tree_structure(params)
    if str(jax.tree_util.tree_structure(info_tree, is_leaf=is_param_info)) != str(treedef):
        raise ConfigError(f"the params given do not have the structure of {layer.name}'s params")
    return _in_order(layer), treedef


def _in_order(layer: Layer) -> list[tuple[str, ParamInfo]]:
    paths, _ = jax.tree_util.tree_flatten_with_path(layer.param_info(), is_leaf=is_param_info)
    return [(param_name(path), info) for path, info in paths]


def _is_projection(infos: list[tuple[str, ParamInfo]], owner: str) -> bool:
    """Whether the layer at ``owner`` (a name prefix) has a param with both an ``"in"`` and an ``"out"`` axis."""
    return any(
        name.rpartition(".")[0] == owner and info.axes is not None and {"in", "out"} <= set(info.axes)
        for name, info in infos
    )


def _spec(info: ParamInfo, split: str | None, model_axis: str) -> PartitionSpec:
    """The spec splitting logical axis ``split`` of the param over ``model_axis`` (None: replicated)."""
    if info.axes is None or split not in info.axes:
        return PartitionSpec()
    return PartitionSpec(*(model_axis if axis == split else None for axis in info.axes))


def _roles(strategy: str) -> Iterator[Role]:
    """The role of each projection, in the order the parameters come."""
    while True:
        if strategy == "data":
            yield "replicated"
        elif strategy == "megatron":
            yield "column"
            yield "row"
        else:
            yield strategy  # type: ignore[misc]


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
