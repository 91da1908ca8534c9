"""The benchmark scripts' own logic: candidates compute the seed MLP, and targets are judged honestly.

No timings here: the figures come from ``benchmarks/peers.py`` runs, never from tests.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

from _mlp import check_close, flops, inputs, reference, weights
from _report import targets


@pytest.mark.parametrize(
    "module", ["jax_jit", "tinyjax_predictor", "stax", "numpy_oop", "tinyjax_onnxruntime", "onnxruntime_plain"]
)
@pytest.mark.parametrize("batch", [1, 5])
def test_candidate_computes_the_seed_mlp(module, batch):
    layers = weights()
    x = inputs(batch)
    run = importlib.import_module(f"candidates.{module}").build(layers, x)
    check_close(module, np.asarray(run()), reference(layers, x))


def test_check_close_rejects_a_wrong_output():
    layers = weights()
    x = inputs(2)
    want = reference(layers, x)
    with pytest.raises(AssertionError, match="differs"):
        check_close("broken", want + 1e-2, want)
    with pytest.raises(AssertionError, match="shape"):
        check_close("broken", want[:1], want)


def test_flops_of_the_seed_mlp():
    # 2*B*(784*128 + 128*64 + 64*10) for the products plus B*(128 + 64 + 10) for the biases
    assert flops(1) == 2 * (100352 + 8192 + 640) + 202
    assert flops(32) == 32 * flops(1)


def _result(tinyjax_to_jit, tinyjax_over_numpy, fraction_of_peak):
    rows = {
        "tinyjax.compile": {"ratio_to_jit": tinyjax_to_jit, "fraction_of_peak": fraction_of_peak},
        "jax.jit (hand-written)": {"tinyjax_over_this": tinyjax_to_jit},
        "NumPy OOP": {"tinyjax_over_this": tinyjax_over_numpy},
        "trivial jit (floor)": {"tinyjax_over_this": 3.0},
    }
    return {"batches": {"1": {"rows": rows}, "32": {"rows": rows}, "4096": {"rows": rows}}}


def test_targets_met_and_not_met_follow_the_figures():
    judged = {t["target"]: t["met"] for t in targets(_result(1.04, 0.9, 0.95))}
    assert judged["batch 32: tinyjax / hand-written jit <= 1.05"] is True
    assert judged["batch 32: tinyjax / NumPy OOP < 1.0"] is True
    assert judged["batch 32: tinyjax / NumPy (faster setting) <= 1.5"] is True
    assert judged["batch 4096: tinyjax >= 90% of measured f32 peak"] is True
    assert judged["batch 1: tinyjax / trivial-jit floor <= 2"] is False

    judged = {t["target"]: t["met"] for t in targets(_result(1.06, 1.6, 0.89))}
    assert judged["batch 1: tinyjax / hand-written jit <= 1.05"] is False
    assert judged["batch 32: tinyjax / NumPy OOP < 1.0"] is False
    assert judged["batch 32: tinyjax / NumPy (faster setting) <= 1.5"] is False
    assert judged["batch 4096: tinyjax >= 90% of measured f32 peak"] is False


def test_onnx_targets_follow_the_figures():
    def result(over_numpy, over_numpy_1_thread, over_plain):
        rows = {
            "tinyjax.compile (onnxruntime)": {},
            "NumPy OOP": {"onnx_predictor_over_this": over_numpy},
            "NumPy OOP (1 thread)": {"onnx_predictor_over_this": over_numpy_1_thread},
            "ONNX Runtime (hand-built graph)": {"onnx_predictor_over_this": over_plain},
        }
        return {"batches": {"1": {"rows": rows}, "32": {"rows": rows}}}

    judged = {t["target"]: t["met"] for t in targets(result(0.8, 0.85, 1.08))}
    assert judged == {
        "batch 1: ONNX Runtime predictor / NumPy (faster setting) <= 0.9": True,
        "batch 1: ONNX Runtime predictor / plain ONNX Runtime <= 1.10": True,
        "batch 32: ONNX Runtime predictor / NumPy (faster setting) <= 0.9": True,
        "batch 32: ONNX Runtime predictor / plain ONNX Runtime <= 1.05": False,
    }
    judged = {t["target"]: t["met"] for t in targets(result(0.8, 0.95, 1.0))}
    assert judged["batch 32: ONNX Runtime predictor / NumPy (faster setting) <= 0.9"] is False  # the faster NumPy
    assert judged["batch 32: ONNX Runtime predictor / plain ONNX Runtime <= 1.05"] is True
