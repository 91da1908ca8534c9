"""The benchmark scripts' one path: candidates in their own processes timed by ``tj.benchmark``, in rounds,
and results written as JSON and Markdown with the machine they were measured on.

A candidate is named as ``tj.benchmark(..., isolate=True)`` names one: ``"module:function"`` and
JSON arguments; ``function(*args)`` returns ``(fn, fn_args)``, or ``(fn, fn_args, info)`` where
``info`` (a JSON dict: the output's error against a reference, XLA's memory analysis, ...) joins the
candidate's ``ready`` reply. Each timing also reports the process's CPU seconds per call (all its
threads, from ``time.process_time`` around the request), next to the wall-clock samples.

Unlike ``isolate=True`` (one fresh process per call), a :class:`Candidate` keeps its process for
the whole run, so candidates can take turns, round after round, in a fresh random order each
round: load on the machine then weighs on all alike, and ratios are taken per round (seconds apart).

    python benchmarks/_harness.py serve MODULE:FUNCTION ARGS_JSON   (the candidate's process; not by hand)
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


class Process:
    """A Python process spoken to in JSON lines over pipes: ``request({"cmd": ...}) -> dict``."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            return {"error": (err.strip().splitlines() or ["the process died"])[-1]}
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.request({"cmd": "quit"})
            self.proc.wait(timeout=60)


class Candidate(Process):
    """One candidate's process: built once, then ``time(runs, min_time)`` -> ``tj.BenchmarkResult``."""

    def __init__(self, label: str, target: str, args: list[Any], env: dict[str, str] | None = None) -> None:
        self.label = label
        path = os.pathsep.join(p for p in (str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")) if p)
        super().__init__(
            [str(HERE / "_harness.py"), "serve", target, json.dumps(args)], {"PYTHONPATH": path, **(env or {})}
        )
        self._ready: dict[str, Any] | None = None
        self.cpu_s: list[float] = []  # CPU seconds per call (all the process's threads), one per ``time``

    @property
    def ready(self) -> dict[str, Any]:
        """``{"ok": True, **info}``, ``{"skipped": why}`` or ``{"error": why}``: read on first use, so
        that candidates created one after another start (import, build) at the same time."""
        if self._ready is None:
            self._ready = self._read()
        return self._ready

    def time(self, runs: int, min_time: float, warmup: int = 2) -> Any:
        import tinyjax as tj

        reply = self.request({"cmd": "time", "runs": runs, "min_time": min_time, "warmup": warmup})
        if "error" in reply:
            raise RuntimeError(f"{self.label}: {reply['error']}")
        self.cpu_s.append(reply.pop("cpu_s"))
        return tj.BenchmarkResult.from_dict(reply)


def rounds(candidates: list[Candidate], n_rounds: int, runs: int, min_time: float, seed: int = 0) -> dict[str, Any]:
    """Every ready candidate timed once per round, in a fresh random order; one result per round each."""
    live = [c for c in candidates if c.ready.get("ok")]
    results: dict[str, list[Any]] = {c.label: [] for c in live}
    order = random.Random(seed)
    for _ in range(n_rounds):
        order.shuffle(live)
        for c in live:
            results[c.label].append(c.time(runs, min_time))
    return results


def rounds_here(
    candidates: dict[str, Any],
    n_rounds: int,
    runs: int,
    min_time: float = 0.0,
    seed: int = 0,
    clock: str = "wall",
) -> dict[str, list[Any]]:
    """The same rounds in this process: ``candidates`` maps a label to a callable without arguments.

    For what must share one process (one program under different call paths, or where only XLA's
    one thread pool runs): each round times every candidate with ``tj.benchmark`` (its first call
    of the round apart), in a fresh random order. ``clock``: ``tj.benchmark``'s (``"process"``: CPU
    seconds of the whole process per call).
    """
    import warnings

    import tinyjax as tj

    labels = list(candidates)
    results: dict[str, list[Any]] = {label: [] for label in labels}
    order = random.Random(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)  # summarise reports each CV
        for _ in range(n_rounds):
            order.shuffle(labels)
            for label in labels:
                results[label].append(
                    tj.benchmark(candidates[label], warmup=0, runs=runs, min_time=min_time, name=label, clock=clock)
                )
    return results


def summarise(
    results: dict[str, list[Any]], reference: str | None, cpu: dict[str, list[float]] | None = None
) -> dict[str, dict[str, Any]]:
    """Per candidate: the median over rounds of each round's median, and the per-round ratios to ``reference``.

    ``cpu`` (label -> CPU seconds per call, one per round, as :attr:`Candidate.cpu_s`) adds ``cpu_s``
    and, against ``reference``, ``cpu_ratio`` (the median per-round ratio).
    """
    out: dict[str, dict[str, Any]] = {}
    for label, per_round in results.items():
        medians = [r.median for r in per_round]
        row: dict[str, Any] = {
            "median_s": statistics.median(medians),
            "round_medians_s": medians,
            "cv": statistics.median(r.cv for r in per_round),
        }
        if reference in results:
            ratios = [a.median / b.median for a, b in zip(per_round, results[reference], strict=True)]
            row["ratio"] = statistics.median(ratios)
            row["ratio_range"] = [min(ratios), max(ratios)]
        if cpu and label in cpu:
            row["cpu_s"] = statistics.median(cpu[label])
            if reference in cpu:
                row["cpu_ratio"] = statistics.median(a / b for a, b in zip(cpu[label], cpu[reference], strict=True))
        out[label] = row
    return out


def machine() -> dict[str, Any]:
    """What the figures were measured on, and how loaded it was."""
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import jax

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def write(name: str, data: dict[str, Any], markdown: list[str], out: Path = RESULTS) -> str:
    """``out/name.json`` (the data, the machine, the command) and ``out/name.md``; returns the Markdown."""
    info = machine()
    load = "/".join(f"{v:.2f}" for v in info["load_average"] or ())
    header = (
        f"Machine: {info['cpu']}, {info['cores']} cores, load average {load or '?'}; jax {info['jax']}; "
        f"{info['date_utc']}; command: `python {' '.join(sys.argv)}`"
    )
    text = "\n".join([header, "", *markdown]) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps({"machine": info, "command": sys.argv, **data}, indent=1))
    (out / f"{name}.md").write_text(text)
    return text


def _serve(target: str, args: list[Any]) -> None:
    """The candidate's process: build, then answer ``time`` requests with ``tj.benchmark`` results."""

    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    module_name, _, attr = target.partition(":")
    try:
        fn, fn_args, *info = getattr(importlib.import_module(module_name), attr)(*args)
    except (ImportError, NotImplementedError) as error:
        reply({"skipped": f"{type(error).__name__}: {error}"})
        return
    except Exception as error:  # a failed build (a wrong output, a missing setting) is reported, not raised
        reply({"error": f"{type(error).__name__}: {error}"[:300]})
        return
    import warnings

    import tinyjax as tj

    warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)  # the driver reports each CV itself
    reply({"ok": True, **(info[0] if info else {})})
    for line in sys.stdin:
        message = json.loads(line)
        if message["cmd"] == "quit":
            return
        try:
            cpu_start = time.process_time()
            result = tj.benchmark(
                fn, *fn_args, warmup=message["warmup"], runs=message["runs"], min_time=message["min_time"]
            )
            calls = 1 + message["warmup"] + len(result.samples)  # the first call and the warm-up ran too
            reply({**result.to_dict(), "cpu_s": (time.process_time() - cpu_start) / calls})
        except Exception as error:  # reported to the driver, which names the candidate
            reply({"error": f"{type(error).__name__}: {error}"[:300]})


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        _serve(sys.argv[2], json.loads(sys.argv[3]))
    else:
        sys.exit(__doc__)
