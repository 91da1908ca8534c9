"""``tj.profile``: FLOPs and bytes equal XLA's own counts on every conformance row; the training
step, its optimizer state and the printed forms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest
from conformance import TABLE

import tinyjax as tj
from tinyjax.costs import xla_costs

KEY = jax.random.key(0)


def _xla(fn, *args):
    return xla_costs(jax.jit(fn).lower(*args).compile())


@pytest.mark.parametrize("row", TABLE, ids=[row.id for row in TABLE])
def test_flops_and_bytes_equal_xla_counts(row):
    params = row.layer.param_shapes()
    x = jax.ShapeDtypeStruct(row.input_shape, row.input_dtype)
    report = tj.profile(row.layer, params, x, timing=False)
    costs = _xla(row.layer.raw_apply, params, x)
    assert report.bytes_accessed == costs.get("bytes accessed", 0.0)
    assert report.xla_flops == costs.get("flops", 0.0)
    if row.factory == "Repeat":  # XLA counts a loop's body once: the Repeat is n times its block
        (block,) = row.layer.children
        block_costs = _xla(block.raw_apply, jax.eval_shape(block.init, KEY), x)
        assert report.flops == row.layer.config["n"] * block_costs.get("flops", 0.0)
    else:
        assert report.flops == costs.get("flops", 0.0)
    for r in report.rows:  # each row is its layer compiled alone, as XLA counts it
        assert r.flops_per_sample == r.flops / (row.input_shape[0] if row.input_shape else 1)
    assert report.to_dict()["total"]["bytes"] == costs.get("bytes accessed", 0.0)


def _mlp():
    model = tj.Sequential(tj.Linear(6, 8), tj.ReLU(), tj.Linear(8, 3))
    return model, model.init(KEY), jnp.ones((4, 6))


def test_rows_totals_and_printed_forms():
    model, params, x = _mlp()
    report = tj.profile(model, params, x)
    assert [r.path for r in report.rows] == ["0", "1", "2"]
    assert [r.params for r in report.rows] == [6 * 8 + 8, 0, 8 * 3 + 3]
    assert report.rows[0].flops == 2 * 4 * 6 * 8 + 4 * 8
    assert report.rows[0].intensity == report.rows[0].flops / report.rows[0].bytes_accessed
    assert sum(r.time_share for r in report.rows) == pytest.approx(1.0)
    assert all(r.time_s > 0 for r in report.rows)
    assert report.compile_s > 0
    assert report.memory.arguments == tj.param_bytes(params) + x.size * 4
    assert report.memory.outputs == 4 * 3 * 4
    assert report.memory.peak >= report.memory.arguments
    total = report.to_dict()["total"]
    assert (total["flops"], total["params"]) == (report.flops, tj.count_params(params))
    text = str(report)
    assert "Linear(6 -> 8)" in text and "total" in text and "peak" in text
    markdown = report.to_markdown()
    assert markdown.count("\n| ") == 5  # the header, three rows, the total


def test_training_step_counts_the_gradient_and_adam():
    model, params, x = _mlp()
    inference = tj.profile(model, params, x, timing=False)
    report = tj.profile(model, params, x, training=True, timing=False)
    assert report.training and "training step" in str(report)
    # Adam keeps two moments per param and a step count
    adam = jax.eval_shape(optax.adam(1e-3).init, params)
    assert report.optimizer_state_bytes == tj.param_bytes(adam) == 2 * tj.param_bytes(params) + 4
    # the step does the forward pass, about twice its work backward, and the update
    assert report.flops > 2 * inference.flops
    assert report.to_dict()["total"]["flops"] == report.xla_flops


def test_training_step_of_layers_with_state_and_randomness():
    model = tj.Sequential(tj.BatchNorm1d(4), tj.Dropout(0.5))
    params = model.init(KEY)
    report = tj.profile(model, params, jnp.ones((8, 4)), training=True, timing=False)
    # the running statistics are state: the optimizer never holds them
    trainable, _ = tj.split_state(model, params)
    assert report.optimizer_state_bytes == 2 * tj.param_bytes(trainable) + 4
    assert all(r.flops > 0 for r in report.rows)


def test_refuses_what_is_not_a_layer():
    with pytest.raises(tj.ConfigError, match="Layer"):
        tj.profile(lambda p, x: x, (), jnp.ones(3))
