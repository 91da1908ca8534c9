"""Multi-head self-attention, and its decode step over a key/value cache that is a plain value.

``MultiHeadAttention(E, H)`` projects ``x`` (..., T, E) to queries, keys and values, lets every
query attend to the keys it may see, and projects the heads back. Its params keep the heads as an
axis of their own (as flax's attention does), so a tensor-parallel plan splits the ``"heads"`` axis
and each device holds whole heads (``D = E // H``)::

    {"in_proj_weight": (E, 3, H, D), "in_proj_bias": (3, H, D),   # axis 1: q, k, v
     "out_proj_weight": (H, D, E), "out_proj_bias": (E,)}

They are torch's ``nn.MultiheadAttention`` params reshaped and transposed (``in_proj_weight``
``(3E, E)`` is ``(3, H, D)`` rows by ``E`` columns); :mod:`tinyjax.interop` moves them.

Decoding (:func:`decode`) runs the same math on the new tokens only: their keys and values are
written into a cache ``{"key": (B, L, H, D), "value": (B, L, H, D)}`` at their positions, and the
queries attend to the cache's first ``index + t`` rows. The cache goes in and comes out; nothing
is kept between calls.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._checks import check_features, check_float_input
from tinyjax._errors import ConfigError, DTypeError, ShapeError
from tinyjax.initializers import xavier_uniform, zeros
from tinyjax.layer import Layer, Param, Params, Torch, cached, define, factory
from tinyjax.nn._common import compute_dtype

__all__ = ["MultiHeadAttention", "attend", "attention_weights", "decode", "dense", "init_cache", "projection"]

Cache = dict[str, jax.Array]
"""``{"key": (B, L, H, D), "value": (B, L, H, D)}``: the keys and values of positions ``0..L-1``."""


def _params(embed: int, heads: int, head: int, bias: bool) -> dict[str, Param]:
    """Head-major params (sharding splits ``"heads"``); torch merges the head axes, as ``torch_axes`` say."""
    inner, qkv = heads * head, ("qkv", "heads", "head_dim")
    params = {
        "in_proj_weight": Param((embed, 3, heads, head), _matrix(embed, 3 * inner), ("in", *qkv),
                                torch_axes=(qkv, "in")),
        "in_proj_bias": Param((3, heads, head), zeros, qkv, torch_axes=(qkv,)),
        "out_proj_weight": Param((heads, head, embed), _matrix(inner, embed), (*qkv[1:], "out"),
                                 torch_axes=("out", qkv[1:]), torch_name="out_proj.weight"),
        "out_proj_bias": Param((embed,), zeros, ("out",), torch_name="out_proj.bias"),
    }  # fmt: skip
    return params if bias else {k: v for k, v in params.items() if "weight" in k}


def _matrix(rows: int, columns: int) -> Any:
    """Torch's xavier-uniform over the stacked ``(3E, E)`` / ``(E, E)`` projection, drawn as the (rows, columns)
    matrix (the same bounds) and viewed head-major."""

    def init(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
        return xavier_uniform(key, (rows, columns), dtype).reshape(shape)

    return init


Project = Callable[[Params, jax.Array, str, Any], jax.Array]
"""``project(params, x, which, work) -> y``: the in-projection (``which="in"``: ``(..., T, E)`` ->
``(..., T, 3, H, D)``, bias added) or the out-projection (``"out"``: ``(..., T, H, D)`` -> ``(..., T, E)``),
computed in ``work``. :func:`dense` is the float one; int8 twins (:mod:`tinyjax.nn.quantized`) bring theirs."""


def dense(params: Params, x: jax.Array, which: str, work: Any) -> jax.Array:
    """The float projections (:data:`Project`): an einsum by ``{which}_proj_weight``, plus its bias."""
    w = params[f"{which}_proj_weight"].astype(work)
    features = 1 if which == "in" else 2  # x's trailing axes that the product contracts
    lead = x.shape[: x.ndim - features]
    # the leading axes as one axis of rows, as Linear does: the weight gradient is then a product with no batch
    # axes to move; the weight keeps its head axes, which a tensor-parallel plan splits
    spec = "te,echd->tchd" if which == "in" else "thd,hde->te"
    y = jnp.einsum(spec, x.reshape(-1, *x.shape[x.ndim - features :]), w)
    y = y.reshape(*lead, *y.shape[1:])
    bias = f"{which}_proj_bias"
    return y + params[bias].astype(work) if bias in params else y


def projection(layer: Layer) -> Project:
    """The projections an attention layer computes with: its apply's bound ``project``, else :func:`dense`."""
    project: Project = getattr(inspect.unwrap(layer.raw_apply), "keywords", {}).get("project", dense)
    return project


def _heads(x: jax.Array, params: Params, work: Any, project: Project) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Queries (scaled by ``1/sqrt(D)``), keys and values of ``x`` (..., T, E), each (..., T, H, D)."""
    qkv = project(params, x, "in", work)
    q, k, v = (qkv[..., i, :, :] for i in range(3))
    return q * (1.0 / math.sqrt(q.shape[-1])), k, v


def attention_weights(q: jax.Array, k: jax.Array, allowed: Any = None, additive: Any = None) -> jax.Array:
    """Softmax weights ``(..., H, Tq, Tk)`` of queries (..., Tq, H, D) over keys (..., Tk, H, D).

    ``allowed``: a boolean array broadcastable to (..., H, Tq, Tk), True where a query may see a key;
    ``additive``: a float array of the same broadcast shape added to the scores. A query that may see
    no key at all (a fully masked row) gets a row of zeros, never NaN.
    """
    scores = jnp.einsum("...qhd,...khd->...hqk", q, k)
    if additive is not None:
        scores = scores + additive
    if allowed is not None:
        scores = jnp.where(allowed, scores, -jnp.inf)
    return _masked_softmax(scores)


@jax.custom_jvp
def _masked_softmax(scores: jax.Array) -> jax.Array:
    """Softmax over the last axis where ``-inf`` scores get weight 0 and an all ``-inf`` row gives zeros.

    Its derivative is softmax's own, ``w * (ds - sum(w * ds))``, written out: autodiff of the
    division and of the guards keeps more residuals and makes more passes.
    """
    top = jnp.max(scores, axis=-1, keepdims=True)
    top = jnp.where(jnp.isfinite(top), top, 0)
    weights = jnp.exp(scores - top)
    total = jnp.sum(weights, axis=-1, keepdims=True)
    return weights / jnp.where(total > 0, total, 1)


@_masked_softmax.defjvp
def _masked_softmax_jvp(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
    (scores,), (ds,) = primals, tangents
    weights = _masked_softmax(scores)
    return weights, weights * (ds - jnp.sum(weights * ds, axis=-1, keepdims=True))


def attend(q: jax.Array, k: jax.Array, v: jax.Array, allowed: Any = None, additive: Any = None) -> jax.Array:
    """Attention of queries (..., Tq, H, D) over keys and values (..., Tk, H, D) -> (..., Tq, H, D).

    The weights are :func:`attention_weights` (masks as there); a fully masked query gives zeros.
    """
    return jnp.einsum("...hqk,...khd->...qhd", attention_weights(q, k, allowed, additive), v)


def _mask_terms(mask: Any, scores_shape: tuple[int, ...], name: str) -> tuple[Any, Any]:
    """``(allowed, additive)`` from a user's mask, checked against the scores' shape (..., H, T, T)."""
    if mask is None:
        return None, None
    mask = jnp.asarray(mask)
    try:
        fits = jnp.broadcast_shapes(mask.shape, scores_shape) == scores_shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(name, f"broadcastable to (batch, heads, seq, seq) = {scores_shape}", mask.shape, what="mask")
    if mask.dtype == jnp.bool_:
        return mask, None
    if jnp.issubdtype(mask.dtype, jnp.floating):
        return None, mask
    raise DTypeError(name, f"the mask must be boolean (True: may attend) or floating (added), got {mask.dtype}")


def _apply(
    params: Params,
    x: jax.Array,
    *,
    mask: Any = None,
    embed_dim: int,
    num_heads: int,
    causal: bool,
    name: str,
    project: Project = dense,
) -> jax.Array:
    check_float_input(x, name)
    if jnp.ndim(x) < 2 or x.shape[-1] != embed_dim:
        raise ShapeError(name, (..., "T", embed_dim), tuple(jnp.shape(x)))
    seq = x.shape[-2]
    if seq == 0:  # nothing to attend over: the empty output, not a softmax over no keys
        return jnp.zeros(x.shape, x.dtype)
    allowed, additive = _mask_terms(mask, (*x.shape[:-2], num_heads, seq, seq), name)
    if causal:
        lower = np.tril(np.ones((seq, seq), bool))
        allowed = lower if allowed is None else allowed & lower
    dtype, work = compute_dtype(x, *params.values())
    if additive is not None:
        additive = additive.astype(work)
    q, k, v = _heads(x.astype(work), params, work, project)
    return project(params, attend(q, k, v, allowed, additive), "out", work).astype(dtype)


@factory
@cached
def MultiHeadAttention(
    embed_dim: int, num_heads: int, *, bias: bool = True, causal: bool = False, head_dim: int | None = None
) -> Layer:
    """Multi-head self-attention, as ``torch.nn.MultiheadAttention(E, H, batch_first=True)`` on ``(x, x, x)``.

    Args:
      embed_dim: E, the size of each token's vector; a multiple of ``num_heads``.
      num_heads: H; each head attends over ``D = E // H`` of the projected features.
      bias: whether the projections add learned biases (zeros at init).
      causal: whether position ``t`` sees only positions ``<= t`` (a decoder's mask, built in).
      head_dim: D, each head's size; ``embed_dim // num_heads`` by default. Another value (a layer
        that lost heads to :func:`tinyjax.compress.structured_prune`) projects E to ``H * D`` and
        back; such a layer has no torch counterpart (``torch.nn.MultiheadAttention`` fixes ``D = E / H``).

    Shapes:
      params: ``{"in_proj_weight": (E, 3, H, D), "in_proj_bias": (3, H, D), "out_proj_weight":
      (H, D, E), "out_proj_bias": (E,)}``, head-major (axis 1 of the in-projection: q, k, v): torch's
      params reshaped and transposed (``tinyjax.interop`` moves them); a tensor-parallel plan splits H.
      ``apply(params, x, *, mask=None)``: ``(..., T, E)`` -> ``(..., T, E)``, floating.
      ``mask``: broadcastable to ``(..., H, T, T)`` (batch, heads, query, key): boolean, True where a
      query may attend to a key (torch's ``attn_mask`` is the opposite), or floating, added to the
      scores (``-inf`` forbids). A query row with no allowed key gives zeros before the output
      projection, not NaN. bfloat16 / float16 are computed in float32 and rounded once.

    Cost: ``tj.summary`` uses XLA's own count of the layer alone (``layer.flops`` is None), ``seq^2``
    terms included, as jax versions count the softmax's reductions differently.
    """
    embed = check_features("embed_dim", embed_dim)
    heads = check_features("num_heads", num_heads)
    if head_dim is None and embed % heads:
        raise ConfigError(f"MultiHeadAttention: embed_dim {embed} must be a multiple of num_heads {heads}")
    dim = embed // heads if head_dim is None else check_features("head_dim", head_dim)
    bias, causal = bool(bias), bool(causal)
    standard = dim * heads == embed
    shape = "" if standard else f", head_dim={dim}"
    name = f"MultiHeadAttention({embed}, heads={heads}{shape}{', causal' if causal else ''})"
    torch_kwargs = {"embed_dim": embed, "num_heads": heads, "bias": bias, "batch_first": True}
    return define(
        name,
        functools.partial(_apply, embed_dim=embed, num_heads=heads, causal=causal, name=name),
        params=_params(embed, heads, dim, bias),
        doc=f"``apply(params, x, *, mask=None) -> y``: {name}; ``(..., T, {embed})`` -> ``(..., T, {embed})``; "
        "mask broadcastable to (..., heads, T, T): boolean (True: may attend) or additive.",
        config={"embed_dim": embed, "num_heads": heads, "bias": bias, "causal": causal, "head_dim": dim},
        out_features=embed,  # no in_features: Sequential's build-time probe of one (E,) vector has no seq axis
        torch=Torch(torch_kwargs, "MultiheadAttention") if standard else None,
        flops=None,  # XLA's own count: jax versions count the softmax's reductions differently (docs/performance.md)
        onnx=functools.partial(_onnx, embed_dim=embed, num_heads=heads, causal=causal, head_dim=dim),
    )


def init_cache(batch: int, max_len: int, num_heads: int, head_dim: int, dtype: Any = jnp.float32) -> Cache:
    """An empty cache for ``max_len`` positions: ``{"key": (B, L, H, D), "value": (B, L, H, D)}`` of zeros."""
    shape = (batch, max_len, num_heads, head_dim)
    return {"key": jnp.zeros(shape, dtype), "value": jnp.zeros(shape, dtype)}


def decode(
    params: Params, x: jax.Array, cache: Cache, index: jax.Array, project: Project = dense
) -> tuple[jax.Array, Cache]:
    """Causal attention of ``t`` new tokens at positions ``index .. index+t-1`` over everything cached before them.

    Args:
      params: a MultiHeadAttention's params.
      x: the new tokens, ``(B, t, E)`` (``t = 1`` in a decode step, the prompt's length in a prefill).
      cache: ``{"key", "value"}`` of shape ``(B, L, H, D)``; rows ``0..index-1`` hold earlier positions.
      index: a scalar int, the position of ``x[:, 0]`` (traced: one compiled step serves every position).
      project: the layer's projections (:func:`projection` of the layer; :func:`dense` for float params).

    Returns:
      ``(y, cache)``: ``y`` ``(B, t, E)``, equal to the causal layer's output at those positions over
      the whole prefix; the cache with rows ``index .. index+t-1`` written. The math per step is
      ``O(t * L * E)`` instead of ``O((index + t)^2 * E)`` for recomputing the prefix.
    """
    dtype, work = compute_dtype(x, *params.values())
    q, k, v = _heads(x.astype(work), params, work, project)
    start = (0, index, 0, 0)
    keys = jax.lax.dynamic_update_slice(cache["key"], k.astype(cache["key"].dtype), start)
    values = jax.lax.dynamic_update_slice(cache["value"], v.astype(cache["value"].dtype), start)
    queries = index + jnp.arange(x.shape[-2])
    allowed = jnp.arange(keys.shape[1])[None, :] <= queries[:, None]  # (t, L): a key at or before the query
    out = attend(q, keys.astype(work), values.astype(work), allowed)
    return project(params, out, "out", work).astype(dtype), {"key": keys, "value": values}


OnnxProject = Callable[[Any, Params, str, str, int], str]
"""``project_onnx(graph, names, which, x, out) -> y``: a projection's ONNX nodes on ``x`` (N, T, E), its
weight seen as a matrix of ``out`` columns (``3E`` for ``"in"``, ``E`` for ``"out"``), its bias added."""


def flat_param(graph: Any, names: Params, name: str, *dims: int) -> str:
    """ONNX ``Reshape`` of the param ``name`` to ``dims`` (ONNX Runtime folds it at load)."""
    return graph.node("Reshape", [names[name], graph.constant(np.asarray(dims, np.int64))])


def dense_onnx(graph: Any, names: Params, which: str, x: str, out: int) -> str:
    """:func:`dense` in ONNX: ``MatMul`` by ``{which}_proj_weight`` flattened to (E, out), then its bias."""
    y = graph.node("MatMul", [x, flat_param(graph, names, f"{which}_proj_weight", -1, out)])
    bias = f"{which}_proj_bias"
    return graph.node("Add", [y, flat_param(graph, names, bias, out)]) if bias in names else y


def _onnx(
    graph: Any,
    names: Params,
    x: str,
    *,
    embed_dim: int,
    num_heads: int,
    causal: bool,
    head_dim: int,
    project_onnx: OnnxProject = dense_onnx,
) -> str:
    """ONNX nodes of ``apply(params, x)`` without a ``mask`` (the built-in causal mask maps; a user's mask does not).

    ``x`` (..., T, E) runs as (N, T, E): ``MatMul`` by ``in_proj_weight`` seen as (E, 3E) (its
    (E, 3, H, D) head-major layout, flattened), the bias, ``Reshape``/``Transpose`` to q, k, v
    (N, H, T, D), q scaled by ``1/sqrt(D)`` as ``apply`` scales it, ``MatMul`` by k's transpose, for
    a causal layer ``-inf`` above the diagonal (``Trilu`` of a (T, T) table made at run time), ``Softmax``,
    ``MatMul`` by v, and the output projection by ``out_proj_weight`` seen as (H*D, E). ``T`` and the
    leading axes are read from ``x`` at run time. ONNX Runtime folds the params' reshapes at load.
    """
    head = head_dim
    inner = num_heads * head_dim
    shape = graph.node("Shape", [x])
    length = graph.node("Shape", [x], start=-2, end=-1)  # (1,) int64: T

    sizes = (graph.constant(np.asarray([-1], np.int64)), length, graph.constant(np.asarray([embed_dim], np.int64)))
    rows = graph.node("Concat", list(sizes), axis=0)  # (N, T, E): N the product of the leading axes
    qkv = project_onnx(graph, names, "in", graph.node("Reshape", [x, rows]), 3 * inner)
    split = graph.constant(np.asarray([0, 0, 3, num_heads, head], np.int64))  # 0: N and T as they are
    heads = graph.node("Transpose", [graph.node("Reshape", [qkv, split])], perm=[2, 0, 3, 1, 4])  # (3, N, H, T, D)
    q, k, v = (graph.node("Gather", [heads, graph.constant(np.asarray(i, np.int64))], axis=0) for i in range(3))
    q = graph.node("Mul", [q, graph.constant(np.asarray(1.0 / math.sqrt(head)))])
    scores = graph.node("MatMul", [q, graph.node("Transpose", [k], perm=[0, 1, 3, 2])])  # (N, H, T, T)
    if causal:
        square = graph.node("Concat", [length, length], axis=0)
        above = graph.node("Expand", [graph.constant(np.asarray(-np.inf)), square])
        above = graph.node("Trilu", [above, graph.constant(np.asarray(1, np.int64))], upper=1)  # 0 on and below
        scores = graph.node("Add", [scores, above])
    out = graph.node("MatMul", [graph.node("Softmax", [scores], axis=-1), v])  # (N, H, T, D)
    inner_rows = graph.node("Concat", [sizes[0], length, graph.constant(np.asarray([inner], np.int64))], axis=0)
    out = graph.node("Reshape", [graph.node("Transpose", [out], perm=[0, 2, 1, 3]), inner_rows])
    return graph.node("Reshape", [project_onnx(graph, names, "out", out, embed_dim), shape])
