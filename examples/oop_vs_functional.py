"""OOP versus functional, measured: the seed MLP built both ways with the same weights.

Run: python examples/oop_vs_functional.py OUT_DIR [--quick]

1. Builds the seed MLP (784-128-64-10) functionally, moves the weights into the OOP face and into
   a pure-NumPy TinyTorch-style model, and asserts all three give the same outputs.
2. Measures, interleaving the candidates so that machine noise hits all alike (medians):
   (a) forward latency by batch size: NumPy OOP, tinyjax.oop eager (one dispatch per layer),
       functional Sequential (one compiled program);
   (b) an ensemble of 64 MLPs from 64 keys: jax.vmap over params vs a loop over 64 OOP objects
       (init and forward);
   (c) per-example gradients for a batch of 32: jax.vmap(jax.grad) vs a loop over the examples.
3. Prints a markdown table and the target checks, writes OUT_DIR/oop_vs_functional.{md,json,png}.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import tinyjax as tj
from tinyjax import oop

SIZES = (784, 128, 64, 10)


# --- the course's own design: a pure-NumPy OOP model, as TinyTorch builds it -------------------
class NumpyLinear:
    def __init__(self, in_features: int, out_features: int) -> None:
        limit = np.sqrt(6 / (in_features + out_features))
        self.weight = np.random.uniform(-limit, limit, (in_features, out_features)).astype(np.float32)
        self.bias = np.zeros(out_features, np.float32)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weight + self.bias

    def parameters(self) -> list[np.ndarray]:
        return [self.weight, self.bias]


class NumpyReLU:
    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0)

    def parameters(self) -> list[np.ndarray]:
        return []


class NumpySequential:
    def __init__(self, layers: list) -> None:
        self.layers = layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x


def numpy_mlp_from(params: tuple) -> NumpySequential:
    model = NumpySequential(
        [NumpyLinear(784, 128), NumpyReLU(), NumpyLinear(128, 64), NumpyReLU(), NumpyLinear(64, 10)]
    )
    for layer, p in zip(model.layers, params, strict=True):
        if isinstance(layer, NumpyLinear):
            layer.weight, layer.bias = np.asarray(p["weight"]), np.asarray(p["bias"])
    return model


def oop_mlp(key: jax.Array) -> oop.Sequential:
    """The seed MLP built through tinyjax.oop's constructors, one Linear at a time.

    The keys are split as ``tinyjax.Sequential.init`` splits them (one per layer), so the weights
    equal ``functional.init(key)`` bit for bit.
    """
    keys = jax.random.split(key, 5)
    return oop.Sequential(
        oop.Linear(784, 128, key=keys[0]),
        oop.ReLU(),
        oop.Linear(128, 64, key=keys[2]),
        oop.ReLU(),
        oop.Linear(64, 10, key=keys[4]),
    )


# --- measuring --------------------------------------------------------------------------------
def interleaved_medians(candidates: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds per call of each candidate, each call waited for, after one warm-up.

    The candidates take turns, one call each per round, in a fresh random order every round, so
    that none always follows the same neighbour (NumPy's BLAS threads spin for a while after a call,
    and slow down whatever runs next on a 2-core machine).
    """
    for fn in candidates.values():  # warm-up: the first calls run slower (docs/performance.md)
        warm_until = time.perf_counter() + 0.2
        while time.perf_counter() < warm_until:
            jax.block_until_ready(fn())
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    order = list(candidates)
    shuffler = random.Random(0)
    for _ in range(repeats):
        shuffler.shuffle(order)
        for name in order:
            fn = candidates[name]
            start = time.perf_counter()
            jax.block_until_ready(fn())
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="folder for the table, the JSON and the PNG plot")
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke run, figures are rough)")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    repeats = 3 if args.quick else 30

    functional = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
    params = functional.init(jax.random.key(0))
    objects = oop.from_functional(functional, params)
    numpy_model = numpy_mlp_from(params)

    # 1. the same weights give the same outputs
    x = np.random.default_rng(0).standard_normal((32, 784)).astype(np.float32)
    reference = np.asarray(functional.apply(params, x))
    np.testing.assert_allclose(objects(x).numpy(), reference, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(numpy_model.forward(x), reference, rtol=1e-5, atol=1e-5)
    drop_key = jax.random.key(9)
    np.testing.assert_array_equal(
        oop.Dropout(0.5)(x, training=True, key=drop_key).numpy(), tj.Dropout(0.5).apply((), x, key=drop_key)
    )
    print("same weights: OOP and functional outputs equal to 1e-6; NumPy to 1e-5; Dropout masks identical")

    rows: list[dict[str, object]] = []

    # (a) latency by batch size
    for batch in (1, 32, 256, 4096):
        xb = np.random.default_rng(batch).standard_normal((batch, 784)).astype(np.float32)
        xj = jnp.asarray(xb)
        times = interleaved_medians(
            {
                "numpy OOP": lambda xb=xb: numpy_model.forward(xb),
                "tinyjax.oop eager": lambda xj=xj: objects(xj).data,
                "functional jit": lambda xj=xj: functional.apply(params, xj),
            },
            {1: 10, 32: 5, 256: 2}.get(batch, 1) * repeats if batch < 4096 else max(3, repeats // 3),
        )
        rows.append({"measure": f"(a) forward, batch {batch}", **times})

    # (b) ensemble of 64 from 64 keys
    keys = jax.random.split(jax.random.key(1), 64)
    x32 = jnp.asarray(x)

    def oop_ensemble_init() -> list:  # returns the arrays, so that the timer waits for them
        members = [oop_mlp(k) for k in keys]
        return [tensor.data for member in members for tensor in member.parameters()]

    ensemble_init = jax.jit(jax.vmap(functional.init))
    ensemble_apply = jax.jit(jax.vmap(functional.apply, in_axes=(0, None)))
    stacked = ensemble_init(keys)
    members = [oop_mlp(k) for k in keys]
    # built the OOP way, layer by layer, the 64 objects hold the very weights vmap drew
    for i in (0, 63):
        for got, want in zip(
            jax.tree_util.tree_leaves(members[i].params), jax.tree_util.tree_leaves(stacked), strict=True
        ):
            np.testing.assert_array_equal(got, want[i])
    np.testing.assert_allclose(
        np.stack([m(x32).numpy() for m in members]), ensemble_apply(stacked, x32), rtol=1e-5, atol=1e-5
    )
    ens_repeats = max(3, repeats // 5)
    init_times = interleaved_medians({"loop": oop_ensemble_init, "vmap": lambda: ensemble_init(keys)}, ens_repeats)
    rows.append(
        {"measure": "(b) ensemble of 64: init", "loop of objects": init_times["loop"], "vmap": init_times["vmap"]}
    )
    mapped_init = jax.jit(lambda ks: jax.lax.map(functional.init, ks))
    np.testing.assert_array_equal(mapped_init(keys)[0]["weight"], stacked[0]["weight"])
    init_map = interleaved_medians(
        {"vmap": lambda: ensemble_init(keys), "lax.map": lambda: mapped_init(keys)}, ens_repeats
    )
    notes = [
        f"ensemble init through jax.lax.map over the keys instead of jax.vmap: {_fmt(init_map['lax.map'])} "
        f"(vmap {_fmt(init_map['vmap'])} in the same run): init is random-number bound, and vmapped threefry "
        "is slower on CPU than threefry run key by key"
    ]
    for batch in (1, 32):
        xb = x32[:batch]
        times = interleaved_medians(
            {"loop": lambda xb=xb: [m(xb).data for m in members], "vmap": lambda xb=xb: ensemble_apply(stacked, xb)},
            ens_repeats,
        )
        measure = f"(b) ensemble of 64: forward, batch {batch}"
        rows.append({"measure": measure, "loop of objects": times["loop"], "vmap": times["vmap"]})

    # (c) per-example gradients, batch 32
    labels = jnp.arange(32) % 10

    def loss(p: tj.Params, xi: jax.Array, yi: jax.Array) -> jax.Array:
        return -jax.nn.log_softmax(functional.apply(p, xi))[yi]

    one_grad = jax.jit(jax.grad(loss))
    per_example = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
    looped = [one_grad(params, x32[i], labels[i]) for i in range(32)]
    batched = per_example(params, x32, labels)
    np.testing.assert_allclose(np.stack([g[0]["weight"] for g in looped]), batched[0]["weight"], rtol=1e-4, atol=1e-6)
    grad_times = interleaved_medians(
        {
            "loop": lambda: [one_grad(params, x32[i], labels[i]) for i in range(32)],
            "vmap": lambda: per_example(params, x32, labels),
        },
        max(3, repeats // 3),
    )
    rows.append(
        {
            "measure": "(c) per-example grads, batch 32",
            "loop of objects": grad_times["loop"],
            "vmap": grad_times["vmap"],
        }
    )

    report(rows, notes, args.out_dir, quick=args.quick)


def _fmt(seconds: object) -> str:
    if not isinstance(seconds, float):
        return ""
    return f"{seconds * 1e6:,.0f} us" if seconds < 1e-2 else f"{seconds * 1e3:,.1f} ms"


def report(rows: list[dict[str, object]], notes: list[str], out_dir: Path, quick: bool) -> None:
    columns = ["numpy OOP", "tinyjax.oop eager", "functional jit", "loop of objects", "vmap"]
    lines = [
        "| measure | " + " | ".join(columns) + " | speed-up of the functional design |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for row in rows:
        if "functional jit" in row:
            ratio = row["tinyjax.oop eager"] / row["functional jit"]  # type: ignore[operator]
        else:
            ratio = row["loop of objects"] / row["vmap"]  # type: ignore[operator]
        row["speedup"] = ratio
        lines.append(f"| {row['measure']} | " + " | ".join(_fmt(row.get(c)) for c in columns) + f" | {ratio:.1f}x |")
    table = "\n".join(lines)
    machine = f"jax {jax.__version__}, {jax.devices()[0].platform}, {jax.device_count()} device(s)"
    print(f"\n{table}\n\n({machine}; medians of interleaved calls{'; --quick: rough figures' if quick else ''})")
    for note in notes:
        print(f"note: {note}")
    print()

    targets = [("functional jit >= 3x faster than tinyjax.oop eager at batch 1", rows[0], 3.0)]
    targets += [
        (f"vmap >= 10x faster than a loop over 64 objects, {row['measure'][4:]}", row, 10.0) for row in rows[4:7]
    ]
    for text, row, goal in targets:
        ratio = float(row["speedup"])  # type: ignore[arg-type]
        print(f"target: {text}: {ratio:.2f}x {'PASS' if ratio >= goal else 'FAIL'}")

    (out_dir / "oop_vs_functional.md").write_text(table + "\n")
    summary = {"machine": machine, "quick": quick, "rows": rows, "notes": notes}
    (out_dir / "oop_vs_functional.json").write_text(json.dumps(summary, indent=2))
    plot(rows, out_dir / "oop_vs_functional.png")


def plot(rows: list[dict[str, object]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'tinyjax[plot]'): no plot written")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    batches = [1, 32, 256, 4096]
    for name in ("numpy OOP", "tinyjax.oop eager", "functional jit"):
        left.plot(batches, [row[name] * 1e6 for row in rows[:4]], marker="o", label=name)  # type: ignore[operator]
    left.set(
        xscale="log", yscale="log", xlabel="batch size", ylabel="us per forward (median)", title="(a) seed MLP forward"
    )
    left.legend()
    labels = ["ensemble\ninit", "ensemble\nforward b=1", "ensemble\nforward b=32", "per-example\ngrads"]
    positions = np.arange(4)
    right.bar(positions - 0.2, [row["loop of objects"] * 1e3 for row in rows[4:]], 0.4, label="loop")  # type: ignore[operator]
    right.bar(positions + 0.2, [row["vmap"] * 1e3 for row in rows[4:]], 0.4, label="vmap")  # type: ignore[operator]
    right.set(xticks=positions, xticklabels=labels, yscale="log", ylabel="ms (median)", title="(b), (c) loop vs vmap")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
