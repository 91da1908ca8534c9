"""tinyjax.compress: magnitude pruning with masks, structured pruning that shrinks shapes, low rank by SVD."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax.costs import xla_costs

optax = pytest.importorskip("optax")

MLP = tj.Sequential(tj.Linear(64, 256), tj.ReLU(), tj.Linear(256, 10))
MLP_PARAMS = MLP.init(jax.random.key(0))
DEEP = tj.Sequential(tj.Linear(16, 32), tj.ReLU(), tj.Linear(32, 24), tj.GELU(), tj.Linear(24, 4))
DEEP_PARAMS = DEEP.init(jax.random.key(1))


def xla_flops(model, params, shape):
    x = jax.ShapeDtypeStruct(shape, jnp.float32)
    return int(xla_costs(jax.jit(model.apply).lower(params, x).compile())["flops"])


# ---------------------------------------------------------------- magnitude pruning


@pytest.mark.parametrize("scope", ["global", "layer"])
@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_magnitude_prune_gives_exactly_that_sparsity(scope, fraction):
    pruned, masks = tj.compress.magnitude_prune(DEEP_PARAMS, fraction, scope=scope)
    assert tj.compress.sparsity(pruned) == fraction
    weights = [p for p in jax.tree_util.tree_leaves(pruned) if p.ndim == 2]
    if scope == "layer":
        assert [float(jnp.mean(w == 0)) for w in weights] == [fraction] * 3
    for layer, before in zip(pruned, DEEP_PARAMS, strict=True):  # biases never pruned
        if layer:
            np.testing.assert_array_equal(layer["bias"], before["bias"])
    assert jax.tree_util.tree_structure(masks) == jax.tree_util.tree_structure(DEEP_PARAMS)


def test_magnitude_prune_keeps_the_largest_weights():
    pruned, masks = tj.compress.magnitude_prune(DEEP_PARAMS, 0.75)
    kept = np.concatenate([np.abs(np.asarray(p["weight"])).ravel()[np.asarray(m["weight"]).ravel()]
                           for p, m in zip(DEEP_PARAMS, masks, strict=True) if p])  # fmt: skip
    dropped = np.concatenate([np.abs(np.asarray(p["weight"])).ravel()[~np.asarray(m["weight"]).ravel()]
                              for p, m in zip(DEEP_PARAMS, masks, strict=True) if p])  # fmt: skip
    assert kept.min() >= dropped.max()
    restored = tj.compress.apply_masks(DEEP_PARAMS, masks)
    jax.tree_util.tree_map(np.testing.assert_array_equal, restored, pruned)


def test_masks_survive_an_optax_step():
    pruned, masks = tj.compress.magnitude_prune(DEEP_PARAMS, 0.6)
    optimizer = optax.chain(optax.adamw(1e-2, weight_decay=1e-2), tj.compress.mask_updates(masks))
    state = optimizer.init(pruned)
    x, y = jax.random.normal(jax.random.key(2), (32, 16)), jnp.arange(32) % 4

    @jax.jit
    def step(params, state):
        grads = jax.grad(lambda p: tj.losses.cross_entropy(DEEP.apply(p, x), y))(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    params = pruned
    for _ in range(3):
        params, state = step(params, state)
    assert tj.compress.sparsity(params) == tj.compress.sparsity(pruned) == round(0.6 * 1376) / 1376
    for p, m in zip(params, masks, strict=True):
        if p:
            assert not np.any(np.asarray(p["weight"])[~np.asarray(m["weight"])])
    leaves = zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(pruned), strict=True)
    assert all(not np.array_equal(a, b) for a, b in leaves)  # the kept weights and the biases trained
    # without the mask, Adam moves pruned weights away from zero
    plain = optax.adamw(1e-2)
    grads = jax.grad(lambda p: tj.losses.cross_entropy(DEEP.apply(p, x), y))(pruned)
    updates, _ = jax.jit(plain.update)(grads, plain.init(pruned), pruned)
    assert tj.compress.sparsity(optax.apply_updates(pruned, updates)) < 0.6


def test_magnitude_prune_refuses_bad_arguments():
    with pytest.raises(tj.ConfigError, match=r"fraction in \[0, 1\]"):
        tj.compress.magnitude_prune(DEEP_PARAMS, 50)
    with pytest.raises(tj.ConfigError, match="scope must be"):
        tj.compress.magnitude_prune(DEEP_PARAMS, 0.5, scope="model")


# ---------------------------------------------------------------- structured pruning


def masked_dense(params, producer, consumer, keep_units, consumer_axis=0):
    """The dense params with every unit not in ``keep_units`` zeroed in the producer (and consumer)."""
    params = list(params)
    drop = np.setdiff1d(np.arange(np.shape(params[producer]["weight"])[-1]), keep_units)
    p = dict(params[producer])
    p["weight"] = p["weight"].at[:, drop].set(0)
    p["bias"] = p["bias"].at[drop].set(0)
    params[producer] = p
    return tuple(params)


def test_half_the_hidden_units_halve_the_hidden_params_and_xla_flops_exactly():
    small, small_params = tj.compress.structured_prune(MLP, MLP_PARAMS, 0.5)
    assert small.children[0].out_features == 128 and small.children[2].in_features == 128
    assert small.output_shape((7, 64)) == (7, 10)
    hidden = lambda n: 64 * n + n + n * 10  # noqa: E731  (params that depend on the hidden width n)
    assert tj.count_params(MLP_PARAMS) == hidden(256) + 10
    assert tj.count_params(small_params) == hidden(128) + 10
    batch = 256
    dense_flops, small_flops = xla_flops(MLP, MLP_PARAMS, (batch, 64)), xla_flops(small, small_params, (batch, 64))
    out_bias = batch * 10  # the one term that does not scale with the hidden width
    assert dense_flops - out_bias == 2 * (small_flops - out_bias)
    assert tj.summary(small, small_params, (batch, 64)).flops == small_flops


def test_pruned_model_computes_the_dense_model_without_the_removed_units():
    small, small_params = tj.compress.structured_prune(DEEP, DEEP_PARAMS, 0.5)
    assert [c.name for c in small.children if c.in_features] == [
        "Linear(16 -> 16)",
        "Linear(16 -> 12)",
        "Linear(12 -> 4)",
    ]
    w0, w2 = np.asarray(DEEP_PARAMS[0]["weight"]), np.asarray(DEEP_PARAMS[2]["weight"])
    keep0 = np.sort(np.argsort(-np.linalg.norm(w0, axis=0))[:16])
    np.testing.assert_array_equal(small_params[0]["weight"], w0[:, keep0])
    np.testing.assert_array_equal(
        small_params[2]["weight"][:, :], w2[keep0][:, small_params_kept(w2[keep0], small_params[2]["weight"])]
    )
    x = jax.random.normal(jax.random.key(3), (5, 16))
    # zero the removed units of the dense model (GELU(0) = 0, so they then contribute nothing)
    keep2 = small_params_kept(w2[keep0], small_params[2]["weight"])
    dense = masked_dense(masked_dense(DEEP_PARAMS, 0, 2, keep0), 2, 4, keep2)
    np.testing.assert_allclose(small.apply(small_params, x), DEEP.apply(dense, x), rtol=1e-5, atol=1e-6)


def small_params_kept(full, pruned):
    """The column indices of ``full`` that ``pruned`` kept (columns are distinct)."""
    full, pruned = np.asarray(full), np.asarray(pruned)
    return np.array([int(np.flatnonzero((full == pruned[:, j : j + 1]).all(0))[0]) for j in range(pruned.shape[1])])


def test_conv_channels_go_with_their_batchnorm_and_the_flattened_rows():
    model = tj.Sequential(
        tj.Conv2d(1, 8, 3, padding=1), tj.BatchNorm2d(8), tj.ReLU(), tj.MaxPool2d(2),
        tj.Flatten(), tj.Linear(8 * 4 * 4, 10),
    )  # fmt: skip
    params = list(model.init(jax.random.key(4)))
    bn = dict(params[1])
    bn |= {
        k: jax.random.uniform(jax.random.key(i), (8,), minval=0.5, maxval=1.5)
        for i, k in enumerate(("weight", "bias", "running_mean", "running_var"))
    }
    params[1] = bn
    params = tuple(params)
    small, small_params = tj.compress.structured_prune(model, params, 0.5)
    assert small.children[0].config["out_channels"] == 4 and small.children[1].config["num_features"] == 4
    assert small.children[5].config["in_features"] == 4 * 16
    keep = np.sort(np.argsort(-np.linalg.norm(np.asarray(params[0]["weight"]).reshape(8, -1), axis=1))[:4])
    for name in ("weight", "bias", "running_mean", "running_var"):
        np.testing.assert_array_equal(small_params[1][name], np.asarray(params[1][name])[keep])
    # the dense model with the removed channels' conv, BatchNorm affine and Linear rows zeroed
    drop = np.setdiff1d(np.arange(8), keep)
    dense = [dict(p) if isinstance(p, dict) else p for p in params]
    dense[0]["weight"] = dense[0]["weight"].at[drop].set(0)
    dense[1]["weight"], dense[1]["bias"] = dense[1]["weight"].at[drop].set(0), dense[1]["bias"].at[drop].set(0)
    rows = (drop[:, None] * 16 + np.arange(16)).ravel()
    dense[5]["weight"] = dense[5]["weight"].at[rows].set(0)
    x = jax.random.normal(jax.random.key(5), (3, 1, 8, 8))
    np.testing.assert_allclose(small.apply(small_params, x), model.apply(tuple(dense), x), rtol=1e-5, atol=1e-5)


def test_attention_loses_whole_heads():
    model = tj.Sequential(tj.MultiHeadAttention(16, 4), tj.Linear(16, 3))
    params = model.init(jax.random.key(6))
    small, small_params = tj.compress.structured_prune(model, params, 0.5)
    attention = small.children[0]
    assert attention.config["num_heads"] == 2 and attention.config["head_dim"] == 4
    assert small_params[0]["in_proj_weight"].shape == (16, 3, 2, 4)
    assert small.children[1] is model.children[1]  # the attention's output width (E) is not a hidden unit
    w_in, w_out = np.asarray(params[0]["in_proj_weight"]), np.asarray(params[0]["out_proj_weight"])
    scores = (
        (w_in**2).sum((0, 1, 3)) + (w_out**2).sum((1, 2)) + (np.asarray(params[0]["in_proj_bias"]) ** 2).sum((0, 2))
    )
    keep = np.sort(np.argsort(-scores)[:2])
    dense = dict(params[0])
    dense["out_proj_weight"] = dense["out_proj_weight"].at[np.setdiff1d(np.arange(4), keep)].set(0)
    x = jax.random.normal(jax.random.key(7), (2, 5, 16))
    np.testing.assert_allclose(small.apply(small_params, x), model.apply((dense, params[1]), x), rtol=1e-5, atol=1e-5)


def test_pruned_models_summarise_save_export_and_serve_in_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    for model, params, shape in (
        (DEEP, DEEP_PARAMS, (16,)),
        (tj.Sequential(tj.MultiHeadAttention(16, 4, causal=True), tj.Linear(16, 3)), None, (5, 16)),
    ):
        params = params if params is not None else model.init(jax.random.key(8))
        small, small_params = tj.compress.structured_prune(model, params, 0.5)
        x = np.asarray(jax.random.normal(jax.random.key(9), (2, *shape)))
        expected = np.asarray(small.apply(small_params, x))
        assert tj.summary(small, small_params, x.shape).params == tj.count_params(small_params)
        tj.save(tmp_path / "small.safetensors", small_params, layer=small)
        np.testing.assert_array_equal(jax.tree_util.tree_leaves(tj.load(tmp_path / "small.safetensors", small))[0],
                                      jax.tree_util.tree_leaves(small_params)[0])  # fmt: skip
        np.testing.assert_allclose(
            tj.load_exported(tj.export(small, small_params, features=shape))(x), expected, rtol=1e-5, atol=1e-6
        )
        onnx_model = tj.export(small, small_params, features=shape, format="onnx")
        session = ort.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {session.get_inputs()[0].name: x})
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
        served = tj.compile(small, small_params, x, backend="onnxruntime")  # the ONNX Runtime predictor
        np.testing.assert_allclose(served(x), expected, rtol=1e-4, atol=1e-5)


def test_structured_prune_refuses_what_it_cannot_prune():
    with pytest.raises(tj.ConfigError, match=r"ratio must be a fraction in \[0, 1\)"):
        tj.compress.structured_prune(MLP, MLP_PARAMS, 1.0)
    with pytest.raises(tj.ConfigError, match="criterion"):
        tj.compress.structured_prune(MLP, MLP_PARAMS, 0.5, criterion="random")
    single = tj.Linear(4, 3)
    with pytest.raises(tj.ConfigError, match="nothing in Linear"):
        tj.compress.structured_prune(single, single.init(jax.random.key(0)), 0.5)


# ---------------------------------------------------------------- low rank


def test_low_rank_of_a_1000_square_linear_at_rank_100():
    layer = tj.Linear(1000, 1000)
    params = layer.init(jax.random.key(10))
    model, factored = tj.compress.low_rank(layer, params, 100)
    assert [c.name for c in model.children] == ["Linear(1000 -> 100)", "Linear(100 -> 1000)"]
    assert not model.children[0].config["bias"] and model.children[1].config["bias"]
    assert tj.count_params(factored) == (1000 + 1000) * 100 + 1000
    w = np.asarray(params["weight"], np.float64)
    approx = np.asarray(factored[0]["weight"], np.float64) @ np.asarray(factored[1]["weight"], np.float64)
    singular = np.linalg.svd(w, compute_uv=False)
    np.testing.assert_allclose(np.linalg.norm(w - approx), np.sqrt(np.sum(singular[100:] ** 2)), rtol=1e-4)
    x = jax.random.normal(jax.random.key(11), (3, 1000))
    np.testing.assert_allclose(
        model.apply(factored, x), x @ approx.astype(np.float32) + params["bias"], rtol=1e-4, atol=1e-4
    )


def test_low_rank_by_energy_and_inside_a_sequential():
    u, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(40, 40)))
    v, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(32, 32)))
    s = np.array([10.0, 5.0, 1.0] + [0.01] * 29)
    weight = (u[:, :32] * s) @ v.T  # (40, 32), singular values s
    params = ({"weight": jnp.asarray(weight, jnp.float32), "bias": jnp.zeros(32)}, (), DEEP_PARAMS[2])
    model = tj.Sequential(tj.Linear(40, 32), tj.ReLU(), tj.Linear(32, 24))
    factored_model, factored = tj.compress.low_rank(model, params, energy=0.99)
    # squares 100 + 25 of 126.003: two values hold 99.2%; the random (32, 24) needs too many to shrink
    names = [c.name for c in factored_model.children]
    assert names == ["Linear(40 -> 2)", "Linear(2 -> 32)", "ReLU()", "Linear(32 -> 24)"]
    assert factored[3] is params[2]
    approx = np.asarray(factored[0]["weight"]) @ np.asarray(factored[1]["weight"])
    np.testing.assert_allclose(np.linalg.norm(weight - approx), np.sqrt(1 + 29e-4), rtol=1e-4)
    nested, nested_params = tj.compress.low_rank(tj.Sequential(model, tj.ReLU()), (params, ()), energy=0.99)
    assert [c.name for c in nested.children[0].children] == names
    x = jax.random.normal(jax.random.key(12), (2, 40))
    np.testing.assert_allclose(
        nested.apply(nested_params, x), jax.nn.relu(factored_model.apply(factored, x)), rtol=1e-6
    )


def test_low_rank_refuses_bad_arguments():
    with pytest.raises(tj.ConfigError, match="exactly one"):
        tj.compress.low_rank(MLP, MLP_PARAMS)
    with pytest.raises(tj.ConfigError, match="exactly one"):
        tj.compress.low_rank(MLP, MLP_PARAMS, 4, energy=0.9)
    with pytest.raises(tj.ConfigError, match="no layer"):
        tj.compress.low_rank(MLP, MLP_PARAMS, 1000)
