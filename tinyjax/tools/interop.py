"""Move weights between tinyjax and PyTorch: ``state_dict`` names and each param's axis order.

tinyjax stores a Linear's weight as ``(in, out)`` (``y = x @ W + b``); ``torch.nn.Linear`` stores
``(out, in)`` (``y = x @ W.T + b``). Names are the same (``"0.weight"``, ``"0.bias"``...), so::

    torch_model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    torch_model.load_state_dict(tinyjax.interop.to_torch_state_dict(params, model))     # same outputs
    params = tinyjax.interop.from_torch_state_dict(torch_model.state_dict(), model)

Given the layer, each param moves as its layer describes it (:meth:`tinyjax.Layer.param_info`):
its torch name, and the permutation from tinyjax's logical axes (``("in", "out")``) to torch's
(``("out", "in")``), and torch's dtype where it keeps another (BatchNorm's ``num_batches_tracked``:
int64 in torch, int32 here, converted both ways and checked to hold the same value). A param no
layer describes (a user's pair) is copied as it is. Without a
layer (params alone, as in earlier releases) every tensor named ``weight`` with two or more axes
has its last two axes swapped: right for Linear-only models, so pass the layer for anything else.
torch is imported only when these functions run (``pip install 'tinyjax[torch]'``). bfloat16 and
float16 move bit-exactly.
"""

from __future__ import annotations

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


Move = tuple[str, tuple[int, ...] | None, str | None]


def _moves(ndims: Mapping[str, int], layer: Layer | None) -> dict[str, Move]:
    """``{tinyjax name: (torch name, permutation to torch's axis order or None, torch dtype or None)}``."""
    if layer is None:
        return {name: (name, _legacy_swap(name, ndim), None) for name, ndim in ndims.items()}
    paths, _ = jax.tree_util.tree_flatten_with_path(layer.param_info(), is_leaf=is_param_info)
    return {path_name(path): _move(path_name(path), info) for path, info in paths}


def _move(name: str, info: ParamInfo) -> Move:
    prefix = name.rpartition(".")[0]
    torch_name = f"{prefix}.{info.torch_name}" if prefix and info.torch_name else (info.torch_name or name)
    if info.axes is None or info.torch_axes is None or info.torch_axes == info.axes:
        return torch_name, None, info.torch_dtype
    return torch_name, tuple(info.axes.index(axis) for axis in info.torch_axes), info.torch_dtype


def _legacy_swap(name: str, ndim: int) -> tuple[int, ...] | None:
    if name.rsplit(".", 1)[-1] == "weight" and ndim >= 2:
        return (*range(ndim - 2), ndim - 1, ndim - 2)
    return None


def to_torch_state_dict(params: Params, layer: Layer | None = None) -> OrderedDict[str, Any]:
    """``{name: torch.Tensor}`` in PyTorch's layout, ready for ``torch_module.load_state_dict``.

    Args:
      params: the params pytree.
      layer: the Layer they belong to: each param then takes its torch name and axis order from the
        layer's description. Without it, 2-D+ ``weight`` tensors are transposed (Linear's rule).

    Returns:
      CPU tensors, dtypes kept (float32, float16, bfloat16...): Linear weights ``(in, out)`` become
      ``(out, in)``; biases and undescribed params are copied unchanged.
    """
    torch = _torch()
    named = named_parameters(params)
    moves = _moves({name: np.ndim(leaf) for name, leaf in named.items()}, layer)
    state = OrderedDict()
    for name, leaf in named.items():
        torch_name, permutation, torch_dtype = moves.get(name, (name, None, None))
        array = np.asarray(leaf)
        if permutation is not None:
            array = np.transpose(array, permutation)
        array = np.asarray(array, dtype=torch_dtype, order="C")  # order="C" keeps a 0-d array 0-d
        if array.dtype == ml_dtypes.bfloat16:  # numpy has no bfloat16 torch understands: move the bits
            state[torch_name] = torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
        else:
            state[torch_name] = torch.from_numpy(array.copy())
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
      like: a :class:`~tinyjax.Layer` or a params template (arrays or ``jax.ShapeDtypeStruct``).

    Returns:
      The params pytree in tinyjax's layout, dtypes kept exactly. Given a Layer, each param is
      found by its torch name and permuted as the layer describes; given a template, 2-D+
      ``weight`` tensors are transposed (Linear's rule).

    Raises:
      WeightsMismatchError: listing every missing, unexpected, misshapen (shapes given in PyTorch's
        layout) or wrongly typed tensor at once. Cast the torch model (``.float()``) to fix dtypes.
    """
    torch = _torch()
    target = template(like)
    ndims = {name: len(shape) for name, (shape, _) in target.specs.items()}
    moves = _moves(ndims, like if isinstance(like, Layer) else None)
    ours = {torch_name: (name, permutation, dtype) for name, (torch_name, permutation, dtype) in moves.items()}
    found, arrays = {}, {}
    for torch_name, tensor in state_dict.items():
        name, permutation, torch_dtype = ours.get(torch_name, (torch_name, None, None))
        array = _to_numpy(torch, torch_name, tensor)
        if torch_dtype is not None and array.dtype == torch_dtype and name in target.specs:
            array = _narrowed(torch_name, array, target.specs[name][1])
        found[name] = (tuple(array.shape), array.dtype)  # PyTorch's layout: the shapes the user holds
        arrays[name] = array if permutation is None else np.transpose(array, np.argsort(permutation))
    expected = {name: (_permuted(shape, moves[name][1]), dtype) for name, (shape, dtype) in target.specs.items()}
    target.check(found, source="the PyTorch state_dict", expected=expected)
    return target.build(arrays)


def _narrowed(name: str, array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``array`` (torch's dtype) in tinyjax's ``dtype``; ConfigError if a value does not survive the cast."""
    narrowed = array.astype(dtype)
    if not np.array_equal(narrowed, array):
        raise ConfigError(f"state_dict entry {name!r} holds values that {dtype} cannot represent exactly")
    return narrowed


def _permuted(shape: tuple[int, ...], permutation: tuple[int, ...] | None) -> tuple[int, ...]:
    return tuple(shape) if permutation is None else tuple(shape[i] for i in permutation)
