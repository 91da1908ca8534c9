"""TinyTorch's API (its twenty modules) on tinyjax's functional core: change the imports and it runs.

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
from tinyjax.oop.acceleration import col2im, fused_gelu, im2col, tiled_matmul, unfused_gelu, vectorized_matmul
from tinyjax.oop.autograd import no_grad
from tinyjax.oop.benchmarking import (
    Benchmark,
    BenchmarkReport,
    BenchmarkResult,
    BenchmarkSuite,
    TinyMLPerf,
    generate_submission,
    precise_timer,
    save_submission,
    validate_submission_schema,
)
from tinyjax.oop.bridge import from_functional
from tinyjax.oop.compression import (
    Compressor,
    KnowledgeDistillation,
    compress_model,
    low_rank_approximate,
    magnitude_prune,
    measure_sparsity,
    structured_prune,
)
from tinyjax.oop.constants import *  # noqa: F403  (TinyTorch's module constants, under their names)
from tinyjax.oop.data import Compose, DataLoader, Dataset, RandomCrop, RandomHorizontalFlip, TensorDataset
from tinyjax.oop.embeddings import Embedding, EmbeddingLayer, PositionalEncoding, create_sinusoidal_embeddings
from tinyjax.oop.functions import *  # noqa: F403  (TinyTorch's backward classes)
from tinyjax.oop.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss, log_softmax
from tinyjax.oop.memoization import KVCache, create_kv_cache, disable_kv_cache, enable_kv_cache
from tinyjax.oop.module import Functional, Module
from tinyjax.oop.modules import GELU, Dropout, Linear, ReLU, Sigmoid, SiLU, Softmax, Tanh
from tinyjax.oop.optim import SGD, Adam, AdamW, Optimizer
from tinyjax.oop.profiling import Profiler, analyze_weight_distribution, quick_profile
from tinyjax.oop.quantization import (
    QuantizedLinear,
    Quantizer,
    analyze_model_sizes,
    compare_model_sizes,
    dequantize_int8,
    quantize_int8,
    quantize_model,
)
from tinyjax.oop.sequential import Sequential
from tinyjax.oop.spatial import AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Flatten, LayerNorm, MaxPool2d, SimpleCNN
from tinyjax.oop.tensor import Tensor
from tinyjax.oop.text import (
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    analyze_tokenization,
    create_tokenizer,
    tokenize_dataset,
)
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
    # 01-07: tensor, activations, layers, losses, autograd, optimizers, training
    "Adam",
    "AdamW",
    "BinaryCrossEntropyLoss",
    "CosineSchedule",
    "CrossEntropyLoss",
    "Dropout",
    "Functional",
    "GELU",
    "Layer",
    "Linear",
    "MSELoss",
    "Module",
    "Optimizer",
    "ReLU",
    "SGD",
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
    # 08 data loading, 10 tokenization
    "BPETokenizer",
    "CharTokenizer",
    "Compose",
    "DataLoader",
    "Dataset",
    "RandomCrop",
    "RandomHorizontalFlip",
    "TensorDataset",
    "Tokenizer",
    "analyze_tokenization",
    "create_tokenizer",
    "tokenize_dataset",
    # 09 spatial, 11 embeddings, 12 attention, 13 transformers, 17 memoization
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Embedding",
    "EmbeddingLayer",
    "Flatten",
    "GPT",
    "KVCache",
    "LayerNorm",
    "MLP",
    "MaxPool2d",
    "MultiHeadAttention",
    "PositionalEncoding",
    "SimpleCNN",
    "TransformerBlock",
    "create_causal_mask",
    "create_kv_cache",
    "create_sinusoidal_embeddings",
    "disable_kv_cache",
    "enable_kv_cache",
    "scaled_dot_product_attention",
    # 14 profiling, 19 benchmarking, 20 capstone
    "Benchmark",
    "BenchmarkReport",
    "BenchmarkResult",
    "BenchmarkSuite",
    "Profiler",
    "TinyMLPerf",
    "analyze_weight_distribution",
    "generate_submission",
    "precise_timer",
    "quick_profile",
    "save_submission",
    "validate_submission_schema",
    # 15 quantization
    "QuantizedLinear",
    "Quantizer",
    "analyze_model_sizes",
    "compare_model_sizes",
    "dequantize_int8",
    "quantize_int8",
    "quantize_model",
    # 16 compression, 18 acceleration
    "Compressor",
    "KnowledgeDistillation",
    "col2im",
    "compress_model",
    "fused_gelu",
    "im2col",
    "low_rank_approximate",
    "magnitude_prune",
    "measure_sparsity",
    "structured_prune",
    "tiled_matmul",
    "unfused_gelu",
    "vectorized_matmul",
]
