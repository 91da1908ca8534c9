"""SGD, Adam and AdamW in the OOP face make the updates the optax transformations make, to 1e-6."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import tinyjax as tj
from tinyjax import oop

RNG = np.random.default_rng(0)
SHAPES = [(5, 3), (3,), (2, 2)]

CASES = {
    "SGD": (lambda ps: oop.SGD(ps, lr=0.1), optax.sgd(0.1)),
    "SGD momentum": (lambda ps: oop.SGD(ps, lr=0.1, momentum=0.9), optax.sgd(0.1, momentum=0.9)),
    "SGD momentum weight decay": (
        lambda ps: oop.SGD(ps, lr=0.05, momentum=0.8, weight_decay=0.01),
        optax.chain(optax.add_decayed_weights(0.01), optax.sgd(0.05, momentum=0.8)),
    ),
    "Adam": (lambda ps: oop.Adam(ps, lr=0.01), optax.adam(0.01)),
    "Adam betas eps weight decay": (
        lambda ps: oop.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        optax.chain(optax.add_decayed_weights(0.1), optax.adam(0.02, b1=0.8, b2=0.99, eps=1e-6)),
    ),
    "AdamW": (lambda ps: oop.AdamW(ps, lr=0.01), optax.adamw(0.01, weight_decay=0.01)),
}


@pytest.mark.parametrize("name", CASES)
def test_updates_equal_optax_for_the_same_gradients(name):
    make, transformation = CASES[name]
    values = [RNG.standard_normal(s).astype(np.float32) for s in SHAPES]
    params = [oop.Tensor(v, requires_grad=True) for v in values]
    optimizer = make(params)
    reference = [jnp.asarray(v) for v in values]
    state = transformation.init(reference)
    for _ in range(5):
        grads = [RNG.standard_normal(s).astype(np.float32) for s in SHAPES]
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad
        optimizer.step()
        optimizer.zero_grad()
        updates, state = transformation.update([jnp.asarray(g) for g in grads], state, reference)
        reference = optax.apply_updates(reference, updates)
        for param, want in zip(params, reference, strict=True):
            np.testing.assert_allclose(param.data, want, rtol=1e-6, atol=1e-6)
            assert param.grad is None
    assert optimizer.step_count == 5


def test_sgd_is_tinytorchs_formula():
    param = oop.Tensor([10.0], requires_grad=True)
    optimizer = oop.SGD([param], lr=0.5, momentum=0.9, weight_decay=0.1)
    buffer, value = 0.0, 10.0
    for grad in (2.0, -1.0, 3.0):
        param.grad = np.array([grad])
        optimizer.step()
        buffer = 0.9 * buffer + grad + 0.1 * value  # TinyTorch: g + wd * p, then the momentum buffer
        value = value - 0.5 * buffer
        np.testing.assert_allclose(param.data, [value], rtol=1e-6)


def test_a_parameter_without_gradient_is_left_alone_and_its_state_waits():
    a, b = oop.Tensor([1.0], requires_grad=True), oop.Tensor([1.0], requires_grad=True)
    optimizer = oop.Adam([a, b], lr=0.1)
    a.grad = np.array([1.0])
    optimizer.step()
    np.testing.assert_array_equal(b.data, [1.0])
    b.grad = np.array([1.0])
    optimizer.step()  # b's first step: the same move as a's first (bias correction counts b's own steps)
    np.testing.assert_allclose(b.data, [0.9], rtol=1e-6)


def test_learning_rate_may_change_between_steps():
    param = oop.Tensor([1.0], requires_grad=True)
    optimizer = oop.SGD([param], lr=0.1)
    param.grad = np.array([1.0])
    optimizer.step()
    optimizer.lr = 0.5
    optimizer.step()
    np.testing.assert_allclose(param.data, [1.0 - 0.1 - 0.5], rtol=1e-6)


def test_parameters_must_be_tensors_that_require_grad():
    with pytest.raises(tj.ConfigError, match=r"SGD: parameter 1 does not require gradients.*requires_grad=True"):
        oop.SGD([oop.Tensor([1.0], requires_grad=True), oop.Tensor([2.0])])
    with pytest.raises(tj.ConfigError, match=r"Adam: parameter 0 is a ndarray, not a Tensor"):
        oop.Adam([np.ones(2)])


def test_a_model_trains_with_backward_and_step():
    oop.manual_seed(0)
    model = oop.Sequential(oop.Linear(2, 8), oop.Tanh(), oop.Linear(8, 1), oop.Sigmoid())
    x = oop.Tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = oop.Tensor([[0], [1], [1], [0]])
    loss_fn, optimizer = oop.BinaryCrossEntropyLoss(), oop.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(300):
        loss = loss_fn(model(x), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert losses[-1] < 0.05 < losses[0]  # XOR learned
    np.testing.assert_array_equal(model(x).data.round(), y.data)


def test_the_oop_step_matches_a_functional_step_from_the_same_weights():
    oop.manual_seed(1)
    model = oop.Sequential(oop.Linear(4, 6), oop.ReLU(), oop.Linear(6, 3))
    layer, params = model.to_functional()
    x, labels = RNG.standard_normal((8, 4)).astype(np.float32), np.arange(8) % 3
    optimizer, transformation = oop.Adam(model.parameters(), lr=0.01), optax.adam(0.01)
    state = transformation.init(params)
    for _ in range(3):
        oop.CrossEntropyLoss()(model(x), oop.Tensor(labels)).backward()
        optimizer.step()
        optimizer.zero_grad()
        grads = jax.grad(lambda p: tj.losses.cross_entropy(layer.apply(p, x), labels))(params)
        updates, state = transformation.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    for got, want in zip(model.parameters(), tj.parameters(params), strict=True):
        np.testing.assert_allclose(got.data, want, rtol=1e-6, atol=1e-6)
