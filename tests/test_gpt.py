"""The GPT: a Sequential of pure pairs; decoding with the cache equals recomputing the prefix; serving tools."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import gpt

VOCAB, LENGTH = 13, 24


@pytest.fixture(scope="module", params=["learned", "sinusoidal"])
def model_and_params(request):
    model = tj.GPT(VOCAB, 16, 2, 4, LENGTH, positions=request.param)
    params = model.init(jax.random.key(0))
    return model, params


PROMPT = jax.random.randint(jax.random.key(1), (3, 5), 0, VOCAB)


def test_the_gpt_is_a_sequential_of_pure_pairs(model_and_params):
    model, params = model_and_params
    assert model.chain and len(model.children) == len(params) == 5
    assert model.apply(params, PROMPT).shape == (3, 5, VOCAB)
    assert params[2]["self_attn"]["in_proj_weight"].shape == (2, 16, 3, 4, 4)  # two blocks stacked by Repeat


def test_prefill_and_decode_steps_give_the_logits_of_the_whole_prefix(model_and_params):
    model, params = model_and_params
    tokens = jax.random.randint(jax.random.key(2), (3, 11), 0, VOCAB)
    cache = gpt.init_cache(model, 3)
    logits, cache = gpt.prefill(model, params, tokens[:, :4], cache)
    steps = [logits]
    for t in range(4, 11):
        step_logits, cache = gpt.decode_step(model, params, tokens[:, t], cache)
        steps.append(step_logits[:, None])
    np.testing.assert_allclose(jnp.concatenate(steps, axis=1), model.apply(params, tokens), rtol=1e-5, atol=1e-5)
    assert int(cache["length"]) == 11
    assert gpt.decode_step.jitted._cache_size() >= 1
    before = gpt.decode_step.jitted._cache_size()
    gpt.decode_step(model, params, tokens[:, 0], cache)
    assert gpt.decode_step.jitted._cache_size() == before  # one compiled step serves every position


@pytest.mark.parametrize("sampling", [{}, {"temperature": 0.8, "top_k": 5}, {"temperature": 1.3}])
def test_decode_with_cache_equals_decode_without(model_and_params, sampling):
    model, params = model_and_params
    key = jax.random.key(7) if sampling else None
    cached = gpt.generate(model, params, PROMPT, 15, key=key, **sampling)
    uncached = gpt.generate_uncached(model, params, PROMPT, 15, key=key, **sampling)
    assert cached.shape == (3, 15) and cached.dtype == jnp.int32
    np.testing.assert_array_equal(cached, uncached)


def test_greedy_is_the_argmax_of_the_recomputed_prefix(model_and_params):
    model, params = model_and_params
    tokens = PROMPT
    for _ in range(6):  # the textbook loop: whole model over the whole prefix, take the argmax
        tokens = jnp.concatenate([tokens, jnp.argmax(model.apply(params, tokens)[:, -1], -1)[:, None]], axis=1)
    np.testing.assert_array_equal(gpt.generate(model, params, PROMPT, 6), tokens[:, 5:])


def test_sampling_keys_and_top_k():
    model = tj.GPT(VOCAB, 16, 1, 2, LENGTH)
    params = model.init(jax.random.key(0))
    a, b = (gpt.generate(model, params, PROMPT, 10, key=jax.random.key(k)) for k in (1, 2))
    assert not np.array_equal(a, b)  # different keys, different samples
    np.testing.assert_array_equal(a, gpt.generate(model, params, PROMPT, 10, key=jax.random.key(1)))
    top1 = gpt.generate(model, params, PROMPT, 10, key=jax.random.key(1), top_k=1)
    np.testing.assert_array_equal(top1, gpt.generate(model, params, PROMPT, 10))  # top-1 sampling is greedy


def test_generation_refuses_more_tokens_than_the_model_holds():
    model = tj.GPT(VOCAB, 16, 1, 2, LENGTH)
    params = model.init(jax.random.key(0))
    with pytest.raises(tj.ShapeError, match="prompt"):
        gpt.generate(model, params, PROMPT, LENGTH)
    with pytest.raises(tj.ConfigError, match=r"tinyjax\.GPT"):
        gpt.init_cache(tj.Sequential(tj.Linear(2, 2)), 1)


def test_compile_and_export_the_forward_with_a_symbolic_batch():
    model = tj.GPT(VOCAB, 16, 2, 4, LENGTH)
    params = model.init(jax.random.key(0))
    tokens = jax.random.randint(jax.random.key(3), (6, 8), 0, VOCAB)
    predict = tj.compile(model, params, tokens[:2], precompile=[1])
    np.testing.assert_allclose(predict(tokens), model.apply(params, tokens), rtol=1e-6, atol=1e-6)
    run = tj.load_exported(tj.export(model, params, features=(8,), dtype=jnp.int32))
    for batch in (1, 6):
        np.testing.assert_allclose(run(tokens[:batch]), model.apply(params, tokens[:batch]), rtol=1e-6, atol=1e-6)


def test_summary_costs_the_blocks_attention():
    model = tj.GPT(VOCAB, 16, 2, 4, LENGTH)
    report = tj.summary(model, model.param_shapes(), (2, 8), dtype=jnp.int32)
    block = model.children[2].children[0]
    block_report = tj.summary(block, block.param_shapes(), (2, 8, 16))
    assert block_report.flops == block_report.xla_flops
    assert report.rows[2].flops == 2 * block_report.flops  # the Repeat: n blocks


def test_a_sampling_sweep_compiles_generate_once():
    # temperature and top_k are run-time values: 5 temperatures x 3 top_k share one program per
    # (steps, prompt shape); before, each pair compiled the whole decoder again (15 compilations).
    model = tj.GPT(VOCAB, 16, 1, 2, LENGTH)
    params = model.init(jax.random.key(0))
    before = gpt.generate.jitted._cache_size()
    runs = {
        (t, k): gpt.generate(model, params, PROMPT, 7, key=jax.random.key(3), temperature=t, top_k=k)
        for t in (0.0, 0.5, 0.8, 1.0, 1.5)
        for k in (None, 1, 5)
    }
    assert gpt.generate.jitted._cache_size() - before == 1
    greedy = gpt.generate(model, params, PROMPT, 7)
    for k in (None, 1, 5):
        np.testing.assert_array_equal(runs[0.0, k], greedy)  # temperature 0 is greedy, with or without a key
    np.testing.assert_array_equal(runs[1.0, 1], greedy)  # top-1 sampling is greedy too


@pytest.mark.parametrize("k", [1, 3, VOCAB])
def test_run_time_top_k_samples_as_a_static_top_k_does(k):
    logits = jax.random.normal(jax.random.key(4), (64, VOCAB))
    kth = jax.lax.top_k(logits, k)[0][..., -1:]
    reference = jnp.where(logits < kth, -jnp.inf, logits / 0.7)
    for seed in range(3):
        key = jax.random.key(seed)
        expected = jax.random.categorical(key, reference, axis=-1)
        np.testing.assert_array_equal(gpt.sample(logits, key, 0.7, k), expected)
        np.testing.assert_array_equal(jax.jit(gpt.sample)(logits, key, jnp.float32(0.7), jnp.int32(k)), expected)


def test_the_cache_fills_to_max_seq_len_and_refuses_one_more_token():
    model = tj.GPT(VOCAB, 16, 1, 2, LENGTH)
    params = model.init(jax.random.key(0))
    prompt = jnp.zeros((1, LENGTH - 1), jnp.int32)
    _, cache = gpt.prefill(model, params, prompt, gpt.init_cache(model, 1))
    _, cache = gpt.decode_step(model, params, jnp.zeros((1,), jnp.int32), cache)
    assert int(cache["length"]) == LENGTH
    with pytest.raises(tj.ShapeError, match=f"the cache holds {LENGTH} of max_seq_len={LENGTH}"):
        gpt.decode_step(model, params, jnp.zeros((1,), jnp.int32), cache)
