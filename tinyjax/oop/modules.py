"""TinyTorch's layer objects, each a thin shell over one functional :class:`~tinyjax.Layer`.

Every module keeps its parameters as :class:`Tensor` objects (``requires_grad=True``) whose arrays
are those of the functional params pytree (``module.params``), and ``forward`` calls the functional
layer's jit-compiled ``apply`` through :func:`tinyjax.oop.autograd.apply`: one implementation of the
math, one dispatch and, when gradients are recorded, one ``jax.vjp`` node per layer call.
"""

from __future__ import annotations

from typing import Any

import jax

import tinyjax as tj
from tinyjax._checks import check_no_params
from tinyjax._errors import ConfigError, ParamsError
from tinyjax.layer import Layer, Params
from tinyjax.nn.dropout import check_rate
from tinyjax.oop import autograd
from tinyjax.oop._random import next_key
from tinyjax.oop.tensor import Tensor, as_tensor

__all__ = ["GELU", "Dropout", "Functional", "Linear", "Module", "ReLU", "SiLU", "Sigmoid", "Softmax", "Tanh"]


def _parameter(array: jax.Array) -> Tensor:
    return Tensor.wrap(array, requires_grad=True)


class Module:
    """Base class (TinyTorch's ``Layer``): subclasses define ``forward``; ``__call__`` calls it.

    ``parameters()`` lists the trainable Tensors (none here); ``train()`` / ``eval()`` set the
    ``training`` flag that Dropout reads.
    """

    training: bool = True

    def forward(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The layer's computation; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, x)")

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        return self.forward(x, *args, **kwargs)

    def parameters(self) -> list[Tensor]:
        """The trainable Tensors, in order (empty for activations)."""
        return []

    def zero_grad(self) -> None:
        """Clear ``.grad`` of every parameter."""
        for tensor in self.parameters():
            tensor.zero_grad()

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Module:
        """The module mirroring the functional ``layer``, holding exactly ``params``' arrays (no copy).

        This default serves parameter-free layers, built from ``layer.config``; a class with params
        or other options overrides it. :func:`tinyjax.oop.from_functional` calls it on the class the
        layer names (``layer.oop``).
        """
        check_no_params(params, layer.name)
        return cls(**layer.config)

    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops); returns self."""
        self.training = mode
        return self

    def eval(self) -> Module:
        """Inference mode (Dropout is the identity); returns self."""
        return self.train(False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FunctionalModule(Module):
    """A module over one functional layer: ``forward(x)`` is ``layer.apply(params, x)``, recorded as one node."""

    layer: Layer

    @property
    def params(self) -> Params:
        """The functional params pytree (the same arrays the parameter Tensors hold)."""
        return ()

    def param_tensors(self) -> Any:
        """The params pytree with a Tensor at each leaf (what ``forward`` differentiates)."""
        return ()

    def forward(self, x: Any) -> Tensor:
        """``x``: a Tensor, NumPy or jax array, list or scalar (as ``Tensor(x)``); returns a Tensor."""
        return autograd.apply(self.layer.apply, (self.param_tensors(), as_tensor(x)))

    def to_functional(self) -> tuple[Layer, Params]:
        """``(layer, params)`` for the functional core, sharing this module's arrays (no copy)."""
        return self.layer, self.params

    def __repr__(self) -> str:
        return self.layer.name


class Linear(FunctionalModule):
    """``y = x @ weight + bias``; ``weight`` a Tensor of shape (in, out), ``bias`` (out,) or None.

    Both require grad. Xavier-uniform weight and zero bias (the functional ``tinyjax.Linear``'s
    initialisation), drawn from the OOP face's stream (:func:`~tinyjax.oop.manual_seed`) or ``key``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, key: jax.Array | None = None):
        layer = tj.Linear(in_features, out_features, bias=bias)
        self._hold(layer, layer.init(next_key() if key is None else key))

    def _hold(self, layer: Layer, params: dict[str, jax.Array]) -> None:
        self.layer = layer
        self.in_features, self.out_features = layer.in_features, layer.out_features
        self.weight = _parameter(params["weight"])
        self.bias: Tensor | None = _parameter(params["bias"]) if "bias" in params else None

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Linear:
        """A Linear holding exactly these arrays (no initialisation, no copy); ``layer`` is kept as it is.

        Raises :class:`~tinyjax.ParamsError` when ``params`` are not ``layer``'s (shape, bias).
        """
        expected = (layer.in_features, layer.out_features)
        got = tuple(getattr(params.get("weight"), "shape", ())) if isinstance(params, dict) else type(params).__name__
        if got != expected:
            raise ParamsError(layer.name, expected, got, what="params['weight']")
        names = ["bias", "weight"] if layer.config.get("bias", True) else ["weight"]
        if sorted(params) != names:
            raise ParamsError(layer.name, f"a dict with {names}", sorted(params), what="params")
        module = cls.__new__(cls)
        module._hold(layer, params)
        return module

    @classmethod
    def from_params(cls, params: dict[str, jax.Array], layer: Layer | None = None) -> Linear:
        """A Linear holding exactly these arrays; ``layer`` defaults to a plain Linear of the weight's shape."""
        if layer is None:
            weight = params["weight"]
            layer = tj.Linear(int(weight.shape[0]), int(weight.shape[1]), bias="bias" in params)
        return cls.from_functional(layer, params)

    @property
    def params(self) -> Params:
        return {k: t.array for k, t in self.param_tensors().items()}

    def param_tensors(self) -> dict[str, Tensor]:
        return {"weight": self.weight} if self.bias is None else {"weight": self.weight, "bias": self.bias}

    def parameters(self) -> list[Tensor]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"


class _Activation(FunctionalModule):
    """A parameter-free module over one functional activation."""


class ReLU(_Activation):
    def __init__(self) -> None:
        self.layer = tj.ReLU()


class Sigmoid(_Activation):
    def __init__(self) -> None:
        self.layer = tj.Sigmoid()


class Tanh(_Activation):
    def __init__(self) -> None:
        self.layer = tj.Tanh()


class SiLU(_Activation):
    """``x * sigmoid(x)`` (swish)."""

    def __init__(self) -> None:
        self.layer = tj.SiLU()


class GELU(_Activation):
    """GELU, exact (erf) by default; ``approximate=True`` is the tanh form (TinyTorch uses ``x * sigmoid(1.702 x)``)."""

    def __init__(self, approximate: bool = False) -> None:
        self.layer = tj.GELU(approximate)


class Softmax(_Activation):
    """Softmax along ``dim`` (TinyTorch and PyTorch say ``dim``; the functional core says ``axis``).

    ``forward(x, dim=None)``: ``dim`` overrides the one given when the module was built, as
    TinyTorch's ``forward(x, dim=-1)`` lets a call choose the axis.
    """

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim
        self.layer = tj.Softmax(axis=dim)

    @classmethod
    def from_functional(cls, layer: Layer, params: Params = ()) -> Softmax:
        check_no_params(params, layer.name)
        return cls(dim=int(layer.config["axis"]))

    def forward(self, x: Any, dim: int | None = None) -> Tensor:
        layer = self.layer if dim is None else tj.Softmax(axis=dim)
        return autograd.apply(layer.apply, ((), as_tensor(x)))

    def __repr__(self) -> str:
        return f"Softmax(dim={self.dim})"


class Dropout(FunctionalModule):
    """Inverted dropout with drop probability ``p``; the object keeps its own random key.

    ``forward(x, training=None, key=None)``: ``training`` defaults to ``self.training`` (True until
    ``eval()``). Each training call draws a fresh subkey from the object's key unless ``key`` is
    given; with the same key, the mask equals the functional ``Dropout``'s.
    """

    def __init__(self, p: float = 0.5, *, key: jax.Array | None = None) -> None:
        self.p = check_rate(p)
        self.layer = tj.Dropout(self.p)
        self.key = next_key() if key is None else key

    @classmethod
    def from_functional(cls, layer: Layer, params: Params = ()) -> Dropout:
        check_no_params(params, layer.name)
        return cls(float(layer.config["rate"]))

    def forward(self, x: Any, training: bool | None = None, key: jax.Array | None = None) -> Tensor:
        tensor = as_tensor(x)
        if training is not None and not isinstance(training, bool):
            raise ConfigError(f"Dropout.forward: training must be True, False or None, got {training!r}")
        if not (self.training if training is None else training):
            return tensor
        if key is None:
            self.key, key = jax.random.split(self.key)
        return autograd.apply(self.layer.apply, ((), tensor), {"key": key})

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class Functional(FunctionalModule):
    """Any functional layer with its params, as a module (a user's pair, a Repeat, ...).

    Each array of ``params`` is held by one Tensor (requiring grad); ``parameters()`` lists them
    in :func:`tinyjax.parameters` order.
    """

    def __init__(self, layer: Layer, params: Params) -> None:
        self.layer = layer
        leaves, self._treedef = jax.tree_util.tree_flatten(params)
        self._tensors = [_parameter(leaf) for leaf in leaves]
        position = {id(leaf): i for i, leaf in enumerate(leaves)}
        self._order = [position[id(leaf)] for leaf in tj.parameters(params)]

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Functional:
        return cls(layer, params)

    @property
    def params(self) -> Params:
        return jax.tree_util.tree_unflatten(self._treedef, [t.array for t in self._tensors])

    def param_tensors(self) -> Any:
        return jax.tree_util.tree_unflatten(self._treedef, self._tensors)

    def parameters(self) -> list[Tensor]:
        return [self._tensors[i] for i in self._order]

    def __repr__(self) -> str:
        return f"Functional({self.layer.name})"
