"""Interleaved (round-robin) timing: every candidate is timed in every round, side by side.

On a shared machine, noise from other processes then hits all candidates alike, and the median of
per-round ratios to a reference candidate is far steadier than a ratio of separate medians.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping


def calibrate(fn: Callable[[], object], budget_s: float = 0.01, max_calls: int = 10_000) -> int:
    """How many calls of ``fn`` take about ``budget_s`` (at least 1)."""
    fn()
    start = time.perf_counter()
    calls = 0
    while time.perf_counter() - start < budget_s / 4 and calls < max_calls:
        fn()
        calls += 1
    per_call = (time.perf_counter() - start) / max(calls, 1)
    return max(1, min(max_calls, int(budget_s / max(per_call, 1e-9))))


def interleaved(
    candidates: Mapping[str, Callable[[], object]], rounds: int = 15, budget_s: float = 0.01
) -> dict[str, list[float]]:
    """Seconds per call of each candidate, one entry per round; candidates take turns within a round.

    Each ``fn`` must block until its result is ready (``jax.block_until_ready`` inside it).
    The order of the candidates rotates each round, so none is always first after a pause.
    """
    names = list(candidates)
    calls = {name: calibrate(candidates[name], budget_s) for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            fn, n = candidates[name], calls[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - start) / n)
    return times


def median_ratio(times: Mapping[str, list[float]], name: str, reference: str) -> float:
    """Median over rounds of ``time[name] / time[reference]`` (same round, side by side)."""
    return statistics.median(a / b for a, b in zip(times[name], times[reference], strict=True))


def median_us(samples: list[float]) -> float:
    """Median of per-call seconds, in microseconds."""
    return statistics.median(samples) * 1e6
