"""Bad inputs at the call the user made: the library's own exception, a message saying what to do.

One table: the call (given a fresh temporary folder), the exception type, fragments of its message.
The command line's bad arguments are argparse usage errors (exit status 2, no traceback).
"""

import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj

KEY = jax.random.key(0)
MLP = tj.Sequential(tj.Linear(784, 16), tj.ReLU(), tj.Linear(16, 10))
PARAMS = MLP.init(KEY)
INT_PARAMS = jax.tree_util.tree_map(lambda a: (a * 100).astype(jnp.int32), PARAMS)
X = jnp.ones((4, 784))


def _saved(folder: Path) -> Path:
    tj.save(folder / "w.safetensors", PARAMS, layer=MLP)
    return folder / "w.safetensors"


def _read_only(folder: Path) -> Path:
    path = _saved(folder)
    os.chmod(path, 0o444)
    return path


def _plain_apply(params, x):
    return MLP.apply(params, x)


CASES = {
    "apply given None": (
        lambda tmp: MLP.apply(PARAMS, None),
        tj.DTypeError,
        ["Sequential(Linear(784 -> 16)", "expected an input array x of numbers, got NoneType None"],
    ),
    "apply given a string": (
        lambda tmp: MLP.apply(PARAMS, "abc"),
        tj.DTypeError,
        ["expected an input array x of numbers, got str 'abc'"],
    ),
    "apply with the arguments swapped": (
        lambda tmp: tj.Linear(784, 16).apply(X, PARAMS[0]),
        tj.DTypeError,
        ["Linear(784 -> 16): expected an input array x", "the arguments look swapped: call apply(params, x)"],
    ),
    "apply with integer weights": (
        lambda tmp: MLP.apply(INT_PARAMS, X),
        tj.DTypeError,
        ["Sequential[0] Linear(784 -> 16)", "is int32: weights must be floating-point", "astype(jnp.float32)"],
    ),
    "compile a plain function": (
        lambda tmp: tj.compile(_plain_apply, PARAMS, X),
        tj.ConfigError,
        ["compile takes a tinyjax Layer", "function '_plain_apply'", "tj.as_layer((init, apply))"],
    ),
    "compile with a 1-D example": (
        lambda tmp: tj.compile(MLP, PARAMS, jnp.ones(784)),
        tj.ShapeError,
        ["compile(Sequential", "expected example of shape (batch, features, ...), got (784,)", "x[None]"],
    ),
    "compile with integer weights": (
        lambda tmp: tj.compile(MLP, INT_PARAMS, X),
        tj.DTypeError,
        ["compile(Sequential", "params[0]['bias'] is int32", "astype(jnp.float32)"],
    ),
    "predictor given integer input": (
        lambda tmp: tj.compile(MLP, PARAMS, X)(np.ones((4, 784), np.int64)),
        tj.DTypeError,
        ["Predictor(Sequential", "expected floating input, got int64", "astype(np.float32)"],
    ),
    "export to an unknown platform": (
        lambda tmp: tj.export(MLP, PARAMS, platforms="gpu"),
        tj.ConfigError,
        ["export platforms must be among", "'cuda'", "('gpu',)"],
    ),
    "export integer weights": (
        lambda tmp: tj.export(MLP, INT_PARAMS),
        tj.DTypeError,
        ["export(Sequential", "is int32: weights must be floating-point"],
    ),
    "export a plain function": (
        lambda tmp: tj.export(_plain_apply, PARAMS),
        tj.ConfigError,
        ["export takes a tinyjax Layer", "tj.as_layer"],
    ),
    "summary with an int input shape": (
        lambda tmp: tj.summary(MLP, PARAMS, 784),
        tj.ConfigError,
        ["summary(Sequential", "input_shape must be a shape tuple such as (32, 784), got the int 784", "(784,)"],
    ),
    "save None": (
        lambda tmp: tj.save(tmp / "w.safetensors", None),
        tj.ConfigError,
        ["w.safetensors", "the params are empty (None)", "model.init", "nothing was written"],
    ),
    "save empty params": (
        lambda tmp: tj.save(tmp / "w.safetensors", ()),
        tj.ConfigError,
        ["the params are empty (())"],
    ),
    "save over a read-only file": (
        lambda tmp: tj.save(_read_only(tmp), PARAMS),
        PermissionError,
        ["cannot save weights: the file is read-only (mode 444)", "make it writable", "w.safetensors"],
    ),
    "save into a missing folder": (
        lambda tmp: tj.save(tmp / "nowhere" / "w.safetensors", PARAMS),
        FileNotFoundError,
        ["cannot save", "nowhere", "does not exist"],
    ),
    "load with like=None": (
        lambda tmp: tj.load(_saved(tmp), None),
        tj.ConfigError,
        ["like=None", "pass the Layer the weights belong to", "jax.eval_shape(model.init, key)"],
    ),
    "load into an integer dtype": (
        lambda tmp: tj.load(_saved(tmp), MLP, dtype=jnp.int8),
        tj.ConfigError,
        ["load dtype", "must be a floating dtype, got int8"],
    ),
    "cross_entropy with label = classes": (
        lambda tmp: tj.losses.cross_entropy(jnp.zeros((2, 3)), jnp.array([0, 3])),
        tj.ConfigError,
        ["cross_entropy", "class indices in [0, 3), got 3 at index (1,)", "check the labels"],
    ),
    "cross_entropy with label -1": (
        lambda tmp: tj.losses.cross_entropy(jnp.zeros((2, 3)), jnp.array([-1, 0])),
        tj.ConfigError,
        ["class indices in [0, 3), got -1 at index (0,)"],
    ),
}


def test_apply_takes_a_python_list_as_an_array():
    rows = np.ones((2, 784)).tolist()
    np.testing.assert_array_equal(MLP.apply(PARAMS, rows), MLP.apply(PARAMS, jnp.ones((2, 784))))


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_raises_the_librarys_error(case, tmp_path):
    call, error, fragments = CASES[case]
    with pytest.raises(error) as info:
        call(tmp_path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert ".tmp" not in message  # never the hidden temporary file of save
    if case.startswith("save"):
        assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["w.safetensors"])  # nothing left behind


def test_integer_weights_helper_names_the_leaf():
    # tinyjax._checks.check_float_params is what compile (and the layers' apply) call.
    from tinyjax._checks import check_float_params

    check_float_params(PARAMS, "Sequential")
    with pytest.raises(tj.DTypeError, match=r"Linear\(3 -> 2\): params\['weight'\] is int8: weights must be"):
        check_float_params({"weight": np.ones((3, 2), np.int8)}, "Linear(3 -> 2)")


def test_one_platform_as_a_string_is_that_platform():
    exported = jax.export.deserialize(bytearray(tj.export(MLP, PARAMS, platforms="cpu")))
    assert exported.platforms == ("cpu",)


@pytest.mark.parametrize(("argument", "value"), [("--batch", "-1"), ("--batch", "0"), ("--repeats", "0")])
def test_command_line_refuses_non_positive_sizes_without_a_traceback(argument, value):
    done = subprocess.run(
        [sys.executable, "-m", "tinyjax", argument, value], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert f"argument {argument}: invalid positive integer value: '{value}'" in done.stderr
    assert "Traceback" not in done.stderr and "usage: python -m tinyjax" in done.stderr
