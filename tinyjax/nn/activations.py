"""Activations: parameter-free layers over ``jax.nn``'s functions, one helper for all of them.

Each factory returns a :class:`~tinyjax.Layer` whose ``init(key)`` returns ``()`` and whose
``apply(params, x)`` maps ``(...)`` to the same shape and dtype. Adding one is one factory here
and one row in the conformance table (docs/architecture.md, "Adding a layer").
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._checks import check_float_input
from tinyjax._errors import ConfigError, ShapeError
from tinyjax.layer import Layer, OnnxFn, Params, Torch, cached, define, factory

# the activations tinyjax exports (tj.ReLU ...)
__all__ = ["GELU", "LeakyReLU", "ReLU", "SiLU", "Sigmoid", "Softmax", "Tanh"]


def elementwise(
    kind: str,
    fn: Callable[[jax.Array], jax.Array],
    *,
    flops_per_element: int | None,
    torch: Torch | None = None,
    axis: int | None = None,
    onnx: OnnxFn | None = None,
    **config: Any,
) -> Layer:
    """A parameter-free layer applying ``fn`` (a ``jax.nn`` function, say) to a floating input.

    ``kind`` names the layer (``"ReLU"``) and, by default, its ``torch.nn`` module;
    ``config`` are its options, shown in its name (``GELU(approximate=True)``). ``axis``: the input
    must have this axis (Softmax). ``flops_per_element``: its cost, counted as XLA counts (an add, a
    multiply, a max, a divide: one each; ``exp``, ``tanh``: transcendentals, not FLOPs); None where
    the count depends on how the backend expands ``fn`` (erf, reductions): tools then ask XLA.
    ``onnx``: its ONNX nodes (:func:`onnx_op` for one operator); None: ONNX export refuses it.
    """
    settings = {"axis": axis, **config} if axis is not None else config
    name = f"{kind}({', '.join(f'{k}={v}' for k, v in settings.items())})"

    def apply(params: Params, x: jax.Array) -> jax.Array:
        check_float_input(x, name)
        if axis is not None and not -jnp.ndim(x) <= axis < jnp.ndim(x):
            raise ShapeError(name, f"an input with axis {axis}", tuple(jnp.shape(x)))
        return fn(x)

    return define(
        name,
        apply,
        doc=f"``apply((), x) -> y``: {name} of ``x`` (any shape, floating dtype); ``y`` has its shape and dtype.",
        config=settings,
        torch=torch or Torch(),
        flops=None if flops_per_element is None else _per_element(flops_per_element),
        onnx=onnx,
    )


def _per_element(count: int) -> Callable[[Params, jax.ShapeDtypeStruct, jax.ShapeDtypeStruct], int]:
    def flops(params: Params, x: jax.ShapeDtypeStruct, y: jax.ShapeDtypeStruct) -> int:
        return count * math.prod(y.shape)

    return flops


@factory
@cached
def ReLU() -> Layer:
    """ReLU layer: ``max(x, 0)`` elementwise; shape and dtype preserved; no params."""
    return elementwise("ReLU", jax.nn.relu, flops_per_element=1, onnx=onnx_op("Relu"))  # max(x, 0)


@factory
@cached
def LeakyReLU(negative_slope: float = 0.01) -> Layer:
    """Leaky ReLU layer, as ``torch.nn.LeakyReLU``: ``x`` where ``x >= 0``, else ``negative_slope * x``; no params."""
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise ConfigError(f"LeakyReLU negative_slope must be a number, got {negative_slope!r}")
    slope = float(negative_slope)
    return elementwise(
        "LeakyReLU",
        lambda x: jax.nn.leaky_relu(x, slope),
        flops_per_element=None,  # a compare, a multiply and a select: XLA's count
        negative_slope=slope,
        onnx=onnx_op("LeakyRelu", alpha=slope),
    )


@factory
@cached
def Sigmoid() -> Layer:
    """Sigmoid layer: ``1 / (1 + exp(-x))`` elementwise, stable for large ``|x|``; no params."""
    return elementwise("Sigmoid", jax.nn.sigmoid, flops_per_element=3, onnx=onnx_op("Sigmoid"))  # 1 / (1 + exp(-x))


@factory
@cached
def SiLU() -> Layer:
    """SiLU (swish) layer: ``x * sigmoid(x)`` elementwise; shape and dtype preserved; no params."""
    return elementwise("SiLU", jax.nn.silu, flops_per_element=4, onnx=_silu_onnx)  # x * 1 / (1 + exp(-x))


@factory
@cached
def Tanh() -> Layer:
    """Tanh layer: the hyperbolic tangent elementwise; shape and dtype preserved; no params."""
    return elementwise("Tanh", jnp.tanh, flops_per_element=0, onnx=onnx_op("Tanh"))  # one transcendental


@jax.custom_jvp
def gelu_exact(x: jax.Array) -> jax.Array:
    """``x * Phi(x)``, the exact GELU, in PyTorch's ``erf`` form: ``x * 0.5 * (1 + erf(x / sqrt(2)))``.

    The ``erf`` form, not ``jax.nn.gelu(x, approximate=False)``'s ``erfc``: the same values to float32
    rounding (below about -5, where ``Phi(x) < 3e-7``, both are within 1e-6 of zero), and a shorter
    expansion for XLA to evaluate in the forward pass and again in the backward. The derivative
    ``Phi(x) + x * phi(x)`` is written out, reusing the forward's ``erf``.
    """
    return x * _normal_cdf(x)  # halving is exact: the same bits as torch's x * 0.5 * (1 + erf)


def _erf(z: jax.Array) -> jax.Array:
    """``erf(z)``, exactly +-1 where float32 rounds it there (``|z| >= 3.92``) for 32-bit and narrower inputs.

    jax 0.8's float32 ``erf`` levels off at ``1 - 1.8e-7`` instead, and ``x * (1 + erf)`` would carry
    that residue times ``|x|`` into GELU's far negative tail (1e-6 at ``x = -12``, where GELU is 0).
    """
    if jnp.finfo(z.dtype).bits > 32:
        return jax.lax.erf(z)
    return jnp.where(jnp.abs(z) < 3.92, jax.lax.erf(z), jnp.sign(z))


def _normal_cdf(x: jax.Array) -> jax.Array:
    return 0.5 * (1 + _erf(x * np.sqrt(0.5).astype(x.dtype)))


@gelu_exact.defjvp
def _gelu_exact_jvp(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
    (x,), (dx,) = primals, tangents
    cdf = _normal_cdf(x)
    density = jnp.exp(-0.5 * x * x) * np.sqrt(0.5 / np.pi).astype(x.dtype)
    return x * cdf, dx * (cdf + x * density)


@factory
@cached
def GELU(approximate: bool = False) -> Layer:
    """GELU layer: ``x * Phi(x)``, the exact erf form, or the tanh approximation if ``approximate``; no params."""
    if approximate in ("none", "tanh"):  # torch.nn.GELU's spelling
        approximate = approximate == "tanh"
    if not isinstance(approximate, bool):
        raise ConfigError(f"GELU approximate must be True, False, 'none' or 'tanh' (torch's), got {approximate!r}")
    approximate = bool(approximate)
    return elementwise(
        "GELU",
        functools.partial(jax.nn.gelu, approximate=True) if approximate else gelu_exact,
        # tanh form: x^3 (2), * 0.044715, + x, * sqrt(2/pi), + 1, * 0.5, * x; the erf form: XLA's expansion
        flops_per_element=8 if approximate else None,
        torch=Torch({"approximate": "tanh" if approximate else "none"}),
        approximate=approximate,
        onnx=onnx_op("Gelu", approximate="tanh" if approximate else "none"),
    )


@factory
@cached
def Softmax(axis: int = -1) -> Layer:
    """Softmax layer along ``axis``: ``exp(x) / sum(exp(x))``, the max subtracted first (no overflow); no params."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ConfigError(f"Softmax axis must be an int, got {axis!r}")
    return elementwise(
        "Softmax",
        lambda x: jax.nn.softmax(x, axis=axis),
        flops_per_element=None,  # reductions: XLA's count
        torch=Torch({"dim": axis}),
        axis=axis,
        onnx=onnx_op("Softmax", axis=axis),
    )


def _silu_onnx(graph: Any, names: Params, x: str) -> str:
    return graph.node("Mul", [x, graph.node("Sigmoid", [x])])


def onnx_op(op: str, **attributes: Any) -> OnnxFn:
    """The ONNX mapping of a layer that is one ONNX operator on its input (``Relu``, ``Softmax(axis=-1)``)."""

    def onnx(graph: Any, names: Params, x: str) -> str:
        return graph.node(op, [x], **attributes)

    return onnx
