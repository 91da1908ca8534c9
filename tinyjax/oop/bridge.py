"""From the functional core to the OOP face: ``from_functional(layer, params)``."""

from __future__ import annotations

from tinyjax._errors import ParamsError
from tinyjax.layer import Layer, Params
from tinyjax.oop import modules
from tinyjax.oop.sequential import Sequential

__all__ = ["from_functional"]

_ACTIVATIONS = {"ReLU": modules.ReLU, "Sigmoid": modules.Sigmoid, "Tanh": modules.Tanh}


def from_functional(layer: Layer, params: Params) -> modules.Module:
    """An OOP module holding exactly ``params``' arrays (no copy): the inverse of ``to_functional``.

    Linear, the activations, Dropout and Sequential map to their OOP classes; any other layer
    (a user's pair, say) becomes a :class:`~tinyjax.oop.Functional` module.
    """
    if layer.kind == "Sequential":
        return Sequential([from_functional(child, p) for child, p in zip(layer.children, params, strict=True)])
    if layer.kind == "Linear":
        expected = (layer.in_features, layer.out_features)
        got = tuple(getattr(params.get("weight"), "shape", ())) if isinstance(params, dict) else type(params).__name__
        if got != expected:
            raise ParamsError(layer.name, expected, got, what="params['weight']")
        names = ["bias", "weight"] if layer.config.get("bias", True) else ["weight"]
        if sorted(params) != names:
            raise ParamsError(layer.name, f"a dict with {names}", sorted(params), what="params")
        return modules.Linear.from_params(params, layer)
    if layer.kind in _ACTIVATIONS:
        return _ACTIVATIONS[layer.kind]()
    if layer.kind == "GELU":
        return modules.GELU(bool(layer.config["approximate"]))
    if layer.kind == "Softmax":
        return modules.Softmax(dim=int(layer.config["axis"]))
    if layer.kind == "Dropout":
        return modules.Dropout(float(layer.config["rate"]))
    return modules.Functional(layer, params)
