"""tinyjax.save / tinyjax.load: bit-exact round trips, atomic writes, corrupt and hostile files, mismatches."""

import json
import os
import pickle
import struct
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax.tools import serialization


def _models():
    return {
        "linear": tj.Linear(5, 3),
        "linear_no_bias": tj.Linear(4, 2, bias=False),
        "mlp": tj.Sequential(tj.Linear(6, 8), tj.ReLU(), tj.Linear(8, 3)),
        "nested": tj.Sequential(tj.Sequential(tj.Linear(3, 4), tj.Tanh()), tj.GELU(), tj.Linear(4, 2)),
        "repeat": tj.Sequential(tj.Linear(3, 4), tj.Repeat(tj.Linear(4, 4), 3)),
    }


def _random_params(model, dtype, seed=0):
    """The model's params in ``dtype``, filled with random bits-rich values (not just the init's)."""
    shapes = model.param_shapes()
    leaves, treedef = jax.tree_util.tree_flatten(shapes)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree_util.tree_unflatten(
        treedef,
        [jax.random.normal(k, leaf.shape, jnp.float32).astype(dtype) for k, leaf in zip(keys, leaves, strict=True)],
    )


def _bits(array):
    array = np.asarray(array)
    return array.view(np.dtype(f"u{array.dtype.itemsize}")).tobytes()


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize("name", list(_models()))
def test_round_trip_is_bit_exact(tmp_path, name, dtype):
    model = _models()[name]
    params = _random_params(model, dtype)
    path = tmp_path / "weights.safetensors"
    tj.save(path, params, layer=model)
    like = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), params)
    loaded = tj.load(path, like)
    assert jax.tree_util.tree_structure(loaded) == jax.tree_util.tree_structure(params)
    for original, back in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(loaded), strict=True):
        assert back.dtype == original.dtype and back.shape == original.shape
        assert _bits(back) == _bits(original)


def test_special_values_survive_in_low_precision(tmp_path):
    special = jnp.array([0.0, -0.0, jnp.inf, -jnp.inf, jnp.nan, 1e-40, 65504.0, -3.0e38], jnp.float32)
    for dtype in (jnp.bfloat16, jnp.float16, jnp.float32):
        params = {"weight": special.astype(dtype).reshape(2, 4)}
        tj.save(tmp_path / "s.safetensors", params)
        back = tj.load(tmp_path / "s.safetensors", params)
        assert _bits(back["weight"]) == _bits(params["weight"])


def test_load_with_a_layer_and_tensor_names(tmp_path):
    model = tj.Sequential(tj.Linear(6, 8), tj.ReLU(), tj.Linear(8, 3))
    params = model.init(jax.random.key(1))
    path = tmp_path / "mlp.safetensors"
    tj.save(path, params, layer=model, metadata={"note": "hello"})
    loaded = tj.load(path, model)
    x = jax.random.normal(jax.random.key(2), (4, 6))
    np.testing.assert_array_equal(model.apply(loaded, x), model.apply(params, x))
    entries = {name for name, _ in __import__("safetensors").deserialize(path.read_bytes())}
    assert entries == {"0.weight", "0.bias", "2.weight", "2.bias"}
    meta = serialization.read_metadata(path)
    assert meta["tinyjax.version"] == tj.__version__
    assert meta["tinyjax.layer"] == model.name
    assert meta["note"] == "hello"


def test_metadata_must_be_strings_and_not_reserved(tmp_path):
    params = tj.Linear(2, 2).init(jax.random.key(0))
    with pytest.raises(tj.ConfigError, match="str to str"):
        tj.save(tmp_path / "m.safetensors", params, metadata={"epochs": 3})
    with pytest.raises(tj.ConfigError, match="reserved"):
        tj.save(tmp_path / "m.safetensors", params, metadata={"tinyjax.version": "9"})
    assert not list(tmp_path.iterdir())


def test_exception_mid_save_leaves_old_file_byte_identical(tmp_path, monkeypatch):
    model = tj.Linear(64, 64)
    path = tmp_path / "w.safetensors"
    tj.save(path, model.init(jax.random.key(0)), layer=model)
    before = path.read_bytes()
    monkeypatch.setattr(serialization, "_CHUNK", 1024)  # many writes: fail after some bytes are out
    real_fsync, writes = os.fsync, []

    def failing_fsync(fd):
        writes.append(os.fstat(fd).st_size)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(serialization.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="simulated"):
        tj.save(path, model.init(jax.random.key(1)), layer=model)
    monkeypatch.setattr(serialization.os, "fsync", real_fsync)
    assert writes and writes[0] > 1024  # the temporary file really was being written
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]  # temporary file removed


def test_interrupt_mid_write_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    params = {"weight": jnp.ones((32, 32))}
    tj.save(path, params)
    before = path.read_bytes()
    monkeypatch.setattr(serialization, "_CHUNK", 512)
    calls = []
    real_replace = os.replace

    def interrupted_replace(src, dst):
        calls.append(src)
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        tj.save(path, {"weight": jnp.zeros((32, 32))})
    monkeypatch.setattr(serialization.os, "replace", real_replace)
    assert calls and path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]


def test_truncated_file_gives_clear_error(tmp_path):
    model = tj.Sequential(tj.Linear(6, 8), tj.ReLU(), tj.Linear(8, 3))
    path = tmp_path / "w.safetensors"
    tj.save(path, model.init(jax.random.key(0)), layer=model)
    data = path.read_bytes()
    for cut in (0, 4, 20, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(tj.WeightsFileError, match="not a valid safetensors file"):
            tj.load(path, model)


def test_flipped_header_byte_gives_clear_error(tmp_path):
    model = tj.Linear(6, 3)
    path = tmp_path / "w.safetensors"
    tj.save(path, model.init(jax.random.key(0)), layer=model)
    data = bytearray(path.read_bytes())
    (length,) = struct.unpack("<Q", data[:8])
    header = data[8 : 8 + length].decode()
    for position in (0, 7, 8, 8 + header.index('"data_offsets"') + 1, 8 + header.index("[") + 1):
        corrupted = bytearray(data)
        corrupted[position] ^= 0xFF
        path.write_bytes(bytes(corrupted))
        with pytest.raises(tj.WeightsFileError, match="not a valid safetensors file"):
            tj.load(path, model)


class _Payload:
    """Unpickling this runs ``open(marker, "w")``: proof of execution if the marker appears."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"0.weight": _Payload(marker)}))
    with pytest.raises(tj.WeightsFileError, match="never reads pickle"):
        tj.load(path, tj.Linear(2, 2))
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the control: the payload does run when unpickled
    assert marker.exists()


def test_torch_style_zip_checkpoint_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"  # a torch.save file (zip with data.pkl) renamed
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(_Payload(marker)))
        archive.writestr("archive/version", "3\n")
    with pytest.raises(tj.WeightsFileError):
        tj.load(path, tj.Linear(2, 2))
    assert not marker.exists()


def test_pickle_bytes_in_header_are_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    params = {"weight": jnp.ones((2, 2))}
    path = tmp_path / "w.safetensors"
    tj.save(path, params, metadata={"payload": pickle.dumps(_Payload(marker)).decode("latin-1")})
    assert tj.load(path, params)["weight"].shape == (2, 2)
    assert serialization.read_metadata(path)["payload"].startswith("\x80")
    assert not marker.exists()
    # a header whose metadata holds a non-string (raw pickle bytes as a list) is refused by the format
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    header["__metadata__"]["payload"] = list(pickle.dumps(_Payload(marker)))
    new_header = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(new_header)) + new_header + data[8 + length :])
    with pytest.raises(tj.WeightsFileError):
        tj.load(path, params)
    assert not marker.exists()


def test_every_mismatch_is_listed_at_once(tmp_path):
    saved = tj.Sequential(tj.Linear(4, 3), tj.ReLU(), tj.Linear(3, 2), tj.Tanh(), tj.Linear(2, 2))
    path = tmp_path / "w.safetensors"
    tj.save(path, saved.init(jax.random.key(0)), layer=saved)
    target = tj.Sequential(
        tj.Linear(4, 5),  # 0.weight (4, 5) vs (4, 3); 0.bias (5,) vs (3,)
        tj.ReLU(),
        tj.Linear(5, 2, bias=False),  # 2.weight (5, 2) vs (3, 2); 2.bias unexpected
        tj.Tanh(),
        tj.Linear(2, 2, dtype=jnp.bfloat16),  # 4.weight, 4.bias: dtype
        tj.ReLU(),
        tj.Linear(2, 7),  # 6.weight, 6.bias missing
    )
    with pytest.raises(tj.WeightsMismatchError) as info:
        tj.load(path, target)
    message = str(info.value)
    expected_lines = [
        "tensor '0.weight': expected shape (4, 5), got (4, 3)",
        "tensor '0.bias': expected shape (5,), got (3,)",
        "tensor '2.weight': expected shape (5, 2), got (3, 2)",
        "unexpected tensor '2.bias' of shape (2,) float32",
        "tensor '4.weight': expected dtype bfloat16, got float32",
        "tensor '4.bias': expected dtype bfloat16, got float32",
        "missing tensor '6.weight': expected shape (2, 7) float32",
        "missing tensor '6.bias': expected shape (7,) float32",
    ]
    for line in expected_lines:
        assert line in message
    assert len(info.value.differences) == len(expected_lines)
    assert str(path) in message and target.name in message


def test_template_from_eval_shape(tmp_path):
    model = tj.Sequential(tj.Linear(3, 4), tj.ReLU(), tj.Linear(4, 1))
    params = model.init(jax.random.key(3))
    tj.save(tmp_path / "w.safetensors", params)
    like = jax.eval_shape(model.init, jax.random.key(0))
    loaded = tj.load(tmp_path / "w.safetensors", like)
    for a, b in zip(tj.parameters(params), tj.parameters(loaded), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_template_leaf_is_a_config_error(tmp_path):
    tj.save(tmp_path / "w.safetensors", {"weight": jnp.ones(2)})
    with pytest.raises(tj.ConfigError, match="leaf 'weight' is str"):
        tj.load(tmp_path / "w.safetensors", {"weight": "not an array"})


def test_save_checks_params_against_the_layer_it_names(tmp_path):
    params = tj.Linear(3, 2).init(jax.random.key(0))
    with pytest.raises(tj.WeightsMismatchError, match=r"tensor 'weight': expected shape \(3, 4\), got \(3, 2\)"):
        tj.save(tmp_path / "w.safetensors", params, layer=tj.Linear(3, 4))
    assert not list(tmp_path.iterdir())


def test_colliding_names_are_refused(tmp_path):
    with pytest.raises(tj.ConfigError, match="share one name"):
        tj.save(tmp_path / "w.safetensors", {"0": {"weight": jnp.ones(2)}, "0.weight": jnp.ones(2)})


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"the folder .*nowhere does not exist"):
        tj.save(tmp_path / "nowhere" / "w.safetensors", {"weight": jnp.ones(2)})


def test_zero_d_leaves_keep_their_shape(tmp_path):
    params = {"scale": jnp.float32(2.5), "shift": jnp.zeros((), jnp.bfloat16), "weight": jnp.ones((2, 3))}
    path = tmp_path / "w.safetensors"
    tj.save(path, params)
    assert {name: entry["shape"] for name, entry in __import__("safetensors").deserialize(path.read_bytes())} == {
        "scale": [],
        "shift": [],
        "weight": [2, 3],
    }
    back = tj.load(path, params)
    for name in params:
        assert back[name].shape == params[name].shape and back[name].dtype == params[name].dtype
        assert _bits(back[name]) == _bits(params[name])


def test_a_user_pairs_scalar_param_saves_under_its_layer(tmp_path):
    def init(key):
        return {"scale": jnp.float32(3.0), "weight": jax.random.normal(key, (4, 2))}

    def apply(params, x):
        return params["scale"] * (x @ params["weight"])

    model = tj.as_layer((init, apply))
    params = model.init(jax.random.key(0))
    path = tmp_path / "pair.safetensors"
    tj.save(path, params, layer=model)
    back = tj.load(path, model)
    assert back["scale"].shape == () and float(back["scale"]) == 3.0
    np.testing.assert_array_equal(model.apply(back, jnp.ones((1, 4))), model.apply(params, jnp.ones((1, 4))))


@pytest.mark.parametrize("params", [None, (), {}, [(), {}]])
def test_empty_params_are_refused_and_nothing_written(tmp_path, params):
    with pytest.raises(tj.ConfigError, match="the params are empty"):
        tj.save(tmp_path / "w.safetensors", params)
    assert not list(tmp_path.iterdir())


def _mode(path):
    return os.stat(path).st_mode & 0o777


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077, 0o002])
def test_a_new_file_gets_the_mode_open_would_give(tmp_path, umask):
    previous = os.umask(umask)
    try:
        tj.save(tmp_path / "w.safetensors", {"weight": jnp.ones(2)})
        with open(tmp_path / "plain", "wb"):
            pass
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "w.safetensors") == _mode(tmp_path / "plain") == 0o666 & ~umask


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o666])
def test_a_replaced_file_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "w.safetensors"
    tj.save(path, {"weight": jnp.ones(2)})
    os.chmod(path, mode)
    previous = os.umask(0o077)  # the umask would give 0o600: the old file's mode wins
    try:
        tj.save(path, {"weight": jnp.zeros(2)})
    finally:
        os.umask(previous)
    assert _mode(path) == mode
    assert float(tj.load(path, {"weight": jnp.ones(2)})["weight"][0]) == 0.0


def test_a_read_only_file_is_refused_not_replaced(tmp_path):
    path = tmp_path / "w.safetensors"
    tj.save(path, {"weight": jnp.ones(2)})
    before = path.read_bytes()
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError, match="read-only") as info:
        tj.save(path, {"weight": jnp.zeros(2)})
    assert info.value.filename == str(path) and str(path) in str(info.value)
    assert path.read_bytes() == before and _mode(path) == 0o444
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]


def test_a_file_the_user_may_not_write_is_refused(tmp_path, monkeypatch):
    # Another user's 0o644 file: open(path, "wb") fails for us, so save must too (os.access says so).
    path = tmp_path / "w.safetensors"
    tj.save(path, {"weight": jnp.ones(2)})
    monkeypatch.setattr(serialization.os, "access", lambda p, m: False)
    with pytest.raises(PermissionError, match=r"read-only \(mode 644\)"):
        tj.save(path, {"weight": jnp.zeros(2)})


def test_write_errors_name_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialization.os, "fsync", full)
    with pytest.raises(OSError) as info:
        tj.save(path, {"weight": jnp.ones(2)})
    assert info.value.errno == 28 and info.value.filename == str(path)
    assert str(path) in str(info.value) and ".tmp" not in str(info.value)
    assert not list(tmp_path.iterdir())


def test_a_bfloat16_file_loads_into_a_float32_model_with_dtype(tmp_path):
    model = tj.Sequential(tj.Linear(3, 4), tj.ReLU(), tj.Linear(4, 2))
    params = model.init(jax.random.key(0))
    low = jax.tree_util.tree_map(lambda a: a.astype(jnp.bfloat16), params)
    path = tmp_path / "bf16.safetensors"
    tj.save(path, low, layer=model)
    with pytest.raises(tj.WeightsMismatchError, match="expected dtype float32, got bfloat16"):
        tj.load(path, model)
    back = tj.load(path, model, dtype=jnp.float32)
    for ours, theirs in zip(jax.tree_util.tree_leaves(back), jax.tree_util.tree_leaves(low), strict=True):
        assert ours.dtype == jnp.float32
        np.testing.assert_array_equal(ours, theirs.astype(jnp.float32))  # bf16 -> f32 is exact
    with pytest.raises(tj.ConfigError, match="must be a floating dtype, got int32"):
        tj.load(path, model, dtype=jnp.int32)


def test_load_without_a_template_says_what_to_pass(tmp_path):
    tj.save(tmp_path / "w.safetensors", {"weight": jnp.ones(2)})
    with pytest.raises(tj.ConfigError, match=r"like=None\): pass the Layer the weights belong to"):
        tj.load(tmp_path / "w.safetensors", None)
