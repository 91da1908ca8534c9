"""tj.export(format="onnx"): the graph written from the layer description, for every row of the conformance table.

Each mapped row's model runs in ONNX Runtime in a process where importing jax or tinyjax fails, at
the row's batch size and another one (the batch dimension is symbolic), and must equal ``apply``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from typing import Any

import jax
import numpy as np
import pytest
from conformance import TABLE, Row

import tinyjax as tj

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import numpy_helper  # noqa: E402

KEY = jax.random.key(0)
# Rows without an ONNX mapping, by factory or by the layer's name, each with its reason; every other row maps.
UNMAPPED = {
    "Lambda",  # a function tinyjax cannot see into
}


def _maps(layer: tj.Layer) -> bool:
    return layer.onnx is not None and all(_maps(child) for child in layer.children)


def _innermost_unmapped(layer: tj.Layer) -> tj.Layer:
    if layer.onnx is None:
        return layer
    return next(_innermost_unmapped(child) for child in layer.children if not _maps(child))


def _inputs(row: Row) -> list[np.ndarray]:
    """The row's input, and one with a batch 3 larger (indices drawn in [0, 4) for an integer row)."""
    batch, *rest = row.input_shape

    def draw(n: int) -> np.ndarray:
        key, shape = jax.random.key(1 + n), (n, *rest)
        if np.issubdtype(row.input_dtype, np.integer):
            return np.asarray(jax.random.randint(key, shape, 0, 4, row.input_dtype))
        return np.asarray(jax.random.normal(key, shape))

    return [draw(batch), draw(batch + 3)]


# Runs every model in one process that has onnxruntime and NumPy but can import neither jax nor tinyjax.
RUNNER = textwrap.dedent(
    """
    import importlib.abc, pathlib, sys

    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("jax", "jaxlib", "tinyjax"):
                raise ImportError(f"{name} is blocked in this process")

    sys.meta_path.insert(0, Blocked())
    try:
        import jax
    except ImportError:
        pass
    else:
        raise SystemExit("the import blocker let jax through")
    import numpy as np, onnxruntime as ort

    folder = pathlib.Path(sys.argv[1])
    for x_file in sorted(folder.glob("*.x.npy")):
        model = folder / (x_file.name.split(".")[0] + ".onnx")
        session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        np.save(str(x_file).replace(".x.npy", ".y.npy"), session.run(None, {"x": np.load(x_file)})[0])
    assert not {m.split(".")[0] for m in sys.modules} & {"jax", "jaxlib", "tinyjax"}
    """
)


@pytest.fixture(scope="module")
def ort_outputs(tmp_path_factory):
    """``{row index: [ONNX Runtime's output for each of _inputs(row)]}``, from one process without jax."""
    folder = tmp_path_factory.mktemp("onnx")
    mapped = [i for i, row in enumerate(TABLE) if _maps(row.layer)]
    for i in mapped:
        row = TABLE[i]
        params, features = row.layer.init(KEY), row.input_shape[1:]
        tj.export(row.layer, params, features=features, dtype=row.input_dtype, format="onnx", path=folder / f"{i}.onnx")
        for j, x in enumerate(_inputs(row)):
            np.save(folder / f"{i}.{j}.x.npy", x)
    done = subprocess.run([sys.executable, "-c", RUNNER, str(folder)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {i: [np.load(folder / f"{i}.{j}.y.npy") for j in range(2)] for i in mapped}


@pytest.mark.parametrize("index", range(len(TABLE)), ids=[row.id for row in TABLE])
def test_onnx_runs_without_jax_and_equals_apply(index, ort_outputs):
    row = TABLE[index]
    params = row.layer.init(KEY)
    if not _maps(row.layer):
        assert {row.factory, row.id} & UNMAPPED, f"{row.id} has no ONNX mapping: describe its `onnx` (layer.py, OnnxFn)"
        refused = re.escape(_innermost_unmapped(row.layer).name)
        with pytest.raises(tj.ConfigError, match=rf"^export\(format='onnx'\): {refused} "):
            tj.export(row.layer, params, features=row.input_shape[1:], dtype=row.input_dtype, format="onnx")
        return
    atol = 1e-5 if row.onnx_atol is None else row.onnx_atol  # ONNX Runtime's int8 scheme: see the row
    for x, y in zip(_inputs(row), ort_outputs[index], strict=True):
        np.testing.assert_allclose(y, row.layer.apply(params, x), rtol=1e-5, atol=atol)


MLP = tj.Sequential(tj.Linear(12, 8), tj.ReLU(), tj.Linear(8, 6), tj.Dropout(0.5), tj.Linear(6, 4), tj.Softmax())
PARAMS = MLP.init(KEY)


def test_initializers_are_the_named_parameters_and_the_batch_is_symbolic(tmp_path):
    data = tj.export(MLP, PARAMS, format="onnx", batch="n", path=tmp_path / "mlp.onnx")
    assert (tmp_path / "mlp.onnx").read_bytes() == data
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    assert set(initializers) == set(tj.named_parameters(PARAMS))
    for name, array in tj.named_parameters(PARAMS).items():
        np.testing.assert_array_equal(initializers[name], array)
    (x,), (y,) = model.graph.input, model.graph.output
    dims = lambda value: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]  # noqa: E731
    assert (x.name, dims(x), y.name, dims(y)) == ("x", ["n", 12], "y", ["n", 4])
    assert [node.op_type for node in model.graph.node] == [
        *("MatMul", "Add", "Relu", "MatMul", "Add", "MatMul", "Add", "Softmax")  # Dropout: no node
    ]


def test_repeat_unrolls_over_its_stacked_params():
    block = tj.Sequential(tj.Linear(4, 4), tj.GELU(approximate=True))
    model = tj.Repeat(block, 5)
    params = model.init(KEY)
    graph = onnx.load_from_string(tj.export(model, params, format="onnx")).graph
    assert {t.name for t in graph.initializer} >= {"0.weight", "0.bias"}  # stacked: (5, 4, 4) and (5, 4)
    assert sum(node.op_type == "MatMul" for node in graph.node) == 5
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    session = ort.InferenceSession(tj.export(model, params, format="onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], model.apply(params, x), rtol=1e-5, atol=1e-5)


def test_a_model_that_returns_its_input_still_has_an_output_node():
    graph = onnx.load_from_string(tj.export(tj.Dropout(0.3), (), features=(3,), format="onnx")).graph
    assert [(n.op_type, list(n.input), list(n.output)) for n in graph.node] == [("Identity", ["x"], ["y"])]


def test_refusals_name_the_layer():
    pair = (lambda key: (), lambda params, x: 2 * x)
    model = tj.Sequential(tj.Linear(3, 3), pair)
    with pytest.raises(tj.ConfigError, match=r"pair\(<lambda>\) \(inside Sequential\(.*\)\) has no ONNX mapping"):
        tj.export(model, model.init(KEY), format="onnx")
    with pytest.raises(tj.ConfigError, match=r"^export\(format='onnx'\): Lambda\(tanh\) has no ONNX mapping"):
        tj.export(tj.Lambda(np.tanh), (), features=(3,), format="onnx")
    for dtype in (np.float16, jax.numpy.bfloat16, np.float64, np.uint8, np.bool_):
        with pytest.raises(
            tj.ConfigError, match=rf"float32 inputs, or int32 / int64 indices, got dtype={np.dtype(dtype)}"
        ):
            tj.export(MLP, PARAMS, format="onnx", dtype=dtype)
    with pytest.raises(tj.DTypeError, match=r"Linear\(12 -> 8\)"):  # a float model refuses indices, by name
        tj.export(MLP, PARAMS, format="onnx", dtype=np.int32)
    with pytest.raises(tj.DTypeError, match=r"Embedding\(7, 4\): expected integer indices"):
        tj.export(tj.Embedding(7, 4), tj.Embedding(7, 4).init(KEY), features=(3,), format="onnx")
    with pytest.raises(tj.ConfigError, match="format must be 'stablehlo' or 'onnx'"):
        tj.export(MLP, PARAMS, format="tflite")
    with pytest.raises(tj.ShapeError, match="Linear"):
        tj.export(MLP, PARAMS, features=(13,), format="onnx")


def test_without_the_extra_the_error_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # any import of onnx now fails
    with pytest.raises(ImportError, match=r"onnx is not installed: .*pip install 'tinyjax\[onnx\]'"):
        tj.export(MLP, PARAMS, format="onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"onnxruntime is not installed: .*tinyjax\[onnx\]"):
        tj.compile(MLP, PARAMS, np.zeros((2, 12), np.float32), backend="onnxruntime")


def _session(data: bytes) -> ort.InferenceSession:
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _dims(value: Any) -> list[int | str | None]:
    """An ONNX input's or output's dims: sizes, names, None where neither is given."""
    return [d.dim_param or (d.dim_value if d.HasField("dim_value") else None) for d in value.type.tensor_type.shape.dim]


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_embedding_takes_integer_indices_and_gives_nan_rows_out_of_range_as_apply(dtype):
    layer = tj.Embedding(7, 4)
    params = layer.init(KEY)
    data = tj.export(layer, params, features=(5,), dtype=dtype, format="onnx")
    (x,), (y,) = onnx.load_from_string(data).graph.input, onnx.load_from_string(data).graph.output
    assert x.type.tensor_type.elem_type == onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    assert y.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    tokens = np.array([[0, 6, 3, 1, 5], [2, 4, 0, 6, 6]], dtype)
    np.testing.assert_array_equal(_session(data).run(None, {"x": tokens})[0], layer.apply(params, tokens))
    outside = np.array([[-1, 7, 100, -7, 0], [-(2**31), 2**31 - 1, 6, -100, 3]], dtype)  # ONNX's Gather wraps -1
    got = _session(data).run(None, {"x": outside})[0]
    assert np.isnan(got).all(-1).tolist() == [[True, True, True, True, False], [True, True, False, True, False]]
    np.testing.assert_array_equal(got, layer.apply(params, outside))  # NaN rows equal NaN rows


@pytest.mark.parametrize(
    "layer",
    [
        tj.PositionalEncoding(6, 4),
        tj.SinusoidalPositionalEncoding(6, 4),
        tj.MultiHeadAttention(4, 2, causal=True),
        tj.TransformerBlock(4, 2, mlp_ratio=2),
    ],
    ids=lambda layer: layer.name,
)
def test_a_named_sequence_length_runs_at_every_length(layer):
    """features=("t", 4): one model for every T <= 6, its input and output named (b, t, 4)."""
    params = layer.init(KEY)
    data = tj.export(layer, params, features=("t", 4), format="onnx")
    graph = onnx.load_from_string(data).graph
    assert _dims(graph.input[0]) == _dims(graph.output[0]) == ["b", "t", 4]
    session = _session(data)
    for length in (1, 3, 6):
        x = np.asarray(jax.random.normal(jax.random.key(length), (2, length, 4)))
        np.testing.assert_allclose(session.run(None, {"x": x})[0], layer.apply(params, x), rtol=1e-5, atol=1e-5)


def test_an_output_dim_that_does_not_follow_a_name_is_left_unnamed():
    layer = tj.Flatten()  # (b, t, 4) -> (b, 4t): it grows with t, but is not t
    data = tj.export(layer, (), features=("t", 4), format="onnx")
    assert _dims(onnx.load_from_string(data).graph.output[0]) == ["b", None]
    x = np.asarray(jax.random.normal(KEY, (2, 5, 4)))
    np.testing.assert_array_equal(_session(data).run(None, {"x": x})[0], layer.apply((), x))


def test_named_dimensions_are_checked():
    with pytest.raises(tj.ShapeError, match=r"Linear\(12 -> 8\)"):  # the MLP takes 12 features, not any number
        tj.export(MLP, PARAMS, features=("t",), format="onnx")
    for name in ("b", ""):
        with pytest.raises(tj.ConfigError, match="needs a name of its own"):
            tj.export(tj.Flatten(), (), features=(name, 4), format="onnx")
    with pytest.raises(tj.ConfigError, match=r"named feature dimensions .* are for format='onnx'"):
        tj.export(tj.Flatten(), (), features=("t", 4))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_attention_variants_and_leading_axes(causal, bias):
    layer = tj.MultiHeadAttention(12, 3, bias=bias, causal=causal)
    params = jax.tree_util.tree_map(  # biases away from their zero init, so that a wrong bias shows
        lambda p: p + 0.1 * jax.random.normal(jax.random.key(p.size), p.shape), layer.init(KEY)
    )
    for features in [(5, 12), (2, 3, 12)]:  # (B, T, E), and (B, 2, T, E): the leading axes are kept
        x = np.asarray(jax.random.normal(jax.random.key(7), (3, *features)))
        y = _session(tj.export(layer, params, features=features, format="onnx")).run(None, {"x": x})[0]
        np.testing.assert_allclose(y, layer.apply(params, x), rtol=1e-5, atol=1e-5)
    graph = onnx.load_from_string(tj.export(layer, params, features=(5, 12), format="onnx")).graph
    assert sum(node.op_type == "Trilu" for node in graph.node) == causal
    head_major = {"in_proj_weight": (12, 3, 3, 4), "out_proj_weight": (3, 4, 12)}  # (E, 3, H, D), (H, D, E)
    head_major |= {"in_proj_bias": (3, 3, 4), "out_proj_bias": (12,)} if bias else {}
    assert {t.name: tuple(t.dims) for t in graph.initializer if t.name in params} == head_major


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_a_gpt_exports_with_integer_tokens_and_equals_apply(positions):
    gpt = tj.GPT(vocab_size=11, embed_dim=8, num_layers=2, num_heads=2, max_seq_len=6, positions=positions)
    params = gpt.init(KEY)
    data = tj.export(gpt, params, features=(5,), dtype=np.int32, format="onnx")
    graph = onnx.load_from_string(data).graph
    assert sum(node.op_type == "Softmax" for node in graph.node) == 2  # one attention per block, written once
    tokens = np.asarray(jax.random.randint(jax.random.key(3), (3, 5), 0, 11, np.int32))
    logits = _session(data).run(None, {"x": tokens})[0]
    assert logits.shape == (3, 5, 11) and logits.dtype == np.float32
    np.testing.assert_allclose(logits, gpt.apply(params, tokens), rtol=1e-5, atol=1e-5)
    data = tj.export(gpt, params, features=("t",), dtype=np.int32, format="onnx")
    assert _dims(onnx.load_from_string(data).graph.output[0]) == ["b", "t", 11]
    session = _session(data)  # any prompt length up to max_seq_len
    for length in (1, 6):
        tokens = np.asarray(jax.random.randint(jax.random.key(length), (2, length), 0, 11, np.int32))
        np.testing.assert_allclose(session.run(None, {"x": tokens})[0], gpt.apply(params, tokens), rtol=1e-5, atol=1e-5)
