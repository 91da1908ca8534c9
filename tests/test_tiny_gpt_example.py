"""Quick run of examples/tiny_gpt.py: training, loss curve, samples, the OOP face's same greedy text."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

for module in ("optax", "tqdm", "matplotlib"):
    pytest.importorskip(module)


def test_tiny_gpt_quick_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "examples/tiny_gpt.py", str(tmp_path), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "unigram entropy:" in out and "validation loss:" in out and "training time:" in out
    for label in ("before training (greedy)", "after training (greedy, KV cache)", "after training (temperature"):
        assert label in out
    assert "OOP face (tinyjax.oop.GPT.generate) gives the same greedy text: True" in out
    assert (tmp_path / "tiny_gpt_loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    entropy = float(out.split("unigram entropy: ")[1].split()[0])
    loss = float(out.split("validation loss: ")[1].split()[0])
    assert loss < entropy  # even 30 steps of a tiny model beat the context-free model
