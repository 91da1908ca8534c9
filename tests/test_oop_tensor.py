"""Tensor arithmetic against NumPy, shapes, errors, repr."""

import jax.numpy as jnp
import numpy as np
import pytest

from tinyjax.oop import Tensor

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((3, 4)).astype(np.float32)
ROW = RNG.standard_normal((4,)).astype(np.float32) + 2.0


@pytest.mark.parametrize("left", ["tensor", "numpy", "scalar"])
@pytest.mark.parametrize(
    "op", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b], ids=["+", "-", "*", "/"]
)
def test_binary_ops_match_numpy_on_either_side(op, left):
    right_values = {"tensor": Tensor(ROW), "numpy": ROW, "scalar": 1.5}
    ref_right = {"tensor": ROW, "numpy": ROW, "scalar": 1.5}
    result = op(Tensor(A), right_values[left])
    assert isinstance(result, Tensor)
    np.testing.assert_allclose(result.numpy(), op(A, ref_right[left]), rtol=1e-6)
    reflected = op(right_values[left], Tensor(A + 3.0)) if left != "numpy" else op(ROW, Tensor(A + 3.0))
    assert isinstance(reflected, Tensor)
    np.testing.assert_allclose(reflected.numpy(), op(ref_right[left], A + 3.0), rtol=1e-6)


def test_construction_and_attributes():
    for source in (A, A.tolist(), jnp.asarray(A), Tensor(A)):
        t = Tensor(source)
        assert t.shape == (3, 4) and t.size == 12 and t.dtype == np.float32 and t.ndim == 2
        np.testing.assert_array_equal(t.numpy(), A)
    assert Tensor(np.random.randn(2, 2)).dtype == np.float32  # float64 input computes in float32
    j = jnp.ones(3)
    assert Tensor(j).data is j  # a jax array is wrapped, not copied


def test_matmul_and_operator():
    w = RNG.standard_normal((4, 2)).astype(np.float32)
    np.testing.assert_allclose(Tensor(A).matmul(Tensor(w)).numpy(), A @ w, rtol=1e-5)
    np.testing.assert_allclose((Tensor(A) @ w).numpy(), A @ w, rtol=1e-5)
    np.testing.assert_allclose((A @ Tensor(w)).numpy(), A @ w, rtol=1e-5)
    np.testing.assert_allclose((Tensor(A) @ Tensor(ROW)).numpy(), A @ ROW, rtol=1e-5)


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\) @ \(5, 2\)"):
        Tensor(A).matmul(Tensor(np.ones((5, 2))))
    with pytest.raises(ValueError, match=r"\(3, 4\) @ \(3,\)"):
        Tensor(A) @ np.ones(3)


def test_shape_ops_and_reductions():
    t = Tensor(A)
    np.testing.assert_array_equal(t.reshape(2, 6).numpy(), A.reshape(2, 6))
    np.testing.assert_array_equal(t.reshape((4, -1)).numpy(), A.reshape(4, -1))
    np.testing.assert_array_equal(t.transpose().numpy(), A.T)
    np.testing.assert_array_equal(t.T.numpy(), A.T)
    cube = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(Tensor(cube).transpose(0, 2).numpy(), np.swapaxes(cube, 0, 2))
    np.testing.assert_allclose(t.sum().numpy(), A.sum(), rtol=1e-5)
    np.testing.assert_allclose(t.sum(axis=0).numpy(), A.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(t.mean(axis=1, keepdims=True).numpy(), A.mean(axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(t[1].numpy(), A[1])
    np.testing.assert_array_equal(t[:, 1:3].numpy(), A[:, 1:3])
    np.testing.assert_array_equal((-t).numpy(), -A)
    assert len(t) == 3
    np.testing.assert_array_equal(np.asarray(t), A)


def test_repr_is_readable():
    text = repr(Tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert text.startswith("Tensor([[1., 2.],") and "shape=(2, 2)" in text and "dtype=float32" in text


@pytest.mark.parametrize("dtype", [np.float16, jnp.bfloat16])
def test_python_scalars_keep_the_tensor_dtype(dtype):
    # NumPy (and PyTorch) keep float16 * 1.5 in float16; a Python scalar must not promote the Tensor
    assert (np.ones(3, np.float16) * 1.5).dtype == np.float16
    t = Tensor(jnp.ones(3, dtype))
    for result in (t * 1.5, 1.5 * t, t + 2, 2 - t, t / 3.0, 1.0 / t):
        assert result.dtype == np.dtype(dtype), result
    np.testing.assert_array_equal((t * 1.5).numpy().astype(np.float32), np.full(3, 1.5, np.float32))
