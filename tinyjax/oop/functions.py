"""TinyTorch's backward classes (module 05): ``AddBackward``, ``MatmulBackward``, ``ReLUBackward``...

Each is a :class:`~tinyjax.oop.autograd.Function` with TinyTorch's constructor, whose gradient is
``jax.vjp`` of the operation it names (:meth:`op`): no derivative is written by hand. The tape
records the Tensor operations and the layers with these classes (``(a * b)._grad_fn`` is a
``MulBackward``), so ``type(y._grad_fn).__name__`` reads as in TinyTorch; a layer without a
TinyTorch class gets one named after it (``Conv2dBackward``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from tinyjax.nn import activations, losses
from tinyjax.oop import autograd
from tinyjax.oop import tensor as _tensor
from tinyjax.oop.autograd import Function
from tinyjax.oop.constants import EPSILON

__all__ = [
    "AddBackward",
    "BCEBackward",
    "CrossEntropyBackward",
    "DivBackward",
    "EmbeddingBackward",
    "Function",
    "GELUBackward",
    "MSEBackward",
    "MatmulBackward",
    "MulBackward",
    "PermuteBackward",
    "ReLUBackward",
    "ReshapeBackward",
    "SigmoidBackward",
    "SliceBackward",
    "SoftmaxBackward",
    "SubBackward",
    "SumBackward",
    "TransposeBackward",
]


class AddBackward(Function):
    """``a + b``: ``apply(g) -> (grad_a, grad_b)``, each summed back to its operand's shape."""

    op = staticmethod(jnp.add)


class SubBackward(Function):
    """``a - b``."""

    op = staticmethod(jnp.subtract)


class MulBackward(Function):
    """``a * b``."""

    op = staticmethod(jnp.multiply)


class DivBackward(Function):
    """``a / b``."""

    op = staticmethod(jnp.divide)


class MatmulBackward(Function):
    """``a @ b`` (batched as NumPy's matmul)."""

    op = staticmethod(jnp.matmul)


class _Unary(Function):
    """A one-input operation: ``apply(g) -> (grad_x,)``."""

    def __init__(self, tensor: Any, *saved: Any) -> None:
        super().__init__(tensor, *saved)
        self.inputs = (tensor,)


class TransposeBackward(_Unary):
    """``x.transpose(dim0, dim1)`` (the last two axes when both are None)."""

    def __init__(self, tensor: Any, dim0: int | None = None, dim1: int | None = None) -> None:
        super().__init__(tensor)
        self.dim0, self.dim1 = dim0, dim1

    def op(self, x: jax.Array) -> jax.Array:
        return jnp.swapaxes(x, -2 if self.dim0 is None else self.dim0, -1 if self.dim1 is None else self.dim1)


class PermuteBackward(_Unary):
    """``x.permute(axes)``."""

    def __init__(self, tensor: Any, axes: Any) -> None:
        super().__init__(tensor)
        self.axes = tuple(axes)

    def op(self, x: jax.Array) -> jax.Array:
        return jnp.transpose(x, self.axes)


class ReshapeBackward(_Unary):
    """``x.reshape(...)`` of a Tensor of ``original_shape``: the gradient is reshaped back."""

    def __init__(self, tensor: Any, original_shape: Any) -> None:
        super().__init__(tensor)
        self.original_shape = tuple(original_shape)

    def parent_grads(self, grad_output: jax.Array) -> Any:
        if self.pullback is not None:
            return self.pullback(grad_output)
        self._target = jnp.shape(grad_output)
        return super().parent_grads(grad_output)

    def op(self, x: jax.Array) -> jax.Array:
        return jnp.reshape(x, self._target)


class SliceBackward(_Unary):
    """``x[key]``: the gradient is scattered back into the sliced positions."""

    def __init__(self, tensor: Any, key: Any) -> None:
        super().__init__(tensor)
        self.key = key
        self.original_shape = tuple(getattr(tensor, "shape", ()))

    def op(self, x: jax.Array) -> jax.Array:
        return x[self.key]


class SumBackward(_Unary):
    """``x.sum()``: every element receives the gradient of the sum (a ``grad_output`` that is not
    a scalar is broadcast to ``x``'s shape, as TinyTorch's ``ones_like(x) * grad_output``)."""

    def parent_grads(self, grad_output: jax.Array) -> Any:
        if self.pullback is not None or jnp.ndim(grad_output) == 0:
            return super().parent_grads(grad_output)
        x = getattr(self.inputs[0], "array", self.inputs[0])
        return jax.vjp(lambda v: jnp.sum(v * grad_output), x)[1](jnp.ones((), x.dtype))

    op = staticmethod(jnp.sum)


class EmbeddingBackward(_Unary):
    """``weight[indices]``: the gradient of each looked-up row is added into the weight's row."""

    def __init__(self, weight: Any, indices: Any) -> None:
        super().__init__(weight, indices)
        self.indices = indices

    def op(self, weight: jax.Array) -> jax.Array:
        indices = getattr(self.indices, "array", self.indices)
        return weight[jnp.asarray(indices).astype(jnp.int32)]


class ReLUBackward(_Unary):
    """``relu(x)``."""

    op = staticmethod(jax.nn.relu)


class SigmoidBackward(_Unary):
    """``sigmoid(x)``; TinyTorch also saves the output."""

    def __init__(self, input_tensor: Any, output_tensor: Any = None) -> None:
        super().__init__(input_tensor, output_tensor)

    op = staticmethod(jax.nn.sigmoid)


class SoftmaxBackward(_Unary):
    """``softmax(x, dim)``; TinyTorch also saves the output."""

    def __init__(self, input_tensor: Any, output_tensor: Any = None, dim: int = -1) -> None:
        super().__init__(input_tensor, output_tensor)
        self.dim = dim

    def op(self, x: jax.Array) -> jax.Array:
        return jax.nn.softmax(x, axis=self.dim)


class GELUBackward(_Unary):
    """``gelu(x)``, the exact (erf) form that :class:`~tinyjax.oop.GELU` computes by default."""

    def op(self, x: jax.Array) -> jax.Array:
        return activations.gelu_exact(x)


class _Loss(_Unary):
    """A loss of ``predictions`` against constant ``targets``: ``apply(g) -> (grad_predictions,)``."""

    def __init__(self, predictions: Any, targets: Any) -> None:
        super().__init__(predictions, targets)
        self.targets = jnp.asarray(getattr(targets, "array", targets))


class MSEBackward(_Loss):
    """``mean((predictions - targets) ** 2)``."""

    def op(self, predictions: jax.Array) -> jax.Array:
        return losses.mse(predictions, self.targets.astype(predictions.dtype))


def bce_of_probabilities(probabilities: jax.Array, targets: jax.Array) -> jax.Array:
    """Binary cross-entropy of probabilities, through the logits ``log(p) - log(1 - p)`` of the clipped
    probabilities: ``softplus(logit) - t * logit`` equals ``-(t log p + (1 - t) log(1 - p))``."""
    p = jnp.clip(probabilities, EPSILON, 1.0 - EPSILON)
    return losses.binary_cross_entropy(jnp.log(p) - jnp.log1p(-p), targets)


class BCEBackward(_Loss):
    """Binary cross-entropy of probabilities (clipped to ``[1e-7, 1 - 1e-7]``), averaged."""

    def op(self, predictions: jax.Array) -> jax.Array:
        return bce_of_probabilities(predictions, self.targets.astype(predictions.dtype))


class CrossEntropyBackward(_Loss):
    """Softmax cross-entropy of logits ``(B, C)`` against class indices ``(B,)``, averaged."""

    def op(self, logits: jax.Array) -> jax.Array:
        indices = self.targets.shape == logits.shape[:-1]
        return losses.cross_entropy(logits, self.targets.astype(jnp.int32 if indices else logits.dtype))


for _fn, _cls in (
    (jnp.add, AddBackward),
    (jnp.subtract, SubBackward),
    (jnp.multiply, MulBackward),
    (jnp.divide, DivBackward),
    (_tensor._matmul, MatmulBackward),
    (_tensor._swapaxes, TransposeBackward),
    (_tensor._reshape, ReshapeBackward),
    (_tensor._sum, SumBackward),
    (autograd.apply_eager, SliceBackward),
    (losses.mse, MSEBackward),
    (losses.cross_entropy, CrossEntropyBackward),
    (bce_of_probabilities, BCEBackward),
):
    autograd.register_grad_fn(_fn, _cls)
