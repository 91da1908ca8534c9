"""The pre-norm transformer block (GPT-2's, TinyTorch's module 13) and sinusoidal positional encoding.

``TransformerBlock(E, H)`` is ``h = x + attn(norm1(x))``, then ``y = h + mlp(norm2(h))`` with
``mlp = linear2(gelu(linear1(.)))``. Its params are a dict named as the parts of
``torch.nn.TransformerEncoderLayer(..., norm_first=True)`` (``norm1``, ``self_attn``, ``norm2``,
``linear1``, ``linear2``), each part's params as that part's own layer keeps them, so
``tinyjax.interop`` moves a block, or a model of blocks, to and from torch by the parts'
descriptions. :func:`decode` is the block over a key/value cache (:mod:`tinyjax.nn.attention`).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._checks import check_features, check_float_input
from tinyjax._errors import ConfigError, ShapeError
from tinyjax.costs import layer_flops
from tinyjax.layer import Layer, Params, Torch, cached, check_training, define, factory
from tinyjax.nn import attention
from tinyjax.nn.activations import GELU
from tinyjax.nn.dropout import Dropout, check_rate
from tinyjax.nn.embedding import add_rows_onnx
from tinyjax.nn.linear import Linear
from tinyjax.nn.normalization import LayerNorm

__all__ = ["SinusoidalPositionalEncoding", "TransformerBlock", "decode"]


def _parts(embed: int, heads: int, hidden: int, causal: bool) -> dict[str, Layer]:
    return {
        "norm1": LayerNorm(embed),
        "self_attn": attention.MultiHeadAttention(embed, heads, causal=causal),
        "norm2": LayerNorm(embed),
        "linear1": Linear(embed, hidden),
        "linear2": Linear(hidden, embed),
    }


def _mlp(parts: dict[str, Layer], params: Params, h: jax.Array) -> jax.Array:
    hidden = GELU().raw_apply(
        (), parts["linear1"].raw_apply(params["linear1"], parts["norm2"].raw_apply(params["norm2"], h))
    )
    return parts["linear2"].raw_apply(params["linear2"], hidden)


def _apply(
    params: Params,
    x: jax.Array,
    *,
    mask: Any = None,
    key: jax.Array | None = None,
    training: bool | None = None,
    parts: dict[str, Layer],
    rate: float,
    name: str,
) -> jax.Array:
    check_float_input(x, name)
    if jnp.ndim(x) < 2 or x.shape[-1] != parts["norm1"].out_features:
        raise ShapeError(name, (..., "T", parts["norm1"].out_features), tuple(jnp.shape(x)))
    attn = parts["self_attn"].raw_apply(params["self_attn"], parts["norm1"].raw_apply(params["norm1"], x), mask=mask)
    if rate and check_training(training, key, name):
        first, second = jax.random.split(key)  # type: ignore[arg-type]
        drop = Dropout(rate).raw_apply
        h = x + drop((), attn, key=first, training=True)
        return h + drop((), _mlp(parts, params, h), key=second, training=True)
    h = x + attn
    return h + _mlp(parts, params, h)


def _flops(params: Params, x: jax.ShapeDtypeStruct, y: jax.ShapeDtypeStruct, *, parts: dict[str, Layer]) -> int:
    """The parts' own counts along the block, plus the two residual adds."""
    total, h = 2 * math.prod(y.shape), x
    for name in ("norm1", "self_attn"):
        total += layer_flops(parts[name], params[name], h)
        h = jax.eval_shape(parts[name].raw_apply, params[name], h)
    h = x
    for name in ("norm2", "linear1"):
        total += layer_flops(parts[name], params[name], h)
        h = jax.eval_shape(parts[name].raw_apply, params[name], h)
    total += layer_flops(GELU(), (), h)
    return total + layer_flops(parts["linear2"], params["linear2"], h)


@factory
@cached
def TransformerBlock(
    embed_dim: int, num_heads: int, mlp_ratio: int = 4, dropout: float = 0.0, *, causal: bool = True
) -> Layer:
    """A pre-norm transformer block: ``h = x + attn(norm1(x))``; ``y = h + linear2(gelu(linear1(norm2(h))))``.

    Args:
      embed_dim: E; a multiple of ``num_heads``.
      num_heads: H, the attention heads.
      mlp_ratio: the MLP's hidden size is ``mlp_ratio * E`` (4, as GPT-2).
      dropout: the rate of the dropouts after the attention and after the MLP (0: none, and
        ``apply`` takes no key).
      causal: whether position ``t`` attends only to positions ``<= t`` (True: a decoder block).

    Shapes:
      params: ``{"norm1": LayerNorm, "self_attn": MultiHeadAttention, "norm2": LayerNorm,
      "linear1": Linear(E, ratio*E), "linear2": Linear(ratio*E, E)}`` params, named as
      ``torch.nn.TransformerEncoderLayer(E, H, ratio*E, activation="gelu", batch_first=True,
      norm_first=True)``'s parts (with a causal mask in torch for ``causal=True``).
      ``apply(params, x, *, mask=None, key=None, training=None)``: ``(..., T, E)`` -> the same;
      ``mask`` as :func:`~tinyjax.MultiHeadAttention`'s.
    """
    embed = check_features("embed_dim", embed_dim)
    heads = check_features("num_heads", num_heads)
    ratio = check_features("mlp_ratio", mlp_ratio)
    if embed % heads:
        raise ConfigError(f"TransformerBlock: embed_dim {embed} must be a multiple of num_heads {heads}")
    rate, causal = check_rate(dropout), bool(causal)
    parts = _parts(embed, heads, ratio * embed, causal)
    name = f"TransformerBlock({embed}, heads={heads}, mlp={ratio * embed}{', causal' if causal else ''})"
    torch = dict(d_model=embed, nhead=heads, dim_feedforward=ratio * embed, dropout=rate, activation="gelu")
    torch |= {"batch_first": True, "norm_first": True}
    return define(
        name,
        functools.partial(_apply, parts=parts, rate=rate, name=name),
        params=parts,
        doc=f"``apply(params, x, *, mask=None, key=None, training=None) -> y``: {name}; "
        f"``(..., T, {embed})`` -> the same shape.",
        options=("key", "training") if rate else (),
        config={"embed_dim": embed, "num_heads": heads, "mlp_ratio": ratio, "dropout": rate, "causal": causal},
        out_features=embed,  # no in_features: Sequential's build-time probe of one (E,) vector has no seq axis
        torch=Torch(torch, "TransformerEncoderLayer"),
        flops=functools.partial(_flops, parts=parts),
        onnx=functools.partial(_onnx, parts=parts),
    )


def _onnx(graph: Any, names: Params, x: str, *, parts: dict[str, Layer]) -> str:
    """ONNX nodes: the parts' own mappings in ``apply``'s order (the dropouts are identities in inference)."""

    def part(name: str, h: str) -> str:
        return graph.layer(parts[name], names[name], h)

    h = graph.node("Add", [x, part("self_attn", part("norm1", x))])
    hidden = graph.layer(GELU(), (), part("linear1", part("norm2", h)))
    return graph.node("Add", [h, part("linear2", hidden)])


def decode(
    block: Layer, params: Params, x: jax.Array, cache: attention.Cache, index: jax.Array
) -> tuple[jax.Array, attention.Cache]:
    """A causal TransformerBlock over ``t`` new tokens ``(B, t, E)`` at positions ``index..``: ``(y, cache)``.

    The attention runs over the cache (:func:`tinyjax.nn.attention.decode`); the norms and the MLP
    are per position, so ``y`` equals the block's output at those positions over the whole prefix.
    """
    parts = dict(zip(("norm1", "self_attn", "norm2", "linear1", "linear2"), block.children, strict=True))
    normed = parts["norm1"].raw_apply(params["norm1"], x)
    attn, cache = attention.decode(params["self_attn"], normed, cache, index, attention.projection(parts["self_attn"]))
    h = x + attn
    return h + _mlp(parts, params, h), cache


def sinusoids(length: int, dim: int) -> np.ndarray:
    """The ``(length, dim)`` table of "Attention is all you need": ``sin`` on even features, ``cos`` on odd."""
    positions = np.arange(length)[:, None]
    rates = np.exp(-math.log(10000.0) * np.arange(0, dim, 2) / dim)
    table = np.zeros((length, dim), np.float32)
    table[:, 0::2] = np.sin(positions * rates)
    table[:, 1::2] = np.cos(positions * rates)[:, : dim // 2]
    return table


def _add_sinusoids(params: Params, x: jax.Array, *, table: np.ndarray, name: str) -> jax.Array:
    check_float_input(x, name)
    length, dim = table.shape
    if jnp.ndim(x) < 2 or x.shape[-1] != dim or x.shape[-2] > length:
        raise ShapeError(name, f"(..., T, {dim}) with T <= {length}", tuple(jnp.shape(x)))
    return x + jnp.asarray(table[: x.shape[-2]], x.dtype)


@factory
@cached
def SinusoidalPositionalEncoding(max_seq_len: int, embed_dim: int) -> Layer:
    """Fixed sinusoidal positional encoding (TinyTorch's module 11): adds row ``t`` of a sin/cos table at ``t``.

    Args:
      max_seq_len: the longest sequence T it accepts.
      embed_dim: D, the embeddings' size.

    Shapes:
      params: ``()`` (the table is a constant, :func:`sinusoids`).
      ``apply((), x)``: ``(..., T, D)`` with ``T <= max_seq_len`` -> the same shape and dtype.
    """
    length = check_features("max_seq_len", max_seq_len)
    dim = check_features("embed_dim", embed_dim)
    name = f"SinusoidalPositionalEncoding({length}, {dim})"
    table = sinusoids(length, dim)
    return define(
        name,
        functools.partial(_add_sinusoids, table=table, name=name),
        doc=f"``apply((), x) -> y``: {name}; ``(..., T, {dim})`` -> the same shape, ``T <= {length}``.",
        config={"max_seq_len": length, "embed_dim": dim},
        out_features=dim,
        flops=lambda params, x, y: math.prod(y.shape),  # one add per element
        onnx=functools.partial(_sinusoids_onnx, table=table),
    )


def _sinusoids_onnx(graph: Any, names: Params, x: str, *, table: np.ndarray) -> str:
    """ONNX nodes: the table as a constant, its first ``T`` rows added (:func:`~tinyjax.nn.embedding.add_rows_onnx`)."""
    return add_rows_onnx(graph, graph.constant(table), x)
