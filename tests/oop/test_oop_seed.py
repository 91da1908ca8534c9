"""The seed module's example usage and inline tests, run through tinyjax.oop.

Only the import lines differ from ../shared/seed/03-layers.md.
"""

import numpy as np

from tinyjax.oop import Linear, ReLU, Sequential, Tensor


def test_example_usage():
    # Single linear layer
    layer = Linear(in_features=784, out_features=128)
    x = Tensor(np.random.randn(32, 784))  # Batch of 32 images
    output = layer.forward(x)  # Shape: (32, 128)
    assert output.shape == (32, 128)

    # Multi-layer network
    model = Sequential([Linear(784, 128), ReLU(), Linear(128, 64), ReLU(), Linear(64, 10)])

    logits = model.forward(x)  # Shape: (32, 10)
    assert logits.shape == (32, 10)


def test_inline_tests(capsys):
    # Test Linear layer shape
    layer = Linear(10, 5)
    x = Tensor(np.random.randn(3, 10))  # Batch of 3
    y = layer.forward(x)
    assert y.shape == (3, 5)
    print("✓ Linear shape correct")

    # Test parameter count
    params = layer.parameters()
    assert len(params) == 2  # weight + bias
    assert params[0].shape == (10, 5)
    assert params[1].shape == (5,)
    print("✓ Parameters correct")

    # Test Sequential
    model = Sequential([Linear(10, 5), ReLU(), Linear(5, 2)])
    output = model.forward(x)
    assert output.shape == (3, 2)
    print("✓ Sequential working")
    assert capsys.readouterr().out.count("✓") == 3


def test_step_by_step_pieces():
    # Step 1: Xavier bounds and zero bias, weight (in, out)
    layer = Linear(784, 256)
    limit = np.sqrt(6 / (784 + 256))
    assert layer.weight.shape == (784, 256)
    assert np.all(np.abs(layer.weight.numpy()) <= limit)
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(256))
    assert layer.in_features == 784 and layer.out_features == 256
    # forward: y = xW + b
    x = Tensor(np.random.randn(4, 784))
    expected = x.numpy() @ layer.weight.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(layer.forward(x).numpy(), expected, rtol=1e-4, atol=1e-4)
    # Step 2 and 4: parameter management
    assert layer.parameters()[0] is layer.weight and layer.parameters()[1] is layer.bias
    model = Sequential([Linear(784, 256), ReLU(), Linear(256, 10)])
    all_params = model.parameters()  # [W1, b1, W2, b2]
    assert [p.shape for p in all_params] == [(784, 256), (256,), (256, 10), (10,)]
    assert all_params[0] is model.layers[0].weight and all_params[3] is model.layers[2].bias
