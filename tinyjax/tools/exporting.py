"""``tinyjax.export``: a serialized, self-contained inference artifact (``jax.export``).

The default artifact is StableHLO with the params baked in as constants and a symbolic batch dimension,
so one file serves every batch size, and it can be lowered for several platforms at once (for
example ``("cpu", "cuda", "tpu")``): the platform is picked when it is called. Loading it needs
jax only, not tinyjax and not the model's code. ``format="onnx"`` writes an ONNX model instead
(:mod:`tinyjax.tools.onnx_export`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.export  # a submodule: `import jax` does not load it on every supported jax
import jax.numpy as jnp
import numpy as np

from tinyjax._checks import check_float_params
from tinyjax._errors import ArtifactError, ConfigError, ShapeError, path_error
from tinyjax.layer import Layer, Params
from tinyjax.tools._arguments import (
    check_input_kind,
    features_argument,
    float_params,
    host_array,
    layer_argument,
    with_symbolic_batch,
)
from tinyjax.tools.onnx_export import export_onnx

__all__ = ["PLATFORMS", "export", "load_exported"]

PLATFORMS = ("cpu", "cuda", "rocm", "tpu")
"""The platform names ``jax.export`` lowers for."""


def export(
    layer: Layer,
    params: Params,
    *,
    features: Sequence[int | str] | None = None,
    dtype: Any = jnp.float32,
    batch: str = "b",
    platforms: str | Sequence[str] = ("cpu",),
    path: str | os.PathLike[str] | None = None,
    format: str = "stablehlo",
) -> bytes:
    """Export ``layer`` with ``params`` for inference on inputs of shape ``(batch, *features)``.

    Args:
      layer, params: the model; params become constants of the artifact.
      features: the per-example input shape; ``(layer.in_features,)`` by default. For ``format="onnx"``
        a name in place of a size is a symbolic dimension (a GPT with ``features=("t",)`` serves
        every prompt length); StableHLO artifacts have a symbolic batch only.
      dtype: the input dtype (float32 by default; ``jnp.int32`` for token indices).
      batch: the name of the symbolic batch dimension.
      platforms: the platforms to lower for, among ``"cpu"``, ``"cuda"``, ``"rocm"``, ``"tpu"``: a
        sequence of names, or one name as a string (``platforms="cpu"`` is ``("cpu",)``).
      path: if given, the artifact is also written there.
      format: ``"stablehlo"`` (default: ``jax.export``, every platform and dtype) or ``"onnx"``: an
        ONNX model (float32 params; a float32 input, or int32 / int64 indices for a model that takes
        them, such as a GPT; ``platforms`` unused) that ONNX Runtime runs without tinyjax or JAX,
        params as initializers named as :func:`~tinyjax.named_parameters` names them; it needs the
        extra ``onnx`` and refuses, by name, a layer without an ONNX mapping (a user's pair, a Lambda).

    Returns:
      The serialized artifact (bytes); run it with :func:`load_exported` (StableHLO), or with jax alone:
      ``jax.export.deserialize(bytearray(artifact)).call(x)``; or any ONNX runtime (ONNX: input ``"x"``,
      output ``"y"``).

    Raises:
      ConfigError: ``layer`` is not a Layer, an unknown format or platform, or no ``features`` for a
        layer that does not fix its input size.
      DTypeError: a param is not floating-point.
    """
    if format not in ("stablehlo", "onnx"):
        raise ConfigError(f"export format must be 'stablehlo' or 'onnx', got {format!r}")
    layer = layer_argument(layer, "export")
    check_float_params(float_params(layer, params), f"export({layer.name})")
    if isinstance(platforms, str):  # one platform: never read as the letters of its name
        platforms = (platforms,)
    unknown = sorted(set(platforms) - set(PLATFORMS))
    if unknown or not platforms:
        raise ConfigError(f"export platforms must be among {PLATFORMS}, got {tuple(platforms)!r}")
    if features is None:
        if layer.in_features is None:
            raise ConfigError(f"export({layer.name}): the layer does not fix its input size; pass features=(...)")
        features = (layer.in_features,)
    features = features_argument(features, f"export({layer.name})")
    if format == "onnx":
        return export_onnx(layer, params, features=features, dtype=dtype, batch=batch, path=path)
    if any(isinstance(size, str) for size in features):
        raise ConfigError(
            f"export({layer.name}): named feature dimensions {tuple(features)} are for format='onnx'; "
            "a StableHLO artifact has a symbolic batch and fixed features"
        )
    (symbolic_batch,) = jax.export.symbolic_shape(batch)
    example = jax.ShapeDtypeStruct((symbolic_batch, *features), dtype)

    def predict(x: jax.Array) -> jax.Array:
        return layer.raw_apply(params, x)

    try:
        exported = jax.export.export(jax.jit(predict), platforms=tuple(platforms))(example)
    except ShapeError as error:
        raise with_symbolic_batch(error, batch, features) from None
    data = bytes(exported.serialize())
    if path is not None:
        Path(path).write_bytes(data)
    return data


def load_exported(artifact: bytes | bytearray | str | os.PathLike[str]) -> Callable[[Any], jax.Array]:
    """Load an artifact written by :func:`export` (bytes or a file path): ``predict(x) -> y``.

    tinyjax's loader: ``jax.jit`` of the artifact's call, with a clear error for bytes that are not
    an artifact. Where tinyjax is not installed, jax alone loads it the same way
    (``jax.export.deserialize(bytearray(artifact)).call(x)``).
    """
    if isinstance(artifact, (bytes, bytearray)):
        data = artifact
    elif isinstance(artifact, str | os.PathLike):
        try:
            data = Path(artifact).read_bytes()
        except OSError as error:
            raise path_error(error, f"cannot read the exported model: {error.strerror or error}", artifact) from None
    else:
        raise ArtifactError(
            f"load_exported takes the bytes tinyjax.export returned or a file path, got {type(artifact).__name__}"
        )
    try:
        exported = jax.export.deserialize(bytearray(data))
    except Exception as error:  # flatbuffers reports garbage as struct or index errors
        source = "the bytes given" if isinstance(artifact, (bytes, bytearray)) else str(artifact)
        raise ArtifactError(
            f"{source} ({len(data):,} bytes) is not a jax.export artifact written by tinyjax.export: "
            f"{type(error).__name__}: {error}"
        ) from error
    run = jax.jit(exported.call)
    (expected,) = exported.in_avals
    call = "load_exported predictor"

    def predict(x: Any) -> jax.Array:
        """``(batch, *features)`` -> the model's output; the artifact's shape and dtype checked first."""
        if not hasattr(x, "dtype"):
            x = host_array(x, call)
        if np.ndim(x) != len(expected.shape) or tuple(np.shape(x))[1:] != tuple(expected.shape)[1:]:
            raise ShapeError(call, ("batch", *expected.shape[1:]), tuple(np.shape(x)))
        check_input_kind(x.dtype, expected.dtype, call)
        if np.shape(x)[0] == 0:  # the symbolic batch is at least 1: run one row, keep none
            return run(np.zeros((1, *np.shape(x)[1:]), expected.dtype))[:0]
        return run(x if x.dtype == expected.dtype else x.astype(expected.dtype))

    predict.jitted = run  # type: ignore[attr-defined]
    return predict
