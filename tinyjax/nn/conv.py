"""Conv2d on NCHW input with an OIHW weight ``(out, in, kh, kw)``, as TinyTorch and PyTorch store them.

The convolution is ``jax.lax.conv_general_dilated`` with ``dimension_numbers=("NCHW", "OIHW",
"NCHW")``. These name the logical axes, not the memory order: XLA's layout assignment chooses the
physical layout of each operand for its backend's kernel, inserting transposes where the kernel
wants the channels minor. tinyjax keeps PyTorch's NCHW so that weights and inputs move to and from
torch unchanged (what the layout costs: docs/performance.md, "Figures behind the layers").
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from tinyjax._checks import check_features, check_float_input
from tinyjax._errors import ShapeError
from tinyjax.initializers import uniform
from tinyjax.layer import Layer, Param, Params, Torch, cached, define, factory
from tinyjax.nn._common import compute_dtype, pair

__all__ = ["Conv2d", "conv_output_size"]


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of one spatial axis: ``floor((size + 2 * padding - kernel) / stride) + 1`` (PyTorch's)."""
    return (size + 2 * padding - kernel) // stride + 1


def check_spatial(x: Any, channels: int | None, kernel: tuple[int, int], padding: tuple[int, int], layer: str) -> None:
    """Raise unless ``x`` is floating ``(N, C, H, W)`` or ``(C, H, W)`` with ``channels`` (if given), kernel-wide."""
    check_float_input(x, layer)
    shape = tuple(jnp.shape(x))
    c = "C" if channels is None else channels
    if len(shape) not in (3, 4) or (channels is not None and shape[-3] != channels):
        raise ShapeError(layer, f"(N, {c}, H, W) or ({c}, H, W)", shape)
    if any(shape[-2 + i] + 2 * padding[i] < kernel[i] for i in range(2)):
        raise ShapeError(layer, f"(..., H, W) with H + 2*padding >= {kernel[0]}, W + 2*padding >= {kernel[1]}", shape)


def _conv2d(
    params: Params,
    x: jax.Array,
    *,
    precision: Any = None,
    shape: tuple[int, int, int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    name: str,
) -> jax.Array:
    check_spatial(x, shape[1], shape[2:], padding, name)
    dtype, work = compute_dtype(x, *params.values())
    batched, weight = (x if jnp.ndim(x) == 4 else x[None]).astype(dtype), params["weight"].astype(dtype)
    if dtype == work and jax.default_backend() == "cpu":
        y = _convolve(batched, weight, stride, padding, precision)
    else:
        y = _xla_conv(batched, weight, stride, padding, precision, work)
    if "bias" in params:
        y = y + params["bias"].astype(work)[:, None, None]
    return (y if jnp.ndim(x) == 4 else y[0]).astype(dtype)


def _xla_conv(
    x: jax.Array, w: jax.Array, stride: tuple[int, int], padding: tuple[int, int], precision: Any, work: Any = None
) -> jax.Array:
    """XLA's convolution of NCHW ``x`` by OIHW ``w``; ``work``: the accumulation dtype (bf16 / f16: float32)."""
    return jax.lax.conv_general_dilated(
        x, w, stride, [(p, p) for p in padding], dimension_numbers=("NCHW", "OIHW", "NCHW"), precision=precision,
        preferred_element_type=work,
    )  # fmt: skip


def _patches(x: jax.Array, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]) -> jax.Array:
    """Every output position's receptive field: ``(N, C, H, W)`` -> ``(N, Ho, Wo, kh * kw * C)``, tap-major."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = (conv_output_size(x.shape[2 + i], kernel[i], stride[i], padding[i]) for i in range(2))
    nhwc = jnp.pad(jnp.transpose(x, (0, 2, 3, 1)), ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    rows, cols = (ho - 1) * sh + 1, (wo - 1) * sw + 1
    taps = [nhwc[:, i : i + rows : sh, j : j + cols : sw, :] for i in range(kh) for j in range(kw)]
    return jnp.concatenate(taps, axis=-1)


def _times(patches: jax.Array, w: jax.Array, precision: Any) -> jax.Array:
    """``(N, Ho, Wo, K) x (O, C, kh, kw)`` -> ``(N, O, Ho, Wo)``: the patches times the weight as one matmul."""
    n, ho, wo, taps = patches.shape
    matrix = jnp.transpose(w, (2, 3, 1, 0)).reshape(taps, w.shape[0])  # rows in the patches' (i, j, c) order
    y = jnp.matmul(patches.reshape(n * ho * wo, taps), matrix, precision=precision)
    return jnp.transpose(y.reshape(n, ho, wo, w.shape[0]), (0, 3, 1, 2))


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4))
def _convolve(
    x: jax.Array, w: jax.Array, stride: tuple[int, int], padding: tuple[int, int], precision: Any
) -> jax.Array:
    """The float convolution on CPU: XLA's own, with its derivatives as matmuls over the patches.

    XLA:CPU's convolution is the faster forward pass, but its derivatives (the weight gradient as a
    convolution over the batch, the input gradient as a transposed one) are slower than the same
    products written as matmuls over the patches (docs/performance.md). The value is always XLA's
    convolution, so a differentiated call gives the same numbers as a plain one; only the tangents
    go through the patches. A JVP rule, not a VJP one, so that forward mode still works; reverse mode
    transposes its products into ``patches^T @ dy`` for the weight and a sum of shifted slices for the input.
    """
    return _xla_conv(x, w, stride, padding, precision)


def _convolve_jvp(
    stride: tuple[int, int], padding: tuple[int, int], precision: Any, primals: tuple, tangents: tuple
) -> tuple[jax.Array, jax.Array]:
    x, w = primals
    dx, dw = tangents
    kernel = w.shape[2:]
    y = _xla_conv(x, w, stride, padding, precision)
    terms = []
    if not isinstance(dx, SymbolicZero):  # the network's input is not differentiated: no product for it
        terms.append(_times(_patches(dx, kernel, stride, padding), w, precision))
    if not isinstance(dw, SymbolicZero):
        terms.append(_times(_patches(x, kernel, stride, padding), dw, precision))
    return y, functools.reduce(jnp.add, terms) if terms else jnp.zeros_like(y)


_convolve.defjvp(_convolve_jvp, symbolic_zeros=True)


def _taps(size: int, kernel: int, stride: int, padding: int) -> int:
    """How many (output position, kernel tap) pairs of one axis read the input, not its zero padding."""
    out = conv_output_size(size, kernel, stride, padding)
    return sum(1 for o in range(out) for k in range(kernel) if 0 <= o * stride + k - padding < size)


def _flops(params: Params, x: jax.ShapeDtypeStruct, y: jax.ShapeDtypeStruct, *, stride: Any, padding: Any) -> int:
    out_channels, in_channels, kh, kw = params["weight"].shape
    batch = math.prod(x.shape[:-3])
    taps = _taps(x.shape[-2], kh, stride[0], padding[0]) * _taps(x.shape[-1], kw, stride[1], padding[1])
    # XLA counts a multiply-add per tap that reads the input (padding skipped), and one add per output for the bias
    return 2 * batch * out_channels * in_channels * taps + (math.prod(y.shape) if "bias" in params else 0)


@factory
@cached
def Conv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    bias: bool = True,
) -> Layer:
    """2-D convolution (cross-correlation), as ``torch.nn.Conv2d``, on NCHW input.

    Args:
      in_channels, out_channels: C_in and C_out.
      kernel_size: ``k`` or ``(kh, kw)``.
      stride: ``s`` or ``(sh, sw)``, default 1.
      padding: zeros added on both sides of each spatial axis, ``p`` or ``(ph, pw)``, default 0.
      bias: whether to add a learned bias per output channel (default True).

    Shapes:
      params: ``{"weight": (C_out, C_in, kh, kw), "bias": (C_out,)}``, PyTorch's layout and its
      default init (uniform in ``±1/sqrt(C_in*kh*kw)``).
      ``apply(params, x, *, precision=None)``: ``(N, C_in, H, W)`` (or ``(C_in, H, W)``) ->
      ``(N, C_out, H_out, W_out)``, ``H_out = (H + 2*ph - kh) // sh + 1``, the same for W.
      bfloat16 / float16 accumulate in float32.
    """
    cin, cout = check_features("in_channels", in_channels), check_features("out_channels", out_channels)
    kernel, strides, pads = pair("kernel_size", kernel_size), pair("stride", stride), pair("padding", padding, 0)
    bias = bool(bias)
    shape = (cout, cin, *kernel)
    init = uniform(1.0 / math.sqrt(cin * kernel[0] * kernel[1]))  # torch's default: kaiming_uniform(a=sqrt(5))
    params = {"weight": Param(shape, init, ("out", "in", "kh", "kw"))}
    if bias:
        params["bias"] = Param((cout,), init, ("out",))
    name = f"Conv2d({cin} -> {cout}, kernel={kernel}, stride={strides}, padding={pads})"
    return define(
        name,
        functools.partial(_conv2d, shape=shape, stride=strides, padding=pads, name=name),
        params=params,
        doc=f"``apply(params, x, *, precision=None) -> y``: {name}; ``(N, {cin}, H, W)`` -> ``(N, {cout}, H', W')``.",
        options=("precision",),
        config=dict(in_channels=cin, out_channels=cout, kernel_size=kernel, stride=strides, padding=pads, bias=bias),
        torch=Torch(),
        flops=functools.partial(_flops, stride=strides, padding=pads),
        onnx=functools.partial(_onnx, kernel=kernel, stride=strides, padding=pads),
    )


def _onnx(graph: Any, names: Params, x: str, *, kernel: tuple[int, int], stride: tuple[int, int], padding: Any) -> str:
    """ONNX ``Conv``: the same NCHW layout and ``(out, in, kh, kw)`` weight; pads as (top, left, bottom, right)."""
    inputs = [x, names["weight"], *([names["bias"]] if "bias" in names else [])]
    return graph.node("Conv", inputs, kernel_shape=list(kernel), strides=list(stride), pads=[*padding, *padding])
