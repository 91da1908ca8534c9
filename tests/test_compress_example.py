"""examples/compress.py, once, quickly: every compressed model is built, measured and plotted."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

for module in ("sklearn", "optax", "matplotlib"):
    pytest.importorskip(module)


@pytest.mark.example_run
def test_compress_example_quick_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "examples/compress.py", str(tmp_path), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {row["model"]: row for row in json.loads((tmp_path / "compress.json").read_text())}
    assert list(rows) == ["dense", "pruned 50%", "distilled half", "low rank 16", "80% zeros"]
    dense, pruned = rows["dense"], rows["pruned 50%"]
    assert dense["params"] == 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    assert pruned["params"] == rows["distilled half"]["params"] == 64 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10
    assert pruned["flops"] < dense["flops"] / 3 and rows["low rank 16"]["flops"] < pruned["flops"]
    zeros = rows["80% zeros"]
    assert zeros["flops"] == dense["flops"] and zeros["params"] == dense["params"]  # zeros are no less work
    assert zeros["nonzero"] <= dense["params"] - round(0.8 * (64 * 256 + 256 * 256 + 256 * 10))
    assert all(row["accuracy"] > 0.85 and row["latency_ms"] > 0 for row in rows.values()), done.stdout
    assert re.search(r"pruned 50% vs dense: params x0\.307, FLOPs x0\.307", done.stdout), done.stdout
    assert (tmp_path / "compress.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
