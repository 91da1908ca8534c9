"""What XLA accelerates, measured: eager vs jit, fusion, im2col vs a convolution, tiling, layout.

    python benchmarks/acceleration.py [--quick] [--rounds N]

Each comparison times its candidates in rounds in one process (only XLA runs: one thread pool;
``_harness.rounds_here``, ``tj.benchmark`` per turn) and prints median milliseconds, the median
per-round ratio, and the evidence
from the programs themselves: the primitives JAX dispatches (eagerly, one XLA call each) and the
instructions of the optimized HLO's entry computation (after XLA's fusion), by opcode.

1. eager vs jit: ``gelu(x @ w1 + b1) @ w2 + b2`` op by op, and as one compiled program;
2. fusion: tanh-GELU as eight operations and as one expression, eager and under jit (XLA fuses both);
3. convolution: im2col + one matrix product vs ``lax.conv_general_dilated`` (and XLA's bytes accessed);
4. tiling: a ``lax.fori_loop`` over 64 x 64 blocks vs ``jnp.matmul``;
5. layout: the same convolution with NCHW / OIHW operands vs NHWC / HWIO.

Writes ``results/acceleration.{json,md}``.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _harness import rounds_here, summarise, write

from tinyjax.costs import xla_costs
from tinyjax.nn import kernels

_OPCODE = re.compile(r"=\s.*?\s([a-z][a-z0-9\-]*)\(")
_PLUMBING = {"parameter", "constant", "tuple", "get-tuple-element", "bitcast"}
_SHOWN = {
    "dot",
    "convolution",
    "transpose",
    "copy",
    "while",
    "concatenate",
    "tanh",
    "multiply",
    "add",
    "pad",
    "slice",
    "dynamic-slice",
    "dynamic-update-slice",
}


def hlo_ops(fn: Any, *args: Any) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Opcodes of the optimized HLO: its entry computation's (the kernels XLA runs, fusions as one each), and
    every computation's (what the fusions hold), plumbing left out."""
    text = jax.jit(fn).lower(*args).compile().as_text()
    entry = text[text.index("\nENTRY") :]
    entry = entry[: entry.index("\n}")]

    def count(lines: list[str]) -> collections.Counter[str]:
        ops = collections.Counter(m.group(1) for line in lines if (m := _OPCODE.search(line)))
        return collections.Counter({op: n for op, n in ops.items() if op not in _PLUMBING})

    return count(entry.splitlines()[1:]), count(text.splitlines())


def entry_ops(fn: Any, *args: Any) -> str:
    """``"kernels: 4 fusion; inside: 2 dot, 1 tanh, ..."``: the evidence line of one program."""
    kernels_, everything = hlo_ops(fn, *args)
    inside = collections.Counter({op: n for op, n in everything.items() if op in _SHOWN})
    return f"kernels: {fmt_ops(kernels_)}; holding {fmt_ops(inside)}"


def primitives(fn: Any, *args: Any) -> int:
    """How many primitives JAX dispatches when ``fn`` runs eagerly (each its own XLA call)."""
    return len(jax.make_jaxpr(fn)(*args).eqns)


def fmt_ops(ops: collections.Counter[str]) -> str:
    return ", ".join(f"{n} {op}" for op, n in sorted(ops.items(), key=lambda kv: -kv[1])) or "none"


SECTIONS: dict[str, dict[str, Any]] = {}  # title -> rows, as written to results/acceleration.json


def report(title: str, runs: dict[str, Any], rounds: int, min_time: float, evidence: dict[str, str]) -> dict[str, Any]:
    blocking = {name: (lambda f=f: jax.block_until_ready(f())) for name, f in runs.items()}
    first = next(iter(runs))
    summary = summarise(rounds_here(blocking, rounds, runs=3, min_time=min_time), first)
    print(f"\n## {title}")
    print(f"{'candidate':34s} {'median ms':>10s} {'/ ' + first[:14]:>16s}  evidence")
    rows = {}
    for name in runs:
        rows[name] = {
            "ms": summary[name]["median_s"] * 1e3,
            "ratio": summary[name]["ratio"],
            "cv": summary[name]["cv"],
            "evidence": evidence.get(name, ""),
        }
        print(f"{name:34s} {rows[name]['ms']:10.3f} {rows[name]['ratio']:16.2f}  {rows[name]['evidence']}")
    SECTIONS[title] = rows
    return rows


def markdown(rounds: int) -> list[str]:
    """One table per comparison: median ms, the median per-round ratio to its first candidate, evidence."""
    lines = [f"jax {jax.__version__}, {jax.devices()[0].device_kind}, {rounds} rounds."]
    for title, rows in SECTIONS.items():
        first = next(iter(rows))
        lines += ["", f"**{title}**", "", f"| candidate | median ms | / {first} | evidence |", "|---|---:|---:|---|"]
        lines += [f"| {n} | {r['ms']:.3f} | {r['ratio']:.2f} | {r['evidence']} |" for n, r in rows.items()]
    return lines


def mlp_gelu(x: jax.Array, w1: jax.Array, b1: jax.Array, w2: jax.Array, b2: jax.Array) -> jax.Array:
    return kernels.gelu_unfused(x @ w1 + b1) @ w2 + b2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 15)
    min_time = 0.02 if args.quick else 0.1
    keys = iter(jax.random.split(jax.random.key(0), 16))
    print(f"jax {jax.__version__}, {jax.devices()[0].device_kind}, {rounds} rounds")

    # 1. eager vs jit
    x = jax.random.normal(next(keys), (256, 512))
    w1, w2 = (jax.random.normal(next(keys), (512, 512)) / 23 for _ in range(2))
    b1, b2 = jnp.zeros(512), jnp.zeros(512)
    mlp_args = (x, w1, b1, w2, b2)
    jitted = jax.jit(mlp_gelu)
    report("eager vs jit: gelu(x @ w1 + b1) @ w2 + b2, x (256, 512)",
           {"eager (op by op)": lambda: mlp_gelu(*mlp_args), "jax.jit (one program)": lambda: jitted(*mlp_args)},
           rounds, min_time,
           {"eager (op by op)": f"{primitives(mlp_gelu, *mlp_args)} dispatches",
            "jax.jit (one program)": f"1 dispatch; HLO {entry_ops(mlp_gelu, *mlp_args)}"})  # fmt: skip

    # 2. fusion
    g = jax.random.normal(next(keys), (2048, 1024))
    unfused, fused, library = (
        jax.jit(kernels.gelu_unfused),
        jax.jit(kernels.gelu_fused),
        jax.jit(lambda v: jax.nn.gelu(v, approximate=True)),
    )
    report("fusion: tanh-GELU on (2048, 1024) float32",
           {"8 ops, jit": lambda: unfused(g), "one expression, jit": lambda: fused(g),
            "jax.nn.gelu, jit": lambda: library(g), "8 ops, eager": lambda: kernels.gelu_unfused(g),
            "one expression, eager": lambda: kernels.gelu_fused(g)},
           rounds, min_time,
           {"8 ops, jit": f"HLO {entry_ops(kernels.gelu_unfused, g)}",
            "one expression, jit": f"HLO {entry_ops(kernels.gelu_fused, g)}",
            "jax.nn.gelu, jit": f"HLO {entry_ops(lambda v: jax.nn.gelu(v, approximate=True), g)}",
            "8 ops, eager": f"{primitives(kernels.gelu_unfused, g)} dispatches",
            "one expression, eager": f"{primitives(kernels.gelu_fused, g)} dispatches"})  # fmt: skip

    # 3. im2col + matmul vs lax.conv
    images = jax.random.normal(next(keys), (16, 32, 32, 32))
    kernel = jax.random.normal(next(keys), (64, 32, 3, 3)) / 17

    def lax_conv(v: jax.Array, w: jax.Array) -> jax.Array:
        return jax.lax.conv_general_dilated(v, w, (1, 1), [(1, 1), (1, 1)], dimension_numbers=("NCHW", "OIHW", "NCHW"))

    def im2col_conv(v: jax.Array, w: jax.Array) -> jax.Array:
        return kernels.conv2d_im2col(v, w, 1, 1)

    np.testing.assert_allclose(im2col_conv(images, kernel), lax_conv(images, kernel), rtol=1e-3, atol=1e-3)
    conv_a, conv_b = jax.jit(lax_conv), jax.jit(im2col_conv)

    def moved(fn: Any) -> str:
        costs = xla_costs(jax.jit(fn).lower(images, kernel).compile())
        return f"{costs.get('bytes accessed', 0) / 2**20:.0f} MiB accessed"

    report("convolution: (16, 32, 32, 32) * (64, 32, 3, 3), padding 1",
           {"lax.conv_general_dilated": lambda: conv_a(images, kernel),
            "im2col + matmul": lambda: conv_b(images, kernel)},
           rounds, min_time,
           {"lax.conv_general_dilated": f"HLO {entry_ops(lax_conv, images, kernel)}; {moved(lax_conv)}",
            "im2col + matmul": f"HLO {entry_ops(im2col_conv, images, kernel)}; {moved(im2col_conv)}"})  # fmt: skip

    # 4. tiling
    a, b = jax.random.normal(next(keys), (512, 512)), jax.random.normal(next(keys), (512, 512))
    tiled = jax.jit(lambda p, q: kernels.tiled_matmul(p, q, 64))
    plain = jax.jit(jnp.matmul)
    report("tiling: (512, 512) @ (512, 512)",
           {"jnp.matmul": lambda: plain(a, b), "fori_loop over 64x64 tiles": lambda: tiled(a, b)},
           rounds, min_time,
           {"jnp.matmul": f"HLO {entry_ops(jnp.matmul, a, b)}",
            "fori_loop over 64x64 tiles": f"HLO {entry_ops(lambda p, q: kernels.tiled_matmul(p, q, 64), a, b)}; "
                                          f"{(512 // 64) ** 3} block products of 64x64"})  # fmt: skip

    # 5. layout
    nhwc, hwio = jnp.transpose(images, (0, 2, 3, 1)), jnp.transpose(kernel, (2, 3, 1, 0))

    def conv_nhwc(v: jax.Array, w: jax.Array) -> jax.Array:
        return jax.lax.conv_general_dilated(v, w, (1, 1), [(1, 1), (1, 1)], dimension_numbers=("NHWC", "HWIO", "NHWC"))

    conv_c = jax.jit(conv_nhwc)
    np.testing.assert_allclose(
        jnp.transpose(conv_nhwc(nhwc, hwio), (0, 3, 1, 2)), lax_conv(images, kernel), rtol=1e-3, atol=1e-3
    )
    report("layout: the same convolution, NCHW / OIHW vs NHWC / HWIO",
           {"NCHW / OIHW": lambda: conv_a(images, kernel), "NHWC / HWIO": lambda: conv_c(nhwc, hwio)},
           rounds, min_time,
           {"NCHW / OIHW": f"HLO {entry_ops(lax_conv, images, kernel)}",
            "NHWC / HWIO": f"HLO {entry_ops(conv_nhwc, nhwc, hwio)}"})  # fmt: skip
    write("acceleration", {"rounds": rounds, "sections": SECTIONS}, markdown(rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
