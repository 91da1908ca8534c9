"""TinyTorch's module 11: ``Embedding(vocab_size, embed_dim)``, ``PositionalEncoding(max_seq_len, embed_dim)``."""

from __future__ import annotations

from typing import Any

from tinyjax.nn import embedding
from tinyjax.oop import autograd, bridge
from tinyjax.oop.functions import EmbeddingBackward
from tinyjax.oop.module import FunctionalModule
from tinyjax.oop.tensor import Tensor, indices_of

__all__ = ["Embedding", "PositionalEncoding"]


class Embedding(FunctionalModule):
    """TinyTorch's ``Embedding(vocab_size, embed_dim)``: ``weight`` a Tensor ``(vocab_size, embed_dim)``.

    ``forward(indices)``: integer indices of any shape -> ``(*indices.shape, embed_dim)``. Out-of-range
    indices give NaN rows (TinyTorch raises; a compiled program cannot, see ``tinyjax.Embedding``).
    """

    weight: Tensor
    grad_fn = EmbeddingBackward

    def __init__(self, vocab_size: int, embed_dim: int) -> None:
        self._build(embedding.Embedding(vocab_size, embed_dim))

    def _configure(self) -> None:
        self.vocab_size, self.embed_dim = self.layer.config["num_embeddings"], self.layer.config["embedding_dim"]

    def forward(self, indices: Any) -> Tensor:
        """Integer indices (or a Tensor of whole numbers, which TinyTorch stores as float32) -> embeddings."""
        indices = indices_of(indices, self.layer.name)
        return autograd.apply(self.layer.apply, (self.param_tensors(), indices), grad_fn=self.grad_fn)


class PositionalEncoding(FunctionalModule):
    """TinyTorch's learned ``PositionalEncoding(max_seq_len, embed_dim)``: ``x + position_embeddings[:T]``."""

    weight: Tensor

    def __init__(self, max_seq_len: int, embed_dim: int) -> None:
        self._build(embedding.PositionalEncoding(max_seq_len, embed_dim))

    def _configure(self) -> None:
        self.max_seq_len, self.embed_dim = self.layer.config["max_seq_len"], self.layer.config["embed_dim"]

    @property
    def position_embeddings(self) -> Tensor:
        """TinyTorch's name for ``weight``, ``(max_seq_len, embed_dim)``."""
        return self.weight


bridge.register(embedding.Embedding, Embedding)
bridge.register(embedding.PositionalEncoding, PositionalEncoding)
