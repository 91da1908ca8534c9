"""TinyTorch's module 17: a ``KVCache`` object, attached to a GPT by ``enable_kv_cache``.

The object wraps the functional cache value (:func:`tinyjax.gpt.init_cache`): ``state`` is that
pytree, and ``update`` / ``advance`` / ``reset`` replace it with a new one, so the object looks
mutable as TinyTorch's does while every array stays immutable underneath.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from tinyjax._errors import ConfigError, MissingAttributeError
from tinyjax.oop.tensor import Tensor, array_of

__all__ = ["KVCache", "create_kv_cache", "disable_kv_cache", "enable_kv_cache"]


class KVCache:
    """Keys and values of every layer for up to ``max_seq_len`` positions (TinyTorch's API).

    ``update(layer_idx, key, value)`` writes one position's ``(B, H, 1, D)`` key and value at
    ``seq_pos``; ``get(layer_idx)`` returns the filled part, ``(B, H, seq_pos, D)`` each;
    ``advance()`` moves to the next position; ``reset()`` empties it.
    """

    def __init__(self, batch_size: int, max_seq_len: int, num_layers: int, num_heads: int, head_dim: int):
        self.batch_size, self.max_seq_len, self.num_layers = batch_size, max_seq_len, num_layers
        self.num_heads, self.head_dim = num_heads, head_dim
        self.reset()

    def reset(self) -> None:
        shape = (self.num_layers, self.batch_size, self.max_seq_len, self.num_heads, self.head_dim)
        self.state: dict[str, Any] = {
            "key": jnp.zeros(shape, jnp.float32),
            "value": jnp.zeros(shape, jnp.float32),
            "length": jnp.zeros((), jnp.int32),
        }

    @property
    def seq_pos(self) -> int:
        """How many positions are cached."""
        return int(self.state["length"])

    def update(self, layer_idx: int, key: Any, value: Any) -> None:
        if not 0 <= layer_idx < self.num_layers:
            raise ConfigError(f"KVCache: layer index {layer_idx} is outside 0..{self.num_layers - 1}")
        if self.seq_pos >= self.max_seq_len:
            raise ConfigError(f"KVCache: full at {self.max_seq_len} positions; reset() it or make a longer one")
        for name, new in (("key", key), ("value", value)):  # (B, H, 1, D) -> (B, 1, H, D) at seq_pos
            row = jnp.swapaxes(array_of(new), 1, 2)[:, 0]
            self.state[name] = self.state[name].at[layer_idx, :, self.seq_pos].set(row)

    def get(self, layer_idx: int) -> tuple[Tensor, Tensor]:
        n = self.seq_pos
        return tuple(Tensor(jnp.swapaxes(self.state[name][layer_idx, :, :n], 1, 2)) for name in ("key", "value"))  # type: ignore[return-value]

    def advance(self) -> None:
        self.state["length"] = self.state["length"] + 1

    def get_memory_usage(self) -> dict[str, float]:
        """``total_mb``, ``per_layer_mb``, ``cache_tensors`` (a key and a value per layer), ``total_elements``."""
        total = sum(self.state[name].nbytes for name in ("key", "value"))
        elements = sum(self.state[name].size for name in ("key", "value"))
        return {
            "total_mb": total / 2**20,
            "per_layer_mb": total / self.num_layers / 2**20,
            "cache_tensors": 2 * self.num_layers,
            "total_elements": elements,
        }


def create_kv_cache(batch_size: int, max_seq_len: int, num_layers: int, num_heads: int, head_dim: int) -> KVCache:
    """TinyTorch's factory: an empty :class:`KVCache` of these sizes."""
    return KVCache(batch_size, max_seq_len, num_layers, num_heads, head_dim)


_NEEDS = ("embed_dim", "num_layers", "num_heads", "max_seq_len")


def enable_kv_cache(model: Any, batch_size: int = 1) -> KVCache:
    """Attach a :class:`KVCache` sized from the model's ``embed_dim``, ``num_layers``, ``num_heads`` and
    ``max_seq_len`` (any model with those attributes, as TinyTorch's); returns it.

    The cache is ``model._kv_cache`` and ``model._cache_enabled`` is True, as in TinyTorch. A
    :class:`~tinyjax.oop.GPT` also gets it as ``kv_cache``: its ``generate`` then prefills once and
    decodes one compiled step per token. Another model's forward is left as it is (TinyTorch
    patches its blocks' attention; here the cache is there for the model's own code to use).
    Raises MissingAttributeError (an ``AttributeError``) naming the attributes the model lacks.
    """
    missing = [name for name in _NEEDS if not hasattr(model, name)]
    if missing:
        raise MissingAttributeError(
            f"enable_kv_cache reads {', '.join(_NEEDS)}; {type(model).__name__} has no {missing}"
        )
    if model.embed_dim % model.num_heads:
        raise ConfigError(
            f"enable_kv_cache: embed_dim {model.embed_dim} is not divisible by num_heads {model.num_heads}"
        )
    cache = KVCache(
        batch_size, model.max_seq_len, model.num_layers, model.num_heads, model.embed_dim // model.num_heads
    )
    model._kv_cache, model._cache_enabled = cache, True
    if hasattr(model, "kv_cache"):
        model.kv_cache = cache
    return cache


def disable_kv_cache(model: Any) -> None:
    """Detach the cache: ``generate`` recomputes the whole sequence each step again."""
    model._cache_enabled = False
    if hasattr(model, "_kv_cache"):
        del model._kv_cache
    if hasattr(model, "kv_cache"):
        model.kv_cache = None
