"""TinyTorch's tokenizers (module 10): ``Tokenizer``, ``CharTokenizer``, ``BPETokenizer``,
``create_tokenizer``, ``tokenize_dataset``, ``analyze_tokenization``, over :mod:`tinyjax.text`.

The ids are TinyTorch's: ``<UNK>`` is id 0 and the vocabulary's tokens follow, and a character the
vocabulary lacks encodes to 0. Underneath, each tokenizer holds a :class:`tinyjax.text.Vocab`
(``tokenizer.functional_vocab``), whose own ``text.encode`` / ``text.decode`` are lossless for any
string; the ids here are that vocabulary's minus 16 (its 17 reserved ids become the one ``<UNK>``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinyjax import text
from tinyjax._errors import ConfigError

__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "Tokenizer",
    "analyze_tokenization",
    "create_tokenizer",
    "tokenize_dataset",
]

_SHIFT = text.RESERVED - 1  # functional id - _SHIFT = TinyTorch id; the reserved ids collapse onto <UNK>


class Tokenizer:
    """The interface: ``encode(text) -> list[int]`` and ``decode(ids) -> str``."""

    TOK_UNKNOWN = "<UNK>"
    TOK_EOW = text.END_OF_WORD

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError("Subclasses must implement encode()")

    def decode(self, tokens: list[int]) -> str:
        raise NotImplementedError("Subclasses must implement decode()")


class _OverVocab(Tokenizer):
    """A tokenizer whose ids are ``functional_vocab``'s, shifted so that ``<UNK>`` is 0."""

    functional_vocab: text.Vocab

    def _set(self, vocab: text.Vocab) -> None:
        self.functional_vocab = vocab
        self.vocab = [Tokenizer.TOK_UNKNOWN] + [vocab.token(i) for i in range(text.RESERVED, len(vocab))]
        self.token_to_id = {t: i for i, t in reversed(list(enumerate(self.vocab)))}
        self.id_to_token = dict(enumerate(self.vocab))

    def encode(self, text_: str) -> list[int]:
        ids = text.encode(self.functional_vocab, text_)
        out, i = [], 0
        while i < len(ids):
            if ids[i] == 0:  # an escaped character: TinyTorch's <UNK>
                out.append(0)
                i += 1 + text.ESCAPE_DIGITS
            else:
                out.append(ids[i] - _SHIFT)
                i += 1
        return out

    def decode(self, tokens: list[int]) -> str:
        parts = []
        for t in np.asarray(tokens).reshape(-1).tolist():
            known = 0 < t < len(self.vocab)
            parts.append(self.functional_vocab.texts[t + _SHIFT] if known else Tokenizer.TOK_UNKNOWN)
        return "".join(parts)


class CharTokenizer(_OverVocab):
    """One id per character: ``vocab`` (kept in its order) after ``<UNK>``; ``build_vocab(corpus)``
    replaces it with the corpus's characters, sorted. ``decode`` writes ``<UNK>`` for id 0."""

    def __init__(self, vocab: Sequence[str] | None = None) -> None:
        chars = list(vocab or [])
        if not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise ConfigError("CharTokenizer's vocab is a list of single characters")
        reserved = text.RESERVED
        self._set(text.Vocab("char", ("",) * reserved + tuple(chars), (False,) * (reserved + len(chars))))
        self.unk_id = 0

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def char_to_id(self) -> dict[str, int]:
        return self.token_to_id

    @property
    def id_to_char(self) -> dict[int, str]:
        return self.id_to_token

    def build_vocab(self, corpus: Sequence[str]) -> None:
        """Rebuild the vocabulary from the characters of ``corpus`` (a list of texts)."""
        self._set(text.char_vocab(corpus))


class BPETokenizer(_OverVocab):
    """TinyTorch's byte-pair encoding (:func:`tinyjax.text.train_bpe` underneath).

    ``BPETokenizer(vocab_size)`` stores the target (``target_vocab_size``); ``train(corpus)`` learns
    merges until ``len(vocab) == vocab_size`` (``<UNK>`` included); ``vocab_size`` is the actual size,
    ``merges`` the learned pairs as token strings. Words keep the whitespace after them, so
    ``decode(encode(s)) == s`` for text made of the corpus's characters (others become ``<UNK>``).
    """

    def __init__(self, vocab_size: int = 1000) -> None:
        self.target_vocab_size = _check_size(vocab_size)
        self.vocab: list[str] = []
        self.merges: list[tuple[str, str]] = []
        self.token_to_id: dict[str, int] = {}
        self.id_to_token: dict[int, str] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _get_word_tokens(self, word: str) -> list[str]:
        """``"hello" -> ['h', 'e', 'l', 'l', 'o</w>']``."""
        return [*word[:-1], word[-1] + Tokenizer.TOK_EOW] if word else []

    def _get_pairs(self, word_tokens: list[str]) -> set[tuple[str, str]]:
        """The adjacent pairs of ``word_tokens``."""
        return set(itertools.pairwise(word_tokens))

    def train(self, corpus: Sequence[str], vocab_size: int | None = None) -> None:
        """Learn the merges from ``corpus`` (a list of texts)."""
        if vocab_size is not None:
            self.target_vocab_size = _check_size(vocab_size)
        vocab = text.train_bpe(corpus, self.target_vocab_size + _SHIFT)
        self._set(vocab)
        self.merges = [(vocab.token(a), vocab.token(b)) for a, b, _ in vocab.merges]

    def encode(self, text_: str) -> list[int]:
        return super().encode(text_) if self.vocab else []

    def decode(self, tokens: list[int]) -> str:
        return super().decode(tokens) if self.vocab else ""


def _check_size(vocab_size: Any) -> int:
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ConfigError(f"vocab_size must be a positive int, got {vocab_size!r}")
    return vocab_size


def create_tokenizer(strategy: str = "char", vocab_size: int = 1000, corpus: Sequence[str] | None = None) -> Tokenizer:
    """A ``CharTokenizer`` (``"char"``) or ``BPETokenizer`` (``"bpe"``), trained on ``corpus`` if given."""
    if strategy == "char":
        char = CharTokenizer()
        if corpus:
            char.build_vocab(corpus)
        return char
    if strategy == "bpe":
        bpe = BPETokenizer(vocab_size)
        if corpus:
            bpe.train(corpus, vocab_size)
        return bpe
    raise ConfigError(f"unknown tokenization strategy {strategy!r}: use 'char' or 'bpe'")


def tokenize_dataset(texts: Sequence[str], tokenizer: Tokenizer, max_length: int | None = None) -> list[list[int]]:
    """Each text's ids, cut to ``max_length`` if given (``tinyjax.text.bucket`` pads them to static shapes)."""
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 0):
        raise ConfigError(f"max_length must be a non-negative int or None, got {max_length!r}")
    return [tokenizer.encode(t)[:max_length] for t in texts]


def analyze_tokenization(texts: Sequence[str], tokenizer: Tokenizer) -> dict[str, Any]:
    """``vocab_size``, ``avg_sequence_length``, ``max_sequence_length``, ``total_tokens``,
    ``compression_ratio`` (characters per token) and ``unique_tokens`` of ``texts``."""
    encoded = [tokenizer.encode(t) for t in texts]
    lengths = [len(ids) for ids in encoded]
    every = [i for ids in encoded for i in ids]
    return {
        "vocab_size": getattr(tokenizer, "vocab_size", 0),
        "avg_sequence_length": float(np.mean(lengths)) if lengths else 0.0,
        "max_sequence_length": max(lengths, default=0),
        "total_tokens": len(every),
        "compression_ratio": sum(len(t) for t in texts) / len(every) if every else 0.0,
        "unique_tokens": len(set(every)),
    }
