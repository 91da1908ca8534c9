"""TinyTorch's API (``Linear(784, 128).forward(x)``, ``model.parameters()``) on tinyjax's functional core.

Change the imports of TinyTorch module-03 code and it runs here::

    from tinyjax.oop import Linear, ReLU, Sequential, Tensor

Every module keeps its parameters as Tensors over the arrays of a functional params pytree and
calls the functional layer's compiled ``apply``; ``model.to_functional()`` and
:func:`from_functional` move weights between the two designs without copying them.
"""

from tinyjax.oop._random import manual_seed
from tinyjax.oop.bridge import from_functional
from tinyjax.oop.embeddings import Embedding, PositionalEncoding
from tinyjax.oop.memoization import KVCache, disable_kv_cache, enable_kv_cache
from tinyjax.oop.modules import GELU, Dropout, Functional, Linear, Module, ReLU, Sigmoid, Softmax, Tanh
from tinyjax.oop.sequential import Sequential
from tinyjax.oop.spatial import AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Flatten, LayerNorm, MaxPool2d
from tinyjax.oop.tensor import Tensor
from tinyjax.oop.transformer import (
    GPT,
    MultiHeadAttention,
    TransformerBlock,
    create_causal_mask,
    scaled_dot_product_attention,
)

__all__ = [
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Embedding",
    "Flatten",
    "LayerNorm",
    "MaxPool2d",
    "PositionalEncoding",
    "GELU",
    "GPT",
    "KVCache",
    "MultiHeadAttention",
    "TransformerBlock",
    "create_causal_mask",
    "disable_kv_cache",
    "scaled_dot_product_attention",
    "enable_kv_cache",
    "Dropout",
    "Functional",
    "Linear",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Tensor",
    "from_functional",
    "manual_seed",
]
