"""The OOP face of TinyTorch's modules 12, 13 and 17 on the functional core."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import oop


def test_multihead_attention_forward_is_the_functional_apply():
    module = oop.MultiHeadAttention(8, 2, key=jax.random.key(0))
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype(np.float32)
    layer, params = module.to_functional()
    np.testing.assert_array_equal(np.asarray(module(x).data), layer.apply(params, x))
    mask = np.tril(np.ones((5, 5), bool))
    np.testing.assert_array_equal(np.asarray(module(x, mask).data), layer.apply(params, x, mask=mask))
    assert len(module.parameters()) == 8 and module.head_dim == 4  # TinyTorch's q, k, v, out projections


def test_transformer_block_round_trip_shares_the_arrays():
    layer = tj.TransformerBlock(8, 2)
    params = layer.init(jax.random.key(1))
    module = oop.TransformerBlock.from_functional(layer, params)
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(module.params), strict=True):
        assert a is b
    with pytest.raises(tj.ParamsError):
        oop.TransformerBlock.from_functional(layer, params["linear1"])


@pytest.mark.parametrize("cached", [False, True], ids=["recompute", "kv-cache"])
def test_gpt_generate_greedy_equals_the_functional_decode(cached):
    model = oop.GPT(vocab_size=11, embed_dim=16, num_layers=2, num_heads=2, max_seq_len=20, key=jax.random.key(0))
    if cached:
        cache = oop.enable_kv_cache(model)
        assert cache.get_memory_usage()["total_mb"] > 0
    prompt = oop.Tensor(jnp.array([[1, 2, 3]], jnp.int32))
    out = model.generate(prompt, max_new_tokens=9, temperature=0.0)
    assert out.shape == (1, 12)
    layer, params = model.to_functional()
    np.testing.assert_array_equal(
        np.asarray(out.data)[:, 3:], tj.gpt.generate(layer, params, np.asarray(prompt.data, np.int32), 9)
    )
    if cached:
        assert model.kv_cache.seq_pos == 11  # the prompt and every token but the last were run
        oop.disable_kv_cache(model)
        assert model.kv_cache is None


def test_kv_cache_object_update_get_advance():
    cache = oop.KVCache(batch_size=2, max_seq_len=4, num_layers=3, num_heads=2, head_dim=5)
    key, value = jnp.ones((2, 2, 1, 5)), 2 * jnp.ones((2, 2, 1, 5))
    cache.update(1, key, value)
    cache.advance()
    k, v = cache.get(1)
    assert k.shape == (2, 2, 1, 5) and float(v.data.sum()) == 40.0
    assert cache.get(0)[0].data.sum() == 0
    for _ in range(3):
        cache.advance()
    with pytest.raises(tj.ConfigError, match="full"):
        cache.update(0, key, value)
    cache.reset()
    assert cache.seq_pos == 0


def test_scaled_dot_product_attention_with_tinytorch_causal_mask():
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(2, 4, 3)).astype(np.float32) for _ in range(3))
    mask = oop.create_causal_mask(4)
    out, weights = oop.scaled_dot_product_attention(q, k, v, mask)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(3) + np.where(np.tril(np.ones((4, 4))) > 0, 0.0, -np.inf)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(weights.data, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.data, expected @ v, rtol=1e-5, atol=1e-6)
