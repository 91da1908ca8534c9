"""TinyTorch module 07 in the OOP face: CosineSchedule, clip_grad_norm, Trainer."""

import numpy as np
import pytest

from tinyjax import oop


def test_cosine_schedule_is_tinytorchs_formula():
    schedule = oop.CosineSchedule(max_lr=0.1, min_lr=0.01, total_epochs=10)
    for epoch in range(12):
        factor = (1 + np.cos(np.pi * epoch / 10)) / 2 if epoch < 10 else 0.0
        np.testing.assert_allclose(schedule.get_lr(epoch), 0.01 + 0.09 * factor, rtol=1e-6)
    assert schedule.get_lr(0) == pytest.approx(0.1) and schedule.get_lr(100) == pytest.approx(0.01)
    defaults = oop.CosineSchedule()
    assert (defaults.max_lr, defaults.min_lr, defaults.total_epochs) == (0.1, 0.01, 100)
    assert oop.CosineSchedule(max_lr=0.0, min_lr=0.0, total_epochs=3).get_lr(1) == 0.0


def test_clip_grad_norm_scales_to_max_norm_and_returns_the_norm_before():
    a, b = oop.Tensor([0.0, 0.0], requires_grad=True), oop.Tensor([0.0], requires_grad=True)
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    norm = oop.clip_grad_norm([a, b], max_norm=1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad, [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.grad, [0.8], rtol=1e-6)
    assert oop.clip_grad_norm([a, b], max_norm=10.0) == pytest.approx(1.0)  # below the limit: unchanged
    np.testing.assert_allclose(a.grad, [0.6, 0.0], rtol=1e-6)
    c = oop.Tensor([1.0], requires_grad=True)
    assert oop.clip_grad_norm([c]) == 0.0 and oop.clip_grad_norm([]) == 0.0


def _batches(x, y, size):
    return [(oop.Tensor(x[i : i + size]), oop.Tensor(y[i : i + size])) for i in range(0, len(x), size)]


def test_trainer_trains_evaluates_and_follows_the_schedule():
    rng = np.random.default_rng(0)
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    labels = np.arange(90) % 3
    x = (centers[labels] + 0.3 * rng.standard_normal((90, 2))).astype(np.float32)
    oop.manual_seed(0)
    model = oop.Sequential(oop.Linear(2, 16), oop.ReLU(), oop.Dropout(0.1), oop.Linear(16, 3))
    schedule = oop.CosineSchedule(max_lr=0.1, min_lr=0.01, total_epochs=5)
    optimizer = oop.SGD(model.parameters(), lr=0.1, momentum=0.9)
    trainer = oop.Trainer(model, optimizer, oop.CrossEntropyLoss(), schedule, grad_clip_norm=5.0)
    batches = _batches(x, labels, 16)
    first = trainer.train_epoch(batches)
    for _ in range(4):
        last = trainer.train_epoch(batches)
    assert last < first and trainer.epoch == 5 and trainer.step == 5 * len(batches)
    assert trainer.history["learning_rates"] == pytest.approx([schedule.get_lr(e) for e in range(5)])
    assert trainer.optimizer.lr == pytest.approx(schedule.get_lr(4))
    loss, accuracy = trainer.evaluate(batches)
    assert not model.training and not model[2].training and trainer.history["eval_loss"] == [loss]
    assert accuracy > 0.95
    one_hot = [(inputs, oop.Tensor(np.eye(3)[targets.data.astype(int)])) for inputs, targets in batches]
    assert trainer.evaluate(one_hot)[1] == accuracy


def test_gradient_accumulation_steps_once_per_group():
    model = oop.Linear(2, 1)
    optimizer = oop.SGD(model.parameters(), lr=0.0)
    trainer = oop.Trainer(model, optimizer, oop.MSELoss())
    data = [(oop.Tensor(np.ones((2, 2))), oop.Tensor(np.zeros((2, 1))))] * 5
    trainer.train_epoch(data, accumulation_steps=2)
    assert trainer.step == 3 and optimizer.step_count == 3  # two full groups and the remainder
    assert all(p.grad is None for p in model.parameters())
