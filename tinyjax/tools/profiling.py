"""``tj.profile``: where a model's FLOPs, bytes, memory and time go, layer by layer, from XLA itself.

Rows are the layers :func:`tinyjax.summary` lists (a Sequential's children, paths ``"1.0"``). For
each row:

- ``flops``: per call, from the layer's own formula (:func:`tinyjax.costs.layer_flops`, counted as
  XLA counts) for inference; with ``training=True`` XLA's count of the layer's own gradient step
  (forward, backward to its params and input, Adam update). ``flops_per_sample`` divides by the
  batch (the input's first axis).
- ``bytes_accessed``: XLA's ``cost_analysis()["bytes accessed"]`` of the layer compiled alone for
  the input it receives in the model; ``intensity`` is ``flops / bytes_accessed``.
- ``time_s`` and ``time_share``: XLA:CPU does not attribute a compiled program's time to the layers
  it fused together, so each layer's own compiled function is timed with :func:`tinyjax.benchmark`
  (median); the share is of the sum over rows. ``timing=False`` skips it (None).

The totals come from the whole model compiled as one program: XLA's FLOPs and bytes accessed, the
compile time, and ``memory_analysis()`` (arguments, outputs, temporaries, peak). Fusion makes the
whole program's bytes smaller than the sum of the rows'. XLA counts a loop's body once, so a
Repeat's (a ``lax.scan``) XLA figures are its block's: for inference the analytical FLOPs are the
ones to trust there (``flops``, beside ``xla_flops``); with ``training=True`` every FLOPs figure is
XLA's, so a Repeat's gradient step is counted for one pass of its block.

With ``training=True`` the program is one gradient step: ``jax.value_and_grad`` of ``loss(y)``
(default: the mean of ``y**2``) and an ``optax.adam`` update; the optimizer state's bytes are
reported beside the params'. State (BatchNorm's running statistics) is kept out of the optimizer
with :func:`tinyjax.split_state`.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from tinyjax._errors import ConfigError, NoisyBenchmarkWarning
from tinyjax.costs import layer_flops, xla_costs
from tinyjax.layer import Layer, Params
from tinyjax.params import count_params, param_bytes
from tinyjax.state import merge_state, split_state
from tinyjax.tools.benchmarking import benchmark
from tinyjax.tools.summary import _size, leaf_layers, text_table

__all__ = ["Memory", "Profile", "ProfileRow", "concrete", "profile", "program"]


@dataclasses.dataclass(frozen=True)
class ProfileRow:
    """One layer: costs per call of its own compiled program (see the module)."""

    path: str
    name: str
    params: int
    param_bytes: int
    flops: int
    flops_per_sample: float
    bytes_accessed: int
    time_s: float | None
    time_share: float | None

    @property
    def intensity(self) -> float:
        """FLOPs per byte accessed (0 when nothing is accessed)."""
        return self.flops / self.bytes_accessed if self.bytes_accessed else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "params": self.params,
            "param_bytes": self.param_bytes,
            "flops": self.flops,
            "flops_per_sample": self.flops_per_sample,
            "bytes": self.bytes_accessed,
            "intensity": self.intensity,
            "time_s": self.time_s,
            "time_share": self.time_share,
        }


@dataclasses.dataclass(frozen=True)
class Memory:
    """XLA's ``memory_analysis()`` of a compiled program, in bytes (None where the backend gives none)."""

    arguments: int | None
    outputs: int | None
    temporaries: int | None
    peak: int | None

    @classmethod
    def of(cls, compiled: Any) -> Memory:
        stats = compiled.memory_analysis()
        if stats is None:
            return cls(None, None, None, None)
        args, outs, temps = (
            int(stats.argument_size_in_bytes),
            int(stats.output_size_in_bytes),
            int(stats.temp_size_in_bytes),
        )
        # jax versions and backends that do not fill in a peak: everything live at once, less aliases
        peak = int(getattr(stats, "peak_memory_in_bytes", 0) or 0)
        if not peak:
            peak = args + outs + temps - int(getattr(stats, "alias_size_in_bytes", 0) or 0)
        return cls(args, outs, temps, peak)


@dataclasses.dataclass(frozen=True)
class Profile:
    """A model's rows, totals, compile time and memory, for inference or one training step.

    ``str()`` gives a table, :meth:`to_dict` plain values (with a ``"total"`` entry holding
    ``"flops"``, ``"bytes"`` (XLA's bytes accessed by the whole program) and ``"params"``),
    :meth:`to_markdown` a Markdown table.
    """

    name: str
    input_shape: tuple[int, ...]
    training: bool
    rows: tuple[ProfileRow, ...]
    flops: int
    xla_flops: float
    bytes_accessed: int
    compile_s: float
    memory: Memory
    optimizer_state_bytes: int | None

    @property
    def params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def param_bytes(self) -> int:
        return sum(row.param_bytes for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        total = {
            "flops": self.flops,
            "xla_flops": self.xla_flops,
            "bytes": self.bytes_accessed,
            "params": self.params,
            "param_bytes": self.param_bytes,
            "optimizer_state_bytes": self.optimizer_state_bytes,
            "compile_s": self.compile_s,
            "memory": dataclasses.asdict(self.memory),
        }
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "training": self.training,
            "layers": [row.to_dict() for row in self.rows],
            "total": total,
        }

    def _table(self) -> tuple[tuple[str, ...], list[tuple[str, ...]], tuple[str, ...]]:
        titles = ("path", "layer", "params", "param bytes", "FLOPs", "FLOPs/sample", "XLA bytes", "FLOP/B", "time")

        def cells(row: ProfileRow) -> tuple[str, ...]:
            share = "-" if row.time_share is None else f"{100 * row.time_share:.1f}%"
            return (
                row.path,
                row.name[:40],
                f"{row.params:,}",
                _size(row.param_bytes),
                f"{row.flops:,}",
                f"{row.flops_per_sample:,.0f}",
                _size(row.bytes_accessed),
                f"{row.intensity:.2f}",
                share,
            )

        total = (
            "total",
            "(one program)",
            f"{self.params:,}",
            _size(self.param_bytes),
            f"{self.flops:,}",
            f"{self.flops / _batch(self.input_shape):,.0f}",
            _size(self.bytes_accessed),
            f"{self.flops / self.bytes_accessed:.2f}" if self.bytes_accessed else "-",
            "",
        )
        return titles, [cells(r) for r in self.rows], total

    def _footer(self) -> list[str]:
        m = self.memory
        lines = [
            f"compile {self.compile_s * 1e3:.1f} ms; XLA FLOPs {self.xla_flops:,.0f}; memory: arguments "
            f"{_size(m.arguments)}, outputs {_size(m.outputs)}, temporaries {_size(m.temporaries)}, "
            f"peak {_size(m.peak)}"
        ]
        if self.optimizer_state_bytes is not None:
            lines.append(f"Adam state {_size(self.optimizer_state_bytes)} (params {_size(self.param_bytes)})")
        return lines

    def _title(self) -> str:
        what = "one training step (forward, backward, Adam)" if self.training else "inference"
        return f"{self.name}, input {self.input_shape}, {what}"

    def __str__(self) -> str:
        return "\n".join([self._title(), *text_table(*self._table()), *self._footer()])

    def to_markdown(self) -> str:
        titles, rows, total = self._table()

        def line(cells: tuple[str, ...]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        return "\n".join(
            [
                f"**{self._title()}**",
                "",
                line(titles),
                "|---|---|" + "---:|" * (len(titles) - 2),
                *map(line, rows),
                line(tuple(f"**{c}**" if c else c for c in total)),
                "",
                *(f"{text}  " for text in self._footer()),
            ]
        )


def profile(
    model: Layer,
    params: Params,
    x: Any,
    *,
    training: bool = False,
    loss: Callable[[Any], jax.Array] | None = None,
    timing: bool = True,
) -> Profile:
    """Profile ``model.apply(params, x)``, or with ``training=True`` one gradient step with Adam.

    Args:
      model: any Layer (a user's pair works: its FLOPs are XLA's count).
      params: its params (arrays; ``jax.ShapeDtypeStruct`` leaves work too: abstract arguments are
        timed on arrays of their shapes).
      x: an input (an array or a ``jax.ShapeDtypeStruct``), shape ``(batch, ...)``; only its shape
        and dtype are used.
      training: profile one training step instead of inference.
      loss: ``loss(y) -> scalar`` for the training step (default: the mean of ``y**2``).
      timing: time each layer's compiled function (the rows' ``time_s`` and ``time_share``).

    Returns:
      A :class:`Profile`.
    """
    if not isinstance(model, Layer):
        raise ConfigError(f"profile: expected a tinyjax Layer, got {type(model).__name__}")
    loss = loss or _mean_square
    x_struct = jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x))
    param_structs = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(jnp.shape(a), jnp.result_type(a)), params)
    batch = _batch(x_struct.shape)
    rows = []
    for path, leaf, leaf_params, leaf_x in leaf_layers(model, params, x_struct):
        fn, fn_args = program(leaf, leaf_params, leaf_x, training, loss)
        compiled = jax.jit(fn).lower(*fn_args).compile()
        costs = xla_costs(compiled)
        flops = int(costs.get("flops", 0)) if training else layer_flops(leaf, leaf_params, leaf_x)
        row_time = None
        if timing:
            row_time = _time(compiled, fn_args, f"{path} {leaf.name}")
        rows.append(
            ProfileRow(
                path,
                leaf.name,
                count_params(leaf_params),
                param_bytes(leaf_params),
                flops,
                flops / batch,
                int(costs.get("bytes accessed", 0)),
                row_time,
                None,
            )
        )
    if timing:
        total_time = sum(r.time_s or 0.0 for r in rows)
        rows = [dataclasses.replace(r, time_share=(r.time_s or 0.0) / total_time if total_time else 0.0) for r in rows]
    fn, fn_args = program(model, param_structs, x_struct, training, loss)
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*fn_args).compile()
    compile_s = time.perf_counter() - start
    costs = xla_costs(compiled)
    xla_flops = float(costs.get("flops", 0.0))
    flops = int(xla_flops) if training else sum(r.flops for r in rows)
    opt_bytes = None
    if training:
        opt_bytes = param_bytes(jax.eval_shape(_OPTIMIZER.init, split_state(model, param_structs)[0]))
    return Profile(
        model.name,
        tuple(x_struct.shape),
        training,
        tuple(rows),
        flops,
        xla_flops,
        int(costs.get("bytes accessed", 0)),
        compile_s,
        Memory.of(compiled),
        opt_bytes,
    )


_OPTIMIZER = optax.adam(1e-3)


def _mean_square(y: Any) -> jax.Array:
    leaves = [leaf for leaf in jax.tree_util.tree_leaves(y) if jnp.issubdtype(leaf.dtype, jnp.inexact)]
    return sum((jnp.mean(jnp.square(leaf.astype(jnp.float32))) for leaf in leaves), jnp.float32(0))


def _batch(shape: tuple[int, ...]) -> int:
    return int(shape[0]) if shape and shape[0] else 1


def program(
    layer: Layer, params: Any, x: Any, training: bool, loss: Callable[[Any], jax.Array]
) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The function XLA compiles for one row or the whole model, and its (abstract) arguments.

    Inference: ``layer.raw_apply`` and ``(params, x)``. Training: one step, ``step(trainable, state,
    opt_state, x) -> (trainable, opt_state, loss[, grad of x])`` with Adam (lr 1e-3).
    """
    if not training:
        return layer.raw_apply, (params, x)
    trainable, state = split_state(layer, params)
    opt_state = jax.eval_shape(_OPTIMIZER.init, trainable)
    differentiable_x = jnp.issubdtype(x.dtype, jnp.inexact)
    options: dict[str, Any] = {}
    if "training" in layer.options:
        options["training"] = True

    def objective(trainable: Any, state: Any, x: Any) -> jax.Array:
        kwargs = dict(options)
        if "key" in layer.options:
            kwargs["key"] = jax.random.key(0)
        y = layer.raw_apply(merge_state(trainable, state), x, **kwargs)
        if layer.stateful and options:
            y = y[0]  # (y, new_state): the state is not trained
        return loss(y)

    def step(trainable: Any, state: Any, opt_state: Any, x: Any) -> Any:
        # the gradient to the input too: inside a model every layer but the first passes it on
        argnums = (0, 2) if differentiable_x else 0
        value, grads = jax.value_and_grad(objective, argnums=argnums)(trainable, state, x)
        param_grads = grads[0] if differentiable_x else grads
        updates, opt_state = _OPTIMIZER.update(param_grads, opt_state, trainable)
        out = (optax.apply_updates(trainable, updates), opt_state, value)
        return (*out, grads[1]) if differentiable_x else out

    return step, (trainable, state, opt_state, x)


def _time(compiled: Any, args: tuple[Any, ...], name: str) -> float:
    """Median seconds of one row's compiled program on arrays of its argument shapes."""
    arrays = jax.tree_util.tree_map(concrete, args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoisyBenchmarkWarning)
        return benchmark(compiled, *arrays, warmup=3, runs=20, min_time=0.02, name=name).median


def concrete(leaf: Any) -> Any:
    """A concrete array for an abstract argument: ones (indices 0 for integers, a key for keys)."""
    if not isinstance(leaf, jax.ShapeDtypeStruct):
        return leaf
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return jax.random.key(0)
    if jnp.issubdtype(leaf.dtype, jnp.inexact):
        return jnp.full(leaf.shape, 0.5, leaf.dtype) if math.prod(leaf.shape) else jnp.zeros(leaf.shape, leaf.dtype)
    return jnp.zeros(leaf.shape, leaf.dtype)
