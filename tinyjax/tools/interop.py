"""Move weights between tinyjax and PyTorch: ``state_dict`` names and the weight layout.

tinyjax stores a Linear's weight as ``(in, out)`` (``y = x @ W + b``); ``torch.nn.Linear`` stores
``(out, in)`` (``y = x @ W.T + b``). Names are the same (``"0.weight"``, ``"0.bias"``...), so::

    torch_model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    torch_model.load_state_dict(tinyjax.interop.to_torch_state_dict(params))     # same outputs
    params = tinyjax.interop.from_torch_state_dict(torch_model.state_dict(), model)

Every tensor named ``weight`` (the last name part) with two or more axes has its last two axes
swapped; everything else is copied as it is. torch is imported only when these functions run
(``pip install 'tinyjax[torch]'``). bfloat16 and float16 move bit-exactly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import ml_dtypes
import numpy as np

from tinyjax._errors import ConfigError
from tinyjax.layer import Params
from tinyjax.params import named_parameters
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


def _is_weight(name: str, ndim: int) -> bool:
    return name.rsplit(".", 1)[-1] == "weight" and ndim >= 2


def to_torch_state_dict(params: Params) -> OrderedDict[str, Any]:
    """``{name: torch.Tensor}`` in PyTorch's layout, ready for ``torch_module.load_state_dict``.

    Linear weights ``(in, out)`` become ``(out, in)``; biases ``(out,)`` and other tensors are copied
    unchanged. Dtypes are kept (float32, float16, bfloat16...). The tensors are CPU copies.
    """
    torch = _torch()
    state = OrderedDict()
    for name, leaf in named_parameters(params).items():
        array = np.asarray(leaf)
        if _is_weight(name, array.ndim):
            array = np.swapaxes(array, -1, -2)
        array = np.ascontiguousarray(array)
        if array.dtype == ml_dtypes.bfloat16:  # numpy has no bfloat16 torch understands: move the bits
            state[name] = torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
        else:
            state[name] = torch.from_numpy(array.copy())
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
      The params pytree, weights transposed to ``(in, out)``, dtypes kept exactly.

    Raises:
      WeightsMismatchError: listing every missing, unexpected, misshapen (shapes given in PyTorch's
        layout) or wrongly typed tensor at once. Cast the torch model (``.float()``) to fix dtypes.
    """
    torch = _torch()
    target = template(like)
    arrays = {name: _to_numpy(torch, name, tensor) for name, tensor in state_dict.items()}
    # Compared in the layout the user holds, PyTorch's (out, in), so the message shows their shapes.
    expected = {name: (_torch_shape(name, shape), dtype) for name, (shape, dtype) in target.specs.items()}
    found = {name: (tuple(array.shape), array.dtype) for name, array in arrays.items()}
    target.check(found, source="the PyTorch state_dict", expected=expected)
    return target.build(
        {name: np.swapaxes(array, -1, -2) if _is_weight(name, array.ndim) else array for name, array in arrays.items()}
    )


def _torch_shape(name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    return (*shape[:-2], shape[-1], shape[-2]) if _is_weight(name, len(shape)) else shape
