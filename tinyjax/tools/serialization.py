"""Save and load weights in the safetensors format: no pickle, no code run on load, atomic writes.

::

    tinyjax.save("mlp.safetensors", params, metadata={"epochs": "20"})
    params = tinyjax.load("mlp.safetensors", model)         # or like=jax.eval_shape(model.init, key)

Tensors are named as :func:`tinyjax.named_parameters` names them (``"0.weight"``, ``"0.bias"``...),
in tinyjax's ``(in, out)`` layout (see :mod:`tinyjax.interop` for PyTorch's). A safetensors file is
an 8-byte header length, a JSON header (names, dtypes, shapes, offsets, string metadata) and raw
little-endian bytes: reading it never executes anything. bfloat16 and float16 round-trip bit-exactly.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import ml_dtypes
import numpy as np

from tinyjax._errors import ConfigError, WeightsFileError
from tinyjax.layer import Layer, Params
from tinyjax.params import named_parameters
from tinyjax.tools._templates import template

__all__ = ["load", "read_metadata", "save"]

FORMAT = "tinyjax"

# safetensors dtype codes -> numpy dtypes (bfloat16 from ml_dtypes, which is jnp.bfloat16)
_DTYPES: dict[str, Any] = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "BF16": ml_dtypes.bfloat16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U64": np.uint64,
    "U32": np.uint32,
    "U16": np.uint16,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def _safetensors() -> Any:
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as error:  # pragma: no cover - safetensors is a core dependency
        raise ImportError("tinyjax.save/load need the safetensors package: pip install safetensors") from error
    return safetensors


def save(
    path: str | os.PathLike[str],
    params: Params,
    *,
    metadata: Mapping[str, str] | None = None,
    layer: Layer | None = None,
) -> None:
    """Write ``params`` to ``path`` as a safetensors file, atomically.

    Args:
      path: the file to write (``.safetensors`` by convention); its folder must exist.
      params: any params pytree (a Layer's, a Sequential's tuple...). Every leaf is written with its
        own shape and dtype, named as :func:`~tinyjax.named_parameters` names it.
      metadata: extra ``{str: str}`` entries for the header (keys must not start with ``tinyjax.``).
      layer: the Layer the params belong to; its name is recorded in the header, and the params are
        checked against it first: names and shapes, not dtypes, so a bfloat16 copy of a float32
        model's params can be saved (WeightsMismatchError if they are another model's).

    The header also records ``tinyjax.format``, ``tinyjax.version``, ``tinyjax.layer`` and ``tinyjax.structure``
    (the params' pytree structure). The bytes go
    to a temporary file in the same folder, flushed and fsynced, which then replaces ``path`` in one
    rename: a crash or an exception part-way leaves any previous file at ``path`` untouched, and the
    temporary file is removed.
    """
    safetensors = _safetensors()
    from tinyjax._version import __version__

    header = {"tinyjax.format": FORMAT, "tinyjax.version": __version__}
    header["tinyjax.layer"] = layer.name if layer is not None else "unknown (no layer given to save)"
    header["tinyjax.structure"] = str(jax.tree_util.tree_structure(params))
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError(f"metadata must map str to str, got {key!r}: {value!r} ({type(value).__name__})")
        if key.startswith("tinyjax.") or key == "__metadata__":
            raise ConfigError(f"metadata key {key!r} is reserved for tinyjax")
        header[key] = value
    named = named_parameters(params)
    if len(named) != len(jax.tree_util.tree_leaves(params)):
        raise ConfigError(f"two params share one name in {sorted(named)}: rename the dict keys before saving")
    tensors = {name: np.asarray(leaf, order="C") for name, leaf in named.items()}  # 0-d stays 0-d
    if layer is not None:  # the header will name this layer: the params must be its own
        template(layer).check(
            {name: (array.shape, array.dtype) for name, array in tensors.items()},
            source="the params given to save",
            dtypes=False,
        )
    for name, array in tensors.items():
        if array.dtype.name not in _CODES:
            raise ConfigError(f"tensor {name!r} has dtype {array.dtype}, which safetensors cannot store")
    data = safetensors.numpy.save(tensors, metadata=header)
    _write_atomically(Path(path), data)


_CODES = {np.dtype(dtype).name for dtype in _DTYPES.values()}


def _write_atomically(path: Path, data: bytes) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot save {path}: the folder {folder} does not exist")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            view = memoryview(data)
            for start in range(0, len(view), _CHUNK):
                handle.write(view[start : start + _CHUNK])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_folder(folder)


_CHUNK = 1 << 24


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``({name: array}, metadata)`` from a safetensors file; WeightsFileError if it is not one."""
    safetensors = _safetensors()
    data = Path(path).read_bytes()
    try:
        entries = safetensors.deserialize(data)
    except Exception as error:  # SafetensorError: truncated, corrupted, or another format
        raise WeightsFileError(
            f"{os.fspath(path)} is not a valid safetensors file ({error}); "
            "it may be truncated, corrupted, or another format (tinyjax never reads pickle files)"
        ) from None
    arrays = {}
    for name, entry in entries:
        code = entry["dtype"]
        if code not in _DTYPES:
            raise WeightsFileError(f"{os.fspath(path)}: tensor {name!r} has dtype {code}, which tinyjax cannot load")
        arrays[name] = np.frombuffer(entry["data"], dtype=_DTYPES[code]).reshape(entry["shape"])
    # The header was validated by safetensors above; only its JSON metadata is read here.
    (length,) = struct.unpack("<Q", data[:8])
    metadata = json.loads(data[8 : 8 + length]).get("__metadata__") or {}
    return arrays, metadata


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The header's string metadata: ``tinyjax.version``, ``tinyjax.layer`` and what ``save`` was given."""
    return _read(path)[1]


def load(path: str | os.PathLike[str], like: Any) -> Params:
    """Read weights saved by :func:`save` into a params pytree shaped like ``like``.

    Args:
      path: a safetensors file.
      like: a :class:`~tinyjax.Layer` (its ``param_shapes()`` is the template) or a params template:
        a pytree of arrays or ``jax.ShapeDtypeStruct`` (``jax.eval_shape(model.init, key)``).

    Returns:
      The params, with ``like``'s structure, as jax arrays with the file's exact bits.

    Raises:
      WeightsFileError: the file is truncated, corrupted, or not a safetensors file (a pickle, say).
      WeightsMismatchError: tensors missing, unexpected, of another shape or of another dtype; the
        message lists every difference at once, each naming the tensor, the expected and found values.
    """
    target = template(like)
    arrays, _ = _read(path)
    found = {name: (tuple(array.shape), array.dtype) for name, array in arrays.items()}
    target.check(found, source=os.fspath(path))
    return target.build(arrays)
