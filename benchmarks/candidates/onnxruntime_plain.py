"""Plain ONNX Runtime: the seed MLP as a hand-built graph (MatMul, Add, Relu), one InferenceSession.

Settings come from ``TINYJAX_ORT_*`` variables (``_ort_common.py``); none set: ONNX Runtime's defaults.
"""

from __future__ import annotations

from typing import Any

import onnxruntime as ort

from ._ort_common import mlp_graph, runner, session_options


def build(layers: Any, x: Any) -> Any:
    session = ort.InferenceSession(mlp_graph(layers), session_options(), providers=["CPUExecutionProvider"])
    return runner(session, x)
