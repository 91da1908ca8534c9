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
import numbers
import weakref
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._checks import check_features, check_input_array, check_key
from tinyjax._errors import ConfigError, DTypeError, ShapeError
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


def _limit(model: Layer) -> int:
    return int(_parts(model)[1].config["max_seq_len"])


def _check_tokens(model: Layer, tokens: Any, what: str, where: str) -> Any:
    """``tokens`` (B, T) as an integer array, T >= 1, every id in [0, vocab) while the ids are concrete.

    Under a caller's ``jax.jit`` the ids are not known yet and only the shape and dtype are checked
    (an id outside the vocabulary then gives NaN logits, as the Embedding documents).
    """
    if not isinstance(tokens, jax.Array | np.ndarray):
        tokens = check_input_array(tokens, f"{where}({model.name})")
    if jnp.ndim(tokens) != 2 or tokens.shape[1] < 1:
        raise ShapeError(
            f"{where}({model.name})",
            ("B", "T"),
            tuple(jnp.shape(tokens)),
            what=what,
            hint="integer token ids, one row per sequence, with T >= 1",
        )
    if not jnp.issubdtype(tokens.dtype, jnp.integer):
        raise DTypeError(
            f"{where}({model.name})",
            f"expected integer token ids, got {tokens.dtype}; convert them with .astype(jnp.int32)",
        )
    vocab = _parts(model)[0].config["num_embeddings"]
    if not isinstance(tokens, jax.core.Tracer):
        ids = np.asarray(tokens)
        bad = np.argwhere((ids < 0) | (ids >= vocab))
        if bad.size:
            at = tuple(int(i) for i in bad[0])
            raise ConfigError(
                f"{where}({model.name}): {what} must hold token ids in [0, {vocab}), "
                f"got {int(ids[at])} at index {at}; check the tokenizer's vocabulary"
            )
    return tokens


_LENGTHS: dict[int, tuple[Any, int]] = {}
"""id(cache["length"]) -> (a weak reference to it, its value): the lengths of the caches that prefill
and decode_step returned, known on the host, so that checking the room costs no wait for the device."""


def _remember(length: jax.Array, value: int) -> None:
    key = id(length)
    _LENGTHS[key] = (weakref.ref(length, lambda _: _LENGTHS.pop(key, None)), value)


def _cached_length(length: Any) -> int:
    known = _LENGTHS.get(id(length))
    return known[1] if known is not None and known[0]() is length else int(length)


def _check_room(model: Layer, cache: Cache, new: int, where: str) -> int | None:
    """Refuse ``new`` tokens that do not fit after the cached ones; the cache's length after them (None if traced)."""
    if not isinstance(cache, dict) or set(cache) != {"key", "value", "length"}:
        raise ConfigError(f"{where}({model.name}): expected a cache from tinyjax.gpt.init_cache, got {_short(cache)}")
    length, limit = cache["length"], cache["key"].shape[2]
    if isinstance(length, jax.core.Tracer):
        return None
    held = _cached_length(length)
    if held + new > limit:
        raise ShapeError(
            f"{where}({model.name})",
            f"at most {limit - held} new token(s): the cache holds {held} of max_seq_len={limit} positions",
            new,
            what="tokens",
            hint="start again from init_cache, or build the model with a larger max_seq_len",
        )
    return held + new


def _short(value: Any) -> str:
    text = f"{type(value).__name__} {value!r}"
    return text if len(text) <= 60 else text[:57] + "..."


@functools.partial(jax.jit, static_argnums=0)
def _prefill(model: Layer, params: Params, prompt: jax.Array, cache: Cache) -> tuple[jax.Array, Cache]:
    return _extend(model, params, prompt, cache)


def prefill(model: Layer, params: Params, prompt: Any, cache: Cache) -> tuple[jax.Array, Cache]:
    """Run ``prompt`` (B, T) int after the cached tokens: ``(logits (B, T, V), cache)``. jit-compiled per shape.

    Raises ShapeError when the prompt does not fit in the cache's free positions, ConfigError for a
    token id outside the vocabulary (both checked while the values are concrete, outside ``jax.jit``).
    """
    prompt = _check_tokens(model, prompt, "prompt", "prefill")
    after = _check_room(model, cache, prompt.shape[1], "prefill")
    logits, cache = _prefill(model, params, prompt, cache)
    if after is not None:
        _remember(cache["length"], after)
    return logits, cache


prefill.jitted = _prefill  # type: ignore[attr-defined]


@functools.partial(jax.jit, static_argnums=0)
def _decode_step(model: Layer, params: Params, token: jax.Array, cache: Cache) -> tuple[jax.Array, Cache]:
    logits, cache = _extend(model, params, token[:, None], cache)
    return logits[:, 0], cache


def decode_step(model: Layer, params: Params, token: Any, cache: Cache) -> tuple[jax.Array, Cache]:
    """One token ``(B,)`` int at position ``cache["length"]``: ``(logits (B, V), cache)``; compiled once.

    Raises ShapeError when the cache is full (``length == max_seq_len``), ConfigError for a token id
    outside the vocabulary given from the host (a list or NumPy array; a jax array computed on the
    device, a sampled token, is not read back, so a decode loop never waits for the device to check).
    """
    if not isinstance(token, jax.Array | np.ndarray):
        token = check_input_array(token, f"decode_step({model.name})")
    if jnp.ndim(token) != 1:
        raise ShapeError(
            f"decode_step({model.name})",
            ("B",),
            tuple(jnp.shape(token)),
            what="token",
            hint="one token id per sequence",
        )
    if not isinstance(token, jax.Array):  # ids computed on the device (sampled) are not read back: no wait
        _check_tokens(model, token[:, None], "token", "decode_step")
    after = _check_room(model, cache, 1, "decode_step")
    logits, cache = _decode_step(model, params, token, cache)
    if after is not None:
        _remember(cache["length"], after)
    return logits, cache


decode_step.jitted = _decode_step  # type: ignore[attr-defined]


def sample(logits: jax.Array, key: jax.Array | None, temperature: Any = 1.0, top_k: Any = None) -> jax.Array:
    """Next tokens ``(B,)`` from logits ``(B, V)``: argmax without a key, else softmax(logits / T) over the top k.

    ``temperature`` (0 is greedy) and ``top_k`` (None: every token) may be traced values: one
    compiled program serves every temperature and every k.
    """
    greedy = jnp.argmax(logits, axis=-1).astype(jnp.int32)
    if key is None:
        return greedy
    temperature = jnp.asarray(temperature, logits.dtype)
    scaled = logits / jnp.where(temperature > 0, temperature, 1)
    if top_k is not None:
        ordered = jnp.sort(scaled, axis=-1)  # the k-th largest is at V - k
        kth = jnp.take(ordered, logits.shape[-1] - jnp.asarray(top_k, jnp.int32), axis=-1)[..., None]
        scaled = jnp.where(scaled < kth, -jnp.inf, scaled)
    sampled = jax.random.categorical(key, scaled, axis=-1).astype(jnp.int32)
    return jnp.where(temperature > 0, sampled, greedy)


def _check_length(model: Layer, prompt: Any, steps: int, where: str) -> tuple[Any, int]:
    prompt = _check_tokens(model, prompt, "prompt", where)
    limit = _limit(model)
    steps = check_features("steps", steps)
    if prompt.shape[1] + steps > limit:
        raise ShapeError(
            f"{where}({model.name})",
            f"a prompt (B, T) with 1 <= T and T + {steps} steps <= {limit}",
            tuple(jnp.shape(prompt)),
            what="prompt",
        )
    return prompt, steps


def _check_sampling(model: Layer, key: Any, temperature: Any, top_k: Any, where: str) -> tuple[Any, Any]:
    """``(temperature, top_k)`` as run-time arrays after checking them (and the key) while concrete."""
    if key is not None:
        check_key(key, f"tinyjax.gpt.{where}", where="key")
    vocab = _parts(model)[0].config["num_embeddings"]
    if not isinstance(temperature, jax.core.Tracer):
        if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real | np.ndarray | jax.Array):
            raise ConfigError(f"{where}: temperature must be a number >= 0, got {_short(temperature)}")
        value: Any = temperature
        if np.ndim(value) != 0 or not np.isfinite(value) or float(value) < 0:
            raise ConfigError(f"{where}: temperature must be a finite number >= 0 (0 is greedy), got {temperature!r}")
    if top_k is None:
        top_k = vocab
    elif not isinstance(top_k, jax.core.Tracer) and (
        isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or not 1 <= int(top_k) <= vocab
    ):
        raise ConfigError(
            f"{where}: top_k must be None or an integer in [1, {vocab}] (the vocabulary), got {_short(top_k)}"
        )
    return jnp.asarray(temperature, jnp.float32), jnp.asarray(top_k, jnp.int32)


def _keys(key: jax.Array | None, steps: int) -> jax.Array:
    return jax.random.split(key, steps) if key is not None else jnp.zeros((steps,), jnp.int32)


def generate(
    model: Layer,
    params: Params,
    prompt: Any,
    steps: int,
    *,
    key: jax.Array | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> jax.Array:
    """``steps`` new tokens ``(B, steps)`` after ``prompt`` (B, T) int: a prefill, then ``lax.scan`` of decode steps.

    Greedy without ``key``; with one, sampled at ``temperature`` (0 is greedy) from the ``top_k``
    most likely tokens (all of them if None), each step with its own subkey. One XLA program,
    compiled once per (steps, prompt shape, greedy or sampled): ``temperature`` and ``top_k`` are
    run-time values, so a sweep over them does not recompile.

    Raises ShapeError for a prompt that is not (B, T >= 1) or T + steps > max_seq_len, DTypeError
    for non-integer ids, ConfigError for an id outside the vocabulary, a negative temperature or a
    ``top_k`` outside [1, vocab], KeyArgumentError for a ``key`` that is not a ``jax.random`` key.
    """
    prompt, steps = _check_length(model, prompt, steps, "generate")
    temperature, top_k = _check_sampling(model, key, temperature, top_k, "generate")
    return _generate(model, params, prompt, steps, key, temperature, top_k)


@functools.partial(jax.jit, static_argnames=("model", "steps"))
def _generate(
    model: Layer, params: Params, prompt: jax.Array, steps: int, key: Any, temperature: Any, top_k: Any
) -> jax.Array:
    keys = _keys(key, steps)
    logits, cache = _extend(model, params, prompt, init_cache(model, prompt.shape[0], params[0]["weight"].dtype))
    first = sample(logits[:, -1], None if key is None else keys[0], temperature, top_k)

    def body(carry: tuple[jax.Array, Cache], step_key: jax.Array) -> tuple[tuple[jax.Array, Cache], jax.Array]:
        token, cache = carry
        logits, cache = _extend(model, params, token[:, None], cache)
        return (sample(logits[:, 0], None if key is None else step_key, temperature, top_k), cache), token

    (last, _), tokens = jax.lax.scan(body, (first, cache), keys[1:])
    return jnp.concatenate([tokens.T, last[:, None]], axis=1)


generate.jitted = _generate  # type: ignore[attr-defined]


def generate_uncached(
    model: Layer,
    params: Params,
    prompt: Any,
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
    Checks its arguments as :func:`generate` does.
    """
    prompt, steps = _check_length(model, prompt, steps, "generate_uncached")
    temperature, top_k = _check_sampling(model, key, temperature, top_k, "generate_uncached")
    return _generate_uncached(model, params, prompt, steps, key, temperature, top_k)


@functools.partial(jax.jit, static_argnames=("model", "steps"))
def _generate_uncached(
    model: Layer, params: Params, prompt: jax.Array, steps: int, key: Any, temperature: Any, top_k: Any
) -> jax.Array:
    keys = _keys(key, steps)
    batch, start = prompt.shape
    limit = _limit(model)
    buffer = jnp.zeros((batch, limit), jnp.int32).at[:, :start].set(prompt)

    def body(buffer: jax.Array, step: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        position, step_key = step
        logits = jax.lax.dynamic_index_in_dim(model.raw_apply(params, buffer), position - 1, axis=1, keepdims=False)
        token = sample(logits, None if key is None else step_key, temperature, top_k)
        return jax.lax.dynamic_update_index_in_dim(buffer, token, position, axis=1), token

    _, tokens = jax.lax.scan(body, buffer, (start + jnp.arange(steps), keys))
    return tokens.T
