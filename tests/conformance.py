"""The conformance table: one row per public layer, driving every generic property in test_conformance.py.

Adding a layer means adding its row here (docs/architecture.md, "Adding a layer"). A row is a
small instance, an input shape (and dtype: integer indices for an Embedding), the output shape it
must give, an input shape it must refuse (None where every shape is accepted) and an input dtype it
must refuse (None where every dtype is: Flatten, Identity, Lambda). What torch module it matches
the layer says itself (``layer.torch``); the tests build it from that description and compare
outputs, so a wrong description fails. Facts the properties need that are not the layer's own
description are fields of the row, each with its reason: no torch counterpart (``no_torch``),
how torch's module is called (``torch_call``), a layer that refuses no input
(``accepts_any_input``), a block run in a loop whose body XLA counts once (``loop``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import tinyjax as tj


def _attention_call(module: Any, x: Any, mask: Any) -> Any:
    """torch's attention takes query, key and value (``x`` three times) and returns ``(y, weights)``."""
    return module(x, x, x, attn_mask=mask, need_weights=False)[0]


def _encoder_call(module: Any, x: Any, mask: Any) -> Any:
    return module(x, src_mask=mask, is_causal=mask is not None)


@dataclasses.dataclass(frozen=True)
class Row:
    factory: str  # the name in tinyjax's namespace: the closed-world test checks every factory has a row
    layer: tj.Layer
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    bad_shape: tuple[int, ...] | None = None
    refuses: Any = jnp.int32  # an input dtype refused with DTypeError; None: any dtype (Lambda, Flatten, Identity)
    input_dtype: Any = jnp.float32  # Embedding takes integer indices (drawn in [0, vocab))
    # int8 layers: why float64 finite differences cannot check the gradient (rounding is piecewise constant);
    # the gradient is then checked against the dequantized float layer's (the straight-through one)
    straight_through: str | None = None
    # int8 layers whose ONNX graph quantizes the input by ONNX Runtime's scheme (one asymmetric uint8 scale per
    # tensor, not one symmetric scale per row): the largest difference allowed, a few quantization steps
    onnx_atol: float | None = None
    accepts_any_input: str | None = None  # why a row refuses no input at all (neither bad_shape nor refuses)
    no_torch: str | None = None  # why the layer has no torch counterpart (None: the oracle test must run)
    torch_call: Callable[[Any, Any, Any], Any] | None = None  # ``call(module, x, causal_mask)``; None: ``module(x)``
    loop: bool = False  # the layer runs its block in a lax.scan, whose body XLA counts once

    @property
    def id(self) -> str:
        return self.layer.name


INT8 = "int8 rounding is piecewise constant: finite differences see steps, not the straight-through gradient"
INT8_NO_TORCH = "torch.nn has no int8 layer of this scheme (its quantized modules keep another)"

TABLE = (
    Row("Linear", tj.Linear(5, 3), (4, 5), (4, 3), bad_shape=(4, 6)),
    Row("Linear", tj.Linear(5, 3, bias=False), (2, 3, 5), (2, 3, 3), bad_shape=(5, 4)),
    Row("ReLU", tj.ReLU(), (4, 5), (4, 5)),
    Row("LeakyReLU", tj.LeakyReLU(), (4, 5), (4, 5)),
    Row("LeakyReLU", tj.LeakyReLU(0.2), (2, 3, 4), (2, 3, 4)),
    Row("Sigmoid", tj.Sigmoid(), (4, 5), (4, 5)),
    Row("Tanh", tj.Tanh(), (4, 5), (4, 5)),
    Row("SiLU", tj.SiLU(), (4, 5), (4, 5)),
    Row("GELU", tj.GELU(), (4, 5), (4, 5)),
    Row("GELU", tj.GELU(approximate=True), (4, 5), (4, 5)),
    Row("Softmax", tj.Softmax(), (4, 5), (4, 5)),
    Row("Softmax", tj.Softmax(axis=0), (4, 5), (4, 5), bad_shape=()),
    Row("Dropout", tj.Dropout(0.25), (4, 5), (4, 5)),
    Row(
        "Lambda",
        tj.Lambda(jax.nn.silu),
        (4, 5),
        (4, 5),
        refuses=None,
        accepts_any_input="a Lambda knows nothing of its function's shapes and dtypes",
        no_torch="a user's function",
    ),
    Row(
        "Sequential",
        tj.Sequential(tj.Linear(5, 8), tj.GELU(), tj.Dropout(0.1), tj.Linear(8, 3)),
        (4, 5),
        (4, 3),
        (4, 6),
    ),
    Row(
        "MultiHeadAttention",
        tj.MultiHeadAttention(8, 2),
        (2, 5, 8),
        (2, 5, 8),
        bad_shape=(2, 5, 6),
        torch_call=_attention_call,
    ),
    Row(
        "MultiHeadAttention",
        tj.MultiHeadAttention(6, 3, bias=False, causal=True),
        (3, 4, 6),
        (3, 4, 6),
        bad_shape=(6,),
        torch_call=_attention_call,
    ),
    Row(
        "TransformerBlock",
        tj.TransformerBlock(8, 2, causal=False),
        (2, 5, 8),
        (2, 5, 8),
        bad_shape=(2, 5, 6),
        torch_call=_encoder_call,
    ),
    Row(
        "TransformerBlock",
        tj.TransformerBlock(8, 4, mlp_ratio=2, dropout=0.1),
        (2, 3, 8),
        (2, 3, 8),
        bad_shape=(8,),
        torch_call=_encoder_call,
    ),
    Row(
        "SinusoidalPositionalEncoding",
        tj.SinusoidalPositionalEncoding(6, 4),
        (2, 5, 4),
        (2, 5, 4),
        bad_shape=(2, 7, 4),
        no_torch="torch.nn has no positional encoding",
    ),
    Row(
        "Repeat",
        tj.Repeat(tj.Sequential(tj.Linear(5, 5), tj.Tanh()), 3),
        (4, 5),
        (4, 5),
        bad_shape=(4, 6),
        no_torch="torch.nn has no Repeat",
        loop=True,
    ),
    Row("LayerNorm", tj.LayerNorm(5), (4, 5), (4, 5), bad_shape=(4, 6)),
    Row("LayerNorm", tj.LayerNorm((3, 5), eps=1e-3, elementwise_affine=False), (2, 3, 5), (2, 3, 5), bad_shape=(3, 4)),
    Row("RMSNorm", tj.RMSNorm(5), (4, 5), (4, 5), bad_shape=(4, 6)),
    Row("RMSNorm", tj.RMSNorm((3, 5), eps=1e-6), (2, 3, 5), (2, 3, 5), bad_shape=(2, 5, 3)),
    Row("Embedding", tj.Embedding(7, 4), (3, 5), (3, 5, 4), refuses=jnp.float32, input_dtype=jnp.int32),
    Row(
        "PositionalEncoding",
        tj.PositionalEncoding(6, 4),
        (2, 5, 4),
        (2, 5, 4),
        bad_shape=(2, 7, 4),
        no_torch="torch.nn has no learned positional encoding",
    ),
    Row("Flatten", tj.Flatten(), (2, 3, 4), (2, 12), bad_shape=(4,), refuses=None),
    Row("Flatten", tj.Flatten(0, -2), (2, 3, 4), (6, 4), bad_shape=(4,), refuses=None),
    Row("Identity", tj.Identity(), (4, 5), (4, 5), refuses=None, accepts_any_input="the identity takes anything"),
    Row(
        "Residual",
        tj.Residual(tj.Sequential(tj.Linear(5, 5), tj.Tanh())),
        (4, 5),
        (4, 5),
        bad_shape=(4, 6),
        no_torch="torch.nn has no Residual",
    ),
    Row("Conv2d", tj.Conv2d(3, 4, 3), (2, 3, 6, 5), (2, 4, 4, 3), bad_shape=(2, 2, 6, 5)),
    Row("Conv2d", tj.Conv2d(2, 3, (3, 2), stride=2, padding=1, bias=False), (2, 2, 5, 4), (2, 3, 3, 3), (2, 3, 5, 4)),
    Row("MaxPool2d", tj.MaxPool2d(2), (2, 3, 6, 5), (2, 3, 3, 2), bad_shape=(6, 5)),
    Row("MaxPool2d", tj.MaxPool2d(3, stride=2, padding=1), (2, 3, 6, 5), (2, 3, 3, 3), bad_shape=(6, 5)),
    Row("AvgPool2d", tj.AvgPool2d(2), (2, 3, 6, 5), (2, 3, 3, 2), bad_shape=(6, 5)),
    Row("AvgPool2d", tj.AvgPool2d(3, stride=2, padding=1), (2, 3, 6, 5), (2, 3, 3, 3), bad_shape=(6, 5)),
    Row(
        "AvgPool2d",
        tj.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        (2, 3, 4, 5),
        (2, 3, 4, 5),
        bad_shape=(6, 5),
    ),
    Row("BatchNorm1d", tj.BatchNorm1d(5), (4, 5), (4, 5), bad_shape=(4, 6)),
    Row("BatchNorm1d", tj.BatchNorm1d(3, momentum=None), (4, 3), (4, 3), bad_shape=(4, 5, 3)),
    Row("BatchNorm2d", tj.BatchNorm2d(3), (2, 3, 4, 5), (2, 3, 4, 5), bad_shape=(2, 4, 4, 5)),
    # Flatten(-3) flattens (C, H, W) with or without the batch axis, so vmap over examples sees the same model.
    # LayerNorm, RMSNorm and Embedding are not in this chain: XLA counts their FLOPs differently alone and inside a
    # larger program (tests/test_layers_torch.py runs them in a Sequential against torch instead).
    Row(
        "Sequential",
        tj.Sequential(
            tj.Conv2d(3, 4, 3, padding=1),
            tj.BatchNorm2d(4),
            tj.ReLU(),
            tj.MaxPool2d(2),
            tj.Flatten(-3),
            tj.Linear(24, 6),
            tj.Identity(),
        ),
        (2, 3, 4, 6),
        (2, 6),
        bad_shape=(2, 2, 4, 6),
    ),
    Row(
        "QuantizedLinear",
        tj.QuantizedLinear(5, 3),
        (4, 5),
        (4, 3),
        bad_shape=(4, 6),
        straight_through=INT8,
        no_torch=INT8_NO_TORCH,
        onnx_atol=0.1,
    ),
    # one row per distinct path: activations dynamic / static / weight-only (the attention rows), per channel or
    # per tensor, with or without bias, for each int8 map (dot, convolution, the attention's projections)
    Row(
        "QuantizedLinear",
        tj.QuantizedLinear(5, 3, bias=False, per_channel=False, activations="static"),
        (2, 3, 5),
        (2, 3, 3),
        bad_shape=(5, 4),
        straight_through=INT8,
        no_torch=INT8_NO_TORCH,
    ),
    Row(
        "QuantizedConv2d",
        tj.QuantizedConv2d(3, 4, 3),
        (2, 3, 6, 5),
        (2, 4, 4, 3),
        bad_shape=(2, 2, 6, 5),
        straight_through=INT8,
        no_torch=INT8_NO_TORCH,
        onnx_atol=0.1,
    ),
    Row(
        "QuantizedConv2d",
        tj.QuantizedConv2d(2, 3, (3, 2), stride=2, padding=1, bias=False, per_channel=False, activations=None),
        (2, 2, 5, 4),
        (2, 3, 3, 3),
        bad_shape=(2, 3, 5, 4),
        straight_through=INT8,
        no_torch=INT8_NO_TORCH,
    ),
    # attention and blocks weight-only: their softmax is nonlinear, so with int8 activations the float layer's
    # gradient is taken at other points; the dynamic path is the Linear rows' map, run on a GPT in test_quantization
    Row(
        "QuantizedMultiHeadAttention",
        tj.QuantizedMultiHeadAttention(8, 2, causal=True, activations=None),
        (2, 5, 8),
        (2, 5, 8),
        bad_shape=(2, 5, 6),
        straight_through=INT8,
        no_torch=INT8_NO_TORCH,
    ),
    Row(
        "QuantizedTransformerBlock",
        tj.QuantizedTransformerBlock(8, 2, mlp_ratio=2, per_channel=False, activations=None),
        (2, 3, 8),
        (2, 3, 8),
        bad_shape=(2, 3, 6),
        straight_through=INT8,
        no_torch=INT8_NO_TORCH,
    ),
)
