"""TinyTorch's layer objects, each a thin shell over one functional :class:`~tinyjax.Layer`.

Every module keeps its parameters as :class:`Tensor` objects (``requires_grad=True``) whose arrays
are those of the functional params pytree (``module.params``), and ``forward`` calls the functional
layer's jit-compiled ``apply`` through :func:`tinyjax.oop.autograd.apply`: one implementation of the
math, one dispatch and, when gradients are recorded, one ``jax.vjp`` node per layer call.
"""

from __future__ import annotations

from typing import Any

import jax

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer
from tinyjax.nn import activations, dropout, linear
from tinyjax.oop import autograd, bridge, functions
from tinyjax.oop._random import next_key
from tinyjax.oop.module import FunctionalModule
from tinyjax.oop.tensor import Tensor, as_tensor

__all__ = ["GELU", "Dropout", "Linear", "ReLU", "SiLU", "Sigmoid", "Softmax", "Tanh"]


class Linear(FunctionalModule):
    """``y = x @ weight + bias``; ``weight`` a Tensor of shape (in, out), ``bias`` (out,) or None.

    Both require grad. Xavier-uniform weight and zero bias (the functional ``tinyjax.Linear``'s
    initialisation), drawn from the OOP face's stream (:func:`~tinyjax.oop.manual_seed`) or ``key``.
    """

    bias: Tensor | None = None
    weight: Tensor

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, key: jax.Array | None = None):
        self._build(linear.Linear(in_features, out_features, bias=bias), key)

    def _configure(self) -> None:
        self.in_features, self.out_features = self.layer.in_features, self.layer.out_features

    @classmethod
    def from_params(cls, params: dict[str, jax.Array], layer: Layer | None = None) -> Linear:
        """A Linear holding exactly these arrays; ``layer`` defaults to a plain Linear of the weight's shape."""
        if layer is None:
            weight = params["weight"]
            layer = linear.Linear(int(weight.shape[0]), int(weight.shape[1]), bias="bias" in params)
        return cls.from_functional(layer, params)

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"


class _Activation(FunctionalModule):
    """A parameter-free module over the functional activation its class names (``factory``)."""

    factory: Any

    def __init__(self) -> None:
        self._build(self.factory())


class ReLU(_Activation):
    """``max(x, 0)``."""

    grad_fn = functions.ReLUBackward

    factory = staticmethod(activations.ReLU)


class Sigmoid(_Activation):
    """``1 / (1 + exp(-x))``."""

    grad_fn = functions.SigmoidBackward

    factory = staticmethod(activations.Sigmoid)


class Tanh(_Activation):
    """``tanh(x)``."""

    factory = staticmethod(activations.Tanh)


class SiLU(_Activation):
    """``x * sigmoid(x)`` (swish)."""

    factory = staticmethod(activations.SiLU)


class GELU(_Activation):
    """GELU, exact (erf) by default; ``approximate=True`` is the tanh form (TinyTorch uses ``x * sigmoid(1.702 x)``)."""

    grad_fn = functions.GELUBackward

    def __init__(self, approximate: bool = False) -> None:
        self._build(activations.GELU(approximate))

    def _configure(self) -> None:
        self.approximate = self.layer.config["approximate"]


class Softmax(_Activation):
    """Softmax along ``dim`` (TinyTorch and PyTorch say ``dim``; the functional core says ``axis``).

    ``forward(x, dim=None)``: ``dim`` overrides the one given when the module was built, as
    TinyTorch's ``forward(x, dim=-1)`` lets a call choose the axis.
    """

    grad_fn = functions.SoftmaxBackward

    def __init__(self, dim: int = -1) -> None:
        self._build(activations.Softmax(axis=dim))

    def _configure(self) -> None:
        self.dim = int(self.layer.config["axis"])

    def forward(self, x: Any, dim: int | None = None) -> Tensor:
        layer = self.layer if dim is None else activations.Softmax(axis=dim)
        return autograd.apply(layer.apply, ((), as_tensor(x)), grad_fn=self.grad_fn)

    def __repr__(self) -> str:
        return f"Softmax(dim={self.dim})"


class Dropout(FunctionalModule):
    """Inverted dropout with drop probability ``p``; the object keeps its own random key.

    ``forward(x, training=None, key=None)``: ``training`` defaults to ``self.training`` (True until
    ``eval()``). Each training call draws a fresh subkey from the object's key unless ``key`` is
    given; with the same key, the mask equals the functional ``Dropout``'s.
    """

    def __init__(self, p: float = 0.5, *, key: jax.Array | None = None) -> None:
        self._build(dropout.Dropout(p))
        if key is not None:
            self.key = key

    def _configure(self) -> None:
        self.p = float(self.layer.config["rate"])
        self.key = next_key()

    def forward(self, x: Any, training: bool | None = None, key: jax.Array | None = None) -> Tensor:
        tensor = as_tensor(x)
        if training is not None and not isinstance(training, bool):
            raise ConfigError(f"Dropout.forward: training must be True, False or None, got {training!r}")
        if not (self.training if training is None else training):
            return tensor
        if key is None:
            self.key, key = jax.random.split(self.key)
        return autograd.apply(self.layer.apply, ((), tensor), {"key": key}, grad_fn=self.grad_fn)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


for _factory, _cls in (
    (linear.Linear, Linear),
    (activations.ReLU, ReLU),
    (activations.Sigmoid, Sigmoid),
    (activations.Tanh, Tanh),
    (activations.SiLU, SiLU),
    (activations.GELU, GELU),
    (activations.Softmax, Softmax),
    (dropout.Dropout, Dropout),
):
    bridge.register(_factory, _cls)
