"""The pair type: a layer is ``init(key) -> params`` and ``apply(params, x) -> y``, and it describes itself.

A :class:`Layer` carries the two pure functions and, as data, what tools need to know about it
(docs/architecture.md): a readable name, its configuration, its params each declared once
(:class:`Param`: shape, initializer, logical axes, torch's name and layout), its PyTorch
counterpart, its cost, its ONNX nodes, and for a combinator its children.
Tools read that description and never compare a layer's name or kind with a string. It unpacks
like a stax pair::

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

from tinyjax._checks import check_array_shape, check_input_array, check_key, check_no_params, check_shape_argument
from tinyjax._errors import ConfigError, DTypeError, KeyArgumentError, ParamsError

Params = Any
"""A pytree of arrays (``chex.ArrayTree``): a dict for a Linear, ``()`` for an activation, a tuple for a Sequential."""

InitFn = Callable[[jax.Array], Params]
ApplyFn = Callable[..., jax.Array]
FlopsFn = Callable[[Params, jax.ShapeDtypeStruct, jax.ShapeDtypeStruct], int]
"""``flops(params, x, y) -> int``: FLOPs of one call, from ``jax.ShapeDtypeStruct`` params, input, output."""
OnnxFn = Callable[[Any, Params, str], str]
"""``onnx(graph, param_names, x) -> y``: adds the layer's ONNX nodes through ``graph`` (the exporter's
builder: ``graph.node(op, inputs, **attributes) -> output name``, ``graph.constant(array) -> name``,
``graph.layer(child, child_param_names, x) -> name``); ``param_names`` is the params pytree with
each leaf replaced by its initializer's name. A layer never imports onnx: the builder is passed in."""

OPTIONS = ("key", "training", "precision")
"""The keyword options an ``apply`` may take, which a Sequential passes on to the layers that take them."""


TorchAxes = tuple[str | tuple[str, ...], ...]
"""Torch's axes of a param: logical axis names, or tuples of them for an axis torch merges."""

ParamInit = Callable[[jax.Array, tuple[int, ...], Any], jax.Array]
"""``init(key, shape, dtype) -> array``: a :mod:`tinyjax.initializers` initializer or a ``jax.nn.initializers`` one."""


@dataclasses.dataclass(frozen=True)
class Torch:
    """A layer's PyTorch counterpart, for :mod:`tinyjax.interop` and the oracle tests.

    Attributes:
      kwargs: its constructor arguments (``{"in_features": 784, "out_features": 128, "bias": True}``);
        None (the default) means the layer's ``config``.
      module: the class name in ``torch.nn``; empty (the default) means the layer's ``kind``.

    A Layer's ``torch`` has both filled in. How each param differs in torch (its name, axis order,
    dtype) is said by the param's :class:`Param`, where the param is declared.
    """

    kwargs: Mapping[str, Any] | None = None
    module: str = ""


@dataclasses.dataclass(frozen=True)
class ParamInfo:
    """What a layer says about one of its params (a leaf of :meth:`Layer.param_info`).

    Attributes:
      axes: logical axis names (``("in", "out")``), or None where the layer does not describe it.
      torch_name: the name of this param in the torch module (None: no torch counterpart known).
      torch_axes: the same logical axes in torch's order, a tuple of names standing for one torch axis
        that merges them (None: the same layout, or not described).
      state: whether it is state (BatchNorm's running statistics), updated by ``apply(...,
        training=True)`` and never trained: :func:`tinyjax.split_state` keeps it from the optimizer.
      torch_dtype: torch's dtype name where torch keeps it in another dtype (``"int64"``), else None.
    """

    axes: tuple[str, ...] | None = None
    torch_name: str | None = None
    torch_axes: TorchAxes | None = None
    state: bool = False
    torch_dtype: str | None = None

    def stacked(self, axis: str = "layers") -> ParamInfo:
        """The same param stacked on a new leading axis (a :func:`~tinyjax.Repeat` holds ``n`` copies)."""
        return dataclasses.replace(
            self,
            axes=None if self.axes is None else (axis, *self.axes),
            torch_axes=None if self.torch_axes is None else (axis, *self.torch_axes),
        )


def is_param_info(value: Any) -> bool:
    """``is_leaf`` for pytrees of :class:`ParamInfo` (so tree functions stop at them)."""
    return isinstance(value, ParamInfo)


@dataclasses.dataclass(frozen=True)
class Param:
    """One param, declared once where the layer is made: everything init, checks and tools need.

    ``Param((in, out), xavier_uniform, ("in", "out"), torch_axes=("out", "in"))`` is Linear's weight.

    Attributes:
      shape: its exact shape.
      init: ``init(key, shape, dtype) -> array`` (:data:`ParamInit`), or None where the layer's own
        ``init`` (``define(..., init=...)``) makes its params together (an int8 weight and its scale
        come from one float draw).
      axes: its logical axis names, one per axis (sharding and interop read them), or None.
      dtype: the dtype ``init`` makes (float32 by default; ``jnp.int8`` for a quantized weight). The
        trace-time check accepts any dtype of the same kind (a float32 param given as bfloat16 or
        float64 works; an int8 one given as int32 too) and refuses another kind.
      state: whether it is state, updated by ``apply(..., training=True)`` and never trained.
      torch_name: its name in the torch module where it differs (``"out_proj.weight"``).
      torch_axes: ``axes`` in torch's order where it differs (Linear's ``("out", "in")``); a tuple
        in place of a name is one torch axis merging several of ours, in that order.
      torch_dtype: torch's dtype name where torch keeps another dtype (``"int64"``).
    """

    shape: tuple[int, ...]
    init: ParamInit | None
    axes: tuple[str, ...] | None = None
    _: dataclasses.KW_ONLY
    dtype: Any = jnp.float32
    state: bool = False
    torch_name: str | None = None
    torch_axes: TorchAxes | None = None
    torch_dtype: str | None = None

    def info(self, name: str, torch: bool) -> ParamInfo:
        """Its :class:`ParamInfo` as param ``name`` of a layer with (``torch``) or without a torch counterpart."""
        if not torch:
            return ParamInfo(self.axes, state=self.state)
        torch_axes = self.torch_axes if self.torch_axes is not None else self.axes
        return ParamInfo(self.axes, self.torch_name or name, torch_axes, self.state, self.torch_dtype)

    def check(self, value: Any, layer: str, what: str) -> None:
        """Raise ParamsError unless ``value`` has this shape, DTypeError unless its dtype is of this kind."""
        check_array_shape(value, self.shape, layer, what)
        kind = next((k for k in _KINDS if jnp.issubdtype(self.dtype, k)), self.dtype)
        if not jnp.issubdtype(value.dtype, kind):
            convert = "jax.tree.map(lambda a: a.astype(jnp.float32), params)"
            advice = (
                f"weights must be floating-point; convert them with {convert}"
                if kind is jnp.floating
                else f"expected {jnp.dtype(self.dtype)} (or another dtype of its kind); convert it with .astype"
            )
            raise DTypeError(layer, f"{what} is {value.dtype}: {advice}")


_KINDS = (jnp.floating, jnp.signedinteger, jnp.unsignedinteger, jnp.complexfloating)


def check_params(params: Params, specs: Mapping[str, Param | Layer], layer: str) -> None:
    """The one trace-time check of a layer's declared params: structure, then each param's shape and dtype.

    ``specs`` empty: ``params`` must be empty (``()``). Otherwise a dict with exactly ``specs``' names;
    a sub-layer's entry is checked by that layer's own apply. Errors name ``layer`` and both shapes.
    """
    if not specs:
        check_no_params(params, layer)
        return
    if not isinstance(params, Mapping) or set(params) != set(specs):
        got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        shown = ", ".join(f"'{k}': {v.shape if isinstance(v, Param) else v.name}" for k, v in specs.items())
        hint = "These params belong to another layer"
        raise ParamsError(layer, f"a dict {{{shown}}}", got, what="params", hint=hint)
    for name, spec in specs.items():
        if isinstance(spec, Param):
            spec.check(params[name], layer, f"params['{name}']")


def _split(key: jax.Array, count: int) -> Sequence[jax.Array]:
    """One key per declared entry: the key itself for one (as a lone ``jax.random`` call would use it)."""
    return [key] if count == 1 else list(jax.random.split(key, count))


def _declared_init(specs: Mapping[str, Param | Layer]) -> InitFn:
    def init(key: jax.Array) -> Params:
        if not specs:
            return ()
        keys = _split(key, len(specs))
        return {
            name: spec.init(k) if isinstance(spec, Layer) else spec.init(k, spec.shape, spec.dtype)  # type: ignore[misc]
            for (name, spec), k in zip(specs.items(), keys, strict=True)
        }

    return init


def _checked_apply(apply: ApplyFn, specs: Mapping[str, Param | Layer], name: str) -> ApplyFn:
    @functools.wraps(apply)
    def checked(params: Params, x: Any, **options: Any) -> Any:
        check_params(params, specs, name)
        return apply(params, x, **options)

    return checked


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Layer:
    """A pure ``(init, apply)`` pair with its description.

    Attributes:
      name: readable description, e.g. ``"Linear(784 -> 128)"``.
      init: ``init(key) -> params``; ``key`` is one ``jax.random`` key. jit-compiled.
      apply: ``apply(params, x, **options) -> y``. jit-compiled: an eager call runs one XLA
        program, and under a caller's ``jax.jit`` it is inlined. ``help(layer.apply)`` gives its shapes.
      raw_apply: the same function before ``jax.jit``: what combinators compose. Shape and
        dtype checks run in it at trace time only.
      kind: the layer's family (``"Linear"``, ``"ReLU"``, ``"Sequential"``, ``"pair"``...), for people.
      config: the constructor arguments (sizes, options).
      specs: the declared params of a layer whose params are a dict (:class:`Param` or sub-layer
        entries): init, the trace-time check and :meth:`param_info` come from them.
      children: the layers a combinator holds (empty for a leaf).
      options: the keyword options ``apply`` takes, among :data:`OPTIONS`.
      in_features / out_features: the last-axis sizes, where the layer fixes them.
      torch: the PyTorch counterpart (:class:`Torch`), or None.
      flops: the layer's FLOPs for an input (:data:`FlopsFn`), or None: tools then ask XLA.
      onnx: the layer's ONNX nodes (:data:`OnnxFn`), or None: the ONNX exporter then refuses it.
      chain: a combinator whose params are a sequence, one entry per child, applied one after another.
      info: for a combinator that is neither declared nor a chain, :meth:`param_info` from its children's.
    """

    name: str
    init: InitFn
    apply: ApplyFn
    raw_apply: ApplyFn
    kind: str = "pair"
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    specs: Mapping[str, Param | Layer] | None = None
    children: tuple[Layer, ...] = ()
    options: frozenset[str] = frozenset()
    in_features: int | None = None
    out_features: int | None = None
    torch: Torch | None = None
    flops: FlopsFn | None = None
    onnx: OnnxFn | None = None
    chain: bool = False
    info: Callable[[], Params] | None = None

    def __iter__(self) -> Iterator[Callable[..., Any]]:
        yield self.init
        yield self.apply

    def __repr__(self) -> str:
        return self.name

    @property
    def state(self) -> tuple[str, ...]:
        """The names of the declared params that are state (BatchNorm's running statistics)."""
        specs = self.specs or {}
        return tuple(name for name, spec in specs.items() if isinstance(spec, Param) and spec.state)

    @property
    def takes_key(self) -> bool:
        """Whether ``apply`` takes a ``key=`` (Dropout, and the combinators holding one)."""
        return "key" in self.options

    @property
    def stateful(self) -> bool:
        """Whether some params are state: ``apply(params, x, training=True)`` then returns ``(y, new_state)``."""
        return bool(self.state) or any(child.stateful for child in self.children)

    def param_shapes(self) -> Params:
        """The params pytree as ``jax.ShapeDtypeStruct`` leaves, computed without any FLOPs."""
        return jax.eval_shape(self.init, jax.random.key(0))

    def check_structure(self, params: Params) -> None:
        """Refuse params whose tree or leaf shapes are not this layer's (ParamsError naming the layer).

        A check before any call, for code that holds params apart from ``apply`` (the OOP face's
        ``from_functional``); ``apply`` checks its own params at trace time.
        """
        expected = self.param_shapes()
        if str(jax.tree_util.tree_structure(params)) != str(jax.tree_util.tree_structure(expected)):
            if isinstance(expected, Mapping) and isinstance(params, Mapping):
                raise ParamsError(self.name, f"a dict with {sorted(expected)}", sorted(params), what="params")
            shown = jax.tree_util.tree_map(lambda a: tuple(a.shape), expected)
            raise ParamsError(self.name, shown, type(params).__name__, what="params")
        paths = jax.tree_util.tree_flatten_with_path(expected)[0]
        for (path, want), got in zip(paths, jax.tree_util.tree_leaves(params), strict=True):
            if tuple(getattr(got, "shape", ())) != tuple(want.shape):
                where = "params" + jax.tree_util.keystr(path)
                raise ParamsError(self.name, tuple(want.shape), tuple(getattr(got, "shape", ())), what=where)

    def output_shape(self, input_shape: Sequence[int], dtype: Any = jnp.float32) -> tuple[int, ...]:
        """Shape of ``apply(params, x)`` for ``x`` of ``input_shape``, computed without any FLOPs."""
        x = jax.ShapeDtypeStruct(check_shape_argument(input_shape, "input_shape", f"{self.name}.output_shape"), dtype)
        out = jax.eval_shape(self.raw_apply, self.param_shapes(), x)
        return tuple(out.shape)

    def param_info(self) -> Params:
        """A pytree shaped like the params whose leaves are :class:`ParamInfo`: axes and torch names.

        Declared params give their :class:`Param`'s (a sub-layer entry its own ``param_info``); a
        chain gives its children's, in a tuple; another combinator its ``info``; a param nobody
        describes gets ``ParamInfo()`` (tools fall back: replicate it, copy it to torch as it is).
        """
        if self.specs:
            torch = self.torch is not None
            return {
                name: spec.param_info() if isinstance(spec, Layer) else spec.info(name, torch)
                for name, spec in self.specs.items()
            }
        if self.chain:
            return tuple(child.param_info() for child in self.children)
        if self.info is not None:
            return self.info()
        return jax.tree_util.tree_map(lambda _: ParamInfo(), self.param_shapes())


def define(
    name: str,
    apply: ApplyFn,
    *,
    params: Mapping[str, Param | Layer] | None = None,
    init: InitFn | None = None,
    config: Mapping[str, Any] | None = None,
    torch: Torch | None = None,
    flops: FlopsFn | None = None,
    onnx: OnnxFn | None = None,
    options: Sequence[str] = (),
    doc: str | None = None,
    in_features: int | None = None,
    out_features: int | None = None,
    children: Sequence[Layer] = (),
    chain: bool = False,
    info: Callable[[], Params] | None = None,
    kind: str | None = None,
    label: str | None = None,
) -> Layer:
    """Build a :class:`Layer` from its readable name, a raw (trace-time checked) ``apply`` and its description.

    Args:
      name: how the layer reads (``"Linear(784 -> 128)"``); its ``kind`` is the text before ``(``
        unless ``kind`` is given (a Lambda with a name of the user's).
      apply: ``apply(params, x, **options) -> y``, checking ``x`` at trace time and doing the math.
      params: the declared params, each once: ``{"weight": Param(...), "bias": Param(...)}``, or
        sub-layers as entries (``{"norm1": LayerNorm(8), ...}``). From them come ``init`` (the key
        split one subkey per entry in order; one entry gets the key itself), the one trace-time params
        check in front of ``apply`` (structure, shapes, dtype kinds; errors name the layer and both
        shapes) and :meth:`Layer.param_info`. None and no ``init``: no params (``()``, checked).
      init: ``init(key) -> params``. Without ``params``: a combinator whose params are not a dict of
        declared entries (Sequential's tuple, Repeat's stacked copies), unchecked; the combinator
        checks its own structure and its children theirs. With ``params``: the declared params made
        together (a quantized weight and its scale from one float draw), checked as declared.
      config: the constructor arguments, as the OOP face rebuilds the layer from them.
      torch: the ``torch.nn`` counterpart: ``Torch()`` is the module named ``kind`` taking ``config``;
        ``Torch(kwargs)`` or ``Torch(kwargs, module)`` where they differ; None: there is none.
      flops: ``flops(params, x, y) -> int`` counted as XLA counts, or None (tools ask XLA).
      onnx: the ONNX nodes (:data:`OnnxFn`), or None (the ONNX exporter refuses the layer).
      options: the keyword options ``apply`` takes, among :data:`OPTIONS`; ``key`` aside, they are static.
      doc: ``help(layer.apply)``'s text.
      in_features, out_features: the last-axis sizes where the layer fixes them (Sequential checks fits).
      children, chain, info: a combinator's layers; ``chain``: its params are a tuple, one entry per
        child in order; ``info``: otherwise, how its ``param_info`` comes from its children's.
      kind, label: the family name (default: ``name`` before ``(``) and the name key errors use.

    ``init`` gets a key check in front of it and is jit-compiled; ``apply`` is jit-compiled with
    ``training`` and ``precision`` static, and its input converted first when it is not an array
    (a list works as an array would; None or a string is refused with DTypeError).
    """
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise ConfigError(f"unknown apply options {sorted(unknown)}; known: {OPTIONS}")
    kind = kind or name.partition("(")[0]
    specs: Mapping[str, Param | Layer] | None = None
    if init is None or params is not None:
        specs = dict(params or {})
        if init is None and any(isinstance(s, Param) and s.init is None for s in specs.values()):
            raise ConfigError(f"{name}: a param declared without an initializer needs the layer's own init")
        init, apply = init or _declared_init(specs), _checked_apply(apply, specs, name)
        children = tuple(children) + tuple(s for s in specs.values() if isinstance(s, Layer))
    compiled_init = jax.jit(init)

    def checked_init(key: jax.Array) -> Params:
        check_key(key, label or name)
        return compiled_init(key)

    checked_init.__doc__ = f"Params of {name} from one jax.random key."
    compiled_apply = jit_apply(
        apply, name, static_argnames=tuple(o for o in options if o != "key"), doc=doc, options=options
    )
    return Layer(
        name=name,
        init=checked_init,
        apply=compiled_apply,
        raw_apply=apply,
        kind=kind,
        config=dict(config or {}),
        specs=specs,
        children=tuple(children),
        options=frozenset(options),
        in_features=in_features,
        out_features=out_features,
        torch=None
        if torch is None
        else Torch(dict(config or {}) if torch.kwargs is None else torch.kwargs, torch.module or kind),
        flops=flops,
        onnx=onnx,
        chain=chain,
        info=info,
    )


def jit_apply(
    apply: ApplyFn,
    name: str,
    *,
    static_argnames: Sequence[str] = (),
    doc: str | None = None,
    options: Sequence[str] | None = None,
) -> ApplyFn:
    """``jax.jit(apply)`` behind a check of ``x``: a list works as an array would, None or a string is refused.

    ``options``: the keyword options the caller may give (``static_argnames`` by default); any other
    keyword (a typo such as ``trainig=True``, an option no layer inside takes, an internal argument)
    raises :class:`~tinyjax.ConfigError` naming it and the options taken, and ``help()`` shows only these.
    A ``key=`` is the exception: a layer without randomness ignores it (a training loop may pass one to any model).
    ``doc`` becomes the function's ``__doc__`` (what ``help(layer.apply)`` shows); the ``jax.jit``
    function itself is its ``jitted`` attribute (``layer.apply.jitted.lower(params, x)``).
    """
    jitted = jax.jit(apply, static_argnames=tuple(static_argnames))
    signature, taken = _public_signature(apply, static_argnames if options is None else options, only=options is None)

    @functools.wraps(apply)
    def compiled_apply(params: Params, x: Any, **options: Any) -> jax.Array:
        if taken is not None:
            if "key" in options and "key" not in taken:
                options.pop("key")  # no randomness inside: a key is ignored, as in inference
            unknown = sorted(set(options) - set(taken))
            if unknown:
                listed = ", ".join(f"{o}=" for o in taken) or "no options"
                raise ConfigError(
                    f"{name}.apply got the option {unknown[0]}=, which it does not take; it takes {listed}"
                )
        if not isinstance(x, jax.Array):
            x = check_input_array(x, name, params)
        return jitted(params, x, **options)

    compiled_apply.__doc__ = doc or apply.__doc__
    if signature is not None:
        compiled_apply.__signature__ = signature  # type: ignore[attr-defined]  # help() without internal keywords
    compiled_apply.jitted = jitted  # type: ignore[attr-defined]  # jax.jit's own function: .lower(), .trace()
    return compiled_apply


def _public_signature(
    apply: ApplyFn, options: Sequence[str], only: bool = False
) -> tuple[inspect.Signature | None, tuple[str, ...] | None]:
    """``apply``'s signature without the keywords a factory bound (``functools.partial``), and the keywords left.

    ``only``: the keywords are ``options`` alone (a module-level apply whose other keywords are internal).
    ``(None, None)`` when it cannot be read or takes ``**kwargs``: then every keyword is passed on.
    """
    try:
        signature = inspect.signature(apply)
    except (TypeError, ValueError):
        return None, None
    bound = set(getattr(inspect.unwrap(apply), "keywords", None) or ())  # behind define's params check
    parameters = list(signature.parameters.values())
    rest = [p for p in parameters[2:] if p.name not in bound and (not only or p.name in options)]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in rest):
        return None, None
    taken = tuple(sorted(set(options) | {p.name for p in rest if p.kind is not inspect.Parameter.VAR_POSITIONAL}))
    return signature.replace(parameters=parameters[:2] + rest), taken


def check_training(training: bool | None, key: Any, layer: str) -> bool:
    """Whether a layer with randomness runs in training mode: ``training``, or (None) whether a key came.

    ``training=True`` with no key raises :class:`~tinyjax.KeyArgumentError` (randomness would silently
    be missing); ``training=False`` ignores any key.
    """
    if training is None:
        return key is not None
    if not isinstance(training, bool):
        raise ConfigError(f"{layer}: training must be True, False or None, got {training!r}")
    if training and key is None:
        raise KeyArgumentError(
            f"{layer}.apply: training=True needs a key for its randomness; pass key=jax.random.key(...) "
            "(or training=False for inference)"
        )
    return training


def block_signature(options: frozenset[str] | Sequence[str]) -> inspect.Signature:
    """``(params, x, *, <options>=None)``: a combinator's apply signature (jax.jit finds static options in it)."""
    positional = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in ("params", "x")]
    keywords = [inspect.Parameter(o, inspect.Parameter.KEYWORD_ONLY, default=None) for o in sorted(options)]
    return inspect.Signature(positional + keywords)


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


def factory(fn: F) -> F:
    """Mark a public layer factory (``tj.Linear``, ``tj.Sequential``...): the conformance table must list it."""
    fn.__tinyjax_layer__ = True  # type: ignore[attr-defined]
    return fn


def is_factory(obj: Any) -> bool:
    """Whether ``obj`` is a public layer factory (see :func:`factory`)."""
    return bool(getattr(obj, "__tinyjax_layer__", False))


def as_layer(obj: Any, *, takes_key: bool = False) -> Layer:
    """Return ``obj`` as a Layer: a Layer as it is, a user's ``(init, apply)`` pair wrapped, a function as a Lambda.

    A user pair is ``init(key) -> params`` and ``apply(params, x) -> y``, both pure; with
    ``takes_key=True`` its apply is called as ``apply(params, x, key=key)`` with its share of the
    key a Sequential is given (and ``key=None`` in inference). A plain function ``fn(x) -> y``
    (``jax.nn.relu``) becomes ``Lambda(fn)``.
    """
    if isinstance(obj, Layer):
        return obj
    if isinstance(obj, (tuple, list)) and len(obj) == 2 and all(callable(f) for f in obj):
        init, apply = obj
        name = getattr(apply, "__name__", "apply")
        if not takes_key:
            return define(f"pair({name})", apply, init=init)

        def keyed_apply(params: Params, x: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
            return apply(params, x, key=key)

        return define(f"pair({name})", keyed_apply, init=init, options=("key",), doc=apply.__doc__)
    if callable(obj) and not isinstance(obj, (tuple, list)):
        return Lambda(obj, takes_key=takes_key)
    raise ConfigError(
        f"expected a tinyjax Layer, an (init, apply) pair of functions or a function, got {type(obj).__name__}: {obj!r}"
    )


@factory
def Lambda(fn: Callable[..., jax.Array], *, takes_key: bool = False, name: str | None = None) -> Layer:
    """A parameter-free layer from a function: ``Lambda(jax.nn.relu)``, ``Lambda(lambda x: x[:, :10])``.

    Args:
      fn: ``fn(x) -> y``, pure and traceable by jax; with ``takes_key``, ``fn(x, key) -> y``, called
        with the key share a Sequential gives it (``key=None`` in inference).
      takes_key: whether ``fn`` takes a key.
      name: how the layer reads in summaries and errors (``Lambda(<fn name>)`` by default).

    Params are ``()``. The layer knows nothing of ``fn``'s shapes, so tools ask XLA for its cost.
    A bare function inside :func:`~tinyjax.Sequential` is wrapped in a Lambda automatically.
    """
    if not callable(fn):
        raise ConfigError(f"Lambda takes a function, got {type(fn).__name__}: {fn!r}")
    label = name or f"Lambda({getattr(fn, '__name__', type(fn).__name__)})"
    if takes_key:

        def keyed(params: Params, x: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
            return fn(x, key)

        return define(label, keyed, options=("key",), doc=fn.__doc__, kind="Lambda")

    def plain(params: Params, x: jax.Array) -> jax.Array:
        return fn(x)

    return define(label, plain, doc=fn.__doc__, kind="Lambda")
