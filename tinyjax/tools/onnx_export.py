"""``tinyjax.export(..., format="onnx")``: a layer's ONNX graph, written from the layer description.

Each layer says how it maps to ONNX nodes (its ``onnx`` function, :data:`tinyjax.layer.OnnxFn`); the
exporter hands it an :class:`OnnxGraph` builder, so no layer imports ``onnx``. The params become
initializers named as :func:`tinyjax.named_parameters` names them (``"0.weight"``), the input ``"x"``
has a symbolic batch dimension, the output is ``"y"``, and the model is checked by ``onnx.checker``.
It runs in any ONNX runtime: ONNX Runtime needs neither tinyjax nor JAX to load it.

``onnx`` and ``onnxruntime`` are the optional extra ``onnx`` (``pip install 'tinyjax[onnx]'``).
"""

from __future__ import annotations

import collections
import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import jax
import jax.export
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError, ShapeError
from tinyjax._version import __version__
from tinyjax.layer import Layer, Params
from tinyjax.params import named_parameters, path_name
from tinyjax.tools._arguments import with_symbolic_batch

__all__ = ["OPSET", "OnnxGraph", "export_onnx", "require"]

OPSET = 20
"""The ONNX opset the graphs use (20: the first with ``Gelu``; ONNX Runtime 1.17 and later run it)."""
INPUT_DTYPES = (np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.int64))
"""The input dtypes an ONNX model takes: float32, or integer indices for a model that starts with an Embedding."""
INPUT, OUTPUT = "x", "y"


def require(module: str) -> ModuleType:
    """Import ``onnx`` or ``onnxruntime``, or raise an ImportError that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{module} is not installed: ONNX export and backend='onnxruntime' need the extra "
            "`pip install 'tinyjax[onnx]'` (onnx and onnxruntime)"
        ) from error


class OnnxGraph:
    """The builder a layer's ``onnx(graph, param_names, x) -> y`` adds its nodes through.

    Tensors are named by strings: the input, the initializers (the params, by their
    :func:`~tinyjax.named_parameters` names) and each node's output.
    """

    def __init__(self, dtype: np.dtype, model: str) -> None:
        self.helper = require("onnx").helper
        self.numpy_helper = require("onnx.numpy_helper")
        self.dtype = dtype
        self.model = model
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._constants: dict[tuple[str, tuple[int, ...], bytes], str] = {}
        self._count: collections.Counter[str] = collections.Counter()

    def node(self, op: str, inputs: Sequence[str], **attributes: Any) -> str:
        """Add one ONNX node ``op`` (``"MatMul"``) on tensors ``inputs``; return its output's name."""
        self._count[op] += 1
        name = f"{op}_{self._count[op]}"
        self.nodes.append(self.helper.make_node(op, list(inputs), [name], name=name, **attributes))
        return name

    def node_outputs(self, op: str, inputs: Sequence[str], count: int, **attributes: Any) -> list[str]:
        """Add one ONNX node ``op`` with ``count`` outputs (``DynamicQuantizeLinear``); return their names."""
        self._count[op] += 1
        name = f"{op}_{self._count[op]}"
        outputs = [name if i == 0 else f"{name}_{i}" for i in range(count)]
        self.nodes.append(self.helper.make_node(op, list(inputs), outputs, name=name, **attributes))
        return outputs

    def constant(self, value: Any) -> str:
        """An initializer holding ``value`` (floating values in the export dtype; equal values shared)."""
        array = np.asarray(value)
        if np.issubdtype(array.dtype, np.floating):
            array = array.astype(self.dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._constants:
            self._constants[key] = f"constant_{len(self._constants)}"
            self.initializers.append(self.numpy_helper.from_array(array, self._constants[key]))
        return self._constants[key]

    def cast(self, x: str, dtype: Any) -> str:
        """A ``Cast`` of tensor ``x`` to the NumPy ``dtype`` (``np.int64``)."""
        return self.node("Cast", [x], to=self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    def layer(self, layer: Layer, param_names: Params, x: str) -> str:
        """Add ``layer``'s nodes on tensor ``x``; a layer without an ONNX mapping is refused by name."""
        if layer.onnx is None:
            inside = "" if layer.name == self.model else f" (inside {self.model})"
            raise ConfigError(
                f"export(format='onnx'): {layer.name}{inside} has no ONNX mapping (a user's pair, a Lambda, or a "
                "layer that describes no `onnx`); export with format='stablehlo', or describe its ONNX nodes"
            )
        return layer.onnx(self, param_names, x)


def export_onnx(
    layer: Layer,
    params: Params,
    *,
    features: Sequence[int | str],
    dtype: Any = jnp.float32,
    batch: str = "b",
    path: str | os.PathLike[str] | None = None,
) -> bytes:
    """The ONNX model (bytes) of ``layer`` with ``params`` for inputs ``(batch, *features)`` of ``dtype``.

    A feature given as a name instead of a size is a symbolic dimension, as the batch is: a GPT
    exported with ``features=("t",)`` serves every prompt length (up to its ``max_seq_len``) from one
    model. The layers' ONNX mappings never see a size, so the graph is the same; the layer is checked
    to take the named dimensions at the sizes 2 and 3, and each output dimension that follows one
    of them takes its name (one that grows otherwise is left unnamed).

    The params and the computation are float32 (the dtype ONNX Runtime's CPU kernels cover for every
    op used); the input is float32, or int32 / int64 indices for a layer that takes integers (an
    Embedding, a GPT). Raises ConfigError for another input dtype or naming the first layer without an
    ONNX mapping, ShapeError if the layer refuses the input shape, DTypeError if it refuses the dtype.
    """
    _check_names(features, batch)
    input_dtype = np.dtype(jnp.dtype(dtype))
    if input_dtype not in INPUT_DTYPES:
        raise ConfigError(
            f"ONNX models take float32 inputs, or int32 / int64 indices, got dtype={input_dtype}; "
            "for bfloat16 / float16 export with format='stablehlo'"
        )
    onnx = require("onnx")
    np_dtype = np.dtype(np.float32)
    graph = OnnxGraph(np_dtype, layer.name)
    for name, array in named_parameters(params).items():
        value = np.asarray(array)  # floats in float32; an int8 layer's integer weights kept as they are
        value = value.astype(np_dtype) if np.issubdtype(value.dtype, np.floating) else value
        graph.initializers.append(graph.numpy_helper.from_array(value, name))
    names = jax.tree_util.tree_map_with_path(lambda key_path, _: path_name(key_path), params)
    y = graph.layer(layer, names, INPUT)
    if not any(y in node.output for node in graph.nodes):
        graph.node("Identity", [y])  # the model returns its input or a constant: a node must produce "y"
        y = graph.nodes[-1].output[0]
    for node in graph.nodes:  # the last tensor becomes the output "y"
        node.input[:] = [OUTPUT if name == y else name for name in node.input]
        node.output[:] = [OUTPUT if name == y else name for name in node.output]
    used = _used_names(graph.nodes)  # state no node reads (BatchNorm's counter) would make ONNX Runtime warn
    graph.initializers = [tensor for tensor in graph.initializers if tensor.name in used]
    try:
        dims, out_dtype = _output_dims(layer, params, features, input_dtype, batch)
    except ShapeError as error:
        raise with_symbolic_batch(error, batch, features) from None
    helper = graph.helper
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "tinyjax",
            [helper.make_tensor_value_info(INPUT, helper.np_dtype_to_tensor_dtype(input_dtype), [batch, *features])],
            [helper.make_tensor_value_info(OUTPUT, helper.np_dtype_to_tensor_dtype(out_dtype), dims)],
            initializer=graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="tinyjax",
        producer_version=__version__,
        doc_string=layer.name,
    )
    onnx.checker.check_model(model, full_check=True)
    data = model.SerializeToString()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _used_names(nodes: Sequence[Any]) -> set[str]:
    """Every tensor name the nodes read, in the subgraphs of their attributes too (a Loop's body)."""
    used: set[str] = set()
    for node in nodes:
        used.update(node.input)
        for attribute in node.attribute:
            graphs = ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs)
            for subgraph in graphs:
                used |= _used_names(subgraph.node)
    return used


def _check_names(features: Sequence[int | str], batch: str) -> None:
    for size in features:
        if isinstance(size, str) and (not size or size == batch):
            raise ConfigError(
                f"a named feature dimension needs a name of its own, not {size!r} (the batch is {batch!r}); "
                "features=('t',) names a sequence length"
            )


def _output_dims(
    layer: Layer, params: Params, features: Sequence[int | str], dtype: np.dtype, batch: str
) -> tuple[list[int | str | None], np.dtype]:
    """The output's ONNX dims (sizes, names, None: unknown) and dtype, from the layer's own shapes.

    The batch is symbolic (``jax.export``); each named feature is tried at the sizes 2 and 3 (raising
    as the layer raises if it refuses them), and an output dim that follows it exactly takes its name.
    """
    (symbolic,) = jax.export.symbolic_shape(batch)
    names = [size for size in features if isinstance(size, str)]

    def shape_at(sizes: dict[str, int]) -> jax.ShapeDtypeStruct:
        concrete = tuple(sizes[size] if isinstance(size, str) else size for size in features)
        return jax.eval_shape(layer.raw_apply, params, jax.ShapeDtypeStruct((symbolic, *concrete), dtype))

    base = shape_at(dict.fromkeys(names, 2))
    grown = {name: shape_at({**dict.fromkeys(names, 2), name: 3}).shape for name in names}
    dims: list[int | str | None] = []
    for i, size in enumerate(base.shape):
        if not isinstance(size, int):
            dims.append(str(size))  # the batch, named as jax names it ("b")
            continue
        moved = [name for name in names if grown[name][i] != size]
        if not moved:
            dims.append(size)
        else:
            follows = len(moved) == 1 and (size, grown[moved[0]][i]) == (2, 3)
            dims.append(moved[0] if follows else None)
    return dims, np.dtype(base.dtype)
