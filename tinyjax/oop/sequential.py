"""TinyTorch's ``Sequential``: a list of modules run one after the other, eagerly."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params
from tinyjax.nn import sequential
from tinyjax.oop import bridge
from tinyjax.oop.module import Module
from tinyjax.oop.tensor import Tensor, as_tensor

__all__ = ["Sequential"]


class Sequential(Module):
    """``Sequential([l1, l2])`` or ``Sequential(l1, l2)``; ``forward`` calls each layer's forward in turn.

    Each layer is dispatched on its own (per-layer eager execution, as in TinyTorch), one autograd
    node per layer; the functional ``tinyjax.Sequential`` from :meth:`to_functional` compiles the
    whole chain as one program. When every layer mirrors a functional one, the sizes are checked
    when the Sequential is built, by the functional ``tinyjax.Sequential``'s own check:
    ``Sequential(Linear(784, 128), ReLU(), Linear(64, 10))`` raises :class:`~tinyjax.ShapeError`
    naming ``Sequential[2] Linear(64 -> 10)``.
    """

    def __init__(self, *layers: Any) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            if not isinstance(layer, Module):
                raise ConfigError(f"Sequential takes tinyjax.oop modules, got {type(layer).__name__}: {layer!r}")
        self.layers: list[Module] = list(layers)
        if all(isinstance(getattr(layer, "layer", None), Layer) for layer in self.layers):
            _ = self.layer  # the functional Sequential checks that the sizes fit (jax.eval_shape, no FLOPs)

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Sequential:
        """The OOP Sequential of a functional one: each child through :func:`tinyjax.oop.from_functional`."""
        return cls([bridge.from_functional(child, p) for child, p in zip(layer.children, params, strict=True)])

    def forward(self, x: Any, training: bool | None = None) -> Tensor:
        """Each layer's ``forward`` in turn. ``training`` (default: each layer's own ``training`` flag)
        is passed to the layers whose ``forward`` takes it (Dropout, a nested Sequential)."""
        x = as_tensor(x)
        for layer in self.layers:
            if training is not None and "training" in inspect.signature(layer.forward).parameters:
                x = layer.forward(x, training=training)
            else:
                x = layer.forward(x)
        return x

    def parameters(self) -> list[Tensor]:
        """Every layer's parameters in layer order; a Tensor shared by two layers is listed once."""
        seen: set[int] = set()
        found = []
        for layer in self.layers:
            for tensor in layer.parameters():
                if id(tensor) not in seen:
                    seen.add(id(tensor))
                    found.append(tensor)
        return found

    def train(self, mode: bool = True) -> Sequential:
        self.training = mode
        for layer in self.layers:
            layer.train(mode)
        return self

    @property
    def layer(self) -> Layer:
        """A functional ``tinyjax.Sequential`` of the layers' functional layers (built on each access)."""
        return sequential.Sequential([child.layer for child in self.layers])  # type: ignore[attr-defined]

    @property
    def params(self) -> Params:
        return tuple(child.params for child in self.layers)  # type: ignore[attr-defined]

    def to_functional(self) -> tuple[Layer, Params]:
        """``(tinyjax.Sequential, params)`` sharing this model's arrays (no copy)."""
        return self.layer, self.params

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(self.layers[index])
        return self.layers[index]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        if not self.layers:
            return "Sequential()"
        lines = [f"  ({i}): " + repr(layer).replace("\n", "\n  ") for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"


bridge.register(sequential.Sequential, Sequential)
