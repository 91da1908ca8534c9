"""tinyjax.oop's compression and acceleration functions: TinyTorch's names and contracts over the functional core."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
import tinyjax.oop as oop
from tinyjax.nn import kernels

X = np.random.default_rng(0).normal(size=(5, 16)).astype(np.float32)


def mlp():
    oop.manual_seed(0)
    return oop.Sequential(oop.Linear(16, 32), oop.ReLU(), oop.Linear(32, 24), oop.ReLU(), oop.Linear(24, 4))


def test_measure_sparsity_is_a_percentage_and_magnitude_prune_works_in_place():
    model = mlp()
    assert oop.measure_sparsity(model) == 0.0
    assert oop.magnitude_prune(model, sparsity=0.5) is model
    assert oop.measure_sparsity(model) == 50.0  # 16*32 + 32*24 + 24*4 = 1376 weights, 688 zero
    assert oop.Compressor.measure_sparsity(model) == 0.5  # the class returns fractions
    assert all(
        np.count_nonzero(layer.bias.data) == 0 for layer in model.layers if hasattr(layer, "bias")
    )  # zeros at init, kept


def test_structured_prune_returns_the_smaller_model_and_zeroes_the_given_one():
    model = mlp()
    before = model(X).data
    small = oop.structured_prune(model, prune_ratio=0.5)
    assert [(layer.in_features, layer.out_features) for layer in small.layers if hasattr(layer, "weight")] == [
        (16, 16), (16, 12), (12, 4)]  # fmt: skip
    np.testing.assert_allclose(small(X).data, model(X).data, rtol=1e-5, atol=1e-6)
    first = model.layers[0].weight.data
    zero_columns = np.all(first == 0, axis=0)
    assert zero_columns.sum() == 16 and np.all(first[:, ~zero_columns] != 0)  # whole units, as TinyTorch zeroes them
    assert not np.allclose(model(X).data, before)  # the given model lost those units too
    _, params = small.to_functional()
    assert tj.count_params(params) == 16 * 16 + 16 + 16 * 12 + 12 + 12 * 4 + 4


def test_low_rank_approximate_returns_truncated_svd_factors():
    matrix = np.random.default_rng(1).normal(size=(20, 15))
    u, s, v = oop.low_rank_approximate(matrix, rank_ratio=0.4)
    assert (u.shape, s.shape, v.shape) == ((20, 6), (6,), (6, 15))
    singular = np.linalg.svd(matrix, compute_uv=False)
    np.testing.assert_allclose(np.linalg.norm(matrix - u @ np.diag(s) @ v), np.sqrt(np.sum(singular[6:] ** 2)))


def test_knowledge_distillation_loss_trains_the_student():
    teacher = oop.Sequential(oop.Linear(16, 32), oop.ReLU(), oop.Linear(32, 4))
    student = oop.Sequential(oop.Linear(16, 4))
    kd = oop.KnowledgeDistillation(teacher, student, temperature=4.0, alpha=0.8)
    assert (kd.temperature, kd.alpha) == (4.0, 0.8)
    labels = np.array([0, 1, 2, 3, 0])
    with oop.no_grad():
        teacher_logits = teacher(X)
    loss = kd.distillation_loss(student(X), teacher_logits, labels)
    expected = tj.losses.distillation(student(X).array, teacher_logits.array, labels, temperature=4.0, alpha=0.8)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-6)
    loss.backward()
    grad = student.layers[0].weight.grad.data
    layer, params = student.to_functional()
    want = jax.grad(lambda p: tj.losses.distillation(layer.apply(p, X), teacher_logits.array, labels,
                                                     temperature=4.0, alpha=0.8))(params)[0]["weight"]  # fmt: skip
    np.testing.assert_allclose(grad, want, rtol=1e-5, atol=1e-7)


def test_compress_model_reports_percentages_and_compressor_fractions():
    stats = oop.compress_model(mlp(), {"magnitude_prune": 0.7, "structured_prune": 0.2})
    assert stats["applied_techniques"] == ["magnitude_prune_0.7", "structured_prune_0.2"]
    assert stats["original_sparsity"] == 0.0 and stats["final_sparsity"] >= 70.0
    assert stats["sparsity_increase"] == stats["final_sparsity"]
    _, fractions = oop.Compressor.compress_model(mlp(), {"magnitude_sparsity": 0.8})
    assert fractions["final_sparsity"] == pytest.approx(0.8, abs=1e-3) and fractions[
        "compression_ratio"
    ] == pytest.approx(5.0, rel=1e-2)


def test_acceleration_functions_equal_their_references():
    a = np.random.default_rng(2).normal(size=(2, 5, 7)).astype(np.float32)
    b = np.random.default_rng(3).normal(size=(7, 3)).astype(np.float32)
    np.testing.assert_allclose(oop.vectorized_matmul(a, b).data, a @ b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(oop.tiled_matmul(a[0], b, tile_size=4).data, a[0] @ b, rtol=1e-5, atol=1e-5)
    x = np.linspace(-3, 3, 13, dtype=np.float32)
    reference = jax.nn.gelu(x, approximate=True)
    np.testing.assert_allclose(oop.fused_gelu(x).data, reference, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(oop.unfused_gelu(x).data, reference, rtol=1e-6, atol=1e-6)
    images = np.random.default_rng(4).normal(size=(2, 3, 6, 6)).astype(np.float32)
    cols = oop.im2col(images, 3, stride=1, padding=1)
    assert cols.shape == (2, 27, 36)
    back = oop.col2im(cols, images.shape, 3, stride=1, padding=1)
    np.testing.assert_allclose(
        back.data,
        np.asarray(jax.vjp(lambda v: kernels.im2col(v, 3, 1, 1), jnp.asarray(images))[1](cols.array)[0]),
        rtol=1e-5,
    )
    with pytest.raises(tj.ShapeError, match=r"vectorized_matmul.*2D\+"):
        oop.vectorized_matmul(np.ones(3), np.ones(3))
    with pytest.raises(tj.ShapeError, match=r"tiled_matmul.*Shape mismatch: inner sizes 64 != 128"):
        oop.tiled_matmul(np.ones((128, 64)), np.ones((128, 64)))


def test_a_container_of_layers_is_pruned_through_its_layers():
    class SimpleModel:  # TinyTorch's container: layers, no parameters()
        def __init__(self):
            oop.manual_seed(1)
            self.layers = [oop.Linear(4, 4, bias=False), oop.ReLU(), oop.Linear(4, 2)]

    model = SimpleModel()
    model.layers[0].weight.data = np.array([[0, 0, 1, 1]] * 4, np.float32)
    # both weight matrices count, the bias does not
    assert oop.Compressor.measure_sparsity(model) == pytest.approx(8 / 24)
    oop.magnitude_prune(model, sparsity=0.75)
    assert np.count_nonzero(model.layers[0].weight.data) + np.count_nonzero(model.layers[2].weight.data) == 6
    with pytest.raises(tj.ConfigError, match="neither parameters"):
        oop.measure_sparsity(object())


def test_gelu_gradient_flows_through_the_oop_tensor():
    x = oop.Tensor(np.array([0.5, -1.0], np.float32), requires_grad=True)
    oop.unfused_gelu(x).sum().backward()
    want = jax.grad(lambda v: jnp.sum(jax.nn.gelu(v, approximate=True)))(jnp.array([0.5, -1.0]))
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-5)
