"""tinyjax.losses against PyTorch's definitions, stability for huge logits, reductions and errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax.nn.losses import binary_cross_entropy, cross_entropy, mse

torch = pytest.importorskip("torch")
F = torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]
rng = np.random.default_rng(0)


def _close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours, np.float64), theirs.numpy().astype(np.float64), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_matches_torch(reduction):
    p, t = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 3))
    _close(mse(p, t, reduction=reduction), F.mse_loss(torch.tensor(p), torch.tensor(t), reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(8, 10), (3, 4, 6), (5,)])
def test_cross_entropy_integer_labels_matches_torch(reduction, shape):
    logits = rng.standard_normal(shape) * 3
    labels = rng.integers(0, shape[-1], shape[:-1])
    # torch wants the class axis second for more than 2 dims
    torch_logits = torch.tensor(np.moveaxis(logits, -1, 1) if logits.ndim > 2 else logits)
    expected = F.cross_entropy(torch_logits, torch.tensor(labels), reduction=reduction)
    _close(cross_entropy(logits, labels.astype(np.int32), reduction=reduction), expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_matches_torch(reduction):
    logits = rng.standard_normal((6, 4)) * 2
    targets = rng.dirichlet(np.ones(4), 6)
    expected = F.cross_entropy(torch.tensor(logits), torch.tensor(targets), reduction=reduction)
    _close(cross_entropy(logits, targets, reduction=reduction), expected)


def test_one_hot_targets_equal_integer_labels():
    logits = jnp.asarray(rng.standard_normal((6, 4)), jnp.float32)
    labels = jnp.array([0, 3, 2, 1, 1, 0])
    np.testing.assert_allclose(cross_entropy(logits, jax.nn.one_hot(labels, 4)), cross_entropy(logits, labels), 1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(reduction):
    logits, targets = rng.standard_normal((4, 7)) * 4, rng.uniform(size=(4, 7))
    expected = F.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(targets), reduction=reduction)
    _close(binary_cross_entropy(logits, targets, reduction=reduction), expected)


def test_float32_inputs_match_torch_float32():
    logits = rng.standard_normal((16, 10)).astype(np.float32) * 5
    labels = rng.integers(0, 10, 16)
    expected = F.cross_entropy(torch.tensor(logits), torch.tensor(labels))
    _close(cross_entropy(jnp.asarray(logits), jnp.asarray(labels)), expected)


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
