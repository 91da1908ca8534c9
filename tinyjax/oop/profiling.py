"""TinyTorch's profiler (module 14) on tinyjax's functional profiler and benchmark harness.

``Profiler`` keeps TinyTorch's method names and result keys. The figures differ in where they
come from: FLOPs are XLA's own count of the compiled forward pass (:func:`tinyjax.profile`),
divided by the batch (TinyTorch's counts are per sample too, but by hand: a Linear there is
``2 * in * out``, here ``2 * in * out + out`` with the bias add); memory is XLA's memory analysis of
the compiled program, not ``tracemalloc`` around NumPy; latency is the median of
:func:`tinyjax.benchmark` samples, each waited for (``block_until_ready``); the backward pass is
measured (one compiled gradient step with Adam), not estimated as twice the forward pass.

A model is a module of :mod:`tinyjax.oop` (anything with ``to_functional()``); latency and
parameter counts also take any object with ``forward`` / ``parameters()``, as TinyTorch's do.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError, NoisyBenchmarkWarning
from tinyjax.layer import Layer
from tinyjax.oop.tensor import Tensor
from tinyjax.tools.benchmarking import benchmark
from tinyjax.tools.profiling import Profile, concrete, profile, program

__all__ = ["Profiler", "analyze_weight_distribution", "quick_profile"]

MB = 1024 * 1024
# Below this many FLOPs per byte accessed a CPU waits on memory rather than on arithmetic: the
# order of a server CPU's ridge point (its peak FLOP/s over its memory bandwidth).
RIDGE_FLOPS_PER_BYTE = 10.0


class Profiler:
    """Parameters, FLOPs, memory and latency of a model, with TinyTorch's method names and keys.

    Attributes:
      measurements: every result this profiler returned, by method name (the latest one).
      operation_counts: how many times each method ran.
      peak_gflops: the machine's peak in GFLOP/s, if known: ``computational_efficiency`` is
        reported against it (None otherwise: no efficiency is claimed against a guessed peak).
    """

    def __init__(self, peak_gflops: float | None = None) -> None:
        self.measurements: dict[str, Any] = {}
        self.operation_counts: defaultdict[str, int] = defaultdict(int)
        self.memory_tracker = None
        self.peak_gflops = peak_gflops
        self._profiles: list[tuple[Any, tuple[int, ...], Profile]] = []

    def _record(self, name: str, value: Any) -> Any:
        self.measurements[name] = value
        self.operation_counts[name] += 1
        return value

    def count_parameters(self, model: Any) -> int:
        """Elements in ``model.parameters()`` (or its ``weight`` and ``bias``)."""
        if hasattr(model, "parameters"):
            params = list(model.parameters())
        else:
            params = [p for p in (getattr(model, "weight", None), getattr(model, "bias", None)) if p is not None]
        return self._record("count_parameters", int(sum(np.size(_array(p)) for p in params)))

    def count_flops(self, model: Any, input_shape: Sequence[int]) -> int:
        """FLOPs of one forward pass per sample (XLA's count for a batch of ``input_shape``, over the batch).

        Anything without a functional twin (a Tensor, a stand-in object) is counted by TinyTorch's
        formulas instead: ``2 * in * out`` for an object with a 2-D ``weight``, the sum over
        ``layers``, one FLOP per input element otherwise.
        """
        if not hasattr(model, "to_functional") and not isinstance(model, Layer):
            return self._record("count_flops", _formula_flops(model, tuple(input_shape)))
        report = self._profile(model, tuple(input_shape))
        return self._record("count_flops", round(report.flops / _batch(input_shape)))

    def measure_memory(self, model: Any, input_shape: Sequence[int]) -> dict[str, float]:
        """MB of parameters, of activations (XLA's outputs and temporaries), the program's peak, and their ratio."""
        report = self._profile(model, tuple(input_shape))
        parameter_mb = report.param_bytes / MB
        memory = report.memory
        activation_mb = ((memory.outputs or 0) + (memory.temporaries or 0)) / MB
        peak_mb = max((memory.peak or 0) / MB, parameter_mb + activation_mb)
        return self._record(
            "measure_memory",
            {
                "parameter_memory_mb": parameter_mb,
                "activation_memory_mb": activation_mb,
                "peak_memory_mb": peak_mb,
                "memory_efficiency": min((parameter_mb + activation_mb) / max(peak_mb, 1e-9), 1.0),
            },
        )

    def measure_latency(self, model: Any, input_tensor: Any, warmup: int = 10, iterations: int = 100) -> float:
        """Median milliseconds of ``model.forward(input_tensor)`` over ``iterations`` waited-for calls."""
        forward = model.forward if hasattr(model, "forward") else model

        def call() -> Any:
            return _arrays(forward(input_tensor))

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoisyBenchmarkWarning)
            result = benchmark(call, warmup=warmup, runs=iterations, min_time=0.0)
        return self._record("measure_latency", result.median * 1e3)

    def profile_layer(self, layer: Any, input_shape: Sequence[int]) -> dict[str, Any]:
        """One layer: type, parameters, FLOPs (per sample), latency and memory."""
        x = Tensor(np.random.default_rng(0).standard_normal(tuple(input_shape)).astype(np.float32))
        flops = self.count_flops(layer, input_shape)
        latency = self.measure_latency(layer, x, warmup=3, iterations=10)
        return self._record(
            "profile_layer",
            {
                "layer_type": type(layer).__name__,
                "parameters": self.count_parameters(layer),
                "flops": flops,
                "latency_ms": latency,
                "gflops_per_second": flops * _batch(input_shape) / 1e9 / max(latency / 1e3, 1e-9),
                **self.measure_memory(layer, input_shape),
            },
        )

    def profile_forward_pass(self, model: Any, input_tensor: Any) -> dict[str, Any]:
        """The forward pass: the counts above, throughput, bytes per second and the bottleneck by intensity."""
        shape = tuple(np.shape(_array(input_tensor)))
        report = self._profile(model, shape)
        latency_ms = self.measure_latency(model, input_tensor, warmup=5, iterations=20)
        seconds = max(latency_ms / 1e3, 1e-9)
        gflops = report.flops / 1e9 / seconds
        intensity = report.flops / report.bytes_accessed if report.bytes_accessed else float("inf")
        memory_bound = intensity < RIDGE_FLOPS_PER_BYTE
        return self._record(
            "profile_forward_pass",
            {
                "parameters": self.count_parameters(model),
                "flops": round(report.flops / _batch(shape)),
                "latency_ms": latency_ms,
                **self.measure_memory(model, shape),
                "gflops_per_second": gflops,
                "memory_bandwidth_mbs": report.bytes_accessed / MB / seconds,
                "arithmetic_intensity": intensity,
                "computational_efficiency": gflops / self.peak_gflops if self.peak_gflops else None,
                "is_memory_bound": memory_bound,
                "is_compute_bound": not memory_bound,
                "bottleneck": "memory" if memory_bound else "compute",
            },
        )

    def profile_backward_pass(self, model: Any, input_tensor: Any, _loss_fn: Any = None) -> dict[str, Any]:
        """Forward pass and one measured gradient step (backward and Adam), compiled as one program.

        ``backward_*`` are the step's figures less the forward pass's. ``_loss_fn(y) -> scalar``
        (default: the mean of ``y**2``) is the loss, as a function of jax arrays.
        """
        forward = self.profile_forward_pass(model, input_tensor)
        shape = tuple(np.shape(_array(input_tensor)))
        layer, params = _functional(model)
        x = jax.ShapeDtypeStruct(shape, jnp.float32)
        step = profile(layer, params, x, training=True, loss=_loss_fn, timing=False)
        fn, args = program(layer, params, x, True, _loss_fn or _mean_square)
        compiled = jax.jit(fn).lower(*args).compile()
        arrays = jax.tree_util.tree_map(concrete, args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoisyBenchmarkWarning)
            step_ms = benchmark(compiled, *arrays, warmup=3, runs=20, min_time=0.0).median * 1e3
        batch = _batch(shape)
        total_flops = round(step.flops / batch)
        gradient_mb = step.param_bytes / MB
        return self._record(
            "profile_backward_pass",
            {
                "forward_flops": forward["flops"],
                "forward_latency_ms": forward["latency_ms"],
                "forward_memory_mb": forward["peak_memory_mb"],
                "backward_flops": total_flops - forward["flops"],
                "backward_latency_ms": max(step_ms - forward["latency_ms"], 0.0),
                "gradient_memory_mb": gradient_mb,
                "total_flops": total_flops,
                "total_latency_ms": step_ms,
                "total_memory_mb": (step.memory.peak or 0) / MB,
                "total_gflops_per_second": step.flops / 1e9 / max(step_ms / 1e3, 1e-9),
                "optimizer_memory_estimates": {
                    "sgd": 0.0,
                    "adam": (step.optimizer_state_bytes or 0) / MB,
                    "adamw": (step.optimizer_state_bytes or 0) / MB,
                },
                "memory_efficiency": forward["memory_efficiency"],
                "bottleneck": forward["bottleneck"],
            },
        )

    def _profile(self, model: Any, shape: tuple[int, ...]) -> Profile:
        """XLA's figures for ``model`` at ``shape``, compiled once per model and shape (values do not matter)."""
        for cached_model, cached_shape, report in self._profiles:
            if cached_model is model and cached_shape == shape:
                return report
        layer, params = _functional(model)
        report = profile(layer, params, jax.ShapeDtypeStruct(shape, jnp.float32), timing=False)
        self._profiles.append((model, shape, report))
        return report


def quick_profile(model: Any, input_tensor: Any, profiler: Profiler | None = None) -> dict[str, Any]:
    """Print and return :meth:`Profiler.profile_forward_pass`'s key figures."""
    result = (profiler or Profiler()).profile_forward_pass(model, input_tensor)
    efficiency = result["computational_efficiency"]
    print("Quick profile:")
    print(f"   Parameters: {result['parameters']:,}")
    print(f"   FLOPs per sample: {result['flops']:,}")
    print(f"   Latency: {result['latency_ms']:.3f} ms")
    print(f"   Memory: {result['peak_memory_mb']:.2f} MB")
    print(f"   Bottleneck: {result['bottleneck']} ({result['arithmetic_intensity']:.2f} FLOP/byte)")
    if efficiency is not None:
        print(f"   Efficiency: {efficiency * 100:.1f}% of {result['gflops_per_second'] / efficiency:.0f} GFLOP/s")
    return result


def analyze_weight_distribution(model: Any, percentiles: Sequence[float] = (10, 25, 50, 75, 90)) -> dict[str, Any]:
    """Statistics of the absolute weights: count, mean, std, min, max, percentiles, % below 0.001 / 0.01 / 0.1."""
    if hasattr(model, "parameters"):
        arrays = [np.ravel(_array(p)) for p in model.parameters()]
    elif hasattr(model, "weight"):
        arrays = [np.ravel(_array(model.weight))]
    else:
        return {"error": "No weights found"}
    if not arrays:
        return {"error": "No weights found"}
    weights = np.abs(np.concatenate(arrays))
    stats: dict[str, Any] = {
        "total_weights": int(weights.size),
        "mean": float(np.mean(weights)),
        "std": float(np.std(weights)),
        "min": float(np.min(weights)),
        "max": float(np.max(weights)),
    }
    for p in percentiles:
        stats[f"percentile_{p}"] = float(np.percentile(weights, p))
    for threshold in (0.001, 0.01, 0.1):  # TinyTorch's keys: below_threshold_0001, _001, _01
        stats[f"below_threshold_{str(threshold).replace('.', '')}"] = float(np.mean(weights < threshold) * 100)
    return stats


def _functional(model: Any) -> tuple[Layer, Any]:
    if hasattr(model, "to_functional"):
        return model.to_functional()
    if isinstance(model, Layer):
        raise ConfigError("Profiler: a functional Layer has no params here; use profile(layer, params, x)")
    raise ConfigError(
        f"Profiler: {type(model).__name__} has no functional twin (to_functional()); FLOPs and memory come from "
        "XLA's analysis of a tinyjax.oop module's compiled program"
    )


def _formula_flops(model: Any, shape: tuple[int, ...]) -> int:
    """TinyTorch's by-hand count, per sample: a matmul by a 2-D ``weight``, layers summed, else elements."""
    weight = getattr(model, "weight", None)
    if weight is not None and np.ndim(_array(weight)) == 2:
        return 2 * int(shape[-1]) * int(np.shape(_array(weight))[1])
    if not isinstance(model, Tensor) and isinstance(getattr(model, "layers", None), (list, tuple)):
        total = 0
        for layer in model.layers:
            total += _formula_flops(layer, shape)
            layer_weight = getattr(layer, "weight", None)
            if layer_weight is not None and np.ndim(_array(layer_weight)) == 2:
                shape = (*shape[:-1], int(np.shape(_array(layer_weight))[1]))
        return total
    return int(np.prod(shape))


def _array(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.array
    return getattr(value, "data", value) if not isinstance(value, (np.ndarray, jax.Array)) else value


def _arrays(out: Any) -> Any:
    """The jax arrays inside an output (a Tensor's array), so that the harness waits for them."""
    return jax.tree_util.tree_map(lambda v: v.array if isinstance(v, Tensor) else v, out)


def _batch(shape: Sequence[int]) -> int:
    return int(shape[0]) if len(shape) > 1 and shape[0] else 1


def _mean_square(y: Any) -> jax.Array:
    return jnp.mean(jnp.square(y))
