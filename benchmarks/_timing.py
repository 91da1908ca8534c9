"""In-process timing for benchmarks where only XLA runs (one thread pool): turns, rounds, medians.

``seconds_per_call`` is the one place that times a call; when ``tj.benchmark`` is on main it can
become ``tj.benchmark(run, ...).median``. ``in_turns`` runs the candidates one after another in
rotating order, round after round, so that a change of the machine's load weighs on all of them
alike; ratios are the medians of per-round ratios.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def seconds_per_call(run: Callable[[], Any], min_time: float = 0.05) -> float:
    """Mean seconds of one ``run()`` over at least ``min_time`` seconds of calls (``run`` must block)."""
    start, calls = time.perf_counter(), 0
    while True:
        run()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / calls


def in_turns(runs: dict[str, Callable[[], Any]], rounds: int, min_time: float = 0.05) -> dict[str, list[float]]:
    """Per-round seconds per call of each candidate (each warmed up first), rotating the order every round."""
    names = list(runs)
    for run in runs.values():
        run()
        seconds_per_call(run, min_time)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            samples[name].append(seconds_per_call(runs[name], min_time))
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio(samples: dict[str, list[float]], a: str, b: str) -> float:
    """The median of the per-round ratios ``a / b``."""
    return statistics.median(x / y for x, y in zip(samples[a], samples[b], strict=True))
