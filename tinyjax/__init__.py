"""tinyjax: TinyTorch's Layers module as pure JAX functions.

A layer is a pair of pure functions, ``init(key) -> params`` and ``apply(params, x) -> y``::

    import jax, tinyjax as tj

    model = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 10))
    params = model.init(jax.random.key(0))     # ({"weight", "bias"}, (), {"weight", "bias"})
    logits = model.apply(params, x)            # (32, 784) -> (32, 10), one XLA program
"""

from __future__ import annotations

import sys as _sys

from tinyjax import initializers
from tinyjax._errors import (
    ArtifactError,
    ConfigError,
    DTypeError,
    KeyArgumentError,
    ParamsError,
    ShapeError,
    TinyjaxError,
    WeightsFileError,
    WeightsMismatchError,
)
from tinyjax._version import __version__
from tinyjax.layer import Lambda, Layer, Params, as_layer
from tinyjax.nn import activations as _activations
from tinyjax.nn import gpt, linear, losses
from tinyjax.nn.activations import *  # noqa: F403  (every activation the module lists in __all__)
from tinyjax.nn.attention import MultiHeadAttention
from tinyjax.nn.basic import Flatten, Identity, Residual
from tinyjax.nn.conv import Conv2d
from tinyjax.nn.dropout import Dropout
from tinyjax.nn.embedding import Embedding, PositionalEncoding
from tinyjax.nn.gpt import GPT
from tinyjax.nn.linear import Linear
from tinyjax.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm
from tinyjax.nn.pooling import AvgPool2d, MaxPool2d
from tinyjax.nn.quantized import (
    QuantizedConv2d,
    QuantizedLinear,
    QuantizedMultiHeadAttention,
    QuantizedTransformerBlock,
)
from tinyjax.nn.repeat import Repeat
from tinyjax.nn.sequential import Sequential
from tinyjax.nn.transformer import SinusoidalPositionalEncoding, TransformerBlock
from tinyjax.params import count_params, named_parameters, param_bytes, parameters
from tinyjax.state import merge_state, split_state
from tinyjax.tools import interop, sharding
from tinyjax.tools.exporting import export, load_exported
from tinyjax.tools.predictor import Predictor, compile
from tinyjax.tools.quantization import QuantizationWarning, dequantize, quantize
from tinyjax.tools.serialization import load, read_metadata, save
from tinyjax.tools.summary import Summary, summary

# Public module paths kept from the flat layout of earlier releases: ``import tinyjax.linear``,
# ``from tinyjax.losses import mse``, ``from tinyjax.sharding import make_mesh`` keep working.
for _module in (linear, losses, interop, sharding):
    _sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[-1]}"] = _module

__all__ = [
    "ArtifactError",
    "ConfigError",
    "DTypeError",
    "Dropout",
    "GPT",
    "KeyArgumentError",
    "Lambda",
    "Layer",
    "Linear",
    "MultiHeadAttention",
    "Params",
    "ParamsError",
    "Predictor",
    "Repeat",
    "Sequential",
    "SinusoidalPositionalEncoding",
    "TransformerBlock",
    "ShapeError",
    "Summary",
    "TinyjaxError",
    "WeightsFileError",
    "WeightsMismatchError",
    "__version__",
    "as_layer",
    "compile",
    "count_params",
    "export",
    "gpt",
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
    *_activations.__all__,
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Embedding",
    "Flatten",
    "Identity",
    "LayerNorm",
    "MaxPool2d",
    "PositionalEncoding",
    "RMSNorm",
    "Residual",
    "merge_state",
    "split_state",
    "QuantizationWarning",
    "QuantizedConv2d",
    "QuantizedLinear",
    "QuantizedMultiHeadAttention",
    "QuantizedTransformerBlock",
    "dequantize",
    "quantize",
]
