"""Text as values: character and byte-pair-encoding vocabularies, lossless encode / decode, static shapes.

A vocabulary is an immutable value (:class:`Vocab`): train it, pass it around, save it as JSON::

    from tinyjax import text

    vocab = text.train_bpe(corpus, 512)            # or text.char_vocab(corpus)
    ids = text.encode(vocab, "def f(x):\\n")       # list[int]
    assert text.decode(vocab, ids) == "def f(x):\\n"
    text.save_vocab(vocab, "vocab.json"); vocab = text.load_vocab("vocab.json")
    batches = text.bucket([text.encode(vocab, s) for s in lines], lengths=(16, 32, 64), batch_size=8)

**BPE** is TinyTorch's (module 10): the text is cut into words, each word starts as its characters
with the end-of-word marker ``</w>`` on the last one, and training merges the most frequent
adjacent pair (counts weighted by word frequency; a tie goes to the pair seen first in the corpus;
merges never cross a word boundary) until the vocabulary has ``vocab_size`` tokens. Encoding
replays the merges in the order they were learned. Two changes make it lossless where the course's
is not (its ``decode`` turns every ``</w>`` into one space and drops the text's own whitespace):

* a word is a run of non-space characters together with the whitespace after it (so the
  word-final token, ``"else:\n        </w>"``, carries the whitespace the course's ``</w>`` stood
  for as one space, and newlines and indentation are text the model sees; whitespace at the start
  of a text is a word of its own), and ``</w>`` is a flag on a token, not text: a token is
  ``(text, ends_word)``, ``decode`` joins the texts. The characters ``"</w>"`` in the input are
  four ordinary characters;
* a character the vocabulary lacks is escaped, not lost: the reserved token ``<esc>`` followed by
  six hex-digit tokens ``<0>`` ... ``<f>`` spelling its code point. Ids 0-16 are these reserved
  tokens in every vocabulary, character-level too.

So ``decode(vocab, encode(vocab, s)) == s`` for every string ``s``.

**Library vocabularies** (the optional extra ``pip install 'tinyjax[text]'``): ``load_tokenizers``
(a Hugging Face ``tokenizers`` tokenizer or its ``tokenizer.json``) and ``load_tiktoken`` (a local
``.tiktoken`` ranks file or ranks dict) give a :class:`LibraryVocab` that ``encode``, ``decode``,
``save_vocab`` and ``load_vocab`` take like a :class:`Vocab`, with the library's own ids; see
``tinyjax/text_libraries.py``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from tinyjax._errors import ConfigError, ShapeError
from tinyjax.text_libraries import GPT2_PATTERN, TIKTOKEN_FORMAT, LibraryVocab, load_tiktoken, load_tokenizers

__all__ = [
    "END_OF_WORD",
    "ESCAPE_DIGITS",
    "GPT2_PATTERN",
    "RESERVED",
    "Batch",
    "LibraryVocab",
    "Padded",
    "Vocab",
    "bucket",
    "char_vocab",
    "decode",
    "encode",
    "load_tiktoken",
    "load_tokenizers",
    "load_vocab",
    "pad",
    "save_vocab",
    "train_bpe",
]

END_OF_WORD = "</w>"  # how a word-final token is shown (TinyTorch's marker); never part of a token's text
HEX = "0123456789abcdef"
ESCAPE_DIGITS = 6  # hex digits after <esc>: every code point up to 0x10FFFF
RESERVED = 1 + len(HEX)  # id 0 is <esc>, ids 1-16 the hex digits
_WORDS = re.compile(r"\S+\s*|\s+")  # a word with the whitespace after it; leading whitespace alone
_FORMAT = "tinyjax.text.vocab/1"


@dataclass(frozen=True)
class Vocab:
    """A tokenizer's vocabulary: an immutable value, equal when its tokens and merges are equal.

    ``kind``: ``"char"`` or ``"bpe"``. ``texts[i]``: the text token ``i`` stands for (``""`` for
    the 17 reserved ids); ``ends[i]``: whether it closes a word (BPE's ``</w>``); ``merges``: BPE's
    rules ``(left, right, merged)`` in the order they were learned. ``len(vocab)`` is the number of
    ids (the embedding table's rows); ``vocab.token(i)`` shows id ``i`` as TinyTorch writes it
    (``"the</w>"``).
    """

    kind: str
    texts: tuple[str, ...]
    ends: tuple[bool, ...]
    merges: tuple[tuple[int, int, int], ...] = ()
    _base: dict[tuple[str, bool], int] = field(init=False, repr=False, compare=False)
    _ranks: dict[tuple[int, int], tuple[int, int]] = field(init=False, repr=False, compare=False)
    _cache: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("char", "bpe"):
            raise ConfigError(f"a vocabulary's kind is 'char' or 'bpe', got {self.kind!r}")
        if len(self.texts) != len(self.ends) or len(self.texts) < RESERVED:
            raise ConfigError("a vocabulary needs one 'ends' flag per token and the 17 reserved ids first")
        base: dict[tuple[str, bool], int] = {}
        for i in range(RESERVED, len(self.texts)):
            if len(self.texts[i]) == 1:
                base.setdefault((self.texts[i], self.ends[i]), i)
        ranks: dict[tuple[int, int], tuple[int, int]] = {}
        for rank, (left, right, merged) in enumerate(self.merges):
            if not all(RESERVED <= i < len(self.texts) for i in (left, right, merged)):
                raise ConfigError(f"merge {rank} ({left}, {right}) -> {merged} names an id outside the vocabulary")
            ranks.setdefault((left, right), (rank, merged))
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_ranks", ranks)
        object.__setattr__(self, "_cache", {})

    def __len__(self) -> int:
        return len(self.texts)

    def token(self, i: int) -> str:
        """Id ``i`` as a person reads it: ``"<esc>"``, ``"<a>"``, ``"e"``, ``"the</w>"``."""
        if i == 0:
            return "<esc>"
        if 0 < i < RESERVED:
            return f"<{HEX[i - 1]}>"
        return self.texts[i] + (END_OF_WORD if self.ends[i] else "")

    def to_json(self) -> str:
        """The vocabulary as a JSON document (``Vocab.from_json`` reads it back)."""
        return json.dumps(
            {
                "format": _FORMAT,
                "kind": self.kind,
                "texts": list(self.texts[RESERVED:]),
                "ends": [int(e) for e in self.ends[RESERVED:]],
                "merges": [list(m) for m in self.merges],
            },
            ensure_ascii=True,
        )

    @classmethod
    def from_json(cls, document: str) -> Vocab:
        """The vocabulary :meth:`to_json` wrote."""
        try:
            value = json.loads(document)
            if value.get("format") != _FORMAT:
                raise ValueError(f"format {value.get('format')!r}")
            texts = ("",) * RESERVED + tuple(str(t) for t in value["texts"])
            ends = (False,) * RESERVED + tuple(bool(e) for e in value["ends"])
            merges = tuple((int(a), int(b), int(c)) for a, b, c in value["merges"])
            kind = value["kind"]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ConfigError(f"not a tinyjax vocabulary ({_FORMAT}): {error}") from None
        return cls(kind, texts, ends, merges)


def save_vocab(vocab: Vocab | LibraryVocab, path: str | os.PathLike[str]) -> None:
    """Write ``vocab`` to ``path`` as JSON (ASCII, so any text survives any file system's encoding).

    A ``tokenizers`` vocabulary is written as the library's own ``tokenizer.json``; a ``tiktoken``
    one as its ranks, pattern and special tokens (``tinyjax.text.tiktoken/1``).
    """
    with open(path, "w", encoding="ascii") as file:
        file.write(vocab.to_json())


def load_vocab(path: str | os.PathLike[str]) -> Vocab | LibraryVocab:
    """The vocabulary :func:`save_vocab` wrote to ``path`` (or any ``tokenizer.json``, with the extra)."""
    with open(path, encoding="utf-8") as file:
        document = file.read()
    try:
        value = json.loads(document)
    except ValueError as error:
        raise ConfigError(f"{os.fspath(path)!r} is not a vocabulary: {error}") from None
    if isinstance(value, dict) and value.get("format") == TIKTOKEN_FORMAT:
        return LibraryVocab("tiktoken", document)
    if isinstance(value, dict) and "format" not in value and "model" in value:  # a tokenizers tokenizer.json
        return load_tokenizers(path)
    return Vocab.from_json(document)


def _texts(corpus: str | Iterable[str]) -> list[str]:
    texts = [corpus] if isinstance(corpus, str) else list(corpus)
    if not all(isinstance(t, str) for t in texts):
        raise ConfigError("a corpus is a string or an iterable of strings")
    return texts


def _reserved() -> tuple[list[str], list[bool]]:
    return [""] * RESERVED, [False] * RESERVED


def char_vocab(corpus: str | Iterable[str]) -> Vocab:
    """A character-level vocabulary: the reserved ids, then every character of ``corpus``, sorted.

    ``corpus``: a string or an iterable of strings. Characters not in it are escaped by ``encode``.
    """
    texts, ends = _reserved()
    chars = sorted(set().union(*map(set, _texts(corpus))))
    return Vocab("char", (*texts, *chars), (*ends, *[False] * len(chars)))


def train_bpe(corpus: str | Iterable[str], vocab_size: int) -> Vocab:
    """TinyTorch's byte-pair encoding trained on ``corpus`` until the vocabulary has ``vocab_size`` ids.

    ``corpus``: a string or an iterable of strings (each cut into words separately). The first
    vocabulary is the 17 reserved ids and every character of the corpus in two forms, inside a word
    and word-final (``"e"`` and ``"e</w>"``), kept even when that exceeds ``vocab_size``; training
    stops early when no adjacent pair is left. See the module's docstring for the merge rule.
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ConfigError(f"vocab_size must be a positive int, got {vocab_size!r}")
    word_counts = Counter(word for t in _texts(corpus) for word in _WORDS.findall(t))
    texts, ends = _reserved()
    chars = sorted({c for word in word_counts for c in word})
    for end in (False, True):
        texts += chars
        ends += [end] * len(chars)
    ids = {(t, e): i for i, (t, e) in enumerate(zip(texts, ends, strict=True)) if i >= RESERVED}
    words = [[ids[(c, False)] for c in word[:-1]] + [ids[(word[-1], True)]] for word in word_counts]
    merges = _learn_merges(words, list(word_counts.values()), texts, ends, vocab_size)
    return Vocab("bpe", tuple(texts), tuple(ends), tuple(merges))


def _pairs(word: list[int]) -> Iterable[tuple[int, int]]:
    return itertools.pairwise(word)


def _learn_merges(
    words: list[list[int]], counts: list[int], texts: list[str], ends: list[bool], vocab_size: int
) -> list[tuple[int, int, int]]:
    """Merge the most frequent pair until ``len(texts) == vocab_size``; grows ``texts`` / ``ends``.

    The same merges as recounting every pair after each merge (the course's loop), found by updating
    only the words that contain the merged pair: ``where`` maps a pair to the words that held it
    (a superset: a word is never removed), a heap of ``(-count, pair)`` holds the candidates; an
    entry whose count went down is pushed again with its count when it comes up.
    """
    frequency: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    for w, (word, count) in enumerate(zip(words, counts, strict=True)):
        for pair in _pairs(word):
            frequency[pair] = frequency.get(pair, 0) + count
            where.setdefault(pair, set()).add(w)
    heap = [(-n, pair) for pair, n in frequency.items()]
    heapq.heapify(heap)
    known = {(t, e): i for i, (t, e) in enumerate(zip(texts, ends, strict=True)) if i >= RESERVED}
    merges: list[tuple[int, int, int]] = []
    while len(texts) < vocab_size:
        best = _most_frequent(heap, frequency, where, words)
        if best is None:
            break
        left, right = best
        merged = known.setdefault((texts[left] + texts[right], ends[right]), len(texts))
        if merged == len(texts):
            texts.append(texts[left] + texts[right])
            ends.append(ends[right])
        merges.append((left, right, merged))
        grown: set[tuple[int, int]] = set()
        for w in where.pop(best):
            old, count = words[w], counts[w]
            new = _merge(old, best, merged)
            if len(new) == len(old):
                continue
            for pair in _pairs(old):
                frequency[pair] -= count
            for pair in _pairs(new):
                frequency[pair] = frequency.get(pair, 0) + count
                where.setdefault(pair, set()).add(w)
                grown.add(pair)
            words[w] = new
        for pair in grown:
            heapq.heappush(heap, (-frequency[pair], pair))
        frequency.pop(best, None)
    return merges


def _most_frequent(
    heap: list[tuple[int, tuple[int, int]]],
    frequency: dict[tuple[int, int], int],
    where: dict[tuple[int, int], set[int]],
    words: list[list[int]],
) -> tuple[int, int] | None:
    """The most frequent pair; among equals, the one seen first (first word, then first position)."""
    top, tied = 0, list[tuple[int, int]]()
    while heap and (not tied or -heap[0][0] == top):
        negative, pair = heapq.heappop(heap)
        now = frequency.get(pair, 0)
        if now != -negative:  # its count went down since this entry was pushed
            if now > 0:
                heapq.heappush(heap, (-now, pair))
            continue
        if not tied:
            top = now
        if pair not in tied:
            tied.append(pair)
    if not tied:
        return None

    def first_seen(pair: tuple[int, int]) -> tuple[int, int]:
        for w in sorted(where[pair]):
            for i, p in enumerate(_pairs(words[w])):
                if p == pair:
                    return w, i
        raise AssertionError("a counted pair is in no word")  # unreachable: counts come from the words

    best = min(tied, key=first_seen)
    for pair in tied:
        if pair != best:
            heapq.heappush(heap, (-top, pair))
    return best


def _merge(symbols: list[int], pair: tuple[int, int], merged: int) -> list[int]:
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(merged)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def _escape(char: str) -> list[int]:
    digits = f"{ord(char):0{ESCAPE_DIGITS}x}"
    return [0, *(1 + HEX.index(d) for d in digits)]


def _encode_word(vocab: Vocab, word: str) -> tuple[int, ...]:
    cached = vocab._cache.get(word)
    if cached is not None:
        return cached
    bpe = vocab.kind == "bpe"
    symbols: list[int] = []
    for k, char in enumerate(word):
        i = vocab._base.get((char, bpe and k == len(word) - 1))
        symbols.extend(_escape(char) if i is None else [i])
    while len(symbols) > 1:  # replay merges in learned order: always the lowest-ranked pair first
        ranked = [vocab._ranks[p] for p in _pairs(symbols) if p in vocab._ranks]
        if not ranked:
            break
        rank, merged = min(ranked)
        left, right, _ = vocab.merges[rank]
        symbols = _merge(symbols, (left, right), merged)
    result = tuple(symbols)
    if len(vocab._cache) < 1 << 16:
        vocab._cache[word] = result
    return result


def encode(vocab: Vocab | LibraryVocab, s: str) -> list[int]:
    """The ids of ``s`` (a Python string, any characters) under ``vocab``: ``list[int]``.

    Character vocabularies give one id per known character; BPE vocabularies cut ``s`` into words
    and replay the merges in each. An unknown character becomes ``<esc>`` and six hex digits.
    """
    if not isinstance(s, str):
        raise ConfigError(f"encode takes a str, got {type(s).__name__}")
    if isinstance(vocab, LibraryVocab):
        return vocab.encode(s)
    words = _WORDS.findall(s) if vocab.kind == "bpe" else list(s)
    return [i for word in words for i in _encode_word(vocab, word)]


def decode(vocab: Vocab | LibraryVocab, ids: Sequence[int] | np.ndarray | Any, *, errors: str = "strict") -> str:
    """The text of ``ids`` (a list, NumPy or jax array of ints): ``decode(vocab, encode(vocab, s)) == s``.

    ``errors="strict"`` raises ``ConfigError`` on an id outside the vocabulary or a broken escape
    (a hex digit without ``<esc>``, an ``<esc>`` without six digits); ``errors="replace"`` writes
    U+FFFD for each, as ``bytes.decode`` does (for sampled ids, which need not form valid escapes).
    """
    if errors not in ("strict", "replace"):
        raise ConfigError(f"decode's errors is 'strict' or 'replace', got {errors!r}")
    if isinstance(vocab, LibraryVocab):
        return vocab.decode(ids, errors)
    values = np.asarray(ids).reshape(-1).tolist()
    parts: list[str] = []
    i = 0
    while i < len(values):
        char, used, problem = _read(vocab, values, i)
        if problem:
            if errors == "strict":
                raise ConfigError(problem)
            char, used = "\ufffd", 1
        parts.append(char)
        i += used
    return "".join(parts)


def _read(vocab: Vocab, values: list[Any], i: int) -> tuple[str, int, str]:
    """The text at position ``i``, how many ids it used, and what is wrong with it ('' if nothing)."""
    token = values[i]
    if not isinstance(token, int) or not 0 <= token < len(vocab.texts):
        return "", 1, f"id {token!r} at position {i} is not in this vocabulary of {len(vocab)} ids"
    if 0 < token < RESERVED:
        return "", 1, f"hex-digit id {token} at position {i} does not follow an <esc>"
    if token > 0:
        return vocab.texts[token], 1, ""
    digits = values[i + 1 : i + 1 + ESCAPE_DIGITS]
    if len(digits) != ESCAPE_DIGITS or not all(isinstance(d, int) and 0 < d < RESERVED for d in digits):
        return "", 1, f"<esc> at position {i} is not followed by {ESCAPE_DIGITS} hex-digit ids (1-16)"
    code = int("".join(HEX[d - 1] for d in digits), 16)
    if code > 0x10FFFF:
        return "", 1, f"<esc> at position {i} spells {code:#x}, past the last code point"
    return chr(code), 1 + ESCAPE_DIGITS, ""


class Padded(NamedTuple):
    """Id lists padded to one shape: ``tokens`` ``(N, L)`` int32, ``mask`` ``(N, L)`` bool (True on real ids)."""

    tokens: np.ndarray
    mask: np.ndarray


class Batch(NamedTuple):
    """One static-shape batch from :func:`bucket`.

    ``rows`` ``(B,)`` int: the position of each row in the input list, -1 for a filler row;
    ``tokens`` ``(B, L)`` int32 and ``mask`` ``(B, L)`` bool, as :class:`Padded`.
    """

    rows: np.ndarray
    tokens: np.ndarray
    mask: np.ndarray


def _lengths(seqs: Sequence[Sequence[int]]) -> list[int]:
    return [len(s) for s in seqs]


def pad(seqs: Sequence[Sequence[int]], length: int | None = None, *, pad_id: int = 0) -> Padded:
    """``seqs`` (N id lists) padded with ``pad_id`` to ``length`` (default: the longest), with a mask.

    A sequence longer than ``length`` is an error (cut it, or use :func:`bucket`).
    """
    sizes = _lengths(seqs)
    width = max(sizes, default=0) if length is None else length
    if isinstance(width, bool) or not isinstance(width, int) or width < 0:
        raise ConfigError(f"pad's length must be a non-negative int, got {length!r}")
    if sizes and max(sizes) > width:
        raise ShapeError("pad", f"sequences of at most {width} ids", max(sizes), "a sequence", "it does not fit")
    tokens = np.full((len(seqs), width), pad_id, np.int32)
    mask = np.zeros((len(seqs), width), bool)
    for row, (seq, size) in enumerate(zip(seqs, sizes, strict=True)):
        tokens[row, :size] = np.asarray(seq, np.int32).reshape(-1)
        mask[row, :size] = True
    return Padded(tokens, mask)


def bucket(
    seqs: Sequence[Sequence[int]], lengths: Sequence[int], batch_size: int | None = None, *, pad_id: int = 0
) -> list[Batch]:
    """``seqs`` in a few static shapes: each padded to the smallest of ``lengths`` that holds it.

    With ``batch_size``, every batch has exactly ``batch_size`` rows (the last of a bucket is filled
    with empty rows, ``rows == -1``, all-False mask), so a jitted function sees at most
    ``len(lengths)`` shapes and compiles at most that many programs. Without it, one batch per
    bucket, its rows the sequences that fell in it. Batches come in order of length, and rows in the
    order of ``seqs``. A sequence longer than the largest length is an error.
    """
    bounds = sorted(set(lengths))
    if not bounds or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in bounds):
        raise ConfigError(f"bucket's lengths must be positive ints, got {lengths!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ConfigError(f"bucket's batch_size must be a positive int or None, got {batch_size!r}")
    groups: dict[int, list[int]] = {n: [] for n in bounds}
    for row, size in enumerate(_lengths(seqs)):
        fits = [n for n in bounds if n >= size]
        if not fits:
            raise ShapeError(
                "bucket", f"at most {bounds[-1]} ids", size, f"sequence {row}", "more than the largest bucket length"
            )
        groups[fits[0]].append(row)
    out = []
    for n, rows in groups.items():
        step = batch_size or len(rows)
        for start in range(0, len(rows), max(step, 1)):
            chunk = rows[start : start + step]
            index = np.array(chunk + [-1] * (step - len(chunk)), np.int64)
            padded = pad([seqs[r] for r in chunk] + [[]] * (step - len(chunk)), n, pad_id=pad_id)
            out.append(Batch(index, padded.tokens, padded.mask))
    return out
