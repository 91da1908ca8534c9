"""TinyTorch's API (modules 01-07, 09, 11-13 and 17) on tinyjax's functional core: change the imports and it runs.

::

    from tinyjax.oop import Tensor, Linear, ReLU, Sequential, CrossEntropyLoss, SGD

    model = Sequential([Linear(784, 128), ReLU(), Linear(128, 10)])
    loss = CrossEntropyLoss()(model(x), labels)
    loss.backward()                       # fills .grad of every parameter (jax.vjp underneath)
    SGD(model.parameters(), lr=0.1).step()

Every module keeps its parameters as Tensors over the arrays of a functional params pytree and
calls the functional layer's compiled ``apply``; ``model.to_functional()`` and
:func:`from_functional` move weights between the two designs without copying them.
Autograd is a tape of ``jax.vjp`` nodes (:mod:`tinyjax.oop.autograd`): always on, so
:func:`enable_autograd` (TinyTorch's switch) does nothing; ``with no_grad():`` turns recording off
for inference, as in PyTorch.
"""

from tinyjax.oop import constants as _constants
from tinyjax.oop import functions as _functions
from tinyjax.oop._random import manual_seed
from tinyjax.oop.autograd import no_grad
from tinyjax.oop.bridge import from_functional
from tinyjax.oop.constants import *  # noqa: F403  (TinyTorch's module constants, under their names)
from tinyjax.oop.embeddings import Embedding, EmbeddingLayer, PositionalEncoding, create_sinusoidal_embeddings
from tinyjax.oop.functions import *  # noqa: F403  (TinyTorch's backward classes)
from tinyjax.oop.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss, log_softmax
from tinyjax.oop.memoization import KVCache, create_kv_cache, disable_kv_cache, enable_kv_cache
from tinyjax.oop.module import Functional, Module
from tinyjax.oop.modules import GELU, Dropout, Linear, ReLU, Sigmoid, SiLU, Softmax, Tanh
from tinyjax.oop.optim import SGD, Adam, AdamW, Optimizer
from tinyjax.oop.sequential import Sequential
from tinyjax.oop.spatial import AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Flatten, LayerNorm, MaxPool2d, SimpleCNN
from tinyjax.oop.tensor import Tensor
from tinyjax.oop.training import CosineSchedule, Trainer, clip_grad_norm
from tinyjax.oop.transformer import (
    GPT,
    MLP,
    MultiHeadAttention,
    TransformerBlock,
    create_causal_mask,
    scaled_dot_product_attention,
)

Layer = Module  # TinyTorch's name for the base class


def enable_autograd(quiet: bool = True) -> None:
    """TinyTorch's switch that patches Tensor for gradients; here gradients are always recorded."""
    del quiet


__all__ = [
    *_constants.__all__,
    *_functions.__all__,
    "MLP",
    "EmbeddingLayer",
    "SimpleCNN",
    "create_sinusoidal_embeddings",
    "create_kv_cache",
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
    "SGD",
    "Adam",
    "AdamW",
    "BinaryCrossEntropyLoss",
    "CosineSchedule",
    "CrossEntropyLoss",
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
    "Layer",
    "Linear",
    "MSELoss",
    "Module",
    "Optimizer",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Tensor",
    "Trainer",
    "clip_grad_norm",
    "enable_autograd",
    "from_functional",
    "log_softmax",
    "manual_seed",
    "no_grad",
]
