"""TinyTorch's documented API, modules 01-07, against tinyjax.oop.

Written from what TinyTorch's module sources (``src/0N_*/0N_*.py``) say each class and method
accepts, returns and raises, and from the facts their inline ``test_unit_*`` functions check; only
the import differs from TinyTorch code. The two intended differences are tested where they show:
derivatives come from ``jax.vjp`` (no ``AddBackward``-style classes), and AdamW is optax's.
"""

import numpy as np
import pytest

from tinyjax.oop import (
    GELU,
    SGD,
    Adam,
    AdamW,
    BinaryCrossEntropyLoss,
    CosineSchedule,
    CrossEntropyLoss,
    Dropout,
    Layer,
    Linear,
    MSELoss,
    Optimizer,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    Tensor,
    Trainer,
    clip_grad_norm,
    enable_autograd,
    log_softmax,
)

enable_autograd()  # TinyTorch's switch; gradients are always on here


# --- module 01: Tensor ---------------------------------------------------------------------------
def test_01_creation_stores_float32_and_keeps_shapes():
    assert Tensor(5).shape == () and Tensor([1, 2, 3]).shape == (3,) and Tensor([[1, 2], [3, 4]]).shape == (2, 2)
    t = Tensor([1, 2, 3])
    assert t.dtype == np.float32 and t.size == 3 and isinstance(t.data, np.ndarray)
    assert t.requires_grad is False and t.grad is None
    assert Tensor([1.0], requires_grad=True).requires_grad


def test_01_arithmetic_broadcasts_with_tensors_and_scalars():
    a, b = Tensor([1, 2, 3]), Tensor([4, 5, 6])
    np.testing.assert_array_equal((a + b).data, [5, 7, 9])
    np.testing.assert_array_equal((a - b).data, [-3, -3, -3])
    np.testing.assert_array_equal((a * b).data, [4, 10, 18])
    np.testing.assert_allclose((b / a).data, [4.0, 2.5, 2.0])
    np.testing.assert_array_equal((a + 10).data, [11, 12, 13])
    np.testing.assert_array_equal((a * 2).data, [2, 4, 6])
    matrix, row = Tensor([[1, 2, 3], [4, 5, 6]]), Tensor([10, 20, 30])
    np.testing.assert_array_equal((matrix + row).data, [[11, 22, 33], [14, 25, 36]])


def test_01_matmul_values_and_tinytorchs_error():
    np.testing.assert_array_equal(Tensor([[1, 2], [3, 4]]).matmul(Tensor([[5, 6], [7, 8]])).data, [[19, 22], [43, 50]])
    rect = Tensor([[1, 2, 3], [4, 5, 6]]).matmul(Tensor([[7, 8], [9, 10], [11, 12]]))
    np.testing.assert_array_equal(rect.data, [[58, 64], [139, 154]])
    np.testing.assert_array_equal(Tensor([[1, 2, 3], [4, 5, 6]]).matmul(Tensor([1, 2, 3])).data, [14, 32])
    np.testing.assert_array_equal((Tensor([[1, 2], [3, 4]]) @ Tensor([[5, 6], [7, 8]])).data, [[19, 22], [43, 50]])
    with pytest.raises(ValueError, match="Inner dimensions must match: 2 ≠ 3"):
        Tensor([[1, 2]]).matmul(Tensor([[1], [2], [3]]))


def test_01_reshape_transpose_and_their_errors():
    t = Tensor([1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(t.reshape(2, 3).data, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(t.reshape((3, 2)).data, [[1, 2], [3, 4], [5, 6]])
    assert t.reshape(2, -1).shape == (2, 3)
    with pytest.raises(ValueError, match="Total elements must match: 6 ≠ 4"):
        t.reshape(2, 2)
    np.testing.assert_array_equal(Tensor([[1, 2, 3], [4, 5, 6]]).transpose().data, [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(Tensor([1, 2, 3]).transpose().data, [1, 2, 3])
    cube = np.arange(8.0).reshape(2, 2, 2)
    np.testing.assert_array_equal(Tensor(cube).transpose(0, 2).data, np.swapaxes(cube, 0, 2))
    assert Tensor(np.random.rand(2, 3, 4)).reshape(2, -1).shape == (2, 12)


def test_01_reductions_with_axis_and_keepdims():
    m = Tensor([[1, 2], [3, 4]])
    assert float(m.sum().data) == 10.0 and float(m.mean().data) == 2.5 and float(m.max().data) == 4.0
    np.testing.assert_array_equal(m.sum(axis=0).data, [4, 6])
    np.testing.assert_array_equal(m.sum(axis=1).data, [3, 7])
    np.testing.assert_array_equal(m.mean(axis=0).data, [2, 3])
    np.testing.assert_array_equal(m.max(axis=1).data, [2, 4])
    assert m.sum(axis=1, keepdims=True).shape == (2, 1)


# --- module 02: activations ------------------------------------------------------------------------
def test_02_activations_values_and_ranges():
    np.testing.assert_allclose(Sigmoid().forward(Tensor([0.0])).data, [0.5])
    extremes = Sigmoid()(Tensor([-1000.0, 1000.0])).data
    np.testing.assert_allclose(extremes, [0.0, 1.0], atol=1e-10)
    np.testing.assert_array_equal(ReLU().forward(Tensor([-2, -1, 0, 1, 2])).data, [0, 0, 0, 1, 2])
    np.testing.assert_allclose(Tanh()(Tensor([-1000.0, 0.0, 1000.0])).data, [-1.0, 0.0, 1.0], atol=1e-10)
    gelu = GELU()
    assert gelu(Tensor([0.0])).data[0] == 0.0 and gelu(Tensor([1.0])).data[0] > 0.8
    assert -0.2 < gelu(Tensor([-1.0])).data[0] < 0
    for activation in (Sigmoid(), ReLU(), Tanh(), GELU(), Softmax()):
        assert activation.parameters() == []


def test_02_softmax_sums_to_one_is_stable_and_takes_dim():
    softmax = Softmax()
    p = softmax.forward(Tensor([1, 2, 3])).data
    assert np.isclose(p.sum(), 1.0) and np.all((p > 0) & (p < 1)) and np.argmax(p) == 2
    big = softmax(Tensor([1000, 1001, 1002])).data
    assert np.isclose(big.sum(), 1.0) and np.all(np.isfinite(big))
    rows = softmax.forward(Tensor([[1, 2], [3, 4]]), dim=-1)
    assert rows.shape == (2, 2)
    np.testing.assert_allclose(rows.data.sum(axis=-1), [1.0, 1.0], rtol=1e-6)
    columns = softmax(Tensor([[1, 2], [3, 4]]), dim=0)
    np.testing.assert_allclose(columns.data.sum(axis=0), [1.0, 1.0], rtol=1e-6)


# --- module 03: layers -----------------------------------------------------------------------------
def test_03_linear_attributes_initialisation_and_parameters():
    layer = Linear(784, 256)
    assert (layer.in_features, layer.out_features) == (784, 256)
    assert layer.weight.shape == (784, 256) and layer.bias.shape == (256,)
    assert layer.weight.requires_grad and layer.bias.requires_grad
    std = np.std(layer.weight.data)
    assert 0.5 * np.sqrt(1 / 784) < std < 2.0 * np.sqrt(1 / 784)  # TinyTorch's bounds around sqrt(1/in)
    assert np.all(layer.bias.data == 0)
    assert layer.forward(Tensor(np.random.randn(32, 784))).shape == (32, 256)
    assert layer.parameters()[0] is layer.weight and layer.parameters()[1] is layer.bias
    no_bias = Linear(10, 5, bias=False)
    assert no_bias.bias is None and len(no_bias.parameters()) == 1
    assert repr(Linear(3, 2)) == "Linear(in_features=3, out_features=2, bias=True)"


def test_03_dropout_contract():
    x = Tensor([1, 2, 3, 4])
    dropout = Dropout(0.5)
    assert dropout.p == 0.5 and dropout.parameters() == []
    np.testing.assert_array_equal(dropout.forward(x, training=False).data, x.data)
    np.testing.assert_array_equal(Dropout(0.0).forward(x, training=True).data, x.data)
    np.testing.assert_array_equal(Dropout(1.0).forward(x, training=True).data, [0, 0, 0, 0])
    kept = dropout.forward(Tensor(np.ones(1000)), training=True).data
    assert 453 < np.count_nonzero(kept) < 547  # 500 +- 3 standard errors
    np.testing.assert_array_equal(kept[kept != 0], 2.0)  # survivors scaled by 1 / (1 - p)
    for bad in (-0.1, 1.1):
        with pytest.raises(ValueError):
            Dropout(bad)
    assert repr(dropout) == "Dropout(p=0.5)"


def test_03_layer_base_class():
    with pytest.raises(NotImplementedError):
        Layer().forward(Tensor([1.0]))
    assert Layer().parameters() == [] and repr(Layer()) == f"{Layer.__name__}()"

    class Double(Layer):
        def forward(self, x):
            return x * 2

    np.testing.assert_array_equal(Double()(Tensor([1.0, 2.0])).data, [2.0, 4.0])  # __call__ is forward


def test_03_sequential_of_layers_and_a_users_own_layer():
    class Scale(Layer):
        def forward(self, x):
            return x * 0.5

    class Wrapper(Layer):  # a user's layer holding a module in an attribute named `layer`
        def __init__(self):
            self.layer = Linear(3, 3)

        def forward(self, x):
            return self.layer(x)

        def parameters(self):
            return self.layer.parameters()

    model = Sequential([Linear(4, 3), ReLU(), Scale(), Wrapper(), Linear(3, 2)])
    out = model.forward(Tensor(np.random.randn(5, 4)))
    assert out.shape == (5, 2) and len(model.parameters()) == 6
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


# --- module 04: losses -----------------------------------------------------------------------------
def test_04_log_softmax():
    out = log_softmax(Tensor([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(np.exp(out.data).sum(axis=-1), [1.0], rtol=1e-6)
    np.testing.assert_allclose(out.data, [[1, 2, 3]] - np.log(np.exp([1, 2, 3]).sum()), rtol=1e-6)
    assert np.all(np.isfinite(log_softmax(Tensor([[1000.0, 0.0]])).data))


def test_04_losses_known_values():
    mse = MSELoss()
    assert mse.forward(Tensor([1.0, 2.0]), Tensor([1.0, 2.0])).data == 0.0
    np.testing.assert_allclose(mse(Tensor([1.0, 2.0, 3.0]), Tensor([1.0, 2.0, 4.0])).data, 1 / 3, rtol=1e-6)
    ce = CrossEntropyLoss()
    assert ce.forward(Tensor([[10.0, -10.0, -10.0], [-10.0, 10.0, -10.0]]), Tensor([0, 1])).data < 0.01
    np.testing.assert_allclose(ce(Tensor(np.ones((2, 3))), Tensor([0, 1])).data, np.log(3), rtol=1e-6)
    assert ce(Tensor([[10.0, -10.0, -10.0], [-10.0, -10.0, 10.0]]), Tensor([1, 1])).data > 5.0
    assert np.isfinite(ce(Tensor([[100.0, 50.0, 25.0]]), Tensor([0])).data)
    bce = BinaryCrossEntropyLoss()
    targets = Tensor([1.0, 0.0, 1.0, 0.0])
    assert bce(Tensor([0.9999, 0.0001, 0.9999, 0.0001]), targets).data < 0.01
    assert bce(Tensor([0.0001, 0.9999, 0.0001, 0.9999]), targets).data > 5.0
    np.testing.assert_allclose(bce(Tensor([0.5] * 4), targets).data, np.log(2), rtol=1e-6)
    assert np.isfinite(bce(Tensor([0.0, 1.0, 0.0, 1.0]), Tensor([0.0, 1.0, 1.0, 0.0])).data)


# --- module 05: autograd ---------------------------------------------------------------------------
def test_05_gradients_of_tinytorchs_examples():
    a, b = Tensor([3.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    (a * b).backward()
    assert a.grad.data[0] == 2.0 and b.grad.data[0] == 3.0
    x = Tensor([2.0], requires_grad=True)
    u = x + Tensor([1.0])
    (u * u).backward()
    assert x.grad.data[0] == 6.0
    batch = Tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    diff = batch - Tensor([[2.0], [2.0], [2.0]])
    (diff * diff).sum().backward()
    np.testing.assert_array_equal(batch.grad.data, [[-2.0], [0.0], [2.0]])
    q = Tensor(np.random.randn(2, 4, 8, 16), requires_grad=True)
    k = Tensor(np.random.randn(2, 4, 8, 16), requires_grad=True)
    scores = q.matmul(k.transpose())
    scores.backward(np.ones((2, 4, 8, 8)))
    assert q.grad.shape == (2, 4, 8, 16) and k.grad.shape == (2, 4, 8, 16)


def test_05_results_require_grad_when_an_input_does():
    x, c = Tensor([1.0], requires_grad=True), Tensor([2.0])
    assert (x * c).requires_grad and (c * x).requires_grad and not (c * c).requires_grad
    assert Linear(2, 2)(Tensor([[1.0, 2.0]])).requires_grad  # its weight requires grad
    assert not Softmax()(Tensor([1.0, 2.0])).requires_grad


# --- module 06: optimizers -------------------------------------------------------------------------
def test_06_optimizer_base():
    p1, p2 = Tensor([1.0, 2.0], requires_grad=True), Tensor([[3.0, 4.0]], requires_grad=True)
    p1.grad, p2.grad = Tensor([0.1, 0.2]), Tensor([[0.3, 0.4]])
    optimizer = Optimizer([p1, p2])
    assert optimizer.params[0] is p1 and optimizer.params[1] is p2 and optimizer.step_count == 0
    optimizer.zero_grad()
    assert p1.grad is None and p2.grad is None
    with pytest.raises(ValueError, match="does not require gradients"):
        Optimizer([Tensor([1.0])])
    with pytest.raises(NotImplementedError):
        p1.grad = np.array([0.1, 0.2])
        Optimizer([p1]).step()


def test_06_sgd_momentum_and_weight_decay_values():
    p = Tensor([1.0, 2.0], requires_grad=True)
    p.grad = Tensor([0.1, 0.2])
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    optimizer.step()
    first = np.array([1.0, 2.0]) - 0.1 * np.array([0.1, 0.2])
    np.testing.assert_allclose(p.data, first, rtol=1e-6)
    p.grad = Tensor([0.1, 0.2])
    optimizer.step()
    np.testing.assert_allclose(p.data, first - 0.1 * np.array([0.19, 0.38]), rtol=1e-5)
    assert optimizer.step_count == 2 and optimizer.has_momentum() and optimizer.momentum_buffers[0] is not None
    q = Tensor([1.0, 2.0], requires_grad=True)
    q.grad = Tensor([0.1, 0.2])
    SGD([q], lr=0.1, weight_decay=0.01).step()
    np.testing.assert_allclose(q.data, np.array([1.0, 2.0]) - 0.1 * np.array([0.11, 0.22]), rtol=1e-6)
    assert SGD([q]).lr == 0.01 and not SGD([q]).has_momentum()


def test_06_adam_and_adamw():
    p = Tensor([0.0], requires_grad=True)
    adam = Adam([p], lr=0.1)
    assert adam.m_buffers == [None] and (adam.beta1, adam.beta2, adam.eps) == (0.9, 0.999, 1e-8)
    p.grad = np.array([1.0])
    adam.step()
    np.testing.assert_allclose(p.data, [-0.1], rtol=1e-5)  # the first step moves by lr (float32 bias correction)
    np.testing.assert_allclose(adam.m_buffers[0], [0.1], rtol=1e-6)
    np.testing.assert_allclose(adam.v_buffers[0], [0.001], rtol=1e-6)
    a, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 2.0], requires_grad=True)
    a.grad, w.grad = Tensor([0.1, 0.2]), Tensor([0.1, 0.2])
    Adam([a], lr=0.01, weight_decay=0.01).step()
    AdamW([w], lr=0.01, weight_decay=0.01).step()
    assert not np.allclose(a.data, w.data, rtol=1e-6)  # coupled (L2) and decoupled decay differ
    a, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 2.0], requires_grad=True)
    a.grad, w.grad = Tensor([0.1, 0.2]), Tensor([0.1, 0.2])
    Adam([a], lr=0.01).step()
    AdamW([w], lr=0.01, weight_decay=0.0).step()
    np.testing.assert_array_equal(a.data, w.data)
    assert AdamW([w]).weight_decay == 0.01 and Adam([w]).lr == 0.001


# --- module 07: training ---------------------------------------------------------------------------
def test_07_cosine_schedule_and_clip_grad_norm():
    schedule = CosineSchedule(max_lr=0.1, min_lr=0.01, total_epochs=100)
    assert schedule.get_lr(0) == pytest.approx(0.1) and schedule.get_lr(50) == pytest.approx(0.055)
    assert schedule.get_lr(100) == pytest.approx(0.01) and schedule.get_lr(150) == pytest.approx(0.01)
    p1, p2 = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    p1.grad, p2.grad = np.array([3.0, 4.0]), np.array([6.0, 8.0])
    assert clip_grad_norm([p1, p2], max_norm=1.0) == pytest.approx(np.sqrt(125))
    clipped = np.sqrt(np.sum(p1.grad.data**2) + np.sum(p2.grad.data**2))
    assert abs(clipped - 1.0) < 1e-6
    small = Tensor([1.0, 2.0], requires_grad=True)
    small.grad = np.array([0.1, 0.2])
    assert clip_grad_norm([small], max_norm=1.0) < 1.0


def test_07_trainer_with_a_users_model_and_a_checkpoint(tmp_path):
    class SimpleModel:  # not a Layer: Trainer needs only forward, parameters and a training flag
        def __init__(self):
            self.layer = Linear(2, 1)
            self.training = True

        def forward(self, x):
            return self.layer.forward(x)

        def parameters(self):
            return self.layer.parameters()

    model = SimpleModel()
    scheduler = CosineSchedule(max_lr=0.1, min_lr=0.01, total_epochs=10)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.01), MSELoss(), scheduler, grad_clip_norm=1.0)
    data = [(Tensor([[1.0, 0.5]]), Tensor([[2.0]])), (Tensor([[0.5, 1.0]]), Tensor([[1.5]]))]
    loss = trainer.train_epoch(data)
    assert isinstance(loss, float) and trainer.epoch == 1 and trainer.history["train_loss"] == [loss]
    eval_loss, accuracy = trainer.evaluate(data)
    assert isinstance(eval_loss, float) and isinstance(accuracy, float) and model.training is False
    path = tmp_path / "checkpoint.safetensors"
    trainer.save_checkpoint(path)
    saved_weight = model.layer.weight.data.copy()
    trainer.epoch, trainer.optimizer.lr = 999, 5.0
    model.layer.weight.data = np.zeros((2, 1))
    trainer.load_checkpoint(path)
    assert trainer.epoch == 1 and trainer.optimizer.lr == pytest.approx(0.1)
    np.testing.assert_array_equal(model.layer.weight.data, saved_weight)
    assert path.read_bytes()[:8] != b"\x80\x04\x95"[:8]  # safetensors, not a pickle
