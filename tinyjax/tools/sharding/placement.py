"""Put params and batches on a device mesh: ``NamedSharding`` pytrees, ``jax.device_put``, shard shapes.

A mesh is a grid of devices with named axes, e.g. ``("data", "model")`` of shape ``(2, 4)`` on
8 devices. A parameter's ``PartitionSpec`` (from :func:`~tinyjax.sharding.param_specs`) says
which of its dimensions is split over which mesh axis; every axis it does not name holds a copy.

Across several processes (``jax.distributed.initialize``: the mesh then holds every process's
devices), everything here works unchanged, given the same values on every process, except that a
process usually holds only its own rows of the batch: ``shard_batch(rows, mesh, process_local=True)``
with the rows :func:`process_rows` names.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import jax
from jax.sharding import AbstractMesh, AxisType, Mesh, NamedSharding, PartitionSpec

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params
from tinyjax.params import path_name as param_name
from tinyjax.params import path_order
from tinyjax.tools.sharding.rules import Strategy, param_specs

__all__ = [
    "auto_axes",
    "batch_sharding",
    "init_sharded",
    "make_mesh",
    "param_shardings",
    "process_rows",
    "shard_batch",
    "shard_params",
    "shard_shapes",
]

AnyMesh = Mesh | AbstractMesh


def auto_axes(mesh: Mesh) -> Mesh:
    """``mesh`` with every axis ``AxisType.Auto`` (the same devices and names).

    ``jax.make_mesh`` gives ``Explicit`` axes by default, under which a matmul whose contracted
    dimension is split (a row-parallel Linear) must name its output sharding in the layer's own
    code. tinyjax keeps sharding out of the layers, so it places everything on ``Auto`` axes and
    lets the partitioner choose where the all-reduce goes.
    """
    if not isinstance(mesh, Mesh) or mesh.are_all_axes_auto:
        return mesh
    return Mesh(mesh.devices, mesh.axis_names, axis_types=(AxisType.Auto,) * len(mesh.axis_names))


def make_mesh(data: int = 1, model: int = 1, *, devices: Any = None) -> Mesh:
    """A ``(data, model)`` mesh over the first ``data * model`` devices, axes named ``"data"`` and ``"model"``.

    The axes are ``AxisType.Auto``: the XLA partitioner decides where the communication goes
    (the all-reduce of a row-parallel Linear), so the layers need no sharding code of their own.
    ``make_mesh(model=8)`` is tensor parallel over 8 devices, ``make_mesh(data=8)`` data parallel,
    ``make_mesh(2, 4)`` both. On a CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=8``
    (set before JAX starts) simulates 8 devices.
    """
    devices = list(jax.devices() if devices is None else devices)
    for axis, size in (("data", data), ("model", model)):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"mesh axis {axis!r} must have a positive int size, got {size!r}")
    if data * model > len(devices):
        raise ConfigError(
            f"a ({data} x {model}) mesh needs {data * model} devices but JAX sees {len(devices)} "
            f"({devices[0].platform}); on a CPU, set XLA_FLAGS=--xla_force_host_platform_device_count="
            f"{data * model} before JAX starts"
        )
    return jax.make_mesh((data, model), ("data", "model"), (AxisType.Auto, AxisType.Auto), devices=devices)


def param_shardings(
    layer: Layer,
    mesh: Mesh,
    strategy: Strategy = "megatron",
    *,
    overrides: Mapping[str, PartitionSpec] | None = None,
    params: Params | None = None,
    model_axis: str = "model",
) -> Params:
    """A pytree of ``NamedSharding`` shaped like ``layer``'s params, checked against ``mesh``.

    The shardings are on ``mesh`` with its axes made ``Auto`` (see :func:`auto_axes`).

    Arguments as in :func:`~tinyjax.sharding.param_specs`. Raises :class:`~tinyjax.ConfigError`
    when a spec names an axis the mesh lacks or splits a dimension the axis size does not divide.
    """
    if params is None:
        params = layer.param_shapes()
    specs = param_specs(layer, strategy, overrides=overrides, params=params, model_axis=model_axis)
    _check_specs(specs, params, mesh)
    mesh = auto_axes(mesh)
    return jax.tree_util.tree_map(
        lambda spec: NamedSharding(mesh, spec), specs, is_leaf=lambda s: isinstance(s, PartitionSpec)
    )


def shard_params(
    layer: Layer,
    params: Params,
    mesh: Mesh,
    strategy: Strategy = "megatron",
    *,
    overrides: Mapping[str, PartitionSpec] | None = None,
    model_axis: str = "model",
) -> Params:
    """``params`` placed on ``mesh`` by ``strategy``: each device receives only its own shards."""
    shardings = param_shardings(layer, mesh, strategy, overrides=overrides, params=params, model_axis=model_axis)
    return jax.device_put(params, shardings)


def init_sharded(
    layer: Layer,
    key: jax.Array,
    mesh: Mesh,
    strategy: Strategy = "megatron",
    *,
    overrides: Mapping[str, PartitionSpec] | None = None,
    model_axis: str = "model",
) -> Params:
    """``layer.init(key)`` computed straight into its shards: no device ever holds a whole split weight.

    The same values as ``shard_params(layer, layer.init(key), mesh, strategy)`` (the same key gives
    the same params), but ``jax.jit(init, out_shardings=...)`` lets each device build only its part,
    which is what a layer too big for one device needs, and what every process runs on several hosts.
    """
    shardings = param_shardings(layer, mesh, strategy, overrides=overrides, model_axis=model_axis)
    return jax.jit(layer.init, out_shardings=shardings)(key)


def batch_sharding(mesh: Mesh, axis: str | None = "data") -> NamedSharding:
    """The sharding of a batch ``(B, ...)``: ``B`` split over ``axis``, the rest replicated.

    ``axis=None``, or an axis the mesh lacks, replicates the batch on every device.
    """
    mesh = auto_axes(mesh)
    if axis is None or axis not in mesh.axis_names:
        return NamedSharding(mesh, PartitionSpec())
    return NamedSharding(mesh, PartitionSpec(axis))


def shard_batch(x: Any, mesh: Mesh, axis: str | None = "data", *, process_local: bool = False) -> jax.Array:
    """``x`` of shape ``(B, ...)`` placed on ``mesh`` with ``B`` split over ``axis`` (see :func:`batch_sharding`).

    ``process_local=False``: ``x`` is the whole batch, the same on every process.

    ``process_local=True``: ``x`` of shape ``(b, ...)`` holds only this process's rows of the batch,
    those :func:`process_rows` names (every process passes its own); the result is the global
    ``(B, ...)`` array. ``B = b * splits / k``, where ``splits`` is the size of ``axis`` and ``k``
    how many of its slices this process's devices hold (processes that hold the same slices, as
    replicas along ``"model"`` do, pass the same rows). In one process it is ``shard_batch(x, mesh)``.
    """
    sharding = batch_sharding(mesh, axis)
    shape = tuple(getattr(x, "shape", ()))
    if not process_local:
        _check_leaf("batch", shape, sharding.spec, mesh)
        return jax.device_put(x, sharding)
    splits = _axis_size(mesh, sharding.spec[0]) if sharding.spec else 1
    held = len(_local_blocks(sharding, splits))
    if not shape or shape[0] % held:
        raise ConfigError(
            f"this process's part of the batch, of shape {shape}, must have a number of rows divisible by "
            f"the {held} slice(s) of mesh axis {axis!r} its devices hold; pass the rows process_rows names"
        )
    global_shape = (shape[0] // held * splits, *shape[1:])
    return jax.make_array_from_process_local_data(sharding, x, global_shape)


def process_rows(mesh: Mesh, batch_size: int, axis: str | None = "data") -> slice:
    """The rows of a global batch of ``batch_size`` rows that this process feeds to ``mesh``.

    ``x[process_rows(mesh, len(x))]`` is this process's ``x`` for
    ``shard_batch(..., process_local=True)``; a data loader reads only those rows. On a mesh from
    :func:`make_mesh` over several processes, ``make_mesh(data=processes, model=local devices)``
    say, process ``i`` gets the ``i``-th block of ``batch_size / processes`` rows; processes
    whose devices hold the same slices of ``axis`` get the same rows; in one process, every row.
    """
    sharding = batch_sharding(mesh, axis)
    _check_leaf("batch", (batch_size,), sharding.spec, mesh)
    blocks = _local_blocks(sharding, batch_size)
    start, stop = blocks[0][0], blocks[-1][1]
    if any(a[1] != b[0] for a, b in itertools.pairwise(blocks)):
        raise ConfigError(
            f"this process's devices hold rows {blocks} of the batch, not one contiguous block; build the "
            f"mesh with each process's devices next to each other along {axis!r} (tinyjax.sharding.make_mesh "
            f"does), or index the batch with those blocks yourself"
        )
    return slice(start, stop)


def _local_blocks(sharding: NamedSharding, size: int) -> list[tuple[int, int]]:
    """The distinct ``(start, stop)`` row ranges of a ``(size,)`` batch that this process's devices hold."""
    indices = sharding.addressable_devices_indices_map((size,)).values()
    return sorted({index[0].indices(size)[:2] for index in indices if index is not None})


def shard_shapes(
    layer: Layer,
    mesh: AnyMesh,
    strategy: Strategy = "megatron",
    *,
    overrides: Mapping[str, PartitionSpec] | None = None,
    params: Params | None = None,
    model_axis: str = "model",
) -> Params:
    """One device's share of the params, as ``jax.ShapeDtypeStruct`` leaves: nothing is allocated.

    ``mesh`` may be a ``jax.sharding.AbstractMesh`` (sizes and names only), so the per-device
    memory of a model too big for this machine can be computed here::

        mesh = jax.sharding.AbstractMesh((8,), ("model",))
        tinyjax.param_bytes(shard_shapes(Linear(12288, 49152), mesh, "column"))   # 302_014_464
    """
    if params is None:
        params = layer.param_shapes()
    specs = param_specs(layer, strategy, overrides=overrides, params=params, model_axis=model_axis)
    _check_specs(specs, params, mesh)

    def shard(leaf: Any, spec: PartitionSpec) -> jax.ShapeDtypeStruct:
        return jax.ShapeDtypeStruct(_shard_shape(leaf.shape, spec, mesh), leaf.dtype)

    return jax.tree_util.tree_map(shard, params, specs)


def _axis_size(mesh: AnyMesh, entry: Any) -> int:
    names = entry if isinstance(entry, tuple) else (entry,)
    return math.prod(dict(mesh.shape)[name] for name in names)


def _shard_shape(shape: tuple[int, ...], spec: PartitionSpec, mesh: AnyMesh) -> tuple[int, ...]:
    entries = tuple(spec) + (None,) * (len(shape) - len(spec))
    return tuple(
        dim if entry is None else dim // _axis_size(mesh, entry) for dim, entry in zip(shape, entries, strict=True)
    )


def _check_specs(specs: Params, params: Params, mesh: AnyMesh) -> None:
    spec_leaves = jax.tree_util.tree_leaves(specs, is_leaf=lambda s: isinstance(s, PartitionSpec))
    param_leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    paired = sorted(zip(param_leaves, spec_leaves, strict=True), key=lambda item: path_order(item[0][0]))
    for (path, leaf), spec in paired:  # in named_parameters order: the first bad one is reported
        _check_leaf(param_name(path) or "params", tuple(leaf.shape), spec, mesh)


def _check_leaf(name: str, shape: tuple[int, ...], spec: PartitionSpec, mesh: AnyMesh) -> None:
    if len(spec) > len(shape):
        raise ConfigError(f"{name} of shape {shape} cannot take the {len(spec)}-dimensional spec {spec}")
    for dim, entry in zip(shape, spec, strict=False):
        if entry is None:
            continue
        for axis in entry if isinstance(entry, tuple) else (entry,):
            if axis not in mesh.axis_names:
                raise ConfigError(
                    f"{name}: the spec {spec} splits over mesh axis {axis!r}, but the mesh has axes "
                    f"{tuple(mesh.axis_names)}; build the mesh with that axis (tinyjax.sharding.make_mesh) "
                    f"or pass model_axis= / an override naming one of its axes"
                )
        size = _axis_size(mesh, entry)
        if dim % size:
            raise ConfigError(
                f"{name} of shape {shape}: a dimension of size {dim} cannot be split evenly over mesh axis "
                f"{entry!r} of size {size}; use sizes divisible by {size} or override {name!r} with another "
                f"PartitionSpec"
            )
