"""tinyjax.text over maintained BPE libraries (the ``text`` extra): the library's ids, round trips, save / load."""

from __future__ import annotations

import base64
import builtins
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyjax import ConfigError, text

tokenizers = pytest.importorskip("tokenizers")
tiktoken = pytest.importorskip("tiktoken")

CORPUS = [
    "the cat sat on the mat\n",
    "the hat  is on the cat\n",
    "\tdef f(x):\n        return x  # </w>\n",
    "naïve café, 東京 and emoji 🙂 too\n",
] * 20
SAMPLES = ["the cat sat", "  leading and trailing  ", "unseen: Ωμέγα ⚙ 🙂\n\t", "</w><esc>", ""]
# Text: any code point UTF-8 can encode (no lone surrogates, which no byte-level tokenizer can hold).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@pytest.fixture(scope="module")
def trained() -> tokenizers.Tokenizer:
    """A byte-level BPE trained in memory: lossless, as GPT-2's is."""
    tokenizer = tokenizers.Tokenizer(tokenizers.models.BPE())
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>"],
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    return tokenizer


@pytest.fixture(scope="module")
def ranks() -> dict[bytes, int]:
    """tiktoken ranks: the 256 bytes, then a few merges a byte-level BPE would learn on CORPUS."""
    table = {bytes([b]): b for b in range(256)}
    for token in [b"th", b"the", b" c", b" ca", b" cat", b"at", b" the", b"  "]:
        table[token] = len(table)
    return table


def test_tokenizers_ids_are_the_librarys_and_round_trip(trained):
    vocab = text.load_tokenizers(trained)
    assert len(vocab) == trained.get_vocab_size(with_added_tokens=True) > 257  # 256 bytes, <pad>, merges
    for s in CORPUS[:4] + SAMPLES:
        ids = text.encode(vocab, s)
        assert ids == trained.encode(s, add_special_tokens=False).ids
        assert text.decode(vocab, ids) == s
        assert text.decode(vocab, np.asarray(ids, np.int32)) == s  # arrays decode as lists do
    assert len(text.encode(vocab, "the cat sat on the mat\n")) < len("the cat sat on the mat\n")  # merges apply
    assert vocab.token(trained.token_to_id("<pad>")) == "<pad>"


@settings(max_examples=60, deadline=None)
@given(s=TEXT)
def test_tokenizers_byte_level_is_lossless(trained, s):
    vocab = text.load_tokenizers(trained)
    assert text.decode(vocab, text.encode(vocab, s)) == s


def test_tokenizers_save_load_is_the_librarys_json(trained, tmp_path):
    vocab = text.load_tokenizers(trained)
    path = tmp_path / "tokenizer.json"
    text.save_vocab(vocab, path)
    path.read_text(encoding="ascii")  # ASCII, like every saved vocabulary
    again = text.load_vocab(path)
    assert again == vocab and again is not vocab
    assert tokenizers.Tokenizer.from_file(str(path)).encode("the cat").ids == trained.encode("the cat").ids
    assert text.encode(again, SAMPLES[2]) == text.encode(vocab, SAMPLES[2])
    # A tokenizer.json the library wrote itself (UTF-8, not ASCII) loads too.
    trained.save(str(tmp_path / "library.json"))
    assert text.load_vocab(tmp_path / "library.json") == vocab == text.load_tokenizers(tmp_path / "library.json")


def test_tokenizers_decode_checks_ids(trained):
    vocab = text.load_tokenizers(trained)
    ids = text.encode(vocab, "the cat")
    with pytest.raises(ConfigError, match=f"id {len(vocab)} at position 1"):
        text.decode(vocab, [ids[0], len(vocab)])
    assert text.decode(vocab, [*ids, -1, *ids], errors="replace") == "the cat\ufffdthe cat"
    half = text.encode(vocab, "ж")[:1]  # a byte of a character CORPUS lacks: U+FFFD, strict or not
    assert len(half) == 1 and text.decode(vocab, half) == trained.decode(half) == "\ufffd"


def test_tiktoken_ids_are_the_librarys_and_round_trip(ranks, tmp_path):
    path = tmp_path / "tiny.tiktoken"
    path.write_text("".join(f"{base64.b64encode(k).decode()} {v}\n" for k, v in ranks.items()))
    vocab = text.load_tiktoken(path)
    assert vocab == text.load_tiktoken(ranks)  # the file and the dict are the same value
    library = tiktoken.Encoding("reference", pat_str=text.GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={})
    assert len(vocab) == library.n_vocab == 264
    for s in SAMPLES:
        ids = text.encode(vocab, s)
        assert ids == library.encode(s)
        assert text.decode(vocab, ids) == s
    assert text.encode(vocab, "the cat") == [ranks[b"the"], ranks[b" cat"]]
    text.save_vocab(vocab, tmp_path / "vocab.json")
    assert text.load_vocab(tmp_path / "vocab.json") == vocab


@settings(max_examples=60, deadline=None)
@given(s=TEXT)
def test_tiktoken_is_lossless(ranks, s):
    vocab = text.load_tiktoken(ranks)
    assert text.decode(vocab, text.encode(vocab, s)) == s


def test_tiktoken_special_text_is_text_and_broken_utf8_is_refused(ranks):
    vocab = text.load_tiktoken(ranks, special={"<|endoftext|>": 264})
    assert len(vocab) == 265
    ids = text.encode(vocab, "a<|endoftext|>")
    assert 264 not in ids and text.decode(vocab, ids) == "a<|endoftext|>"
    assert text.decode(vocab, [264]) == "<|endoftext|>"
    half = list("é".encode())[:1]  # the first byte of a two-byte character
    with pytest.raises(ConfigError, match="UTF-8"):
        text.decode(vocab, half)
    assert text.decode(vocab, half, errors="replace") == "\ufffd"
    with pytest.raises(ConfigError, match="id 999"):
        text.decode(vocab, [999])


def test_bad_inputs_are_config_errors(tmp_path, ranks):
    bad = tmp_path / "bad.tiktoken"
    bad.write_text("not-base64! 3\n")
    with pytest.raises(ConfigError, match=r"bad.tiktoken:1"):
        text.load_tiktoken(bad)
    with pytest.raises(ConfigError, match="token bytes to int"):
        text.load_tiktoken({"a": 0})
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(ConfigError, match=r"not a tokenizer\.json"):
        text.load_tokenizers(tmp_path / "x.json")
    with pytest.raises(ConfigError, match="kind"):
        text.LibraryVocab("sentencepiece", "{}")


def test_pad_and_bucket_take_library_ids(trained):
    vocab = text.load_tokenizers(trained)
    seqs = [text.encode(vocab, s) for s in CORPUS[:4]]
    pad_id = trained.token_to_id("<pad>")
    batches = text.bucket(seqs, lengths=(8, 32), batch_size=2, pad_id=pad_id)
    for batch in batches:
        for row, tokens, mask in zip(batch.rows, batch.tokens, batch.mask, strict=True):
            if row >= 0:
                assert text.decode(vocab, tokens[mask]) == CORPUS[row]
                assert (tokens[~mask] == pad_id).all()


def test_missing_extra_names_it(monkeypatch, ranks, trained):
    real_import = builtins.__import__

    def no_libraries(name, *args, **kwargs):
        if name in ("tokenizers", "tiktoken"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    document = text.load_tokenizers(trained).to_json()
    monkeypatch.setattr(builtins, "__import__", no_libraries)
    with pytest.raises(ConfigError, match=r"'tiktoken' library: pip install 'tinyjax\[text\]'"):
        text.load_tiktoken(ranks)
    with pytest.raises(ConfigError, match=r"'tokenizers' library: pip install 'tinyjax\[text\]'"):
        text.load_tokenizers("tokenizer.json")
    with pytest.raises(ConfigError, match=r"tinyjax\[text\]"):
        text.LibraryVocab("tokenizers", document)
    # The course's own BPE needs neither library.
    vocab = text.train_bpe(CORPUS[:4], 80)
    assert text.decode(vocab, text.encode(vocab, SAMPLES[2])) == SAMPLES[2]
    assert json.loads(vocab.to_json())["kind"] == "bpe"
