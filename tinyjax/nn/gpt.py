"""A GPT as a Sequential of pure pairs, and its generation with a key/value cache that is a value.

::

    model = tj.GPT(vocab_size=65, embed_dim=64, num_layers=2, num_heads=4, max_seq_len=128)
    params = model.init(jax.random.key(0))
    logits = model.apply(params, tokens)                          # (B, T) int -> (B, T, vocab)
    out = tj.gpt.generate(model, params, prompt, 100)             # greedy: (B, 100) new tokens
    out = tj.gpt.generate(model, params, prompt, 100, key=key, temperature=0.8, top_k=10)

The model is ``Sequential(Embedding, positions, Repeat(TransformerBlock, n), LayerNorm, Linear)``.
Generation carries a cache ``{"key": (n, B, L, H, D), "value": (n, B, L, H, D), "length": int32}``
(the keys and values of every block for the positions seen so far, and how many there are) from
step to step: :func:`prefill` runs the prompt and fills it, :func:`decode_step` runs one token and
returns the next cache. Both are jit-compiled once per shape, and :func:`generate` runs the whole
decode as one ``jax.lax.scan`` over the compiled step. Nothing is hidden in an object.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from tinyjax._checks import check_features
from tinyjax._errors import ConfigError, ShapeError
from tinyjax.layer import Layer, Params
from tinyjax.nn import transformer
from tinyjax.nn.embedding import Embedding, PositionalEncoding
from tinyjax.nn.linear import Linear
from tinyjax.nn.normalization import LayerNorm
from tinyjax.nn.repeat import Repeat
from tinyjax.nn.sequential import Sequential

__all__ = ["GPT", "decode_step", "generate", "generate_uncached", "init_cache", "prefill"]

Cache = dict[str, jax.Array]


def GPT(
    vocab_size: int,
    embed_dim: int,
    num_layers: int,
    num_heads: int,
    max_seq_len: int,
    *,
    mlp_ratio: int = 4,
    dropout: float = 0.0,
    positions: str = "learned",
) -> Layer:
    """A decoder-only transformer (TinyTorch's ``GPT``) as a :func:`~tinyjax.Sequential` of five pure pairs.

    ``Sequential(Embedding(V, E), PositionalEncoding(L, E), Repeat(TransformerBlock(E, H, causal=True),
    n), LayerNorm(E), Linear(E, V))``; ``positions="sinusoidal"`` puts a
    :func:`~tinyjax.SinusoidalPositionalEncoding` in place of the learned one.

    Shapes:
      ``apply(params, tokens)``: integer ``(B, T)`` with ``T <= max_seq_len`` -> logits ``(B, T, V)``.

    It is a Sequential (the conformance table covers each of its parts): every tool works on it.
    """
    vocab = check_features("vocab_size", vocab_size)
    embed = check_features("embed_dim", embed_dim)
    length = check_features("max_seq_len", max_seq_len)
    if positions == "learned":
        position_layer = PositionalEncoding(length, embed)
    elif positions == "sinusoidal":
        position_layer = transformer.SinusoidalPositionalEncoding(length, embed)
    else:
        raise ConfigError(f"GPT positions must be 'learned' or 'sinusoidal', got {positions!r}")
    block = transformer.TransformerBlock(embed, num_heads, mlp_ratio, dropout, causal=True)
    return Sequential(
        Embedding(vocab, embed), position_layer, Repeat(block, num_layers), LayerNorm(embed), Linear(embed, vocab)
    )


def _parts(model: Layer) -> tuple[Layer, ...]:
    parts = model.children
    if len(parts) != 5 or len(parts[2].children) != 1 or "max_seq_len" not in parts[1].config:
        raise ConfigError(f"generation needs a model built by tinyjax.GPT, got {model.name}")
    return parts


def init_cache(model: Layer, batch: int, dtype: Any = jnp.float32) -> Cache:
    """An empty cache for ``batch`` sequences of up to ``max_seq_len`` tokens: zeros, ``length`` 0."""
    _, positions, blocks, _, _ = _parts(model)
    config = blocks.children[0].config
    heads = config["num_heads"]
    shape = (blocks.config["n"], batch, positions.config["max_seq_len"], heads, config["embed_dim"] // heads)
    return {"key": jnp.zeros(shape, dtype), "value": jnp.zeros(shape, dtype), "length": jnp.zeros((), jnp.int32)}


def _extend(model: Layer, params: Params, tokens: jax.Array, cache: Cache) -> tuple[jax.Array, Cache]:
    """Logits ``(B, t, V)`` of ``t`` new tokens after the ``cache["length"]`` cached ones, and the new cache."""
    embedding, positions, blocks, norm, head = _parts(model)
    if jnp.ndim(tokens) != 2 or tokens.shape[0] != cache["key"].shape[1]:
        raise ShapeError(model.name, ("B", "t"), tuple(jnp.shape(tokens)), what="tokens",
                         hint=f"The cache holds B={cache['key'].shape[1]} sequences")  # fmt: skip
    index = cache["length"]
    x = embedding.raw_apply(params[0], tokens)
    length, embed = cache["key"].shape[2], x.shape[-1]
    table = positions.raw_apply(params[1], jnp.zeros((length, embed), x.dtype))  # the positions' additive rows
    x = x + jax.lax.dynamic_slice(table, (index, 0), (tokens.shape[1], embed))
    block = blocks.children[0]

    def step(h: jax.Array, layer: tuple[Params, jax.Array, jax.Array]) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        block_params, keys, values = layer
        h, kv = transformer.decode(block, block_params, h, {"key": keys, "value": values}, index)
        return h, (kv["key"], kv["value"])

    x, (keys, values) = jax.lax.scan(step, x, (params[2], cache["key"], cache["value"]))
    logits = head.raw_apply(params[4], norm.raw_apply(params[3], x))
    return logits, {"key": keys, "value": values, "length": index + tokens.shape[1]}


@functools.partial(jax.jit, static_argnums=0)
def prefill(model: Layer, params: Params, prompt: jax.Array, cache: Cache) -> tuple[jax.Array, Cache]:
    """Run ``prompt`` (B, T) int after the cached tokens: ``(logits (B, T, V), cache)``. jit-compiled per shape."""
    return _extend(model, params, prompt, cache)


@functools.partial(jax.jit, static_argnums=0)
def decode_step(model: Layer, params: Params, token: jax.Array, cache: Cache) -> tuple[jax.Array, Cache]:
    """One token ``(B,)`` int at position ``cache["length"]``: ``(logits (B, V), cache)``; compiled once."""
    logits, cache = _extend(model, params, token[:, None], cache)
    return logits[:, 0], cache


def sample(logits: jax.Array, key: jax.Array | None, temperature: float = 1.0, top_k: int | None = None) -> jax.Array:
    """Next tokens ``(B,)`` from logits ``(B, V)``: argmax without a key, else softmax(logits / T) over the top k."""
    if key is None or temperature == 0:
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)
    logits = logits / temperature
    if top_k is not None:
        kth = jax.lax.top_k(logits, top_k)[0][..., -1:]
        logits = jnp.where(logits < kth, -jnp.inf, logits)
    return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


def _check_length(model: Layer, prompt: jax.Array, steps: int) -> int:
    limit = _parts(model)[1].config["max_seq_len"]
    steps = check_features("steps", steps)
    if jnp.ndim(prompt) != 2 or prompt.shape[1] < 1 or prompt.shape[1] + steps > limit:
        raise ShapeError(model.name, f"a prompt (B, T) with 1 <= T and T + {steps} steps <= {limit}",
                         tuple(jnp.shape(prompt)), what="prompt")  # fmt: skip
    return steps


def _keys(key: jax.Array | None, steps: int) -> jax.Array:
    return jax.random.split(key, steps) if key is not None else jnp.zeros((steps,), jnp.int32)


@functools.partial(jax.jit, static_argnames=("model", "steps", "temperature", "top_k"))
def generate(
    model: Layer,
    params: Params,
    prompt: jax.Array,
    steps: int,
    *,
    key: jax.Array | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> jax.Array:
    """``steps`` new tokens ``(B, steps)`` after ``prompt`` (B, T) int: a prefill, then ``lax.scan`` of decode steps.

    Greedy without ``key``; with one, sampled at ``temperature`` from the ``top_k`` most likely
    tokens (all of them if None), each step with its own subkey. One XLA program.
    """
    steps = _check_length(model, prompt, steps)
    keys = _keys(key, steps)
    logits, cache = _extend(model, params, prompt, init_cache(model, prompt.shape[0], params[0]["weight"].dtype))
    first = sample(logits[:, -1], None if key is None else keys[0], temperature, top_k)

    def body(carry: tuple[jax.Array, Cache], step_key: jax.Array) -> tuple[tuple[jax.Array, Cache], jax.Array]:
        token, cache = carry
        logits, cache = _extend(model, params, token[:, None], cache)
        return (sample(logits[:, 0], None if key is None else step_key, temperature, top_k), cache), token

    (last, _), tokens = jax.lax.scan(body, (first, cache), keys[1:])
    return jnp.concatenate([tokens.T, last[:, None]], axis=1)


@functools.partial(jax.jit, static_argnames=("model", "steps", "temperature", "top_k"))
def generate_uncached(
    model: Layer,
    params: Params,
    prompt: jax.Array,
    steps: int,
    *,
    key: jax.Array | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> jax.Array:
    """:func:`generate` without a cache: every step runs the whole model over the whole sequence so far.

    The sequence lives in a ``(B, max_seq_len)`` buffer (one compiled step for every position;
    the causal mask makes the padding after the last token irrelevant), so each step costs a full
    forward pass: the reference the cached decode must equal, and the baseline it is timed against.
    """
    steps = _check_length(model, prompt, steps)
    keys = _keys(key, steps)
    batch, start = prompt.shape
    limit = _parts(model)[1].config["max_seq_len"]
    buffer = jnp.zeros((batch, limit), jnp.int32).at[:, :start].set(prompt)

    def body(buffer: jax.Array, step: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        position, step_key = step
        logits = jax.lax.dynamic_index_in_dim(model.raw_apply(params, buffer), position - 1, axis=1, keepdims=False)
        token = sample(logits, None if key is None else step_key, temperature, top_k)
        return jax.lax.dynamic_update_index_in_dim(buffer, token, position, axis=1), token

    _, tokens = jax.lax.scan(body, buffer, (start + jnp.arange(steps), keys))
    return tokens.T
