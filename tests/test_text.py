"""tinyjax.text: lossless encode / decode for any string, TinyTorch's BPE merge rule, static shapes."""

from __future__ import annotations

import importlib.util
import itertools
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyjax import ConfigError, ShapeError, text

ROOT = Path(__file__).resolve().parents[1]
CORPUS = "the cat sat on the mat\nthe hat  is on the cat\n\tdef f(x):\n        return x  # </w>\n"


def tiny_gpt_text() -> str:
    spec = importlib.util.spec_from_file_location("tiny_gpt_text", ROOT / "examples" / "tiny_gpt.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_text()


@pytest.fixture(scope="module")
def gpt_text() -> str:
    pytest.importorskip("optax")
    pytest.importorskip("tqdm")
    return tiny_gpt_text()


@pytest.fixture(scope="module")
def bpe() -> text.Vocab:
    return text.train_bpe(CORPUS, 80)


@settings(max_examples=200, deadline=None)
@given(s=st.text() | st.text(alphabet=st.sampled_from([*"the cat </w> <esc>\n\t", "\u00e9", "\U0001f600"])))
def test_decode_encode_is_the_identity_for_any_string(bpe, s):
    for vocab in (bpe, text.char_vocab(CORPUS)):
        ids = text.encode(vocab, s)
        assert all(isinstance(i, int) and 0 <= i < len(vocab) for i in ids)
        assert text.decode(vocab, ids) == s


def test_the_marker_and_unknown_characters_survive(bpe):
    for s in ("</w>", "x</w> </w>y", "caf\u00e9 \U0001f600", "  lead and trail  ", "\x00", "\U0010ffff"):
        assert text.decode(bpe, text.encode(bpe, s)) == s
    ids = text.encode(bpe, "\u00e9")  # not in the corpus: <esc> then six hex digits spelling 0xe9
    assert ids == [0, *(1 + int(d, 16) for d in "0000e9")]
    assert [bpe.token(i) for i in ids] == ["<esc>", "<0>", "<0>", "<0>", "<0>", "<e>", "<9>"]


def test_a_frequent_word_becomes_one_token_that_ends_the_word(bpe):
    ids = text.encode(bpe, "the the ")
    assert [bpe.token(i) for i in ids] == ["the </w>", "the </w>"]
    assert [bpe.token(i) for i in text.encode(bpe, "the")] == ["th", "e</w>"]  # "e" ends this word


def naive_course_bpe(words: list[str], vocab_size: int, base: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """TinyTorch's training loop, recounting every pair after each merge; symbols are (text, ends_word)."""
    counts = Counter(words)
    split = {w: [(c, i == len(w) - 1) for i, c in enumerate(w)] for w in counts}
    vocab = list(base)
    while len(vocab) < vocab_size:
        pairs: Counter = Counter()
        for w, n in counts.items():
            for pair in itertools.pairwise(split[w]):
                pairs[pair] += n
        if not pairs:
            break
        (a, b), _ = pairs.most_common(1)[0]
        merged = (a[0] + b[0], b[1])
        for w in split:
            out, i, s = [], 0, split[w]
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == (a, b):
                    out.append(merged)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            split[w] = out
        if merged not in vocab:
            vocab.append(merged)
    return vocab


@pytest.mark.parametrize("size", [40, 120, 400])
def test_training_learns_the_course_loops_merges(size):
    corpus = CORPUS * 3 + "hello hello help hell held helm " * 2 + "aaaa aaa aa a abab baba"
    vocab = text.train_bpe(corpus, size)
    words = re.findall(r"\S+\s*|\s+", corpus)
    base = [(t, e) for t, e in zip(vocab.texts, vocab.ends, strict=True) if len(t) == 1]
    expected = naive_course_bpe(words, size - text.RESERVED, base)
    assert list(zip(vocab.texts, vocab.ends, strict=True))[text.RESERVED :] == expected


def test_the_vocabulary_is_a_value_saved_as_json(bpe, tmp_path):
    text.save_vocab(bpe, tmp_path / "vocab.json")
    again = text.load_vocab(tmp_path / "vocab.json")
    assert again == bpe and again is not bpe
    assert text.encode(again, CORPUS) == text.encode(bpe, CORPUS)
    chars = text.char_vocab(CORPUS)
    assert text.Vocab.from_json(chars.to_json()) == chars and chars != bpe
    with pytest.raises(ConfigError, match="not a tinyjax vocabulary"):
        text.Vocab.from_json('{"format": "something else"}')


def test_char_vocab_is_one_id_per_character():
    vocab = text.char_vocab(["ab", "ca"])
    assert len(vocab) == text.RESERVED + 3
    assert text.encode(vocab, "abc") == [text.RESERVED, text.RESERVED + 1, text.RESERVED + 2]


def test_decode_refuses_ids_it_cannot_read(bpe):
    with pytest.raises(ConfigError, match="not in this vocabulary"):
        text.decode(bpe, [len(bpe)])
    with pytest.raises(ConfigError, match="not followed by 6 hex-digit"):
        text.decode(bpe, [0, 1, 2])
    with pytest.raises(ConfigError, match="does not follow an <esc>"):
        text.decode(bpe, [5])
    assert text.decode(bpe, np.array(text.encode(bpe, "the cat"))) == "the cat"
    # a sampled sequence need not be valid: "replace" writes U+FFFD for each id it cannot read
    the = text.encode(bpe, "the ")
    assert text.decode(bpe, [5, *the, 0, 1, len(bpe)], errors="replace") == "\ufffdthe \ufffd\ufffd\ufffd"


def test_bpe_on_the_tiny_gpt_text_packs_at_least_2_5_characters_per_token(gpt_text):
    vocab = text.train_bpe(gpt_text, 512)
    assert len(vocab) == 512
    ids = text.encode(vocab, gpt_text)
    assert text.decode(vocab, ids) == gpt_text
    assert len(gpt_text) / len(ids) >= 2.5


def test_pad_masks_the_real_ids():
    padded = text.pad([[5, 6, 7], [8], []], pad_id=-1)
    np.testing.assert_array_equal(padded.tokens, [[5, 6, 7], [8, -1, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(padded.mask, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    assert padded.tokens.dtype == np.int32 and text.pad([[1]], 4).tokens.shape == (1, 4)
    with pytest.raises(ShapeError, match="does not fit"):
        text.pad([[1, 2, 3]], 2)


def test_bucket_gives_a_few_static_shapes_and_keeps_every_sequence():
    seqs = [list(range(n)) for n in (1, 7, 3, 8, 2, 16, 5, 9)]
    out = text.bucket(seqs, lengths=(4, 8, 16), batch_size=2)
    assert {b.tokens.shape for b in out} == {(2, 4), (2, 8), (2, 16)}
    seen = {}
    for batch in out:
        for row, index in enumerate(batch.rows):
            if index < 0:
                assert not batch.mask[row].any()
                continue
            seen[int(index)] = batch.tokens[row][batch.mask[row]].tolist()
            assert len(seqs[index]) <= batch.tokens.shape[1]
            # the smallest length that holds it
            assert batch.tokens.shape[1] == min(n for n in (4, 8, 16) if n >= len(seqs[index]))
    assert seen == dict(enumerate(seqs))
    with pytest.raises(ShapeError, match="more than the largest bucket length"):
        text.bucket([[0] * 17], lengths=(16,))
    unbatched = text.bucket(seqs, lengths=(4, 16))
    assert [b.tokens.shape for b in unbatched] == [(3, 4), (5, 16)]
