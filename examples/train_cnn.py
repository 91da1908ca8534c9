"""Train a small CNN with BatchNorm on scikit-learn's 8x8 digits, functionally, then check it in both faces and torch.

    python examples/train_cnn.py OUT_DIR [--epochs N] [--quick]

* data: ``sklearn.datasets.load_digits`` as ``(N, 1, 8, 8)`` images in [0, 1], a stratified 80/20 split;
* model: ``Conv2d(1, 32, 3, padding=1) -> BatchNorm2d -> ReLU -> MaxPool2d(2) -> Conv2d(32, 64, 3,
  padding=1) -> BatchNorm2d -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(256, 10)``;
* training: the params split in two (``tinyjax.split_state``): optax's AdamW sees only the trainable
  half; each jitted step returns the new running statistics beside the loss (``training=True``), with
  a tqdm progress bar; evaluation runs in inference mode (the running statistics);
* output in OUT_DIR: ``cnn_curves.png`` (loss and accuracy per epoch) and ``cnn.safetensors`` (weights
  and running statistics); then the same weights in the OOP face (``tinyjax.oop``, ``eval()``) and in
  ``torch.nn`` (``to_torch_state_dict``, ``strict=True``, ``eval()``) must give the same predictions.

Needs ``pip install 'tinyjax[examples,torch]'``. Prints the test accuracy and the training time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import tinyjax as tj
import tinyjax.oop


def build_model() -> tj.Layer:
    return tj.Sequential(
        tj.Conv2d(1, 32, 3, padding=1), tj.BatchNorm2d(32), tj.ReLU(), tj.MaxPool2d(2),
        tj.Conv2d(32, 64, 3, padding=1), tj.BatchNorm2d(64), tj.ReLU(), tj.MaxPool2d(2),
        tj.Flatten(), tj.Linear(256, 10),
    )  # fmt: skip


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8), pixels are 0..16
    y = digits.target.astype(np.int32)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    return x_train, x_test, y_train, y_test


def train(model, params, data, *, epochs: int, batch: int, lr: float, seed: int):
    x_train, x_test, y_train, y_test = data
    steps_per_epoch = len(x_train) // batch
    trainable, state = tj.split_state(model, params)  # the optimizer never sees the running statistics
    optimizer = optax.adamw(optax.cosine_decay_schedule(lr, epochs * steps_per_epoch), weight_decay=1e-4)
    opt_state = optimizer.init(trainable)

    def loss_fn(trainable, state, x, y):
        logits, new_state = model.apply(tj.merge_state(trainable, state), x, training=True)
        return tj.losses.cross_entropy(logits, y), new_state

    @jax.jit
    def step(trainable, state, opt_state, x, y):
        (loss, state), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable, state, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, trainable)
        return optax.apply_updates(trainable, updates), state, opt_state, loss

    @jax.jit
    def evaluate(params, x, y):
        logits = model.apply(params, x)  # inference: the running statistics
        return tj.losses.cross_entropy(logits, y), jnp.mean(jnp.argmax(logits, -1) == y)

    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
    with tqdm(total=epochs * steps_per_epoch, desc="training", unit="step", file=sys.stdout, mininterval=0.5) as bar:
        for _ in range(epochs):
            order = rng.permutation(len(x_train))
            for i in range(steps_per_epoch):
                idx = order[i * batch : (i + 1) * batch]
                trainable, state, opt_state, _ = step(trainable, state, opt_state, x_train[idx], y_train[idx])
                bar.update()
            params = tj.merge_state(trainable, state)
            for split, (x, y) in (("train", (x_train, y_train)), ("test", (x_test, y_test))):
                loss, acc = evaluate(params, x, y)
                history[f"{split}_loss"].append(float(loss))
                history[f"{split}_acc"].append(float(acc))
            bar.set_postfix(loss=f"{history['train_loss'][-1]:.3f}", test_acc=f"{history['test_acc'][-1]:.3f}")
    return tj.merge_state(trainable, state), history


def plot(history: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "test"):
        left.plot(epochs, history[f"{split}_loss"], label=split)
        right.plot(epochs, history[f"{split}_acc"], label=split)
    left.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy (inference mode)")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle("tinyjax CNN (Conv2d, BatchNorm2d, MaxPool2d) on scikit-learn digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def torch_module(layer: tj.Layer):
    """``torch.nn.Sequential`` of the modules each layer describes (``layer.torch``)."""
    import torch

    return torch.nn.Sequential(*(getattr(torch.nn, c.torch.module)(**c.torch.kwargs) for c in layer.children))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="2 epochs: a smoke run for CI (no accuracy target)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    epochs = 2 if args.quick else args.epochs

    data = load_data(args.seed)
    model = build_model()
    params = model.init(jax.random.key(args.seed))
    start = time.perf_counter()
    params, history = train(model, params, data, epochs=epochs, batch=64, lr=3e-3, seed=args.seed)
    seconds = time.perf_counter() - start
    print(f"test accuracy: {history['test_acc'][-1]:.2%} ({len(data[1])} images)")
    print(f"training time: {seconds:.1f} s ({epochs} epochs, compilation included)")
    plot(history, args.out_dir / "cnn_curves.png")
    tj.save(args.out_dir / "cnn.safetensors", params, layer=model, metadata={"dataset": "sklearn digits"})

    x_test = data[1]
    ours = np.asarray(jnp.argmax(model.apply(params, x_test), -1))
    module = tinyjax.oop.from_functional(model, tj.load(args.out_dir / "cnn.safetensors", model)).eval()
    oop = np.asarray(jnp.argmax(module(x_test).data, -1))
    import torch

    net = torch_module(model).eval()
    net.load_state_dict(tj.interop.to_torch_state_dict(params, model), strict=True)
    with torch.no_grad():
        theirs = net(torch.from_numpy(x_test)).argmax(-1).numpy()
    for name, predictions in (("OOP face (tinyjax.oop)", oop), ("torch.nn.Sequential", theirs)):
        print(f"{name}: {int((predictions == ours).sum())}/{len(ours)} predictions equal to the functional model's")
    same = bool((oop == ours).all() and (theirs == ours).all())
    print(f"all three agree on the {len(ours)} test images: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
