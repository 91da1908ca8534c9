"""MultiHeadAttention: torch's nn.MultiheadAttention as oracle, masks, fully masked rows, errors, the decode step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax.nn import attention

B, T, E, H = 2, 6, 8, 2


def _setup(causal=False, bias=True):
    layer = tj.MultiHeadAttention(E, H, causal=causal, bias=bias)
    params = layer.init(jax.random.key(0))
    if bias:  # non-zero biases, so that a misplaced bias shows
        params = {
            k: v + 0.1 * jax.random.normal(jax.random.key(3), v.shape) if "bias" in k else v for k, v in params.items()
        }
    x = jax.random.normal(jax.random.key(1), (B, T, E))
    return layer, params, x


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_agrees_with_torch_multihead_attention(causal, bias):
    torch = pytest.importorskip("torch")
    layer, params, x = _setup(causal, bias)
    module = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=True).eval()
    module.load_state_dict(tj.interop.to_torch_state_dict(params, layer), strict=True)
    xt = torch.from_numpy(np.array(x))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(T) if causal else None
    with torch.no_grad():
        expected = module(xt, xt, xt, attn_mask=mask, need_weights=False)[0].numpy()
    np.testing.assert_allclose(layer.apply(params, x), expected, rtol=1e-5, atol=1e-5)
    back = tj.interop.from_torch_state_dict(module.state_dict(), layer)
    for name in params:
        np.testing.assert_array_equal(back[name], params[name])


def test_boolean_and_additive_masks_agree_with_torch_and_with_each_other():
    torch = pytest.importorskip("torch")
    layer, params, x = _setup()
    allowed = jax.random.bernoulli(jax.random.key(5), 0.6, (B, H, T, T)) | jnp.eye(T, dtype=bool)
    additive = jnp.where(allowed, 0.0, -jnp.inf)
    module = torch.nn.MultiheadAttention(E, H, batch_first=True).eval()
    module.load_state_dict(tj.interop.to_torch_state_dict(params, layer))
    xt = torch.from_numpy(np.array(x))
    torch_mask = torch.from_numpy(~np.array(allowed)).reshape(B * H, T, T)  # torch: True = may NOT attend
    with torch.no_grad():
        expected = module(xt, xt, xt, attn_mask=torch_mask, need_weights=False)[0].numpy()
    np.testing.assert_allclose(layer.apply(params, x, mask=allowed), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.apply(params, x, mask=additive), expected, rtol=1e-5, atol=1e-5)


def test_a_mask_broadcasts_over_batch_and_heads():
    layer, params, x = _setup()
    key_padding = jnp.arange(T) < 4  # every query sees the first 4 keys only
    full = jnp.broadcast_to(key_padding, (B, H, T, T))
    np.testing.assert_array_equal(layer.apply(params, x, mask=key_padding), layer.apply(params, x, mask=full))
    # the keys past 4 do not matter
    changed = x.at[:, 4:].set(7.0)
    np.testing.assert_allclose(
        layer.apply(params, changed, mask=key_padding)[:, :4],
        layer.apply(params, x, mask=key_padding)[:, :4],
        atol=1e-6,
    )


def test_fully_masked_rows_give_no_nan_in_values_or_gradients():
    layer, params, x = _setup(causal=True)
    mask = jnp.ones((B, 1, T, T), bool).at[0, :, 2, :].set(False)  # query 2 of sample 0 sees nothing
    y = layer.apply(params, x, mask=mask)
    assert np.isfinite(np.asarray(y)).all()
    np.testing.assert_allclose(y[0, 2], params["out_proj_bias"], atol=1e-6)  # zero attention, then the bias
    additive = jnp.full((T, T), -jnp.inf)
    assert np.isfinite(np.asarray(layer.apply(params, x, mask=additive))).all()
    grads = jax.grad(lambda p, v: jnp.sum(layer.apply(p, v, mask=mask) ** 2), argnums=(0, 1))(params, x)
    assert all(np.isfinite(np.asarray(g)).all() for g in jax.tree_util.tree_leaves(grads))


def test_causal_output_at_t_depends_only_on_the_prefix():
    layer, params, x = _setup(causal=True)
    y = layer.apply(params, x)
    changed = layer.apply(params, x.at[:, 4:].set(3.0))
    np.testing.assert_allclose(changed[:, :4], y[:, :4], atol=1e-6)
    assert not np.allclose(changed[:, 4:], y[:, 4:])


def test_errors_name_the_layer():
    layer, params, x = _setup()
    with pytest.raises(tj.ShapeError, match=r"^MultiHeadAttention\(8, heads=2\): expected input of shape"):
        layer.apply(params, jnp.ones((B, T, 6)))
    with pytest.raises(tj.ShapeError, match=r"MultiHeadAttention\(8, heads=2\): expected mask to be broadcastable"):
        layer.apply(params, x, mask=jnp.ones((B, 3, T, T), bool))
    with pytest.raises(tj.DTypeError, match=r"MultiHeadAttention\(8, heads=2\).*mask must be boolean"):
        layer.apply(params, x, mask=jnp.ones((T, T), jnp.int32))
    with pytest.raises(tj.ParamsError, match=r"MultiHeadAttention\(8, heads=2\)"):
        layer.apply({"in_proj_weight": params["in_proj_weight"]}, x)
    with pytest.raises(tj.ConfigError, match="multiple of num_heads"):
        tj.MultiHeadAttention(10, 3)


def test_decode_with_a_cache_equals_the_causal_layer_over_the_prefix():
    layer, params, x = _setup(causal=True)
    full = layer.apply(params, x)
    cache = attention.init_cache(B, 10, H, E // H)
    step = jax.jit(lambda p, v, c, i: attention.decode(p, v, c, i))
    y, cache = step(params, x[:, :3], cache, jnp.int32(0))  # prefill three tokens
    outputs = [y]
    for t in range(3, T):  # then one token at a time, the same compiled step for every position
        y, cache = step(params, x[:, t : t + 1], cache, jnp.int32(t))
        outputs.append(y)
    np.testing.assert_allclose(jnp.concatenate(outputs[:1] + outputs[1:], axis=1), full, rtol=1e-5, atol=1e-5)
    assert step._cache_size() == 2  # one compilation for the prefill shape, one for the single-token step
    np.testing.assert_array_equal(cache["key"][:, T:], 0)  # rows past the last position untouched


def test_summary_counts_the_seq_squared_terms_as_xla_does():
    for causal in (False, True):
        layer = tj.MultiHeadAttention(E, H, causal=causal)
        for seq in (4, 16):
            report = tj.summary(layer, layer.param_shapes(), (B, seq, E))
            assert report.flops == report.xla_flops
    layer = tj.MultiHeadAttention(E, H)
    short, long = (tj.summary(layer, layer.param_shapes(), (1, s, E), xla=False).flops for s in (16, 32))
    assert long > 2 * short  # quadratic in the sequence length, not linear


def test_interop_merges_the_head_axes_as_torch_keeps_them_and_reports_torch_shapes():
    pytest.importorskip("torch")
    layer, params, _ = _setup()
    state = tj.interop.to_torch_state_dict(params, layer)
    assert tuple(state["in_proj_weight"].shape) == (3 * E, E) and tuple(state["in_proj_bias"].shape) == (3 * E,)
    assert tuple(state["out_proj.weight"].shape) == (E, E)
    # torch's rows of in_proj_weight are (q|k|v, head, feature) flattened: q's head 1, feature 0 is row E/H
    np.testing.assert_array_equal(state["in_proj_weight"][E // H].numpy(), params["in_proj_weight"][:, 0, 1, 0])
    np.testing.assert_array_equal(state["out_proj.weight"][:, E // H].numpy(), params["out_proj_weight"][1, 0])
    state["in_proj_weight"] = state["in_proj_weight"][:-1]
    with pytest.raises(tj.WeightsMismatchError, match=rf"in_proj_weight': expected shape \({3 * E}, {E}\), got"):
        tj.interop.from_torch_state_dict(state, layer)
