"""Loss functions: pure, jit-friendly, numerically stable, PyTorch's definitions.

Each takes ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"`` (the per-example losses).
Shapes are checked when the function is traced (free under ``jax.jit``); a mismatch raises
:class:`~tinyjax.ShapeError`, an unknown reduction :class:`~tinyjax.ConfigError`.

::

    loss = tinyjax.losses.cross_entropy(model.apply(params, x), labels)     # (B, C), (B,) int -> ()
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError, DTypeError, ShapeError

__all__ = ["binary_cross_entropy", "cross_entropy", "mse"]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(losses: jax.Array, reduction: str) -> jax.Array:
    if reduction == "mean":
        return jnp.mean(losses)
    if reduction == "sum":
        return jnp.sum(losses)
    return losses


def _check_reduction(name: str, reduction: Any) -> None:
    if reduction not in _REDUCTIONS:
        raise ConfigError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _array(name: str, what: str, x: Any) -> jax.Array:
    """``x`` as an array; a DTypeError naming the loss for anything else (a forgotten ``(y, new_state)`` unpack)."""
    if isinstance(x, jax.Array):
        return x
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], tuple | dict):
        raise DTypeError(
            name,
            f"expected {what} as an array, got a tuple of 2: apply(params, x, training=True) on a "
            "model with state returns (y, new_state); unpack it: y, new_state = model.apply(...)",
        )
    try:
        return jnp.asarray(x)
    except (TypeError, ValueError):
        shown = repr(x)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise DTypeError(name, f"expected {what} as an array of numbers, got {type(x).__name__} {shown}") from None


def _check_float(name: str, what: str, x: jax.Array) -> None:
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise DTypeError(name, f"expected floating {what}, got {x.dtype}")


def mse(predictions: jax.Array, targets: jax.Array, *, reduction: str = "mean") -> jax.Array:
    """Mean squared error ``(predictions - targets) ** 2``, like ``torch.nn.functional.mse_loss``.

    Args:
      predictions, targets: floating arrays of the same shape ``(...)``.
      reduction: ``"mean"`` over every element (a scalar), ``"sum"``, or ``"none"`` (shape ``(...)``).
    """
    predictions, targets = _array("mse", "predictions", predictions), _array("mse", "targets", targets)
    _check_reduction("mse", reduction)
    _check_float("mse", "predictions", predictions)
    if predictions.shape != targets.shape:
        raise ShapeError("mse", tuple(predictions.shape), tuple(targets.shape), what="targets")
    return _reduce(jnp.square(predictions - targets.astype(predictions.dtype)), reduction)


def cross_entropy(logits: jax.Array, labels: jax.Array, *, reduction: str = "mean") -> jax.Array:
    """Softmax cross-entropy from unnormalised logits, like ``torch.nn.functional.cross_entropy``.

    Args:
      logits: floating ``(..., C)``: one row of class scores per example.
      labels: either integer class indices ``(...)`` in ``[0, C)``, or floating class probabilities /
        one-hot rows ``(..., C)`` (each row should sum to 1). An index outside ``[0, C)`` raises
        ConfigError when the labels are concrete (an eager call, or labels closed over by your
        ``jax.jit``); when they are traced (arguments of a jitted function) their values are unknown
        until run time, and that example's loss is NaN (so is the mean or sum): never a finite,
        wrong number.
      reduction: ``"mean"`` over the examples (a scalar), ``"sum"``, or ``"none"`` (shape ``(...)``).

    Computed as ``logsumexp(logits) - logits[label]`` (``-sum(targets * log_softmax(logits))`` for
    probabilities): no overflow for logits of any size.
    """
    given = labels
    logits, labels = _array("cross_entropy", "logits", logits), _array("cross_entropy", "labels", labels)
    _check_reduction("cross_entropy", reduction)
    _check_float("cross_entropy", "logits", logits)
    if logits.ndim < 1:
        raise ShapeError("cross_entropy", (..., "classes"), tuple(logits.shape), what="logits")
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    if jnp.issubdtype(labels.dtype, jnp.integer):
        if labels.shape != logits.shape[:-1]:
            raise ShapeError(
                "cross_entropy",
                tuple(logits.shape[:-1]),
                tuple(labels.shape),
                what="integer labels",
                hint="Integer labels have the logits' shape without the class axis; pass one-hot rows as floats",
            )
        classes = logits.shape[-1]
        _check_labels_in_range(given, classes)
        picked = jnp.take_along_axis(log_probs, jnp.clip(labels, 0, classes - 1)[..., None], axis=-1)[..., 0]
        losses = jnp.where((labels >= 0) & (labels < classes), -picked, jnp.nan)
    elif jnp.issubdtype(labels.dtype, jnp.floating):
        if labels.shape != logits.shape:
            raise ShapeError(
                "cross_entropy",
                tuple(logits.shape),
                tuple(labels.shape),
                what="probability targets",
                hint="Probability (one-hot) targets have the logits' shape; pass class indices as integers",
            )
        losses = -jnp.sum(labels.astype(log_probs.dtype) * log_probs, axis=-1)
    else:
        detail = f"labels must be integer indices or floating probabilities, got {labels.dtype}"
        raise DTypeError("cross_entropy", detail)
    return _reduce(losses, reduction)


def _check_labels_in_range(labels: Any, classes: int) -> None:
    """ConfigError if concrete integer ``labels`` hold an index outside ``[0, classes)``; traced ones pass."""
    if isinstance(labels, jax.core.Tracer):
        return  # values unknown until run time: cross_entropy's loss is NaN there instead
    values = np.asarray(labels)
    outside = (values < 0) | (values >= classes)
    if outside.any():
        where = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ConfigError(
            f"cross_entropy: integer labels must be class indices in [0, {classes}), got {values[where]} "
            f"at index {where} ({int(outside.sum())} label(s) outside); check the labels or the logits' class axis"
        )


def binary_cross_entropy(logits: jax.Array, targets: jax.Array, *, reduction: str = "mean") -> jax.Array:
    """Sigmoid cross-entropy from logits, like ``torch.nn.functional.binary_cross_entropy_with_logits``.

    Args:
      logits: floating ``(...)``: one score per binary decision.
      targets: ``(...)``, the same shape, values in ``[0, 1]`` (0/1 labels or probabilities; booleans
        and integers are accepted and converted).
      reduction: ``"mean"`` over every element (a scalar), ``"sum"``, or ``"none"`` (shape ``(...)``).

    Computed as ``softplus(x) - t * x`` (``= -t log sigmoid(x) - (1 - t) log sigmoid(-x)``), which
    neither overflows nor loses precision for large ``|x|``.
    """
    logits, targets = (
        _array("binary_cross_entropy", "logits", logits),
        _array("binary_cross_entropy", "targets", targets),
    )
    _check_reduction("binary_cross_entropy", reduction)
    _check_float("binary_cross_entropy", "logits", logits)
    if logits.shape != targets.shape:
        raise ShapeError("binary_cross_entropy", tuple(logits.shape), tuple(targets.shape), what="targets")
    targets = targets.astype(logits.dtype)
    return _reduce(jax.nn.softplus(logits) - targets * logits, reduction)
