"""TinyTorch's benchmarking (module 19) and capstone report (module 20) on tinyjax's harness.

The names, arguments and result keys are TinyTorch's; the measurements are :func:`tinyjax.benchmark`'s
(every sample waited for with ``block_until_ready``, the first call apart) and accuracy is always
measured on the inputs and labels the caller passes: nothing here invents an accuracy, scores a
model by its name, or estimates energy.

- :class:`BenchmarkResult`: one metric's values and their statistics (``ci_lower`` / ``ci_upper``
  are the 95% bootstrap interval of the median, as ``tj.BenchmarkResult.ci``).
- :func:`precise_timer`: a context manager whose ``elapsed`` is set on exit.
- :class:`Benchmark`, :class:`BenchmarkSuite`: latency, accuracy and memory of several models.
- :class:`TinyMLPerf`: MLPerf-Tiny-style tasks with accuracy and latency targets, run on the
  caller's data.
- :class:`BenchmarkReport`, :func:`generate_submission`, :func:`save_submission`,
  :func:`validate_submission_schema`: the capstone's submission JSON.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyjax._errors import ConfigError, NoisyBenchmarkWarning
from tinyjax._version import __version__
from tinyjax.oop.profiling import Profiler, _array, _arrays
from tinyjax.oop.tensor import Tensor
from tinyjax.tools.benchmarking import BenchmarkResult as Timing
from tinyjax.tools.benchmarking import benchmark

__all__ = [
    "Benchmark",
    "BenchmarkReport",
    "BenchmarkResult",
    "BenchmarkSuite",
    "TinyMLPerf",
    "generate_submission",
    "precise_timer",
    "save_submission",
    "validate_submission_schema",
]


@dataclasses.dataclass
class BenchmarkResult:
    """A metric's measurements (``values``) and statistics: mean, std, median, min_val, max_val, count, CI."""

    metric_name: str
    values: list[float]
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.values) == 0:
            raise ConfigError(f"BenchmarkResult({self.metric_name!r}) needs at least one measurement")
        self.values = [float(v) for v in self.values]
        stats = Timing(np.asarray(self.values), 0.0, self.metric_name)
        self.mean, self.std, self.median = stats.mean, stats.std, stats.median
        self.min_val, self.max_val, self.count = min(self.values), max(self.values), len(self.values)
        self.ci_lower, self.ci_upper = stats.ci if self.count > 1 else (self.median, self.median)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric_name": self.metric_name,
            "values": self.values,
            "mean": self.mean,
            "std": self.std,
            "median": self.median,
            "min": self.min_val,
            "max": self.max_val,
            "count": self.count,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "metadata": self.metadata,
        }

    def __str__(self) -> str:
        return f"{self.metric_name}: {self.mean:.4f} ± {self.std:.4f} (n={self.count})"


@dataclasses.dataclass
class _Timer:
    elapsed: float = 0.0
    start_time: float = 0.0


@contextlib.contextmanager
def precise_timer() -> Iterator[_Timer]:
    """``with precise_timer() as t: ...``; then ``t.elapsed`` is the seconds taken (``perf_counter``).

    It times what the block does in Python: wait for JAX results inside the block
    (``block_until_ready``), or the asynchronous dispatch is all that is timed.
    """
    timer = _Timer(start_time=time.perf_counter())
    try:
        yield timer
    finally:
        timer.elapsed = time.perf_counter() - timer.start_time


def _system_info() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python_version": platform.python_version(),
        "cpu_count": os.cpu_count() or 1,
        "tinyjax_version": __version__,
    }


def _latency_samples_ms(model: Any, x: Any, warmup: int, runs: int) -> list[float]:
    forward = model.forward if hasattr(model, "forward") else model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoisyBenchmarkWarning)
        result = benchmark(lambda: _arrays(forward(x)), warmup=warmup, runs=runs, min_time=0.0)
    return [s * 1e3 for s in result.samples]


def _accuracy(model: Any, inputs: Any, labels: Any) -> float:
    """Fraction of ``argmax(model.forward(inputs), -1) == labels`` (labels: class indices or one-hot rows)."""
    forward = model.forward if hasattr(model, "forward") else model
    x = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(_array(inputs), np.float32))
    predictions = np.argmax(np.asarray(_array(forward(x))), axis=-1)
    y = np.asarray(_array(labels))
    if y.ndim == predictions.ndim + 1:
        y = np.argmax(y, axis=-1)
    if y.shape != predictions.shape:
        raise ConfigError(f"accuracy: {y.shape[0] if y.ndim else 1} labels for {predictions.shape} predictions")
    return float(np.mean(predictions == y))


def _name(model: Any, i: int) -> str:
    return str(getattr(model, "name", f"model_{i}"))


class Benchmark:
    """Latency, accuracy and memory of ``models``; ``datasets`` are ``(inputs, labels)`` pairs.

    A model with ``evaluate(dataset) -> accuracy`` is scored by it; any other is scored as
    ``argmax(model.forward(inputs)) == labels``.
    """

    def __init__(
        self, models: Sequence[Any], datasets: Sequence[Any] = (), warmup_runs: int = 5, measurement_runs: int = 10
    ) -> None:
        self.models, self.datasets = list(models), list(datasets)
        self.warmup_runs, self.measurement_runs = warmup_runs, measurement_runs
        self.results: dict[str, Any] = {}
        self.profiler = Profiler()
        self.system_info = _system_info()

    def run_latency_benchmark(self, input_shape: Sequence[int] = (1, 28, 28)) -> dict[str, BenchmarkResult]:
        """Milliseconds per ``forward`` on a random input of ``input_shape``: every timed call is one value."""
        x = Tensor(np.random.default_rng(0).standard_normal(tuple(input_shape)).astype(np.float32))
        results = {}
        for i, model in enumerate(self.models):
            name = _name(model, i)
            samples = _latency_samples_ms(model, x, self.warmup_runs, self.measurement_runs)
            results[name] = BenchmarkResult(
                f"{name}_latency_ms", samples, {"input_shape": tuple(input_shape), **self.system_info}
            )
        return results

    def run_accuracy_benchmark(self) -> dict[str, BenchmarkResult]:
        """Accuracy on each dataset (one value per dataset)."""
        if not self.datasets:
            raise ConfigError("Benchmark: accuracy needs datasets, as (inputs, labels) pairs of real data")
        results = {}
        for i, model in enumerate(self.models):
            name = _name(model, i)
            values = []
            for dataset in self.datasets:
                if hasattr(model, "evaluate"):
                    values.append(float(model.evaluate(dataset)))
                else:
                    inputs, labels = dataset
                    values.append(_accuracy(model, inputs, labels))
            results[name] = BenchmarkResult(
                f"{name}_accuracy", values, {"num_datasets": len(self.datasets), **self.system_info}
            )
        return results

    def run_memory_benchmark(self, input_shape: Sequence[int] = (1, 28, 28)) -> dict[str, BenchmarkResult]:
        """XLA's peak memory of the compiled forward pass, in MB (one value: it does not vary between runs)."""
        results = {}
        for i, model in enumerate(self.models):
            name = _name(model, i)
            peak = self.profiler.measure_memory(model, input_shape)["peak_memory_mb"]
            results[name] = BenchmarkResult(
                f"{name}_memory_mb", [peak], {"input_shape": tuple(input_shape), **self.system_info}
            )
        return results

    def compare_models(self, metric: str = "latency") -> list[dict[str, Any]]:
        """One row per model for ``metric`` ("latency", "accuracy" or "memory")."""
        runs = {
            "latency": self.run_latency_benchmark,
            "accuracy": self.run_accuracy_benchmark,
            "memory": self.run_memory_benchmark,
        }
        if metric not in runs:
            raise ConfigError(f"unknown metric {metric!r}; use one of {sorted(runs)}")
        return [
            {
                "model": name,
                "metric": metric,
                "mean": r.mean,
                "std": r.std,
                "median": r.median,
                "ci_lower": r.ci_lower,
                "ci_upper": r.ci_upper,
                "count": r.count,
            }
            for name, r in runs[metric]().items()
        ]


class BenchmarkSuite:
    """Latency, accuracy and memory of every model, and a Markdown report (no energy: it is not measured)."""

    def __init__(
        self, models: Sequence[Any], datasets: Sequence[Any], output_dir: str | os.PathLike[str] = "benchmark_results"
    ) -> None:
        self.models, self.datasets = list(models), list(datasets)
        self.output_dir = Path(output_dir)
        self.benchmark = Benchmark(models, datasets)
        self.results: dict[str, dict[str, BenchmarkResult]] = {}

    def run_full_benchmark(self, input_shape: Sequence[int] = (1, 28, 28)) -> dict[str, dict[str, BenchmarkResult]]:
        self.results["latency"] = self.benchmark.run_latency_benchmark(input_shape)
        if self.datasets:
            self.results["accuracy"] = self.benchmark.run_accuracy_benchmark()
        self.results["memory"] = self.benchmark.run_memory_benchmark(input_shape)
        return self.results

    def generate_report(self) -> str:
        """A Markdown table (median and 95% interval per metric and model), also written to ``output_dir``."""
        if not self.results:
            self.run_full_benchmark()
        metrics = list(self.results)
        names = list(next(iter(self.results.values())))
        lines = [
            "# Benchmark report",
            "",
            f"System: {self.benchmark.system_info['platform']}, {self.benchmark.system_info['cpu_count']} cores",
            "",
            "| model | " + " | ".join(metrics) + " |",
            "|---|" + "---:|" * len(metrics),
        ]
        for name in names:
            cells = []
            for metric in metrics:
                r = self.results[metric][name]
                cells.append(f"{r.median:.4g} [{r.ci_lower:.4g}, {r.ci_upper:.4g}]")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        text = "\n".join(lines) + "\n"
        self.output_dir.mkdir(parents=True, exist_ok=True)
        (self.output_dir / "benchmark_report.md").write_text(text)
        return text


class TinyMLPerf:
    """MLPerf-Tiny-style tasks: accuracy on the caller's data and single-sample latency against targets.

    The tasks (names, input shapes, targets) are TinyTorch's. Unlike TinyTorch's runner, which scores
    random inputs, :meth:`run_standard_benchmark` takes the task's real ``inputs`` and ``labels``.
    """

    def __init__(self, random_seed: int = 42) -> None:
        self.random_seed = random_seed
        self.benchmarks: dict[str, dict[str, Any]] = {
            "keyword_spotting": {"input_shape": (1, 16000), "target_accuracy": 0.90, "max_latency_ms": 100},
            "visual_wake_words": {"input_shape": (1, 96, 96, 3), "target_accuracy": 0.80, "max_latency_ms": 200},
            "anomaly_detection": {"input_shape": (1, 640), "target_accuracy": 0.85, "max_latency_ms": 50},
            "image_classification": {"input_shape": (1, 32, 32, 3), "target_accuracy": 0.75, "max_latency_ms": 150},
        }

    def run_standard_benchmark(
        self, model: Any, benchmark_name: str, inputs: Any, labels: Any, num_runs: int = 100
    ) -> dict[str, Any]:
        """Accuracy on ``inputs`` / ``labels``; latency of one sample (``inputs[:1]``) over ``num_runs`` calls."""
        if benchmark_name not in self.benchmarks:
            raise ConfigError(f"unknown benchmark {benchmark_name!r}; use one of {sorted(self.benchmarks)}")
        config = self.benchmarks[benchmark_name]
        accuracy = _accuracy(model, inputs, labels)
        one = Tensor(np.asarray(_array(inputs), np.float32)[:1])
        latencies = np.asarray(_latency_samples_ms(model, one, 5, num_runs))
        median = float(np.median(latencies))
        accuracy_met = accuracy >= config["target_accuracy"]
        latency_met = median <= config["max_latency_ms"]
        return {
            "benchmark_name": benchmark_name,
            "model_name": getattr(model, "name", type(model).__name__),
            "accuracy": accuracy,
            "num_samples": int(np.shape(_array(inputs))[0]),
            "mean_latency_ms": float(np.mean(latencies)),
            "median_latency_ms": median,
            "std_latency_ms": float(np.std(latencies)),
            "p90_latency_ms": float(np.percentile(latencies, 90)),
            "p99_latency_ms": float(np.percentile(latencies, 99)),
            "max_latency_ms": float(np.max(latencies)),
            "throughput_fps": 1000 / median,
            "target_accuracy": float(config["target_accuracy"]),
            "target_latency_ms": float(config["max_latency_ms"]),
            "accuracy_met": accuracy_met,
            "latency_met": latency_met,
            "compliant": accuracy_met and latency_met,
            "num_runs": int(num_runs),
            "random_seed": int(self.random_seed),
        }

    def run_all_benchmarks(self, model: Any, data: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
        """Every task that ``data`` (task name -> ``(inputs, labels)``) has data for."""
        return {name: self.run_standard_benchmark(model, name, *pair) for name, pair in data.items()}

    def generate_compliance_report(self, results: dict[str, dict[str, Any]]) -> str:
        lines = ["| task | accuracy (target) | median latency ms (limit) | compliant |", "|---|---:|---:|---|"]
        for name, r in results.items():
            lines.append(
                f"| {name} | {r['accuracy']:.3f} ({r['target_accuracy']:.2f}) | "
                f"{r['median_latency_ms']:.3f} ({r['target_latency_ms']:.0f}) | {'yes' if r['compliant'] else 'no'} |"
            )
        return "\n".join(lines)


class BenchmarkReport:
    """The capstone's measurements of one model: size, accuracy on test data, latency, throughput."""

    def __init__(self, model_name: str = "model") -> None:
        self.model_name = model_name
        self.metrics: dict[str, Any] = {}
        self.system_info = {**_system_info(), "python_version": sys.version.split()[0], "numpy_version": np.__version__}
        self.timestamp = time.strftime("%Y-%m-%d %H:%M:%S")

    def benchmark_model(self, model: Any, X_test: Any, y_test: Any, num_runs: int = 100) -> dict[str, Any]:  # noqa: N803
        """Parameters, size (float32), accuracy on ``X_test`` / ``y_test``, single-sample latency and throughput."""
        count = model.count_parameters() if hasattr(model, "count_parameters") else Profiler().count_parameters(model)
        accuracy = _accuracy(model, X_test, y_test)
        one = Tensor(np.asarray(_array(X_test), np.float32)[:1])
        latencies = _latency_samples_ms(model, one, 5, num_runs)
        stats = BenchmarkResult("latency_ms", latencies)
        self.metrics = {
            "parameter_count": int(count),
            "model_size_mb": float(count * 4 / 2**20),
            "accuracy": accuracy,
            "latency_ms_mean": stats.mean,
            "latency_ms_std": stats.std,
            "latency_ms_median": stats.median,
            "latency_ms_ci": [stats.ci_lower, stats.ci_upper],
            "throughput_samples_per_sec": 1000 / stats.median,
        }
        return self.metrics


def generate_submission(
    baseline_report: BenchmarkReport,
    optimized_report: BenchmarkReport | None = None,
    student_name: str | None = None,
    techniques_applied: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The capstone's submission: the baseline, an optional optimized model, and the improvements."""
    submission: dict[str, Any] = {
        "tinytorch_version": __version__,  # the schema's field: the version of the library that measured
        "library": "tinyjax",
        "submission_type": "capstone_benchmark",
        "timestamp": baseline_report.timestamp,
        "system_info": baseline_report.system_info,
        "baseline": {"model_name": baseline_report.model_name, "metrics": baseline_report.metrics},
    }
    if student_name:
        submission["student_name"] = student_name
    if optimized_report is not None:
        base, opt = baseline_report.metrics, optimized_report.metrics
        submission["optimized"] = {
            "model_name": optimized_report.model_name,
            "metrics": opt,
            "techniques_applied": list(techniques_applied or []),
        }
        submission["improvements"] = {
            "speedup": float(base["latency_ms_mean"] / opt["latency_ms_mean"]),
            "compression_ratio": float(base["model_size_mb"] / opt["model_size_mb"]),
            "accuracy_delta": float(opt["accuracy"] - base["accuracy"]),
        }
    return submission


def save_submission(submission: dict[str, Any], filepath: str | os.PathLike[str] = "submission.json") -> str:
    """Write ``submission`` as indented JSON; returns the path."""
    Path(filepath).write_text(json.dumps(submission, indent=2))
    return str(filepath)


def validate_submission_schema(submission: dict[str, Any]) -> bool:
    """True for a complete, well-typed submission; AssertionError naming the first problem otherwise."""
    for field in ("tinytorch_version", "submission_type", "timestamp", "system_info", "baseline"):
        if field not in submission:
            raise AssertionError(f"Missing required field: {field}")
    for field, kind in (
        ("tinytorch_version", str),
        ("submission_type", str),
        ("timestamp", str),
        ("system_info", dict),
        ("baseline", dict),
    ):
        if not isinstance(submission[field], kind):
            raise AssertionError(f"{field} should be a {kind.__name__}")
    baseline = submission["baseline"]
    if "model_name" not in baseline or "metrics" not in baseline:
        raise AssertionError("Baseline needs model_name and metrics")
    metrics = baseline["metrics"]
    for metric in ("parameter_count", "model_size_mb", "accuracy", "latency_ms_mean"):
        if metric not in metrics:
            raise AssertionError(f"Missing metric in baseline: {metric}")
    if not 0 <= metrics["accuracy"] <= 1:
        raise AssertionError("Accuracy must be in [0, 1]")
    for metric in ("parameter_count", "model_size_mb", "latency_ms_mean"):
        if not metrics[metric] > 0:
            raise AssertionError(f"{metric} must be positive")
    for field in ("platform", "python_version"):
        if field not in submission["system_info"]:
            raise AssertionError(f"System info missing {field}")
    return True
