"""tinyjax.nn.kernels: the teaching kernels equal their library counterparts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax.nn import kernels

X = jax.random.normal(jax.random.key(0), (3, 17)) * 3


@pytest.mark.parametrize("gelu", [kernels.gelu_unfused, kernels.gelu_fused])
def test_gelu_forms_equal_jax_tanh_gelu(gelu):
    np.testing.assert_allclose(gelu(X), jax.nn.gelu(X, approximate=True), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jax.jit(gelu)(X), jax.nn.gelu(X, approximate=True), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("m", "k", "n", "tile"), [(64, 64, 64, 32), (70, 45, 33, 16), (5, 7, 3, 64)])
def test_tiled_matmul_equals_matmul(m, k, n, tile):
    a = jax.random.normal(jax.random.key(1), (m, k))
    b = jax.random.normal(jax.random.key(2), (k, n))
    got = jax.jit(kernels.tiled_matmul, static_argnums=2)(a, b, tile)
    np.testing.assert_allclose(got, np.asarray(a, np.float64) @ np.asarray(b, np.float64), rtol=1e-4, atol=1e-4)


def test_tiled_matmul_loops_over_blocks_in_its_program():
    a, b = jnp.ones((128, 128)), jnp.ones((128, 128))
    hlo = jax.jit(kernels.tiled_matmul, static_argnums=2).lower(a, b, 32).as_text()
    assert "stablehlo.while" in hlo and "tensor<32x32xf32>" in hlo


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_im2col_convolution_equals_lax_conv(stride, padding):
    x = jax.random.normal(jax.random.key(3), (2, 3, 9, 8))
    w = jax.random.normal(jax.random.key(4), (5, 3, 3, 2))
    pads = [(p, p) for p in ((padding, padding) if isinstance(padding, int) else padding)]
    strides = (stride, stride) if isinstance(stride, int) else stride
    want = jax.lax.conv_general_dilated(x, w, strides, pads, dimension_numbers=("NCHW", "OIHW", "NCHW"))
    got = jax.jit(lambda v, k: kernels.conv2d_im2col(v, k, stride, padding))(x, w)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_col2im_is_the_adjoint_of_im2col():
    x = jax.random.normal(jax.random.key(5), (1, 2, 5, 4))
    im2col = jax.jit(lambda v: kernels.im2col(v, (2, 3), 1, 1))  # stride 1: the patches overlap
    cols = im2col(x)
    other = jax.random.normal(jax.random.key(6), cols.shape)
    back = jax.jit(lambda c: kernels.col2im(c, x.shape, (2, 3), 1, 1))(other)
    np.testing.assert_allclose(jnp.sum(cols * other), jnp.sum(x * back), rtol=1e-5)
    # and it is im2col's transpose as JAX derives it
    (vjp,) = jax.jit(lambda v, c: jax.vjp(im2col, v)[1](c))(x, other)
    np.testing.assert_allclose(back, vjp, rtol=1e-5, atol=1e-6)


def test_kernels_refuse_bad_shapes():
    with pytest.raises(tj.ShapeError, match="tiled_matmul"):
        kernels.tiled_matmul(jnp.ones((2, 3)), jnp.ones((4, 2)))
    with pytest.raises(tj.ShapeError, match="im2col"):
        kernels.im2col(jnp.ones((3, 8, 8)), 3)
    with pytest.raises(tj.ConfigError, match="tile"):
        kernels.tiled_matmul(jnp.ones((2, 3)), jnp.ones((3, 2)), 0)
