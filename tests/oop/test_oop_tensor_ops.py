"""The OOP Tensor as a sequence and its NumPy-style operations, each gradient against ``jax.grad``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import oop

VALUES = np.array([[0.5, 1.5, 2.0], [3.0, 0.25, 4.0]], np.float32)


def _grad_of(fn):
    """``.grad`` of a Tensor of VALUES after ``fn(tensor).backward()``."""
    t = oop.Tensor(VALUES, requires_grad=True)
    fn(t).backward()
    return np.asarray(t.grad)


OPS = {
    "abs": (lambda t: abs(t - 1.0).sum(), lambda a: jnp.abs(a - 1.0).sum()),
    "pow": (lambda t: (t**3).sum(), lambda a: (a**3).sum()),
    "rpow": (lambda t: (2.0**t).sum(), lambda a: (2.0**a).sum()),
    "exp": (lambda t: t.exp().sum(), lambda a: jnp.exp(a).sum()),
    "log": (lambda t: t.log().sum(), lambda a: jnp.log(a).sum()),
    "sqrt": (lambda t: t.sqrt().mean(), lambda a: jnp.sqrt(a).mean()),
    "min": (lambda t: t.min(axis=1).sum(), lambda a: a.min(axis=1).sum()),
    "integer-array index": (
        lambda t: (t[np.array([1, 1, 0])] * 2).sum(),
        lambda a: (a[jnp.array([1, 1, 0])] * 2).sum(),
    ),
    "index by a Tensor": (lambda t: t[oop.Tensor([1.0]), 2].sum(), lambda a: a[jnp.array([1]), 2].sum()),
    "boolean mask": (lambda t: t[VALUES > 1].sum(), lambda a: a[VALUES > 1].sum()),
    "np.sum": (lambda t: np.sum(t * t), lambda a: jnp.sum(a * a)),
    "np.mean over an axis": (lambda t: np.mean(t, axis=0).sum(), lambda a: jnp.mean(a, axis=0).sum()),
    "np.max": (lambda t: np.max(t), lambda a: jnp.max(a)),
    "np.exp ufunc": (lambda t: np.exp(t).sum(), lambda a: jnp.exp(a).sum()),
    "array + Tensor": (lambda t: (np.ones(3, np.float32) + t * t).sum(), lambda a: (1.0 + a * a).sum()),
    "rows by iteration": (lambda t: sum(row.max() for row in t), lambda a: a[0].max() + a[1].max()),
}


@pytest.mark.parametrize("op", list(OPS))
def test_gradient_equals_jax_grad(op):
    tensor_fn, jax_fn = OPS[op]
    np.testing.assert_allclose(_grad_of(tensor_fn), jax.grad(jax_fn)(jnp.asarray(VALUES)), rtol=1e-6, atol=1e-6)


def test_iteration_ends_and_gives_the_rows():
    t = oop.Tensor(np.ones((2, 3)))
    rows = list(t)  # once, a Tensor without __iter__ indexed forever: JAX clamps t[2] to t[1]
    assert len(rows) == 2 and all(r.shape == (3,) for r in rows)
    assert [float(x) for x in oop.Tensor([1.0, 2.0, 3.0])] == [1.0, 2.0, 3.0]


def test_out_of_range_index_is_an_index_error_not_a_clamp():
    t = oop.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for index in (3, -4, np.array([0, 3])):
        with pytest.raises(IndexError):
            t[index]
    with pytest.raises(tj.IndexRangeError, match="out of range for axis 0 of size 3"):
        t[5]
    assert float(t[-1].item()) == 3.0


def test_comparisons_give_boolean_tensors_without_gradients():
    t = oop.Tensor(VALUES, requires_grad=True)
    for result, expected in (
        (t > 1, VALUES > 1),
        (t <= 2, VALUES <= 2),
        (t == 0.5, VALUES == 0.5),
        (t != 4, VALUES != 4),
    ):
        assert result.dtype == np.bool_ and not result.requires_grad
        np.testing.assert_array_equal(result.numpy(), expected)
    assert bool(oop.Tensor(2.0) > 1) and {t: 1}[t] == 1  # one element decides; hashing stays by identity


def test_argmax_and_reductions_match_numpy():
    t = oop.Tensor(VALUES)
    assert int(t.argmax().item()) == int(np.argmax(VALUES))
    np.testing.assert_array_equal(t.argmax(axis=1).numpy(), np.argmax(VALUES, axis=1))
    np.testing.assert_array_equal(np.argmax(t, axis=0).numpy(), np.argmax(VALUES, axis=0))
    np.testing.assert_allclose(np.sum(t).item(), VALUES.sum(), rtol=1e-6)
    np.testing.assert_allclose(np.min(t, axis=0).numpy(), VALUES.min(axis=0))
    assert np.concatenate([t, t]).shape == (4, 3)  # other NumPy functions see arrays
