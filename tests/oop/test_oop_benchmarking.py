"""TinyTorch's benchmarking (module 19) and capstone submission (module 20) on tinyjax's harness."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import tinyjax as tj
import tinyjax.oop as oop
from tinyjax.oop import Linear, Sequential, Tensor


def _classifier():
    """A linear classifier that is right on the first two classes of the data below, by construction."""
    model = Linear(2, 2)
    model.weight.data = np.array([[1.0, -1.0], [-1.0, 1.0]], np.float32)
    model.bias.data = np.zeros(2, np.float32)
    x = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.5], [0.5, 2.0]], np.float32)
    return model, x, np.array([0, 1, 0, 1])


def test_benchmark_result_statistics():
    r = oop.BenchmarkResult("m", [1.0, 2.0, 3.0, 4.0])
    assert (r.mean, r.median, r.min_val, r.max_val, r.count) == (2.5, 2.5, 1.0, 4.0, 4)
    assert r.std == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert r.ci_lower <= r.median <= r.ci_upper
    assert r.to_dict()["count"] == 4 and "n=4" in str(r)
    with pytest.raises(ValueError, match="at least one"):
        oop.BenchmarkResult("m", [])


def test_precise_timer_sets_elapsed():
    with oop.precise_timer() as timer:
        time.sleep(0.01)
    assert timer.elapsed >= 0.01


def test_benchmark_latency_accuracy_memory_on_real_labels():
    model, x, y = _classifier()
    wrong = np.array([1, 0, 1, 0])
    bench = oop.Benchmark([model], [(x, y), (x, wrong)], warmup_runs=1, measurement_runs=5)
    latency = bench.run_latency_benchmark((1, 2))["model_0"]
    assert latency.count == 5 and latency.mean > 0
    assert bench.run_accuracy_benchmark()["model_0"].values == [1.0, 0.0]
    assert bench.run_memory_benchmark((1, 2))["model_0"].values[0] > 0
    rows = bench.compare_models("accuracy")
    assert rows[0]["model"] == "model_0" and rows[0]["mean"] == 0.5
    with pytest.raises(tj.ConfigError, match="unknown metric"):
        bench.compare_models("energy")
    with pytest.raises(tj.ConfigError, match="real data"):
        oop.Benchmark([model]).run_accuracy_benchmark()


def test_suite_report(tmp_path):
    model, x, y = _classifier()
    suite = oop.BenchmarkSuite([model], [(x, y)], output_dir=tmp_path)
    suite.benchmark.measurement_runs = 3
    results = suite.run_full_benchmark((1, 2))
    assert set(results) == {"latency", "accuracy", "memory"}
    text = suite.generate_report()
    assert "| model_0 |" in text and (tmp_path / "benchmark_report.md").read_text() == text


def test_tinymlperf_scores_the_callers_data():
    model, x, y = _classifier()
    runner = oop.TinyMLPerf()
    runner.benchmarks["toy"] = {"input_shape": (1, 2), "target_accuracy": 0.9, "max_latency_ms": 1e6}
    result = runner.run_standard_benchmark(model, "toy", x, y, num_runs=5)
    assert result["accuracy"] == 1.0 and result["compliant"] and result["num_samples"] == 4
    worse = runner.run_standard_benchmark(model, "toy", x, 1 - y, num_runs=5)
    assert worse["accuracy"] == 0.0 and not worse["compliant"]
    assert "| toy |" in runner.generate_compliance_report({"toy": result})
    with pytest.raises(tj.ConfigError, match="unknown benchmark"):
        runner.run_standard_benchmark(model, "nope", x, y)


def test_capstone_submission_round_trip(tmp_path):
    model, x, y = _classifier()
    baseline = oop.BenchmarkReport("baseline")
    metrics = baseline.benchmark_model(model, Tensor(x), y, num_runs=5)
    assert metrics["parameter_count"] == 6 and metrics["accuracy"] == 1.0
    bigger = Sequential([Linear(2, 8), Linear(8, 2)])
    optimized = oop.BenchmarkReport("other")
    optimized.benchmark_model(bigger, Tensor(x), y, num_runs=5)
    submission = oop.generate_submission(baseline, optimized, "me", ["none"])
    assert submission["improvements"]["compression_ratio"] == pytest.approx(6 / (2 * 8 + 8 + 8 * 2 + 2))
    assert oop.validate_submission_schema(submission)
    path = oop.save_submission(submission, tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text()) == submission and path.endswith("s.json")
    del submission["baseline"]["metrics"]["accuracy"]
    with pytest.raises(AssertionError, match="accuracy"):
        oop.validate_submission_schema(submission)
