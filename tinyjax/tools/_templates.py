"""What a model's weights must look like: flat ``{name: (shape, dtype)}`` from a Layer or a template.

Shared by :mod:`tinyjax.serialization` and :mod:`tinyjax.interop`, which both rebuild a params pytree
from a flat dict of named arrays and must say exactly which tensors do not fit.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from tinyjax._errors import ConfigError, WeightsMismatchError
from tinyjax.layer import Layer, Params
from tinyjax.params import path_name

__all__ = ["Template", "template"]

Specs = dict[str, tuple[tuple[int, ...], np.dtype]]


class Template:
    """The params structure a file must fill: leaf names in pytree order, their shapes and dtypes."""

    def __init__(self, like: Any):
        if isinstance(like, Layer):
            self.description = like.name
            structure = like.param_shapes()
        else:
            self.description = "the given params template"
            structure = like
        paths, self.treedef = jax.tree_util.tree_flatten_with_path(structure)
        self.names = [path_name(path) for path, _ in paths]
        if len(set(self.names)) != len(self.names):
            raise ConfigError(f"{self.description}: two params share one name in {self.names}")
        self.specs: Specs = {}
        for name, (_, leaf) in zip(self.names, paths, strict=True):
            if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
                raise ConfigError(
                    f"`like` must be a Layer or a pytree of arrays / jax.ShapeDtypeStruct; "
                    f"leaf {name!r} is {type(leaf).__name__}"
                )
            self.specs[name] = (tuple(leaf.shape), np.dtype(leaf.dtype))

    def check(self, found: Specs, source: str, expected: Specs | None = None, dtypes: bool = True) -> None:
        """Raise WeightsMismatchError listing every tensor of ``found`` that differs from the template.

        ``expected`` replaces the template's own specs (same names) where shapes are compared in
        another layout (PyTorch's). ``dtypes=False`` compares names and shapes only.
        """
        expected = self.specs if expected is None else expected
        differences = []
        for name, (shape, dtype) in expected.items():
            if name not in found:
                differences.append(f"missing tensor {name!r}: expected shape {shape} {dtype}, not in {source}")
                continue
            got_shape, got_dtype = found[name]
            if got_shape != shape:
                differences.append(f"tensor {name!r}: expected shape {shape}, got {got_shape}")
            if dtypes and got_dtype != dtype:
                differences.append(f"tensor {name!r}: expected dtype {dtype}, got {got_dtype}")
        for name in found:
            if name not in self.specs:
                shape, dtype = found[name]
                differences.append(f"unexpected tensor {name!r} of shape {shape} {dtype}: the model has no such param")
        if differences:
            raise WeightsMismatchError(source, self.description, differences)

    def build(self, arrays: dict[str, Any]) -> Params:
        """The params pytree with ``arrays[name]`` (already checked) at each leaf, as jax arrays."""
        return jax.tree_util.tree_unflatten(self.treedef, [jax.numpy.asarray(arrays[name]) for name in self.names])


def template(like: Any) -> Template:
    """A :class:`Template` from a Layer or a params template (arrays or ``jax.ShapeDtypeStruct``)."""
    return Template(like)
