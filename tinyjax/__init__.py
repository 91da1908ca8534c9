"""tinyjax: TinyTorch's Layers module as pure JAX functions.

A layer is a pair of pure functions, ``init(key) -> params`` and ``apply(params, x) -> y``::

    import jax, tinyjax as tj

    model = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 10))
    params = model.init(jax.random.key(0))     # ({"weight", "bias"}, (), {"weight", "bias"})
    logits = model.apply(params, x)            # (32, 784) -> (32, 10), one XLA program
"""

from __future__ import annotations

from tinyjax import initializers, interop, linear, losses, sharding
from tinyjax._errors import (
    ArtifactError,
    ConfigError,
    DTypeError,
    KeyArgumentError,
    ParamsError,
    ShapeError,
    WeightsFileError,
    WeightsMismatchError,
)
from tinyjax._version import __version__
from tinyjax.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinyjax.dropout import Dropout
from tinyjax.exporting import export, load_exported
from tinyjax.layer import Layer, Params, as_layer
from tinyjax.linear import Linear
from tinyjax.params import count_params, named_parameters, param_bytes, parameters
from tinyjax.predictor import Predictor, compile
from tinyjax.repeat import Repeat
from tinyjax.sequential import Sequential
from tinyjax.serialization import load, read_metadata, save
from tinyjax.summary import Summary, summary

__all__ = [
    "GELU",
    "ArtifactError",
    "ConfigError",
    "DTypeError",
    "Dropout",
    "KeyArgumentError",
    "Layer",
    "Linear",
    "Params",
    "ParamsError",
    "Predictor",
    "ReLU",
    "Repeat",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "Summary",
    "Tanh",
    "WeightsFileError",
    "WeightsMismatchError",
    "__version__",
    "as_layer",
    "compile",
    "count_params",
    "export",
    "initializers",
    "interop",
    "linear",
    "load",
    "load_exported",
    "losses",
    "named_parameters",
    "param_bytes",
    "parameters",
    "read_metadata",
    "save",
    "sharding",
    "summary",
]
