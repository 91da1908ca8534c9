"""Save and load weights in the safetensors format: no pickle, no code run on load, atomic writes.

::

    tinyjax.save("mlp.safetensors", params, metadata={"epochs": "20"})
    params = tinyjax.load("mlp.safetensors", model)         # or like=jax.eval_shape(model.init, key)

Tensors are named as :func:`tinyjax.named_parameters` names them (``"0.weight"``, ``"0.bias"``...),
in tinyjax's ``(in, out)`` layout (see :mod:`tinyjax.interop` for PyTorch's). A safetensors file is
an 8-byte header length, a JSON header (names, dtypes, shapes, offsets, string metadata) and raw
little-endian bytes: reading it never executes anything. Every leaf keeps its shape (0-d included)
and dtype; bfloat16 and float16 round-trip bit-exactly.

Files written by :func:`save` carry SHA-256 checksums in their metadata: ``tinyjax.sha256``, one per
tensor's bytes, and ``tinyjax.header_sha256``, over the 8-byte length and the header with that
value's 64 hex digits read as zeros. :func:`load` checks both, so a changed byte anywhere in the file
is a :class:`~tinyjax.WeightsFileError` naming the tensor or the header. Files without them (written by
other tools or an older tinyjax) load unchecked, as safetensors itself reads them.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import stat
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

from tinyjax._errors import ConfigError, MissingPathError, PathPermissionError, WeightsFileError, path_error
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
      params: any params pytree with at least one array (a Layer's, a Sequential's tuple, an optax
        state...). Every leaf is written with its own shape (0-d included) and dtype, named as
        :func:`~tinyjax.named_parameters` names it.
      metadata: extra ``{str: str}`` entries for the header (keys must not start with ``tinyjax.``).
      layer: the Layer the params belong to; its name is recorded in the header, and the params are
        checked against it first: names and shapes, not dtypes, so a bfloat16 copy of a float32
        model's params can be saved (WeightsMismatchError if they are another model's).

    The header also records ``tinyjax.format``, ``tinyjax.version``, ``tinyjax.layer``,
    ``tinyjax.structure`` (the params' pytree structure) and the checksums (module docstring). The
    bytes go to a temporary file in the same folder, flushed and fsynced, which then replaces ``path``
    in one rename: a crash or an exception part-way leaves any previous file at ``path`` untouched,
    and the temporary file is removed. A new file gets the mode ``open(path, "wb")`` would give it
    (``0o666`` less the umask); a replaced file keeps its own mode.

    Raises:
      ConfigError: empty params (``None``, ``()``, ``{}``), bad metadata, or two leaves with one name.
      WeightsMismatchError: the params do not fit ``layer``.
      PermissionError: ``path`` is a file the current user may not write, or one with no write
        permission for anyone (``chmod a-w``: refused even for root, never silently replaced).
      OSError: the file cannot be written (the message names ``path``, never the temporary file).
    """
    safetensors = _safetensors()
    from tinyjax._version import __version__

    if not jax.tree_util.tree_leaves(params):
        raise ConfigError(
            f"save({os.fspath(path)!r}): the params are empty ({params!r}); pass the params pytree "
            "returned by model.init (nothing was written)"
        )
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
    header[_TENSOR_DIGESTS] = json.dumps({name: _digest(array) for name, array in tensors.items()}, sort_keys=True)
    header[_HEADER_DIGEST] = _PLACEHOLDER
    data = memoryview(safetensors.numpy.save(tensors, metadata=header))
    end = 8 + struct.unpack("<Q", data[:8])[0]
    head = bytearray(data[:end])  # the header is patched in a copy of its own: the tensor bytes are not copied
    at = head.index(_HEADER_FIELD + _PLACEHOLDER.encode()) + len(_HEADER_FIELD)
    head[at : at + 64] = _header_digest(head, at).encode()
    _write_atomically(Path(path), [head, data[end:]])


_CODES = {np.dtype(dtype).name for dtype in _DTYPES.values()}
_TENSOR_DIGESTS = "tinyjax.sha256"
_HEADER_DIGEST = "tinyjax.header_sha256"
_PLACEHOLDER = "0" * 64
_HEADER_FIELD = f'"{_HEADER_DIGEST}":"'.encode()  # a quote inside a JSON string is escaped: only the key matches


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data).hexdigest()  # no copy


def _header_digest(data: bytes | bytearray, at: int) -> str:
    """SHA-256 of the length and header of ``data``, the 64 digits at ``at`` read as zeros."""
    (length,) = struct.unpack("<Q", data[:8])
    digest = hashlib.sha256(data[:at])
    digest.update(_PLACEHOLDER.encode())
    digest.update(data[at + 64 : 8 + length])
    return digest.hexdigest()


def _write_atomically(path: Path, parts: list[Any]) -> None:
    """Write the bytes of ``parts`` (buffers), in order, to ``path`` through a temporary file and a rename."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise MissingPathError(f"cannot save {path}: the folder {folder} does not exist")
    mode = _mode_to_keep(path)
    temporary = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        # 0o666 with the umask applied by the kernel, as open(path, "wb") does; then the old file's mode.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(descriptor, "wb") as handle:
            if mode is not None:
                os.chmod(handle.fileno(), mode)
            for part in parts:
                view = memoryview(part)
                for start in range(0, len(view), _CHUNK):
                    handle.write(view[start : start + _CHUNK])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise _naming(error, path) from None
        raise
    _fsync_folder(folder)


def _mode_to_keep(path: Path) -> int | None:
    """The permission bits of the file ``path`` replaces (None if new); PermissionError if it is read-only."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    if not mode & 0o222 or not os.access(path, os.W_OK):
        raise PathPermissionError(
            errno.EACCES,
            f"cannot save weights: the file is read-only (mode {mode:o}); make it writable or choose another path",
            os.fspath(path),
        )
    return mode


def _naming(error: OSError, path: Path) -> OSError:
    """The same kind of OSError (a :class:`~tinyjax.PathError`), its message naming ``path``, not the temporary file."""
    return path_error(error, f"cannot save weights: {error.strerror or error}", path)


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
    """``({name: array}, metadata)`` from a safetensors file, checksums checked; WeightsFileError if not valid."""
    safetensors = _safetensors()
    where = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise path_error(error, f"cannot read weights: {error.strerror or error}", where) from None
    try:
        entries = safetensors.deserialize(data)
    except Exception as error:  # SafetensorError: truncated, corrupted, or another format
        raise WeightsFileError(
            f"{where} is not a valid safetensors file ({error}); "
            "it may be truncated, corrupted, or another format (tinyjax never reads pickle files)"
        ) from None
    # The header was validated by safetensors above; only its JSON metadata is read here.
    (length,) = struct.unpack("<Q", data[:8])
    metadata = json.loads(data[8 : 8 + length]).get("__metadata__") or {}
    digests = _check_header(data, metadata, where)
    arrays = {}
    for name, entry in entries:
        code = entry["dtype"]
        if code not in _DTYPES:
            raise WeightsFileError(f"{where}: tensor {name!r} has dtype {code}, which tinyjax cannot load")
        array = np.frombuffer(entry["data"], dtype=_DTYPES[code]).reshape(entry["shape"])
        if digests is not None and digests.get(name) != _digest(array):
            raise WeightsFileError(
                f"{where}: tensor {name!r} does not match its checksum: the file is corrupted; save it again"
            )
        arrays[name] = array
    return arrays, metadata


def _check_header(data: bytes, metadata: dict[str, str], where: str) -> dict[str, str] | None:
    """The per-tensor checksums, once the header's own checksum matched; None for a file without them."""
    if _HEADER_DIGEST not in metadata and _TENSOR_DIGESTS not in metadata:
        return None  # a foreign file, or one from a tinyjax without checksums
    corrupted = f"{where}: the header does not match its checksum: the file is corrupted; save it again"
    match = re.search(re.escape(_HEADER_FIELD) + rb"([0-9a-f]{64})\"", data[: 8 + struct.unpack("<Q", data[:8])[0]])
    if match is None or _header_digest(data, match.start(1)) != match.group(1).decode():
        raise WeightsFileError(corrupted)
    try:
        digests = json.loads(metadata[_TENSOR_DIGESTS])
    except (KeyError, ValueError):
        raise WeightsFileError(corrupted) from None
    if not isinstance(digests, dict):
        raise WeightsFileError(corrupted)
    return digests


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The header's string metadata: ``tinyjax.version``, ``tinyjax.layer`` and what ``save`` was given."""
    return _read(path)[1]


def load(path: str | os.PathLike[str], like: Any, *, dtype: Any = None) -> Params:
    """Read weights saved by :func:`save` into a params pytree shaped like ``like``.

    Args:
      path: a safetensors file.
      like: a :class:`~tinyjax.Layer` (its ``param_shapes()`` is the template) or a params template:
        a pytree of arrays or ``jax.ShapeDtypeStruct`` (``jax.eval_shape(model.init, key)``).
      dtype: if given, every floating-point tensor of the file is converted to it before the check
        against ``like`` (``dtype=jnp.float32`` loads a bfloat16 file into a float32 model); integer
        tensors are kept as they are. ``None`` (default): the file's dtypes must be ``like``'s.

    Returns:
      The params, with ``like``'s structure, as jax arrays with the file's exact bits (or their
      conversion to ``dtype``).

    Raises:
      ConfigError: ``like`` is None or not a template, or ``dtype`` is not a floating dtype.
      WeightsFileError: the file is truncated, corrupted (a checksum does not match: the message
        names the tensor or the header), or not a safetensors file (a pickle, say).
      WeightsMismatchError: tensors missing, unexpected, of another shape or of another dtype; the
        message lists every difference at once, each naming the tensor, the expected and found values.
      PathError: the file cannot be read (:class:`~tinyjax.MissingPathError`, a FileNotFoundError, ...).
    """
    if like is None:
        raise ConfigError(
            f"load({os.fspath(path)!r}, like=None): pass the Layer the weights belong to, or a params "
            "template such as jax.eval_shape(model.init, key)"
        )
    if dtype is not None and not jnp.issubdtype(dtype, jnp.floating):
        raise ConfigError(f"load dtype converts the file's floats: it must be a floating dtype, got {np.dtype(dtype)}")
    target = template(like)
    arrays, _ = _read(path)
    if dtype is not None:
        arrays = {
            name: array.astype(dtype) if jnp.issubdtype(array.dtype, jnp.floating) else array
            for name, array in arrays.items()
        }
    found = {name: (tuple(array.shape), array.dtype) for name, array in arrays.items()}
    target.check(found, source=os.fspath(path))
    return target.build(arrays)
