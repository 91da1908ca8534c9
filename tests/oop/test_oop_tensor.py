"""Tensor: TinyTorch's storage rules (float32, .data a writable copy), arithmetic against NumPy, shapes, errors."""

import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
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
        assert isinstance(t.data, np.ndarray) and t.data.dtype == np.float32
        np.testing.assert_array_equal(t.numpy(), A)
        assert not t.requires_grad and t.grad is None
    j = jnp.ones(3)
    assert Tensor(j).array is j  # a float32 jax array is wrapped, not copied


@pytest.mark.parametrize(
    "source",
    [[1, 2, 3], np.array([1, 2, 3], np.int64), np.array([True, False, True]), np.random.randn(3), jnp.arange(3), 7],
    ids=["int list", "int64", "bool", "float64", "jax int32", "scalar"],
)
def test_every_input_is_stored_as_float32(source):
    # TinyTorch stores np.array(data, dtype=np.float32) whatever it is given
    t = Tensor(source)
    assert t.dtype == np.float32 and t.array.dtype == jnp.float32
    np.testing.assert_array_equal(t.data, np.asarray(source, np.float32))


def test_data_copies_the_input_and_writes_into_it_reach_the_tensor():
    source = np.array([1.0, 2.0, 3.0], np.float32)
    t = Tensor(source)
    source[0] = 99.0
    assert t.data[0] == 1.0  # the Tensor holds its own copy
    before = t.array
    t.data[0] = 5.0  # TinyTorch's in-place writes
    t.data[1:] *= 2.0
    row = t.data
    row -= 1.0
    np.testing.assert_array_equal(t.array, [4.0, 3.0, 5.0])
    np.testing.assert_array_equal(before, [1.0, 2.0, 3.0])  # the old jax array is untouched (immutable)
    total = t.data + 1.0  # a new array: writing into it leaves the Tensor alone
    total[0] = 0.0
    np.testing.assert_array_equal(t.array, [4.0, 3.0, 5.0])


@pytest.mark.parametrize("bad", [None, "abc", ["a", "b"], [1, None], 1 + 2j, {"a": 1}])
def test_none_strings_and_complex_raise_the_librarys_error(bad):
    with pytest.raises(tj.DTypeError, match=r"Tensor: expected real numbers"):
        Tensor(bad)


def test_matmul_and_operator():
    w = RNG.standard_normal((4, 2)).astype(np.float32)
    np.testing.assert_allclose(Tensor(A).matmul(Tensor(w)).numpy(), A @ w, rtol=1e-5)
    np.testing.assert_allclose((Tensor(A) @ w).numpy(), A @ w, rtol=1e-5)
    np.testing.assert_allclose((A @ Tensor(w)).numpy(), A @ w, rtol=1e-5)
    np.testing.assert_allclose((Tensor(A) @ Tensor(ROW)).numpy(), A @ ROW, rtol=1e-5)


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(tj.ShapeError, match=r"\(3, 4\) @ \(5, 2\).*Inner dimensions must match: 4 ≠ 5"):
        Tensor(A).matmul(Tensor(np.ones((5, 2))))
    with pytest.raises(tj.ShapeError, match=r"\(3, 4\) @ \(3,\)"):
        Tensor(A) @ np.ones(3)
    # TinyTorch: a 0-d operand multiplies elementwise; batched operands follow np.matmul
    np.testing.assert_array_equal(Tensor(A).matmul(Tensor(2.0)).numpy(), A * 2)
    cube = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose((Tensor(cube) @ Tensor(A.T)).numpy(), cube @ A.T, rtol=1e-5)


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
    np.testing.assert_array_equal(t.max().numpy(), A.max())
    np.testing.assert_array_equal(t.max(axis=0).numpy(), A.max(axis=0))
    np.testing.assert_array_equal(t.max(axis=1, keepdims=True).numpy(), A.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(t.flatten().numpy(), A.ravel())
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
    # NumPy (and PyTorch) keep float16 * 1.5 in float16; a Python scalar must not promote the Tensor.
    # Tensor(...) makes float32; a module built from bf16 params holds them as they are (Tensor.wrap).
    assert (np.ones(3, np.float16) * 1.5).dtype == np.float16
    t = Tensor.wrap(jnp.ones(3, dtype))
    for result in (t * 1.5, 1.5 * t, t + 2, 2 - t, t / 3.0, 1.0 / t):
        assert result.dtype == np.dtype(dtype), result
    np.testing.assert_array_equal((t * 1.5).numpy().astype(np.float32), np.full(3, 1.5, np.float32))


def test_reshape_and_transpose_errors_name_the_problem():
    t = Tensor(np.arange(12))
    with pytest.raises(tj.ShapeError, match=r"Tensor.reshape.*12 elements.*\(5, 3\)"):
        t.reshape(5, 3)
    with pytest.raises(tj.ConfigError, match="at most one size may be -1"):
        t.reshape(-1, -1)
    with pytest.raises(tj.ConfigError, match="both dim0 and dim1"):
        Tensor(A).transpose(0)
    np.testing.assert_array_equal(Tensor([1.0, 2.0]).transpose().numpy(), [1.0, 2.0])


def test_repr_shows_requires_grad():
    assert repr(Tensor([1.0], requires_grad=True)).endswith("dtype=float32, requires_grad=True)")
