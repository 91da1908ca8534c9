"""TinyTorch's module 11: ``Embedding``, ``PositionalEncoding``, ``EmbeddingLayer`` and the sinusoidal table."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinyjax._errors import ConfigError
from tinyjax.nn import embedding, transformer
from tinyjax.oop import autograd, bridge
from tinyjax.oop.functions import EmbeddingBackward
from tinyjax.oop.module import FunctionalModule, Module
from tinyjax.oop.tensor import Tensor, indices_of

__all__ = ["Embedding", "EmbeddingLayer", "PositionalEncoding", "create_sinusoidal_embeddings"]


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


def create_sinusoidal_embeddings(max_seq_len: int, embed_dim: int) -> Tensor:
    """TinyTorch's fixed ``(max_seq_len, embed_dim)`` table: ``sin`` on even features, ``cos`` on odd ones."""
    return Tensor(transformer.sinusoids(max_seq_len, embed_dim))


class EmbeddingLayer(Module):
    """TinyTorch's module 11 ``EmbeddingLayer(vocab_size, embed_dim, max_seq_len=512, pos_encoding='learned',
    scale_embeddings=False)``: token embeddings, scaled by ``sqrt(embed_dim)`` if asked, plus positions.

    ``pos_encoding``: ``'learned'`` (a :class:`PositionalEncoding`), ``'sinusoidal'`` (the fixed
    table of :func:`create_sinusoidal_embeddings`) or None. ``forward(tokens)``: ``(B, T)`` ->
    ``(B, T, embed_dim)``, or ``(T,)`` -> ``(T, embed_dim)``.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        max_seq_len: int = 512,
        pos_encoding: str | None = "learned",
        scale_embeddings: bool = False,
    ) -> None:
        if pos_encoding not in ("learned", "sinusoidal", None):
            raise ConfigError(
                f"EmbeddingLayer: pos_encoding must be 'learned', 'sinusoidal' or None, got {pos_encoding!r}"
            )
        self.vocab_size, self.embed_dim, self.max_seq_len = vocab_size, embed_dim, max_seq_len
        self.pos_encoding_type, self.scale_embeddings = pos_encoding, scale_embeddings
        self.token_embedding = Embedding(vocab_size, embed_dim)
        self.pos_encoding: Any = {
            "learned": lambda: PositionalEncoding(max_seq_len, embed_dim),
            "sinusoidal": lambda: create_sinusoidal_embeddings(max_seq_len, embed_dim),
            None: lambda: None,
        }[pos_encoding]()

    def forward(self, tokens: Any) -> Tensor:
        single = len(getattr(tokens, "shape", np.shape(tokens))) == 1
        if single:
            tokens = tokens.reshape(1, -1) if isinstance(tokens, Tensor) else np.asarray(tokens)[None]
        x = self.token_embedding(tokens)
        if self.scale_embeddings:
            x = x * math.sqrt(self.embed_dim)
        if self.pos_encoding_type == "learned":
            x = self.pos_encoding(x)
        elif self.pos_encoding_type == "sinusoidal":
            x = x + Tensor.wrap(self.pos_encoding.array[: x.shape[1]])
        return x[0] if single else x

    def parameters(self) -> list[Tensor]:
        learned = self.pos_encoding.parameters() if self.pos_encoding_type == "learned" else []
        return [*self.token_embedding.parameters(), *learned]

    def __repr__(self) -> str:
        return (
            f"EmbeddingLayer(vocab_size={self.vocab_size}, embed_dim={self.embed_dim}, "
            f"pos_encoding={self.pos_encoding_type!r})"
        )
