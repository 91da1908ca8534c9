"""From the functional core to the OOP face: ``from_functional(layer, params)``."""

from __future__ import annotations

from tinyjax.layer import Layer, Params
from tinyjax.oop import embeddings, modules, spatial, transformer
from tinyjax.oop import sequential as _sequential

__all__ = ["from_functional"]


def from_functional(layer: Layer, params: Params) -> modules.Module:
    """An OOP module holding exactly ``params``' arrays (no copy): the inverse of ``to_functional``.

    The layer names its OOP class (``layer.oop``); that class's ``from_functional(layer, params)``
    builds the module and checks the params. A layer without one (a user's pair) becomes a
    :class:`~tinyjax.oop.Functional` module.
    """
    cls = _CLASSES.get(layer.oop or "")
    if cls is None:
        return modules.Functional(layer, params)
    return cls.from_functional(layer, params)


_CLASSES: dict[str, type[modules.Module]] = {
    name: getattr(module, name)
    for module in (modules, _sequential, spatial, embeddings, transformer)
    for name in module.__all__
    if isinstance(getattr(module, name), type) and issubclass(getattr(module, name), modules.Module)
}
