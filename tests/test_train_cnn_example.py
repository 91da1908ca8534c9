"""examples/train_cnn.py, the full run (about 30 s on 2 cores): accuracy, curves, weights, three faces agreeing."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

for module in ("sklearn", "optax", "tqdm", "matplotlib", "torch"):
    pytest.importorskip(module)


@pytest.mark.example_run
def test_train_cnn_full_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "examples/train_cnn.py", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    accuracy = float(re.search(r"test accuracy: ([\d.]+)%", done.stdout).group(1))
    assert accuracy >= 99.0, done.stdout
    assert "training time:" in done.stdout
    assert "all three agree on the 360 test images: True" in done.stdout
    assert (tmp_path / "cnn_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import tinyjax as tj

    saved = tj.read_metadata(tmp_path / "cnn.safetensors")
    assert saved["tinyjax.layer"].startswith("Sequential(Conv2d(1 -> 32")
