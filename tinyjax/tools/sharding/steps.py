"""Inference and a training step compiled for a mesh: ``jax.jit`` with in and out shardings.

The layers' code is the single-device code. ``jax.jit(..., in_shardings=..., out_shardings=...)``
tells the XLA partitioner where the params and the batch live; it splits each matmul to match
and inserts the communication (the all-reduce after a row-parallel Linear, the gradient
all-reduce of data parallelism) itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from tinyjax.layer import Layer, Params
from tinyjax.tools.sharding.placement import batch_sharding, param_shardings
from tinyjax.tools.sharding.rules import Strategy, input_feature_axis

__all__ = ["sgd_step", "sharded_apply", "sharded_train_step"]

Loss = Callable[[jax.Array, jax.Array], jax.Array]


def sgd_step(layer: Layer, loss: Loss, learning_rate: float) -> Callable[..., tuple[Params, jax.Array]]:
    """A pure training step ``step(params, x, y) -> (new_params, loss_value)`` (not jitted).

    ``loss(predictions, targets) -> scalar``. The update is plain SGD:
    ``p - learning_rate * d loss / d p`` for every parameter.
    """

    def objective(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
        return loss(layer.raw_apply(params, x), y)

    def step(params: Params, x: jax.Array, y: jax.Array) -> tuple[Params, jax.Array]:
        value, grads = jax.value_and_grad(objective)(params, x, y)
        new_params = jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grads)
        return new_params, value

    return step


def _split_input_features(layer: Layer, fn: Callable[..., Any], shardings: Params, batch: NamedSharding) -> Any:
    """``fn(params, x, *rest)`` with ``x`` split on its features where the first Linear is row-parallel.

    The batch arrives split over the data axis only; slicing its features to match a row-split
    weight is local (no communication), and it lets the partitioner multiply the slices where
    they are and all-reduce the partial sums, instead of gathering the weight.
    """
    specs = jax.tree_util.tree_map(lambda s: s.spec, shardings, is_leaf=lambda s: isinstance(s, NamedSharding))
    feature_axis = input_feature_axis(layer, specs)
    if feature_axis is None:
        return fn

    def split_then_fn(params: Params, x: jax.Array, *rest: Any) -> Any:
        batch_entries = tuple(batch.spec)[:1] if x.ndim > 1 else ()
        middle = (None,) * (x.ndim - 1 - len(batch_entries))
        spec = PartitionSpec(*batch_entries, *middle, feature_axis)
        x = jax.lax.with_sharding_constraint(x, NamedSharding(batch.mesh, spec))
        return fn(params, x, *rest)

    return split_then_fn


def sharded_apply(
    layer: Layer,
    mesh: Mesh,
    strategy: Strategy = "megatron",
    *,
    overrides: Mapping[str, PartitionSpec] | None = None,
    batch_axis: str | None = "data",
    model_axis: str = "model",
) -> Callable[[Params, jax.Array], jax.Array]:
    """``apply(params, x) -> y`` jit-compiled for ``mesh``.

    Params go in as :func:`~tinyjax.sharding.param_shardings` says; the batch ``x`` of shape
    ``(B, ..., in)`` and the output ``(B, ..., out)`` are split over ``batch_axis`` on ``B`` and whole
    on the features (a column-split output is gathered). Arguments placed elsewhere are moved, in one
    process; across processes, ``x`` must already be a global array (``shard_batch``), and the output
    is one too (each process holds its devices' rows; ``jax.experimental.multihost_utils.process_allgather``
    gathers it). The compiled program is available as usual: ``sharded_apply(...).lower(params, x).compile()``.
    """
    shardings = param_shardings(layer, mesh, strategy, overrides=overrides, model_axis=model_axis)
    batch = batch_sharding(mesh, batch_axis)
    forward = _split_input_features(layer, layer.raw_apply, shardings, batch)
    return jax.jit(forward, in_shardings=(shardings, batch), out_shardings=batch)


def sharded_train_step(
    layer: Layer,
    loss: Loss,
    mesh: Mesh,
    strategy: Strategy = "megatron",
    *,
    learning_rate: float,
    overrides: Mapping[str, PartitionSpec] | None = None,
    batch_axis: str | None = "data",
    model_axis: str = "model",
) -> Callable[[Params, jax.Array, jax.Array], tuple[Params, jax.Array]]:
    """:func:`sgd_step` jit-compiled for ``mesh``: ``step(params, x, y) -> (new_params, loss_value)``.

    The new params keep the sharding of the old ones (no device ever holds a whole tensor-parallel
    weight), ``x`` and ``y`` are split over ``batch_axis``, and the loss comes back replicated (every
    process can read it). Across processes, pass ``x`` and ``y`` as :func:`sharded_apply` says.
    """
    shardings = param_shardings(layer, mesh, strategy, overrides=overrides, model_axis=model_axis)
    batch = batch_sharding(mesh, batch_axis)
    replicated = NamedSharding(batch.mesh, PartitionSpec())
    step = _split_input_features(layer, sgd_step(layer, loss, learning_rate), shardings, batch)
    return jax.jit(
        step,
        in_shardings=(shardings, batch, batch),
        out_shardings=(shardings, replicated),
    )
