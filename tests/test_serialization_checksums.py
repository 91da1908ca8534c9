"""Weights files carry checksums: any changed byte is a WeightsFileError naming the tensor or the header."""

import json
import struct
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinyjax as tj

MODEL = tj.Sequential(tj.Linear(6, 5), tj.ReLU(), tj.Linear(5, 3))
PARAMS = {
    "mlp": MODEL.init(jax.random.key(0)),
    "low": {"weight": jax.random.normal(jax.random.key(1), (3, 4)).astype(jnp.bfloat16)},
    "count": jnp.int32(7),  # a 0-d integer leaf, as in an optimizer state
}


def _bits(array):
    array = np.asarray(array)
    return array.reshape(-1).view(np.uint8).tobytes()


def _saved(folder: Path) -> tuple[Path, bytes]:
    path = folder / "w.safetensors"
    tj.save(path, PARAMS, layer=None, metadata={"note": "checked"})
    return path, path.read_bytes()


def _header_end(data: bytes) -> int:
    return 8 + struct.unpack("<Q", data[:8])[0]


def test_a_flipped_byte_in_a_tensor_names_the_tensor(tmp_path):
    path, data = _saved(tmp_path)
    entries = json.loads(data[8 : _header_end(data)])
    for name in ("mlp.0.weight", "mlp.2.bias", "low.weight", "count"):
        start, end = entries[name]["data_offsets"]
        for offset in (start, end - 1):
            corrupted = bytearray(data)
            corrupted[_header_end(data) + offset] ^= 0x01  # one bit: the value stays plausible
            path.write_bytes(bytes(corrupted))
            with pytest.raises(tj.WeightsFileError, match=rf"tensor '{name}' does not match its checksum"):
                tj.load(path, PARAMS)


def test_a_changed_header_byte_names_the_header(tmp_path):
    path, data = _saved(tmp_path)
    header = data[8 : _header_end(data)]
    # A byte of the user's metadata and one of the layer's name: the tensors are untouched.
    for text in (b"checked", b"unknown (no layer"):
        corrupted = bytearray(data)
        corrupted[8 + header.index(text) + 1] ^= 0x02
        path.write_bytes(bytes(corrupted))
        with pytest.raises(tj.WeightsFileError, match="the header does not match its checksum"):
            tj.load(path, PARAMS)
        with pytest.raises(tj.WeightsFileError, match="the header does not match its checksum"):
            tj.read_metadata(path)


def test_files_without_checksums_still_load(tmp_path):
    # Written by safetensors itself, as another tool would: no tinyjax metadata at all.
    arrays = {"weight": np.arange(6, dtype=np.float32).reshape(2, 3), "bias": np.ones(3, np.float32)}
    path = tmp_path / "foreign.safetensors"
    path.write_bytes(safetensors.numpy.save(arrays))
    back = tj.load(path, {"bias": jnp.zeros(3), "weight": jnp.zeros((2, 3))})
    np.testing.assert_array_equal(back["weight"], arrays["weight"])


def test_the_checksums_are_in_the_metadata(tmp_path):
    path, _ = _saved(tmp_path)
    metadata = tj.read_metadata(path)
    digests = json.loads(metadata["tinyjax.sha256"])
    assert sorted(digests) == sorted(tj.named_parameters(PARAMS))
    assert all(len(digest) == 64 for digest in digests.values())
    assert len(metadata["tinyjax.header_sha256"]) == 64 and metadata["tinyjax.header_sha256"] != "0" * 64


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=3),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_a_mutated_or_truncated_file_loads_exactly_or_raises_a_file_error(flips, cut):
    with tempfile.TemporaryDirectory() as folder:
        path, data = _saved(Path(folder))
        corrupted = bytearray(data)
        for offset, mask in flips:
            corrupted[offset % len(data)] ^= mask
        if cut is not None:
            corrupted = corrupted[: cut % len(data)]
        path.write_bytes(bytes(corrupted))
        try:
            back = tj.load(path, PARAMS)
        except (tj.WeightsFileError, OSError):
            assert bytes(corrupted) != data  # an intact file never fails
            return
    assert bytes(corrupted) == data  # the checksums leave no changed file loadable
    for ours, saved in zip(jax.tree_util.tree_leaves(back), jax.tree_util.tree_leaves(PARAMS), strict=True):
        assert ours.shape == saved.shape and ours.dtype == saved.dtype and _bits(ours) == _bits(saved)
