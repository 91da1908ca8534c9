"""Make a trained digits MLP smaller and faster by transformation, and measure what each way costs and buys.

    python examples/compress.py OUT_DIR [--quick] [--seed N]

1. train ``Sequential(Linear(64, 256), ReLU(), Linear(256, 256), ReLU(), Linear(256, 10))`` on
   scikit-learn's digits (the dense model);
2. **structured pruning**: :func:`tinyjax.compress.structured_prune` removes half of each hidden
   layer's units (a 64-128-128-10 model), then a few hundred steps of fine-tuning;
3. **distillation**: a half-width student (64-128-128-10) trained from scratch on
   :func:`tinyjax.losses.distillation` of the dense model's logits;
4. **low rank**: :func:`tinyjax.compress.low_rank` factors each hidden Linear at rank 16, then fine-tuning;
5. **magnitude pruning**: 80% of the weights zeroed (:func:`tinyjax.compress.magnitude_prune`) and kept
   at zero through fine-tuning (:func:`tinyjax.compress.mask_updates`): the same shapes, so the same work.

For each: params, FLOPs of one batch of 256 as XLA counts them, latency at batch 256 (``tj.benchmark``
where the library has it, else the ``tj.compile`` predictor timed here), test accuracy. Writes
``compress.png`` (the four figures per model) and ``compress.json`` to OUT_DIR.

Needs ``pip install 'tinyjax[examples]'`` (scikit-learn, optax, matplotlib).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import tinyjax as tj

BATCH = 256  # the serving batch that FLOPs and latency are measured at


def mlp(width: int) -> tj.Layer:
    return tj.Sequential(tj.Linear(64, width), tj.ReLU(), tj.Linear(width, width), tj.ReLU(), tj.Linear(width, 10))


def load_data(seed: int):
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    return train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)


def fit(model, params, data, steps: int, lr: float, seed: int, *, teacher=None, masks=None):
    """``steps`` AdamW steps of batch 64: cross-entropy, or distillation from ``teacher``'s logits."""
    x_train, _, y_train, _ = data
    optimizer = optax.adamw(optax.cosine_decay_schedule(lr, steps), weight_decay=1e-4)
    if masks is not None:
        optimizer = optax.chain(optimizer, tj.compress.mask_updates(masks))
    state = optimizer.init(params)

    def loss_fn(p, x, y):
        logits = model.apply(p, x)
        if teacher is None:
            return tj.losses.cross_entropy(logits, y)
        teacher_model, teacher_params = teacher
        return tj.losses.distillation(logits, teacher_model.apply(teacher_params, x), y, temperature=4.0, alpha=0.7)

    @jax.jit
    def step(p, s, x, y):
        grads = jax.grad(loss_fn)(p, x, y)
        updates, s = optimizer.update(grads, s, p)
        return optax.apply_updates(p, updates), s

    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.integers(0, len(x_train), 64)
        params, state = step(params, state, x_train[idx], y_train[idx])
    return params


def accuracy(model, params, data) -> float:
    _, x_test, _, y_test = data
    return float(np.mean(np.argmax(np.asarray(model.apply(params, x_test)), -1) == y_test))


def seconds_per_call(run) -> float:
    """One timing of ``run()`` (seconds per call): ``tj.benchmark``'s median if the library has it, else a loop here."""
    if hasattr(tj, "benchmark"):
        return float(tj.benchmark(run, warmup=2, runs=5, min_time=0.02).median)
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < 0.02:
        run()
        calls += 1
    return (time.perf_counter() - start) / calls


def latencies_ms(runs: dict[str, object], rounds: int) -> dict[str, float]:
    """Median milliseconds per call of each ``run()``, timed in turns (rotating order) so load weighs on all alike."""
    names = list(runs)
    for run in runs.values():
        run()  # compiled and warm before any timing
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            samples[name].append(seconds_per_call(runs[name]))
    return {name: statistics.median(values) * 1e3 for name, values in samples.items()}


def measure(name: str, model, params, data, x: np.ndarray) -> dict:
    predictor = tj.compile(model, params, x)
    return {
        "model": name,
        "layers": model.name,
        "params": tj.count_params(params),
        "nonzero": int(sum(int(jnp.count_nonzero(p)) for p in tj.parameters(params))),
        "flops": int(predictor.cost_analysis(len(x))["flops"]),
        "accuracy": accuracy(model, params, data),
        "run": lambda: jax.block_until_ready(predictor(x)),
    }


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["model"] for r in rows]
    fields = [("params", "params"), ("flops", f"XLA FLOPs at batch {BATCH}"),
              ("latency_ms", f"latency at batch {BATCH} (ms)"), ("accuracy", "test accuracy")]  # fmt: skip
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    for axis, (key, title) in zip(axes, fields, strict=True):
        axis.bar(names, [r[key] for r in rows], color="tab:blue")
        axis.set_title(title)
        axis.tick_params(axis="x", rotation=45)
        if key == "accuracy":
            axis.set_ylim(min(r["accuracy"] for r in rows) - 0.05, 1.0)
    fig.suptitle("tinyjax.compress on the digits MLP")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    train_steps, tune_steps = (150, 30) if args.quick else (3000, 300)
    data = load_data(args.seed)
    x = np.resize(data[1], (BATCH, 64))  # the test images, repeated to one serving batch
    start = time.perf_counter()

    dense = mlp(256)
    dense_params = fit(dense, dense.init(jax.random.key(args.seed)), data, train_steps, 3e-3, args.seed)
    rows = [measure("dense", dense, dense_params, data, x)]

    pruned, pruned_params = tj.compress.structured_prune(dense, dense_params, 0.5)
    before = accuracy(pruned, pruned_params, data)
    pruned_params = fit(pruned, pruned_params, data, tune_steps, 1e-3, args.seed + 1)
    rows.append(measure("pruned 50%", pruned, pruned_params, data, x))
    print(f"structured pruning: {dense.name} -> {pruned.name}; accuracy {before:.4f} before fine-tuning")

    student = mlp(128)
    student_params = fit(student, student.init(jax.random.key(args.seed + 2)), data, train_steps, 3e-3,
                         args.seed + 2, teacher=(dense, dense_params))  # fmt: skip
    rows.append(measure("distilled half", student, student_params, data, x))

    hidden = lambda layer: layer.out_features != 10  # noqa: E731  (keep the classifier dense)
    factored, factored_params = tj.compress.low_rank(dense, dense_params, 16, select=hidden)
    factored_params = fit(factored, factored_params, data, tune_steps, 1e-3, args.seed + 3)
    rows.append(measure("low rank 16", factored, factored_params, data, x))

    sparse_params, masks = tj.compress.magnitude_prune(dense_params, 0.8)
    sparse_params = fit(dense, sparse_params, data, tune_steps, 1e-3, args.seed + 4, masks=masks)
    rows.append(measure("80% zeros", dense, sparse_params, data, x))
    print(f"magnitude pruning: sparsity after fine-tuning {tj.compress.sparsity(sparse_params):.4f}")

    times = latencies_ms({r["model"]: r.pop("run") for r in rows}, rounds=2 if args.quick else 30)
    for r in rows:
        r["latency_ms"] = times[r["model"]]
    print(f"\n{'model':16s} {'params':>8s} {'nonzero':>8s} {'XLA FLOPs':>11s} {'latency':>10s} {'accuracy':>9s}")
    for r in rows:
        print(f"{r['model']:16s} {r['params']:8d} {r['nonzero']:8d} {r['flops']:11d} "
              f"{r['latency_ms']:8.3f}ms {r['accuracy'] * 100:8.2f}%")  # fmt: skip
    gap = (rows[0]["accuracy"] - rows[1]["accuracy"]) * 100
    print(f"pruned 50% vs dense: params x{rows[1]['params'] / rows[0]['params']:.3f}, "
          f"FLOPs x{rows[1]['flops'] / rows[0]['flops']:.3f}, "
          f"latency x{rows[1]['latency_ms'] / rows[0]['latency_ms']:.2f}, "
          f"accuracy {gap:+.2f} points below dense")  # fmt: skip
    plot(rows, args.out_dir / "compress.png")
    (args.out_dir / "compress.json").write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.out_dir / 'compress.png'} and compress.json; total time {time.perf_counter() - start:.1f} s")
    if not args.quick and gap > 1.0:
        print("target missed: the pruned model is more than 1 point below the dense one")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
