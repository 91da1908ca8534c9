"""The OOP-vs-functional example runs end to end (quick mode) and writes its table, JSON and plot."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_example_quick_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "examples/oop_vs_functional.py", str(tmp_path), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "OOP and functional outputs equal to 1e-6" in done.stdout
    summary = json.loads((tmp_path / "oop_vs_functional.json").read_text())
    measures = [row["measure"] for row in summary["rows"]]
    assert measures[:4] == [f"(a) forward, batch {b}" for b in (1, 32, 256, 4096)]
    assert len(measures) == 8 and all(row["speedup"] > 0 for row in summary["rows"])
    assert (tmp_path / "oop_vs_functional.md").read_text().startswith("| measure |")
    png = (tmp_path / "oop_vs_functional.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
