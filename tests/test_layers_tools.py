"""tj.compile (the predictor) and the OOP bridge with the new layers: a CNN with BatchNorm, an Embedding model."""

import jax
import jax.numpy as jnp
import numpy as np

import tinyjax as tj
from tinyjax import oop

KEY = jax.random.key(0)


def test_compile_runs_a_cnn_with_batchnorm_in_inference_mode():
    model = tj.Sequential(tj.Conv2d(1, 4, 3, padding=1), tj.BatchNorm2d(4), tj.ReLU(), tj.MaxPool2d(2), tj.Flatten())
    params = model.init(KEY)
    x = jax.random.normal(KEY, (5, 1, 4, 4))
    predictor = tj.compile(model, params, x[:4])
    np.testing.assert_allclose(predictor(x), model.apply(params, x), rtol=1e-6, atol=1e-6)
    half = tj.compile(model, params, x[:4], dtype=jnp.bfloat16)
    np.testing.assert_allclose(half(x), model.apply(params, x), rtol=5e-2, atol=5e-2)


def test_compile_takes_integer_indices_for_an_embedding_model():
    model = tj.Sequential(tj.Embedding(10, 4), tj.LayerNorm(4), tj.Linear(4, 3))
    params = model.init(KEY)
    tokens = jnp.array([[1, 2, 3], [9, 0, 4], [5, 5, 5]], jnp.int32)
    for dtype in (None, jnp.bfloat16):
        predictor = tj.compile(model, params, tokens[:2], dtype=dtype)
        tolerance = 1e-6 if dtype is None else 5e-2
        np.testing.assert_allclose(predictor(tokens), model.apply(params, tokens), rtol=tolerance, atol=tolerance)
    try:
        predictor(tokens.astype(jnp.float32))
    except tj.DTypeError as error:
        assert "expected integer input" in str(error)
    else:
        raise AssertionError("floating indices were accepted")


def test_oop_classes_keep_tinytorch_constructors_and_share_the_arrays():
    conv = oop.Conv2d(1, 2, 3, padding=1)
    assert conv.weight.shape == (2, 1, 3, 3) and conv.bias.shape == (2,) and conv.kernel_size == (3, 3)
    assert oop.Conv2d(1, 2, 3, bias=False).bias is None
    embed = oop.Embedding(vocab_size=7, embed_dim=3)
    assert embed(np.array([[1, 2]])).shape == (1, 2, 3) and embed.vocab_size == 7
    positions = oop.PositionalEncoding(max_seq_len=5, embed_dim=3)
    x = np.ones((2, 4, 3), np.float32)
    np.testing.assert_array_equal(positions(x).data, x + positions.position_embeddings.data[:4])
    norm = oop.LayerNorm(3)
    assert [t.shape for t in norm.parameters()] == [(3,), (3,)] and norm.gamma is norm.weight
    model = oop.Sequential(conv, oop.BatchNorm2d(2), oop.MaxPool2d(2), oop.AvgPool2d(1), oop.Flatten())
    layer, params = model.to_functional()
    assert len(model.parameters()) == 4  # conv weight and bias, BatchNorm weight and bias: no running statistics
    model.eval()
    images = np.asarray(jax.random.normal(KEY, (2, 1, 4, 4)))
    np.testing.assert_allclose(model(images).data, layer.apply(params, images), rtol=1e-6, atol=1e-6)
