"""TinyTorch's layer objects, each a thin shell over one functional :class:`~tinyjax.Layer`.

Every module keeps its parameters as :class:`Tensor` objects whose ``.data`` are the very arrays
of the functional params pytree (``module.params``), and ``forward`` calls the functional layer's
jit-compiled ``apply``: one implementation of the math, dispatched once per layer.
"""

from __future__ import annotations

from typing import Any

import jax

import tinyjax as tj
from tinyjax._checks import check_no_params
from tinyjax._errors import ParamsError
from tinyjax.layer import Layer, Params
from tinyjax.nn.dropout import check_rate
from tinyjax.oop._random import next_key
from tinyjax.oop.tensor import Tensor, as_array

__all__ = ["GELU", "Dropout", "Functional", "Linear", "Module", "ReLU", "Sigmoid", "Softmax", "Tanh"]


class Module:
    """Base class: ``forward``, ``__call__``, ``parameters()``, ``train()`` / ``eval()``, bridges."""

    layer: Layer
    training: bool = True

    @property
    def params(self) -> Params:
        """The functional params pytree (the same arrays the parameter Tensors hold)."""
        return ()

    def forward(self, x: Any) -> Tensor:
        """``x``: a Tensor, NumPy array or jax array; returns a Tensor."""
        return Tensor(self.layer.apply(self.params, as_array(x)))

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Tensor:
        return self.forward(x, *args, **kwargs)

    def parameters(self) -> list[Tensor]:
        """The trainable Tensors, in order (empty for activations)."""
        return []

    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops); returns self."""
        self.training = mode
        return self

    def eval(self) -> Module:
        """Inference mode (Dropout is the identity); returns self."""
        return self.train(False)

    def to_functional(self) -> tuple[Layer, Params]:
        """``(layer, params)`` for the functional core, sharing this module's arrays (no copy)."""
        return self.layer, self.params

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Module:
        """The module for a parameter-free functional ``layer``, built from ``layer.config``."""
        check_no_params(params, layer.name)
        return cls(**layer.config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Module):
    """``y = x @ weight + bias``; ``weight`` is a Tensor of shape (in, out), ``bias`` (out,) or None."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, key: jax.Array | None = None):
        self.layer = tj.Linear(in_features, out_features, bias=bias)
        params = self.layer.init(next_key() if key is None else key)
        self.in_features, self.out_features = self.layer.in_features, self.layer.out_features
        self.weight = Tensor(params["weight"])
        self.bias: Tensor | None = Tensor(params["bias"]) if bias else None

    @classmethod
    def from_params(cls, params: dict[str, jax.Array], layer: Layer | None = None) -> Linear:
        """A Linear holding exactly these arrays (no initialisation, no copy).

        ``layer``: the functional Linear they belong to, kept as it is (its dtype and initializers
        included); by default a plain ``tinyjax.Linear`` of the weight's shape.
        """
        weight = params["weight"]
        module = cls.__new__(cls)
        if layer is None:
            layer = tj.Linear(int(weight.shape[0]), int(weight.shape[1]), bias="bias" in params)
        module.layer = layer
        module.in_features, module.out_features = module.layer.in_features, module.layer.out_features
        module.weight = Tensor(weight)
        module.bias = Tensor(params["bias"]) if "bias" in params else None
        return module

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Linear:
        """A Linear holding exactly ``params``' arrays, checked against the functional ``layer``."""
        expected = (layer.in_features, layer.out_features)
        got = tuple(getattr(params.get("weight"), "shape", ())) if isinstance(params, dict) else type(params).__name__
        if got != expected:
            raise ParamsError(layer.name, expected, got, what="params['weight']")
        names = ["bias", "weight"] if layer.config.get("bias", True) else ["weight"]
        if sorted(params) != names:
            raise ParamsError(layer.name, f"a dict with {names}", sorted(params), what="params")
        return cls.from_params(params, layer)

    @property
    def params(self) -> Params:
        if self.bias is None:
            return {"weight": self.weight.data}
        return {"weight": self.weight.data, "bias": self.bias.data}

    def parameters(self) -> list[Tensor]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"


class _Activation(Module):
    def __repr__(self) -> str:
        return self.layer.name


class ReLU(_Activation):
    def __init__(self) -> None:
        self.layer = tj.ReLU()


class Sigmoid(_Activation):
    def __init__(self) -> None:
        self.layer = tj.Sigmoid()


class Tanh(_Activation):
    def __init__(self) -> None:
        self.layer = tj.Tanh()


class GELU(_Activation):
    def __init__(self, approximate: bool = False) -> None:
        self.layer = tj.GELU(approximate)


class Softmax(_Activation):
    """Softmax along ``dim`` (TinyTorch and PyTorch say ``dim``; the functional core says ``axis``)."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim
        self.layer = tj.Softmax(axis=dim)

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Softmax:
        check_no_params(params, layer.name)
        return cls(dim=int(layer.config["axis"]))

    def __repr__(self) -> str:
        return f"Softmax(dim={self.dim})"


class Dropout(Module):
    """Inverted dropout with drop probability ``p``; the object keeps its own random key.

    ``forward(x, training=None, key=None)``: ``training`` defaults to ``self.training``. Each
    training call draws a fresh subkey from the object's key (``key, sub = split(key)``) unless
    ``key`` is given; with the same key, the mask equals the functional ``Dropout``'s.
    """

    def __init__(self, p: float = 0.5, *, key: jax.Array | None = None) -> None:
        self.p = check_rate(p)
        self.layer = tj.Dropout(self.p)
        self.key = next_key() if key is None else key

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Dropout:
        check_no_params(params, layer.name)
        return cls(float(layer.config["rate"]))

    def forward(self, x: Any, training: bool | None = None, key: jax.Array | None = None) -> Tensor:
        array = as_array(x)
        if not (self.training if training is None else training):
            return Tensor(self.layer.apply((), array))
        if key is None:
            self.key, key = jax.random.split(self.key)
        return Tensor(self.layer.apply((), array, key=key))

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class Functional(Module):
    """Any functional layer with its params, as a module (a user's pair, a Repeat, ...).

    Each array of ``params`` is held by one Tensor; ``parameters()`` lists them in
    :func:`tinyjax.parameters` order.
    """

    def __init__(self, layer: Layer, params: Params) -> None:
        self.layer = layer
        leaves, self._treedef = jax.tree_util.tree_flatten(params)
        self._tensors = [Tensor(leaf) for leaf in leaves]
        position = {id(leaf): i for i, leaf in enumerate(leaves)}
        self._order = [position[id(leaf)] for leaf in tj.parameters(params)]

    @property
    def params(self) -> Params:
        return jax.tree_util.tree_unflatten(self._treedef, [t.data for t in self._tensors])

    def parameters(self) -> list[Tensor]:
        return [self._tensors[i] for i in self._order]

    def __repr__(self) -> str:
        return f"Functional({self.layer.name})"
