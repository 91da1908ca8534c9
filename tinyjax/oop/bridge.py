"""From the functional core to the OOP face: ``from_functional(layer, params)``, and the links it follows.

The OOP face owns the link from a layer to its class: each OOP module file registers its classes
by the factory that builds their functional layer (``register(linear.Linear, Linear)``), and
:func:`from_functional` looks the layer's factory up. A layer whose factory registered no class
(a user's pair, ``Repeat``, ``Identity``...) becomes the documented :class:`~tinyjax.oop.Functional`
wrapper: the same params as Tensors, the same ``apply``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinyjax.layer import Layer, Params
from tinyjax.oop.module import Functional

__all__ = ["classes", "factory_of", "from_functional", "register"]

_CLASSES: dict[Callable[..., Layer], type[Any]] = {}
_BY_KIND: dict[str, Callable[..., Layer]] = {}


def register(factory: Callable[..., Layer], cls: type[Any]) -> None:
    """Map the layers ``factory`` builds to the OOP class ``cls`` (which has ``from_functional``)."""
    _CLASSES[factory] = cls
    _BY_KIND[factory.__name__] = factory


def classes() -> dict[Callable[..., Layer], type[Any]]:
    """Every registered ``factory -> class`` link (a copy)."""
    return dict(_CLASSES)


def factory_of(layer: Layer) -> Callable[..., Layer] | None:
    """The registered factory that built ``layer``, or None (a user's pair, an unregistered factory).

    A Layer that records its factory (``layer.factory``) is looked up by it; otherwise by its
    ``kind``, which every tinyjax factory sets to its own name.
    """
    recorded = getattr(layer, "factory", None)
    return recorded if recorded is not None else _BY_KIND.get(layer.kind)


def from_functional(layer: Layer, params: Params) -> Any:
    """An OOP module holding exactly ``params``' arrays (no copy): the inverse of ``to_functional``.

    The class registered for the layer's factory builds it (its ``from_functional(layer, params)``);
    a layer without one becomes a :class:`~tinyjax.oop.Functional` module. Raises
    :class:`~tinyjax.ParamsError` naming the layer when ``params`` are not its params.
    """
    factory = factory_of(layer)
    cls = None if factory is None else _CLASSES.get(factory)
    if cls is None:
        return Functional(layer, params)
    return cls.from_functional(layer, params)
