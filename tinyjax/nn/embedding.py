"""Embedding (a lookup table indexed by integers) and a learned PositionalEncoding.

Out-of-range indices: JAX cannot raise inside a compiled program, and ``jnp.take`` by default
(``mode="fill"``) returns its fill value for an index past the end while it wraps negative ones
Python-style; XLA's own gather would clamp them to the nearest row, silently. Embedding instead
gives a row of NaN for every index outside ``[0, num_embeddings)``, negative ones included (PyTorch
raises IndexError on both), so a bad index shows in the loss at once and never reads another
token's row. The gradient of such a row reaches no weight.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._checks import check_features, check_float_input
from tinyjax._errors import DTypeError, ShapeError
from tinyjax.initializers import normal, uniform
from tinyjax.layer import Layer, Param, Params, Torch, cached, define, factory

__all__ = ["Embedding", "PositionalEncoding", "add_rows_onnx"]


def _embedding(params: Params, x: jax.Array, *, vocab: int, name: str) -> jax.Array:
    dtype = jnp.result_type(x)
    if not jnp.issubdtype(dtype, jnp.integer):
        raise DTypeError(name, f"expected integer indices, got {dtype}; convert them with x.astype(jnp.int32)")
    indices = jnp.where(x < 0, vocab, x)  # negative indices are out of range too, as in PyTorch
    return jnp.take(params["weight"], indices, axis=0, mode="fill", fill_value=jnp.nan)


@factory
@cached
def Embedding(num_embeddings: int, embedding_dim: int) -> Layer:
    """A lookup table, as ``torch.nn.Embedding``: row ``i`` of ``weight`` for each index ``i``.

    Args:
      num_embeddings: the vocabulary size V.
      embedding_dim: the size D of each vector.

    Shapes:
      params: ``{"weight": (V, D)}``, standard normal at init (as torch).
      ``apply(params, x)``: integer indices ``x`` of any shape ``(...)`` -> ``(..., D)`` of the
      weight's dtype. Floating indices raise DTypeError; an index outside ``[0, V)`` gives a row of
      NaN (the module docstring says why).
    """
    vocab = check_features("num_embeddings", num_embeddings)
    dim = check_features("embedding_dim", embedding_dim)
    name = f"Embedding({vocab}, {dim})"
    return define(
        name,
        functools.partial(_embedding, vocab=vocab, name=name),
        params={"weight": Param((vocab, dim), normal(1.0), ("vocab", "embed"))},
        doc=f"``apply(params, x) -> y``: {name}; integer ``x`` of shape ``(...)`` -> ``(..., {dim})``.",
        config={"num_embeddings": vocab, "embedding_dim": dim},
        out_features=dim,
        torch=Torch(),
        onnx=functools.partial(_embedding_onnx, vocab=vocab, dim=dim),
    )


def _embedding_onnx(graph: Any, names: Params, x: str, *, vocab: int, dim: int) -> str:
    """ONNX ``Gather`` of the indices' rows from ``weight`` with a row of NaN appended, as ``apply``.

    Every index outside ``[0, V)`` reads the NaN row ``V`` (ONNX's own ``Gather`` would wrap a negative
    index and fail the run on one past the end); the indices, of any integer dtype, are cast to int64.
    One difference: an int64 model gives NaN for an index beyond int32's range, where ``apply`` in
    JAX's default 32-bit mode first wraps it into int32 (``2**32 + 1`` reads row 1). ONNX Runtime
    folds the ``Concat`` of the two constant tables when it loads the model.
    """
    table = graph.node("Concat", [names["weight"], graph.constant(np.full((1, dim), np.nan))], axis=0)
    indices = graph.cast(x, np.int64)
    past_end = graph.constant(np.asarray(vocab, np.int64))
    negative = graph.node("Less", [indices, graph.constant(np.asarray(0, np.int64))])
    indices = graph.node("Min", [graph.node("Where", [negative, past_end, indices]), past_end])
    return graph.node("Gather", [table, indices], axis=0)


def _positional(params: Params, x: jax.Array, *, length: int, dim: int, name: str) -> jax.Array:
    check_float_input(x, name)
    if jnp.ndim(x) < 2 or x.shape[-1] != dim or x.shape[-2] > length:
        raise ShapeError(name, f"(..., T, {dim}) with T <= {length}", tuple(jnp.shape(x)))
    return (x + params["weight"][: x.shape[-2]]).astype(jnp.result_type(x, params["weight"]))


@factory
@cached
def PositionalEncoding(max_seq_len: int, embed_dim: int) -> Layer:
    """Learned positional encoding, as TinyTorch's module 11: adds row ``t`` of ``weight`` at position ``t``.

    Args:
      max_seq_len: the longest sequence T it accepts.
      embed_dim: D, the embeddings' size.

    Shapes:
      params: ``{"weight": (max_seq_len, D)}``, uniform in ``±sqrt(2 / D)`` at init.
      ``apply(params, x)``: ``(..., T, D)`` with ``T <= max_seq_len`` -> the same shape.
      PyTorch has no such module (no torch counterpart).
    """
    length = check_features("max_seq_len", max_seq_len)
    dim = check_features("embed_dim", embed_dim)
    name = f"PositionalEncoding({length}, {dim})"
    init = uniform(math.sqrt(2.0 / dim))  # small: they are added to the token embeddings (TinyTorch's choice)
    return define(
        name,
        functools.partial(_positional, length=length, dim=dim, name=name),
        params={"weight": Param((length, dim), init, ("position", "embed"))},
        doc=f"``apply(params, x) -> y``: {name}; ``(..., T, {dim})`` -> the same shape, ``T <= {length}``.",
        config={"max_seq_len": length, "embed_dim": dim},
        out_features=dim,  # no in_features: the input needs a sequence axis, not one sample (D,)
        flops=_added,
        onnx=_positional_onnx,
    )


def _positional_onnx(graph: Any, names: Params, x: str) -> str:
    return add_rows_onnx(graph, names["weight"], x)


def add_rows_onnx(graph: Any, table: str, x: str) -> str:
    """ONNX nodes of ``x + table[:T]`` for ``x`` (..., T, D): ``T`` read by ``Shape`` at run time, then ``Slice``.

    So the exported graph serves any batch and, where the input's ``T`` is symbolic, any ``T`` up to
    the table's length (the positional encodings' mapping).
    """
    length = graph.node("Shape", [x], start=-2, end=-1)  # (1,) int64: T
    zero = graph.constant(np.zeros(1, np.int64))  # Slice's start, and its axis
    return graph.node("Add", [x, graph.node("Slice", [table, zero, length, zero])])


def _added(params: Params, x: jax.ShapeDtypeStruct, y: jax.ShapeDtypeStruct) -> int:
    return math.prod(y.shape)  # one add per element
