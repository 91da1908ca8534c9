"""TinyTorch's module 09 (Spatial) and 13's LayerNorm as objects over the functional core.

``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``BatchNorm2d`` (with ``train()`` / ``eval()``),
``Flatten`` and ``LayerNorm`` keep TinyTorch's constructors; each holds its params as Tensors over
the arrays of a functional params dict and calls the functional layer's compiled ``apply``.

BatchNorm2d is where the two designs differ: the object owns its running statistics and
``forward`` in training mode replaces them (``self.running_mean = ...``), as TinyTorch's does;
the functional ``tinyjax.BatchNorm2d`` returns them instead (docs/state.md).
"""

from __future__ import annotations

from typing import Any

import jax

import tinyjax as tj
from tinyjax._checks import check_no_params
from tinyjax.layer import Layer, Params
from tinyjax.nn._common import check_dict_params
from tinyjax.oop import autograd
from tinyjax.oop._random import next_key
from tinyjax.oop.modules import FunctionalModule, Module
from tinyjax.oop.tensor import Tensor, as_tensor

__all__ = ["AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Flatten", "LayerNorm", "MaxPool2d", "ParamModule"]


_ORDER = {"weight": 0, "bias": 1}  # tinyjax.parameters' order, TinyTorch's [weight, bias]


class ParamModule(FunctionalModule):
    """A module whose params are a dict of arrays: trainable ones as Tensor attributes, state as arrays.

    Subclasses set ``layer`` and call :meth:`_hold`; ``from_functional`` checks the params against
    the layer's shapes and holds exactly those arrays (no copy).
    """

    _names: tuple[str, ...] = ()
    weight: Tensor
    bias: Tensor | None

    def _hold(self, layer: Layer, params: Params) -> None:
        self.layer = layer
        self._names = tuple(sorted(params, key=lambda name: (_ORDER.get(name, 2), name)))  # weight, bias, rest
        for name, array in params.items():
            setattr(self, name, array if name in layer.state else Tensor.wrap(array, requires_grad=True))

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Module:
        """A module holding exactly ``params``' arrays, checked against the functional ``layer``."""
        shapes = layer.param_shapes()
        if not shapes:  # LayerNorm without affine params
            check_no_params(params, layer.name)
        else:
            check_dict_params(params, {name: tuple(s.shape) for name, s in shapes.items()}, layer.name)
        module = cls.__new__(cls)
        module._hold(layer, dict(params) if params else {})
        module._configure(layer)
        return module

    def _configure(self, layer: Layer) -> None:
        """Set the TinyTorch attributes (``in_channels``, ``eps``...) from ``layer.config``."""
        for key, value in layer.config.items():
            if key not in self._names:
                setattr(self, key, value)

    @property
    def params(self) -> Params:
        return {name: _array(getattr(self, name)) for name in self._names} if self._names else ()

    def param_tensors(self) -> Any:
        """Trainable params as the Tensors ``forward`` differentiates; state as plain arrays."""
        return {name: getattr(self, name) for name in self._names} if self._names else ()

    def parameters(self) -> list[Tensor]:
        return [getattr(self, name) for name in self._names if name not in self.layer.state]

    def __repr__(self) -> str:
        return self.layer.name


def _array(value: Any) -> Any:
    return value.array if isinstance(value, Tensor) else value


class Conv2d(ParamModule):
    """TinyTorch's ``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True)`` on NCHW input.

    ``weight`` is a Tensor ``(out, in, kh, kw)``, ``bias`` ``(out,)`` or None.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 bias: bool = True, *, key: jax.Array | None = None) -> None:  # fmt: skip
        layer = tj.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias)
        self._hold(layer, layer.init(next_key() if key is None else key))
        self._configure(layer)

    def _configure(self, layer: Layer) -> None:
        super()._configure(layer)
        if not layer.config["bias"]:
            self.bias = None


class _Norm(ParamModule):
    """A norm's ``weight`` / ``bias`` under TinyTorch's names too: ``gamma`` / ``beta``."""

    @property
    def gamma(self) -> Tensor:
        return self.weight

    @property
    def beta(self) -> Tensor | None:
        return self.bias


class BatchNorm2d(_Norm):
    """TinyTorch's ``BatchNorm2d(num_features, eps=1e-5, momentum=0.1)``; training mode at construction.

    ``weight`` / ``bias`` (TinyTorch's ``gamma`` / ``beta``) are Tensors; ``running_mean``,
    ``running_var``, ``num_batches_tracked`` are arrays this object replaces on each training forward.
    """

    factory = staticmethod(tj.BatchNorm2d)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        layer = self.factory(num_features, eps, momentum)
        self._hold(layer, layer.init(next_key()))
        self._configure(layer)

    def forward(self, x: Any) -> Tensor:
        if not self.training:
            return super().forward(x)
        y, state = autograd.apply_with_aux(self.layer.apply, (self.param_tensors(), as_tensor(x)), training=True)
        for name in self.layer.state:  # the OOP answer: the object updates itself
            setattr(self, name, state[name])
        return y


class BatchNorm1d(BatchNorm2d):
    """``BatchNorm1d(num_features, eps=1e-5, momentum=0.1)`` over ``(N, C)`` or ``(N, C, L)``, as BatchNorm2d."""

    factory = staticmethod(tj.BatchNorm1d)


class LayerNorm(_Norm):
    """TinyTorch's ``LayerNorm(normalized_shape, eps=1e-5)``: ``weight`` / ``bias`` (``gamma`` / ``beta``) Tensors."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5) -> None:
        layer = tj.LayerNorm(normalized_shape, eps)
        self._hold(layer, layer.init(next_key()))
        self._configure(layer)


class _Pool(FunctionalModule):
    def __repr__(self) -> str:
        return self.layer.name

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Module:
        check_no_params(params, layer.name)
        module = cls.__new__(cls)
        module.layer = layer
        for key, value in layer.config.items():
            setattr(module, key, value)
        return module


class MaxPool2d(_Pool):
    """TinyTorch's ``MaxPool2d(kernel_size, stride=None, padding=0)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        self.layer = tj.MaxPool2d(kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = (
            self.layer.config[k] for k in ("kernel_size", "stride", "padding")
        )


class AvgPool2d(_Pool):
    """TinyTorch's ``AvgPool2d(kernel_size, stride=None, padding=0)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True) -> None:
        self.layer = tj.AvgPool2d(kernel_size, stride, padding, count_include_pad)
        self.kernel_size, self.stride, self.padding = (
            self.layer.config[k] for k in ("kernel_size", "stride", "padding")
        )


class Flatten(_Pool):
    """``Flatten(start_dim=1, end_dim=-1)``: ``(N, C, H, W)`` -> ``(N, C*H*W)``, as the functional one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.layer = tj.Flatten(start_dim, end_dim)
        self.start_dim, self.end_dim = start_dim, end_dim
