"""The pair type: a layer is ``init(key) -> params`` and ``apply(params, x) -> y``.

A :class:`Layer` carries the two pure functions plus what tools need to describe it
(a readable name, its kind, its configuration, its children). It unpacks like a
stax pair::

    init, apply = tinyjax.Linear(784, 128)
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from tinyjax._checks import check_key
from tinyjax._errors import ConfigError

Params = Any
"""A pytree of arrays: a dict for a Linear, ``()`` for an activation, a tuple for a Sequential."""

InitFn = Callable[[jax.Array], Params]
ApplyFn = Callable[..., jax.Array]


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Layer:
    """A pure ``(init, apply)`` pair with metadata.

    Attributes:
      name: readable description, e.g. ``"Linear(784 -> 128)"``.
      init: ``init(key) -> params``; ``key`` is one ``jax.random`` key. jit-compiled.
      apply: ``apply(params, x, **options) -> y``. jit-compiled: an eager call runs one XLA
        program, and under a caller's ``jax.jit`` it is inlined.
      raw_apply: the same function before ``jax.jit``: what combinators compose. Shape and
        dtype checks run in it at trace time only.
      kind: the layer's family (``"Linear"``, ``"ReLU"``, ``"Sequential"``, ``"pair"``...).
      config: the constructor arguments (sizes, options), for tools such as summaries.
      children: the layers a combinator holds (empty for a leaf).
      takes_key: whether ``apply`` accepts a ``key=`` keyword (Dropout does).
      in_features / out_features: the last-axis sizes, where the layer fixes them.
    """

    name: str
    init: InitFn
    apply: ApplyFn
    raw_apply: ApplyFn
    kind: str = "pair"
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    children: tuple[Layer, ...] = ()
    takes_key: bool = False
    in_features: int | None = None
    out_features: int | None = None

    def __iter__(self) -> Iterator[Callable[..., Any]]:
        yield self.init
        yield self.apply

    def __repr__(self) -> str:
        return self.name

    def param_shapes(self) -> Params:
        """The params pytree as ``jax.ShapeDtypeStruct`` leaves, computed without any FLOPs."""
        return jax.eval_shape(self.init, jax.random.key(0))

    def output_shape(self, input_shape: Sequence[int], dtype: Any = jnp.float32) -> tuple[int, ...]:
        """Shape of ``apply(params, x)`` for ``x`` of ``input_shape``, computed without any FLOPs."""
        x = jax.ShapeDtypeStruct(tuple(input_shape), dtype)
        out = jax.eval_shape(self.raw_apply, self.param_shapes(), x)
        return tuple(out.shape)


def define(
    kind: str,
    name: str,
    init: InitFn,
    apply: ApplyFn,
    *,
    config: Mapping[str, Any] | None = None,
    children: tuple[Layer, ...] = (),
    takes_key: bool = False,
    in_features: int | None = None,
    out_features: int | None = None,
    static_argnames: Sequence[str] = (),
    label: str | None = None,
) -> Layer:
    """Build a :class:`Layer` from an unchecked ``init`` and a raw ``apply``.

    ``init`` gets a key check in front of it and is jit-compiled; ``apply`` is jit-compiled
    with ``static_argnames`` (options such as ``precision``) kept static. ``label`` names the
    layer in error messages (``name`` by default).
    """
    compiled_init = jax.jit(init)

    def checked_init(key: jax.Array) -> Params:
        check_key(key, label or name)
        return compiled_init(key)

    checked_init.__doc__ = f"Params of {name} from one jax.random key."
    return Layer(
        name=name,
        init=checked_init,
        apply=jax.jit(apply, static_argnames=tuple(static_argnames)),
        raw_apply=apply,
        kind=kind,
        config=dict(config or {}),
        children=children,
        takes_key=takes_key,
        in_features=in_features,
        out_features=out_features,
    )


F = TypeVar("F", bound=Callable[..., Layer])


def cached(factory: F) -> F:
    """Memoise a layer factory: the same arguments give the very same Layer.

    Layers are immutable, so sharing them is safe, and it means that ``Linear(784, 128)`` built
    twice (in two models, or in 64 OOP objects) reuses one set of jit-compiled functions instead
    of compiling its own. Arguments are matched after defaults are filled in and by type as well
    as value (``2`` and ``2.0`` differ); arguments that cannot be hashed build an uncached Layer.
    """
    signature = inspect.signature(factory)
    memo: collections.OrderedDict[Any, Layer] = collections.OrderedDict()

    @functools.wraps(factory)
    def build(*args: Any, **kwargs: Any) -> Layer:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        key = tuple((name, type(value), value) for name, value in bound.arguments.items())
        try:
            hash(key)
        except TypeError:
            return factory(*args, **kwargs)
        if key not in memo:
            memo[key] = factory(*args, **kwargs)
            if len(memo) > _CACHE_SIZE:
                memo.popitem(last=False)
        return memo[key]

    return build  # type: ignore[return-value]


_CACHE_SIZE = 1024


def as_layer(obj: Any) -> Layer:
    """Return ``obj`` as a Layer: a Layer as it is, or a user's ``(init, apply)`` pair wrapped.

    A user pair is ``init(key) -> params`` and ``apply(params, x) -> y``, both pure.
    """
    if isinstance(obj, Layer):
        return obj
    if isinstance(obj, (tuple, list)) and len(obj) == 2 and all(callable(f) for f in obj):
        init, apply = obj
        name = getattr(apply, "__name__", "apply")
        return define("pair", f"pair({name})", init, apply)
    raise ConfigError(
        f"expected a tinyjax Layer or an (init, apply) pair of functions, got {type(obj).__name__}: {obj!r}"
    )
