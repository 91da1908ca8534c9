"""The exceptions tinyjax raises. Each names the layer and says what to change.

Every one derives from :class:`TinyjaxError` (``except tinyjax.TinyjaxError`` catches them all) and
from the builtin a caller would expect (``ValueError`` for shapes and values, ``TypeError`` for types).
"""

from __future__ import annotations

from typing import Any


class TinyjaxError(Exception):
    """The root of every exception tinyjax raises."""


class ShapeError(TinyjaxError, ValueError):
    """An array's shape does not fit the layer it was given to.

    Attributes:
      layer: where the mismatch happened, for example ``Sequential[2] Linear(64 -> 10)``.
      expected: the shape the layer wanted (``...`` stands for any leading dimensions).
      got: the shape it was given.
      what: what the array was (``"input"``, ``"params['weight']"``, ...).
    """

    def __init__(self, layer: str, expected: Any, got: Any, what: str = "input", hint: str = ""):
        self.layer, self.expected, self.got, self.what, self.hint = layer, expected, got, what, hint
        if isinstance(expected, tuple):
            message = f"{layer}: expected {what} of shape {_fmt(expected)}, got {_fmt(got)}"
        else:
            message = f"{layer}: expected {what} to be {expected}, got {_fmt(got)}"
        super().__init__(message + (f". {hint}" if hint else ""))

    def within(self, prefix: str) -> ShapeError:
        """The same error, seen from an enclosing layer (``prefix`` like ``Sequential[1]``)."""
        return type(self)(_join(prefix, self.layer), self.expected, self.got, self.what, self.hint)


class ParamsError(ShapeError):
    """Params whose structure or shapes do not belong to the layer (another model's, say)."""


class DTypeError(TinyjaxError, TypeError):
    """An array of the wrong dtype: integer or complex input where floats are needed."""

    def __init__(self, layer: str, detail: str):
        self.layer, self.detail = layer, detail
        super().__init__(f"{layer}: {detail}")

    def within(self, prefix: str) -> DTypeError:
        """The same error, seen from an enclosing layer (``prefix`` like ``Sequential[1]``)."""
        return DTypeError(_join(prefix, self.layer), self.detail)


class KeyArgumentError(TinyjaxError, TypeError):
    """Something that is not a ``jax.random`` key was given where a key is expected."""


class ConfigError(TinyjaxError, ValueError):
    """A value a layer or a tool cannot use: ``Linear(0, 3)``, ``Linear(2.5, 3)``, a class label out of range."""


def _join(prefix: str, layer: str) -> str:
    # "Sequential[1]" + "Sequential[2] Linear(64 -> 10)" -> "Sequential[1][2] Linear(64 -> 10)"
    if layer.startswith("Sequential["):
        return prefix + layer[len("Sequential") :]
    return f"{prefix} {layer}"


def _fmt(shape: Any) -> str:
    if isinstance(shape, tuple):
        inner = ", ".join("..." if d is Ellipsis else str(d) for d in shape)
        return f"({inner},)" if len(shape) == 1 else f"({inner})"
    return str(shape)


class ArtifactError(TinyjaxError, ValueError):
    """Bytes or a file that are not a serialized ``jax.export`` artifact (see ``tinyjax.export``)."""


class WeightsFileError(TinyjaxError, ValueError):
    """A weights file that cannot be read: truncated, corrupted (a checksum does not match), or not safetensors."""


class WeightsMismatchError(TinyjaxError, ValueError):
    """Saved weights that do not fit the model they are loaded into.

    Attributes:
      differences: one line per tensor that differs (missing, unexpected, wrong shape, wrong dtype),
        each naming the tensor and what was expected and found.
    """

    def __init__(self, source: str, target: str, differences: list[str]):
        self.differences = differences
        lines = "\n  ".join(differences)
        super().__init__(f"{source} does not fit {target}: {len(differences)} difference(s)\n  {lines}")


class NoisyBenchmarkWarning(UserWarning):
    """Benchmark samples too spread out (coefficient of variation above the threshold) to support a claim."""


class MissingAttributeError(TinyjaxError, AttributeError):
    """An object without the attributes a function reads (``enable_kv_cache`` on a model with no ``num_heads``)."""


class IndexRangeError(TinyjaxError, IndexError):
    """An index outside the axis it indexes (``t[5]`` on 3 rows), where JAX alone would clamp it silently."""


class UnsupportedError(TinyjaxError, TypeError):
    """An operation the object does not support as called: ``len()`` or iteration of a 0-d Tensor."""


class PathError(TinyjaxError, OSError):
    """The file system refused a path tinyjax reads or writes (an ``OSError``; the message names the path)."""


class PathPermissionError(PathError, PermissionError):
    """A file tinyjax may not read or write: ``save`` over a read-only file is refused, never silently replaced."""


class MissingPathError(PathError, FileNotFoundError):
    """A file to read, or the folder to save one into, that does not exist."""


class PathIsFolderError(PathError, IsADirectoryError):
    """A folder given where a file belongs."""


def path_error(error: OSError, message: str, path: Any) -> PathError:
    """``error`` as the :class:`PathError` of its kind (by errno), with ``message`` and the path."""
    kinds = {2: MissingPathError, 13: PathPermissionError, 1: PathPermissionError, 21: PathIsFolderError}
    if error.errno is None:
        return PathError(f"{message}: {path}")
    return kinds.get(error.errno, PathError)(error.errno, message, str(path))
