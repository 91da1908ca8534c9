"""``Repeat(block, n)``: n copies of a block, params stacked on a leading axis, applied by ``lax.scan``.

The block is traced and compiled once however large ``n`` is, so compile time stays flat as depth
grows, where an unrolled ``Sequential([block] * n)`` traces every copy.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._checks import check_features, check_key
from tinyjax._errors import ConfigError, DTypeError, ParamsError, ShapeError
from tinyjax.costs import layer_flops
from tinyjax.layer import Layer, ParamInfo, Params, as_layer, block_signature, cached, define, factory, is_param_info

__all__ = ["Repeat"]


REMAT = {
    "dots": jax.checkpoint_policies.dots_with_no_batch_dims_saveable,
    "all": jax.checkpoint_policies.nothing_saveable,
}
"""``Repeat``'s ``remat`` choices: the ``jax.checkpoint`` policy each block's step runs under."""


@factory
def Repeat(block: Any, n: int, *, remat: str | None = "dots") -> Layer:
    """``n`` copies of ``block`` (a Layer or an ``(init, apply)`` pair) applied one after another.

    * ``init(key)``: the block's params for ``n`` subkeys (``jax.vmap`` over the keys), every leaf
      stacked on a new leading axis of size ``n``: a Linear(64, 64) block gives
      ``{"weight": (n, 64, 64), "bias": (n, 64)}``. :func:`tinyjax.named_parameters` keeps the
      block's names (``"weight"``), each holding all ``n`` copies.
    * ``apply(params, x, *, key=None)``: ``jax.lax.scan`` over the stacked params; equal to the
      unrolled ``Sequential([block] * n)`` with ``params_i = tree_map(lambda a: a[i], params)``.
      A key is split ``n`` ways when the block takes one (Dropout inside). A block with state
      (BatchNorm inside) returns ``(y, new_state)`` with ``training=True``, the state stacked as the params.
    * ``remat``: what the backward pass keeps of each block's forward (``jax.checkpoint``'s policy
      around the scanned step; the values are the same whichever is chosen). ``"dots"`` (default):
      the matmuls' outputs are kept, the cheap elementwise work (norms, GELU, softmax) is recomputed
      in the backward pass instead of being stacked ``n`` deep in memory, which XLA:CPU does slowly
      (docs/performance.md, "Training step"); ``"all"``: everything is recomputed (least memory);
      ``None``: everything is kept (no ``jax.checkpoint``).

    The block must map its input shape to itself; that is checked when the Repeat is built (for
    a block that fixes its sizes) or at trace time, with a :class:`~tinyjax.ShapeError`.
    """
    if remat is not None and remat not in REMAT:
        raise ConfigError(f"Repeat remat must be one of {sorted(REMAT)} or None, got {remat!r}")
    return _repeat(as_layer(block), check_features("n", n), remat)


@cached
def _repeat(block: Layer, n: int, remat: str | None) -> Layer:
    name = f"Repeat({block.name}, n={n}{'' if remat == 'dots' else f', remat={remat}'})"
    if block.in_features is not None and block.out_features is not None and block.in_features != block.out_features:
        raise ShapeError(
            f"{name} block",
            (..., block.in_features),
            (..., block.out_features),
            what="output",
            hint="A repeated block must map its input shape to itself",
        )

    def init(key: jax.Array) -> Params:
        return jax.vmap(block.init)(jax.random.split(key, n))

    def apply(params: Params, x: jax.Array, **given: Any) -> Any:
        key = given.pop("key", None)
        leaves = jax.tree_util.tree_leaves(params)
        if any(jnp.ndim(leaf) == 0 or jnp.shape(leaf)[0] != n for leaf in leaves):
            got = sorted({jnp.shape(leaf)[0] if jnp.ndim(leaf) else None for leaf in leaves}, key=str)
            raise ParamsError(name, f"params stacked on a leading axis of size {n}", got, what="params")
        keyed = key is not None and block.takes_key
        if keyed:
            check_key(key, name, where="apply")

        def step(h: jax.Array, slice_: tuple[Params, jax.Array | None]) -> tuple[jax.Array, Params]:
            block_params, block_key = slice_
            try:
                out = block.raw_apply(block_params, h, **options, **({"key": block_key} if keyed else {}))
            except (ShapeError, DTypeError) as error:
                raise error.within(f"{name} block") from None
            out, state = out if collect else (out, None)
            if out.shape != h.shape or out.dtype != h.dtype:
                raise ShapeError(
                    f"{name} block",
                    tuple(h.shape),
                    tuple(out.shape),
                    what="output",
                    hint="A repeated block must map its input shape and dtype to themselves",
                )
            return out, state

        options = {name: value for name, value in given.items() if value is not None}
        collect = options.get("training") is True and block.stateful
        keys = jax.random.split(key, n) if key is not None and keyed else None
        body = step if remat is None else jax.checkpoint(step, policy=REMAT[remat], prevent_cse=False)
        y, states = jax.lax.scan(body, x, (params, keys), length=n)
        return (y, states) if collect else y

    def flops(params: Params, x: jax.ShapeDtypeStruct, y: jax.ShapeDtypeStruct) -> int:
        return n * layer_flops(block, _unstacked(params), x)

    apply.__signature__ = block_signature(block.options)  # type: ignore[attr-defined]
    return define(
        name,
        apply,
        init=init,
        doc=f"``apply(params, x, **options) -> y``: {name}, params stacked on a leading axis of size {n}.",
        options=sorted(block.options),
        config={"n": n, "remat": remat},
        children=(block,),
        in_features=block.in_features,
        out_features=block.out_features,
        flops=flops,
        info=lambda: jax.tree_util.tree_map(ParamInfo.stacked, block.param_info(), is_leaf=is_param_info),
        onnx=functools.partial(_unrolled_onnx, block, n),
    )


def _unstacked(params: Params) -> Params:
    return jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(tuple(a.shape[1:]), a.dtype), params)


def _unrolled_onnx(block: Layer, n: int, graph: Any, names: Params, x: str) -> str:
    """ONNX nodes: the block ``n`` times, copy ``i`` reading ``Gather(stacked, i)`` of each stacked param.

    Unrolled rather than an ONNX ``Loop``: the gathers read initializers at constant indices, which
    ONNX Runtime folds into plain weights when it loads the model, so the graph runs as a Sequential.
    """
    for i in range(n):
        index = graph.constant(np.asarray(i, np.int64))
        copy = jax.tree_util.tree_map(lambda name, index=index: graph.node("Gather", [name, index], axis=0), names)
        x = graph.layer(block, copy, x)
    return x
