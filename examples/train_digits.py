"""Train an MLP on scikit-learn's handwritten digits, end to end, and ship its weights.

    python examples/train_digits.py OUT_DIR [--epochs N] [--steps N] [--quick]

* data: ``sklearn.datasets.load_digits`` (1,797 8x8 images bundled with scikit-learn, no download),
  pixels scaled to [0, 1], a stratified 80/20 train/test split;
* model: ``Sequential(Linear(64, 256), ReLU(), Linear(256, 128), ReLU(), Linear(128, 10))``;
* training: one ``jax.jit``-compiled step (``jax.value_and_grad`` of ``tinyjax.losses.cross_entropy``
  and an optax AdamW update, cosine-decayed learning rate) over shuffled mini-batches, with a tqdm progress bar;
* output in OUT_DIR: ``digits_curves.png`` (loss and accuracy per epoch), ``digits_mlp.safetensors``;
* then the weights are reloaded with ``tinyjax.load`` and four implementations are checked to agree
  on the test set: the jitted apply, ``tinyjax.compile``'s predictor, the OOP face
  (``tinyjax.oop.from_functional``) and a ``torch.nn.Sequential`` given the same weights.

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
    return tj.Sequential(tj.Linear(64, 256), tj.ReLU(), tj.Linear(256, 128), tj.ReLU(), tj.Linear(128, 10))


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # pixels are 0..16
    y = digits.target.astype(np.int32)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    return x_train, x_test, y_train, y_test


def train(model, params, data, *, epochs: int, max_steps: int | None, batch: int, lr: float, seed: int):
    x_train, x_test, y_train, y_test = data
    steps_per_epoch = len(x_train) // batch
    total = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    # Adam with a cosine decay to zero: the last epochs settle instead of bouncing between minima.
    optimizer = optax.adamw(optax.cosine_decay_schedule(lr, max(total, 1)), weight_decay=1e-4)
    state = optimizer.init(params)

    def loss_fn(p, x, y):
        return tj.losses.cross_entropy(model.apply(p, x), y)

    @jax.jit
    def step(p, s, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        updates, s = optimizer.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    @jax.jit
    def evaluate(p, x, y):
        logits = model.apply(p, x)
        return tj.losses.cross_entropy(logits, y), jnp.mean(jnp.argmax(logits, -1) == y)

    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
    done = 0
    with tqdm(total=total, desc="training", unit="step", file=sys.stdout, mininterval=0.5) as bar:
        while done < total:
            order = rng.permutation(len(x_train))
            for i in range(steps_per_epoch):
                if done == total:
                    break
                idx = order[i * batch : (i + 1) * batch]
                params, state, loss = step(params, state, x_train[idx], y_train[idx])
                done += 1
                bar.update()
            for split, (x, y) in (("train", (x_train, y_train)), ("test", (x_test, y_test))):
                loss, acc = evaluate(params, x, y)
                history[f"{split}_loss"].append(float(loss))
                history[f"{split}_acc"].append(float(acc))
            bar.set_postfix(loss=f"{history['train_loss'][-1]:.3f}", test_acc=f"{history['test_acc'][-1]:.3f}")
    return params, history


def plot(history: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history["train_loss"], label="train")
    left.plot(epochs, history["test_loss"], label="test")
    left.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    right.plot(epochs, history["train_acc"], label="train")
    right.plot(epochs, history["test_acc"], label="test")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle("tinyjax MLP on scikit-learn digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def torch_logits(params, x: np.ndarray) -> np.ndarray:
    import torch

    net = torch.nn.Sequential(
        torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    )
    net.load_state_dict(tj.interop.to_torch_state_dict(params, build_model()), strict=True)
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def check_agreement(model, params, x_test: np.ndarray, y_test: np.ndarray) -> float:
    """Every implementation gives the same logits (to 1e-4) and the same predicted classes."""
    reference = np.asarray(model.apply(params, x_test))
    predictor = tj.compile(model, params, x_test[:1])
    oop_model = tj.oop.from_functional(model, params)
    others = {
        "tinyjax.compile predictor": np.asarray(predictor(x_test)),
        "OOP face (tinyjax.oop)": np.asarray(oop_model(x_test).data),
        "torch.nn.Sequential": torch_logits(params, x_test),
    }
    for name, logits in others.items():
        gap = float(np.max(np.abs(logits - reference)))
        same = bool(np.array_equal(np.argmax(logits, -1), np.argmax(reference, -1)))
        print(f"  {name:28s} max |logits - apply| = {gap:.2e}, same predictions: {same}")
        if gap > 1e-4 or not same:
            raise SystemExit(f"{name} disagrees with the jitted apply")
    accuracy = float(np.mean(np.argmax(reference, -1) == y_test))
    print(f"all implementations agree on the {len(x_test)} test images (accuracy {accuracy:.4f})")
    return accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder for the curves PNG and the weights file")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps (smoke runs)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 30 steps")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    steps = 30 if args.quick and args.steps is None else args.steps
    args.out_dir.mkdir(parents=True, exist_ok=True)

    model = build_model()
    data = load_data(args.seed)
    print(f"digits: {len(data[0])} train / {len(data[1])} test images, model {model.name}")
    start = time.perf_counter()
    params = model.init(jax.random.key(args.seed))
    params, history = train(
        model, params, data, epochs=args.epochs, max_steps=steps, batch=args.batch, lr=args.lr, seed=args.seed
    )
    jax.block_until_ready(params)
    seconds = time.perf_counter() - start
    test_acc = history["test_acc"][-1]
    print(f"test accuracy: {test_acc:.4f} ({test_acc * 100:.2f}%)")
    print(f"training time: {seconds:.1f} s (compilation included)")

    curves = args.out_dir / "digits_curves.png"
    plot(history, curves)
    weights = args.out_dir / "digits_mlp.safetensors"
    tj.save(weights, params, layer=model, metadata={"dataset": "sklearn digits", "test_accuracy": f"{test_acc:.4f}"})
    print(f"wrote {curves} and {weights}")

    reloaded = tj.load(weights, model)
    same_bits = all(np.array_equal(a, b) for a, b in zip(tj.parameters(params), tj.parameters(reloaded), strict=True))
    print(f"reloaded {weights.name}: bit-identical to the trained params: {same_bits}")
    if not same_bits:
        raise SystemExit("reloaded weights differ from the trained ones")
    check_agreement(model, reloaded, data[1], data[3])
    if steps is None and test_acc < 0.97:
        print("target missed: test accuracy below 97%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
