"""PyTorch eager on CPU: ``nn.Sequential`` of ``nn.Linear`` under ``torch.inference_mode``."""

from __future__ import annotations

from typing import Any

import torch


def build(layers: Any, x: Any) -> Any:
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
    )
    with torch.no_grad():
        for linear, (w, b) in zip(model[::2], layers, strict=True):
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
    model.eval()
    xt = torch.from_numpy(x)

    def run() -> Any:
        with torch.inference_mode():
            return model(xt)

    return run
