"""tinyjax: the TinyTorch course as pure, jit-compiled JAX functions.

A layer is a pair of pure functions, ``init(key) -> params`` and ``apply(params, x) -> y``::

    import jax, tinyjax as tj

    model = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 10))
    params = model.init(jax.random.key(0))     # ({"weight", "bias"}, (), {"weight", "bias"})
    logits = model.apply(params, x)            # (32, 784) -> (32, 10), one XLA program
"""

from __future__ import annotations

import sys as _sys

from tinyjax import data, initializers, text
from tinyjax._errors import (
    ArtifactError,
    ConfigError,
    DTypeError,
    IndexRangeError,
    KeyArgumentError,
    MissingAttributeError,
    MissingPathError,
    NoisyBenchmarkWarning,
    ParamsError,
    PathError,
    PathIsFolderError,
    PathPermissionError,
    ShapeError,
    TinyjaxError,
    UnsupportedError,
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
from tinyjax.tools import compress, interop, sharding
from tinyjax.tools.benchmarking import BenchmarkResult, Comparison, benchmark, compare
from tinyjax.tools.exporting import export, load_exported
from tinyjax.tools.predictor import Predictor, compile
from tinyjax.tools.profiling import Profile, profile
from tinyjax.tools.quantization import QuantizationWarning, dequantize, quantize
from tinyjax.tools.serialization import load, read_metadata, save
from tinyjax.tools.summary import Summary, summary

# Public module paths kept from the flat layout of earlier releases: ``import tinyjax.linear``,
# ``from tinyjax.losses import mse``, ``from tinyjax.sharding import make_mesh`` keep working.
for _module in (linear, losses, interop, sharding, compress):
    _sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[-1]}"] = _module

__all__ = [
    "BenchmarkResult",
    "Comparison",
    "NoisyBenchmarkWarning",
    "benchmark",
    "compare",
    "ArtifactError",
    "ConfigError",
    "DTypeError",
    "Dropout",
    "GPT",
    "IndexRangeError",
    "KeyArgumentError",
    "MissingPathError",
    "Lambda",
    "Layer",
    "Linear",
    "MultiHeadAttention",
    "Params",
    "MissingAttributeError",
    "ParamsError",
    "PathError",
    "PathIsFolderError",
    "PathPermissionError",
    "Predictor",
    "Profile",
    "Repeat",
    "Sequential",
    "SinusoidalPositionalEncoding",
    "TransformerBlock",
    "ShapeError",
    "Summary",
    "TinyjaxError",
    "UnsupportedError",
    "WeightsFileError",
    "WeightsMismatchError",
    "__version__",
    "as_layer",
    "compile",
    "compress",
    "count_params",
    "data",
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
    "profile",
    "read_metadata",
    "save",
    "sharding",
    "summary",
    "text",
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
