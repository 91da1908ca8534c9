"""State beside the trainable params: split one params pytree in two for the optimizer, merge them back.

A layer with state (BatchNorm) keeps its running statistics in its params, named as PyTorch's
buffers (``running_mean``, ``running_var``, ``num_batches_tracked``), so that init, save / load,
PyTorch interop, sharding, export and the OOP bridge carry them like any param. The layer marks
them as state (``Layer.state``, ``ParamInfo.state``); these two functions keep them away from the
optimizer (docs/state.md)::

    trainable, state = tj.split_state(model, params)     # same structure, None where the other holds a leaf
    opt_state = optimizer.init(trainable)                # the optimizer never sees the state
    logits, state = model.apply(tj.merge_state(trainable, state), x, training=True)
"""

from __future__ import annotations

from typing import Any

import jax

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params, is_param_info

__all__ = ["merge_state", "split_state"]


def _is_none(value: Any) -> bool:
    return value is None


def split_state(layer: Layer, params: Params) -> tuple[Params, Params]:
    """``(trainable, state)``: two pytrees with the structure of ``params``, each None where the other has a leaf.

    A layer without state gives ``(params, all None)``. Both are valid pytrees for ``jax.grad``,
    ``optax`` and ``jax.jit`` (None is an empty subtree). Raises ConfigError when ``params`` do not
    have the structure of ``layer``'s params.
    """
    if not isinstance(layer, Layer):
        swapped = "; the arguments look swapped: call split_state(model, params)" if isinstance(params, Layer) else ""
        raise ConfigError(f"split_state takes the tinyjax Layer first, got {type(layer).__name__}{swapped}")
    info = layer.param_info()
    if str(jax.tree_util.tree_structure(info, is_leaf=is_param_info)) != str(jax.tree_util.tree_structure(params)):
        raise ConfigError(f"split_state: the params given do not have the structure of {layer.name}'s params")

    def pick(want_state: bool) -> Params:
        return jax.tree_util.tree_map(
            lambda i, p: p if i.state == want_state else None, info, params, is_leaf=is_param_info
        )

    return pick(False), pick(True)


def merge_state(trainable: Params, state: Params) -> Params:
    """The params pytree back from :func:`split_state`'s two halves (a new state from training included).

    Raises ConfigError when the halves do not have one structure (two models' halves, or an
    optimizer's state given for the params' state).
    """
    left: Any = jax.tree_util.tree_structure(trainable, is_leaf=_is_none)
    right: Any = jax.tree_util.tree_structure(state, is_leaf=_is_none)
    if left != right:
        raise ConfigError(
            "merge_state: the trainable half and the state half do not have the same structure (each is the "
            f"params' structure, None where the other holds a leaf); got {left.num_leaves} and {right.num_leaves} "
            "leaves: pass the two halves split_state(model, params) returned (the state from apply(..., training=True))"
        )
    both = zip(
        jax.tree_util.tree_leaves(trainable, is_leaf=_is_none),
        jax.tree_util.tree_leaves(state, is_leaf=_is_none),
        strict=True,
    )
    clash = sum(1 for t, s in both if (t is None) == (s is None))
    if clash:
        raise ConfigError(
            f"merge_state: {clash} position(s) hold a leaf in both halves or in neither; pass the two halves "
            "split_state(model, params) returned (each None where the other holds a leaf)"
        )
    return jax.tree_util.tree_map(lambda t, s: s if t is None else t, trainable, state, is_leaf=_is_none)


def no_state(params: Params) -> Params:
    """The state of a layer without state: ``params``' structure with every leaf None."""
    return jax.tree_util.tree_map(lambda _: None, params)
