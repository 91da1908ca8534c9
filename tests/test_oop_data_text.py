"""TinyTorch's data loading and tokenizers (modules 08 / 05 and 10) in tinyjax.oop, as the course calls them."""

from __future__ import annotations

import random

import jax
import numpy as np
import pytest

from tinyjax import ConfigError, ShapeError, text
from tinyjax.oop import (
    BPETokenizer,
    CharTokenizer,
    Compose,
    DataLoader,
    Dataset,
    RandomCrop,
    RandomHorizontalFlip,
    Tensor,
    TensorDataset,
    Tokenizer,
    analyze_tokenization,
    create_tokenizer,
    manual_seed,
    tokenize_dataset,
)


def test_dataset_is_abstract_and_a_subclass_serves_samples():
    with pytest.raises(TypeError):
        Dataset()

    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, idx):
            return (np.array([idx, idx]), idx * idx)

    batches = list(DataLoader(Squares(), batch_size=2))
    assert [b[0].shape for b in batches] == [(2, 2), (2, 2), (1, 2)]
    np.testing.assert_array_equal(batches[1][1].data, [4, 9])


def test_tensor_dataset_indexes_every_tensor_and_checks_lengths():
    dataset = TensorDataset(Tensor([[1, 2], [3, 4], [5, 6]]), Tensor([0, 1, 0]))
    assert len(dataset) == 3
    features, label = dataset[1]
    np.testing.assert_array_equal(features.data, [3, 4])
    assert label.data == 1
    with pytest.raises(IndexError):
        dataset[3]
    with pytest.raises(ValueError):  # ShapeError, a ValueError as TinyTorch raises
        TensorDataset(Tensor([[1, 2], [3, 4]]), Tensor([0, 1, 0]))


def test_dataloader_over_a_list_of_pairs_as_the_course_tests_call_it():
    features, y = np.arange(100 * 10.0).reshape(100, 10), np.arange(100)
    loader = DataLoader(list(zip(features, y, strict=True)), batch_size=32)
    batches = list(loader)
    assert len(loader) == len(batches) == 4
    batch_x, batch_y = batches[0]
    assert batch_x.shape == (32, 10) and batch_y.shape == (32,)
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)  # no shuffle: in order


def test_shuffle_draws_from_pythons_random_as_tinytorchs_and_a_key_fixes_every_epoch():
    dataset = TensorDataset(Tensor(np.arange(20.0)[:, None]), Tensor(np.arange(20)))

    def epoch(loader):
        return np.concatenate([b[1].data for b in loader]).astype(int).tolist()

    random.seed(3)
    loader = DataLoader(dataset, batch_size=6, shuffle=True)
    first, second = epoch(loader), epoch(loader)
    assert sorted(first) == sorted(second) == list(range(20)) and first != second  # a new order each epoch
    random.seed(3)
    assert epoch(DataLoader(dataset, batch_size=6, shuffle=True)) == first
    manual_seed(3)  # the OOP stream does not drive the order: Python's generator does, as in TinyTorch
    assert epoch(DataLoader(dataset, batch_size=6, shuffle=True)) != first
    random.seed(4)
    assert epoch(DataLoader(dataset, batch_size=6, shuffle=True)) != first
    keyed = DataLoader(dataset, batch_size=6, shuffle=True, key=jax.random.key(0))
    assert epoch(keyed) == np.asarray(jax.random.permutation(jax.random.fold_in(jax.random.key(0), 0), 20)).tolist()


def test_augmentations_keep_type_and_layout():
    manual_seed(0)
    chw = np.arange(3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8)
    outcomes = {RandomHorizontalFlip(0.5)(chw).tobytes() for _ in range(30)}
    assert outcomes == {chw.tobytes(), chw[..., ::-1].tobytes()}
    hwc = np.moveaxis(chw, 0, -1)  # channels last: the width axis is -2 (the newer course's rule)
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(hwc), hwc[:, ::-1, :])
    assert isinstance(RandomHorizontalFlip(1.0)(Tensor(chw)), Tensor)
    crop = RandomCrop(8, padding=2)
    assert crop(chw).shape == (3, 8, 8) and crop(hwc).shape == (8, 8, 3) and crop(chw[0]).shape == (8, 8)
    out = Compose([RandomHorizontalFlip(), RandomCrop(8, padding=2)])(Tensor(chw))
    assert isinstance(out, Tensor) and out.shape == (3, 8, 8)
    with pytest.raises(ValueError):
        RandomHorizontalFlip(1.5)
    with pytest.raises(ShapeError):
        crop(np.zeros(4))


def test_char_tokenizer_as_the_course_tests_it():
    tokenizer = CharTokenizer(["h", "e", "l", "o", " ", "w", "r", "d"])
    assert tokenizer.vocab_size == 9 and tokenizer.vocab[0] == Tokenizer.TOK_UNKNOWN == "<UNK>"
    assert tokenizer.encode("hello") == [1, 2, 3, 3, 4]
    assert tokenizer.decode([1, 2, 3, 3, 4]) == "hello"
    assert tokenizer.encode("hello!")[-1] == 0 and tokenizer.decode([0]) == "<UNK>"
    tokenizer.build_vocab(["hola mundo", "test text"])
    assert "w" not in tokenizer.char_to_id and "t" in tokenizer.char_to_id and "x" in tokenizer.char_to_id
    assert all(isinstance(i, int) for i in tokenizer.encode("hola"))
    with pytest.raises(NotImplementedError):
        Tokenizer().encode("x")


def test_bpe_tokenizer_as_the_newer_course_tests_it():
    corpus = ["hello", "world", "hello", "hell"]
    tokenizer = BPETokenizer(vocab_size=20)
    assert tokenizer.target_vocab_size == 20 and tokenizer.vocab_size == 0 and tokenizer.encode("x") == []
    tokenizer.train(corpus)
    assert Tokenizer.TOK_UNKNOWN in tokenizer.vocab and tokenizer.vocab_size == 20
    assert tokenizer._get_word_tokens("test")[-1].endswith(Tokenizer.TOK_EOW)
    assert {("h", "e"), ("l", "l")} <= tokenizer._get_pairs(["h", "e", "l", "l", "o" + Tokenizer.TOK_EOW])
    for word in corpus:
        ids = tokenizer.encode(word)
        assert all(isinstance(i, int) and 0 < i < tokenizer.vocab_size for i in ids)
        assert tokenizer.decode(ids) == word
    assert tokenizer.merges[0] == ("h", "e")  # the most frequent pair, first seen
    unknown = tokenizer.encode("hz")
    assert unknown[-1] == 0 and tokenizer.decode(unknown) == "h<UNK>"
    # underneath, the functional vocabulary: its ids are these plus 16, and it is lossless
    assert (
        tokenizer.functional_vocab.token(tokenizer.encode("hello")[0] + 16)
        == tokenizer.vocab[tokenizer.encode("hello")[0]]
    )
    assert text.decode(tokenizer.functional_vocab, text.encode(tokenizer.functional_vocab, "hz!")) == "hz!"


def test_the_course_utilities():
    corpus = ["hello world", "test text", "more examples"]
    char = create_tokenizer("char", corpus=corpus)
    assert isinstance(char, CharTokenizer) and char.vocab_size > 0
    bpe = create_tokenizer("bpe", vocab_size=50, corpus=corpus)
    assert isinstance(bpe, BPETokenizer) and bpe.vocab_size == 50
    with pytest.raises(ConfigError, match="unknown tokenization strategy"):
        create_tokenizer("words")
    tokenized = tokenize_dataset(["hello", "world", "test"], char, max_length=3)
    assert tokenized == [char.encode("hel"), char.encode("wor"), char.encode("tes")]
    stats = analyze_tokenization(corpus, bpe)
    assert stats["vocab_size"] == 50 and stats["total_tokens"] == sum(len(bpe.encode(t)) for t in corpus)
    assert stats["compression_ratio"] == sum(map(len, corpus)) / stats["total_tokens"] > 1
    assert stats["max_sequence_length"] == max(len(bpe.encode(t)) for t in corpus)
