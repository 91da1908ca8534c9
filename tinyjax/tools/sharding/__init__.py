"""Run a tinyjax model on many devices: data parallel, tensor parallel (Megatron style), or both.

JAX's sharding is the engine: a device ``Mesh`` with named axes, a ``PartitionSpec`` per
parameter, and the XLA partitioner, which splits the program and inserts the communication.
This package only decides the specs, from the Layer's description and its params' paths::

    import tinyjax as tj
    from tinyjax import sharding

    model = tj.Sequential(tj.Linear(512, 2048), tj.GELU(), tj.Linear(2048, 512))
    mesh = sharding.make_mesh(data=2, model=4)                 # 8 devices, axes ("data", "model")
    params = sharding.init_sharded(model, key, mesh, "megatron")      # each device builds its shards
    x = sharding.shard_batch(x, mesh)                          # (B, 512), B split over "data"
    y = sharding.sharded_apply(model, mesh, "megatron")(params, x)

Strategies: ``"data"`` (params replicated), ``"column"``, ``"row"``, ``"megatron"`` (Linears
alternate column / row); see :mod:`tinyjax.sharding.rules`. ``overrides={"2.weight": P(...)}``
changes any parameter's spec by name.

Across processes (``jax.distributed.initialize``, one per host), the same calls run on a mesh over
every process's devices; each process feeds its own rows of the batch
(``shard_batch(x[process_rows(mesh, len(x))], mesh, process_local=True)``), and
``sharded_batches(key, (x, y), batch_size, mesh)`` is an epoch of ``tinyjax.data.batches`` placed
that way (device-resident arrays are gathered on the devices, with no host copy per step);
``launch_local`` runs a script as several processes on one machine to try it (``docs/scaling.md``).
"""

from __future__ import annotations

from tinyjax.tools.sharding.loading import sharded_batches
from tinyjax.tools.sharding.placement import (
    auto_axes,
    batch_sharding,
    init_sharded,
    make_mesh,
    param_shardings,
    process_rows,
    shard_batch,
    shard_params,
    shard_shapes,
)
from tinyjax.tools.sharding.processes import LaunchError, launch_local
from tinyjax.tools.sharding.rules import STRATEGIES, Strategy, param_specs
from tinyjax.tools.sharding.steps import sgd_step, sharded_apply, sharded_train_step

__all__ = [
    "STRATEGIES",
    "LaunchError",
    "Strategy",
    "auto_axes",
    "batch_sharding",
    "init_sharded",
    "launch_local",
    "make_mesh",
    "param_shardings",
    "param_specs",
    "process_rows",
    "sgd_step",
    "shard_batch",
    "shard_params",
    "shard_shapes",
    "sharded_apply",
    "sharded_batches",
    "sharded_train_step",
]
