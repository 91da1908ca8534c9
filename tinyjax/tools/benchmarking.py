"""``tj.benchmark`` and ``tj.compare``: time a function honestly, with confidence intervals.

One call of ``fn(*args)`` is one sample, timed with ``time.perf_counter`` around the call and
``block_until_ready`` over the whole output pytree (JAX dispatches asynchronously: without the
wait a sample would time the dispatch, not the work). The first call, which for a ``jax.jit``
function traces and compiles, is timed apart as ``compile_s`` and never enters the samples; then
``warmup`` more calls run untimed (caches, thread pools and the CPU's clock settle), then samples
are taken until there are at least ``runs`` of them and they add up to at least ``min_time``
seconds. ``clock="process"`` times with ``time.process_time`` instead: the CPU seconds every thread
of this process spent during the call (a library that spins threads while it waits costs CPU that
wall time does not show); ``compile_s`` and ``min_time`` are then CPU seconds too.

A candidate can also be named by a string ``"module:function"``: ``function(*args)`` is called
and must return ``(fn, fn_args)``, the callable and the tuple of arguments to time it with. With
``isolate=True`` that happens in a fresh Python process (its own thread pools, its own XLA flags,
``env`` added to its environment), as a library with a thread pool is used in practice; the
arguments must then be JSON values (numbers, strings, lists), because they cross the process
boundary::

    # mybench.py
    def build(n):
        x = jnp.ones((n, n))
        return jax.jit(lambda a: a @ a), (x,)

    tj.benchmark("mybench:build", 256, isolate=True)

Statistics: ``ci`` is a 95% bootstrap interval of the median. :func:`compare` gives the ratio of
two medians with a bootstrap interval that resamples each series in contiguous blocks (the
batch-means method), so slow drift in the machine's load while a series was taken widens the
interval instead of passing for a difference.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from tinyjax._errors import ConfigError, NoisyBenchmarkWarning

__all__ = ["BenchmarkResult", "Comparison", "benchmark", "compare"]

CV_WARNING = 0.10  # above this coefficient of variation a median is too noisy to support a claim
BOOTSTRAP = 2000  # resamples for every interval
BLOCKS = 10  # contiguous blocks per series in compare's block bootstrap

Candidate = Callable[[], Any] | tuple[Any, ...]  # a callable without arguments, or (fn, *args)
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "process": time.process_time}


@dataclasses.dataclass(frozen=True)
class BenchmarkResult:
    """The samples of one benchmark (seconds per call) and statistics over them.

    Attributes:
      samples: seconds per call, in the order taken (float64 array of shape ``(n,)``).
      compile_s: seconds of the first call (for a jitted function: trace, compile and one run).
      name: what was timed.
    """

    samples: np.ndarray
    compile_s: float
    name: str = ""

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @property
    def std(self) -> float:
        """Sample standard deviation (``ddof=1``; 0 for one sample)."""
        return float(np.std(self.samples, ddof=1)) if len(self.samples) > 1 else 0.0

    @property
    def median(self) -> float:
        return float(np.median(self.samples))

    @property
    def p90(self) -> float:
        return float(np.percentile(self.samples, 90))

    @property
    def p99(self) -> float:
        return float(np.percentile(self.samples, 99))

    @property
    def min(self) -> float:
        return float(np.min(self.samples))

    @property
    def cv(self) -> float:
        """Coefficient of variation, ``std / mean``."""
        return self.std / self.mean if self.mean > 0 else 0.0

    @property
    def ci(self) -> tuple[float, float]:
        """95% bootstrap confidence interval of the median, ``(low, high)`` in seconds."""
        medians = _bootstrap_medians(self.samples, np.random.default_rng(0))
        low, high = np.percentile(medians, [2.5, 97.5])
        return float(low), float(high)

    def to_dict(self) -> dict[str, Any]:
        """Every statistic (seconds) and the samples, as JSON-ready values."""
        return {
            "name": self.name,
            "compile_s": self.compile_s,
            "runs": len(self.samples),
            **{k: getattr(self, k) for k in ("mean", "std", "median", "p90", "p99", "min", "cv")},
            "ci": list(self.ci),
            "samples": self.samples.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchmarkResult:
        return cls(np.asarray(data["samples"], np.float64), float(data["compile_s"]), str(data.get("name", "")))

    def __str__(self) -> str:
        low, high = self.ci
        return (
            f"{self.name or 'benchmark'}: median {_time(self.median)} (95% CI {_time(low)} .. {_time(high)}), "
            f"mean {_time(self.mean)} +- {_time(self.std)}, p90 {_time(self.p90)}, p99 {_time(self.p99)}, "
            f"min {_time(self.min)}, CV {100 * self.cv:.1f}%, {len(self.samples)} runs; "
            f"first call {_time(self.compile_s)}"
        )


@dataclasses.dataclass(frozen=True)
class Comparison:
    """``a`` against ``b``: ``ratio`` = median of a / median of b, its 95% interval ``ci``.

    ``significant`` is True when the whole interval lies beyond the noise band ``1 +- threshold``
    (a is slower when ``ratio > 1``): a difference both resolved by the samples and larger than
    what timing the same work twice shows (an interval excluding exactly 1 would flag one in
    twenty comparisons of a function with itself, and a systematic order effect of a percent more).
    """

    a: BenchmarkResult
    b: BenchmarkResult
    ratio: float
    ci: tuple[float, float]
    threshold: float = 0.02

    @property
    def significant(self) -> bool:
        return self.ci[0] > 1.0 + self.threshold or self.ci[1] < 1.0 / (1.0 + self.threshold)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.name,
            "b": self.b.name,
            "ratio": self.ratio,
            "ci": list(self.ci),
            "significant": self.significant,
        }

    def __str__(self) -> str:
        verdict = "significant" if self.significant else "not significant"
        return (
            f"{self.a.name or 'a'} / {self.b.name or 'b'}: {self.ratio:.3f}x "
            f"(95% CI {self.ci[0]:.3f} .. {self.ci[1]:.3f}, {verdict})"
        )


def benchmark(
    fn: Callable[..., Any] | str,
    *args: Any,
    warmup: int = 10,
    runs: int = 50,
    min_time: float = 0.2,
    isolate: bool = False,
    env: dict[str, str] | None = None,
    name: str | None = None,
    max_runs: int = 1_000_000,
    clock: str = "wall",
) -> BenchmarkResult:
    """Time ``fn(*args)``: the first call apart (``compile_s``), ``warmup`` untimed calls, then samples.

    Args:
      fn: a callable, or ``"module:function"`` whose function called with ``*args`` returns
        ``(callable, callable_args)``.
      warmup: untimed calls after the first one.
      runs: the fewest samples to take.
      min_time: the fewest seconds the samples add up to (more samples are taken until reached).
      isolate: run in a fresh Python process (``fn`` must then be a ``"module:function"`` string).
      env: environment variables added for the fresh process (``isolate=True`` only).
      name: the result's name (default: the function's).
      max_runs: the most samples to take, whatever ``min_time`` asks.
      clock: ``"wall"`` (``time.perf_counter``, the default) or ``"process"`` (``time.process_time``:
        CPU seconds of all this process's threads per call).

    Returns:
      A :class:`BenchmarkResult`; a :class:`~tinyjax.NoisyBenchmarkWarning` is issued when its CV is
      above 10%.
    """
    if warmup < 0 or runs < 1 or min_time < 0 or max_runs < runs:
        raise ConfigError(
            f"benchmark: needs warmup >= 0, runs >= 1, min_time >= 0 and max_runs >= runs; "
            f"got warmup={warmup}, runs={runs}, min_time={min_time}, max_runs={max_runs}"
        )
    if clock not in CLOCKS:
        raise ConfigError(f"benchmark: clock is one of {sorted(CLOCKS)}, got {clock!r}")
    if isolate:
        if not isinstance(fn, str):
            raise ConfigError(
                "benchmark(isolate=True): name the candidate as a 'module:function' string whose function "
                "returns (fn, args), so that a fresh process can rebuild it"
            )
        result = _run_isolated(fn, args, warmup, runs, min_time, env, name, max_runs, clock)
    else:
        if env:
            raise ConfigError("benchmark: env= applies to a fresh process only; pass isolate=True")
        label = name if name is not None else (fn if isinstance(fn, str) else _name_of(fn))
        if isinstance(fn, str):
            fn, args = _build(fn, args)
        result = _measure(fn, args, warmup, runs, min_time, max_runs, label, CLOCKS[clock])
    if result.cv > CV_WARNING:
        warnings.warn(
            f"{result.name or 'benchmark'}: CV {100 * result.cv:.0f}% is above {100 * CV_WARNING:.0f}%; the "
            "samples are too noisy to support a claim (quiet the machine, take more runs, or compare "
            "candidates in alternating rounds)",
            NoisyBenchmarkWarning,
            stacklevel=2,
        )
    return result


def compare(
    a: BenchmarkResult | Candidate,
    b: BenchmarkResult | Candidate,
    *,
    rounds: int = 10,
    warmup: int = 10,
    runs: int = 50,
    min_time: float = 0.2,
    seed: int = 0,
    threshold: float = 0.02,
) -> Comparison:
    """``a`` against ``b``: the ratio of their medians and its 95% bootstrap interval.

    ``a`` and ``b`` are either two results of :func:`benchmark`, or two candidates to time here,
    each a callable without arguments or a tuple ``(fn, *args)``. Candidates are timed in
    ``rounds`` alternating rounds (a b, b a, a b, ...; each round takes an equal share of ``runs``
    and ``min_time``), and the interval resamples whole rounds, the same rounds for both, so a
    change in the machine's load during the comparison weighs on both alike. Two finished results
    were taken at different times: their interval resamples contiguous blocks of each series apart
    and cannot cancel a change of load between the two; prefer candidates for a claim.
    ``threshold``: the noise band around 1 the interval must clear to be ``significant`` (2%).
    """
    if isinstance(a, BenchmarkResult) != isinstance(b, BenchmarkResult):
        raise ConfigError("compare: give two BenchmarkResults or two candidates, not one of each")
    rng = np.random.default_rng(seed)
    if isinstance(a, BenchmarkResult) and isinstance(b, BenchmarkResult):
        ra, rb = a, b
        ratios = _bootstrap_medians(ra.samples, rng, blocks=BLOCKS) / _bootstrap_medians(rb.samples, rng, blocks=BLOCKS)
    else:
        ra, rb = _interleaved(_candidate(a), _candidate(b), rounds, warmup, runs, min_time)  # type: ignore[arg-type]
        picks = rng.integers(0, rounds, (BOOTSTRAP, rounds))  # the same rounds for both: paired
        per_round_a = ra.samples.reshape(rounds, -1)[picks].reshape(BOOTSTRAP, -1)
        per_round_b = rb.samples.reshape(rounds, -1)[picks].reshape(BOOTSTRAP, -1)
        ratios = np.median(per_round_a, axis=1) / np.median(per_round_b, axis=1)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return Comparison(ra, rb, ra.median / rb.median, (float(low), float(high)), threshold)


def _candidate(c: Candidate) -> tuple[Callable[..., Any], tuple[Any, ...], str]:
    if isinstance(c, tuple):
        if not c or not callable(c[0]):
            raise ConfigError("compare: a candidate tuple is (fn, *args) with a callable fn")
        return c[0], tuple(c[1:]), _name_of(c[0])
    if not callable(c):
        raise ConfigError(f"compare: expected a BenchmarkResult, a callable or (fn, *args), got {type(c).__name__}")
    return c, (), _name_of(c)


def _interleaved(
    a: tuple[Callable[..., Any], tuple[Any, ...], str],
    b: tuple[Callable[..., Any], tuple[Any, ...], str],
    rounds: int,
    warmup: int,
    runs: int,
    min_time: float,
) -> tuple[BenchmarkResult, BenchmarkResult]:
    """Both candidates timed in alternating rounds of equal size; samples kept in round order."""
    if rounds < 2:
        raise ConfigError(f"compare: needs rounds >= 2, got {rounds}")
    first = [_measure(fn, args, warmup, 5, 0.0, 5, name) for fn, args, name in (a, b)]  # 5 to size the rounds
    slowest = max(r.median for r in first)
    per_round = max(1, -(-runs // rounds), int(min_time / rounds / max(slowest, 1e-9)))
    samples: list[list[float]] = [[], []]
    for i in range(rounds):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for j in order:
            fn, args, _ = (a, b)[j]
            samples[j].extend(_samples(fn, args, per_round))
    return tuple(  # type: ignore[return-value]
        BenchmarkResult(np.asarray(s, np.float64), r.compile_s, r.name) for s, r in zip(samples, first, strict=True)
    )


def _measure(
    fn: Callable[..., Any],
    args: Sequence[Any],
    warmup: int,
    runs: int,
    min_time: float,
    max_runs: int,
    name: str,
    clock: Callable[[], float] = time.perf_counter,
) -> BenchmarkResult:
    start = clock()
    out = fn(*args)
    jax.block_until_ready(out)
    compile_s = clock() - start
    wait = _waiter(out)
    for _ in range(warmup):
        wait(fn(*args))
    samples: list[float] = []
    append = samples.append
    total = 0.0
    # the loop does only what a sample needs: two clock reads, the call and the wait
    while len(samples) < runs or (total < min_time and len(samples) < max_runs):
        t0 = clock()
        wait(fn(*args))
        t = clock() - t0
        append(t)
        total += t
    return BenchmarkResult(np.asarray(samples, np.float64), compile_s, name)


def _samples(fn: Callable[..., Any], args: Sequence[Any], n: int) -> list[float]:
    """``n`` more samples of an already warmed-up candidate."""
    clock = time.perf_counter
    wait = _waiter(fn(*args))
    samples = []
    for _ in range(n):
        t0 = clock()
        wait(fn(*args))
        samples.append(clock() - t0)
    return samples


def _waiter(out: Any) -> Callable[[Any], Any]:
    """The cheapest wait that covers every array of an output shaped like ``out``."""
    if isinstance(out, jax.Array):
        return _wait_array
    if not jax.tree_util.tree_leaves(out, is_leaf=lambda x: isinstance(x, jax.Array)):
        return lambda _: None  # no JAX arrays: the call has finished when it returns (NumPy, PyTorch CPU)
    return jax.block_until_ready


def _wait_array(out: Any) -> Any:
    return out.block_until_ready()


def _bootstrap_medians(samples: np.ndarray, rng: np.random.Generator, *, blocks: int = 0) -> np.ndarray:
    """Medians of ``BOOTSTRAP`` resamples; with ``blocks``, whole contiguous blocks are resampled."""
    samples = np.asarray(samples, np.float64)
    n = len(samples)
    if blocks and n >= 2 * blocks:
        size = n // blocks
        chunks = samples[: size * blocks].reshape(blocks, size)
        picks = rng.integers(0, blocks, (BOOTSTRAP, blocks))
        return np.median(chunks[picks].reshape(BOOTSTRAP, -1), axis=1)
    out = np.empty(BOOTSTRAP)
    step = max(1, 2_000_000 // max(n, 1))  # resamples per chunk: bounded memory for long series
    for lo in range(0, BOOTSTRAP, step):
        hi = min(BOOTSTRAP, lo + step)
        out[lo:hi] = np.median(samples[rng.integers(0, n, (hi - lo, n))], axis=1)
    return out


def _build(target: str, args: Sequence[Any]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """``"module:function"`` -> ``function(*args)``, checked to be ``(callable, args)``."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"benchmark: name a candidate as 'module:function', got {target!r}")
    builder = getattr(importlib.import_module(module_name), attr)
    built = builder(*args)
    if not (isinstance(built, tuple) and len(built) == 2 and callable(built[0])):
        raise ConfigError(f"benchmark: {target}(...) must return (fn, args), got {type(built).__name__}")
    fn, fn_args = built
    return fn, tuple(fn_args)


def _run_isolated(
    target: str,
    args: Sequence[Any],
    warmup: int,
    runs: int,
    min_time: float,
    env: dict[str, str] | None,
    name: str | None,
    max_runs: int,
    clock: str = "wall",
) -> BenchmarkResult:
    request = {
        "target": target,
        "args": list(args),
        "warmup": warmup,
        "runs": runs,
        "min_time": min_time,
        "max_runs": max_runs,
        "name": name if name is not None else target,
        "clock": clock,
    }
    try:
        payload = json.dumps(request)
    except TypeError as error:
        raise ConfigError(f"benchmark(isolate=True): the arguments must be JSON values: {error}") from None
    # the child finds what this process finds: the same import path, before its own
    path = os.pathsep.join(p for p in [*sys.path, os.environ.get("PYTHONPATH", "")] if p)
    child_env = {**os.environ, "PYTHONPATH": path, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "tinyjax.tools.benchmarking"],
        input=payload,
        capture_output=True,
        text=True,
        env=child_env,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"benchmark(isolate=True): the process for {target} failed: {detail}")
    return BenchmarkResult.from_dict(json.loads(lines[-1]))


def _name_of(fn: Any) -> str:
    return str(getattr(fn, "__name__", None) or getattr(getattr(fn, "func", None), "__name__", "") or type(fn).__name__)


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _child() -> None:
    """The fresh process of ``isolate=True``: a request on stdin, the result as one JSON line on stdout."""
    request = json.loads(sys.stdin.read())
    fn, args = _build(request["target"], request["args"])
    result = _measure(
        fn,
        args,
        request["warmup"],
        request["runs"],
        request["min_time"],
        request["max_runs"],
        request["name"],
        CLOCKS[request.get("clock", "wall")],
    )
    sys.stdout.write("\n" + json.dumps(result.to_dict()) + "\n")


if __name__ == "__main__":
    _child()
