"""tinyjax.losses against PyTorch's own definitions (needs the ``torch`` extra)."""

import jax.numpy as jnp
import numpy as np
import pytest

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
