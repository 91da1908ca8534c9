"""Helpers shared by the ONNX Runtime candidates: the seed MLP as a hand-built ONNX graph, session settings."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def mlp_graph(layers: Any) -> bytes:
    """The seed MLP written by hand with onnx.helper: MatMul, Add, Relu; input "x" (b, 784), output "y"."""
    nodes, inits, h = [], [], "x"
    for i, (w, b) in enumerate(layers):
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("MatMul", [h, f"w{i}"], [f"m{i}"]))
        nodes.append(helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"]))
        h = f"a{i}"
        if i < len(layers) - 1:
            nodes.append(helper.make_node("Relu", [h], [f"r{i}"]))
            h = f"r{i}"
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", layers[0][0].shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", layers[-1][0].shape[1]])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def session_options() -> ort.SessionOptions:
    """Session options from the environment (``TINYJAX_ORT_*``; unset: ONNX Runtime's defaults)."""
    options = ort.SessionOptions()
    env = os.environ
    if "TINYJAX_ORT_INTRA" in env:
        options.intra_op_num_threads = int(env["TINYJAX_ORT_INTRA"])
    if "TINYJAX_ORT_INTER" in env:
        options.inter_op_num_threads = int(env["TINYJAX_ORT_INTER"])
    if "TINYJAX_ORT_LEVEL" in env:
        options.graph_optimization_level = LEVELS[env["TINYJAX_ORT_LEVEL"]]
    if env.get("TINYJAX_ORT_MODE") == "parallel":
        options.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    if "TINYJAX_ORT_SPIN" in env:
        options.add_session_config_entry("session.intra_op.allow_spinning", env["TINYJAX_ORT_SPIN"])
    return options


def runner(session: ort.InferenceSession, x: np.ndarray) -> Any:
    """``run()`` in the call style ``TINYJAX_ORT_CALL`` names.

    run (default): ``session.run``; sess: the C++ session's ``run``; iobinding: input and output bound,
    ONNX Runtime allocates the output; preallocated: the output written into one array made at build
    time (returned as it is, overwritten by the next call); preallocated-copy: the same, copied out.
    """
    style = os.environ.get("TINYJAX_ORT_CALL", "run")
    if style == "run":
        return lambda: session.run(["y"], {"x": x})[0]
    if style == "sess":  # the C++ session under the Python wrapper: skips the wrapper's argument checks
        inner = session._sess
        return lambda: inner.run(["y"], {"x": x}, None)[0]
    binding = session.io_binding()
    if style == "iobinding":

        def run() -> Any:
            binding.bind_cpu_input("x", x)
            binding.bind_output("y")
            session.run_with_iobinding(binding)
            return binding.copy_outputs_to_cpu()[0]

        return run
    out = np.empty((x.shape[0], 10), np.float32)
    binding.bind_output("y", "cpu", 0, np.float32, out.shape, out.ctypes.data)

    def preallocated() -> Any:
        binding.bind_cpu_input("x", x)
        session.run_with_iobinding(binding)
        return out

    def preallocated_copy() -> Any:  # what a predictor would return: the caller's own array
        binding.bind_cpu_input("x", x)
        session.run_with_iobinding(binding)
        return out.copy()

    return preallocated_copy if style == "preallocated-copy" else preallocated
