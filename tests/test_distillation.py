"""tj.losses.distillation: its value and its gradient against the hand-derived formula."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj

B, C = 6, 5
STUDENT = jax.random.normal(jax.random.key(0), (B, C)) * 2
TEACHER = jax.random.normal(jax.random.key(1), (B, C)) * 3
LABELS = jnp.array([0, 1, 2, 3, 4, 0])


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize(("temperature", "alpha"), [(1.0, 0.5), (3.0, 0.7), (5.0, 1.0), (2.0, 0.0)])
def test_value_is_kl_at_temperature_times_t_squared_plus_cross_entropy(temperature, alpha):
    s, t = np.asarray(STUDENT, np.float64), np.asarray(TEACHER, np.float64)
    p_t, p_s = softmax(t / temperature), softmax(s / temperature)
    kl = np.sum(p_t * (np.log(p_t) - np.log(p_s)), -1)
    ce = -np.log(softmax(s)[np.arange(B), np.asarray(LABELS)])
    expected = np.mean(alpha * temperature**2 * kl + (1 - alpha) * ce)
    got = tj.losses.distillation(STUDENT, TEACHER, LABELS, temperature=temperature, alpha=alpha)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize(("temperature", "alpha"), [(1.0, 0.5), (3.0, 0.7), (5.0, 1.0), (2.0, 0.0)])
def test_gradient_equals_the_analytic_formula(temperature, alpha):
    # d/ds of mean_b [alpha T^2 KL(p_t || softmax(s/T)) + (1 - alpha) CE(s, y)]
    #   = [alpha T (softmax(s/T) - softmax(t/T)) + (1 - alpha) (softmax(s) - onehot(y))] / B
    s, t = np.asarray(STUDENT, np.float64), np.asarray(TEACHER, np.float64)
    onehot = np.eye(C)[np.asarray(LABELS)]
    analytic = (alpha * temperature * (softmax(s / temperature) - softmax(t / temperature))
                + (1 - alpha) * (softmax(s) - onehot)) / B  # fmt: skip
    loss = jax.jit(lambda s, t: tj.losses.distillation(s, t, LABELS, temperature=temperature, alpha=alpha))
    grad_student, grad_teacher = jax.grad(loss, argnums=(0, 1))(STUDENT, TEACHER)
    np.testing.assert_allclose(grad_student, analytic, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(grad_teacher, 0)  # the teacher is a constant


def test_identical_logits_leave_only_the_hard_term_and_reductions_agree():
    hard = tj.losses.cross_entropy(STUDENT, LABELS, reduction="none")
    same = tj.losses.distillation(STUDENT, STUDENT, LABELS, temperature=4.0, alpha=0.6, reduction="none")
    np.testing.assert_allclose(same, 0.4 * hard, rtol=1e-5, atol=1e-6)
    total = tj.losses.distillation(STUDENT, TEACHER, LABELS, temperature=2.0, alpha=0.3, reduction="sum")
    each = tj.losses.distillation(STUDENT, TEACHER, LABELS, temperature=2.0, alpha=0.3, reduction="none")
    np.testing.assert_allclose(total, each.sum(), rtol=1e-6)


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(tj.ConfigError, match="temperature must be a positive number"):
        tj.losses.distillation(STUDENT, TEACHER, LABELS, temperature=0.0, alpha=0.5)
    with pytest.raises(tj.ConfigError, match=r"alpha must be a number in \[0, 1\]"):
        tj.losses.distillation(STUDENT, TEACHER, LABELS, temperature=2.0, alpha=1.5)
    with pytest.raises(tj.ShapeError, match="distillation"):
        tj.losses.distillation(STUDENT, TEACHER[:, :3], LABELS, temperature=2.0, alpha=0.5)
