"""TinyTorch's module 09 (Spatial) and 13's LayerNorm as objects over the functional core.

``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``BatchNorm2d`` (with ``train()`` / ``eval()``),
``Flatten`` and ``LayerNorm`` keep TinyTorch's constructors; each holds its params as every OOP
module does (:class:`~tinyjax.oop.module.FunctionalModule`) and calls the functional layer's
compiled ``apply``.

BatchNorm2d is where the two designs differ: the object owns its running statistics and
``forward`` in training mode replaces them (``self.running_mean = ...``), as TinyTorch's does;
the functional ``tinyjax.BatchNorm2d`` returns them instead (docs/state.md).
"""

from __future__ import annotations

from typing import Any

import jax

from tinyjax.nn import basic, conv, normalization, pooling
from tinyjax.oop import autograd, bridge
from tinyjax.oop.module import FunctionalModule
from tinyjax.oop.modules import ReLU
from tinyjax.oop.sequential import Sequential
from tinyjax.oop.tensor import Tensor, as_tensor

__all__ = ["AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Flatten", "LayerNorm", "MaxPool2d", "SimpleCNN"]


class _Configured(FunctionalModule):
    """A module whose TinyTorch attributes are its layer's config entries (``in_channels``, ``eps``...)."""

    def _configure(self) -> None:
        for key, value in self.layer.config.items():
            if key not in self._names:
                setattr(self, key, value)


class Conv2d(_Configured):
    """TinyTorch's ``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True)`` on NCHW input.

    ``weight`` is a Tensor ``(out, in, kh, kw)``, ``bias`` ``(out,)`` or None.
    """

    bias: Tensor | None = None
    weight: Tensor

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 bias: bool = True, *, key: jax.Array | None = None) -> None:  # fmt: skip
        self._build(conv.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias), key)

    def _configure(self) -> None:
        super()._configure()
        if "bias" not in self._names:
            self.bias = None


class _Norm(_Configured):
    """A norm's ``weight`` / ``bias`` under TinyTorch's names too: ``gamma`` / ``beta``."""

    weight: Tensor

    @property
    def gamma(self) -> Tensor:
        return self.weight

    @property
    def beta(self) -> Tensor | None:
        return getattr(self, "bias", None)


class BatchNorm2d(_Norm):
    """TinyTorch's ``BatchNorm2d(num_features, eps=1e-5, momentum=0.1)``; training mode at construction.

    ``weight`` / ``bias`` (TinyTorch's ``gamma`` / ``beta``) are Tensors; ``running_mean``,
    ``running_var``, ``num_batches_tracked`` are arrays this object replaces on each training forward.
    """

    factory = staticmethod(normalization.BatchNorm2d)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        self._build(self.factory(num_features, eps, momentum))

    def forward(self, x: Any) -> Tensor:
        if not self.training:
            return super().forward(x)
        y, state = autograd.apply_with_aux(
            self.layer.apply, (self.param_tensors(), as_tensor(x)), grad_fn=self.grad_fn, training=True
        )
        for name, value in state.items():  # the OOP answer: the object updates itself
            if value is not None:  # the trained entries of the state tree are None
                setattr(self, name, value)
        return y


class BatchNorm1d(BatchNorm2d):
    """``BatchNorm1d(num_features, eps=1e-5, momentum=0.1)`` over ``(N, C)`` or ``(N, C, L)``, as BatchNorm2d."""

    factory = staticmethod(normalization.BatchNorm1d)


class LayerNorm(_Norm):
    """TinyTorch's ``LayerNorm(normalized_shape, eps=1e-5)``: ``weight`` / ``bias`` (``gamma`` / ``beta``) Tensors."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5) -> None:
        self._build(normalization.LayerNorm(normalized_shape, eps))


class MaxPool2d(_Configured):
    """TinyTorch's ``MaxPool2d(kernel_size, stride=None, padding=0)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        self._build(pooling.MaxPool2d(kernel_size, stride, padding))


class AvgPool2d(_Configured):
    """TinyTorch's ``AvgPool2d(kernel_size, stride=None, padding=0)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True) -> None:
        self._build(pooling.AvgPool2d(kernel_size, stride, padding, count_include_pad))


class Flatten(_Configured):
    """``Flatten(start_dim=1, end_dim=-1)``: ``(N, C, H, W)`` -> ``(N, C*H*W)``, as the functional one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self._build(basic.Flatten(start_dim, end_dim))


for _factory, _cls in (
    (conv.Conv2d, Conv2d),
    (normalization.BatchNorm2d, BatchNorm2d),
    (normalization.BatchNorm1d, BatchNorm1d),
    (normalization.LayerNorm, LayerNorm),
    (pooling.MaxPool2d, MaxPool2d),
    (pooling.AvgPool2d, AvgPool2d),
    (basic.Flatten, Flatten),
):
    bridge.register(_factory, _cls)


class SimpleCNN(Sequential):
    """TinyTorch's module 09 ``SimpleCNN(num_classes=10)``: two ``Conv2d(3x3, padding=1)`` + ReLU + ``MaxPool2d(2)``.

    ``forward(x)``: ``(B, 3, H, W)`` -> the flattened features ``(B, 32 * H/4 * W/4)`` (2048 for
    32 x 32 images), as TinyTorch's, which has no classifier head yet at this module;
    ``num_classes`` is kept for the head a later module adds. ``parameters()``: the two convolutions'
    weights and biases. Unlike TinyTorch's, the features stay on the tape (``backward()`` reaches
    the convolutions).
    """

    def __init__(self, num_classes: int = 10) -> None:
        self.num_classes = num_classes
        self.conv1 = Conv2d(3, 16, 3, padding=1)
        self.pool1 = MaxPool2d(2, stride=2)
        self.conv2 = Conv2d(16, 32, 3, padding=1)
        self.pool2 = MaxPool2d(2, stride=2)
        self.flattened_size = 32 * 8 * 8
        super().__init__(self.conv1, ReLU(), self.pool1, self.conv2, ReLU(), self.pool2, Flatten())
