"""OOP versus functional, measured: the seed MLP built both ways with the same weights.

Run: python examples/oop_vs_functional.py OUT_DIR [--quick]

1. Builds the seed MLP (784-128-64-10) functionally, moves the weights into the OOP face and into
   a pure-NumPy TinyTorch-style model, and asserts all three give the same outputs.
2. Measures, interleaving the candidates so that machine noise hits all alike (medians):
   (a) forward latency by batch size: NumPy OOP, tinyjax.oop eager (one dispatch per layer, under
       ``no_grad``, as inference runs), functional Sequential (one compiled program);
   (b) an ensemble of 64 MLPs from 64 keys: jax.vmap over params vs a loop over 64 OOP objects
       (init and forward);
   (c) per-example gradients for a batch of 32: jax.vmap(jax.grad) vs a loop of 32 jitted
       jax.grad calls (the OOP face has no per-example gradient at all);
   (d) training on scikit-learn's digits (upsampled to 28x28, the seed's 784 inputs), from the same
       initial weights: OOP (``loss.backward()``, ``Adam.step()``) against functional
       (``jax.value_and_grad`` and ``optax.adam`` in one jitted step). Asserts that the two loss
       curves coincide to float32 rounding and times a step of each (and the OOP step's parts).
3. Prints a markdown table, writes OUT_DIR/oop_vs_functional.{md,json,png}. Needs scikit-learn and
   optax (the ``examples`` extra); matplotlib for the PNG.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits

import tinyjax as tj
from tinyjax import oop

SIZES = (784, 128, 64, 10)
# The OOP and functional loss curves may differ by float32 rounding only. One float32 ulp is 1.2e-7
# of a value; the two designs round differently (XLA fuses the whole functional step into one
# program, and each OOP layer into its own), and Adam carries those differences forward: measured,
# 1.3e-7 of the loss after 30 steps and 1.2e-6 after 300. A real difference (a wrong gradient, a
# different update rule) moves the loss by 1e-2 within a few steps.
CURVE_RTOL = 1e-5


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


def infer(model: oop.Sequential, x: jax.Array) -> jax.Array:
    """An OOP inference call: under ``no_grad`` (the parameters require grad, so a forward would
    otherwise record one ``jax.vjp`` per layer for a backward pass that never comes)."""
    with oop.no_grad():
        return model(x).array


# --- measuring --------------------------------------------------------------------------------
def interleaved_medians(
    candidates: dict[str, Callable[[], object]], repeats: int, warmup: float = 0.2
) -> dict[str, float]:
    """Median seconds per call of each candidate, each call waited for, after ``warmup`` seconds of calls each.

    The candidates take turns, one call each per round, in a fresh random order every round, so
    that none always follows the same neighbour (NumPy's BLAS threads spin for a while after a call,
    and slow down whatever runs next on a 2-core machine).
    """
    for fn in candidates.values():  # warm-up: the first calls run slower (docs/performance.md)
        warm_until = time.perf_counter() + warmup
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


def digits_784() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits, pixels scaled to [0, 1] and resized to 28x28: (1797, 784), labels."""
    digits = load_digits()
    images = jnp.asarray(digits.images / 16.0, jnp.float32)
    resized = jax.image.resize(images, (len(images), 28, 28), "linear")
    return np.asarray(resized.reshape(len(images), 784)), digits.target.astype(np.int32)


def train_both(functional: tj.Layer, params: tj.Params, steps: int, batch: int = 64) -> dict[str, object]:
    """Adam (lr 1e-3) on the same mini-batches, both ways, from ``params``: curves and per-step times.

    The OOP step is TinyTorch's loop: ``loss = loss_fn(model(x), y); loss.backward();
    optimizer.step(); optimizer.zero_grad()``; the functional step is one jitted function.
    """
    x_all, y_all = digits_784()
    rng = np.random.default_rng(0)
    batches = [rng.choice(len(x_all), batch, replace=False) for _ in range(steps)]

    model = oop.from_functional(functional, params)  # the same arrays: the same initial weights
    optimizer, loss_fn = oop.Adam(model.parameters(), lr=1e-3), oop.CrossEntropyLoss()
    transformation = optax.adam(1e-3)

    @jax.jit
    def functional_step(p: tj.Params, state: optax.OptState, x: jax.Array, y: jax.Array):  # type: ignore[no-untyped-def]
        loss, grads = jax.value_and_grad(lambda q: tj.losses.cross_entropy(functional.apply(q, x), y))(p)
        updates, state = transformation.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss

    state = transformation.init(params)
    curves: dict[str, list[float]] = {"oop": [], "functional": []}
    parts = ("oop step", "functional step", "forward+loss", "backward", "optimizer.step")
    times: dict[str, list[float]] = {part: [] for part in parts}
    for idx in batches:
        x, y = x_all[idx], y_all[idx]
        start = time.perf_counter()
        loss = loss_fn(model(x), y)
        jax.block_until_ready(loss.array)
        taped = time.perf_counter()
        loss.backward()
        jax.block_until_ready(model.parameters()[0].grad_array)
        backed = time.perf_counter()
        optimizer.step()
        optimizer.zero_grad()
        jax.block_until_ready([p.array for p in model.parameters()])
        end = time.perf_counter()
        times["forward+loss"].append(taped - start)
        times["backward"].append(backed - taped)
        times["optimizer.step"].append(end - backed)
        times["oop step"].append(end - start)
        curves["oop"].append(loss.item())

        start = time.perf_counter()
        params, state, value = jax.block_until_ready(functional_step(params, state, x, y))
        times["functional step"].append(time.perf_counter() - start)
        curves["functional"].append(float(value))

    oop_curve, functional_curve = np.array(curves["oop"]), np.array(curves["functional"])
    np.testing.assert_allclose(oop_curve, functional_curve, rtol=CURVE_RTOL)
    for got, want in zip(model.parameters(), tj.parameters(params), strict=True):
        np.testing.assert_allclose(got.data, want, rtol=CURVE_RTOL, atol=1e-6)
    deviation = float(np.max(np.abs(oop_curve - functional_curve) / np.abs(functional_curve)))
    print(
        f"training: {steps} Adam steps on the digits, loss {functional_curve[0]:.3f} -> {functional_curve[-1]:.3f}; "
        f"loss curves coincide (largest relative difference {deviation:.1e}, bound {CURVE_RTOL:.0e})"
    )
    warm = min(10, steps // 3)  # the first steps compile
    medians = {name: statistics.median(values[warm:]) for name, values in times.items()}
    return {"curves": curves, "max_relative_difference": deviation, "medians": medians, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="folder for the table, the JSON and the PNG plot")
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke run, figures are rough)")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    repeats = 3 if args.quick else 30
    measure = functools.partial(interleaved_medians, warmup=0.02 if args.quick else 0.2)

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
        times = measure(
            {
                "numpy OOP": lambda xb=xb: numpy_model.forward(xb),
                "tinyjax.oop eager": lambda xj=xj: infer(objects, xj),
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
        return [tensor.array for member in members for tensor in member.parameters()]

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
    init_times = measure({"loop": oop_ensemble_init, "vmap": lambda: ensemble_init(keys)}, ens_repeats)
    rows.append({"measure": "(b) ensemble of 64: init", "loop": init_times["loop"], "vmap": init_times["vmap"]})
    mapped_init = jax.jit(lambda ks: jax.lax.map(functional.init, ks))
    np.testing.assert_array_equal(mapped_init(keys)[0]["weight"], stacked[0]["weight"])
    init_map = measure({"vmap": lambda: ensemble_init(keys), "lax.map": lambda: mapped_init(keys)}, ens_repeats)
    notes = [
        f"ensemble init through jax.lax.map over the keys instead of jax.vmap: {_fmt(init_map['lax.map'])} "
        f"(vmap {_fmt(init_map['vmap'])} in the same run): init is random-number bound, and vmapped threefry "
        "is slower on CPU than threefry run key by key"
    ]
    for batch in (1, 32):
        xb = x32[:batch]
        times = measure(
            {"loop": lambda xb=xb: [infer(m, xb) for m in members], "vmap": lambda xb=xb: ensemble_apply(stacked, xb)},
            ens_repeats,
        )
        label = f"(b) ensemble of 64: forward, batch {batch}"
        rows.append({"measure": label, "loop": times["loop"], "vmap": times["vmap"]})

    # (c) per-example gradients, batch 32
    labels = jnp.arange(32) % 10

    def loss(p: tj.Params, xi: jax.Array, yi: jax.Array) -> jax.Array:
        return -jax.nn.log_softmax(functional.apply(p, xi))[yi]

    one_grad = jax.jit(jax.grad(loss))
    per_example = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
    looped = [one_grad(params, x32[i], labels[i]) for i in range(32)]
    batched = per_example(params, x32, labels)
    np.testing.assert_allclose(np.stack([g[0]["weight"] for g in looped]), batched[0]["weight"], rtol=1e-4, atol=1e-6)
    grad_times = measure(
        {
            "loop": lambda: [one_grad(params, x32[i], labels[i]) for i in range(32)],
            "vmap": lambda: per_example(params, x32, labels),
        },
        max(3, repeats // 3),
    )
    rows.append({"measure": "(c) per-example grads, batch 32", "loop": grad_times["loop"], "vmap": grad_times["vmap"]})

    # (d) training, both ways, from the same weights
    training = train_both(functional, params, steps=30 if args.quick else 300)
    medians = training["medians"]
    rows.append(
        {
            "measure": "(d) training step, batch 64 (Adam)",
            "tinyjax.oop eager": medians["oop step"],  # type: ignore[index]
            "functional jit": medians["functional step"],  # type: ignore[index]
        }
    )
    notes.append(
        "OOP training step split: "
        + ", ".join(f"{part} {_fmt(medians[part])}" for part in ("forward+loss", "backward", "optimizer.step"))  # type: ignore[index]
        + " (forward+loss records one jax.vjp per layer and one for the loss)"
    )

    report(rows, notes, training, args.out_dir, quick=args.quick)


def _fmt(seconds: object) -> str:
    if not isinstance(seconds, float):
        return ""
    return f"{seconds * 1e6:,.0f} us" if seconds < 1e-2 else f"{seconds * 1e3:,.1f} ms"


def report(
    rows: list[dict[str, object]], notes: list[str], training: dict[str, object], out_dir: Path, quick: bool
) -> None:
    columns = ["numpy OOP", "tinyjax.oop eager", "functional jit", "loop", "vmap"]
    lines = [
        "| measure | " + " | ".join(columns) + " | speed-up of the functional design |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for row in rows:
        if "functional jit" in row:
            ratio = row["tinyjax.oop eager"] / row["functional jit"]  # type: ignore[operator]
        else:
            ratio = row["loop"] / row["vmap"]  # type: ignore[operator]
        row["speedup"] = ratio
        lines.append(f"| {row['measure']} | " + " | ".join(_fmt(row.get(c)) for c in columns) + f" | {ratio:.1f}x |")
    table = "\n".join(lines)
    machine = f"jax {jax.__version__}, {jax.devices()[0].platform}, {jax.device_count()} device(s)"
    print(f"\n{table}\n\n({machine}; medians of interleaved calls{'; --quick: rough figures' if quick else ''})")
    print("(b) loops over 64 OOP objects; (c) loops over 32 jitted jax.grad calls; (d) alternates the two steps")
    for note in notes:
        print(f"note: {note}")

    (out_dir / "oop_vs_functional.md").write_text(table + "\n")
    summary = {"machine": machine, "quick": quick, "rows": rows, "notes": notes, "training": training}
    (out_dir / "oop_vs_functional.json").write_text(json.dumps(summary, indent=2))
    plot(rows, training, out_dir / "oop_vs_functional.png")


def plot(rows: list[dict[str, object]], training: dict[str, object], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'tinyjax[plot]'): no plot written")
        return
    fig, (left, right, curves) = plt.subplots(1, 3, figsize=(16, 4))
    batches = [1, 32, 256, 4096]
    for name in ("numpy OOP", "tinyjax.oop eager", "functional jit"):
        left.plot(batches, [row[name] * 1e6 for row in rows[:4]], marker="o", label=name)  # type: ignore[operator]
    left.set(
        xscale="log", yscale="log", xlabel="batch size", ylabel="us per forward (median)", title="(a) seed MLP forward"
    )
    left.legend()
    labels = ["ensemble\ninit", "ensemble\nforward b=1", "ensemble\nforward b=32", "per-example\ngrads"]
    positions = np.arange(4)
    right.bar(positions - 0.2, [row["loop"] * 1e3 for row in rows[4:8]], 0.4, label="loop")  # type: ignore[operator]
    right.bar(positions + 0.2, [row["vmap"] * 1e3 for row in rows[4:8]], 0.4, label="vmap")  # type: ignore[operator]
    right.set(xticks=positions, xticklabels=labels, yscale="log", ylabel="ms (median)", title="(b), (c) loop vs vmap")
    right.legend()
    losses: dict[str, list[float]] = training["curves"]  # type: ignore[assignment]
    curves.plot(losses["functional"], label="functional (jax.value_and_grad + optax)", linewidth=3, alpha=0.5)
    curves.plot(losses["oop"], label="OOP (loss.backward(), Adam.step())", linestyle="--")
    curves.set(yscale="log", xlabel="step", ylabel="cross-entropy", title="(d) training from the same weights")
    curves.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
