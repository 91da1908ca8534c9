"""Quick run of examples/tiny_gpt.py with BPE tokens: training, loss per character, one program per
bucket, loss curve, samples, the OOP face's same greedy text."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinyjax import text

ROOT = Path(__file__).resolve().parents[1]

for module in ("optax", "tqdm", "matplotlib"):
    pytest.importorskip(module)


@pytest.mark.example_run
def test_tiny_gpt_quick_run_with_bpe(tmp_path):
    done = subprocess.run(
        [sys.executable, "examples/tiny_gpt.py", str(tmp_path), "--quick", "--tokenizer", "bpe"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "unigram entropy:" in out and "validation loss:" in out and "training time:" in out
    assert "tokenizer: bpe, vocabulary 512," in out
    for label in ("before training (greedy)", "after training (greedy, KV cache)", "after training (temperature"):
        assert label in out
    assert "OOP face (tinyjax.oop.GPT.generate) gives the same greedy text: True" in out
    assert (tmp_path / "tiny_gpt_loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(text.load_vocab(tmp_path / "tiny_gpt_vocab.json")) == 512
    before = float(out.split("validation loss before training: ")[1].split()[0])
    loss = float(out.split("validation loss: ")[1].split()[0])
    assert loss < before  # nats per character, over every validation token
    programs, shapes = re.search(r"validation programs compiled: (\d+) for (\d+) bucket shapes", out).groups()
    assert 1 <= int(programs) <= int(shapes) <= 3  # one compiled evaluation per bucket, however many windows
