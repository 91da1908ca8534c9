"""TransformerBlock against torch.nn.TransformerEncoderLayer (pre-norm, GELU, causal mask); sinusoidal positions."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
def test_block_agrees_with_torch_encoder_layer_through_interop(causal):
    torch = pytest.importorskip("torch")
    block = tj.TransformerBlock(16, 4, mlp_ratio=4, causal=causal)
    params = block.init(jax.random.key(0))
    params = jax.tree_util.tree_map(lambda a: a + 0.1 * jax.random.normal(jax.random.key(4), a.shape), params)
    x = jax.random.normal(jax.random.key(1), (3, 7, 16))
    module = torch.nn.TransformerEncoderLayer(
        16, 4, dim_feedforward=64, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    ).eval()
    module.load_state_dict(tj.interop.to_torch_state_dict(params, block), strict=True)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(7) if causal else None
    with torch.no_grad():
        expected = module(torch.from_numpy(np.array(x)), src_mask=mask, is_causal=causal).numpy()
    np.testing.assert_allclose(block.apply(params, x), expected, rtol=1e-5, atol=1e-5)
    back = tj.interop.from_torch_state_dict(module.state_dict(), block)
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(back), strict=True):
        np.testing.assert_array_equal(a, b)


def test_block_params_are_named_as_torch_parts():
    block = tj.TransformerBlock(8, 2)
    names = set(tj.named_parameters(block.init(jax.random.key(0))))
    assert {"self_attn.in_proj_weight", "self_attn.out_proj_weight", "norm1.weight", "linear2.bias"} <= names
    assert block.param_info()["self_attn"]["out_proj_weight"].torch_name == "out_proj.weight"


def test_block_dropout_needs_a_key_in_training_and_is_identity_in_inference():
    block = tj.TransformerBlock(8, 2, dropout=0.5)
    params, x = block.init(jax.random.key(0)), jax.random.normal(jax.random.key(2), (2, 3, 8))
    with pytest.raises(tj.KeyArgumentError, match="TransformerBlock"):
        block.apply(params, x, training=True)
    plain = tj.TransformerBlock(8, 2).apply(params, x)
    np.testing.assert_allclose(block.apply(params, x), plain, rtol=1e-6)
    assert not np.allclose(block.apply(params, x, key=jax.random.key(1)), plain)


def test_sinusoids_follow_the_formula():
    layer = tj.SinusoidalPositionalEncoding(50, 6)
    table = layer.apply((), jnp.zeros((1, 50, 6)))[0]
    for pos in (0, 7, 49):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            np.testing.assert_allclose(table[pos, 2 * i], math.sin(angle), atol=1e-6)
            np.testing.assert_allclose(table[pos, 2 * i + 1], math.cos(angle), atol=1e-6)
    with pytest.raises(tj.ShapeError, match=r"SinusoidalPositionalEncoding\(50, 6\)"):
        layer.apply((), jnp.zeros((1, 51, 6)))
