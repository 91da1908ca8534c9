"""tinyjax: ``tinyjax.compile`` (the AOT predictor) on the Sequential seed MLP."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

import tinyjax as tj


def _model_params(layers: Any) -> tuple[Any, Any]:
    model = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
    linears = [{"weight": jnp.asarray(w), "bias": jnp.asarray(b)} for w, b in layers]
    return model, (linears[0], (), linears[1], (), linears[2])


def build(layers: Any, x: Any) -> Any:
    model, params = _model_params(layers)
    xj = jnp.asarray(x)
    predictor = tj.compile(model, params, xj)
    return lambda: predictor(xj).block_until_ready()


def memory(layers: Any, x: Any) -> dict[str, int]:
    model, params = _model_params(layers)
    predictor = tj.compile(model, params, jnp.asarray(x))
    stats = predictor.compiled(len(x)).memory_analysis()
    return {
        "argument_bytes": int(stats.argument_size_in_bytes),
        "output_bytes": int(stats.output_size_in_bytes),
        "temp_bytes": int(stats.temp_size_in_bytes),
        "embedded_constant_bytes": tj.param_bytes(params) if predictor.embedded else 0,
    }
