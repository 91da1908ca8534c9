"""tinyjax.losses: stability for huge logits, reductions, labels out of range, errors (no torch needed).

The comparison with PyTorch's definitions is in test_losses_torch.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax.nn.losses import binary_cross_entropy, cross_entropy, mse

rng = np.random.default_rng(0)


def test_one_hot_targets_equal_integer_labels():
    logits = jnp.asarray(rng.standard_normal((6, 4)), jnp.float32)
    labels = jnp.array([0, 3, 2, 1, 1, 0])
    np.testing.assert_allclose(cross_entropy(logits, jax.nn.one_hot(labels, 4)), cross_entropy(logits, labels), 1e-6)


def test_large_logits_are_stable():
    logits = jnp.array([[1e4, 0.0, -1e4], [-5e3, 5e3, 0.0], [3e38, -3e38, 0.0]], jnp.float32)
    labels = jnp.array([0, 0, 0])
    losses = cross_entropy(logits, labels, reduction="none")
    np.testing.assert_allclose(losses, [0.0, 1e4, 0.0], rtol=1e-6)  # a naive log(softmax) gives nan/inf
    grads = jax.grad(lambda z: cross_entropy(z, labels[:2]))(logits[:2])
    assert bool(jnp.all(jnp.isfinite(grads)))
    big = jnp.array([1e4, -1e4, 100.0, -100.0], jnp.float32)
    bce = binary_cross_entropy(big, jnp.array([0.0, 1.0, 1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(bce, [1e4, 1e4, 0.0, 0.0], atol=1e-30, rtol=1e-6)
    assert bool(jnp.all(jnp.isfinite(jax.grad(lambda z: binary_cross_entropy(z, jnp.ones(4)))(big))))


def test_losses_jit_and_reductions_are_consistent():
    logits = jnp.asarray(rng.standard_normal((5, 3)), jnp.float32)
    labels = jnp.array([0, 1, 2, 1, 0])
    none = cross_entropy(logits, labels, reduction="none")
    assert none.shape == (5,)
    np.testing.assert_allclose(jax.jit(cross_entropy)(logits, labels), none.mean(), rtol=1e-6)
    np.testing.assert_allclose(cross_entropy(logits, labels, reduction="sum"), none.sum(), rtol=1e-6)


def test_bad_reduction_and_shapes_raise_clear_errors():
    logits = jnp.zeros((4, 3))
    with pytest.raises(tj.ConfigError, match="reduction must be one of"):
        cross_entropy(logits, jnp.zeros(4, jnp.int32), reduction="avg")
    with pytest.raises(tj.ConfigError, match="reduction must be one of"):
        mse(logits, logits, reduction=None)
    with pytest.raises(tj.ShapeError, match=r"expected integer labels of shape \(4,\), got \(4, 1\)"):
        cross_entropy(logits, jnp.zeros((4, 1), jnp.int32))
    with pytest.raises(tj.ShapeError, match=r"expected probability targets of shape \(4, 3\), got \(4, 2\)"):
        cross_entropy(logits, jnp.zeros((4, 2)))
    with pytest.raises(tj.ShapeError, match=r"binary_cross_entropy: expected targets of shape \(4, 3\), got \(3,\)"):
        binary_cross_entropy(logits, jnp.zeros(3))
    with pytest.raises(tj.ShapeError, match=r"mse: expected targets of shape \(4, 3\)"):
        jax.jit(mse)(logits, jnp.zeros((3, 4)))
    with pytest.raises(tj.DTypeError, match="floating logits"):
        cross_entropy(jnp.zeros((4, 3), jnp.int32), jnp.zeros(4, jnp.int32))
    with pytest.raises(tj.DTypeError, match="integer indices or floating probabilities"):
        cross_entropy(logits, jnp.zeros(4, bool))


@pytest.mark.parametrize("label", [3, -1, 100])
def test_concrete_labels_out_of_range_are_refused(label):
    logits = jnp.zeros((2, 3))
    with pytest.raises(tj.ConfigError, match=rf"labels must be class indices in \[0, 3\), got {label} at index \(1,\)"):
        cross_entropy(logits, jnp.array([0, label]))
    with pytest.raises(tj.ConfigError, match="class indices in"):  # labels closed over: concrete too
        jax.jit(lambda z: cross_entropy(z, np.array([label, 0])))(logits)


@pytest.mark.parametrize("label", [3, -1, 100])
def test_traced_labels_out_of_range_give_nan_never_a_finite_loss(label):
    logits = jnp.asarray(rng.standard_normal((2, 3)), jnp.float32)
    labels = jnp.array([0, label])
    per_example = jax.jit(lambda z, y: cross_entropy(z, y, reduction="none"))(logits, labels)
    assert np.isfinite(per_example[0]) and np.isnan(per_example[1])
    np.testing.assert_allclose(per_example[0], cross_entropy(logits[:1], labels[:1], reduction="none")[0], rtol=1e-6)
    for reduction in ("mean", "sum"):
        assert np.isnan(jax.jit(lambda z, y, r=reduction: cross_entropy(z, y, reduction=r))(logits, labels))
