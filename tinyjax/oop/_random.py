"""The OOP face's global random stream, like ``torch.manual_seed``: hidden state, by design.

The functional core never uses it; it exists so that ``Linear(784, 128)`` can be built without a
key, as TinyTorch builds it. ``manual_seed(n)`` makes the stream repeatable.
"""

from __future__ import annotations

import jax

_state: dict[str, jax.Array] = {}


def manual_seed(seed: int) -> None:
    """Restart the OOP face's random stream from ``seed``."""
    _state["key"] = jax.random.key(seed)


def next_key() -> jax.Array:
    """A fresh key from the stream (the stream starts at seed 0 unless ``manual_seed`` was called)."""
    if "key" not in _state:
        manual_seed(0)
    _state["key"], key = jax.random.split(_state["key"])
    return key
