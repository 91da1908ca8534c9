"""Teaching kernels: the same math written the ways the acceleration module compares (docs/acceleration.md).

Each function is pure and jit-friendly, and each equals its library counterpart
(``jax.nn.gelu(approximate=True)``, ``jnp.matmul``, ``jax.lax.conv_general_dilated``): the point of
having them is to measure what XLA does with each form, not to replace those.

* :func:`gelu_unfused` and :func:`gelu_fused`: tanh-GELU as eight separate array operations, and as
  one expression. Under ``jax.jit`` XLA fuses both into one loop; eagerly, each operation of the first
  is a dispatch and a temporary array.
* :func:`tiled_matmul`: a matrix product that really tiles: a ``lax.fori_loop`` over ``(i, j, k)``
  blocks, each a ``tile x tile`` product accumulated into the output block.
* :func:`im2col` / :func:`col2im`: a convolution's patches as matrix columns, and the adjoint that
  sums them back; :func:`conv2d_im2col` is a convolution as ``im2col`` then one matrix product.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from tinyjax._errors import ConfigError, ShapeError
from tinyjax.nn.conv import conv_output_size

__all__ = ["col2im", "conv2d_im2col", "gelu_fused", "gelu_unfused", "im2col", "tiled_matmul"]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_unfused(x: jax.Array) -> jax.Array:
    """tanh-GELU as eight array operations, each its own temporary (same values as :func:`gelu_fused`)."""
    cube = x * x * x
    scaled_cube = 0.044715 * cube
    inner = x + scaled_cube
    scaled = _SQRT_2_OVER_PI * inner
    t = jnp.tanh(scaled)
    one_plus = 1.0 + t
    half_x = 0.5 * x
    return half_x * one_plus


def gelu_fused(x: jax.Array) -> jax.Array:
    """tanh-GELU as one expression, ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``; any shape, floating."""
    return 0.5 * x * (1.0 + jnp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


def _check_matrices(a: jax.Array, b: jax.Array, name: str) -> None:
    if jnp.ndim(a) != 2 or jnp.ndim(b) != 2 or a.shape[1] != b.shape[0]:
        raise ShapeError(name, "(M, K) @ (K, N)", f"{tuple(jnp.shape(a))} @ {tuple(jnp.shape(b))}", what="operands")


def tiled_matmul(a: jax.Array, b: jax.Array, tile: int = 64) -> jax.Array:
    """``a @ b`` computed block by block: ``(M, K) @ (K, N) -> (M, N)``, ``tile`` x ``tile`` blocks.

    The operands are zero-padded to multiples of ``tile``; one ``lax.fori_loop`` runs over every
    ``(i, j, k)`` block triple and adds ``a[i, k] @ b[k, j]`` into output block ``(i, j)`` (each block
    product a ``(tile, tile)`` dot: the loop, not XLA's own blocking, decides the order). The result
    has ``jnp.result_type(a, b)``; ``jnp.matmul`` is the fast way to get the same numbers.
    """
    _check_matrices(a, b, "tiled_matmul")
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < 1:
        raise ConfigError(f"tiled_matmul: tile must be a positive int, got {tile!r}")
    (m, k), n = a.shape, b.shape[1]
    dtype = jnp.result_type(a, b)
    mt, kt, nt = (-(-size // tile) for size in (m, k, n))
    a = jnp.pad(a.astype(dtype), ((0, mt * tile - m), (0, kt * tile - k)))
    b = jnp.pad(b.astype(dtype), ((0, kt * tile - k), (0, nt * tile - n)))

    def block(index: jax.Array, out: jax.Array) -> jax.Array:
        i, rest = jnp.divmod(index, nt * kt)
        j, kk = jnp.divmod(rest, kt)
        a_block = jax.lax.dynamic_slice(a, (i * tile, kk * tile), (tile, tile))
        b_block = jax.lax.dynamic_slice(b, (kk * tile, j * tile), (tile, tile))
        c_block = jax.lax.dynamic_slice(out, (i * tile, j * tile), (tile, tile))
        return jax.lax.dynamic_update_slice(out, c_block + a_block @ b_block, (i * tile, j * tile))

    out = jax.lax.fori_loop(0, mt * nt * kt, block, jnp.zeros((mt * tile, nt * tile), dtype))
    return out[:m, :n]


def _pair(value: Any, name: str, low: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < low for v in pair):
        raise ConfigError(f"{name} must be an int >= {low} or a pair of them, got {value!r}")
    return pair


def im2col(x: jax.Array, kernel_size: Any, stride: Any = 1, padding: Any = 0) -> jax.Array:
    """The patches of ``x`` as columns: ``(N, C, H, W)`` -> ``(N, C * kh * kw, H_out * W_out)``.

    Row ``c * kh * kw + u * kw + v`` holds input channel ``c`` at kernel offset ``(u, v)``, the order
    of a flattened ``(C, kh, kw)`` filter, so a convolution is ``weight.reshape(O, -1) @ cols``.
    Padding adds zeros; ``H_out = (H + 2 p - kh) // s + 1`` as in :func:`~tinyjax.Conv2d`.
    """
    if jnp.ndim(x) != 4:
        raise ShapeError("im2col", "(N, C, H, W)", tuple(jnp.shape(x)))
    (kh, kw), (sh, sw), (ph, pw) = (
        _pair(kernel_size, "kernel_size", 1),
        _pair(stride, "stride", 1),
        _pair(padding, "padding", 0),
    )
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    if ho < 1 or wo < 1:
        raise ShapeError("im2col", f"(N, C, H, W) with H + 2*padding >= {kh}, W + 2*padding >= {kw}", tuple(x.shape))
    padded = jnp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    taps = [padded[:, :, u : u + sh * (ho - 1) + 1 : sh, v : v + sw * (wo - 1) + 1 : sw]
            for u in range(kh) for v in range(kw)]  # fmt: skip
    return jnp.stack(taps, axis=2).reshape(n, c * kh * kw, ho * wo)


def col2im(cols: jax.Array, input_shape: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0) -> jax.Array:
    """The adjoint of :func:`im2col`: columns ``(N, C * kh * kw, H_out * W_out)`` summed back into ``input_shape``.

    Where patches overlap their entries add up (what a convolution's input gradient needs), so
    ``sum(im2col(x) * cols) == sum(x * col2im(cols, x.shape, ...))`` for any ``x`` and ``cols``.
    """
    n, c, h, w = (int(d) for d in input_shape)
    (kh, kw), (sh, sw), (ph, pw) = (
        _pair(kernel_size, "kernel_size", 1),
        _pair(stride, "stride", 1),
        _pair(padding, "padding", 0),
    )
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    if tuple(jnp.shape(cols)) != (n, c * kh * kw, ho * wo):
        raise ShapeError("col2im", (n, c * kh * kw, ho * wo), tuple(jnp.shape(cols)), what="columns")
    taps = cols.reshape(n, c, kh * kw, ho, wo)
    out = jnp.zeros((n, c, h + 2 * ph, w + 2 * pw), cols.dtype)
    for index in range(kh * kw):
        u, v = divmod(index, kw)
        out = out.at[:, :, u : u + sh * (ho - 1) + 1 : sh, v : v + sw * (wo - 1) + 1 : sw].add(taps[:, :, index])
    return out[:, :, ph : ph + h, pw : pw + w]


def conv2d_im2col(x: jax.Array, weight: jax.Array, stride: Any = 1, padding: Any = 0) -> jax.Array:
    """A convolution as :func:`im2col` then one product: ``(N, C, H, W)``, ``(O, C, kh, kw)`` -> ``(N, O, H', W')``.

    The same numbers as ``lax.conv_general_dilated(x, weight, stride, padding, ("NCHW", "OIHW", "NCHW"))``.
    """
    if jnp.ndim(weight) != 4 or jnp.ndim(x) != 4 or weight.shape[1] != x.shape[1]:
        raise ShapeError("conv2d_im2col", "x (N, C, H, W) and weight (O, C, kh, kw)",
                         f"{tuple(jnp.shape(x))} and {tuple(jnp.shape(weight))}", what="operands")  # fmt: skip
    o, _, kh, kw = weight.shape
    (sh, sw), (ph, pw) = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    cols = im2col(x, (kh, kw), (sh, sw), (ph, pw))
    y = jnp.einsum("ok,nkp->nop", weight.reshape(o, -1), cols)
    return y.reshape(x.shape[0], o, conv_output_size(x.shape[2], kh, sh, ph), conv_output_size(x.shape[3], kw, sw, pw))
