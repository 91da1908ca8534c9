"""What every batch size costs the predictor: XLA compilations, resident memory, latency under threads.

    python benchmarks/predictor_sizes.py [--quick] [--max-size 1024] [--threads 8] [--out DIR]

Two runs on the seed MLP, each in a fresh process (``tj.compile`` with a batch-32 example):

1. one thread asks for every batch size 1..``--max-size`` once, in order: the XLA compilations it
   caused (counted by a ``jax.monitoring`` listener on jax's backend-compile event, not by the
   predictor), ``predictor.compilations``, the process's resident memory (RSS) before and after,
   and the wall time of that first sweep and of a second one (``tj.benchmark``: the first call apart);
2. ``--threads`` threads share a predictor with every bucket up to ``--max-size`` precompiled and ask
   for sizes none of them asked before (each size once, shuffled): the median and 90th-percentile
   latency of one call, and the compilations during the run (0 expected). ``tj.benchmark`` times one
   caller, so each thread times its own calls; ``tj.BenchmarkResult`` gives the statistics.

Prints a markdown table and writes ``predictor_sizes.{json,md}`` to ``--out`` (``_harness.write``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _harness import RESULTS, write
from _mlp import inputs, weights

import tinyjax as tj

BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"  # jax/_src/dispatch.py, jax 0.8 to 0.10


_COMPILATIONS: list[str] = []


def _on_event(event: str, duration: float, **kwargs: Any) -> None:
    if event == BACKEND_COMPILE_EVENT:
        _COMPILATIONS.append(event)


# Registered once for the process: jax 0.8 has no public way to unregister a listener.
jax.monitoring.register_event_duration_secs_listener(_on_event)


@contextmanager
def xla_compilations() -> Iterator[list[str]]:
    """The XLA backend compilations that happen while the block runs, one entry each."""
    seen: list[str] = []
    start = len(_COMPILATIONS)
    try:
        yield seen
    finally:
        seen.extend(_COMPILATIONS[start:])


def rss_mib() -> float:
    """The process's resident memory now (Linux ``/proc/self/statm``), MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def _model() -> tuple[tj.Layer, Any]:
    model = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
    linears = [{"weight": jnp.asarray(w), "bias": jnp.asarray(b)} for w, b in weights()]
    return model, (linears[0], (), linears[1], (), linears[2])


def every_size(max_size: int) -> dict[str, float]:
    model, params = _model()
    rows = inputs(max_size)  # batch n is its first n rows (a view)
    predict = tj.compile(model, params, jnp.zeros((32, 784)))
    predict(rows[:32]).block_until_ready()
    before = rss_mib()

    def sweep() -> None:
        for n in range(1, max_size + 1):
            predict(rows[:n]).block_until_ready()

    with xla_compilations() as seen, warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)
        # the first sweep (every new size, each a compilation if any) apart, then one warm sweep
        swept = tj.benchmark(sweep, warmup=0, runs=1, min_time=0.0, name="every size")
    return {
        "xla_compilations": len(seen),
        "predictor_compilations": predict.compilations,
        "buckets": len(predict.buckets),
        "rss_before_mib": before,
        "rss_after_mib": rss_mib(),
        "seconds": swept.compile_s,
        "warm_seconds": swept.median,
    }


def threaded(max_size: int, threads: int) -> dict[str, float]:
    model, params = _model()
    predict = tj.compile(model, params, jnp.zeros((32, 784)), precompile=range(1, max_size + 1))
    sizes = [n for n in range(1, max_size + 1) if n not in predict.buckets]
    random.Random(0).shuffle(sizes)
    rows = inputs(max_size)
    latencies: list[float] = []
    lock = threading.Lock()

    def work(part: list[int]) -> None:
        for n in part:
            start = time.perf_counter()
            predict(rows[:n]).block_until_ready()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)

    with xla_compilations() as seen:
        workers = [threading.Thread(target=work, args=(sizes[i::threads],)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    stats = tj.BenchmarkResult(np.asarray(latencies), 0.0, "threaded calls")  # the harness's statistics
    return {
        "calls": len(latencies),
        "median_ms": stats.median * 1e3,
        "p90_ms": stats.p90 * 1e3,
        "xla_compilations": len(seen),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="sizes up to 128, 4 threads")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.max_size, args.threads = 128, 4
    # Each part in a fresh process: jax's caches (the slices compiled per size, say) are per process.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        sizes = pool.submit(every_size, args.max_size).result()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        crowd = pool.submit(threaded, args.max_size, args.threads).result()
    result = {"every_size": sizes, "threaded": crowd}
    text = (
        f"Seed MLP, `tj.compile` with a batch-32 example (jax {jax.__version__}, {jax.devices()[0].platform}):\n\n"
        f"| | value |\n|---|---:|\n"
        f"| sizes 1..{args.max_size}, one thread: XLA compilations (jax.monitoring) | {sizes['xla_compilations']} |\n"
        f"| ... `predictor.compilations` | {sizes['predictor_compilations']} |\n"
        f"| ... buckets | {sizes['buckets']} |\n"
        f"| ... RSS before -> after (MiB) | {sizes['rss_before_mib']:.0f} -> {sizes['rss_after_mib']:.0f} |\n"
        f"| ... wall time, first sweep (s) | {sizes['seconds']:.2f} |\n"
        f"| ... wall time, second sweep (s) | {sizes['warm_seconds']:.2f} |\n"
        f"| {args.threads} threads, {crowd['calls']} unseen sizes, every bucket precompiled: median latency (ms) "
        f"| {crowd['median_ms']:.2f} |\n"
        f"| ... 90th percentile (ms) | {crowd['p90_ms']:.2f} |\n"
        f"| ... XLA compilations during the run | {crowd['xla_compilations']} |\n"
    )
    print(write("predictor_sizes", result, text.splitlines(), args.out))


if __name__ == "__main__":
    main()
