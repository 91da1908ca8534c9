"""``tj.profile`` of the seed MLP (batch 32) and the tiny GPT (V 96, E 128, 4 blocks, 4 heads, T 64, batch 16),
for inference and for one training step (Adam).

    python benchmarks/profiles.py

Writes ``results/profiles.{json,md}`` (the Markdown tables of ``Profile.to_markdown()``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).parent))

from _harness import write
from train_step_candidates import BLOCKS, HEADS, E, T, V

import tinyjax as tj


def main() -> None:
    mlp = tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
    gpt = tj.GPT(V, E, BLOCKS, HEADS, T)
    cases = {
        "seed MLP": (mlp, jax.random.normal(jax.random.key(1), (32, 784))),
        "tiny GPT": (gpt, jnp.zeros((16, T), jnp.int32)),
    }
    lines, data = [], {}
    for name, (model, x) in cases.items():
        params = model.init(jax.random.key(0))
        for training in (False, True):
            report = tj.profile(model, params, x, training=training)
            lines += [report.to_markdown(), ""]
            data[f"{name}{' training' if training else ''}"] = report.to_dict()
            print(report, file=sys.stderr)
    print(write("profiles", data, lines))


if __name__ == "__main__":
    main()
