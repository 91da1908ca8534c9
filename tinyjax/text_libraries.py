"""Vocabularies of maintained BPE libraries (``tokenizers``, ``tiktoken``) behind ``tinyjax.text``'s functions.

An optional extra (``pip install 'tinyjax[text]'``): the course's own BPE (:func:`tinyjax.text.train_bpe`)
needs neither library. A :class:`LibraryVocab` is a value like :class:`tinyjax.text.Vocab`:
``text.encode`` / ``text.decode`` / ``len`` / ``token`` / ``text.save_vocab`` / ``text.load_vocab``
take it, and two are equal when their documents (the library's own JSON, or the ranks and
pattern) are equal. The library object is built from that document and is never compared.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyjax._errors import ConfigError

__all__ = ["GPT2_PATTERN", "TIKTOKEN_FORMAT", "LibraryVocab", "load_tiktoken", "load_tokenizers"]

EXTRA = "pip install 'tinyjax[text]'"
TIKTOKEN_FORMAT = "tinyjax.text.tiktoken/1"
# GPT-2's pre-tokenizer (tiktoken's r50k / p50k encodings): contractions, letters, digits, other
# symbols, each with an optional leading space; whitespace runs. cl100k / o200k files need their own.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""


def _require(module: str) -> Any:
    """Import optional library ``module`` or say which extra installs it."""
    try:
        return __import__(module)
    except ImportError as error:
        raise ConfigError(f"this needs the '{module}' library: {EXTRA} ({error})") from None


@dataclass(frozen=True)
class LibraryVocab:
    """A vocabulary of an outside library: ``kind`` is ``"tokenizers"`` or ``"tiktoken"``.

    ``document``: what :func:`tinyjax.text.save_vocab` writes, ASCII JSON. For ``"tokenizers"`` it
    is the library's ``tokenizer.json`` (``tokenizers.Tokenizer.from_file`` reads the saved file);
    for ``"tiktoken"`` it is ``{"format", "pattern", "ranks": {base64 bytes: rank}, "special"}``.
    ``len(vocab)`` is the number of ids (the embedding table's rows). ``vocab.library`` is the
    library's own tokenizer (``tokenizers.Tokenizer`` or ``tiktoken.Encoding``).
    """

    kind: str
    document: str
    library: Any = field(init=False, repr=False, compare=False)
    size: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind == "tokenizers":
            tokenizers = _require("tokenizers")
            try:
                library = tokenizers.Tokenizer.from_str(self.document)
            except Exception as error:  # the library raises its own untyped errors on a bad document
                raise ConfigError(f"not a tokenizers tokenizer.json: {error}") from None
            size = int(library.get_vocab_size(with_added_tokens=True))
        elif self.kind == "tiktoken":
            library = _tiktoken_encoding(self.document)
            size = int(library.n_vocab)
        else:
            raise ConfigError(f"a library vocabulary's kind is 'tokenizers' or 'tiktoken', got {self.kind!r}")
        object.__setattr__(self, "library", library)
        object.__setattr__(self, "size", size)

    def __len__(self) -> int:
        return self.size

    def token(self, i: int) -> str:
        """Id ``i`` as the library shows it (byte-level tokens show bytes as the library maps them)."""
        if self.kind == "tokenizers":
            shown = self.library.id_to_token(i)
            if shown is None:
                raise ConfigError(f"id {i} is not in this vocabulary of {len(self)} ids")
            return str(shown)
        return repr(self.library.decode_single_token_bytes(i))

    def to_json(self) -> str:
        """The vocabulary as ASCII JSON (:func:`tinyjax.text.load_vocab` reads it back)."""
        return self.document

    def encode(self, s: str) -> list[int]:
        """The library's ids for ``s``: no special tokens added, special tokens' text encoded as text."""
        if self.kind == "tokenizers":
            return list(self.library.encode(s, add_special_tokens=False).ids)
        return list(self.library.encode(s, disallowed_special=()))

    def decode(self, ids: Sequence[int] | np.ndarray | Any, errors: str) -> str:
        """The text of ``ids``; ``errors`` is ``"strict"`` or ``"replace"`` (as ``tinyjax.text.decode``)."""
        values = np.asarray(ids).reshape(-1).tolist()
        bad = [(k, v) for k, v in enumerate(values) if not isinstance(v, int) or not 0 <= v < len(self)]
        if bad and errors == "strict":
            k, v = bad[0]
            raise ConfigError(f"id {v!r} at position {k} is not in this vocabulary of {len(self)} ids")
        if self.kind == "tokenizers":
            # An id outside the vocabulary decodes to nothing in the library; write U+FFFD instead.
            parts, run = [], list[int]()
            for v in values:
                if isinstance(v, int) and 0 <= v < len(self):
                    run.append(v)
                    continue
                parts += [self.library.decode(run, skip_special_tokens=False), "\ufffd"]
                run = []
            return "".join([*parts, self.library.decode(run, skip_special_tokens=False)])
        raw = b"".join(self._bytes(k, v, errors) for k, v in enumerate(values))
        try:
            return raw.decode("utf-8", errors=errors)
        except UnicodeDecodeError as error:
            raise ConfigError(f"the ids do not spell UTF-8 text: {error}") from None

    def _bytes(self, k: int, v: Any, errors: str) -> bytes:
        """Token ``v``'s bytes; an id tiktoken lacks (ranks may skip ids) is an error or U+FFFD."""
        try:
            return bytes(self.library.decode_single_token_bytes(v))
        except (KeyError, TypeError, OverflowError):
            if errors == "strict":
                raise ConfigError(f"id {v!r} at position {k} is not in this vocabulary") from None
            return "\ufffd".encode()


def load_tokenizers(source: str | os.PathLike[str] | Any) -> LibraryVocab:
    """A vocabulary over a Hugging Face ``tokenizers`` tokenizer.

    ``source``: a ``tokenizer.json`` path, or a ``tokenizers.Tokenizer`` (e.g. one trained in
    memory with ``trainers.BpeTrainer``). ``text.encode`` gives the library's own ids (no special
    tokens added); ``decode(encode(s)) == s`` holds where the tokenizer is lossless (a byte-level
    pre-tokenizer and decoder, no normalizer), not in general: a ``Whitespace`` pre-tokenizer
    drops the spaces, a lowercasing normalizer the case.
    """
    tokenizers = _require("tokenizers")
    document = source.to_str() if isinstance(source, tokenizers.Tokenizer) else Path(source).read_text(encoding="utf-8")
    try:
        document = json.dumps(json.loads(document), ensure_ascii=True)
    except ValueError as error:
        raise ConfigError(f"{source!r} is not a tokenizer.json: {error}") from None
    return LibraryVocab("tokenizers", document)


def load_tiktoken(
    source: str | os.PathLike[str] | Mapping[bytes, int],
    *,
    pattern: str = GPT2_PATTERN,
    special: Mapping[str, int] | None = None,
) -> LibraryVocab:
    """A vocabulary over a ``tiktoken`` byte-level BPE, from local ranks (tiktoken never downloads here).

    ``source``: a ``.tiktoken`` file (one ``base64(token bytes) rank`` per line, the format of
    tiktoken's ``load_tiktoken_bpe``) or a dict ``{token bytes: rank}``; ``pattern``: the
    pre-tokenizer regex (GPT-2's by default; pass cl100k's or o200k's with their files);
    ``special``: special tokens ``{text: id}``, which ``text.encode`` treats as ordinary text.
    Byte-level, so ``decode(encode(s)) == s`` for every string that UTF-8 can encode.
    """
    ranks = dict(source) if isinstance(source, Mapping) else _read_ranks(Path(source))
    if not all(isinstance(k, bytes) and isinstance(v, int) for k, v in ranks.items()):
        raise ConfigError("tiktoken ranks map token bytes to int ranks")
    document = json.dumps(
        {
            "format": TIKTOKEN_FORMAT,
            "pattern": pattern,
            "ranks": {base64.b64encode(k).decode("ascii"): v for k, v in ranks.items()},
            "special": dict(special or {}),
        },
        ensure_ascii=True,
    )
    return LibraryVocab("tiktoken", document)


def _read_ranks(path: Path) -> dict[bytes, int]:
    """The ranks of a ``.tiktoken`` file, read here: tiktoken's reader caches by path name in a temp dir."""
    ranks = {}
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except (ValueError, binascii.Error):
            raise ConfigError(f"{path}:{number} is not 'base64-token rank': {line[:80]!r}") from None
    return ranks


def _tiktoken_encoding(document: str) -> Any:
    tiktoken = _require("tiktoken")
    try:
        value = json.loads(document)
        if value.get("format") != TIKTOKEN_FORMAT:
            raise ValueError(f"format {value.get('format')!r}")
        ranks = {base64.b64decode(k): int(v) for k, v in value["ranks"].items()}
        special = {str(k): int(v) for k, v in value["special"].items()}
        pattern = str(value["pattern"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as error:
        raise ConfigError(f"not a tinyjax tiktoken vocabulary ({TIKTOKEN_FORMAT}): {error}") from None
    try:
        return tiktoken.Encoding("tinyjax", pat_str=pattern, mergeable_ranks=ranks, special_tokens=special)
    except ValueError as error:
        raise ConfigError(f"tiktoken refuses these ranks: {error}") from None
