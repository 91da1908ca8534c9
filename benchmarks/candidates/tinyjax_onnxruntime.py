"""tinyjax: ``tinyjax.compile(..., backend="onnxruntime")`` on the Sequential seed MLP (its exported ONNX graph)."""

from __future__ import annotations

from typing import Any

import tinyjax as tj

from .tinyjax_predictor import _model_params


def build(layers: Any, x: Any) -> Any:
    model, params = _model_params(layers)
    predictor = tj.compile(model, params, x, backend="onnxruntime")
    return lambda: predictor(x)
