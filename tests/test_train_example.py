"""Smoke run of examples/train_digits.py: a few steps, then save, reload and the agreement checks."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

for module in ("sklearn", "optax", "tqdm", "matplotlib", "torch"):
    pytest.importorskip(module)


@pytest.mark.example_run
def test_train_digits_quick_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "examples/train_digits.py", str(tmp_path), "--steps", "20", "--epochs", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test accuracy:" in done.stdout and "training time:" in done.stdout
    assert "bit-identical to the trained params: True" in done.stdout
    assert "all implementations agree on the 360 test images" in done.stdout
    for name in ("tinyjax.compile predictor", "OOP face (tinyjax.oop)", "torch.nn.Sequential"):
        assert name in done.stdout
    assert (tmp_path / "digits_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import tinyjax as tj

    metadata = tj.read_metadata(tmp_path / "digits_mlp.safetensors")
    assert metadata["dataset"] == "sklearn digits" and metadata["tinyjax.layer"].startswith("Sequential(Linear(64")
