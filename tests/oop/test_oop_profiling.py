"""TinyTorch's Profiler API (module 14) on the functional profiler: names, keys, and figures from XLA."""

from __future__ import annotations

import numpy as np
import pytest

import tinyjax as tj
import tinyjax.oop as oop
from tinyjax.oop import Linear, ReLU, Sequential, Tensor


def test_count_parameters_of_any_object_with_parameters():
    class SimpleModel:  # TinyTorch's test model: only parameters()
        def __init__(self):
            self.layer = Linear(10, 5)

        def parameters(self):
            return self.layer.parameters()

    assert oop.Profiler().count_parameters(SimpleModel()) == 10 * 5 + 5


def test_flops_per_sample_are_xlas_count_over_the_batch():
    profiler = oop.Profiler()
    # XLA counts the product and the bias add: 2 * in * out + out per sample, whatever the batch
    assert profiler.count_flops(Linear(128, 64), (1, 128)) == 2 * 128 * 64 + 64
    assert profiler.count_flops(Linear(128, 64), (16, 128)) == 2 * 128 * 64 + 64
    model = Sequential([Linear(6, 4), ReLU(), Linear(4, 2)])
    layer, params = model.to_functional()
    assert profiler.count_flops(model, (8, 6)) * 8 == tj.profile(layer, params, np.ones((8, 6), np.float32)).flops
    assert profiler.operation_counts["count_flops"] == 3


def test_memory_latency_and_layer_profile_keys():
    profiler = oop.Profiler()
    layer = Linear(32, 16)
    memory = profiler.measure_memory(layer, (4, 32))
    assert memory["parameter_memory_mb"] == pytest.approx((32 * 16 + 16) * 4 / 2**20)
    assert memory["peak_memory_mb"] >= memory["parameter_memory_mb"] + memory["activation_memory_mb"]
    assert 0 < memory["memory_efficiency"] <= 1
    report = profiler.profile_layer(layer, (4, 32))
    assert report["layer_type"] == "Linear" and report["parameters"] == 32 * 16 + 16
    assert report["latency_ms"] > 0 and report["gflops_per_second"] > 0

    class DuckModel:  # TinyTorch's latency test: any object with forward
        def __init__(self):
            self.weight = Tensor(np.random.randn(10, 10))

        def forward(self, x):
            return x.matmul(self.weight)

    assert profiler.measure_latency(DuckModel(), Tensor(np.random.randn(1, 10)), warmup=1, iterations=3) > 0


def test_forward_and_backward_pass_profiles(capsys):
    model = Sequential([Linear(20, 16), ReLU(), Linear(16, 4)])
    x = Tensor(np.random.randn(8, 20))
    profiler = oop.Profiler()
    forward = oop.quick_profile(model, x, profiler)
    assert "Parameters: 404" in capsys.readouterr().out
    assert forward["bottleneck"] in {"memory", "compute"}
    assert forward["is_memory_bound"] != forward["is_compute_bound"]
    assert forward["computational_efficiency"] is None  # no peak given: no efficiency claimed
    backward = profiler.profile_backward_pass(model, x)
    assert backward["total_flops"] == backward["forward_flops"] + backward["backward_flops"]
    assert backward["backward_flops"] > backward["forward_flops"]  # gradients to weights and inputs, and Adam
    assert backward["optimizer_memory_estimates"]["adam"] == pytest.approx(
        2 * backward["gradient_memory_mb"] + 4 / 2**20
    )


def test_weight_distribution():
    model = Linear(2, 2, bias=False)
    model.weight.data = np.array([[0.0005, -0.005], [0.05, -0.5]], np.float32)
    stats = oop.analyze_weight_distribution(model)
    assert stats["total_weights"] == 4
    assert stats["max"] == pytest.approx(0.5)
    assert stats["below_threshold_0001"] == 25.0
    assert stats["below_threshold_001"] == 50.0
    assert stats["below_threshold_01"] == 75.0
    assert stats["percentile_50"] == pytest.approx(np.percentile([0.0005, 0.005, 0.05, 0.5], 50))
    assert oop.analyze_weight_distribution(object()) == {"error": "No weights found"}


def test_flops_of_an_object_without_a_functional_twin_use_tinytorchs_formulas():
    class Opaque:
        def forward(self, x):
            return x

    class StandIn:  # TinyTorch's tests count a stand-in by its weight: 2 * in * out per sample
        def __init__(self, n_in, n_out):
            self.weight = Tensor(np.ones((n_in, n_out), np.float32))

    class Container:
        def __init__(self):
            self.layers = [StandIn(8, 4), Opaque(), StandIn(4, 2)]

    profiler = oop.Profiler()
    assert profiler.count_flops(Tensor(np.ones((4, 8))), (4, 8)) == 32  # one per element
    assert profiler.count_flops(StandIn(128, 64), (1, 128)) == profiler.count_flops(StandIn(128, 64), (32, 128))
    assert profiler.count_flops(StandIn(128, 64), (1, 128)) == 2 * 128 * 64
    assert profiler.count_flops(Container(), (1, 8)) == 2 * 8 * 4 + 4 + 2 * 4 * 2  # the Opaque sees (1, 4)
    with pytest.raises(tj.ConfigError, match="to_functional"):  # memory has no formula: XLA's or nothing
        profiler.measure_memory(Opaque(), (1, 3))
