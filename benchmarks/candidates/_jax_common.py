"""Helpers shared by the JAX-based candidates."""

from __future__ import annotations

from typing import Any


def compiled_memory(jitted: Any, *args: Any) -> dict[str, int]:
    """XLA's memory analysis of ``jitted`` compiled for ``args``: argument, output and temp bytes."""
    stats = jitted.lower(*args).compile().memory_analysis()
    if stats is None:
        return {}
    return {
        "argument_bytes": int(stats.argument_size_in_bytes),
        "output_bytes": int(stats.output_size_in_bytes),
        "temp_bytes": int(stats.temp_size_in_bytes),
    }
