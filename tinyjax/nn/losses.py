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

__all__ = ["binary_cross_entropy", "cross_entropy", "distillation", "mse"]

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


def distillation(
    student_logits: jax.Array,
    teacher_logits: jax.Array,
    labels: jax.Array,
    *,
    temperature: float,
    alpha: float,
    reduction: str = "mean",
) -> jax.Array:
    """Knowledge distillation's loss (Hinton et al., 2015): the teacher's softened outputs plus the labels.

    ``alpha * T**2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * cross_entropy(student, labels)``
    per example. The ``T**2`` keeps the soft term's gradient, which scales as ``1 / T``, on the hard
    term's scale whatever the temperature. The teacher's logits are constants (``stop_gradient``): only
    the student learns.

    Args:
      student_logits, teacher_logits: floating ``(..., C)`` of the same shape.
      labels: the hard targets, as :func:`cross_entropy` takes them (indices ``(...)`` or rows ``(..., C)``).
      temperature: ``T > 0``; larger values soften both distributions (2 to 5 is common).
      alpha: the soft term's weight in [0, 1]; 1 is pure distillation, 0 plain cross-entropy.
      reduction: ``"mean"`` over the examples (a scalar), ``"sum"``, or ``"none"`` (shape ``(...)``).

    The gradient with respect to the student's logits of one example is
    ``alpha * T * (softmax(s / T) - softmax(t / T)) + (1 - alpha) * (softmax(s) - onehot(label))``.
    """
    student, teacher = jnp.asarray(student_logits), jax.lax.stop_gradient(jnp.asarray(teacher_logits))
    _check_reduction("distillation", reduction)
    _check_float("distillation", "student logits", student)
    _check_float("distillation", "teacher logits", teacher)
    if student.shape != teacher.shape or student.ndim < 1:
        raise ShapeError("distillation", tuple(student.shape), tuple(teacher.shape), what="teacher logits")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ConfigError(f"distillation: temperature must be a positive number, got {temperature!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ConfigError(f"distillation: alpha must be a number in [0, 1], got {alpha!r}")
    soft_teacher = jax.nn.softmax(teacher / temperature, axis=-1)
    log_student = jax.nn.log_softmax(student / temperature, axis=-1)
    # xlogy: a teacher probability of exactly 0 contributes 0, not 0 * log 0 = NaN
    kl = jnp.sum(jax.scipy.special.xlogy(soft_teacher, soft_teacher) - soft_teacher * log_student, axis=-1)
    hard = cross_entropy(student, labels, reduction="none")
    return _reduce(alpha * temperature**2 * kl + (1 - alpha) * hard, reduction)
