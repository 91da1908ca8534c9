"""The OOP face's base classes: ``Module`` (TinyTorch's ``Layer``) and the one params holder.

Every module over a functional layer holds that layer's params the same way
(:class:`FunctionalModule`): it reads :meth:`~tinyjax.Layer.param_info` once, wraps each trained
array in a :class:`Tensor` that requires grad and keeps each state array (BatchNorm's running
statistics) as it is. A dict of params becomes attributes (``module.weight``, ``module.bias``);
any other pytree (a Sequential's tuple, a Repeat's stack) stays one tree. ``forward`` calls the
functional layer's compiled ``apply`` through :func:`tinyjax.oop.autograd.apply`: one
implementation of the math, one dispatch and, when gradients are recorded, one node per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax

from tinyjax.layer import Layer, Params, is_param_info
from tinyjax.oop import autograd
from tinyjax.oop._random import next_key
from tinyjax.oop.autograd import Function
from tinyjax.oop.tensor import Tensor, as_tensor
from tinyjax.params import parameters

__all__ = ["Functional", "FunctionalModule", "Module"]


class Module:
    """Base class (TinyTorch's ``Layer``): subclasses define ``forward``; ``__call__`` calls it.

    ``parameters()`` lists the trainable Tensors (none here); ``train()`` / ``eval()`` set the
    ``training`` flag that Dropout and BatchNorm read.
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

    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses the batch's statistics); returns self."""
        self.training = mode
        return self

    def eval(self) -> Module:
        """Inference mode; returns self."""
        return self.train(False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FunctionalModule(Module):
    """A module over one functional layer: ``forward(x)`` is ``layer.apply(params, x)``, recorded as one node.

    Subclasses build their layer in ``__init__`` and call :meth:`_build`; :meth:`from_functional`
    holds given params instead; :meth:`_configure` sets TinyTorch's attributes from the layer.
    """

    layer: Layer
    grad_fn: type[Function] = Function
    """The class of the node ``forward`` records (``y._grad_fn``): TinyTorch's where it has one
    (``ReLUBackward``), else one named after the module (``Conv2dBackward``)."""
    _names: tuple[str, ...] = ()
    _tree: Any = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "grad_fn" not in cls.__dict__:
            cls.grad_fn = type(f"{cls.__name__}Backward", (Function,), {"__module__": cls.__module__})

    def _build(self, layer: Layer, key: jax.Array | None = None) -> None:
        """Hold fresh params of ``layer`` (drawn from the OOP stream unless ``key``) and configure."""
        self._hold(layer, layer.init(next_key() if key is None else key))
        self._configure()

    def _hold(self, layer: Layer, params: Params) -> None:
        layer.check_structure(params)
        self.layer = layer
        held = jax.tree_util.tree_map(
            lambda array, info: array if info.state else Tensor.wrap(array, requires_grad=True),
            params,
            layer.param_info(),
            is_leaf=is_param_info,
        )
        if isinstance(held, Mapping) and held and not any(hasattr(FunctionalModule, name) for name in held):
            self._names = tuple(held)
            for name, value in held.items():
                setattr(self, name, value)
        else:
            self._tree = held

    def _configure(self) -> None:
        """Set TinyTorch's attributes (``in_features``, ``eps``...) from ``self.layer``; none by default."""

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Any:
        """The module mirroring the functional ``layer``, holding exactly ``params``' arrays (no copy).

        Raises :class:`~tinyjax.ParamsError` naming the layer when ``params`` are not its params.
        """
        module = cls.__new__(cls)
        module._hold(layer, params)
        module._configure()
        return module

    def param_tensors(self) -> Any:
        """The params pytree with a Tensor at each trained leaf and state as arrays (what ``forward`` passes)."""
        return {name: getattr(self, name) for name in self._names} if self._names else self._tree

    @property
    def params(self) -> Params:
        """The functional params pytree (the same arrays the parameter Tensors hold)."""
        return jax.tree_util.tree_map(
            lambda v: v.array if isinstance(v, Tensor) else v, self.param_tensors(), is_leaf=_is_tensor
        )

    def parameters(self) -> list[Tensor]:
        """The trainable Tensors in :func:`tinyjax.parameters` order (layer order, weight before bias)."""
        leaves: list[Any] = parameters(self.param_tensors())
        return [leaf for leaf in leaves if isinstance(leaf, Tensor)]

    def forward(self, x: Any) -> Tensor:
        """``x``: a Tensor, NumPy or jax array, list or scalar (as ``Tensor(x)``); returns a Tensor."""
        return autograd.apply(self.layer.apply, (self.param_tensors(), as_tensor(x)), grad_fn=self.grad_fn)

    def to_functional(self) -> tuple[Layer, Params]:
        """``(layer, params)`` for the functional core, sharing this module's arrays (no copy)."""
        return self.layer, self.params

    def __repr__(self) -> str:
        return self.layer.name


class Functional(FunctionalModule):
    """Any functional layer with its params, as a module: what :func:`~tinyjax.oop.from_functional` gives
    for a layer whose factory has no OOP class registered (a user's pair, a Repeat, an Identity...).

    Each trained array of ``params`` is held by one Tensor (requiring grad); ``parameters()`` lists
    them in :func:`tinyjax.parameters` order.
    """

    def __init__(self, layer: Layer, params: Params) -> None:
        self._hold(layer, params)

    def __repr__(self) -> str:
        return f"Functional({self.layer.name})"


def _is_tensor(value: Any) -> bool:
    return isinstance(value, Tensor)
