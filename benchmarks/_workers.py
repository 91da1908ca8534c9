"""One process per candidate, driven in turns over pipes; each times itself with ``tj.benchmark``.

Each candidate runs in its own Python process, as its users would run it: its library's threads,
its own XLA flags, and no other library's thread pool spinning beside it (OpenBLAS, OpenMP and
XLA's Eigen pool in one process slow each other down by orders of magnitude on 2 cores). The
driver asks one worker at a time to time itself, in rotating order, so only one computes at once.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from _harness import Process  # noqa: E402

WARM_UP_S = 0.3  # each candidate runs this long before it is timed


class Worker(Process):
    """A candidate's process: ``request({"cmd": ...}) -> dict``."""

    def __init__(self, label: str, module: str, env: dict[str, str] | None = None) -> None:
        self.label, self.module = label, module
        super().__init__([str(HERE / "_workers.py"), module], env)
        self.ready: dict[str, Any] | None = None

    def wait_ready(self) -> dict[str, Any]:
        if self.ready is None:
            self.ready = self._read()
        return self.ready


def _serve(module_name: str) -> None:
    """The worker's loop: import the candidate, then answer build / time / memory requests."""
    sys.path.insert(0, str(HERE))
    import warnings

    import numpy as np

    import tinyjax as tj  # importing it starts no XLA client: a NumPy or PyTorch worker gets no XLA threads

    warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)  # the driver compares rounds, not single samples
    from _mlp import check_close, inputs, reference, weights

    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    try:
        module = importlib.import_module(f"candidates.{module_name}")
    except ImportError as error:
        reply({"skipped": f"{type(error).__name__}: {error}"})
        return
    info: dict[str, Any] = {"ok": True, "xla_flags": os.environ.get("XLA_FLAGS", "")}
    if "jax" in sys.modules:
        import jax

        info["jax"] = jax.__version__
    reply(info)
    layers = weights()
    run: Any = None
    for line in sys.stdin:
        message = json.loads(line)
        cmd = message["cmd"]
        try:
            if cmd == "quit":
                return
            if cmd == "build":
                x = inputs(message["batch"])
                run = module.build(layers, x)
                out = run()
                result: dict[str, Any] = {}
                if hasattr(module, "flops"):  # the peak product: its size is the worker's own setting
                    result["flops"], result["size"] = module.flops(), module.SIZE
                if message.get("check", True):
                    result["max_abs_err"] = check_close(module_name, np.asarray(out), reference(layers, x))
                # warm-up (first calls run slower, docs/performance.md), then size a round to the budget
                tj.benchmark(run, warmup=0, runs=1, min_time=WARM_UP_S)
                per_call = tj.benchmark(run, warmup=0, runs=2, min_time=message["budget_s"] / 4).median
                result["calls"] = max(1, int(message["budget_s"] / per_call))
                reply(result)
            elif cmd == "time":
                cpu_start = time.process_time()
                timed = tj.benchmark(run, warmup=0, runs=message["calls"], min_time=0.0)
                n = len(timed.samples) + 1  # and the round's first call, timed apart
                reply({"s": timed.median, "mean_s": timed.mean, "cpu_s": (time.process_time() - cpu_start) / n})
            elif cmd == "memory":
                memory = getattr(module, "memory", None)
                reply(memory(layers, inputs(message["batch"])) if memory else {})
        except Exception as error:  # reported to the driver, which marks the candidate failed
            reply({"error": f"{type(error).__name__}: {error}"[:300]})


if __name__ == "__main__":
    _serve(sys.argv[1])
