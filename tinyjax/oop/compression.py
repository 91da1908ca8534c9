"""TinyTorch's compression module (16) over :mod:`tinyjax.compress`: prune a model in place, distil, factor.

TinyTorch's functions take a model (anything with ``parameters()``, or a container of ``layers``)
and change its weights in place; here each one runs the functional transformation on the model's arrays and writes the
results back into its Tensors. Where the two course versions differ this follows the newer one
(harvard-edge/cs249r_book ``tinytorch/src/16_compression``): the functions take fractions
(``sparsity=0.9`` zeroes 90%) and :func:`measure_sparsity` returns a percentage, while
:class:`Compressor` returns fractions (docs/oop-vs-functional.md).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tinyjax._errors import ConfigError
from tinyjax.layer import Params
from tinyjax.nn import losses
from tinyjax.oop import autograd
from tinyjax.oop.bridge import from_functional
from tinyjax.oop.tensor import Tensor, as_tensor
from tinyjax.tools import compress
from tinyjax.tools.compress._rebuild import axis_positions

__all__ = [
    "Compressor",
    "KnowledgeDistillation",
    "compress_model",
    "low_rank_approximate",
    "magnitude_prune",
    "measure_sparsity",
    "structured_prune",
]


def _parameters(model: Any) -> list[Tensor]:
    """``model.parameters()``; for a container with only ``layers`` (TinyTorch's ``SimpleModel``), its layers'."""
    if hasattr(model, "parameters"):
        return list(model.parameters())
    if hasattr(model, "layers"):
        return [p for layer in model.layers if hasattr(layer, "parameters") for p in layer.parameters()]
    raise ConfigError(f"{type(model).__name__} has neither parameters() nor layers: nothing to compress")


def _arrays(model: Any) -> list[jax.Array]:
    return [tensor.array for tensor in _parameters(model)]


def _write_back(model: Any, old: Params, new: Params) -> None:
    """Put each array of ``new`` into the model's Tensor that held the matching array of ``old``."""
    holders = {id(tensor.array): tensor for tensor in _parameters(model)}
    for before, after in zip(jax.tree_util.tree_leaves(old), jax.tree_util.tree_leaves(new), strict=True):
        if before is not after and id(before) in holders:
            holders[id(before)].array = after


def measure_sparsity(model: Any) -> float:
    """The percentage (0-100) of zeros among the model's weight matrices and kernels (biases not counted)."""
    return compress.sparsity(_arrays(model)) * 100.0


def magnitude_prune(model: Any, sparsity: float = 0.9) -> Any:
    """Zero the ``sparsity`` fraction (0.9: 90%) of smallest-magnitude weights, over the whole model, in place.

    Returns the model. :func:`tinyjax.compress.magnitude_prune` with ``scope="global"``: exactly
    ``round(sparsity * n)`` of the ``n`` weights become zero; biases are kept.
    """
    arrays = _arrays(model)
    pruned, _ = compress.magnitude_prune(arrays, sparsity)
    _write_back(model, arrays, pruned)
    return model


def structured_prune(model: Any, prune_ratio: float = 0.5) -> Any:
    """Remove ``prune_ratio`` of each hidden layer's units (L2 norm): returns a new, smaller model.

    The model given is also changed in place as TinyTorch's is: the removed units' output columns
    (and biases, and a following BatchNorm's entries) are zeroed, so it computes what the returned
    model computes (for activations with ``f(0) = 0``) but with its full shapes and work. Use the
    returned model: it is the one that runs faster (:func:`tinyjax.compress.structured_prune`).
    TinyTorch also zeroes the last layer's columns (some classes then always score 0); here the
    model's output size is kept.
    """
    layer, params = model.to_functional()
    smaller, smaller_params = compress.structured_prune(layer, params, prune_ratio)
    zeroed = _zero_removed(layer, params, smaller, prune_ratio)
    _write_back(model, params, zeroed)
    return from_functional(smaller, smaller_params)


def _zero_removed(layer: Any, params: Params, smaller: Any, ratio: float) -> Params:
    """``params`` with the units that ``smaller`` lacks set to zero in their producers and followers."""
    if not layer.chain:
        return params
    out = list(params)
    keep, units = None, 0
    for i, (child, new_child) in enumerate(zip(layer.children, smaller.children, strict=True)):
        if child.chain:
            out[i] = _zero_removed(child, params[i], new_child, ratio)
            continue
        if child is new_child or not isinstance(params[i], dict):
            continue
        produced, consumed, new_shapes = (
            axis_positions(child, "out"),
            axis_positions(child, "in"),
            new_child.param_shapes(),
        )
        if "weight" in produced:
            axis, fan_in = produced["weight"], consumed.get("weight")
            if (
                keep is not None
                and fan_in is not None
                and new_shapes["weight"].shape[fan_in] != out[i]["weight"].shape[fan_in]
            ):
                # the consumer's rows of the removed units, zeroed as removed (a Flatten makes a block of rows per unit)
                block = out[i]["weight"].shape[fan_in] // units
                out[i] = _zero_along(out[i], consumed, (keep[:, None] * block + np.arange(block)).ravel())
            keep = None  # a layer with weights ends the run of the previous producer's followers
            if new_shapes["weight"].shape[axis] != out[i]["weight"].shape[axis]:
                units = out[i]["weight"].shape[axis]
                keep = compress.kept_units(compress.unit_scores(out[i]["weight"], axis), ratio)
                out[i] = _zero_along(out[i], produced, keep)
        elif keep is not None:
            follower = {name: 0 for name, value in params[i].items() if new_shapes[name].shape != np.shape(value)}
            out[i] = _zero_along(params[i], follower, keep)
    return tuple(out)


def _zero_along(params: dict[str, jax.Array], positions: dict[str, int], keep: np.ndarray) -> dict[str, jax.Array]:
    def zero(value: jax.Array, axis: int) -> jax.Array:
        kept = np.zeros(value.shape[axis], bool)
        kept[keep] = True
        shape = [1] * value.ndim
        shape[axis] = -1
        return jnp.where(kept.reshape(shape), value, jnp.zeros((), value.dtype))

    return {name: zero(value, positions[name]) if name in positions else value for name, value in params.items()}


def low_rank_approximate(weight_matrix: Any, rank_ratio: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truncated SVD of a matrix: ``(U, S, V)`` of shapes ``(m, k)``, ``(k,)``, ``(k, n)``.

    ``k = max(1, int(rank_ratio * min(m, n)))``.

    ``U @ np.diag(S) @ V`` is the best rank-``k`` approximation. To factor a model's Linears into two
    thin ones, use :func:`tinyjax.compress.low_rank` on its functional form.
    """
    matrix = np.asarray(weight_matrix.data if isinstance(weight_matrix, Tensor) else weight_matrix)
    if matrix.ndim != 2:
        raise ConfigError(f"low_rank_approximate takes a matrix, got shape {matrix.shape}")
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    k = max(1, int(rank_ratio * min(matrix.shape)))
    return u[:, :k], s[:k], vt[:k]


class KnowledgeDistillation:
    """A teacher, a student, a temperature and a weight: ``distillation_loss`` trains the student.

    ``distillation_loss(student_logits, teacher_logits, true_labels)`` is a 0-d Tensor over
    :func:`tinyjax.losses.distillation`: ``alpha * T**2 * KL(teacher_T || student_T) + (1 - alpha) *
    cross_entropy``, averaged over the batch; ``loss.backward()`` reaches the student's parameters.
    """

    def __init__(self, teacher_model: Any, student_model: Any, temperature: float = 3.0, alpha: float = 0.7) -> None:
        self.teacher_model, self.student_model = teacher_model, student_model
        self.temperature, self.alpha = temperature, alpha

    def distillation_loss(self, student_logits: Any, teacher_logits: Any, true_labels: Any) -> Tensor:
        student = as_tensor(student_logits)
        teacher = teacher_logits.array if isinstance(teacher_logits, Tensor) else jnp.asarray(teacher_logits)
        labels = true_labels.array if isinstance(true_labels, Tensor) else jnp.asarray(true_labels)
        labels = labels.astype(jnp.int32) if labels.shape == student.shape[:-1] else labels.astype(student.array.dtype)
        return autograd.apply(_distillation, (student, teacher, labels), temperature=float(self.temperature),
                              alpha=float(self.alpha))  # fmt: skip


def _distillation(
    student: jax.Array, teacher: jax.Array, labels: jax.Array, *, temperature: float, alpha: float
) -> jax.Array:
    return losses.distillation(student, teacher, labels, temperature=temperature, alpha=alpha)


def compress_model(model: Any, compression_config: dict[str, float]) -> dict[str, Any]:
    """Apply ``{"magnitude_prune": fraction, "structured_prune": ratio}`` in place, in that order; return statistics.

    Statistics (percentages, as the newer TinyTorch): ``original_params``, ``original_sparsity``,
    ``applied_techniques``, ``final_sparsity``, ``sparsity_increase``; with structured pruning also
    ``compressed_model``, the smaller model :func:`structured_prune` returns. ``"low_rank"`` is recorded
    only, as in TinyTorch (factor with :func:`tinyjax.compress.low_rank`).
    """
    stats: dict[str, Any] = {
        "original_params": sum(int(np.size(a)) for a in _arrays(model)),
        "original_sparsity": measure_sparsity(model),
        "applied_techniques": [],
    }
    if "magnitude_prune" in compression_config:
        magnitude_prune(model, sparsity=compression_config["magnitude_prune"])
        stats["applied_techniques"].append(f"magnitude_prune_{compression_config['magnitude_prune']}")
    if "structured_prune" in compression_config:
        stats["compressed_model"] = structured_prune(model, prune_ratio=compression_config["structured_prune"])
        stats["applied_techniques"].append(f"structured_prune_{compression_config['structured_prune']}")
    if "low_rank" in compression_config:
        stats["applied_techniques"].append(f"low_rank_{compression_config['low_rank']}")
    stats["final_sparsity"] = measure_sparsity(model)
    stats["sparsity_increase"] = stats["final_sparsity"] - stats["original_sparsity"]
    return stats


class Compressor:
    """TinyTorch's class of the same functions for its milestones; its sparsities are fractions (0-1)."""

    @staticmethod
    def measure_sparsity(model: Any) -> float:
        return measure_sparsity(model) / 100.0

    @staticmethod
    def magnitude_prune(model: Any, sparsity: float = 0.5) -> Any:
        return magnitude_prune(model, sparsity)

    @staticmethod
    def structured_prune(model: Any, prune_ratio: float = 0.5) -> Any:
        return structured_prune(model, prune_ratio)

    @staticmethod
    def compress_model(model: Any, compression_config: dict[str, float]) -> tuple[Any, dict[str, float]]:
        """``{"magnitude_sparsity": f, "structured_prune_ratio": r}`` -> ``(model, stats)``, stats as fractions."""
        stats = {"original_sparsity": Compressor.measure_sparsity(model)}
        if "magnitude_sparsity" in compression_config:
            model = Compressor.magnitude_prune(model, compression_config["magnitude_sparsity"])
        if "structured_prune_ratio" in compression_config:
            Compressor.structured_prune(model, compression_config["structured_prune_ratio"])
        stats["final_sparsity"] = Compressor.measure_sparsity(model)
        stats["compression_ratio"] = (
            1.0 / (1.0 - stats["final_sparsity"]) if stats["final_sparsity"] < 1.0 else float("inf")
        )
        return model, stats
