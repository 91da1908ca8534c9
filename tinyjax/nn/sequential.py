"""Sequential: a Layer that folds its layers' applies over a tuple of their params."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from tinyjax._checks import check_key
from tinyjax._errors import DTypeError, ParamsError, ShapeError
from tinyjax.layer import Layer, Params, Torch, as_layer, block_signature, cached, define, factory
from tinyjax.state import no_state

__all__ = ["Sequential"]


@factory
def Sequential(*layers: Any) -> Layer:
    """Chain layers: ``Sequential([l1, l2, l3])`` or ``Sequential(l1, l2, l3)``.

    Each item is a :class:`~tinyjax.Layer` (a nested Sequential included), a user's ``(init, apply)``
    pair of pure functions (:func:`~tinyjax.as_layer`), or a plain function such as ``jax.nn.relu``
    (wrapped in a :func:`~tinyjax.Lambda`).

    * ``init(key) -> (params_0, params_1, ...)``: the key is split, one subkey per layer.
    * ``apply(params, x, *, key=None, training=None, precision=None) -> y``: ``x`` goes through each
      layer in turn. ``key`` is split among the layers that take one (Dropout, a keyed pair);
      ``training`` reaches every layer that takes it (see :func:`~tinyjax.Dropout`); ``precision``
      every layer that takes it (Linear). A Sequential takes only the options some layer takes.
      A Sequential holding a layer with state (BatchNorm) returns ``(y, new_state)`` when
      ``training=True``: ``new_state`` is a tuple, one entry per layer, each the layer's new state
      (its params' structure, None at every leaf that is not state; see :func:`~tinyjax.split_state`).

    Adjacent sizes are checked when the Sequential is built (``jax.eval_shape``: no FLOPs):
    ``Sequential(Linear(784, 128), Linear(64, 10))`` raises :class:`~tinyjax.ShapeError`
    naming ``Sequential[1] Linear(64 -> 10)``, the shape it expected and the one it got.

    Limits: one input and one output per layer, applied in order. For a skip connection use
    :func:`~tinyjax.Residual` (``x + block(x)``); for n identical blocks use :func:`~tinyjax.Repeat`,
    which compiles in the time of one.
    """
    if len(layers) == 1 and isinstance(layers[0], (list, tuple)) and not _is_user_pair(layers[0]):
        layers = tuple(layers[0])
    return _sequential(tuple(as_layer(layer) for layer in layers))


@cached
def _sequential(children: tuple[Layer, ...]) -> Layer:
    name = f"Sequential({', '.join(child.name for child in children)})"
    options = frozenset().union(*(child.options for child in children))

    def init(key: jax.Array) -> Params:
        keys = jax.random.split(key, len(children))
        return tuple(child.init(keys[i]) for i, child in enumerate(children))

    def apply(params: Params, x: jax.Array, **given: Any) -> Any:
        if not isinstance(params, (tuple, list)) or len(params) != len(children):
            got = f"{len(params)} entries" if isinstance(params, (tuple, list)) else type(params).__name__
            raise ParamsError(
                "Sequential",
                f"a tuple of {len(children)} params, one per layer",
                got,
                what="params",
                hint="These params belong to another model",
            )
        return _fold(children, params, x, given)

    apply.__signature__ = block_signature(options)  # type: ignore[attr-defined]
    sequential = define(
        name,
        apply,
        init=init,
        doc=f"``apply(params, x, *, {', '.join(f'{o}=None' for o in sorted(options))}) -> y``: {name}.",
        options=sorted(options),
        label="Sequential",
        children=children,
        in_features=next((c.in_features for c in children[:1] if c.in_features is not None), None),
        out_features=next((c.out_features for c in reversed(children) if c.out_features is not None), None),
        torch=Torch(),
        chain=True,
        onnx=functools.partial(_chain_onnx, children),
    )
    _check_fit(children)
    return sequential


def _fold(
    children: Sequence[Layer], params: Sequence[Params], x: jax.Array, given: dict[str, Any], offset: int = 0
) -> Any:
    """Apply ``children`` in turn; each gets the options it takes, and its own share of ``given["key"]``.

    In training (``training=True``) with a child that has state, returns ``(y, new_state)`` instead of ``y``.
    """
    given = {name: value for name, value in given.items() if value is not None}
    collect = given.get("training") is True and any(child.stateful for child in children)
    states = []
    keyed = [i for i, child in enumerate(children) if child.takes_key]
    keys: dict[int, jax.Array] = {}
    if given.get("key") is not None and keyed:
        check_key(given["key"], "Sequential", where="apply")
        keys = dict(zip(keyed, jax.random.split(given["key"], len(keyed)), strict=True))
    for i, (child, child_params) in enumerate(zip(children, params, strict=True)):
        options = {name: value for name, value in given.items() if name in child.options and name != "key"}
        if i in keys:
            options["key"] = keys[i]
        try:
            out = child.raw_apply(child_params, x, **options)
        except (ShapeError, DTypeError) as error:
            raise error.within(f"Sequential[{i + offset}]") from None
        if collect:
            x, child_state = out if child.stateful else (out, no_state(child_params))
            states.append(child_state)
        else:
            x = out
    return (x, tuple(states)) if collect else x


def _check_fit(children: tuple[Layer, ...]) -> None:
    """Trace the layers from the first one with a known input size, to catch sizes that cannot fit."""
    first = next((i for i, child in enumerate(children) if child.in_features is not None), None)
    if first is None:
        return
    rest = children[first:]
    # One sample (in,): a mismatch then reads "expected (..., 64), got (128,)".
    example = jax.ShapeDtypeStruct((rest[0].in_features,), jnp.float32)

    def probe(key: jax.Array, x: jax.Array) -> jax.Array:
        keys = jax.random.split(key, len(rest))
        return _fold(rest, [child.init(keys[i]) for i, child in enumerate(rest)], x, {}, offset=first)

    try:
        jax.eval_shape(probe, jax.random.key(0), example)
    except (ShapeError, DTypeError):
        raise
    except Exception:
        return


def _is_user_pair(item: Any) -> bool:
    return len(item) == 2 and all(callable(f) and not isinstance(f, Layer) for f in item)


def _chain_onnx(children: tuple[Layer, ...], graph: Any, names: Sequence[Params], x: str) -> str:
    """ONNX nodes: each child's in turn (the exporter refuses a child without a mapping, by name)."""
    for child, child_names in zip(children, names, strict=True):
        x = graph.layer(child, child_names, x)
    return x
