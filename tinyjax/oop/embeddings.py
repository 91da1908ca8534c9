"""TinyTorch's module 11: ``Embedding(vocab_size, embed_dim)``, ``PositionalEncoding(max_seq_len, embed_dim)``."""

from __future__ import annotations

from typing import Any

import tinyjax as tj
from tinyjax.layer import Layer
from tinyjax.oop import autograd
from tinyjax.oop._random import next_key
from tinyjax.oop.spatial import ParamModule
from tinyjax.oop.tensor import Tensor, indices_of

__all__ = ["Embedding", "PositionalEncoding"]


class Embedding(ParamModule):
    """TinyTorch's ``Embedding(vocab_size, embed_dim)``: ``weight`` a Tensor ``(vocab_size, embed_dim)``.

    ``forward(indices)``: integer indices of any shape -> ``(*indices.shape, embed_dim)``. Out-of-range
    indices give NaN rows (TinyTorch raises; a compiled program cannot, see ``tinyjax.Embedding``).
    """

    def __init__(self, vocab_size: int, embed_dim: int) -> None:
        layer = tj.Embedding(vocab_size, embed_dim)
        self._hold(layer, layer.init(next_key()))
        self._configure(layer)

    def _configure(self, layer: Layer) -> None:
        self.vocab_size, self.embed_dim = layer.config["num_embeddings"], layer.config["embedding_dim"]

    def forward(self, indices: Any) -> Tensor:
        """Integer indices (or a Tensor of whole numbers, which TinyTorch stores as float32) -> embeddings."""
        indices = indices_of(indices, self.layer.name)
        return autograd.apply(self.layer.apply, (self.param_tensors(), indices))


class PositionalEncoding(ParamModule):
    """TinyTorch's learned ``PositionalEncoding(max_seq_len, embed_dim)``: ``x + position_embeddings[:T]``."""

    def __init__(self, max_seq_len: int, embed_dim: int) -> None:
        layer = tj.PositionalEncoding(max_seq_len, embed_dim)
        self._hold(layer, layer.init(next_key()))
        self._configure(layer)

    @property
    def position_embeddings(self) -> Tensor:
        """TinyTorch's name for ``weight``, ``(max_seq_len, embed_dim)``."""
        return self.weight
