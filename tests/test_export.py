"""tinyjax.export: one artifact for every batch size, loaded and run without the model's code."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj

MODEL = tj.Sequential(tj.Linear(12, 8), tj.GELU(), tj.Linear(8, 4), tj.Softmax())
PARAMS = MODEL.init(jax.random.key(0))


def test_artifact_equals_apply_at_several_batch_sizes(tmp_path):
    path = tmp_path / "model.jaxexport"
    data = tj.export(MODEL, PARAMS, path=path)
    assert path.read_bytes() == data
    for predict in (tj.load_exported(data), tj.load_exported(path)):
        for n in (1, 5, 64):
            x = jax.random.normal(jax.random.key(n), (n, 12))
            np.testing.assert_allclose(predict(x), MODEL.apply(PARAMS, x), rtol=1e-6, atol=1e-7)


def test_symbolic_batch_and_platforms():
    exported = jax.export.deserialize(bytearray(tj.export(MODEL, PARAMS, platforms=("cpu", "cuda", "tpu"))))
    assert exported.platforms == ("cpu", "cuda", "tpu")
    (shape,) = [a.shape for a in exported.in_avals]
    assert str(shape[0]) == "b" and shape[1:] == (12,)


def test_loads_and_runs_with_jax_only(tmp_path):
    path = tmp_path / "model.jaxexport"
    tj.export(MODEL, PARAMS, path=path)
    x = np.linspace(-1, 1, 36, dtype=np.float32).reshape(3, 12)
    script = (
        "import sys, jax, numpy as np\n"
        "sys.modules['tinyjax'] = None  # any import of tinyjax would fail\n"
        f"exported = jax.export.deserialize(bytearray(open({str(path)!r}, 'rb').read()))\n"
        "x = np.linspace(-1, 1, 36, dtype=np.float32).reshape(3, 12)\n"
        "print(repr(np.asarray(exported.call(x)).tolist()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.array(eval(done.stdout)), MODEL.apply(PARAMS, x), rtol=1e-6, atol=1e-7)


def test_features_and_errors():
    pair = (lambda key: (), lambda p, x: x * 2)
    with pytest.raises(tj.ConfigError, match="features"):
        tj.export(tj.as_layer(pair), ())
    data = tj.export(tj.as_layer(pair), (), features=(3, 2))
    np.testing.assert_array_equal(tj.load_exported(data)(jnp.ones((4, 3, 2))), 2 * np.ones((4, 3, 2)))


def test_unknown_platforms_and_garbage_artifacts_are_clear_errors(tmp_path):
    layer = tj.Linear(3, 2)
    params = layer.init(jax.random.key(0))
    for platforms in (("gpu",), ("cpu", "metal"), ()):
        with pytest.raises(tj.ConfigError, match="export platforms must be among"):
            tj.export(layer, params, platforms=platforms)
    with pytest.raises(tj.ArtifactError, match=r"the bytes given \(7 bytes\) is not a jax.export artifact"):
        tj.load_exported(b"garbage")
    artifact = tj.export(layer, params)
    broken = tmp_path / "broken.jax"
    broken.write_bytes(artifact[: len(artifact) // 2])
    with pytest.raises(tj.ArtifactError, match=r"broken\.jax"):
        tj.load_exported(broken)
