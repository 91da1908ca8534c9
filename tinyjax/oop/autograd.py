"""The OOP face's tape: every operation on a Tensor that requires grad records one ``jax.vjp``.

``apply(fn, args)`` runs ``fn(*args)`` where ``args`` is a pytree whose leaves may be Tensors.
When no Tensor in it requires grad, ``fn`` simply runs. Otherwise one jit-compiled program runs
``jax.vjp`` of ``fn`` with respect to the Tensors that require grad, and the result Tensor keeps a
:class:`Node`: those Tensors and the VJP (a pytree holding the residuals the backward pass needs).
A layer's ``forward`` passes its functional ``apply`` as ``fn``, so one layer call is one node.

``backward(root, seed)`` walks the recorded graph from ``root`` in reverse topological order,
calls each node's VJP once with the sum of the cotangents that reached it, and adds the result to
``.grad`` of every Tensor that requires grad (gradients of a Tensor used twice add up).
No derivative is written by hand: every one comes from ``jax.vjp``. Inside ``with no_grad():``
nothing is recorded (inference: no residuals kept, no VJP computed), as in PyTorch.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, Self

import jax

__all__ = ["Function", "Node", "Variable", "apply", "apply_with_aux", "backward", "no_grad", "register_grad_fn"]


class _Mode(threading.local):
    recording = True


_mode = _Mode()


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Record nothing inside (inference): results do not require grad, ``backward()`` cannot reach them."""
    previous, _mode.recording = _mode.recording, False
    try:
        yield
    finally:
        _mode.recording = previous


class Function:
    """TinyTorch's graph node (``tensor._grad_fn``): what one recorded operation needs for backward.

    Attributes:
      saved_tensors: the operation's inputs, as given (TinyTorch's name).
      parents: those of them that require grad: ``backward()`` sends each its share of the gradient.
      next_functions: the parents' own nodes (the graph's edges), as in TinyTorch.

    ``apply(grad_output)`` returns one gradient per differentiable input (None where it does not
    require grad), as TinyTorch's classes do. Every gradient is ``jax.vjp`` of the operation: the
    tape builds a node with the pullback of the compiled call it ran (one per op or layer call); a
    subclass built directly, as TinyTorch's tests build ``MulBackward(a, b)``, names the operation
    in :meth:`op` and its differentiable inputs in :attr:`inputs`.
    """

    def __init__(self, *tensors: Any) -> None:
        self.saved_tensors = tensors
        self.inputs: tuple[Any, ...] = tensors
        self.parents = tuple(t for t in tensors if isinstance(t, Variable) and t.requires_grad)
        self.pullback: Callable[[jax.Array], Sequence[jax.Array]] | None = None

    @classmethod
    def recorded(
        cls, saved: tuple[Any, ...], parents: tuple[Variable, ...], pullback: Callable[[jax.Array], Sequence[jax.Array]]
    ) -> Function:
        """The node the tape keeps for one call: ``parents`` receive ``pullback(g)``, in order."""
        node = cls.__new__(cls)
        node.saved_tensors, node.inputs, node.parents, node.pullback = saved, parents, parents, pullback
        return node

    @property
    def next_functions(self) -> list[Function]:
        return [t.node for t in self.parents if t.node is not None]

    op: Callable[..., jax.Array]
    """The forward operation on the arrays of :attr:`inputs` (what :meth:`apply` differentiates)."""

    def parent_grads(self, grad_output: jax.Array) -> Sequence[jax.Array]:
        """The gradient of each of :attr:`parents`, in order (what ``backward()`` adds into them)."""
        if self.pullback is not None:
            return self.pullback(grad_output)
        if not hasattr(self, "op"):
            raise NotImplementedError(f"{type(self).__name__} must define apply(grad_output) or op(*arrays)")
        mask = [isinstance(t, Variable) and t.requires_grad for t in self.inputs]
        values = [t.array if isinstance(t, Variable) else jax.numpy.asarray(t) for t in self.inputs]
        diff = [v for v, m in zip(values, mask, strict=True) if m]
        rest = [v for v, m in zip(values, mask, strict=True) if not m]
        _, vjp = jax.vjp(lambda *d: self.op(*_merge(tuple(mask), d, rest)), *diff)
        return vjp(jax.numpy.asarray(grad_output, values[0].dtype if values else None))

    def apply(self, grad_output: Any) -> tuple[Any, ...]:
        """One gradient per differentiable input (``None`` for one that does not require grad)."""
        grads = iter(self.parent_grads(getattr(grad_output, "array", grad_output)))
        return tuple(next(grads) if isinstance(t, Variable) and t.requires_grad else None for t in self.inputs)


Node = Function  # the tape's name for a graph node


class Variable:
    """What the tape knows of a value: its array, its node, whether it requires grad, its gradient.

    :class:`~tinyjax.oop.Tensor` is a Variable with arithmetic; the results of a recorded call are
    built as the class of its first Variable operand, so the tape never imports the Tensor.
    """

    __slots__ = ("_grad", "array", "node", "requires_grad")

    array: jax.Array
    node: Function | None
    requires_grad: bool
    _grad: Any

    @property
    def _grad_fn(self) -> Function | None:
        """TinyTorch's name for the node that made this value (None for a leaf)."""
        return self.node

    @_grad_fn.setter
    def _grad_fn(self, node: Function | None) -> None:
        self.node = node

    @classmethod
    def wrap(cls, array: jax.Array, node: Function | None = None, requires_grad: bool | None = None) -> Self:
        """A value over ``array`` as it is (its dtype kept, no copy): how operations and modules build them."""
        value = cls.__new__(cls)
        value.array = array
        value.node = node
        value.requires_grad = node is not None if requires_grad is None else requires_grad
        value._grad = None
        return value

    def accumulate_grad(self, grad: jax.Array) -> None:
        """``.grad += grad`` (``.grad = grad`` the first time); ignored unless ``requires_grad``."""
        if not self.requires_grad:
            return
        if self._grad is None:
            self._grad = type(self).wrap(grad)
        else:
            self._grad.array = self._grad.array + grad


def _merge(mask: tuple[bool, ...], diff: Sequence[Any], rest: Sequence[Any]) -> list[Any]:
    diff_iter, rest_iter = iter(diff), iter(rest)
    return [next(diff_iter) if m else next(rest_iter) for m in mask]


def _call(fn: Callable[..., Any], treedef: Any, static: tuple[tuple[str, Hashable], ...], leaves: list[Any]) -> Any:
    args, kwargs = jax.tree_util.tree_unflatten(treedef, leaves)
    return fn(*args, **kwargs, **dict(static))


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 6))
def _forward(
    fn: Callable[..., Any],
    treedef: Any,
    static: tuple[tuple[str, Hashable], ...],
    mask: tuple[bool, ...],
    diff: tuple[jax.Array, ...],
    rest: tuple[Any, ...],
    has_aux: bool = False,
) -> Any:
    """``fn``'s output, its VJP with respect to ``diff``, and its aux output when ``has_aux``.

    One compiled program per op, shape and mask.
    """

    def call(*d: jax.Array) -> Any:
        return _call(fn, treedef, static, _merge(mask, d, rest))

    return jax.vjp(call, *diff, has_aux=True) if has_aux else jax.vjp(call, *diff)


@jax.jit
def _pullback(vjp: Any, cotangent: jax.Array) -> tuple[jax.Array, ...]:
    return tuple(vjp(cotangent))


def apply(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None = None,
    *,
    grad_fn: type[Function] | None = None,
    **static: Any,
) -> Any:
    """``Tensor(fn(*args, **kwargs, **static))``, recording one node when a Tensor in ``args`` requires grad.

    ``args`` and ``kwargs`` are pytrees whose leaves are Tensors, arrays or Python scalars;
    ``static`` holds hashable options (an axis, a shape). ``fn`` must be a stable object (a
    module-level function, a layer's ``apply``): it keys the compilation cache. The node is a
    ``grad_fn`` (TinyTorch's class for the op: ``MulBackward``), by default the class registered
    for ``fn`` (:func:`register_grad_fn`) or one named after it.
    """
    return _record(fn, args, kwargs, static, has_aux=False, grad_fn=grad_fn)[0]


def apply_with_aux(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None = None,
    *,
    grad_fn: type[Function] | None = None,
    **static: Any,
) -> tuple[Any, Any]:
    """:func:`apply` for an ``fn`` that returns ``(y, aux)``: ``(Tensor(y) on the tape, aux as it is)``.

    ``aux`` is not differentiated (BatchNorm's new running statistics from a training call): one
    call of ``fn`` gives both, where asking for each separately would run it twice.
    """
    return _record(fn, args, kwargs, static, has_aux=True, grad_fn=grad_fn)


_GRAD_FNS: dict[Any, type[Function]] = {}


def register_grad_fn(fn: Callable[..., Any], cls: type[Function]) -> None:
    """Record ``fn``'s calls with nodes of class ``cls`` (TinyTorch's name for the op)."""
    _GRAD_FNS[fn] = cls


def grad_fn_for(fn: Callable[..., Any]) -> type[Function]:
    """The node class for ``fn``: the registered one, else a ``Function`` named after ``fn`` (``ExpBackward``)."""
    cls = _GRAD_FNS.get(fn)
    if cls is None:
        name = getattr(fn, "__name__", "Op").strip("_").title().replace("_", "")
        cls = _GRAD_FNS[fn] = type(f"{name}Backward", (Function,), {"__module__": __name__})
    return cls


def _record(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None,
    static: dict[str, Any],
    has_aux: bool,
    grad_fn: type[Function] | None,
) -> tuple[Any, Any]:
    leaves, treedef = jax.tree_util.tree_flatten((args, kwargs or {}))
    Tensor = next(type(leaf) for leaf in leaves if isinstance(leaf, Variable))  # noqa: N806  (the result class)
    values = [leaf.array if isinstance(leaf, Variable) else leaf for leaf in leaves]
    mask = tuple(isinstance(leaf, Variable) and leaf.requires_grad and _mode.recording for leaf in leaves)
    frozen = tuple(sorted(static.items()))
    if not any(mask):
        out = _call(fn, treedef, frozen, values)
        y, aux = out if has_aux else (out, None)
        return Tensor.wrap(y), aux
    diff = tuple(v for v, m in zip(values, mask, strict=True) if m)
    rest = tuple(v for v, m in zip(values, mask, strict=True) if not m)
    out, vjp, *aux = _forward(fn, treedef, frozen, mask, diff, rest, has_aux)
    parents = tuple(leaf for leaf, m in zip(leaves, mask, strict=True) if m)
    saved = tuple(leaf for leaf in leaves if isinstance(leaf, Variable))
    node = (grad_fn or grad_fn_for(fn)).recorded(saved, parents, lambda g: _pullback(vjp, g))
    return Tensor.wrap(out, node), (aux[0] if has_aux else None)


def apply_eager(fn: Callable[[jax.Array], jax.Array], tensor: Variable) -> Any:
    """``fn(tensor)`` with an uncompiled ``jax.vjp``: for closures (an index) that cannot key a cache.

    Its node is the class registered for ``apply_eager`` itself (TinyTorch's ``SliceBackward``).
    """
    if not (tensor.requires_grad and _mode.recording):
        return type(tensor).wrap(fn(tensor.array))
    out, vjp = jax.vjp(fn, tensor.array)
    return type(tensor).wrap(out, _GRAD_FNS.get(apply_eager, Function).recorded((tensor,), (tensor,), vjp))


def _topological(root: Variable) -> list[Variable]:
    """Every Tensor that ``root`` depends on through recorded nodes, ``root`` last."""
    order: list[Variable] = []
    seen: set[int] = set()
    stack: list[tuple[Variable, bool]] = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        if tensor.node is not None:
            stack.extend((parent, False) for parent in tensor.node.parents if id(parent) not in seen)
    return order


def backward(root: Variable, seed: jax.Array) -> None:
    """Propagate ``seed`` (the cotangent of ``root``, its shape) back through the recorded graph."""
    cotangents: dict[int, jax.Array] = {id(root): seed}
    for tensor in reversed(_topological(root)):
        grad = cotangents.pop(id(tensor), None)
        if grad is None:
            continue
        tensor.accumulate_grad(grad)
        if tensor.node is None:
            continue
        for parent, parent_grad in zip(tensor.node.parents, tensor.node.parent_grads(grad), strict=True):
            previous = cotangents.get(id(parent))
            cotangents[id(parent)] = parent_grad if previous is None else previous + parent_grad
