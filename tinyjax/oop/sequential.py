"""TinyTorch's ``Sequential``: a list of modules run one after the other, eagerly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import tinyjax as tj
from tinyjax.layer import Layer, Params
from tinyjax.oop.modules import Module
from tinyjax.oop.tensor import Tensor

__all__ = ["Sequential"]


class Sequential(Module):
    """``Sequential([l1, l2])`` or ``Sequential(l1, l2)``; ``forward`` calls each layer's forward in turn.

    Each layer is dispatched on its own (per-layer eager execution, as in TinyTorch); the
    functional ``tinyjax.Sequential`` from :meth:`to_functional` compiles the whole chain as one program.
    """

    def __init__(self, *layers: Any) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes tinyjax.oop modules, got {type(layer).__name__}: {layer!r}")
        self.layers: list[Module] = list(layers)

    def forward(self, x: Any) -> Tensor:
        for layer in self.layers:
            x = layer.forward(x)
        return x if isinstance(x, Tensor) else Tensor(x)

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
    def layer(self) -> Layer:  # type: ignore[override]
        """A functional ``tinyjax.Sequential`` of the layers' functional layers (built on each access)."""
        return tj.Sequential([child.layer for child in self.layers])

    @property
    def params(self) -> Params:
        return tuple(child.params for child in self.layers)

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Sequential:
        """A Sequential of the children's OOP modules, holding exactly ``params``' arrays."""
        from tinyjax.oop.bridge import from_functional

        return cls([from_functional(child, p) for child, p in zip(layer.children, params, strict=True)])

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
