"""tinyjax.export: one artifact for every batch size, loaded and run without the model's code."""

import subprocess
import sys
from pathlib import Path

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


def test_loads_and_runs_with_jax_only_as_the_readme_shows(tmp_path):
    # The README's serving block shows the loading code for a machine without tinyjax: run those lines
    # as written, in a process where importing tinyjax fails.
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    lines = [line.split("#")[0].rstrip() for line in readme.splitlines() if "jax.export.deserialize(" in line]
    lines += [line.split("#")[0].rstrip() for line in readme.splitlines() if line.startswith("y = exported.call(")]
    assert lines == ["exported = jax.export.deserialize(bytearray(artifact))", "y = exported.call(x)"]
    path = tmp_path / "model.jaxexport"
    tj.export(MODEL, PARAMS, path=path)
    x = np.linspace(-1, 1, 60, dtype=np.float32).reshape(5, 12)
    np.save(tmp_path / "x.npy", x)
    script = "\n".join(
        [
            "import sys, jax, numpy as np",
            "sys.modules['tinyjax'] = None  # any import of tinyjax would fail",
            f"artifact = open({str(path)!r}, 'rb').read()",
            f"x = np.load({str(tmp_path / 'x.npy')!r})",
            *lines,
            "print(repr(np.asarray(y).tolist()))",
        ]
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.array(eval(done.stdout)), MODEL.apply(PARAMS, x), rtol=1e-6, atol=1e-7)
