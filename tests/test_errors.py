"""A table of mistakes: each raises the library's own error, naming the layer and both shapes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import linear

KEY = jax.random.key(0)
MLP = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
PARAMS = MLP.init(KEY)
OTHER = tj.Sequential(tj.Linear(784, 64), tj.ReLU(), tj.Linear(64, 10)).init(KEY)
X = jnp.ones((32, 784))

CASES = {
    "sizes that cannot fit, at build": (
        lambda: tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(64, 10)),
        tj.ShapeError,
        ["Sequential[2] Linear(64 -> 10)", "(..., 64)", "(128,)"],
    ),
    "nested sizes that cannot fit": (
        lambda: tj.Sequential(tj.Linear(8, 4), tj.Sequential(tj.ReLU(), tj.Linear(3, 2))),
        tj.ShapeError,
        ["Sequential[1][1] Linear(3 -> 2)", "(..., 3)", "(4,)"],
    ),
    "wrong input features": (
        lambda: MLP.apply(PARAMS, jnp.ones((32, 100))),
        tj.ShapeError,
        ["Sequential[0] Linear(784 -> 128)", "(..., 784)", "(32, 100)"],
    ),
    "wrong input features, lone layer": (
        lambda: tj.Linear(10, 5).apply(tj.Linear(10, 5).init(KEY), jnp.ones((3, 9))),
        tj.ShapeError,
        ["Linear(10 -> 5)", "(..., 10)", "(3, 9)"],
    ),
    "wrong input features, module-level apply": (
        lambda: linear.apply(linear.init(KEY, 10, 5), jnp.ones((3, 9))),
        tj.ShapeError,
        ["Linear(10 -> 5)", "(..., 10)", "(3, 9)"],
    ),
    "wrong input features under the user's jit": (
        lambda: jax.jit(MLP.apply)(PARAMS, jnp.ones((2, 3))),
        tj.ShapeError,
        ["Sequential[0] Linear(784 -> 128)", "(..., 784)", "(2, 3)"],
    ),
    "scalar input": (
        lambda: MLP.apply(PARAMS, jnp.float32(1.0)),
        tj.ShapeError,
        ["Sequential[0] Linear(784 -> 128)", "(..., 784)", "()"],
    ),
    "integer input": (
        lambda: MLP.apply(PARAMS, jnp.ones((2, 784), jnp.int32)),
        tj.DTypeError,
        ["Sequential[0] Linear(784 -> 128)", "int32", "floating"],
    ),
    "complex input": (
        lambda: tj.Linear(3, 2).apply(tj.Linear(3, 2).init(KEY), jnp.ones((2, 3), jnp.complex64)),
        tj.DTypeError,
        ["Linear(3 -> 2)", "complex", "floating"],
    ),
    "integer input to an activation": (
        lambda: tj.ReLU().apply((), np.arange(3)),
        tj.DTypeError,
        ["ReLU()", "int"],
    ),
    "params of another model": (
        lambda: MLP.apply(OTHER, X),
        tj.ParamsError,
        ["Sequential", "5 params", "3 entries"],
    ),
    "params of another layer of the same model": (
        lambda: tj.Linear(784, 128).apply(PARAMS[2], X),
        tj.ParamsError,
        ["Linear(784 -> 128)", "params['weight']", "(784, 128)", "(128, 64)"],
    ),
    "params swapped inside a Sequential": (
        lambda: MLP.apply((PARAMS[0], (), PARAMS[4], (), PARAMS[2]), X),
        tj.ParamsError,
        ["Sequential[2] Linear(128 -> 64)", "(128, 64)", "(64, 10)"],
    ),
    "misshapen bias": (
        lambda: tj.Linear(4, 3).apply({"weight": jnp.ones((4, 3)), "bias": jnp.ones(4)}, jnp.ones(4)),
        tj.ParamsError,
        ["Linear(4 -> 3)", "params['bias']", "(3,)", "(4,)"],
    ),
    "params where none belong": (
        lambda: tj.ReLU().apply(PARAMS[0], X),
        tj.ParamsError,
        ["ReLU()", "no parameters"],
    ),
    "not a dict for a Linear": (
        lambda: tj.Linear(4, 3).apply((jnp.ones((4, 3)),), jnp.ones(4)),
        tj.ParamsError,
        ["Linear(4 -> 3)", "'weight'", "tuple"],
    ),
    "missing bias": (
        lambda: tj.Linear(4, 3).apply({"weight": jnp.ones((4, 3))}, jnp.ones(4)),
        tj.ParamsError,
        ["Linear(4 -> 3)", "bias"],
    ),
    "an int where a key is expected": (
        lambda: MLP.init(0),
        tj.KeyArgumentError,
        ["Sequential.init", "jax.random.key(0)", "int"],
    ),
    "a float array where a key is expected": (
        lambda: tj.Linear(3, 2).init(jnp.ones(2)),
        tj.KeyArgumentError,
        ["Linear(3 -> 2).init", "float32"],
    ),
    "a batch of keys": (
        lambda: tj.Linear(3, 2).init(jax.random.split(KEY, 4)),
        tj.KeyArgumentError,
        ["Linear(3 -> 2).init", "batch of keys", "(4,)", "vmap"],
    ),
    "a bad key for the module-level init": (
        lambda: linear.init(None, 3, 2),
        tj.KeyArgumentError,
        ["Linear(3 -> 2).init", "NoneType"],
    ),
    "zero features": (lambda: tj.Linear(0, 3), tj.ConfigError, ["in_features", "positive integer", "0"]),
    "negative features": (lambda: tj.Linear(3, -2), tj.ConfigError, ["out_features", "-2"]),
    "float features": (lambda: tj.Linear(2.5, 3), tj.ConfigError, ["in_features", "2.5", "float"]),
    "string features": (lambda: linear.init(KEY, "3", 2), tj.ConfigError, ["in_features", "'3'", "str"]),
    "bool features": (lambda: tj.Linear(True, 2), tj.ConfigError, ["in_features", "True"]),
    "integer params dtype": (lambda: tj.Linear(2, 2, dtype=jnp.int32).init(KEY), tj.ConfigError, ["floating", "int32"]),
    "not a layer in a Sequential": (lambda: tj.Sequential(tj.ReLU(), 3), tj.ConfigError, ["Layer", "int"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_mistake_raises_clear_error(name):
    call, error_type, fragments = CASES[name]
    with pytest.raises(Exception) as caught:
        call()
    assert type(caught.value) is error_type, f"{name}: got {type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{name}: {fragment!r} not in {message!r}"


def test_error_types_subclass_builtin_ones():
    assert issubclass(tj.ShapeError, ValueError) and issubclass(tj.ParamsError, tj.ShapeError)
    assert issubclass(tj.DTypeError, TypeError) and issubclass(tj.KeyArgumentError, TypeError)
    assert issubclass(tj.ConfigError, ValueError)


def test_shape_error_carries_structured_fields():
    with pytest.raises(tj.ShapeError) as caught:
        MLP.apply(PARAMS, jnp.ones((5, 7)))
    error = caught.value
    assert error.layer == "Sequential[0] Linear(784 -> 128)"
    assert error.expected == (..., 784) and error.got == (5, 7)


def test_build_check_runs_no_flops():
    # Linear(100000, 100000) would need 40 GB of weights: built and checked abstractly, it costs nothing.
    with pytest.raises(tj.ShapeError, match=r"Sequential\[1\] Linear\(5 -> 100000\)"):
        tj.Sequential(tj.Linear(100_000, 100_000), tj.Linear(5, 100_000))
