"""summary: analytical counts equal hand-computed ones for the seed MLP and agree with XLA."""

import re

import jax
import pytest

import tinyjax as tj

SEED = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))


def test_seed_mlp_by_hand():
    batch = 32
    report = tj.summary(SEED, SEED.init(jax.random.key(0)), (batch, 784))
    assert [row.path for row in report.rows] == ["0", "1", "2", "3", "4"]
    assert [row.output_shape for row in report.rows] == [(32, 128), (32, 128), (32, 64), (32, 64), (32, 10)]
    assert [row.params for row in report.rows] == [100_480, 0, 8_256, 0, 650]
    assert report.params == 109_386 and report.param_bytes == 4 * 109_386
    linear_flops = [
        2 * batch * 784 * 128 + batch * 128,
        2 * batch * 128 * 64 + batch * 64,
        2 * batch * 64 * 10 + batch * 10,
    ]
    relu_flops = [batch * 128, batch * 64]
    assert [row.flops for row in report.rows] == [
        linear_flops[0],
        relu_flops[0],
        linear_flops[1],
        relu_flops[1],
        linear_flops[2],
    ]
    assert report.flops == sum(linear_flops) + sum(relu_flops) == 7_000_384
    assert [row.activation_bytes for row in report.rows] == [4 * 32 * n for n in (128, 128, 64, 64, 10)]


def test_agrees_with_xla():
    report = tj.summary(SEED, SEED.param_shapes(), (32, 784))
    # Stated tolerance: 1%. XLA counts a dot as 2*m*n*k, an add or a max as 1 per element, as we do.
    assert report.xla_flops == pytest.approx(report.flops, rel=0.01)
    assert report.xla_argument_bytes == report.param_bytes + 4 * 32 * 784
    assert report.xla_output_bytes == 4 * 32 * 10


def test_gpt3_sized_linear_without_allocating():
    layer = tj.Linear(12288, 49152)
    report = tj.summary(layer, layer.param_shapes(), (1, 12288), xla=False)
    assert report.params == 12288 * 49152 + 49152
    assert report.param_bytes == 4 * report.params
    assert report.flops == 2 * 12288 * 49152 + 49152
    assert report.xla_flops is None
    assert "Linear(12288 -> 49152)" in str(report)


def test_nested_paths_and_repeat_rows():
    model = tj.Sequential(tj.Linear(8, 16), tj.Sequential(tj.ReLU(), tj.Repeat(tj.Linear(16, 16), 4)))
    report = tj.summary(model, model.param_shapes(), (2, 8))
    assert [(row.path, row.kind) for row in report.rows] == [("0", "Linear"), ("1.0", "ReLU"), ("1.1", "Repeat")]
    assert report.rows[2].flops == 4 * (2 * 2 * 16 * 16 + 2 * 16)
    assert report.rows[2].params == 4 * (16 * 16 + 16)


def test_table_text():
    text = str(tj.summary(SEED, SEED.param_shapes(), (32, 784)))
    assert "Linear(784 -> 128)" in text and "109,386" in text and "7,000,384" in text and "XLA:" in text


def test_the_table_keeps_large_numbers_apart():
    # GPT-3's Linear(12288, 49152) at batch 1024: 2.3 GiB of params, 1.2e12 FLOPs (once printed as one word).
    layer = tj.Linear(12288, 49152)
    result = tj.summary(layer, layer.param_shapes(), (1024, 12288), xla=False)
    lines = str(result).splitlines()
    header, row, total = lines[1], lines[3], lines[5]
    assert re.split(r"\s{2,}", header) == [
        "path",
        "layer",
        "output shape",
        "params",
        "param bytes",
        "FLOPs",
        "act. bytes",
    ]
    flops = f"{2 * 1024 * 12288 * 49152 + 1024 * 49152:,}"
    assert re.split(r"\s{2,}", row) == [
        "-",
        "Linear(12288 -> 49152)",
        "(1024, 49152)",
        "604,028,928",
        "2.3 GiB",
        flops,
        "192.0 MiB",
    ]
    assert re.split(r"\s{2,}", total) == ["total", "604,028,928", "2.3 GiB", flops, "192.0 MiB"]
    assert len({len(line) for line in lines[1:6]}) == 1  # every column lines up
