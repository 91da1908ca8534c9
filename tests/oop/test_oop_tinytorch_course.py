"""TinyTorch's course names on the OOP face: backward classes, _grad_fn, writable .data, modules 09-13 and 17."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import oop

RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3)).astype(np.float32)
B = RNG.standard_normal((2, 3)).astype(np.float32)
G = RNG.standard_normal((2, 3)).astype(np.float32)


@pytest.mark.parametrize(
    ("cls", "fn"),
    [
        (oop.AddBackward, jnp.add),
        (oop.SubBackward, jnp.subtract),
        (oop.MulBackward, jnp.multiply),
        (oop.DivBackward, jnp.divide),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_binary_backward_classes_give_the_vjp_of_their_op(cls, fn):
    a, b = oop.Tensor(A, requires_grad=True), oop.Tensor(B, requires_grad=True)
    grad_a, grad_b = cls(a, b).apply(G)
    want = jax.vjp(fn, jnp.asarray(A), jnp.asarray(B))[1](jnp.asarray(G))
    np.testing.assert_allclose(grad_a, want[0], rtol=1e-6)
    np.testing.assert_allclose(grad_b, want[1], rtol=1e-6)
    assert cls(a, oop.Tensor(B)).apply(G)[1] is None  # an input that does not require grad gets None


def test_unary_and_loss_backward_classes():
    x = oop.Tensor(A, requires_grad=True)
    np.testing.assert_allclose(oop.ReLUBackward(x).apply(G)[0], G * (A > 0))
    np.testing.assert_allclose(oop.SumBackward(x).apply(np.float32(2.0))[0], np.full_like(A, 2.0))
    np.testing.assert_allclose(oop.ReshapeBackward(x, (2, 3)).apply(G.reshape(3, 2))[0], G)
    np.testing.assert_allclose(oop.TransposeBackward(x, 0, 1).apply(G.T)[0], G)
    np.testing.assert_allclose(oop.SliceBackward(x, (0, 1)).apply(np.float32(3.0))[0], [[0, 3, 0], [0, 0, 0]])
    weight = oop.Tensor(np.ones((4, 3)), requires_grad=True)
    (rows,) = oop.EmbeddingBackward(weight, np.array([1, 1, 3])).apply(np.ones((3, 3)))
    np.testing.assert_allclose(rows[:, 0], [0, 2, 0, 1])
    (mse,) = oop.MSEBackward(x, B).apply(1.0)
    np.testing.assert_allclose(mse, 2 * (A - B) / A.size, rtol=1e-6)


def test_results_of_recorded_ops_and_layers_carry_their_grad_fn():
    a, b = oop.Tensor(A, requires_grad=True), oop.Tensor(B, requires_grad=True)
    product = a * b
    assert type(product._grad_fn).__name__ == "MulBackward"
    assert type((product + a)._grad_fn).__name__ == "AddBackward"
    assert (product + a)._grad_fn.next_functions == [product._grad_fn]
    assert type(a.reshape(3, 2)._grad_fn).__name__ == "ReshapeBackward"
    assert type(a[0]._grad_fn).__name__ == "SliceBackward"
    assert type(oop.ReLU()(a)._grad_fn).__name__ == "ReLUBackward"
    image = np.ones((1, 1, 4, 4), np.float32)
    assert type(oop.Conv2d(1, 2, 3)(image)._grad_fn).__name__ == "Conv2dBackward"
    assert type(oop.MaxPool2d(2)(oop.Tensor(image, requires_grad=True))._grad_fn).__name__ == "MaxPool2dBackward"
    assert type(oop.Embedding(5, 2)(np.array([1, 2]))._grad_fn).__name__ == "EmbeddingBackward"
    assert oop.Tensor(A)._grad_fn is None and (oop.Tensor(A) * 2)._grad_fn is None


def test_in_place_data_updates_train_as_the_optimizer_does():
    oop.manual_seed(3)
    manual, stepped = oop.Linear(3, 2), oop.Linear(3, 2)
    for p, q in zip(manual.parameters(), stepped.parameters(), strict=True):
        q.data = p.data  # the same starting weights
    x, target = RNG.standard_normal((4, 3)).astype(np.float32), np.zeros((4, 2), np.float32)
    optimizer = oop.SGD(stepped.parameters(), lr=0.1)
    for _ in range(3):
        for model in (manual, stepped):
            model.zero_grad()
            oop.MSELoss()(model(x), target).backward()
        for p in manual.parameters():
            p.data -= 0.1 * p.grad.data  # TinyTorch's loop
        optimizer.step()
    for p, q in zip(manual.parameters(), stepped.parameters(), strict=True):
        np.testing.assert_allclose(p.array, q.array, rtol=1e-6, atol=1e-7)
    manual.weight.data[...] = 0.0
    assert not np.any(manual.params["weight"])  # the functional view sees the write


def test_transformer_block_holds_tinytorch_parts():
    block = oop.TransformerBlock(8, 2, mlp_ratio=2, key=jax.random.key(0))
    assert block.mlp.hidden_dim == 16 and len(block.parameters()) == 16  # attention 8, ln1 2, ln2 2, mlp 4
    assert block.attention.q_proj.weight.shape == (8, 8) and block.ln1.gamma is block.ln1.weight


def test_multi_head_attention_holds_tinytorch_projections_and_takes_its_mask():
    layer = tj.MultiHeadAttention(8, 2)
    params = layer.init(jax.random.key(0))
    module = oop.from_functional(layer, params)
    assert [p.shape for p in module.parameters()] == [(8, 8), (8,)] * 4
    x = RNG.standard_normal((2, 5, 8)).astype(np.float32)
    causal = np.tril(np.ones((5, 5), bool))
    np.testing.assert_allclose(module(x).data, layer.apply(params, x), rtol=1e-5, atol=1e-6)
    ones = np.broadcast_to(causal.astype(np.float32), (2, 5, 5))  # TinyTorch's (B, T, T), 1: may attend
    np.testing.assert_allclose(module(x, ones).data, layer.apply(params, x, mask=causal), rtol=1e-5, atol=1e-6)
    assert module.to_functional()[1] is params  # unchanged: the very arrays it was built from
    module.out_proj.bias.data += 1.0
    moved = module.to_functional()[1]
    np.testing.assert_allclose(moved["out_proj_bias"], params["out_proj_bias"] + 1.0)
    np.testing.assert_allclose(layer.apply(moved, x), module(x).data, rtol=1e-5, atol=1e-6)


def test_course_modules_and_constants():
    oop.manual_seed(0)
    cnn = oop.SimpleCNN()
    assert cnn(np.zeros((1, 3, 8, 8), np.float32)).shape == (1, 128)
    assert sum(p.size for p in cnn.parameters()) == 16 * 27 + 16 + 32 * 144 + 32
    embed = oop.EmbeddingLayer(10, 4, max_seq_len=6, pos_encoding="sinusoidal", scale_embeddings=True)
    tokens = np.array([[1, 2, 3]])
    want = embed.token_embedding.weight.data[tokens] * 2.0 + oop.create_sinusoidal_embeddings(6, 4).data[:3]
    np.testing.assert_allclose(embed(tokens).data, want, rtol=1e-6)
    assert embed(np.array([1, 2])).shape == (2, 4) and len(oop.EmbeddingLayer(10, 4).parameters()) == 2
    mlp = oop.MLP(4)
    assert mlp.hidden_dim == 16 and mlp(np.ones((2, 4), np.float32)).shape == (2, 4)
    assert oop.XAVIER_SCALE_FACTOR == 1.0 and oop.SGD(oop.Linear(2, 2).parameters()).lr == oop.DEFAULT_LEARNING_RATE_SGD
    assert (oop.INT8_MIN_VALUE, oop.INT8_MAX_VALUE, oop.INT8_RANGE) == (-128, 127, 256)  # int8's codes
    q = oop.quantize_int8(np.linspace(-1, 1, 9, dtype=np.float32))[0]
    assert q.data.min() >= oop.INT8_MIN_VALUE and q.data.max() == oop.INT8_MAX_VALUE
    assert q.data.dtype.itemsize == oop.BYTES_PER_INT8
    assert oop.DEFAULT_WARMUP_ITERATIONS < oop.DEFAULT_TIMING_ITERATIONS


def test_enable_kv_cache_reads_only_the_attributes_it_needs():
    class Model:
        embed_dim, num_layers, num_heads, max_seq_len = 8, 2, 2, 16

    model = Model()
    cache = oop.enable_kv_cache(model)
    assert model._kv_cache is cache and model._cache_enabled and cache.head_dim == 4
    oop.disable_kv_cache(model)
    assert not model._cache_enabled and not hasattr(model, "_kv_cache")
    del Model.max_seq_len
    with pytest.raises(AttributeError, match="max_seq_len"):
        oop.enable_kv_cache(Model())
