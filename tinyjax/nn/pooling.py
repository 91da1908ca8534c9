"""MaxPool2d and AvgPool2d over the last two axes of NCHW input, with ``jax.lax.reduce_window``.

Padding follows PyTorch: MaxPool2d pads with -inf (a padded cell never wins), AvgPool2d with
zeros that count in the divisor by default (``count_include_pad=True``, torch's default); with
``count_include_pad=False`` each window is divided by the number of real cells it covers. As in
torch, padding may be at most half the kernel.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, Params, Torch, cached, define, factory
from tinyjax.nn._common import compute_dtype, pair
from tinyjax.nn.conv import check_spatial

__all__ = ["AvgPool2d", "MaxPool2d"]


def _window(x: jax.Array, init: float, op: Any, kernel: tuple[int, int], stride: tuple[int, int], padding: Any) -> Any:
    """``reduce_window`` over the last two axes; ``init`` a Python scalar: JAX then knows the monoid (and its grad)."""
    lead = (1,) * (jnp.ndim(x) - 2)
    pads = [(0, 0)] * (jnp.ndim(x) - 2) + [(p, p) for p in padding]
    return jax.lax.reduce_window(x, init, op, lead + kernel, lead + stride, pads)


def _max_pool(params: Params, x: jax.Array, *, kernel: Any, stride: Any, padding: Any, name: str) -> jax.Array:
    check_spatial(x, None, kernel, padding, name)
    if stride == kernel and padding == (0, 0):
        return _tiled_max(x, kernel)
    return _window(x, -jnp.inf, jax.lax.max, kernel, stride, padding)


def _tiles(x: jax.Array, kernel: tuple[int, int]) -> jax.Array:
    """``x`` (..., H, W) cut into its whole non-overlapping windows: ``(..., H // kh, W // kw, kh * kw)``."""
    (kh, kw), (h, w) = kernel, x.shape[-2:]
    lead = x.shape[:-2]
    tiles = x[..., : h // kh * kh, : w // kw * kw].reshape(*lead, h // kh, kh, w // kw, kw)
    return jnp.swapaxes(tiles, -3, -2).reshape(*lead, h // kh, w // kw, kh * kw)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _tiled_max(x: jax.Array, kernel: tuple[int, int]) -> jax.Array:
    """Max pooling with stride = kernel and no padding, as a reshape and a max.

    Its derivative takes each window's first maximum (torch's choice, and ``reduce_window``'s): XLA:CPU
    differentiates ``reduce_window`` with a window of argmax indices and a scatter, several times
    slower in a training step (docs/performance.md, "Training step").
    """
    return jnp.max(_tiles(x, kernel), axis=-1)


@_tiled_max.defjvp
def _tiled_max_jvp(
    kernel: tuple[int, int], primals: tuple[jax.Array], tangents: tuple[jax.Array]
) -> tuple[jax.Array, jax.Array]:
    (x,), (dx,) = primals, tangents
    tiles = _tiles(x, kernel)
    first = jnp.argmax(tiles, axis=-1)[..., None] == jnp.arange(tiles.shape[-1])
    return jnp.max(tiles, axis=-1), jnp.sum(jnp.where(first, _tiles(dx, kernel), 0), axis=-1)


def _avg_pool(
    params: Params, x: jax.Array, *, kernel: Any, stride: Any, padding: Any, include_pad: bool, name: str
) -> jax.Array:
    check_spatial(x, None, kernel, padding, name)
    dtype, work = compute_dtype(x)
    total = _window(x.astype(work), 0.0, jax.lax.add, kernel, stride, padding)
    if include_pad or padding == (0, 0):
        return (total / math.prod(kernel)).astype(dtype)
    counts = _window(jnp.ones(x.shape[-2:], work), 0.0, jax.lax.add, kernel, stride, padding)
    return (total / counts).astype(dtype)


def _config(kind: str, kernel_size: Any, stride: Any, padding: Any) -> tuple[Any, Any, Any, str]:
    kernel = pair("kernel_size", kernel_size)
    strides = kernel if stride is None else pair("stride", stride)
    pads = pair("padding", padding, 0)
    if any(p > k // 2 for p, k in zip(pads, kernel, strict=True)):
        raise ConfigError(f"{kind}: padding {pads} must be at most half the kernel {kernel} (as in PyTorch)")
    return kernel, strides, pads, f"{kind}(kernel={kernel}, stride={strides}, padding={pads})"


def _reduce_flops(params: Params, x: Any, y: Any, *, kernel: Any, divide: bool) -> int:
    # XLA counts (window size - 1) reductions per output element, padding included; the mean one divide more
    return math.prod(y.shape) * (math.prod(kernel) - 1 + int(divide))


_SHAPES = """
    Shapes:
      params: ``()``. ``apply((), x)``: ``(N, C, H, W)`` (or ``(C, H, W)``), floating ->
      ``(N, C, H_out, W_out)``, ``H_out = (H + 2*ph - kh) // sh + 1``, the same for W.
"""


@factory
@cached
def MaxPool2d(
    kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None, padding: int | tuple[int, int] = 0
) -> Layer:
    kernel, strides, pads, name = _config("MaxPool2d", kernel_size, stride, padding)
    return define(
        name,
        functools.partial(_max_pool, kernel=kernel, stride=strides, padding=pads, name=name),
        doc=f"``apply((), x) -> y``: {name}, the maximum of each window.",
        config={"kernel_size": kernel, "stride": strides, "padding": pads},
        torch=Torch(),
        flops=functools.partial(_reduce_flops, kernel=kernel, divide=False),
        onnx=functools.partial(_onnx, op="MaxPool", kernel=kernel, stride=strides, padding=pads),
    )


@factory
@cached
def AvgPool2d(
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    count_include_pad: bool = True,
) -> Layer:
    kernel, strides, pads, name = _config("AvgPool2d", kernel_size, stride, padding)
    include = bool(count_include_pad)
    if not include:
        name = name[:-1] + ", count_include_pad=False)"
    return define(
        name,
        functools.partial(_avg_pool, kernel=kernel, stride=strides, padding=pads, include_pad=include, name=name),
        doc=f"``apply((), x) -> y``: {name}, the mean of each window.",
        config={"kernel_size": kernel, "stride": strides, "padding": pads, "count_include_pad": include},
        torch=Torch(),
        flops=functools.partial(_reduce_flops, kernel=kernel, divide=True) if include or pads == (0, 0) else None,
        onnx=functools.partial(
            _onnx, op="AveragePool", kernel=kernel, stride=strides, padding=pads, count_include_pad=int(include)
        ),
    )


def _onnx(graph: Any, names: Params, x: str, *, op: str, kernel: Any, stride: Any, padding: Any, **extra: Any) -> str:
    """ONNX ``MaxPool`` (pads with -inf) or ``AveragePool``; pads as (top, left, bottom, right)."""
    return graph.node(op, [x], kernel_shape=list(kernel), strides=list(stride), pads=[*padding, *padding], **extra)


MaxPool2d.__doc__ = (
    """Max pooling over the last two axes, as ``torch.nn.MaxPool2d``; padding counts as -inf.

    Args:
      kernel_size: ``k`` or ``(kh, kw)``.
      stride: ``s`` or ``(sh, sw)``; None (default) takes the kernel size.
      padding: ``p`` or ``(ph, pw)``, at most half the kernel, default 0.
"""
    + _SHAPES
)
AvgPool2d.__doc__ = (
    """Average pooling over the last two axes, as ``torch.nn.AvgPool2d``.

    Args:
      kernel_size: ``k`` or ``(kh, kw)``.
      stride: ``s`` or ``(sh, sw)``; None (default) takes the kernel size.
      padding: zeros added on both sides, ``p`` or ``(ph, pw)``, at most half the kernel, default 0.
      count_include_pad: whether padded zeros count in each window's divisor (default True, as torch).
"""
    + _SHAPES
)
