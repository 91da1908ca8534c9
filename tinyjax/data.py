"""Data as values: key-explicit batching and augmentations that ``jit`` and ``vmap`` go through.

Randomness comes from an explicit key, never from a global stream, so an epoch is a function of
its key: the same key gives the same batches in any process, on any machine
(``jax.random.permutation`` on the default threefry generator is platform independent)::

    from tinyjax import data

    for epoch in range(3):
        for x, y in data.batches(jax.random.fold_in(key, epoch), (images, labels), 128):
            ...

    augment = data.compose(data.random_flip, data.random_crop(32, padding=4))
    x = data.batch_augment(augment)(key, x)        # (B, C, H, W): one jitted program, a key per image

An augmentation is a pure function ``f(key, x) -> x'`` on ONE sample (an image ``(..., H, W)``,
channels first as tinyjax's ``Conv2d`` takes them); ``jax.vmap`` over keys and samples makes it
batched and ``jax.jit`` compiles the batch into one program. To place batches on a device mesh,
see ``tinyjax.sharding.shard_batch`` and ``tinyjax.sharding.sharded_batches``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError, KeyArgumentError, ShapeError

__all__ = [
    "Augmentation",
    "batch_augment",
    "batch_count",
    "batches",
    "compose",
    "epoch_order",
    "random_crop",
    "random_flip",
]

Augmentation = Callable[[jax.Array, jax.Array], jax.Array]


def _check_key(key: Any, who: str) -> None:
    if not isinstance(key, jax.Array) or not (
        jnp.issubdtype(key.dtype, jax.dtypes.prng_key) or (key.dtype == jnp.uint32 and key.shape[-1:] == (2,))
    ):
        raise KeyArgumentError(
            f"{who} takes a JAX random key (jax.random.key(seed)) as its first argument, got {type(key).__name__}"
        )


def _rows(arrays: Sequence[Any]) -> int:
    if not arrays:
        raise ConfigError("batches needs at least one array")
    sizes = [np.shape(a)[0] if np.ndim(a) else None for a in arrays]
    if None in sizes or len(set(sizes)) != 1:
        shapes = [tuple(np.shape(a)) for a in arrays]
        raise ShapeError("batches", "arrays with the same number of rows (first axis)", shapes, "arrays")
    return int(sizes[0])  # type: ignore[arg-type]


def _check_batch_size(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}")


def batch_count(rows: int, batch_size: int, *, drop_last: bool = False) -> int:
    """How many batches an epoch of ``rows`` rows has: ``rows // batch_size``, plus one partial batch
    unless ``drop_last``."""
    _check_batch_size(batch_size)
    return rows // batch_size if drop_last else -(-rows // batch_size)


def epoch_order(key: jax.Array | None, rows: int, *, shuffle: bool = True) -> np.ndarray:
    """The row order of one epoch, ``(rows,)`` int: ``jax.random.permutation(key, rows)``, or
    ``0 .. rows-1`` when ``shuffle`` is False (then ``key`` may be None)."""
    if not shuffle:
        return np.arange(rows)
    _check_key(key, "epoch_order")
    return np.asarray(jax.random.permutation(cast(jax.Array, key), rows))


def batches(
    key: jax.Array | None,
    arrays: Sequence[Any] | Any,
    batch_size: int,
    *,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[Any]:
    """One epoch over ``arrays`` in batches of ``batch_size`` rows, shuffled by ``key``.

    ``arrays``: a tuple (or list) of arrays with the same first dimension ``N``, NumPy or jax;
    each batch is a tuple of the same length holding rows ``(batch_size, ...)`` of each, in the
    arrays' own type and dtype. A single array gives single arrays. Every row appears exactly
    once per epoch; the last batch has ``N % batch_size`` rows unless ``drop_last`` drops it.

    The order is ``jax.random.permutation(key, N)``: the same key gives the same batches in every
    process and on every backend; a new key per epoch (``jax.random.fold_in(key, epoch)``) gives a
    new order. ``shuffle=False`` keeps the rows in order and needs no key. The iterator is lazy:
    each batch is sliced when it is asked for.
    """
    single = not isinstance(arrays, (tuple, list))
    group = (arrays,) if single else tuple(arrays)
    rows = _rows(group)
    count = batch_count(rows, batch_size, drop_last=drop_last)
    order = epoch_order(key, rows, shuffle=shuffle)
    return _iterate(group, order, batch_size, count, single)


def _iterate(group: tuple[Any, ...], order: np.ndarray, batch_size: int, count: int, single: bool) -> Iterator[Any]:
    for i in range(count):
        index = order[i * batch_size : (i + 1) * batch_size]
        batch = tuple(a[index] for a in group)
        yield batch[0] if single else batch


def _check_image(x: Any, who: str) -> None:
    if jnp.ndim(x) < 2:
        raise ShapeError(who, "one image (..., H, W), channels first", tuple(jnp.shape(x)), "x")


def random_flip(key: jax.Array, x: jax.Array, *, p: float = 0.5) -> jax.Array:
    """``x`` (one image ``(..., H, W)``) mirrored left-right with probability ``p``, else unchanged.

    Same shape and dtype. Width is the last axis (channels-first images, as tinyjax's ``Conv2d``
    and TinyTorch take them). ``functools.partial(random_flip, p=0.3)`` sets another probability.
    """
    _check_image(x, "random_flip")
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"random_flip's probability p must be in [0, 1], got {p!r}")
    return _flip(key, jnp.asarray(x), float(p))


@jax.jit
def _flip(key: jax.Array, x: jax.Array, p: float) -> jax.Array:
    # The mirror as a column index (a gather) rather than a select between x and its mirror: a
    # following crop, itself a gather, then reads the mirrored columns directly, and XLA fuses
    # both into one pass over the batch (docs/data.md).
    cols = jnp.arange(x.shape[-1])
    return x[..., jnp.where(jax.random.bernoulli(key, p), cols[::-1], cols)]


def random_crop(size: int | tuple[int, int], padding: int = 4) -> Augmentation:
    """An augmentation ``f(key, x)``: pad ``x`` (``(..., H, W)``) with ``padding`` zeros on each side,
    then cut a ``size`` window (``(h, w)`` or a square side) at a uniformly random position.

    The result has shape ``(..., h, w)`` and ``x``'s dtype; ``random_crop(32, padding=4)`` is the
    CIFAR-10 recipe (every shift of at most 4 pixels, zeros filling in). The window position is
    drawn from ``key`` and the window is read with traced indices, so ``jit`` and ``vmap`` go through.
    """
    target = (size, size) if isinstance(size, int) else tuple(size)
    if len(target) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in target):
        raise ConfigError(f"random_crop's size must be a positive int or an (h, w) pair, got {size!r}")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ConfigError(f"random_crop's padding must be a non-negative int, got {padding!r}")
    return functools.partial(_crop, target=target, padding=padding)


def _crop(key: jax.Array, x: jax.Array, *, target: tuple[int, int], padding: int) -> jax.Array:
    _check_image(x, "random_crop")
    x = jnp.asarray(x)
    (h, w), (th, tw) = x.shape[-2:], target
    if th > h + 2 * padding or tw > w + 2 * padding:
        raise ShapeError(
            "random_crop", f"an image whose (H, W) padded by {padding} holds {target}", (h, w), "x", "too small"
        )
    return _window(key, x, target, padding)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _window(key: jax.Array, x: jax.Array, target: tuple[int, int], padding: int) -> jax.Array:
    """The window of the zero-padded ``x`` at a position drawn from ``key``, without building the
    padded image: output pixel ``(i, j)`` reads ``x[top + i - padding, left + j - padding]``, or zero
    where that falls outside ``x``. Under ``vmap`` this is one gather with row and column indices per
    image, which XLA:CPU runs about as fast as a copy; ``vmap`` of a ``dynamic_slice`` of
    ``jnp.pad(x)`` (the same values) becomes a gather of whole windows, much slower (docs/data.md)."""
    (h, w), (th, tw) = x.shape[-2:], target
    top_key, left_key = jax.random.split(key)
    top = jax.random.randint(top_key, (), 0, h + 2 * padding - th + 1)
    left = jax.random.randint(left_key, (), 0, w + 2 * padding - tw + 1)
    if h == 0 or w == 0:  # nothing to read: the window lies in the padding
        return jnp.zeros((*x.shape[:-2], th, tw), x.dtype)
    rows = jnp.arange(th) + top - padding
    cols = jnp.arange(tw) + left - padding
    inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
    window = x[..., jnp.clip(rows, 0, h - 1)[:, None], jnp.clip(cols, 0, w - 1)[None, :]]
    return jnp.where(inside, window, jnp.zeros((), x.dtype))


def compose(*augmentations: Augmentation | Sequence[Augmentation]) -> Augmentation:
    """One augmentation ``f(key, x)`` that applies ``augmentations`` in turn, each with its own key
    (``jax.random.split(key, n)``). ``compose(a, b)`` and ``compose([a, b])`` are the same."""
    flat: list[Augmentation] = []
    for item in augmentations:
        if isinstance(item, (list, tuple)):
            flat.extend(item)
        else:
            flat.append(cast(Augmentation, item))
    for item in flat:
        if not callable(item):
            raise ConfigError(f"compose takes augmentations f(key, x), got {type(item).__name__}")

    def composed(key: jax.Array, x: jax.Array) -> jax.Array:
        for augmentation, sub in zip(flat, jax.random.split(key, len(flat)), strict=True):
            x = augmentation(sub, x)
        return x

    return composed


def batch_augment(augmentation: Augmentation) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``augmentation`` over a batch: ``g(key, xs)`` with ``xs`` of shape ``(B, ...)`` applies it to
    each sample with its own key (``jax.random.split(key, B)``), as ``jax.jit(jax.vmap(...))``: one
    compiled program per batch shape. ``g(key, xs)[i] == augmentation(split(key, B)[i], xs[i])``."""

    @jax.jit
    def augment(key: jax.Array, xs: jax.Array) -> jax.Array:
        return jax.vmap(augmentation)(jax.random.split(key, xs.shape[0]), xs)

    return augment
