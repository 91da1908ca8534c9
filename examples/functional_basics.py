"""The seed module's example in functional style, then what the style buys: jit, grad, vmap.

Run: python examples/functional_basics.py
"""

import jax
import jax.numpy as jnp

import tinyjax as tj


def main() -> None:
    key, data_key = jax.random.split(jax.random.key(0))
    x = jax.random.normal(data_key, (32, 784))  # a batch of 32 flattened 28x28 images

    # Single linear layer: params are a dict, apply is a pure function.
    layer = tj.Linear(in_features=784, out_features=128)
    params = layer.init(key)
    print("Linear output:", layer.apply(params, x).shape)  # (32, 128)

    # Multi-layer network: params are a tuple, one entry per layer.
    model = tj.Sequential([tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10)])
    params = model.init(key)
    logits = model.apply(params, x)
    print("Sequential output:", logits.shape)  # (32, 10)
    print("parameters:", [p.shape for p in tj.parameters(params)])
    print("named:", list(tj.named_parameters(params)), "count:", tj.count_params(params))

    # grad with respect to params: a pytree of the same structure.
    labels = jnp.arange(32) % 10

    def loss(p: tj.Params) -> jax.Array:
        log_probs = jax.nn.log_softmax(model.apply(p, x))
        return -jnp.mean(log_probs[jnp.arange(32), labels])

    grads = jax.jit(jax.grad(loss))(params)
    print("grad of the first weight:", grads[0]["weight"].shape)

    # vmap over params: an ensemble of 8 networks from 8 keys, run as one program.
    ensemble = jax.vmap(model.init)(jax.random.split(key, 8))
    votes = jax.vmap(model.apply, in_axes=(0, None))(ensemble, x)
    print("ensemble logits:", votes.shape)  # (8, 32, 10)

    # A mistake names the layer and both shapes.
    try:
        model.apply(params, x[:, :100])
    except tj.ShapeError as error:
        print("caught:", error)


if __name__ == "__main__":
    main()
