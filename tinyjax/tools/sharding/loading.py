"""Feed an epoch of batches to a device mesh: ``tinyjax.data.batches`` placed with the batch sharding.

Two paths, chosen by where the data lives:

* the arrays are NumPy (host memory): each process gathers only its own rows of each batch
  (:func:`~tinyjax.sharding.process_rows`) and hands them to :func:`~tinyjax.sharding.shard_batch`
  (``jax.make_array_from_process_local_data``), which copies each device's block straight from
  that host array to its device: no global batch is assembled on any host;
* the arrays are jax arrays on the mesh (placed once before training, replicated:
  ``jax.device_put(x, NamedSharding(mesh, PartitionSpec()))``): the epoch's permutation is drawn
  on the devices and each batch is gathered there by one compiled program whose output has the
  batch sharding, with the step counter kept on the devices too, so a step transfers nothing, not
  even between devices (a step passes ``jax.transfer_guard("disallow")``; ``tests/test_data.py``
  checks it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from tinyjax import data
from tinyjax._errors import ConfigError
from tinyjax.tools.sharding.placement import batch_sharding, process_rows, shard_batch

__all__ = ["sharded_batches"]


def sharded_batches(
    key: jax.Array | None,
    arrays: Sequence[Any] | Any,
    batch_size: int,
    mesh: Mesh,
    *,
    axis: str | None = "data",
    shuffle: bool = True,
    drop_last: bool = True,
) -> Iterator[Any]:
    """``tinyjax.data.batches(key, arrays, batch_size, ...)`` with each batch placed on ``mesh``.

    Each batch is a tuple of global ``jax.Array`` s of ``batch_size`` rows (a single array for a
    single array), rows split over mesh axis ``axis`` as :func:`~tinyjax.sharding.batch_sharding`
    says, with the same rows in the same order as ``data.batches`` gives for the same key. Every
    process calls it with the same key and the whole dataset (or, for NumPy arrays, any array that
    holds at least the rows it reads). ``batch_size`` must divide over ``axis``; ``drop_last=False``
    is allowed only when the last batch divides too.
    """
    single = not isinstance(arrays, (tuple, list))
    group = (arrays,) if single else tuple(arrays)
    rows = data._rows(group)
    count = data.batch_count(rows, batch_size, drop_last=drop_last)
    sharding = batch_sharding(mesh, axis)
    last = rows - (count - 1) * batch_size if count else batch_size
    for size in {batch_size, min(last, batch_size)}:
        process_rows(mesh, size, axis)  # refuses a batch size the axis does not divide, by name
    if all(isinstance(a, jax.Array) for a in group):
        batches = _on_device(key, group, rows, batch_size, count, sharding, shuffle)
    else:
        batches = _from_host(key, group, rows, batch_size, count, mesh, axis, shuffle)
    return (b[0] if single else b for b in batches)


def _from_host(
    key: jax.Array | None,
    group: tuple[Any, ...],
    rows: int,
    batch_size: int,
    count: int,
    mesh: Mesh,
    axis: str | None,
    shuffle: bool,
) -> Iterator[tuple[jax.Array, ...]]:
    order = data.epoch_order(key, rows, shuffle=shuffle)
    for i in range(count):
        index = order[i * batch_size : (i + 1) * batch_size]
        mine = index[process_rows(mesh, len(index), axis)]
        yield tuple(shard_batch(np.asarray(a)[mine], mesh, axis, process_local=True) for a in group)


def _on_device(
    key: jax.Array | None,
    group: tuple[Any, ...],
    rows: int,
    batch_size: int,
    count: int,
    sharding: NamedSharding,
    shuffle: bool,
) -> Iterator[tuple[jax.Array, ...]]:
    if shuffle and key is None:
        raise ConfigError("sharded_batches needs a key to shuffle (or shuffle=False)")
    replicated = NamedSharding(sharding.mesh, PartitionSpec())
    # Once per epoch: the permutation and a step counter, both on every device of the mesh.
    order = _order(key, rows, shuffle, replicated)
    step = jax.device_put(jnp.zeros((), jnp.int32), replicated)
    for i in range(count):
        size = min(batch_size, rows - i * batch_size)
        batch, step = _step(group, order, step, batch_size, size, sharding)
        yield batch


@partial(jax.jit, static_argnums=(1, 2, 3))
def _order(key: jax.Array | None, rows: int, shuffle: bool, replicated: NamedSharding) -> jax.Array:
    order = jax.random.permutation(cast(jax.Array, key), rows) if shuffle else jnp.arange(rows)
    return jax.lax.with_sharding_constraint(order, replicated)


@partial(jax.jit, static_argnums=(3, 4, 5))
def _step(
    group: tuple[jax.Array, ...], order: jax.Array, step: jax.Array, batch_size: int, size: int, sharding: NamedSharding
) -> tuple[tuple[jax.Array, ...], jax.Array]:
    """Batch ``step`` of the epoch, gathered on the devices with the batch sharding, and ``step + 1``:
    the counter stays on the devices, so a step transfers nothing."""
    index = jax.lax.dynamic_slice(order, (step * batch_size,), (size,))
    batch = tuple(jax.lax.with_sharding_constraint(jnp.take(a, index, axis=0), sharding) for a in group)
    return batch, step + 1
