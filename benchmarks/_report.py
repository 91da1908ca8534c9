"""Targets, Markdown tables and plot for ``peers.py`` results (written by ``_harness.write``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

TINYJAX = "tinyjax.compile"
REFERENCE = "jax.jit (hand-written)"
CONTROL = "control: jax.jit again, own process"
ONNX_PREDICTOR = "tinyjax.compile (onnxruntime)"
ONNX_PLAIN = "ONNX Runtime (hand-built graph)"
NOT_PEERS = {TINYJAX, REFERENCE, CONTROL, ONNX_PREDICTOR, "trivial jit (floor)", "peak matmul"}
NUMPYS = ("NumPy OOP", "NumPy OOP (1 thread)")


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 4's and issue 15's targets, each with the measured figure and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float, met: bool | None) -> None:
        out.append({"target": name, "value": value, "limit": limit, "met": met})

    for batch, data in result["batches"].items():
        rows = data["rows"]
        onnx_targets(batch, rows, add)
        t = rows.get(TINYJAX)
        if t is None:
            continue
        r = t["ratio_to_jit"]
        add(f"batch {batch}: tinyjax / hand-written jit <= 1.05", r, 1.05, None if r is None else r <= 1.05)
        for label, row in rows.items():
            if label in NOT_PEERS:
                continue
            v = row["tinyjax_over_this"]
            add(f"batch {batch}: tinyjax / {label} < 1.0", v, 1.0, None if v is None else v < 1.0)
        if batch == "4096" and "fraction_of_peak" in t:
            v = t["fraction_of_peak"]
            add("batch 4096: tinyjax >= 90% of measured f32 peak", v, 0.9, v >= 0.9)
        numpys = [rows[k]["tinyjax_over_this"] for k in NUMPYS if k in rows]
        if batch == "32" and numpys and None not in numpys:
            v = max(numpys)  # against the faster NumPy setting
            add("batch 32: tinyjax / NumPy (faster setting) <= 1.5", v, 1.5, v <= 1.5)
        if batch == "1" and "trivial jit (floor)" in rows:
            v = rows["trivial jit (floor)"]["tinyjax_over_this"]
            add("batch 1: tinyjax / trivial-jit floor <= 2", v, 2.0, None if v is None else v <= 2.0)
    return out


def onnx_targets(batch: str, rows: dict[str, Any], add: Any) -> None:
    """Issue 15: the ONNX Runtime predictor against NumPy (its faster setting) and against plain ONNX Runtime."""
    if ONNX_PREDICTOR not in rows:
        return
    numpys = [rows[k]["onnx_predictor_over_this"] for k in NUMPYS if k in rows]
    if numpys and None not in numpys:
        v = max(numpys)
        add(f"batch {batch}: ONNX Runtime predictor / NumPy (faster setting) <= 0.9", v, 0.9, v <= 0.9)
    if ONNX_PLAIN in rows:
        v, limit = rows[ONNX_PLAIN]["onnx_predictor_over_this"], 1.10 if batch == "1" else 1.05
        add(f"batch {batch}: ONNX Runtime predictor / plain ONNX Runtime <= {limit:.2f}", v, limit, v <= limit)


def onnx_table(result: dict[str, Any]) -> list[str]:
    """Issue 15's table: us per call of NumPy, jax.jit, plain ONNX Runtime and the predictor; per-round ratios."""
    columns = [REFERENCE, *NUMPYS, ONNX_PLAIN, "ONNX Runtime, 1 thread", ONNX_PREDICTOR]
    if not any(ONNX_PREDICTOR in data["rows"] for data in result["batches"].values()):
        return []
    lines = [
        "",
        "Issue 15: us per call (median), and per-round ratios of the ONNX Runtime predictor:",
        "",
        "| batch | "
        + " | ".join(columns)
        + " | predictor / NumPy | predictor / NumPy (1 thread) | predictor / plain ORT |",
        "|---|" + "---:|" * (len(columns) + 3),
    ]
    for batch, data in result["batches"].items():
        rows = data["rows"]
        cells = [_fmt((rows.get(label) or {}).get("us"), 1) for label in columns]
        cells += [_fmt((rows.get(label) or {}).get("onnx_predictor_over_this")) for label in (*NUMPYS, ONNX_PLAIN)]
        lines.append(f"| {batch} | " + " | ".join(cells) + " |")
    return lines


def _fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def markdown(result: dict[str, Any]) -> list[str]:
    """The table (us per call, ratio to hand-written jit), throughput, memory and targets, for ``_harness.write``."""
    batches = list(result["batches"])
    lines = [
        f"{result['rounds']} rounds. Microseconds per forward call (median over rounds) and, in brackets, the "
        "median of the per-round ratios to hand-written `jax.jit` (lower is faster):",
        "",
        "| candidate | " + " | ".join(f"batch {b}" for b in batches) + " |",
        "|---|" + "---:|" * len(batches),
    ]
    labels = list(result["candidates"])
    for label in labels:
        info = result["candidates"][label]
        if not info.get("ok"):
            lines.append(
                f"| {label} | skipped: {info.get('skipped', info.get('error', '?'))[:60]} |" + " |" * (len(batches) - 1)
            )
            continue
        cells = []
        for b in batches:
            row = result["batches"][b]["rows"].get(label)
            if row is None:
                cells.append("failed: " + str(result["batches"][b]["failed"].get(label, "?"))[:40])
            else:
                cells.append(f"{row['us']:.1f} ({_fmt(row['ratio_to_jit'])})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Throughput, GFLOP/s (fraction of the peak product measured in the same rounds):", ""]
    lines += ["| candidate | " + " | ".join(f"batch {b}" for b in batches) + " |", "|---|" + "---:|" * len(batches)]
    for label in (TINYJAX, ONNX_PREDICTOR, ONNX_PLAIN, REFERENCE, *NUMPYS, "PyTorch eager", "peak matmul"):
        cells = []
        for b in batches:
            row = result["batches"][b]["rows"].get(label)
            if row is None or "gflops" not in row:
                cells.append("-")
            elif "fraction_of_peak" in row:
                cells.append(f"{row['gflops']:.1f} ({100 * row['fraction_of_peak']:.0f}%)")
            else:
                cells.append(f"{row['gflops']:.1f}")
        if any(c != "-" for c in cells):
            name = label if label != "peak matmul" else f"peak matmul ({_peak_size(result)}^3)"
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "XLA compiled memory (argument / output / temp bytes; + params embedded as constants):", ""]
    for label in (TINYJAX, REFERENCE):
        cells = []
        for b in batches:
            mem = (result["batches"][b]["rows"].get(label) or {}).get("memory")
            if mem:
                embedded = f" + {mem['embedded_constant_bytes']}" if mem.get("embedded_constant_bytes") else ""
                sizes = f"{mem['argument_bytes']} / {mem['output_bytes']} / {mem['temp_bytes']}"
                cells.append(f"batch {b}: {sizes}{embedded}")
        if cells:
            lines.append(f"- {label}: " + "; ".join(cells))
    lines += onnx_table(result)
    lines += ["", "Targets (issues 4 and 15):", "", "| target | measured | met |", "|---|---:|---|"]
    for t in result["targets"]:
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {_fmt(t['value'])} | {met} |")
    return lines


def _peak_size(result: dict[str, Any]) -> Any:
    for data in result["batches"].values():
        row = data["rows"].get("peak matmul")
        if row:
            return row.get("size")
    return "?"


def plot(result: dict[str, Any], path: Path) -> None:
    """Ratio to hand-written jit per batch size, one line per candidate (log scale)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    batches = list(result["batches"])
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.set_prop_cycle(color=plt.get_cmap("tab20").colors)  # one colour per candidate (more than 10)
    for label in result["candidates"]:
        if label == "peak matmul":
            continue
        ys = [(result["batches"][b]["rows"].get(label) or {}).get("ratio_to_jit") for b in batches]
        if all(y is None for y in ys):
            continue
        style = "-o" if label == TINYJAX else "--."
        ax.plot([int(b) for b in batches], [float("nan") if y is None else y for y in ys], style, label=label)
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("time / hand-written jax.jit (median of per-round ratios)")
    ax.set_title(f"Seed MLP 784-128-64-10 f32, {os.cpu_count()}-core CPU")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
