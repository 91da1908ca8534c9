"""Train a small GPT on Python's own source, sample from it, and decode it in both faces.

    python examples/tiny_gpt.py OUT_DIR [--steps N] [--quick] [--tokenizer char|bpe]

* text: the source of a few standard-library modules (``argparse``, ``difflib``, ``textwrap``,
  ``pprint``, ``string``), read from this Python's installation (no download); the last 10% is
  the validation text. Characters outside printable ASCII become ``?``;
* tokens (``tinyjax.text``): ``char`` (one id per character) or ``bpe`` (TinyTorch's byte-pair
  encoding with 512 ids, trained on the training 90% of the text);
* model: ``tj.GPT(vocab, 64, 3 layers, 4 heads, 64 positions)``: a Sequential of pure pairs;
* training: one ``jax.jit``-compiled AdamW step on random windows, a tqdm progress bar;
* output in OUT_DIR: ``tiny_gpt_loss.png`` (train and validation loss against the unigram entropy),
  ``tiny_gpt.safetensors``;
* samples before and after training, greedy and top-k, decoded with the KV cache
  (``tj.gpt.generate``), then the same greedy text from the OOP face (``tinyjax.oop.GPT.generate``
  on the same weights).

Prints the validation loss in nats per *character* for either tokenizer (the summed loss of every
validation token over the characters those tokens spell), so the two compare, against the text's
unigram entropy, and the training time. The validation text is cut into blocks at blank lines,
each block into windows, and the windows are padded to three static lengths with ``text.bucket``
(masks mark the real tokens): the jitted evaluation compiles once per bucket, not once per length.
Needs ``pip install 'tinyjax[examples]'``.
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
from tinyjax import text as tokens

MODULES = ("argparse", "difflib", "textwrap", "pprint", "string")
PROMPT = "def "
BPE_VOCAB = 512


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


def validation_batches(vocab: tokens.Vocab, val_text: str, length: int, batch: int) -> list[tokens.Batch]:
    """The validation text as windows of at most ``length + 1`` ids (inputs and their next ids), cut at
    blank lines, padded to three static lengths."""
    windows = []
    for block in val_text.split("\n\n"):
        ids = tokens.encode(vocab, block + "\n\n")
        windows += [ids[i : i + length + 1] for i in range(0, max(len(ids) - 1, 1), length)]
    windows = [w for w in windows if len(w) > 1]
    lengths = (length // 4 + 1, length // 2 + 1, length + 1)
    return tokens.bucket(windows, lengths, batch_size=batch)


def characters_per_id(vocab: tokens.Vocab) -> np.ndarray:
    """How many characters of text each id spells: an escaped character counts once, on its <esc>."""
    counts = np.array([len(t) for t in vocab.texts], np.float32)
    counts[0] = 1.0
    return counts


def evaluator(model, vocab: tokens.Vocab):
    """``evaluate(params, batch) -> (summed loss in nats, characters)`` over the masked targets, and a
    counter of the programs it compiled (one per distinct batch shape)."""
    compiled = {"programs": 0}
    chars = jnp.asarray(characters_per_id(vocab))

    @jax.jit
    def totals(params, ids, mask):
        compiled["programs"] += 1  # runs once per trace, and jit traces once per new shape
        x, y, m = ids[:, :-1], ids[:, 1:], mask[:, 1:]
        logits = model.apply(params, x)
        nll = -jnp.take_along_axis(jax.nn.log_softmax(logits.astype(jnp.float32)), y[..., None], -1)[..., 0]
        return jnp.sum(nll * m), jnp.sum(chars[y] * m)

    def evaluate(params, batches: list[tokens.Batch]) -> float:
        loss, count = 0.0, 0.0
        for b in batches:
            total, n = totals(params, b.tokens, b.mask)
            loss, count = loss + float(total), count + float(n)
        return loss / count

    return evaluate, compiled


def train(
    model, params, train_data, val_batches, evaluate, *, steps: int, batch: int, length: int, lr: float, seed: int
):
    optimizer = optax.adamw(optax.warmup_cosine_decay_schedule(0.0, lr, min(100, steps // 10 + 1), steps), 0.01)
    state = optimizer.init(params)

    def loss_fn(p, x, y):
        return tj.losses.cross_entropy(model.apply(p, x), y)

    @jax.jit
    def step(p, s, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        updates, s = optimizer.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"step": [], "train": [], "val": []}
    every = max(steps // 20, 1)
    with tqdm(total=steps, desc="training", unit="step", file=sys.stdout, mininterval=1.0) as bar:
        for i in range(1, steps + 1):
            params, state, loss = step(params, state, *batches(train_data, rng, batch, length))
            bar.update()
            if i % every == 0 or i == steps:
                val = evaluate(params, val_batches)
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
    axis.plot(history["step"], history["train_per_char"], label="train (one batch)")
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
    parser.add_argument("--tokenizer", choices=("char", "bpe"), default="char", help="tokens: characters or BPE")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    text = load_text()
    split = int(0.9 * len(text))
    train_text, val_text = text[:split], text[split:]
    start = time.perf_counter()
    vocab = tokens.char_vocab(text) if args.tokenizer == "char" else tokens.train_bpe(train_text, BPE_VOCAB)
    data = np.array(tokens.encode(vocab, train_text), np.int32)
    tokenize_seconds = time.perf_counter() - start
    entropy = unigram_entropy(text)
    print(f"text: {len(text):,} characters of {', '.join(MODULES)}")
    print(
        f"tokenizer: {args.tokenizer}, vocabulary {len(vocab)}, {len(train_text) / len(data):.2f} characters per "
        f"token on the training text ({tokenize_seconds:.1f} s to build and encode)"
    )
    print(f"unigram entropy: {entropy:.3f} nats/char ({entropy / math.log(2):.3f} bits)")

    embed, layers, heads, length = (32, 1, 2, 32) if args.quick else (64, 3, 4, 64)
    steps = 30 if args.quick else args.steps
    model = tj.GPT(len(vocab), embed, layers, heads, length)
    params = model.init(jax.random.key(args.seed))
    print(f"model: {tj.count_params(params):,} params, {model.name}")

    def decode(ids) -> str:
        return PROMPT + tokens.decode(vocab, np.asarray(ids)[0], errors="replace")  # a sample may hold a stray <esc>

    prompt = jnp.array([tokens.encode(vocab, PROMPT)], jnp.int32)
    new = length - prompt.shape[1]
    show("before training (greedy)", decode(tj.gpt.generate(model, params, prompt, new)))

    val_batches = validation_batches(vocab, val_text, length, batch=32)
    evaluate, compiled = evaluator(model, vocab)
    print(f"validation loss before training: {evaluate(params, val_batches):.3f} nats/char")
    start = time.perf_counter()
    params, history = train(
        model, params, data, val_batches, evaluate, steps=steps, batch=32, length=length, lr=3e-3, seed=args.seed
    )
    seconds = time.perf_counter() - start
    history["train_per_char"] = [loss * len(data) / len(train_text) for loss in history["train"]]
    shapes = sorted({b.tokens.shape for b in val_batches})
    print(f"training time: {seconds:.1f} s for {steps} steps")
    print(f"validation loss: {history['val'][-1]:.3f} nats/char against a unigram entropy of {entropy:.3f}")
    print(f"validation programs compiled: {compiled['programs']} for {len(shapes)} bucket shapes {shapes}")
    plot(history, entropy, args.out_dir / "tiny_gpt_loss.png")
    tj.save(args.out_dir / "tiny_gpt.safetensors", params, layer=model, metadata={"text": "+".join(MODULES)})
    tokens.save_vocab(vocab, args.out_dir / "tiny_gpt_vocab.json")

    greedy = tj.gpt.generate(model, params, prompt, new)
    show("after training (greedy, KV cache)", decode(greedy))
    sampled = tj.gpt.generate(model, params, prompt, new, key=jax.random.key(1), temperature=0.8, top_k=10)
    show("after training (temperature 0.8, top-10)", decode(sampled))

    oop_model = tinyjax.oop.GPT.from_functional(model, params)  # the same arrays, TinyTorch's GPT API
    tinyjax.oop.enable_kv_cache(oop_model)  # module 17; without it each new length compiles a forward pass
    oop_text = oop_model.generate(tinyjax.oop.Tensor(prompt), max_new_tokens=new, temperature=0.0)
    same = bool(np.array_equal(np.asarray(oop_text.data)[:, prompt.shape[1] :], np.asarray(greedy)))
    print(f"OOP face (tinyjax.oop.GPT.generate) gives the same greedy text: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
