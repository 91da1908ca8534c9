"""A multi-host run on one machine: one script started as several JAX processes on this CPU.

On real hosts, each host starts the same script and passes the cluster's address, its own index and
the process count to ``jax.distributed.initialize``. :func:`launch_local` does the same on this machine:
it gives each process those three values as ``--coordinator``, ``--process-id`` and ``--num-processes``,
and a few simulated CPU devices, so that the multi-host code path (a global mesh over every process's
devices, each process feeding its own rows) runs for real in a test, without a cluster.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import IO

from tinyjax._errors import ConfigError, TinyjaxError

__all__ = ["LaunchError", "launch_local"]

_DEVICE_COUNT_FLAG = re.compile(r"--xla_force_host_platform_device_count=\S*")


class LaunchError(TinyjaxError, RuntimeError):
    """A process of a :func:`launch_local` run failed or ran out of time; the message holds every output."""


def launch_local(
    argv: Sequence[str],
    num_processes: int,
    *,
    devices_per_process: int = 1,
    timeout: float = 300.0,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Run ``argv`` as ``num_processes`` processes of one JAX cluster on this machine's CPU; their outputs.

    Process ``i`` runs ``[*argv, "--coordinator", "127.0.0.1:PORT", "--num-processes",
    str(num_processes), "--process-id", str(i)]``, PORT a free port, with ``JAX_PLATFORMS=cpu`` and
    ``devices_per_process`` simulated CPU devices (``--xla_force_host_platform_device_count``). The
    script passes the three values to ``jax.distributed.initialize`` before any other JAX call; it
    then sees ``num_processes * devices_per_process`` devices, as on that many hosts.

    Args:
      argv: the command, e.g. ``[sys.executable, "train.py", "--steps", "10"]``.
      num_processes: how many processes (hosts, on a cluster).
      devices_per_process: simulated CPU devices in each.
      timeout: seconds for the whole run.
      cwd, env: the processes' working directory and environment (default: this process's).

    Returns:
      Each process's output, stdout and stderr interleaved, in process order.

    Raises:
      LaunchError: a process exited with an error, or the run passed ``timeout``. Every process
        still running is killed first (the others would wait for it until JAX's own time-outs),
        and the message gives each process's exit status and the end of its output.
    """
    for name, value in (("num_processes", num_processes), ("devices_per_process", devices_per_process)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"launch_local: {name} must be a positive int, got {value!r}")
    coordinator = f"127.0.0.1:{_free_port()}"
    base = dict(os.environ if env is None else env)
    flags = _DEVICE_COUNT_FLAG.sub("", base.get("XLA_FLAGS", "")).split()
    base["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={devices_per_process}"])
    base["JAX_PLATFORMS"] = "cpu"
    cluster = ["--coordinator", coordinator, "--num-processes", str(num_processes)]
    processes: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as files:
        logs = [files.enter_context(tempfile.TemporaryFile()) for _ in range(num_processes)]
        try:
            for i, log in enumerate(logs):
                command = [*argv, *cluster, "--process-id", str(i)]
                processes.append(subprocess.Popen(command, cwd=cwd, env=base, stdout=log, stderr=subprocess.STDOUT))
            failure = _wait(processes, time.monotonic() + timeout, timeout)
        finally:
            for process in processes:  # only left running after a failure, a timeout or an interrupt
                if process.poll() is None:
                    process.kill()
                    process.wait()
        outputs = [_read(log) for log in logs]
    if failure:
        report = "\n".join(
            f"--- process {i}: exit status {process.returncode}, the end of its output:\n{output[-4000:]}"
            for i, (process, output) in enumerate(zip(processes, outputs, strict=True))
        )
        raise LaunchError(f"{failure}; every process was stopped.\n{report}")
    return outputs


def _wait(processes: Sequence[subprocess.Popen[bytes]], deadline: float, timeout: float) -> str:
    """An empty string once every process exited with 0; else what went wrong first."""
    while True:
        codes = [process.poll() for process in processes]
        failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
        if failed:
            return f"process {failed[0]} of {len(processes)} exited with status {codes[failed[0]]}"
        if all(code == 0 for code in codes):
            return ""
        if time.monotonic() > deadline:
            return f"the {len(processes)} processes did not finish within {timeout:g} s"
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _read(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")
