"""``tinyjax.compile``: an ahead-of-time compiled predictor for serving inference.

The predictor holds the params on the device (placed once) and one compiled XLA executable per
batch-size bucket. Buckets are powers of two: a batch of ``n`` rows runs in the executable for the
next power of two, padded with zeros on the host, and the first ``n`` rows of the result are taken on
the host too (NumPy), so that no batch size, however many there are, costs a compilation beyond its
bucket's: the predictor compiles at most one executable per bucket, whatever the sizes asked for and
from however many threads (a lock guards compiling a new bucket), and its memory is bounded by the
number of buckets. A batch whose size is itself a bucket (1, 2, 4, ..., 4096) or the example's own
size runs with no padding at all: the call is the executable's own dispatch plus a set lookup.

Calls go through ``jax.jit``'s C++ dispatch path, which measured faster per call than calling a
``jax.stages.Compiled`` object. Every conversion of an input (a list, another
float dtype, a weakly typed array) is done by NumPy before the call: a conversion on the device would
be one more XLA compilation per shape.

Small models' params are embedded in the executable as constants (``embed_params``, by default when
they take at most :data:`EMBED_LIMIT_BYTES`): a call then passes only the input, and XLA sees the
weights at compile time (docs/performance.md). Each bucket's executable holds its own copy of embedded
params, which is why large models keep them as arguments (one copy on the device, shared by every
bucket).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from typing import Any, Literal, overload

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._checks import check_float_params
from tinyjax._errors import ConfigError, ShapeError
from tinyjax.costs import xla_costs
from tinyjax.layer import Layer, Params
from tinyjax.params import param_bytes
from tinyjax.tools._arguments import check_input_kind, float_params, host_array, layer_argument
from tinyjax.tools.onnx_predictor import OnnxPredictor

__all__ = ["Predictor", "compile"]

_LOW_PRECISION = (jnp.bfloat16, jnp.float16)
EMBED_LIMIT_BYTES = 4 * 2**20
"""``compile(..., embed_params=None)`` embeds params of at most this many bytes in the executables."""


class Predictor:
    """``predictor(x) -> y`` for ``x`` of shape ``(batch, *features)``; see :func:`compile`.

    Attributes:
      layer: the layer it runs.
      dtype: the compute dtype policy (None: the params' own dtype).
      compilations: how many XLA compilations the predictor has caused: one per bucket, plus one per
        :meth:`compiled` call.
      embedded: whether the params are constants inside the executables (else arguments).
    """

    def __init__(
        self,
        layer: Layer,
        params: Params,
        example: Any,
        dtype: Any = None,
        embed_params: bool | None = None,
        precompile: Iterable[int] = (),
    ):
        layer = layer_argument(layer, "compile")
        shape = tuple(np.shape(example))
        if len(shape) < 2:
            raise ShapeError(
                f"compile({layer.name})",
                ("batch", "features", "..."),
                shape,
                what="example",
                hint="The example is a batch, one row per sample: for a single sample x pass x[None]",
            )
        if dtype is not None and jnp.dtype(dtype) not in [jnp.dtype(d) for d in (*_LOW_PRECISION, jnp.float32)]:
            raise ConfigError(f"compile dtype must be bfloat16, float16 or float32, got {jnp.dtype(dtype)}")
        check_float_params(float_params(layer, params), f"compile({layer.name})")
        self.layer = layer
        self.dtype = None if dtype is None else jnp.dtype(dtype)
        self.features: tuple[int, ...] = shape[1:]
        self.input_dtype = jnp.dtype(getattr(example, "dtype", jnp.float32))
        if self.dtype is not None:
            params = jax.tree_util.tree_map(_cast_floats(self.dtype), params)  # int8 weights stay int8
        self.params = jax.device_put(params)
        self.embedded = param_bytes(self.params) <= EMBED_LIMIT_BYTES if embed_params is None else bool(embed_params)
        self._compilations = 0
        self._lock = threading.Lock()  # held while a new bucket compiles
        if self.embedded:
            self._call: Any = jax.jit(self._counted_embedded)
        else:
            # Passed as arguments, the params go as a flat tuple of arrays: jit's dispatch flattens its
            # arguments on every call, and a tuple costs less than the layer's nested dicts
            # (docs/performance.md).
            leaves, self._treedef = jax.tree_util.tree_flatten(self.params)
            self._call = functools.partial(jax.jit(self._counted), tuple(leaves))
        self._buckets: set[int] = set()
        self._shapes: set[tuple[int, ...]] = set()  # (bucket, *features): what the hot path accepts
        self._compile(shape[0])  # the example's batch size now: this also checks the layer accepts it
        for n in precompile:
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ConfigError(f"precompile takes positive batch sizes, got {n!r}")
            self._compile(self._bucket_for(int(n)))

    def _counted(self, leaves: tuple[jax.Array, ...], x: jax.Array) -> jax.Array:
        self._compilations += 1  # Python runs here only when jax traces (and then compiles) the model
        return self._run(jax.tree_util.tree_unflatten(self._treedef, leaves), x)

    def _counted_embedded(self, x: jax.Array) -> jax.Array:
        self._compilations += 1
        return self._run(self.params, x)  # concrete arrays closed over: constants of the executable

    def _run(self, params: Params, x: jax.Array) -> jax.Array:
        if self.dtype is None:
            return self.layer.raw_apply(params, x)
        x = x.astype(self.dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x  # indices stay integers
        return self.layer.raw_apply(params, x).astype(jnp.float32)

    def _compile(self, batch: int) -> None:
        """Compile the bucket ``batch`` unless it is compiled already; one thread at a time."""
        if batch in self._buckets:
            return
        with self._lock:
            if batch not in self._buckets:  # another thread may have compiled it while this one waited
                jax.block_until_ready(self._call(np.zeros((batch, *self.features), self.input_dtype)))
                self._shapes.add((batch, *self.features))
                self._buckets.add(batch)

    @property
    def compilations(self) -> int:
        """How many XLA compilations the predictor has caused (one per bucket, one per :meth:`compiled`)."""
        return self._compilations

    @property
    def buckets(self) -> tuple[int, ...]:
        """The batch sizes compiled so far."""
        return tuple(sorted(self._buckets))

    def __call__(self, x: Any) -> jax.Array:
        """``(n, *features)`` -> the layer's output for the ``n`` rows (``n`` may be 0)."""
        if type(x) is np.ndarray:
            if x.shape in self._shapes and x.dtype == self.input_dtype:
                return self._call(x)
        else:
            try:
                aval = x.aval  # a jax array: its aval is the cheapest way to its shape, dtype and weak type
            except AttributeError:  # a list or a scalar: not an array
                return self._slow_call(x)
            if aval.shape in self._shapes and aval.dtype == self.input_dtype and not aval.weak_type:
                return self._call(x)
        return self._slow_call(x)

    def _slow_call(self, x: Any) -> jax.Array:
        if not _ready(x, self.input_dtype):
            if not hasattr(x, "dtype"):  # a list or a scalar
                x = host_array(x, f"Predictor({self.layer.name})")
            check_input_kind(x.dtype, self.input_dtype, f"Predictor({self.layer.name})")  # the example's kind
            x = np.asarray(x, self.input_dtype)  # on the host: a device conversion compiles per shape
        shape = tuple(x.shape)
        if not shape or shape[1:] != self.features:
            raise ShapeError(f"Predictor({self.layer.name})", ("batch", *self.features), shape)
        n = shape[0]
        bucket = self._bucket_for(n)
        self._compile(bucket)  # nothing to do if this bucket is compiled already
        if bucket == n:
            return self._call(x)
        padded = np.zeros((bucket, *self.features), self.input_dtype)
        padded[:n] = x
        # The slice on the host: sliced on the device, each n would compile its own slice.
        return jax.device_put(np.asarray(self._call(padded))[:n])  # jnp.asarray here compiles a copy per shape

    def _bucket_for(self, n: int) -> int:
        """The batch size that runs ``n`` rows: ``n`` itself if compiled (the example's), else a power of two."""
        return n if n in self._buckets else 1 << max(n - 1, 0).bit_length()

    def compiled(self, batch: int | None = None) -> jax.stages.Compiled:
        """The executable of one bucket (default: the smallest), compiled anew from the same program.

        For XLA's ``cost_analysis()``, ``memory_analysis()`` and ``as_text()``. With embedded params
        the argument bytes are the input's only: the weights are inside the executable. Each call is
        one more XLA compilation (counted in :attr:`compilations`).
        """
        batch = batch or min(self._buckets)
        x = jax.ShapeDtypeStruct((batch, *self.features), self.input_dtype)
        with self._lock:
            self._compilations += 1
        if self.embedded:
            return jax.jit(lambda v: self._run(self.params, v)).lower(x).compile()
        return jax.jit(self._run).lower(self.params, x).compile()

    def cost_analysis(self, batch: int | None = None) -> dict[str, float]:
        """XLA's cost analysis (``flops``, ``bytes accessed``...) of one bucket's executable."""
        return xla_costs(self.compiled(batch))

    def __repr__(self) -> str:
        policy = f", dtype={self.dtype}" if self.dtype is not None else ""
        embedded = ", params embedded" if self.embedded else ""
        return f"Predictor({self.layer.name}, features={self.features}{policy}{embedded}, buckets={self.buckets})"


def _cast_floats(dtype: Any) -> Any:
    return lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a


def _ready(x: Any, dtype: np.dtype) -> bool:
    """Whether ``x`` can go to an executable as it is: an array of ``dtype``, not weakly typed.

    A weakly typed jax array (``jnp.full(shape, 1.0)``) would make jit compile the bucket again.
    """
    if type(x) is np.ndarray:
        return x.dtype == dtype
    return isinstance(x, jax.Array) and x.dtype == dtype and not x.weak_type


@overload
def compile(
    layer: Layer,
    params: Params,
    example: Any,
    *,
    dtype: Any = None,
    embed_params: bool | None = None,
    precompile: Iterable[int] = (),
    backend: Literal["xla"] = "xla",
) -> Predictor: ...


@overload
def compile(
    layer: Layer,
    params: Params,
    example: Any,
    *,
    dtype: Any = None,
    embed_params: bool | None = None,
    precompile: Iterable[int] = (),
    backend: Literal["onnxruntime"],
) -> OnnxPredictor: ...


def compile(
    layer: Layer,
    params: Params,
    example: Any,
    *,
    dtype: Any = None,
    embed_params: bool | None = None,
    precompile: Iterable[int] = (),
    backend: str = "xla",
) -> Predictor | OnnxPredictor:
    """Compile ``layer`` with ``params`` for inference, ahead of time.

    Args:
      layer: any :class:`~tinyjax.Layer`.
      params: its params (moved to the default device once, here).
      example: an array or ``jax.ShapeDtypeStruct`` of shape ``(batch, *features)``: its trailing
        shape and dtype fix the input; its batch size is compiled now.
      dtype: inference precision policy. ``None`` runs in the params' dtype. ``jnp.bfloat16`` or
        ``jnp.float16`` store the params in that dtype (half the memory), cast inputs to it, accumulate
        every Linear's products in float32 and return float32: what GPUs and TPUs want.
      embed_params: ``True`` bakes the params into each bucket's executable as constants (fastest
        per call for small models; one copy per bucket), ``False`` passes them as arguments (one
        copy on the device). ``None`` (default) embeds them when they take at most
        :data:`EMBED_LIMIT_BYTES` (4 MiB).
      precompile: batch sizes to compile now as well (their buckets), so that no request ever waits
        for a compilation: for example ``precompile=[1, 8, 64, 512]`` for a server's expected sizes.
      backend: ``"xla"`` (default) or ``"onnxruntime"``: the layer's ONNX graph in one ONNX Runtime
        session (:class:`~tinyjax.tools.onnx_predictor.OnnxPredictor`; float32 params and a float32 or
        int32 / int64 (token indices: a GPT) example, CPU, the extra ``onnx``;
        faster than XLA on CPU for small models, docs/performance.md). It takes no ``dtype`` or
        ``embed_params``, returns NumPy arrays, and runs every batch size unpadded in one session.

    Returns:
      A :class:`Predictor`: ``predictor(x)`` for any batch size ``n``. Batch sizes are bucketed to
      powers of two (padding with zeros and taking the first ``n`` rows back, both on the host), so
      the predictor compiles at most one XLA executable per bucket, whatever the sizes asked and from
      however many threads; ``predictor.compilations`` counts every compilation it causes.

    Raises:
      ShapeError: the example is not a batch (fewer than 2 dimensions), or the layer does not accept it.
      ConfigError: ``layer`` is not a Layer, an unsupported ``dtype`` or a bad ``precompile`` entry.
      DTypeError: a param is not floating-point (integer weights are refused, never truncated).
    """
    if backend == "onnxruntime":
        if dtype is not None or embed_params is not None:
            raise ConfigError(
                "backend='onnxruntime' runs float32 with the params in its graph: pass no dtype or embed_params"
            )
        return OnnxPredictor(layer_argument(layer, "compile"), params, example, precompile)
    if backend != "xla":
        raise ConfigError(f"compile backend must be 'xla' or 'onnxruntime', got {backend!r}")
    return Predictor(layer, params, example, dtype, embed_params, precompile)
