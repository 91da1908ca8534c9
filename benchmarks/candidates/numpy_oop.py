"""The seed module's NumPy OOP model: Linear / ReLU / Sequential objects with ``forward``."""

from __future__ import annotations

from typing import Any

import numpy as np


class Linear:
    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        self.weight, self.bias = weight, bias

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weight + self.bias


class ReLU:
    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0)


class Sequential:
    def __init__(self, *layers: Any) -> None:
        self.layers = layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x


def build(layers: Any, x: Any) -> Any:
    (w1, b1), (w2, b2), (w3, b3) = layers
    model = Sequential(Linear(w1, b1), ReLU(), Linear(w2, b2), ReLU(), Linear(w3, b3))
    return lambda: model.forward(x)
