"""Move weights between tinyjax and PyTorch: ``state_dict`` names and each param's axis order.

tinyjax stores a Linear's weight as ``(in, out)`` (``y = x @ W + b``); ``torch.nn.Linear`` stores
``(out, in)`` (``y = x @ W.T + b``). Names are the same (``"0.weight"``, ``"0.bias"``...), so::

    torch_model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    torch_model.load_state_dict(tinyjax.interop.to_torch_state_dict(params, model))     # same outputs
    params = tinyjax.interop.from_torch_state_dict(torch_model.state_dict(), model)

Given the layer, each param moves as its layer describes it (:meth:`tinyjax.Layer.param_info`):
its torch name, the permutation from tinyjax's logical axes (``("in", "out")``) to torch's
(``("out", "in")``), the axes torch merges into one (MultiHeadAttention's head-major ``(E, 3, H, D)``
in-projection is torch's ``(3E, E)``), and torch's dtype where it keeps another (BatchNorm's ``num_batches_tracked``:
int64 in torch, int32 here, converted both ways and checked to hold the same value). A param no
layer describes (a user's pair) is copied as it is.

The layer is required, both ways: params alone do not say which layer made each array, and the
same name and rank need different moves (a 2-D ``weight`` is a Linear's ``(in, out)``, which torch
transposes, or an Embedding's ``(V, D)``, which torch keeps; a 4-D one is a conv kernel whose
spatial axes must not be swapped). Guessing would hand torch wrong weights that a ``strict=True``
load accepts, so a missing layer, or params that do not fit the layer, raise instead.
torch is imported only when these functions run (``pip install 'tinyjax[torch]'``). bfloat16 and
float16 move bit-exactly.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import jax
import ml_dtypes
import numpy as np

from tinyjax._errors import ConfigError
from tinyjax.layer import Layer, ParamInfo, Params, is_param_info
from tinyjax.params import named_parameters, path_name
from tinyjax.tools._templates import template

__all__ = ["from_torch_state_dict", "to_torch_state_dict"]


def _torch() -> Any:
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            "tinyjax.interop needs PyTorch: pip install 'tinyjax[torch]' (or any torch >= 2.0)"
        ) from error
    return torch


@dataclasses.dataclass(frozen=True)
class _Move:
    """How one param moves to torch: its name there, then ``np.transpose(permutation)``, then the axes
    merged in runs of ``groups`` (one entry per torch axis, None: none merged), and torch's dtype."""

    torch_name: str
    permutation: tuple[int, ...] | None = None
    groups: tuple[int, ...] | None = None
    torch_dtype: str | None = None

    def to_torch(self, array: np.ndarray) -> np.ndarray:
        if self.permutation is not None:
            array = np.transpose(array, self.permutation)
        return array.reshape(self.torch_shape(array.shape)) if self.groups is not None else array

    def torch_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """torch's shape of the param whose tinyjax shape, already permuted, is ``shape``."""
        if self.groups is None:
            return tuple(shape)
        ends = np.cumsum(self.groups)
        return tuple(math.prod(shape[end - size : end]) for size, end in zip(self.groups, ends, strict=True))

    def from_torch(self, array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """torch's ``array`` in tinyjax's layout, for a param of tinyjax shape ``shape``."""
        permuted = _permuted(shape, self.permutation)
        if self.groups is not None:
            array = array.reshape(permuted)
        return array if self.permutation is None else np.transpose(array, np.argsort(self.permutation))


def _moves(layer: Layer) -> dict[str, _Move]:
    """``{tinyjax name: how it moves}``, from the layer's description."""
    paths, _ = jax.tree_util.tree_flatten_with_path(layer.param_info(), is_leaf=is_param_info)
    return {path_name(path): _move(path_name(path), info) for path, info in paths}


def _require_layer(layer: Any, where: str) -> Layer:
    if isinstance(layer, Layer):
        return layer
    got = "none" if layer is None else f"{type(layer).__name__}"
    raise ConfigError(
        f"{where} needs the tinyjax Layer the params belong to (the model), got {got}: params alone do not say "
        "which layer made each array, and a Linear's weight moves to torch transposed while an Embedding's or a "
        "conv kernel's spatial axes do not; pass the model, e.g. to_torch_state_dict(params, model)"
    )


def _move(name: str, info: ParamInfo) -> _Move:
    prefix = name.rpartition(".")[0]
    torch_name = f"{prefix}.{info.torch_name}" if prefix and info.torch_name else (info.torch_name or name)
    if info.axes is None or info.torch_axes is None or info.torch_axes == info.axes:
        return _Move(torch_name, torch_dtype=info.torch_dtype)
    runs = [axis if isinstance(axis, tuple) else (axis,) for axis in info.torch_axes]
    order = tuple(info.axes.index(axis) for run in runs for axis in run)
    groups = tuple(len(run) for run in runs) if len(runs) < len(order) else None
    return _Move(torch_name, order if order != tuple(range(len(order))) else None, groups, info.torch_dtype)


def to_torch_state_dict(params: Params, layer: Layer | None = None) -> OrderedDict[str, Any]:
    """``{name: torch.Tensor}`` in PyTorch's layout, ready for ``torch_module.load_state_dict``.

    Args:
      params: the params pytree.
      layer: the Layer they belong to (required): each param takes its torch name and axis order
        from the layer's description.

    Returns:
      CPU tensors, dtypes kept (float32, float16, bfloat16...): Linear weights ``(in, out)`` become
      ``(out, in)``; biases and undescribed params are copied unchanged.

    Raises:
      ConfigError: without a layer (see the module's docstring for why).
      WeightsMismatchError: params that do not fit the layer, every missing, extra or misshapen one listed.
    """
    layer = _require_layer(layer, "to_torch_state_dict")
    torch = _torch()
    try:
        named = named_parameters(params)
    except Exception as error:  # not a pytree of arrays
        raise ConfigError(
            f"to_torch_state_dict: params must be a pytree of arrays, got {type(params).__name__}"
        ) from error
    found = {name: (tuple(np.shape(leaf)), np.asarray(leaf).dtype) for name, leaf in named.items()}
    template(layer).check(found, source="the params given", dtypes=False)
    moves = _moves(layer)
    state = OrderedDict()
    for name, leaf in named.items():
        move = moves.get(name, _Move(name))
        array = np.asarray(move.to_torch(np.asarray(leaf)), dtype=move.torch_dtype, order="C")  # keeps 0-d 0-d
        if array.dtype == ml_dtypes.bfloat16:  # numpy has no bfloat16 torch understands: move the bits
            state[move.torch_name] = torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
        else:
            state[move.torch_name] = torch.from_numpy(array.copy())
    return state


def _to_numpy(torch: Any, name: str, tensor: Any) -> np.ndarray:
    if not isinstance(tensor, torch.Tensor):
        raise ConfigError(f"state_dict entry {name!r} is {type(tensor).__name__}, not a torch.Tensor")
    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def from_torch_state_dict(state_dict: Mapping[str, Any], like: Any) -> Params:
    """Params for ``like`` from a PyTorch ``state_dict`` (``torch_module.state_dict()``).

    Args:
      state_dict: ``{name: torch.Tensor}`` with PyTorch's names and ``(out, in)`` weights.
      like: the :class:`~tinyjax.Layer` (required: a params template does not say how each param moves).

    Returns:
      The params pytree in tinyjax's layout, dtypes kept exactly: each param is found by its torch
      name and permuted as the layer describes.

    Raises:
      ConfigError: ``like`` is not a Layer, or ``state_dict`` is not a mapping of tensors.
      WeightsMismatchError: listing every missing, unexpected, misshapen (shapes given in PyTorch's
        layout) or wrongly typed tensor at once. Cast the torch model (``.float()``) to fix dtypes.
    """
    like = _require_layer(like, "from_torch_state_dict")
    torch = _torch()
    if not isinstance(state_dict, Mapping):
        raise ConfigError(
            f"from_torch_state_dict expects a state_dict (torch_module.state_dict()), got {type(state_dict).__name__}"
        )
    target = template(like)
    moves = _moves(like)
    ours = {move.torch_name: name for name, move in moves.items()}
    found, arrays = {}, {}
    for torch_name, tensor in state_dict.items():
        name = ours.get(torch_name, torch_name)
        array = _to_numpy(torch, torch_name, tensor)
        torch_dtype = moves[name].torch_dtype if name in moves else None
        if torch_dtype is not None and array.dtype == torch_dtype and name in target.specs:
            array = _narrowed(torch_name, array, target.specs[name][1])
        found[name] = (tuple(array.shape), array.dtype)  # PyTorch's layout: the shapes the user holds
        arrays[name] = array
    expected = {
        name: (moves[name].torch_shape(_permuted(shape, moves[name].permutation)), dtype)
        for name, (shape, dtype) in target.specs.items()
    }
    target.check(found, source="the PyTorch state_dict", expected=expected)
    return target.build({name: moves[name].from_torch(array, target.specs[name][0]) for name, array in arrays.items()})


def _narrowed(name: str, array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``array`` (torch's dtype) in tinyjax's ``dtype``; ConfigError if a value does not survive the cast."""
    narrowed = array.astype(dtype)
    if not np.array_equal(narrowed, array):
        raise ConfigError(f"state_dict entry {name!r} holds values that {dtype} cannot represent exactly")
    return narrowed


def _permuted(shape: tuple[int, ...], permutation: tuple[int, ...] | None) -> tuple[int, ...]:
    return tuple(shape) if permutation is None else tuple(shape[i] for i in permutation)
