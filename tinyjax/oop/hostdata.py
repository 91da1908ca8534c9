"""``Tensor.data``: a writable NumPy copy of a Tensor's values whose in-place writes reach the Tensor.

TinyTorch's training loops write parameters in place (``p.data -= lr * p.grad.data``,
``w.data[...] = values``). A jax array is immutable, so ``tensor.data`` hands out a NumPy copy of
it (:class:`HostData`) that remembers its Tensor: an item assignment, or an in-place operator on
it or on a view of it, stores the changed values back as the Tensor's new array. Augmented
assignment to the attribute (``p.data -= ...``) goes through the ``data`` setter as well.
Only the OOP face does this: the functional core's arrays are never written.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["HostData", "host_data"]


class HostData(np.ndarray[Any, Any]):
    """A NumPy array copied from a Tensor; writing into it (or into a view of it) updates the Tensor."""

    _owner: Any = None
    _root: Any = None

    def __array_finalize__(self, obj: Any) -> None:
        self._owner = getattr(obj, "_owner", None)
        self._root = getattr(obj, "_root", None)

    def _write_back(self) -> None:
        root = self._root
        if self._owner is not None and root is not None and np.may_share_memory(self, root):
            self._owner.array = jnp.array(np.asarray(root), dtype=self._owner.array.dtype)

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, np.asarray(value))
        self._write_back()


def _in_place(name: str) -> Any:
    def operator(self: HostData, other: Any) -> Any:
        result = getattr(super(HostData, self), name)(np.asarray(other))
        self._write_back()
        return result

    return operator


for _name in ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__"):
    setattr(HostData, _name, _in_place(_name))


def host_data(owner: Any, array: jax.Array) -> HostData:
    """A writable copy of ``array`` (``owner``'s values) that writes changes back into ``owner.array``."""
    copy = np.array(array).view(HostData)
    copy._owner, copy._root = owner, copy
    return copy
