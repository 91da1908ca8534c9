"""TinyTorch's optimizers (module 06) over optax's math: ``SGD``, ``Adam``, ``AdamW``.

``optimizer.step()`` updates every parameter Tensor whose ``.grad`` is set, in one jit-compiled
call of the optax transformation; ``zero_grad()`` clears the gradients. A parameter without a
gradient is left as it is and its optimizer state does not advance (PyTorch's rule: Adam's bias
correction counts each parameter's own steps). ``optimizer.lr`` may be changed between steps (a
schedule does); the other hyperparameters are fixed when the optimizer is built.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tinyjax._errors import ConfigError
from tinyjax.oop.constants import (
    DEFAULT_EPS,
    DEFAULT_LEARNING_RATE_ADAM,
    DEFAULT_LEARNING_RATE_SGD,
    DEFAULT_WEIGHT_DECAY_ADAMW,
)
from tinyjax.oop.tensor import Tensor

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]


@functools.partial(jax.jit, static_argnums=0)
def _update(
    tx: optax.GradientTransformation, params: tuple[jax.Array, ...], grads: tuple[jax.Array, ...], states: tuple
) -> tuple[list[jax.Array], list[Any]]:
    new_params, new_states = [], []
    for param, grad, state in zip(params, grads, states, strict=True):
        updates, state = tx.update(grad, state, param)
        new_params.append(optax.apply_updates(param, updates))
        new_states.append(state)
    return new_params, new_states


class Optimizer:
    """Base class: holds the parameter Tensors (each must require grad); ``zero_grad()``; ``step()``.

    A subclass defines ``_transformation(learning_rate)``, the optax transformation it applies.
    """

    lr: float = 0.0

    def __init__(self, params: Iterable[Tensor]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor) or not isinstance(params, Iterable):
            hint = "model.parameters()" if hasattr(params, "parameters") else "[tensor]"
            raise ConfigError(f"{name} takes a list of parameter Tensors, got {type(params).__name__}; pass {hint}")
        self.params = list(params)
        if not self.params:
            raise ConfigError(
                f"{name} got an empty parameter list: nothing would be trained; pass model.parameters() "
                "of a model that has parameters"
            )
        self._check_hyperparameters()
        for i, param in enumerate(self.params):
            if not isinstance(param, Tensor):
                raise ConfigError(f"{type(self).__name__}: parameter {i} is a {type(param).__name__}, not a Tensor")
            if not param.requires_grad:
                raise ConfigError(
                    f"{type(self).__name__}: parameter {i} does not require gradients; build it with requires_grad=True"
                )
        self.step_count = 0
        self._tx: optax.GradientTransformation | None = None  # built at the first step
        self._states: list[Any] = [None] * len(self.params)

    def _check_hyperparameters(self) -> None:
        """ConfigError for a learning rate, momentum, weight decay, eps or beta a step cannot use."""
        ranges: dict[str, tuple[float, float | None]] = {"lr": (0, None), "momentum": (0, None)}
        ranges.update({"weight_decay": (0, None), "eps": (0, None), "beta1": (0, 1), "beta2": (0, 1)})
        for field, (low, high) in ranges.items():
            value: Any = getattr(self, field, None)
            if value is None and field != "lr":
                continue
            number = isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool)
            if not number or not np.isfinite(value) or value < low or (high is not None and value >= high):
                bound = f"in [{low}, {high})" if high is not None else f">= {low}"
                raise ConfigError(f"{type(self).__name__}: {field} must be a finite number {bound}, got {value!r}")

    def _transformation(self, learning_rate: Any) -> optax.GradientTransformation:
        raise NotImplementedError(f"{type(self).__name__} must define its optax transformation")

    def zero_grad(self) -> None:
        """Clear every parameter's ``.grad`` (to ``None``)."""
        for param in self.params:
            param.zero_grad()

    def step(self) -> None:
        """``param <- param + update(grad)`` for every parameter that has a gradient."""
        self._check_hyperparameters()  # lr may have been changed since (a schedule)
        self.step_count += 1
        chosen = [i for i, param in enumerate(self.params) if param.grad_array is not None]
        if not chosen:
            return
        if self._tx is None:
            self._tx = optax.inject_hyperparams(self._transformation)(learning_rate=self.lr)
        states = []
        for i in chosen:
            state = self._states[i] if self._states[i] is not None else self._tx.init(self.params[i].array)
            state.hyperparams["learning_rate"] = jnp.asarray(self.lr, dtype=state.hyperparams["learning_rate"].dtype)
            states.append(state)
        params = tuple(self.params[i].array for i in chosen)
        grads = tuple(self.params[i].grad_array for i in chosen)
        new_params, new_states = _update(self._tx, params, grads, tuple(states))
        for i, param, state in zip(chosen, new_params, new_states, strict=True):
            self.params[i].array = param
            self._states[i] = state

    def _buffers(self, field: str) -> list[np.ndarray[Any, Any] | None]:
        """Each parameter's optax state entry named ``field`` (``None`` before its first step)."""
        return [None if s is None else np.asarray(optax.tree_utils.tree_get(s, field)) for s in self._states]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr})"


def _with_weight_decay(weight_decay: float, inner: optax.GradientTransformation) -> optax.GradientTransformation:
    """L2 regularisation as TinyTorch's SGD and Adam apply it: ``grad + weight_decay * param`` first."""
    return inner if weight_decay == 0.0 else optax.chain(optax.add_decayed_weights(weight_decay), inner)


class SGD(Optimizer):
    """Stochastic gradient descent: ``buf = momentum * buf + g``; ``param -= lr * buf`` (``optax.sgd``).

    ``weight_decay`` adds ``weight_decay * param`` to the gradient first (L2).
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = DEFAULT_LEARNING_RATE_SGD,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        super().__init__(params)

    def has_momentum(self) -> bool:
        return self.momentum > 0

    @property
    def momentum_buffers(self) -> list[np.ndarray[Any, Any] | None]:
        """Each parameter's momentum buffer (TinyTorch's name), ``None`` before its first step or without momentum."""
        return self._buffers("trace") if self.has_momentum() else [None] * len(self.params)

    def _transformation(self, learning_rate: Any) -> optax.GradientTransformation:
        sgd = optax.sgd(learning_rate, momentum=self.momentum or None)
        return _with_weight_decay(self.weight_decay, sgd)


class Adam(Optimizer):
    """Adam (``optax.adam``): ``param -= lr * m_hat / (sqrt(v_hat) + eps)``, bias-corrected moments.

    ``weight_decay`` adds ``weight_decay * param`` to the gradient first (L2, as TinyTorch's Adam).
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = DEFAULT_LEARNING_RATE_ADAM,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = DEFAULT_EPS,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr, (self.beta1, self.beta2), self.eps, self.weight_decay = lr, betas, eps, weight_decay
        super().__init__(params)

    @property
    def m_buffers(self) -> list[np.ndarray[Any, Any] | None]:
        """Each parameter's first moment (optax's ``mu``), ``None`` before its first step."""
        return self._buffers("mu")

    @property
    def v_buffers(self) -> list[np.ndarray[Any, Any] | None]:
        """Each parameter's second moment (optax's ``nu``), ``None`` before its first step."""
        return self._buffers("nu")

    def _transformation(self, learning_rate: Any) -> optax.GradientTransformation:
        adam = optax.adam(learning_rate, b1=self.beta1, b2=self.beta2, eps=self.eps)
        return _with_weight_decay(self.weight_decay, adam)


class AdamW(Adam):
    """Adam with decoupled weight decay (``optax.adamw``): ``param -= lr * (adam_update + weight_decay * param)``.

    TinyTorch's AdamW multiplies the parameter by ``1 - lr * weight_decay`` after the Adam step,
    which differs from this by ``lr**2 * weight_decay * adam_update`` (1e-8 of a step at the defaults).
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = DEFAULT_LEARNING_RATE_ADAM,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = DEFAULT_EPS,
        weight_decay: float = DEFAULT_WEIGHT_DECAY_ADAMW,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

    def _transformation(self, learning_rate: Any) -> optax.GradientTransformation:
        return optax.adamw(learning_rate, b1=self.beta1, b2=self.beta2, eps=self.eps, weight_decay=self.weight_decay)
