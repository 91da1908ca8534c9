"""The conformance table: one row per public layer, driving every generic property in test_conformance.py.

Adding a layer means adding its row here (docs/architecture.md, "Adding a layer"). A row is a
small instance, an input shape, the output shape it must give, and an input shape it must refuse
(None where every shape of a floating input is accepted). Whether a torch counterpart exists, and
what it is, the layer says itself (``layer.torch``); the tests build it from that description and
compare outputs, so a wrong description fails.
"""

from __future__ import annotations

import dataclasses

import jax

import tinyjax as tj


@dataclasses.dataclass(frozen=True)
class Row:
    factory: str  # the name in tinyjax's namespace: the closed-world test checks every factory has a row
    layer: tj.Layer
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    bad_shape: tuple[int, ...] | None = None
    floating_only: bool = True  # integer input refused with DTypeError (a Lambda knows nothing of its function)

    @property
    def id(self) -> str:
        return self.layer.name


TABLE = (
    Row("Linear", tj.Linear(5, 3), (4, 5), (4, 3), bad_shape=(4, 6)),
    Row("Linear", tj.Linear(5, 3, bias=False), (2, 3, 5), (2, 3, 3), bad_shape=(5, 4)),
    Row("ReLU", tj.ReLU(), (4, 5), (4, 5)),
    Row("Sigmoid", tj.Sigmoid(), (4, 5), (4, 5)),
    Row("Tanh", tj.Tanh(), (4, 5), (4, 5)),
    Row("SiLU", tj.SiLU(), (4, 5), (4, 5)),
    Row("GELU", tj.GELU(), (4, 5), (4, 5)),
    Row("GELU", tj.GELU(approximate=True), (4, 5), (4, 5)),
    Row("Softmax", tj.Softmax(), (4, 5), (4, 5)),
    Row("Softmax", tj.Softmax(axis=0), (4, 5), (4, 5), bad_shape=()),
    Row("Dropout", tj.Dropout(0.25), (4, 5), (4, 5)),
    Row("Lambda", tj.Lambda(jax.nn.silu), (4, 5), (4, 5), floating_only=False),
    Row(
        "Sequential",
        tj.Sequential(tj.Linear(5, 8), tj.GELU(), tj.Dropout(0.1), tj.Linear(8, 3)),
        (4, 5),
        (4, 3),
        (4, 6),
    ),
    Row("MultiHeadAttention", tj.MultiHeadAttention(8, 2), (2, 5, 8), (2, 5, 8), bad_shape=(2, 5, 6)),
    Row(
        "MultiHeadAttention", tj.MultiHeadAttention(6, 3, bias=False, causal=True), (3, 4, 6), (3, 4, 6), bad_shape=(6,)
    ),
    Row("TransformerBlock", tj.TransformerBlock(8, 2, causal=False), (2, 5, 8), (2, 5, 8), bad_shape=(2, 5, 6)),
    Row("TransformerBlock", tj.TransformerBlock(8, 4, mlp_ratio=2, dropout=0.1), (2, 3, 8), (2, 3, 8), bad_shape=(8,)),
    Row(
        "SinusoidalPositionalEncoding", tj.SinusoidalPositionalEncoding(6, 4), (2, 5, 4), (2, 5, 4), bad_shape=(2, 7, 4)
    ),
    Row("Repeat", tj.Repeat(tj.Sequential(tj.Linear(5, 5), tj.Tanh()), 3), (4, 5), (4, 5), bad_shape=(4, 6)),
)
