"""``tj.benchmark`` and ``tj.compare``: statistics, what is timed, process isolation, and whether a
real difference is found (and a non-difference is not). Timings are only compared with each other,
never with a fixed figure."""

from __future__ import annotations

import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj


def test_statistics_of_known_samples():
    samples = np.arange(1.0, 101.0) * 1e-3  # 1 ms .. 100 ms
    r = tj.BenchmarkResult(samples, compile_s=1.0)
    assert r.median == pytest.approx(50.5e-3)
    assert r.mean == pytest.approx(50.5e-3)
    assert r.std == pytest.approx(np.std(samples, ddof=1))
    assert r.min == pytest.approx(1e-3)
    assert r.p90 == pytest.approx(np.percentile(samples, 90))
    assert r.p99 == pytest.approx(np.percentile(samples, 99))
    assert r.cv == pytest.approx(r.std / r.mean)
    low, high = r.ci
    assert low < r.median < high
    # the interval of a median of 100 evenly spread values spans about +-10 ranks
    assert low > 30e-3 and high < 70e-3
    assert tj.BenchmarkResult.from_dict(r.to_dict()).samples.tolist() == samples.tolist()
    assert "median 50.5 ms" in str(r)


def test_first_call_is_apart_and_every_call_is_counted():
    calls = []
    x = jnp.ones((8, 8))

    @jax.jit
    def double(a):
        return a * 2

    def fn(a):
        calls.append(1)
        return {"y": double(a), "pair": (double(a), 3)}  # a pytree with a non-array leaf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)
        r = tj.benchmark(fn, x, warmup=4, runs=20, min_time=0.0)
    assert len(r.samples) == 20
    assert len(calls) == 1 + 4 + 20  # the first call, the warm-up, the samples
    # the first call traced and compiled: it is slower than any timed call, and none of them
    assert r.compile_s > r.samples.max()


def test_min_time_takes_more_samples_than_runs():
    x = jnp.ones((64, 64))
    f = jax.jit(lambda a: a @ a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)
        r = tj.benchmark(f, x, runs=3, min_time=0.02)
    assert len(r.samples) > 3
    assert r.samples.sum() >= 0.02


def test_noisy_samples_warn():
    big, small = jnp.ones((384, 384)), jnp.ones((8, 8))
    f = jax.jit(lambda a: a @ a)
    count = iter(range(10**9))

    def uneven():
        return f(big if next(count) % 2 else small)  # every other call is ~10^4x the work

    with pytest.warns(tj.NoisyBenchmarkWarning, match="CV"):
        tj.benchmark(uneven, runs=20, min_time=0.0)


def test_bad_arguments_are_refused():
    f = jax.jit(lambda a: a)
    with pytest.raises(tj.ConfigError, match="runs"):
        tj.benchmark(f, 1.0, runs=0)
    with pytest.raises(tj.ConfigError, match="module:function"):
        tj.benchmark(f, 1.0, isolate=True)
    with pytest.raises(tj.ConfigError, match="module:function"):
        tj.benchmark("no_colon_here")
    with pytest.raises(tj.ConfigError, match=r"\(fn, args\)"):
        tj.benchmark("benchmark_candidates:not_a_pair")
    with pytest.raises(tj.ConfigError, match="isolate=True"):
        tj.benchmark(f, 1.0, env={"A": "1"})
    with pytest.raises(tj.ConfigError, match="JSON"):
        tj.benchmark("benchmark_candidates:matmul", object(), isolate=True)
    with pytest.raises(tj.ConfigError, match="clock"):
        tj.benchmark(f, 1.0, clock="cpu")
    with pytest.raises(tj.ConfigError, match="not one of each"):
        tj.compare(tj.BenchmarkResult(np.ones(3), 0.0), f)


def test_process_clock_counts_cpu_time_not_waiting():
    def wait():  # a call that takes wall time and almost no CPU time: the two clocks must differ
        time.sleep(0.005)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)
        wall = tj.benchmark(wait, warmup=0, runs=5, min_time=0.0)
        cpu = tj.benchmark(wait, warmup=0, runs=5, min_time=0.0, clock="process")
    assert cpu.median < wall.median / 2


def test_a_named_candidate_runs_here_and_in_a_fresh_process():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)
        here = tj.benchmark("benchmark_candidates:matmul", 32, runs=5, min_time=0.0)
        apart = tj.benchmark(
            "benchmark_candidates:needs_env",
            32,
            runs=5,
            min_time=0.0,
            isolate=True,
            env={"TINYJAX_BENCH_TEST": "yes"},
            clock="process",  # the clock travels to the fresh process too
        )
    assert len(here.samples) == 5 and len(apart.samples) == 5
    assert apart.name == "benchmark_candidates:needs_env" and apart.median > 0
    assert apart.compile_s > 0


def test_compare_of_two_results():
    a = tj.BenchmarkResult(np.full(50, 2e-3) + np.linspace(0, 1e-5, 50), 0.0, "a")
    b = tj.BenchmarkResult(np.full(50, 1e-3) + np.linspace(0, 1e-5, 50), 0.0, "b")
    c = tj.compare(a, b)
    assert c.ratio == pytest.approx(a.median / b.median)
    assert c.ci[0] <= c.ratio <= c.ci[1]
    assert c.significant and c.ci[0] > 1.9
    assert not tj.compare(a, a).significant
    assert "a / b" in str(c) and c.to_dict()["significant"] is True


def test_twice_the_work_is_found_slower_and_the_same_work_is_not():
    # real work, not sleeps: a product with twice the rows is twice the FLOPs of the same product
    w = jnp.ones((256, 256))
    x, x2 = jnp.ones((256, 256)), jnp.ones((512, 256))
    matmul = jax.jit(lambda a, b: a @ b)
    found, flagged = 0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)
        for _ in range(10):
            slower = tj.compare((matmul, x2, w), (matmul, x, w), rounds=20, runs=60, min_time=0.08)
            found += slower.significant and slower.ratio > 1 and slower.ci[0] > 1
            same = tj.compare((matmul, x, w), (matmul, x, w), rounds=20, runs=60, min_time=0.08)
            flagged += same.significant
    assert found == 10
    assert flagged <= 1
