"""The OOP face's spatial, normalization and embedding modules record the tape: ``.grad`` equals ``jax.grad``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import oop

TOL = {"rtol": 1e-5, "atol": 1e-6}
IMAGES = np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32)


def _cnn():
    oop.manual_seed(0)
    return oop.Sequential(
        oop.Conv2d(1, 4, 3, padding=1),
        oop.BatchNorm2d(4),
        oop.ReLU(),
        oop.MaxPool2d(2),
        oop.AvgPool2d(2, stride=1),
        oop.Flatten(),
        oop.LayerNorm(36),
        oop.Linear(36, 3),
    )


def _weighted_sum(y):
    return (y * np.arange(1, y.size + 1, dtype=np.float32).reshape(y.shape)).sum()


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_cnn_gradients_equal_jax_grad(training):
    model = _cnn().train(training)
    layer, params = model.to_functional()
    x = oop.Tensor(IMAGES, requires_grad=True)
    loss = _weighted_sum(model(x))
    loss.backward()

    trainable, state = tj.split_state(layer, params)

    def functional_loss(t, inputs):
        p = tj.merge_state(t, state)
        y = layer.apply(p, inputs, training=True)[0] if training else layer.apply(p, inputs)
        return _weighted_sum(y)

    value, (grads, grad_x) = jax.value_and_grad(functional_loss, argnums=(0, 1))(trainable, jnp.asarray(IMAGES))
    np.testing.assert_allclose(loss.item(), value, **TOL)
    got = [t.grad for t in model.parameters()]
    want = tj.parameters(grads)
    assert len(got) == len(want) == 8  # weight and bias of the Conv2d, BatchNorm2d, LayerNorm and Linear
    # Gradients flow through the batch statistics and sum hundreds of products of entries up to ~1e2, in two
    # programs fused differently (one per OOP layer, one whole), so float32 rounding is relative to the largest
    # entries: the absolute tolerance scales with them. (In training the conv bias's exact gradient is 0, the
    # BatchNorm after it removes any shift: both sides give rounding noise there.) A wrong gradient is off by O(1).
    scale = max(float(np.abs(w).max()) for w in want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6 * scale)
    # The input's gradient sums the same way over every output it reaches (jax 0.8 fused one entry 2e-6 off).
    np.testing.assert_allclose(x.grad, grad_x, rtol=1e-5, atol=1e-6 * float(np.abs(grad_x).max()))


def test_batchnorm_object_updates_its_statistics_as_the_functional_state():
    bn = oop.BatchNorm2d(4)
    layer, params = bn.to_functional()
    x = np.random.default_rng(1).standard_normal((8, 4, 3, 3)).astype(np.float32)
    _, state = layer.apply(params, x, training=True)
    bn(oop.Tensor(x))
    np.testing.assert_allclose(bn.running_mean, state["running_mean"], **TOL)
    np.testing.assert_allclose(bn.running_var, state["running_var"], **TOL)
    assert int(bn.num_batches_tracked) == 1


def test_embedding_takes_a_tensor_of_indices_and_records_its_gradient():
    oop.manual_seed(0)
    embedding = oop.Embedding(10, 3)
    layer, params = embedding.to_functional()
    ids = [[1, 2], [2, 9]]
    out = embedding(oop.Tensor(ids))  # TinyTorch's Tensor stores float32: whole numbers are the indices
    np.testing.assert_array_equal(out.data, layer.apply(params, jnp.array(ids)))
    _weighted_sum(out).backward()
    want = jax.grad(lambda p: _weighted_sum(layer.apply(p, jnp.array(ids))))(params)["weight"]
    np.testing.assert_allclose(embedding.weight.grad, want, **TOL)
    with pytest.raises(tj.DTypeError, match="whole-number indices"):
        embedding(oop.Tensor([0.5]))
