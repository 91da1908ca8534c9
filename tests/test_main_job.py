"""The main job and the functional example run and print what they promise."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_python_m_tinyjax_prints_layers_shapes_counts_and_timings():
    out = _run("-m", "tinyjax", "--repeats", "5")
    for fragment in ["Linear(784 -> 128)", "Linear(64 -> 10)", "(32, 10)", "109,386", "compile", "median"]:
        assert fragment in out, (fragment, out)


@pytest.mark.example_run
def test_functional_example_runs():
    out = _run("examples/functional_basics.py")
    assert "Sequential output: (32, 10)" in out
    assert "ensemble logits: (8, 32, 10)" in out
    assert "caught: Sequential[0] Linear(784 -> 128)" in out


def test_python_m_tinyjax_profile_prints_the_seed_mlps_profile(capsys):
    from tinyjax.__main__ import main  # in this process: the command line's parsing and printing, no new interpreter

    main(["profile"])
    out = capsys.readouterr().out
    for fragment in ["Linear(784 -> 128)", "FLOPs/sample", "7,000,384", "109,386", "peak", "%"]:
        assert fragment in out, (fragment, out)
