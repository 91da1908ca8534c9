"""Tokens per second of GPT decoding with the KV cache against recomputing the whole sequence each step.

    python benchmarks/decode_cache.py [--quick]

Both decoders are one jit-compiled ``lax.scan`` (``tinyjax.gpt.generate`` and
``tinyjax.gpt.generate_uncached``), greedy, batch 1, on a small random GPT; each is timed by
``tj.benchmark`` (median of the repeats; the compiling first call apart). Without a cache every
step runs the model over the whole ``max_seq_len`` buffer; with it, one token over the cached keys
and values. A third column times the OOP face's loop (``tinyjax.oop.GPT.generate`` with
``enable_kv_cache``: a Python loop over the same compiled ``decode_step``, the cache an object
updated in place). Prints a table and writes ``results/decode_cache.{json,md}`` (``_harness.write``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).parent))

from _harness import write

import tinyjax as tj
from tinyjax import oop


def tokens_per_second(decode, model, params, prompt, steps: int, repeats: int) -> float:
    # the first call compiles: tj.benchmark keeps it apart
    r = tj.benchmark(lambda: decode(model, params, prompt, steps), warmup=0, runs=repeats, min_time=0.0)
    return steps / r.median


def oop_tokens_per_second(model, params, prompt, steps: int, repeats: int) -> float:
    module = oop.GPT.from_functional(model, params)
    oop.enable_kv_cache(module)
    # the first call compiles prefill and decode_step: tj.benchmark keeps it apart
    r = tj.benchmark(
        lambda: module.generate(prompt, steps, temperature=0.0).array, warmup=0, runs=repeats, min_time=0.0
    )
    return steps / r.median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", tj.NoisyBenchmarkWarning)  # few repeats: the medians are what is reported
    lengths = (64, 128) if args.quick else (64, 128, 256, 512)
    repeats = 2 if args.quick else 5
    rows = []
    columns = ("max_seq_len", "new tokens", "cached tok/s", "uncached tok/s", "speed-up", "OOP loop tok/s")
    print(" ".join(f"{c:>{w}}" for c, w in zip(columns, (11, 10, 13, 15, 9, 15), strict=True)))
    for length in lengths:
        model = tj.GPT(96, 64, 3, 4, length)
        params = model.init(jax.random.key(0))
        prompt = jnp.zeros((1, 8), jnp.int32)
        steps = length - 8
        cached = tokens_per_second(tj.gpt.generate, model, params, prompt, steps, repeats)
        uncached = tokens_per_second(tj.gpt.generate_uncached, model, params, prompt, steps, repeats)
        looped = oop_tokens_per_second(model, params, prompt, steps, repeats)
        rows.append({"max_seq_len": length, "steps": steps, "cached": cached, "uncached": uncached, "oop_loop": looped})
        print(
            f"{length:>11} {steps:>10} {cached:>13,.0f} {uncached:>15,.0f} {cached / uncached:>8.1f}x {looped:>15,.0f}"
        )
    lines = [
        "GPT(96, 64, 3 layers, 4 heads), batch 1, an 8-token prompt; tokens per second (median of "
        f"{repeats} generations by `tj.benchmark`, the compiling first call apart), on {jax.devices()[0]}.",
        "",
        "| max_seq_len | new tokens | cached tok/s | uncached tok/s | speed-up | OOP loop tok/s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['max_seq_len']} | {r['steps']} | {r['cached']:,.0f} | {r['uncached']:,.0f} | "
        f"{r['cached'] / r['uncached']:.1f}x | {r['oop_loop']:,.0f} |"
        for r in rows
    ]
    write(
        "decode_cache",
        {"device": str(jax.devices()[0]), "model": "GPT(96, 64, 3 layers, 4 heads)", "rows": rows},
        lines,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
