"""``tinyjax.summary``: what a model costs, layer by layer, beside XLA's own figures.

Each layer's FLOPs (per forward pass over an input of ``input_shape``) come from its own
description (``layer.flops``, see :func:`tinyjax.costs.layer_flops`): Linear(in, out) counts
``2 * batch * in * out`` for the product plus ``batch * out`` for the bias; an activation one FLOP
per output element (transcendentals are not FLOPs, as in XLA's cost analysis); Dropout none
(inference); a Repeat ``n`` times its block. A layer that describes no cost (a user's pair) is
compiled alone and XLA's count is used. A chain (a Sequential) gives one row per child.

Activation bytes are the bytes of each layer's output. The XLA figures come from compiling the
whole model for this input: ``cost_analysis()["flops"]`` and ``memory_analysis()`` (argument, output
and temporary bytes). XLA counts a loop's body once, so for a model with a Repeat (a ``lax.scan``)
its FLOPs are the block's, not ``n`` times them: the analytical total is the one to trust there.
Params may be ``jax.ShapeDtypeStruct`` leaves (``layer.param_shapes()``): then
nothing is allocated, so a 2.4 GB layer can be summarised on a laptop.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from tinyjax._checks import check_shape_argument
from tinyjax.costs import layer_flops, xla_costs
from tinyjax.layer import Layer, Params
from tinyjax.params import count_params, param_bytes
from tinyjax.tools._arguments import layer_argument

__all__ = ["LayerRow", "Summary", "summary", "xla_costs"]


@dataclasses.dataclass(frozen=True)
class LayerRow:
    """One layer: its path (``"2"``, ``"1.0"``), kind, name, output shape and costs."""

    path: str
    kind: str
    name: str
    output_shape: tuple[int, ...]
    params: int
    param_bytes: int
    flops: int
    activation_bytes: int


@dataclasses.dataclass(frozen=True)
class Summary:
    """Rows, totals and XLA's figures for one model and input shape. ``str()`` gives a table."""

    name: str
    input_shape: tuple[int, ...]
    rows: tuple[LayerRow, ...]
    xla_flops: float | None
    xla_argument_bytes: int | None
    xla_output_bytes: int | None
    xla_temp_bytes: int | None

    @property
    def params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def param_bytes(self) -> int:
        return sum(row.param_bytes for row in self.rows)

    @property
    def flops(self) -> int:
        return sum(row.flops for row in self.rows)

    @property
    def activation_bytes(self) -> int:
        return sum(row.activation_bytes for row in self.rows)

    def __str__(self) -> str:
        titles = ("path", "layer", "output shape", "params", "param bytes", "FLOPs", "act. bytes")
        rows = [
            _cells(r.path, r.name[:40], str(r.output_shape), r.params, r.param_bytes, r.flops, r.activation_bytes)
            for r in self.rows
        ]
        total = _cells("total", "", "", self.params, self.param_bytes, self.flops, self.activation_bytes)
        lines = [f"{self.name}, input {self.input_shape}", *text_table(titles, rows, total)]
        if self.xla_flops is not None:
            lines.append(
                f"XLA: {self.xla_flops:,.0f} FLOPs; arguments {_size(self.xla_argument_bytes)}, "
                f"output {_size(self.xla_output_bytes)}, temporaries {_size(self.xla_temp_bytes)}"
            )
        return "\n".join(lines)


def text_table(titles: tuple[str, ...], rows: list[tuple[str, ...]], total: tuple[str, ...]) -> list[str]:
    """Lines of a table: the first two columns left-aligned, the rest right-aligned, a rule around the rows."""
    # Each column as wide as its widest cell, two spaces between: large numbers never run together.
    widths = [max(len(cells[i]) for cells in (titles, *rows, total)) for i in range(len(titles))]

    def line(cells: tuple[str, ...]) -> str:
        aligned = (c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(aligned).rstrip()

    rule = "-" * len(line(titles))
    return [line(titles), rule, *map(line, rows), rule, line(total)]


def _cells(path: str, name: str, shape: str, params: int, nbytes: int, flops: int, act: int) -> tuple[str, ...]:
    """One row of the table as text."""
    return (path, name, shape, f"{params:,}", _size(nbytes), f"{flops:,}", _size(act))


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def summary(
    layer: Layer, params: Params, input_shape: Sequence[int], *, dtype: Any = jnp.float32, xla: bool = True
) -> Summary:
    """Summarise ``layer`` with ``params`` (arrays or ShapeDtypeStructs) for inputs of ``input_shape``.

    ``xla=False`` skips compiling the model (the XLA fields are then None).
    """
    layer = layer_argument(layer, "summary")
    input_shape = check_shape_argument(input_shape, "input_shape", f"summary({layer.name})")
    params = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(jnp.shape(a), a.dtype), params)
    x = jax.ShapeDtypeStruct(input_shape, dtype)
    rows, _ = _walk(layer, params, x, "")
    xla_flops = argument_bytes = output_bytes = temp_bytes = None
    if xla:
        compiled = jax.jit(layer.raw_apply).lower(params, x).compile()
        xla_flops = xla_costs(compiled).get("flops", 0.0)
        memory = compiled.memory_analysis()
        if memory is not None:
            argument_bytes = int(memory.argument_size_in_bytes)
            output_bytes = int(memory.output_size_in_bytes)
            temp_bytes = int(memory.temp_size_in_bytes)
    return Summary(layer.name, tuple(input_shape), tuple(rows), xla_flops, argument_bytes, output_bytes, temp_bytes)


def leaf_layers(
    layer: Layer, params: Params, x: jax.ShapeDtypeStruct, path: str = ""
) -> list[tuple[str, Layer, Any, Any]]:
    """``(path, layer, params, input)`` of every row: a chain (a Sequential) gives its children's, paths ``"1.0"``.

    ``input`` is the ``ShapeDtypeStruct`` the layer receives; the whole model's path is ``"-"``.
    """
    if layer.chain:
        leaves: list[tuple[str, Layer, Any, Any]] = []
        for i, (child, child_params) in enumerate(zip(layer.children, params, strict=True)):
            leaves.extend(leaf_layers(child, child_params, x, f"{path}.{i}" if path else str(i)))
            x = jax.eval_shape(child.raw_apply, child_params, x)
        return leaves
    return [(path or "-", layer, params, x)]


def _walk(layer: Layer, params: Params, x: jax.ShapeDtypeStruct, path: str) -> tuple[list[LayerRow], Any]:
    """One row per layer of :func:`leaf_layers`, and the model's output."""
    rows: list[LayerRow] = []
    out = x
    for row_path, leaf, leaf_params, leaf_x in leaf_layers(layer, params, x, path):
        out = jax.eval_shape(leaf.raw_apply, leaf_params, leaf_x)
        activation = math.prod(out.shape) * jnp.dtype(out.dtype).itemsize
        rows.append(
            LayerRow(
                row_path,
                leaf.kind,
                leaf.name,
                tuple(out.shape),
                count_params(leaf_params),
                param_bytes(leaf_params),
                layer_flops(leaf, leaf_params, leaf_x),
                activation,
            )
        )
    return rows, out
