"""``tinyjax.compile(..., backend="onnxruntime")``: the predictor that runs the layer's ONNX graph in ONNX Runtime.

The layer is exported once (:mod:`tinyjax.tools.onnx_export`) and loaded into one ONNX Runtime
session on the CPU; the graph's batch dimension is symbolic, so every batch size runs in that one
session with no padding and no compilation per size. The session settings are the ones that measured
fastest on the project's CPU machine (docs/performance.md, ``benchmarks/onnx_settings.py``); a call is
ONNX Runtime's ``run`` on the input as it is when it is a NumPy array of the example's dtype (float32,
or int32 / int64 token indices for a GPT) and the right shape.
Calls from several threads at once are safe: ONNX Runtime's ``run`` is, and the predictor keeps no
per-call state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinyjax._errors import ConfigError, ShapeError
from tinyjax.layer import Layer, Params
from tinyjax.tools._arguments import check_input_kind, host_array
from tinyjax.tools.onnx_export import INPUT, OUTPUT, export_onnx, require

__all__ = ["OnnxPredictor"]


class OnnxPredictor:
    """``predictor(x) -> y`` (NumPy arrays) for ``x`` of shape ``(batch, *features)``; see :func:`tinyjax.compile`.

    Attributes:
      layer: the layer it runs.
      model: the ONNX model it runs (bytes, as ``tinyjax.export(..., format="onnx")`` writes it).
      session: the ``onnxruntime.InferenceSession``. ``run`` is thread-safe: one predictor serves
        concurrent threads.
      features: the per-example input shape.
      input_dtype: the example's dtype, float32, int32 or int64: a float model takes any floating input
        (converted to float32), an integer one any integer input (converted to ``input_dtype``).
    """

    def __init__(self, layer: Layer, params: Params, example: Any, precompile: Iterable[int] = ()) -> None:
        ort = require("onnxruntime")
        shape = tuple(np.shape(example))
        if len(shape) < 1:
            raise ShapeError(f"compile({layer.name})", ("batch", "..."), shape, what="example")
        sizes = [shape[0]]
        for n in precompile:
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ConfigError(f"precompile takes positive batch sizes, got {n!r}")
            sizes.append(int(n))
        self.layer = layer
        self.features: tuple[int, ...] = shape[1:]
        self.input_dtype = np.dtype(getattr(example, "dtype", np.float32))
        self.model = export_onnx(layer, params, features=self.features, dtype=self.input_dtype)  # checks the dtype
        self.session = ort.InferenceSession(self.model, _session_options(ort), providers=["CPUExecutionProvider"])
        # The C++ session under the Python wrapper, whose run() re-checks the input names on every call:
        # called directly it is faster at small batches (docs/performance.md). The public run if absent.
        self._run = getattr(self.session, "_sess", self.session).run
        self._outputs = [OUTPUT]
        # ONNX Runtime fails on some empty inputs (a Reshape of 0 rows): 0 rows are answered here
        self._empty_shape = layer.output_shape((1, *self.features), self.input_dtype)[1:]
        self._warmed: set[int] = set()
        for n in sizes:  # ONNX Runtime plans each input shape's memory on its first run: done here
            self(np.zeros((n, *self.features), self.input_dtype))
            self._warmed.add(n)

    @property
    def compilations(self) -> int:
        """How many times the model was compiled: once (one ONNX Runtime session serves every batch size)."""
        return 1

    @property
    def buckets(self) -> tuple[int, ...]:
        """The batch sizes run ahead of requests (the example's and ``precompile``'s); any size runs."""
        return tuple(sorted(self._warmed))

    def __call__(self, x: Any) -> np.ndarray:
        """``(n, *features)`` -> the layer's output for the ``n`` rows (``n`` may be 0), a float32 NumPy array."""
        if type(x) is np.ndarray and x.dtype == self.input_dtype and x.shape[1:] == self.features and len(x):
            return self._run(self._outputs, {INPUT: x}, None)[0]
        return self._slow_call(x)

    def _slow_call(self, x: Any) -> np.ndarray:
        if not hasattr(x, "dtype"):
            x = host_array(x, f"Predictor({self.layer.name})")
        shape = tuple(np.shape(x))
        if not shape or shape[1:] != self.features:
            raise ShapeError(f"Predictor({self.layer.name})", ("batch", *self.features), shape)
        check_input_kind(x.dtype, self.input_dtype, f"Predictor({self.layer.name})")
        if shape[0] == 0:
            return np.zeros((0, *self._empty_shape), np.float32)
        return self._run(self._outputs, {INPUT: np.asarray(x, self.input_dtype)}, None)[0]

    def __repr__(self) -> str:
        return f"OnnxPredictor({self.layer.name}, features={self.features}, {self.input_dtype}, onnxruntime)"


def _session_options(ort: Any) -> Any:
    """The settings that measured fastest (docs/performance.md): ONNX Runtime's defaults, all graph optimizations."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options
