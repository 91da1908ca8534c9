"""Quantize the digits MLP and CNN to int8: accuracy, agreement, bytes and latency per backend.

    python examples/quantize.py OUT_DIR [--quick]

* models: the MLP of ``examples/train_digits.py`` and the CNN of ``examples/train_cnn.py``, their own
  code; the weights they wrote in OUT_DIR (``digits_mlp.safetensors``, ``cnn.safetensors``) are reused,
  else each is trained here, briefly (300 steps for the MLP, 4 epochs for the CNN; ``--quick``: fewer);
* ``tj.quantize`` with each activation mode (dynamic, static from 256 training images, weight-only);
  the CNN's BatchNorms are kept in float (the QuantizationWarning names them);
* printed: float and int8 test accuracy, top-1 agreement with float, params bytes, and the median
  latency of ``tj.compile`` for XLA and ONNX Runtime, float and int8, at batch 1 and 256 (in this
  process: ``benchmarks/quantization.py`` measures ratios properly, each candidate in its own process);
* ``OUT_DIR/quantization.png``: bytes and latency, float against int8.

Needs ``pip install 'tinyjax[examples,onnx]'``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import jax
import numpy as np

import tinyjax as tj

sys.path.insert(0, str(Path(__file__).parent))
import train_cnn  # the examples' own model and data code
import train_digits

BATCHES = (1, 256)


def trained(name: str, example, out_dir: Path, quick: bool):
    """(model, params, data): the example's model with its saved weights, or trained here briefly."""
    model, data = example.build_model(), example.load_data(0)
    path = out_dir / name
    if path.exists():
        return model, tj.load(path, model), data
    params = model.init(jax.random.key(0))
    if example is train_digits:
        params, _ = example.train(
            model, params, data, epochs=100, max_steps=100 if quick else 300, batch=64, lr=3e-3, seed=0
        )
    else:
        params, _ = example.train(model, params, data, epochs=2 if quick else 4, batch=64, lr=3e-3, seed=0)
    return model, params, data


def latency(predict, x: np.ndarray, calls: int) -> float:
    """Median seconds of one ``predict(x)`` (results made ready), after a warm-up."""
    for _ in range(3):
        np.asarray(predict(x))
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        np.asarray(predict(x))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(title: str, model, params, data, quick: bool) -> dict[str, dict[str, float]]:
    x_train, x_test, _, y_test = data
    float_top = np.argmax(model.apply(params, x_test), -1)
    print(f"\n{title}: float accuracy {np.mean(float_top == y_test):.2%}, {tj.param_bytes(params):,} bytes")
    rows: dict[str, dict[str, float]] = {"float32": {"bytes": tj.param_bytes(params)}}
    served = {}
    for activations in ("dynamic", "static", None):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", tj.QuantizationWarning)
            qmodel, qparams = tj.quantize(
                model, params, x_train[:256] if activations == "static" else None, activations=activations
            )
        top = np.argmax(qmodel.apply(qparams, x_test), -1)
        label = f"int8 {activations or 'weight-only'}"
        rows[label] = {"bytes": tj.param_bytes(qparams)}
        print(
            f"  {label:18s} accuracy {np.mean(top == y_test):.2%}, "
            f"agreement with float {np.mean(top == float_top):.2%}, "
            f"{tj.param_bytes(qparams):,} bytes ({tj.param_bytes(params) / tj.param_bytes(qparams):.2f}x smaller)"
        )
        for warning in caught:
            print(f"    {warning.message}")
        if activations == "dynamic":
            served[label] = (qmodel, qparams)
    served["float32"] = (model, params)
    calls = 5 if quick else 30
    for label, (layer, p) in served.items():
        for backend in ("xla", "onnxruntime"):
            for batch in BATCHES:
                x = np.ascontiguousarray(x_test[:batch])
                predict = tj.compile(layer, p, x, backend=backend)
                seconds = latency(predict, x, calls)
                rows[label][f"{backend} batch {batch}"] = seconds
                print(f"  {label:18s} {backend:12s} batch {batch:3d}: {seconds * 1e6:9.1f} us")
    return rows


def plot(results: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 * len(results), figsize=(6 * len(results), 3.6))
    for i, (title, rows) in enumerate(results.items()):
        labels = list(rows)
        axes[2 * i].bar(labels, [rows[k]["bytes"] / 1024 for k in labels], color="tab:blue")
        axes[2 * i].set_title(f"{title}: params (KiB)")
        axes[2 * i].tick_params(axis="x", rotation=30)
        keys = [k for k in rows["float32"] if k != "bytes"]
        width = 0.4
        for j, label in enumerate(("float32", "int8 dynamic")):
            axes[2 * i + 1].bar(
                np.arange(len(keys)) + j * width, [rows[label][k] * 1e6 for k in keys], width, label=label
            )
        axes[2 * i + 1].set_xticks(np.arange(len(keys)) + width / 2, keys, rotation=30, fontsize=7)
        axes[2 * i + 1].set_yscale("log")
        axes[2 * i + 1].set_title(f"{title}: latency (us, median)")
        axes[2 * i + 1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--quick", action="store_true", help="shorter training and fewer timed calls")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for title, name, example in (
        ("digits MLP", "digits_mlp.safetensors", train_digits),
        ("digits CNN", "cnn.safetensors", train_cnn),
    ):
        model, params, data = trained(name, example, args.out_dir, args.quick)
        results[title] = report(title, model, params, data, args.quick)
    plot(results, args.out_dir / "quantization.png")
    print(f"\nwrote {args.out_dir / 'quantization.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
