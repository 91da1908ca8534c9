"""TinyTorch's data loading (module 08, newer 05): ``Dataset``, ``TensorDataset``, ``DataLoader`` and
the augmentations ``RandomHorizontalFlip``, ``RandomCrop``, ``Compose``, over :mod:`tinyjax.data`.

A shuffling ``DataLoader`` draws each epoch's key from Python's global ``random``, where TinyTorch
calls ``random.shuffle``: ``random.seed(42)`` repeats its batches, as the course's code expects.
The augmentations (``np.random`` in TinyTorch) draw keys from the OOP face's stream
(:func:`tinyjax.oop.manual_seed` makes it repeatable). ``DataLoader(..., key=k)`` fixes the order
of every epoch instead (epoch ``e`` uses ``jax.random.fold_in(k, e)``). Either way the key goes to
the functional core, which has no hidden state.
"""

from __future__ import annotations

import functools
import random
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax import data
from tinyjax._errors import ConfigError, ShapeError
from tinyjax.oop._random import next_key
from tinyjax.oop.tensor import Tensor

__all__ = ["Compose", "DataLoader", "Dataset", "RandomCrop", "RandomHorizontalFlip", "TensorDataset"]


def _array(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


class Dataset(ABC):
    """A sized collection of samples: subclasses define ``__len__`` and ``__getitem__``."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of samples."""

    @abstractmethod
    def __getitem__(self, idx: int) -> Any:
        """Sample ``idx`` (``0 <= idx < len(self)``), for example a ``(features, label)`` tuple."""


class TensorDataset(Dataset):
    """Samples ``(t[idx] for t in tensors)`` of Tensors (or arrays) that share their first dimension."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ConfigError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        sizes = [len(t.data) for t in self.tensors]
        if len(set(sizes)) != 1:
            raise ShapeError(
                "TensorDataset", "tensors with the same first dimension (samples)", tuple(sizes), "tensors' lengths"
            )

    def __len__(self) -> int:
        return len(self.tensors[0].data)

    def __getitem__(self, idx: int) -> tuple[Tensor, ...]:
        if not 0 <= idx < len(self):
            raise IndexError(f"index {idx} out of range for a dataset of {len(self)} samples")
        return tuple(Tensor(t.data[idx]) for t in self.tensors)


class DataLoader:
    """Batches of ``dataset`` as tuples of Tensors ``(batch_size, ...)``, shuffled each epoch if asked.

    ``dataset``: a :class:`Dataset`, or any sequence of samples (tuples of arrays, numbers or
    Tensors, as TinyTorch's tests pass ``list(zip(X, y))``). ``len(loader)`` is the number of batches
    (the last may be partial). A :class:`TensorDataset` is sliced directly (one gather per array per
    batch, not one per sample); other datasets are read sample by sample and stacked.
    """

    def __init__(self, dataset: Dataset | Sequence[Any], batch_size: int, shuffle: bool = False, *, key: Any = None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"DataLoader's batch_size must be a positive int, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.key = key
        self._epoch = 0

    def __len__(self) -> int:
        return data.batch_count(len(self.dataset), self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        key = None
        if self.shuffle:
            # TinyTorch's random.shuffle draws from Python's generator: so does the epoch's key
            key = (
                jax.random.key(random.getrandbits(32))
                if self.key is None
                else jax.random.fold_in(self.key, self._epoch)
            )
        self._epoch += 1
        if isinstance(self.dataset, TensorDataset):
            arrays = tuple(t.data for t in self.dataset.tensors)
            for batch in data.batches(key, arrays, self.batch_size, shuffle=self.shuffle):
                yield tuple(Tensor(a) for a in batch)
            return
        order = data.epoch_order(key, len(self.dataset), shuffle=self.shuffle)
        for start in range(0, len(order), self.batch_size):
            yield self._collate_batch([self.dataset[int(i)] for i in order[start : start + self.batch_size]])

    def _collate_batch(self, batch: list[Any]) -> tuple[Tensor, ...]:
        """Stack the samples' fields: ``[(x0, y0), (x1, y1)] -> (Tensor([x0, x1]), Tensor([y0, y1]))``."""
        if not batch:
            return ()
        samples = [s if isinstance(s, (tuple, list)) else (s,) for s in batch]
        return tuple(Tensor(np.stack([np.asarray(_array(s[i])) for s in samples])) for i in range(len(samples[0])))


def _width_axis(shape: tuple[int, ...]) -> int:
    """TinyTorch's (newer) layout guess: channels last when the last axis has at most 4 entries."""
    if len(shape) < 2:
        raise ShapeError("RandomHorizontalFlip", "an image of at least 2 dimensions (H, W)", shape, "x")
    if len(shape) >= 3 and shape[-1] <= 4:
        return -2
    return -1


def _apply(fn: Any, x: Any, channels_last: bool) -> Any:
    """Run the functional augmentation ``fn(key, image)`` on ``x`` (Tensor or array), keeping its type."""
    value = jnp.asarray(_array(x))
    if channels_last:
        value = jnp.moveaxis(value, -1, -3)
    out = fn(next_key(), value)
    if channels_last:
        out = jnp.moveaxis(out, -3, -1)
    if isinstance(x, Tensor):
        return Tensor(out)
    return np.asarray(out) if isinstance(x, np.ndarray) else out


class RandomHorizontalFlip:
    """Mirror an image left-right with probability ``p`` (TinyTorch's newer layout rule: ``(H, W)``,
    ``(..., C, H, W)``, or ``(..., H, W, C)`` when the last axis has at most 4 channels)."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"RandomHorizontalFlip's probability p must be in [0, 1], got {p!r}")
        self.p = p

    def __call__(self, x: Any) -> Any:
        shape = tuple(np.shape(_array(x)))
        return _apply(functools.partial(data.random_flip, p=self.p), x, _width_axis(shape) == -2)


class RandomCrop:
    """Zero-pad an image by ``padding`` on each side, then cut a random ``size`` window (the CIFAR-10
    recipe: ``RandomCrop(32, padding=4)``). ``(H, W)``, ``(C, H, W)`` with ``C <= 4``, or ``(H, W, C)``."""

    def __init__(self, size: int | tuple[int, int], padding: int = 4) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = padding
        self._crop = data.random_crop(self.size, padding)  # type: ignore[arg-type]

    def __call__(self, x: Any) -> Any:
        shape = tuple(np.shape(_array(x)))
        if len(shape) not in (2, 3):
            raise ShapeError("RandomCrop", "an image (H, W), (C, H, W) or (H, W, C)", shape, "x")
        return _apply(self._crop, x, len(shape) == 3 and shape[0] > 4)


class Compose:
    """Apply ``transforms`` in turn: ``Compose([RandomHorizontalFlip(), RandomCrop(32, 4)])(x)``."""

    def __init__(self, transforms: Sequence[Any]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for transform in self.transforms:
            x = transform(x)
        return x
