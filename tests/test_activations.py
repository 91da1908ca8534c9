"""Activations: values against NumPy/SciPy, stability, empty params."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf

import tinyjax as tj

X = np.linspace(-6.0, 6.0, 97, dtype=np.float32).reshape(97, 1) * np.array([[1.0, 0.5, -2.0]], np.float32)


def _gelu_exact(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize(
    "layer, reference",
    [
        (tj.ReLU(), lambda x: np.maximum(x, 0.0)),
        (tj.Sigmoid(), lambda x: 1.0 / (1.0 + np.exp(-x))),
        (tj.Tanh(), np.tanh),
        (tj.GELU(), _gelu_exact),
        (tj.GELU(approximate=True), _gelu_tanh),
        (tj.Softmax(), lambda x: _softmax(x, -1)),
        (tj.Softmax(axis=0), lambda x: _softmax(x, 0)),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_values(layer, reference):
    params = layer.init(jax.random.key(0))
    assert params == ()
    y = layer.apply(params, X)
    assert y.shape == X.shape and y.dtype == X.dtype
    np.testing.assert_allclose(y, reference(X.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_gelu_exact_and_approximate_differ():
    x = jnp.array([1.5])
    assert float(tj.GELU().apply((), x)[0]) != float(tj.GELU(approximate=True).apply((), x)[0])


def test_softmax_is_stable_for_large_inputs():
    x = jnp.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -1000.0]])
    y = np.asarray(tj.Softmax().apply((), x))
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[0], _softmax(np.array([0.0, 1.0, 2.0]), -1), rtol=1e-6)
    np.testing.assert_allclose(y[1], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_allclose(y.sum(axis=-1), [1.0, 1.0], rtol=1e-6)


def test_sigmoid_saturates_without_nan():
    y = np.asarray(tj.Sigmoid().apply((), jnp.array([-1e4, 1e4])))
    np.testing.assert_array_equal(y, [0.0, 1.0])


def test_softmax_axis_out_of_range():
    with pytest.raises(tj.ShapeError, match=r"Softmax\(axis=2\)"):
        tj.Softmax(axis=2).apply((), jnp.ones((3, 4)))
