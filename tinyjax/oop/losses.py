"""TinyTorch's loss objects (module 04) over :mod:`tinyjax.losses`: ``loss_fn(predictions, targets)``.

Each call is one autograd node (one ``jax.vjp`` of the functional loss), so ``loss.backward()``
reaches the model's parameters. Every loss returns a 0-d Tensor, the mean over the batch.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from tinyjax.nn import losses
from tinyjax.oop import autograd
from tinyjax.oop.functions import bce_of_probabilities
from tinyjax.oop.tensor import Tensor, as_tensor

__all__ = ["BinaryCrossEntropyLoss", "CrossEntropyLoss", "MSELoss", "log_softmax"]


def _log_softmax(x: jax.Array, axis: int) -> jax.Array:
    return jax.nn.log_softmax(x, axis=axis)


def log_softmax(x: Any, dim: int = -1) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably (``x - logsumexp(x)``), as TinyTorch's module 04 has it."""
    return autograd.apply(_log_softmax, (as_tensor(x),), axis=dim)


class _Loss:
    def forward(self, predictions: Any, targets: Any) -> Tensor:
        raise NotImplementedError

    def __call__(self, predictions: Any, targets: Any) -> Tensor:
        return self.forward(predictions, targets)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSELoss(_Loss):
    """Mean squared error over every element; ``predictions`` and ``targets`` of the same shape."""

    def forward(self, predictions: Any, targets: Any) -> Tensor:
        return autograd.apply(losses.mse, (as_tensor(predictions), as_tensor(targets)))


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits ``(B, C)``, averaged over the batch.

    ``targets``: class indices ``(B,)`` (a Tensor of whole numbers, as TinyTorch stores them in
    float32, or an integer array), or class probabilities / one-hot rows ``(B, C)``.
    """

    def forward(self, logits: Any, targets: Any) -> Tensor:
        logits = as_tensor(logits)
        labels = targets.array if isinstance(targets, Tensor) else jnp.asarray(targets)
        indices = labels.shape == logits.shape[:-1]
        labels = labels.astype(jnp.int32 if indices else logits.dtype)
        return autograd.apply(losses.cross_entropy, (logits, labels))


class BinaryCrossEntropyLoss(_Loss):
    """Binary cross-entropy of probabilities in (0, 1) (a Sigmoid's output), as TinyTorch defines it.

    ``predictions`` are clipped to ``[1e-7, 1 - 1e-7]``; ``targets`` (0/1 or probabilities) have
    their shape. From logits, ``tinyjax.losses.binary_cross_entropy`` is the stable form.
    """

    def forward(self, predictions: Any, targets: Any) -> Tensor:
        return autograd.apply(bce_of_probabilities, (as_tensor(predictions), as_tensor(targets)))
