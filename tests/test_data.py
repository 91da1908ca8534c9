"""tinyjax.data: key-explicit epochs (same key, same batches, in any process), augmentations under jit(vmap)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tinyjax import ConfigError, KeyArgumentError, ShapeError, data

ROOT = Path(__file__).resolve().parents[1]


def epoch(key, rows=103, batch_size=16, **options):
    return [b.tolist() for b in data.batches(key, np.arange(rows), batch_size, **options)]


def test_every_row_once_per_epoch_in_batches_of_the_size():
    x, y = np.arange(103 * 2).reshape(103, 2), np.arange(103) * 10
    got = list(data.batches(jax.random.key(0), (x, y), 16))
    assert [len(b[0]) for b in got] == [16] * 6 + [7]
    rows = np.concatenate([b[1] for b in got]) // 10
    assert sorted(rows.tolist()) == list(range(103)) and rows.tolist() != list(range(103))
    for bx, by in got:  # rows stay aligned across the arrays
        np.testing.assert_array_equal(bx[:, 0] // 2, by // 10)
    assert [len(b[0]) for b in data.batches(jax.random.key(0), (x, y), 16, drop_last=True)] == [16] * 6
    assert epoch(None, shuffle=False) == [list(range(i, min(i + 16, 103))) for i in range(0, 103, 16)]


def test_the_key_decides_the_order():
    assert epoch(jax.random.key(1)) == epoch(jax.random.key(1))
    assert epoch(jax.random.key(1)) != epoch(jax.random.key(2))
    first = [r for b in epoch(jax.random.key(1)) for r in b]
    assert first == np.asarray(jax.random.permutation(jax.random.key(1), 103)).tolist()


@pytest.fixture(scope="module")
def eight_devices() -> dict:
    """tests/data_sharding_checks.py's measurements, from a fresh process that sees 8 CPU devices."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
    script = "tests/data_sharding_checks.py"
    done = subprocess.run([sys.executable, script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def test_the_same_key_gives_the_same_batches_in_another_process(eight_devices):
    assert eight_devices["epoch_42"] == epoch(jax.random.key(42))


def test_batches_keeps_jax_arrays_and_refuses_mismatches():
    batch = next(data.batches(jax.random.key(0), jnp.arange(10.0), 4))
    assert isinstance(batch, jax.Array) and batch.shape == (4,)
    with pytest.raises(ShapeError, match="same number of rows"):
        data.batches(jax.random.key(0), (np.zeros(3), np.zeros(4)), 2)
    with pytest.raises(KeyArgumentError, match="JAX random key"):
        data.batches(0, np.zeros(3), 2)
    with pytest.raises(ConfigError, match="batch_size"):
        data.batches(jax.random.key(0), np.zeros(3), 0)


IMAGES = jax.random.normal(jax.random.key(3), (4, 3, 8, 8))
AUGMENTATIONS = {
    "flip": data.random_flip,
    "compose": data.compose(data.random_flip, data.random_crop(8, padding=2)),
}


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_jit_vmap_equals_the_eager_loop(name):
    augment = AUGMENTATIONS[name]
    key = jax.random.key(5)
    batched = data.batch_augment(augment)(key, IMAGES)
    manual = jax.jit(jax.vmap(augment))(jax.random.split(key, len(IMAGES)), IMAGES)
    eager = jnp.stack([augment(k, x) for k, x in zip(jax.random.split(key, len(IMAGES)), IMAGES, strict=True)])
    np.testing.assert_array_equal(batched, eager)
    np.testing.assert_array_equal(manual, eager)
    assert batched.dtype == IMAGES.dtype


def test_flip_mirrors_some_images_and_keeps_the_others():
    images = jnp.broadcast_to(IMAGES[0], (16, *IMAGES.shape[1:]))
    out = data.batch_augment(data.random_flip)(jax.random.key(0), images)
    flipped = [bool(jnp.array_equal(o, x[..., ::-1])) for o, x in zip(out, images, strict=True)]
    kept = [bool(jnp.array_equal(o, x)) for o, x in zip(out, images, strict=True)]
    assert all(f != k for f, k in zip(flipped, kept, strict=True)) and any(flipped) and any(kept)
    never = data.batch_augment(functools.partial(data.random_flip, p=0.0))(jax.random.key(0), IMAGES)
    np.testing.assert_array_equal(never, IMAGES)


def test_crop_is_a_window_of_the_zero_padded_image():
    crop = data.random_crop((6, 5), padding=1)
    x = np.arange(3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8) + 1
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    corners = set()
    outs = data.batch_augment(crop)(jax.random.key(0), jnp.broadcast_to(x, (40, *x.shape)))
    for out in np.asarray(outs):
        assert out.shape == (3, 6, 5)
        found = [
            (top, left)
            for top in range(10 - 6 + 1)
            for left in range(10 - 5 + 1)
            if np.array_equal(padded[:, top : top + 6, left : left + 5], out)
        ]
        assert found
        corners.add(found[0])
    assert len(corners) > 5  # the position varies with the key
    with pytest.raises(ShapeError, match="random_crop"):
        data.random_crop(20, padding=1)(jax.random.key(0), x)
    with pytest.raises(ConfigError, match="padding"):
        data.random_crop(8, padding=-1)


def test_sharded_batches_on_8_devices(eight_devices):
    got = eight_devices
    assert got["devices"] == 8
    # NumPy data: each process hands its rows to make_array_from_process_local_data; 2 rows per device.
    assert got["host_batches"] == got["expected_batches"] == 6 and got["host_equal"]
    assert got["host_spec"] == [["data"], ["data"]] and got["host_shard_rows"] == [2]
    # Data on the mesh: every step is gathered on the devices, with no transfer at all.
    assert got["device_batches"] == 6 and got["device_equal"] and got["device_specs"] == [True]
    assert got["guard_sees_host_index"] is True
    assert got["refuses_6"] == "ConfigError"  # 6 rows do not split over 4 data slices


def numpy_crops(keys, images, size, padding):
    """Each image's zero-padded window at the position its key draws (as tinyjax has drawn it since
    random_crop was written: ``split`` into a top and a left key, ``randint`` over each range)."""
    (h, w), (th, tw) = images.shape[-2:], size

    def position(key):
        top_key, left_key = jax.random.split(key)
        top = jax.random.randint(top_key, (), 0, h + 2 * padding - th + 1)
        return top, jax.random.randint(left_key, (), 0, w + 2 * padding - tw + 1)

    tops, lefts = np.asarray(jax.vmap(position)(keys))
    padded = np.pad(images, [(0, 0)] * (images.ndim - 2) + [(padding, padding)] * 2)
    return np.stack([p[..., t : t + th, u : u + tw] for p, t, u in zip(padded, tops, lefts, strict=True)])


@pytest.mark.parametrize(
    ("shape", "size", "padding", "dtype"),
    [
        ((4, 3, 8, 8), (8, 8), 2, np.float32),
        ((4, 7, 9), (3, 4), 0, np.int8),
        ((4, 2, 3, 5, 6), (9, 12), 3, np.bool_),  # a window larger than the image: padding on every side
        ((2, 2, 0, 0), (2, 2), 1, np.float32),  # an empty image: only padding to read
    ],
)
def test_crop_equals_numpy_per_image(shape, size, padding, dtype):
    images = (np.random.default_rng(0).standard_normal(shape) * 3).astype(dtype)
    key = jax.random.key(7)
    crops = data.batch_augment(data.random_crop(size, padding))(key, jnp.asarray(images))
    assert crops.dtype == dtype
    np.testing.assert_array_equal(crops, numpy_crops(jax.random.split(key, shape[0]), images, size, padding))


def test_flip_equals_numpy_per_image():
    key, images = jax.random.key(7), np.asarray(IMAGES)
    mirrored = np.asarray(jax.vmap(jax.random.bernoulli)(jax.random.split(key, len(images))))
    expected = np.where(mirrored[:, None, None, None], images[..., ::-1], images)
    np.testing.assert_array_equal(data.batch_augment(data.random_flip)(key, IMAGES), expected)
    np.testing.assert_array_equal(data.random_flip(key, images[0], p=1), images[0, ..., ::-1])  # an int p too
