"""Train a character-level GPT on Python's own source, sample from it, and decode it in both faces.

    python examples/tiny_gpt.py OUT_DIR [--steps N] [--quick]

* text: the source of a few standard-library modules (``argparse``, ``difflib``, ``textwrap``,
  ``pprint``, ``string``), read from this Python's installation (no download); the last 10% is
  the validation text. Characters outside printable ASCII become ``?``;
* model: ``tj.GPT(vocab, 64, 3 layers, 4 heads, 64 positions)``: a Sequential of pure pairs;
* training: one ``jax.jit``-compiled AdamW step on random windows, a tqdm progress bar;
* output in OUT_DIR: ``tiny_gpt_loss.png`` (train and validation loss against the unigram entropy),
  ``tiny_gpt.safetensors``;
* samples before and after training, greedy and top-k, decoded with the KV cache
  (``tj.gpt.generate``), then the same greedy text from the OOP face (``tinyjax.oop.GPT.generate``
  on the same weights).

Prints the validation loss and the text's unigram entropy (both in nats per character) and the
training time. Needs ``pip install 'tinyjax[examples]'``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import math
import sys
import time
from collections import Counter
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

import tinyjax as tj
import tinyjax.oop

MODULES = ("argparse", "difflib", "textwrap", "pprint", "string")
PROMPT = "def "


def load_text() -> str:
    text = "\n".join(inspect.getsource(importlib.import_module(name)) for name in MODULES)
    return "".join(c if (32 <= ord(c) < 127 or c == "\n") else "?" for c in text)


def unigram_entropy(text: str) -> float:
    """Entropy of the text's character frequencies, in nats: the loss of the best model that ignores context."""
    counts = np.array(list(Counter(text).values()), np.float64)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def batches(data: np.ndarray, rng: np.random.Generator, batch: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    starts = rng.integers(0, len(data) - length - 1, batch)
    windows = np.stack([data[s : s + length + 1] for s in starts])
    return windows[:, :-1], windows[:, 1:]


def train(model, params, train_data, val_data, *, steps: int, batch: int, length: int, lr: float, seed: int):
    optimizer = optax.adamw(optax.warmup_cosine_decay_schedule(0.0, lr, min(100, steps // 10 + 1), steps), 0.01)
    state = optimizer.init(params)

    def loss_fn(p, x, y):
        return tj.losses.cross_entropy(model.apply(p, x), y)

    @jax.jit
    def step(p, s, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        updates, s = optimizer.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    evaluate = jax.jit(loss_fn)
    rng, val_rng = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    val_batches = [batches(val_data, val_rng, batch, length) for _ in range(4)]  # the same windows every time
    history: dict[str, list[float]] = {"step": [], "train": [], "val": []}
    every = max(steps // 20, 1)
    with tqdm(total=steps, desc="training", unit="step", file=sys.stdout, mininterval=1.0) as bar:
        for i in range(1, steps + 1):
            params, state, loss = step(params, state, *batches(train_data, rng, batch, length))
            bar.update()
            if i % every == 0 or i == steps:
                val = float(np.mean([evaluate(params, x, y) for x, y in val_batches]))
                history["step"].append(i)
                history["train"].append(float(loss))
                history["val"].append(val)
                bar.set_postfix(loss=f"{float(loss):.3f}", val=f"{val:.3f}")
    return params, history


def plot(history: dict[str, list[float]], entropy: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(7, 4))
    axis.plot(history["step"], history["train"], label="train (one batch)")
    axis.plot(history["step"], history["val"], label="validation")
    axis.axhline(entropy, color="gray", linestyle="--", label=f"unigram entropy {entropy:.2f}")
    axis.set(xlabel="step", ylabel="cross-entropy (nats / char)", title="tinyjax GPT on the stdlib's source")
    axis.grid(alpha=0.3)
    axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def show(label: str, text: str) -> None:
    print(f"--- {label} ---\n{text}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder for the loss curve PNG and the weights file")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--quick", action="store_true", help="a tiny model and 30 steps (CI)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    text = load_text()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    data = np.array([index[c] for c in text], np.int32)
    split = int(0.9 * len(data))
    entropy = unigram_entropy(text)
    print(f"text: {len(text):,} characters of {', '.join(MODULES)}; vocabulary {len(chars)}")
    print(f"unigram entropy: {entropy:.3f} nats/char ({entropy / math.log(2):.3f} bits)")

    embed, layers, heads, length = (32, 1, 2, 32) if args.quick else (64, 3, 4, 64)
    steps = 30 if args.quick else args.steps
    model = tj.GPT(len(chars), embed, layers, heads, length)
    params = model.init(jax.random.key(args.seed))
    print(f"model: {tj.count_params(params):,} params, {model.name}")

    def decode(tokens) -> str:
        return PROMPT + "".join(chars[int(t)] for t in np.asarray(tokens)[0])

    prompt = jnp.array([[index[c] for c in PROMPT]], jnp.int32)
    new = length - len(PROMPT)
    show("before training (greedy)", decode(tj.gpt.generate(model, params, prompt, new)))

    start = time.perf_counter()
    params, history = train(
        model, params, data[:split], data[split:], steps=steps, batch=32, length=length, lr=3e-3, seed=args.seed
    )
    seconds = time.perf_counter() - start
    print(f"training time: {seconds:.1f} s for {steps} steps")
    print(f"validation loss: {history['val'][-1]:.3f} nats/char against a unigram entropy of {entropy:.3f}")
    plot(history, entropy, args.out_dir / "tiny_gpt_loss.png")
    tj.save(args.out_dir / "tiny_gpt.safetensors", params, layer=model, metadata={"text": "+".join(MODULES)})

    greedy = tj.gpt.generate(model, params, prompt, new)
    show("after training (greedy, KV cache)", decode(greedy))
    sampled = tj.gpt.generate(model, params, prompt, new, key=jax.random.key(1), temperature=0.8, top_k=10)
    show("after training (temperature 0.8, top-10)", decode(sampled))

    oop_model = tinyjax.oop.GPT.from_functional(model, params)  # the same arrays, TinyTorch's GPT API
    tinyjax.oop.enable_kv_cache(oop_model)  # module 17; without it each new length compiles a forward pass
    oop_text = oop_model.generate(tinyjax.oop.Tensor(prompt), max_new_tokens=new, temperature=0.0)
    same = bool(np.array_equal(np.asarray(oop_text.data)[:, len(PROMPT) :], np.asarray(greedy)))
    print(f"OOP face (tinyjax.oop.GPT.generate) gives the same greedy text: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
