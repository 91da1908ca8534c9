"""Build a layer again from its description, with some sizes changed (the transformations' one way to make a layer).

A public factory (``tj.Linear``, ``tj.Conv2d``...) is marked ``@factory`` and its layers keep their
constructor arguments in ``config``, so ``factory(**config)`` builds the same layer. To change the
size of one logical axis (``"out"``, ``"in"``, ``"channels"``, ``"heads"``), the config entry that
holds it is found by building candidates and comparing their param shapes with the ones wanted:
no layer is known by name, and a rebuild that does not give the expected shapes is refused.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import jax

import tinyjax.nn
from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, is_factory

__all__ = ["axis_positions", "rebuild", "resized"]


@functools.cache
def _factories() -> dict[str, Callable[..., Layer]]:
    """The public layer factories of ``tinyjax.nn``, by the family name their layers carry in ``kind``."""
    found: dict[str, Callable[..., Layer]] = {}
    for module_info in pkgutil.iter_modules(tinyjax.nn.__path__):
        module = importlib.import_module(f"tinyjax.nn.{module_info.name}")
        for name in getattr(module, "__all__", ()):
            value: Any = getattr(module, name, None)
            if is_factory(value):
                found[name] = value
    return found


def rebuild(layer: Layer, **changes: Any) -> Layer:
    """``layer``'s factory called on its config with ``changes``; ConfigError where no factory builds it."""
    build = _factories().get(layer.kind)
    if build is None or not layer.config:
        raise ConfigError(f"{layer.name}: no public factory rebuilds this layer from its config")
    try:
        return build(**{**layer.config, **changes})
    except TypeError as error:
        raise ConfigError(f"{layer.name}: its config does not rebuild it ({error})") from None


def axis_positions(layer: Layer, axis: str) -> dict[str, int]:
    """For a leaf layer with dict params: param name -> the position of logical ``axis`` in it (params having it)."""
    info = layer.param_info()
    if not isinstance(info, dict):
        return {}
    return {name: param.axes.index(axis) for name, param in info.items() if param.axes and axis in param.axes}


def _shapes(layer: Layer) -> Any:
    return jax.tree_util.tree_map(lambda s: tuple(s.shape), layer.param_shapes())


def resized(layer: Layer, axis: str, size: int) -> Layer:
    """The same layer with logical axis ``axis`` of ``size`` in every param that has it.

    Raises ConfigError where no single config entry changes exactly that axis (the layer cannot be
    shrunk that way: a MultiHeadAttention's ``"out"`` is tied to its ``"in"``).
    """
    positions = axis_positions(layer, axis)
    shapes = _shapes(layer)
    old = {shapes[name][i] for name, i in positions.items()}
    if len(old) != 1:
        raise ConfigError(f"{layer.name}: no param has a single {axis!r} axis to resize")
    (before,) = old
    wanted = {
        name: tuple(size if name in positions and j == positions[name] else n for j, n in enumerate(shape))
        for name, shape in shapes.items()
    }
    for key, value in layer.config.items():
        if type(value) is int and value == before:
            try:
                candidate = rebuild(layer, **{key: size})
            except (ConfigError, ValueError):
                continue
            if _shapes(candidate) == wanted:
                return candidate
    raise ConfigError(f"{layer.name}: no config entry resizes its {axis!r} axis from {before} to {size}")
