"""TinyTorch's training tools (module 07): ``CosineSchedule``, ``clip_grad_norm``, ``Trainer``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sized
from typing import Any

import jax.numpy as jnp
import numpy as np
import optax

from tinyjax._errors import ConfigError
from tinyjax.oop.autograd import no_grad
from tinyjax.oop.constants import DEFAULT_MAX_LR, DEFAULT_MIN_LR, DEFAULT_TOTAL_EPOCHS
from tinyjax.oop.optim import Optimizer
from tinyjax.oop.tensor import Tensor
from tinyjax.tools.serialization import load, read_metadata, save

__all__ = ["CosineSchedule", "Trainer", "clip_grad_norm"]


class CosineSchedule:
    """Learning rate by epoch: ``min_lr + (max_lr - min_lr) * (1 + cos(pi * epoch / total_epochs)) / 2``.

    ``get_lr(epoch)`` is ``max_lr`` at epoch 0 and ``min_lr`` from ``total_epochs`` on; computed by
    ``optax.cosine_decay_schedule`` (``alpha = min_lr / max_lr``).
    """

    def __init__(
        self, max_lr: float = DEFAULT_MAX_LR, min_lr: float = DEFAULT_MIN_LR, total_epochs: int = DEFAULT_TOTAL_EPOCHS
    ) -> None:
        for name, value in (("max_lr", max_lr), ("min_lr", min_lr)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
                raise ConfigError(f"CosineSchedule: {name} must be a finite number >= 0, got {value!r}")
        if isinstance(total_epochs, bool) or not isinstance(total_epochs, int) or total_epochs < 1:
            raise ConfigError(f"CosineSchedule: total_epochs must be a positive int, got {total_epochs!r}")
        self.max_lr, self.min_lr, self.total_epochs = max_lr, min_lr, total_epochs

    def get_lr(self, epoch: int) -> float:
        if self.max_lr == 0.0:
            return self.min_lr if epoch >= self.total_epochs else 0.0
        schedule = optax.cosine_decay_schedule(self.max_lr, self.total_epochs, alpha=self.min_lr / self.max_lr)
        return float(schedule(min(epoch, self.total_epochs)))


def clip_grad_norm(parameters: Iterable[Tensor], max_norm: float = 1.0) -> float:
    """Scale every ``.grad`` by ``max_norm / total_norm`` when the global norm exceeds ``max_norm``.

    Returns the global L2 norm of the gradients before clipping (parameters without ``.grad`` are
    skipped), as TinyTorch's ``clip_grad_norm`` does.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, int | float) or not 0 < max_norm < float("inf"):
        raise ConfigError(f"clip_grad_norm: max_norm must be a finite number > 0, got {max_norm!r}")
    with_grads = [(p, p.grad_array) for p in parameters if p.grad_array is not None]
    if not with_grads:
        return 0.0
    total = float(jnp.sqrt(sum(jnp.sum(jnp.square(grad)) for _, grad in with_grads)))
    if total > max_norm:
        for param, grad in with_grads:
            param.grad = grad * jnp.asarray(max_norm / total, grad.dtype)
    return total


def _set_training(model: Any, mode: bool) -> None:
    if hasattr(model, "train"):
        model.train(mode)
    else:
        model.training = mode


class Trainer:
    """TinyTorch's training loop: ``train_epoch(batches)``, ``evaluate(batches)``, ``history``.

    Args:
      model: anything with ``forward(x)`` and ``parameters()`` (a module, a Sequential).
      optimizer: an :class:`~tinyjax.oop.Optimizer` over the model's parameters.
      loss_fn: a loss object (``loss_fn.forward(outputs, targets)`` returns a 0-d Tensor).
      scheduler: optional; after each epoch, ``optimizer.lr = scheduler.get_lr(epoch)``.
      grad_clip_norm: optional; :func:`clip_grad_norm` before each step.

    Batches are any iterable of ``(inputs, targets)`` pairs (``evaluate`` also needs ``len``).
    ``save_checkpoint(path)`` / ``load_checkpoint(path)`` keep the model's parameters, the epoch and
    step counts, the history and the learning rate in one safetensors file (no pickle); the
    optimizer's moments are not saved.
    """

    def __init__(
        self,
        model: Any,
        optimizer: Optimizer,
        loss_fn: Any,
        scheduler: CosineSchedule | None = None,
        grad_clip_norm: float | None = None,
    ) -> None:
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.scheduler, self.grad_clip_norm = scheduler, grad_clip_norm
        self.epoch = 0
        self.step = 0
        self.training_mode = True
        self.history: dict[str, list[float]] = {"train_loss": [], "eval_loss": [], "learning_rates": []}

    def _update(self) -> None:
        if self.grad_clip_norm is not None:
            clip_grad_norm(self.model.parameters(), self.grad_clip_norm)
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.step += 1

    def train_epoch(self, dataloader: Iterable[tuple[Any, Any]], accumulation_steps: int = 1) -> float:
        """One pass over ``dataloader``: forward, loss, ``backward()``, and a step every
        ``accumulation_steps`` batches (gradients add up in between). Returns the mean loss per step."""
        _set_training(self.model, True)
        self.training_mode = True
        total, steps, pending, accumulated = 0.0, 0, 0, 0.0
        for inputs, targets in dataloader:
            loss = self.loss_fn.forward(self.model.forward(inputs), targets)
            accumulated += float(loss.item()) / accumulation_steps
            loss.backward()
            pending += 1
            if pending == accumulation_steps:
                self._update()
                total, steps, pending, accumulated = total + accumulated, steps + 1, 0, 0.0
        if pending:
            self._update()
            total, steps = total + accumulated, steps + 1
        mean = total / max(steps, 1)
        self.history["train_loss"].append(mean)
        if self.scheduler is not None:
            self.optimizer.lr = self.scheduler.get_lr(self.epoch)
            self.history["learning_rates"].append(self.optimizer.lr)
        self.epoch += 1
        return mean

    def evaluate(self, dataloader: Iterable[tuple[Any, Any]]) -> tuple[float, float]:
        """Mean loss per batch and accuracy (argmax against class indices or one-hot rows) in eval mode.

        Runs under :func:`~tinyjax.oop.no_grad`: nothing is recorded for a backward pass."""
        _set_training(self.model, False)
        self.training_mode = False
        total, correct, count, batches = 0.0, 0, 0, 0
        for inputs, targets in dataloader:
            with no_grad():
                outputs = self.model.forward(inputs)
                total += float(self.loss_fn.forward(outputs, targets).item())
            batches += 1
            if outputs.ndim > 1:
                predicted = np.argmax(outputs.data, axis=-1)
                labels = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
                if labels.ndim == predicted.ndim + 1:
                    labels = np.argmax(labels, axis=-1)
                correct += int(np.sum(predicted == labels))
                count += predicted.size
        size = len(dataloader) if isinstance(dataloader, Sized) else batches
        mean = total / size if size else 0.0
        self.history["eval_loss"].append(mean)
        return mean, (correct / count if count else 0.0)

    def save_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Write the parameters (``tinyjax.save``: safetensors, atomic) and the training state to ``path``."""
        state = {"epoch": self.epoch, "step": self.step, "history": self.history, "lr": self.optimizer.lr}
        state["training_mode"] = self.training_mode
        folder = os.path.dirname(os.fspath(path))
        if folder:
            os.makedirs(folder, exist_ok=True)
        save(path, [p.array for p in self.model.parameters()], metadata={"trainer": json.dumps(state)})

    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Restore what :meth:`save_checkpoint` wrote; the model must have the same parameter shapes."""
        parameters = self.model.parameters()
        for param, array in zip(parameters, load(path, [p.array for p in parameters]), strict=True):
            param.array = array
        state = json.loads(read_metadata(path)["trainer"])
        self.epoch, self.step, self.history = state["epoch"], state["step"], state["history"]
        self.training_mode, self.optimizer.lr = state["training_mode"], state["lr"]
