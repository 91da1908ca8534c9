"""examples/serve_inference.py runs end to end: buckets, bf16 policy, an artifact loaded without tinyjax."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent / "examples" / "serve_inference.py"


@pytest.mark.example_run
def test_serve_example_runs(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # 1..100 through power-of-two buckets: 1, 2, 4, ..., 128 (8 executables) plus nothing else
    assert "batch sizes 1..100: 8 executables, buckets (1, 2, 4, 8, 16, 32, 64, 128)" in done.stdout
    assert "loaded by a process without tinyjax" in done.stdout
    assert (tmp_path / "seed_mlp.jax").stat().st_size > 4 * 109_386  # the f32 params are inside
