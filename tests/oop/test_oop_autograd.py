"""Autograd in the OOP face: ``loss.backward()`` gives what ``jax.grad`` gives for the same functional model.

Each case builds an OOP model, moves its weights into the functional core (``to_functional``: the
same arrays), and compares ``.grad`` of every parameter and of the input with ``jax.grad`` of the
functional loss, to 1e-6.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import oop
from tinyjax.oop.autograd import Node

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 6)).astype(np.float32)
TOL = {"rtol": 1e-6, "atol": 1e-6}

LAYERS = {
    "Linear": lambda: oop.Linear(6, 6, key=jax.random.key(1)),
    "Linear no bias": lambda: oop.Linear(6, 6, bias=False, key=jax.random.key(2)),
    "ReLU": oop.ReLU,
    "Sigmoid": oop.Sigmoid,
    "Tanh": oop.Tanh,
    "SiLU": oop.SiLU,
    "GELU": oop.GELU,
    "GELU tanh": lambda: oop.GELU(approximate=True),
    "Softmax": oop.Softmax,
    "Softmax dim 0": lambda: oop.Softmax(dim=0),
    "Sequential": lambda: oop.Sequential(
        oop.Linear(6, 5, key=jax.random.key(3)), oop.GELU(), oop.Linear(5, 6, key=jax.random.key(4)), oop.Tanh()
    ),
}


def _weighted_sum(y):
    """A scalar whose gradient is not all ones, so that each output element counts differently."""
    return (y * np.arange(1, y.size + 1, dtype=np.float32).reshape(y.shape)).sum()


@pytest.mark.parametrize("name", LAYERS)
def test_layer_gradients_equal_jax_grad_of_the_functional_layer(name):
    module = LAYERS[name]()
    layer, params = module.to_functional()
    x = oop.Tensor(X, requires_grad=True)
    loss = _weighted_sum(module(x))
    loss.backward()

    def functional_loss(p, inputs):
        return _weighted_sum(layer.apply(p, inputs))

    value, (grad_params, grad_x) = jax.value_and_grad(functional_loss, argnums=(0, 1))(params, jnp.asarray(X))
    np.testing.assert_allclose(loss.item(), value, **TOL)
    np.testing.assert_allclose(x.grad, grad_x, **TOL)
    got = [t.grad for t in module.parameters()]
    want = tj.parameters(grad_params)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, **TOL)


def test_dropout_gradient_with_a_fixed_key_equals_the_functional_one():
    key = jax.random.key(5)
    x = oop.Tensor(X, requires_grad=True)
    _weighted_sum(oop.Dropout(0.3)(x, training=True, key=key)).backward()
    want = jax.grad(lambda inputs: _weighted_sum(tj.Dropout(0.3).apply((), inputs, key=key)))(jnp.asarray(X))
    np.testing.assert_allclose(x.grad, want, **TOL)
    assert np.any(x.grad.data == 0) and np.any(x.grad.data != 0)  # dropped entries get no gradient


LOSSES = {
    "MSELoss": (oop.MSELoss, lambda: RNG.standard_normal((4, 6)), lambda p, t: tj.losses.mse(p, t)),
    "CrossEntropyLoss indices": (
        oop.CrossEntropyLoss,
        lambda: np.array([0, 5, 2, 3]),
        lambda p, t: tj.losses.cross_entropy(p, t.astype(jnp.int32)),
    ),
    "CrossEntropyLoss probabilities": (
        oop.CrossEntropyLoss,
        lambda: np.eye(6)[[1, 0, 4, 2]],
        lambda p, t: tj.losses.cross_entropy(p, t),
    ),
}


@pytest.mark.parametrize("name", LOSSES)
def test_loss_gradients_equal_jax_grad(name):
    make, targets, functional = LOSSES[name]
    target = targets()
    predictions = oop.Tensor(X, requires_grad=True)
    loss = make()(predictions, oop.Tensor(target))
    assert loss.shape == () and loss.requires_grad
    loss.backward()
    value, want = jax.value_and_grad(functional)(jnp.asarray(X), jnp.asarray(target, jnp.float32))
    np.testing.assert_allclose(loss.item(), value, **TOL)
    np.testing.assert_allclose(predictions.grad, want, **TOL)


def test_binary_cross_entropy_of_probabilities_is_tinytorchs_formula_and_its_gradient():
    p = np.array([[0.9, 0.2], [0.4, 0.999]], np.float32)
    t = np.array([[1.0, 0.0], [1.0, 1.0]], np.float32)
    predictions = oop.Tensor(p, requires_grad=True)
    loss = oop.BinaryCrossEntropyLoss()(predictions, oop.Tensor(t))
    loss.backward()
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))  # TinyTorch's definition
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)

    # the functional model: tinyjax.losses on the logits of the clipped probabilities, to 1e-6
    def functional(q):
        q = jnp.clip(q, 1e-7, 1 - 1e-7)
        return tj.losses.binary_cross_entropy(jnp.log(q) - jnp.log1p(-q), t)

    np.testing.assert_allclose(predictions.grad, jax.grad(functional)(jnp.asarray(p)), **TOL)
    # and TinyTorch's formula's gradient, (p - t) / (p (1 - p) n), computed another way: 1 / (1 - 0.999)
    # amplifies float32 rounding, hence 1e-4
    want = jax.grad(lambda q: -jnp.mean(t * jnp.log(q) + (1 - t) * jnp.log1p(-q)))(jnp.asarray(p))
    np.testing.assert_allclose(predictions.grad, want, rtol=1e-4)
    # clipped to [1e-7, 1 - 1e-7]: a certain wrong answer costs about -log(1e-7), not infinity
    certain = oop.BinaryCrossEntropyLoss()(oop.Tensor([0.0]), oop.Tensor([1.0]))
    np.testing.assert_allclose(certain.item(), -np.log(1e-7), rtol=1e-3)


def test_whole_model_and_loss_equal_jax_value_and_grad():
    oop.manual_seed(0)
    model = oop.Sequential(oop.Linear(6, 8), oop.ReLU(), oop.Linear(8, 8), oop.Sigmoid(), oop.Linear(8, 3))
    labels = np.array([0, 2, 1, 2])
    loss = oop.CrossEntropyLoss()(model(X), oop.Tensor(labels))
    loss.backward()
    layer, params = model.to_functional()
    value, grads = jax.value_and_grad(lambda p: tj.losses.cross_entropy(layer.apply(p, X), labels))(params)
    np.testing.assert_allclose(loss.item(), value, **TOL)
    for got, want in zip(model.parameters(), tj.parameters(grads), strict=True):
        np.testing.assert_allclose(got.grad, want, **TOL)


def test_one_node_per_layer_call():
    model = oop.Sequential(oop.Linear(6, 5), oop.ReLU(), oop.Linear(5, 2))
    x = oop.Tensor(X)
    y = model(x)
    second = y.node
    assert isinstance(second, Node) and len(second.parents) == 3  # weight, bias and the ReLU's output
    relu_out = second.parents[-1]
    assert relu_out.node is not None and len(relu_out.node.parents) == 1
    first_out = relu_out.node.parents[0]
    linear = model[0]
    # the first Linear's node: its weight and bias only, since x does not require grad
    assert {id(t) for t in first_out.node.parents} == {id(linear.weight), id(linear.bias)}
    assert x.node is None and x.grad is None


def test_tensor_operations_gradients_equal_jax_grad():
    a_np = RNG.standard_normal((3, 4)).astype(np.float32)
    b_np = RNG.standard_normal((4,)).astype(np.float32) + 3.0
    w_np = RNG.standard_normal((4, 2)).astype(np.float32)

    def f(a, b, w, lib):
        y = (a * b - 2.0) / b + 1.5 * a - a / 3.0
        z = (y @ w) ** 2
        parts = [z.sum(), z.mean(axis=0).sum(), y.max(axis=1, keepdims=True).sum(), y[1:, ::2].sum()]
        r = y.reshape(2, 6)
        t = r.transpose() if lib == "oop" else r.T
        parts.append((t * t).sum() + (-a).sum())
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        return total

    a, b, w = (oop.Tensor(v, requires_grad=True) for v in (a_np, b_np, w_np))
    out = f(a, b, w, "oop")
    out.backward()
    value, grads = jax.value_and_grad(lambda *v: f(*v, "jax"), argnums=(0, 1, 2))(a_np, b_np, w_np)
    np.testing.assert_allclose(out.item(), value, rtol=1e-5)
    for tensor, want in zip((a, b, w), grads, strict=True):
        np.testing.assert_allclose(tensor.grad, want, rtol=1e-5, atol=1e-5)


def test_gradients_of_a_shared_tensor_add_up():
    x = oop.Tensor([2.0, -1.0], requires_grad=True)
    y = x * x + x * 3.0  # x is used three times
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * np.array([2.0, -1.0]) + 3.0)
    shared = oop.Linear(3, 3, key=jax.random.key(7))
    model = oop.Sequential(shared, oop.Tanh(), shared)
    model(X[:, :3]).sum().backward()
    layer, params = model.to_functional()
    want = jax.grad(lambda p: jnp.sum(layer.apply((p, (), p), X[:, :3])))(params[0])
    np.testing.assert_allclose(shared.weight.grad, want["weight"], **TOL)


def test_backward_accumulates_until_zero_grad():
    x = oop.Tensor([1.0, 2.0], requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])
    loss = (x * x).sum()
    loss.backward()
    loss.backward()  # the graph is kept: a second backward adds the same gradient again
    np.testing.assert_array_equal(x.grad, [4.0 + 4.0, 4.0 + 8.0])
    x.zero_grad()
    assert x.grad is None


def test_backward_seeds_and_errors():
    x = oop.Tensor([[1.0, 2.0]], requires_grad=True)
    y = x * 3.0
    with pytest.raises(tj.ShapeError, match=r"Tensor.backward.*one-element.*\(1, 2\).*backward\(gradient\)"):
        y.backward()
    with pytest.raises(tj.ShapeError, match=r"Tensor.backward: expected gradient of shape \(1, 2\), got \(2,\)"):
        y.backward(np.ones(2))
    y.backward(np.array([[1.0, 10.0]]))  # float64 is taken as float32, like every input
    np.testing.assert_array_equal(x.grad, [[3.0, 30.0]])
    assert x.grad.dtype == np.float32
    # as in TinyTorch: intermediate Tensors that require grad get their .grad too
    np.testing.assert_array_equal(y.grad, [[1.0, 10.0]])
    constant = oop.Tensor([1.0]) * 2.0
    assert not constant.requires_grad and constant.node is None
    constant.backward()  # TinyTorch: nothing to do for a Tensor that does not require grad
    assert constant.grad is None


def test_grad_assignment_is_checked_and_detach_cuts_the_graph():
    p = oop.Tensor([1.0, 2.0], requires_grad=True)
    p.grad = np.array([0.5, 0.5])  # what TinyTorch's optimizer tests do
    assert p.grad.dtype == np.float32
    with pytest.raises(tj.ShapeError, match=r"Tensor.grad: expected a gradient of shape \(2,\), got \(3,\)"):
        p.grad = np.ones(3)
    d = (p * 2.0).detach()
    assert not d.requires_grad and d.node is None


def test_no_grad_records_nothing_and_ends_with_its_block():
    model = oop.Sequential(oop.Linear(6, 3), oop.ReLU())
    with oop.no_grad():
        out = model(X)
        loss = (out * 2.0).sum()
    assert not out.requires_grad and out.node is None and not loss.requires_grad
    loss.backward()  # nothing to do
    assert all(p.grad is None for p in model.parameters())
    np.testing.assert_array_equal(out.numpy(), model(X).numpy())  # the same values as with the tape
    model(X).sum().backward()  # recording is back after the block
    assert all(p.grad is not None for p in model.parameters())
