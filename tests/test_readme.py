"""The README's Python examples run as written, each in a fresh interpreter.

Each block gets a short prelude that defines what the README's prose assumes (``x``, a torch
model...); the block itself is taken from README.md unchanged, so an API change that breaks the
README breaks this test.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()

SEED = """
import jax, jax.numpy as jnp, numpy as np, tinyjax as tj
model = tj.Sequential([tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10)])
params = model.init(jax.random.key(0))
x = jax.random.normal(jax.random.key(1), (32, 784))
"""

# README heading -> (prelude, a check run after the block)
BLOCKS = {
    "## The seed's example, functional": ("", "assert logits.shape == (32, 10) and tj.count_params(params) == 109386"),
    "## Serving: compile, export, deep stacks, costs": (
        SEED,
        "assert predict.buckets == (1, 32, 256)\n"
        "np.testing.assert_allclose(tj.load_exported(artifact)(x), predict(x), rtol=1e-5, atol=1e-5)\n"
        "np.testing.assert_allclose(y, predict(x), rtol=1e-5, atol=1e-5)",
    ),
    "## Measuring: profile and benchmark": (
        SEED + "import warnings\nwarnings.simplefilter('ignore', tj.NoisyBenchmarkWarning)\n",
        "assert report.to_dict()['total']['params'] == 109386 and step.optimizer_state_bytes > 0\n"
        "assert result.ci[0] <= result.median <= result.ci[1] and slower.ratio > 0",
    ),
    "## ONNX: export, and ONNX Runtime on CPU": (
        SEED,
        "import onnx\nonnx.checker.check_model(onnx.load_from_string(onnx_bytes))\n"
        "np.testing.assert_allclose(fast(np.asarray(x)), model.apply(params, x), rtol=1e-5, atol=1e-5)",
    ),
    "## Int8 quantization": (
        SEED,
        "assert tj.param_bytes(tj.quantize(model, params)[1]) * 3.9 < tj.param_bytes(params)\n"
        "np.testing.assert_allclose(predict(np.asarray(x)), model.apply(params, x), atol=0.1)\n"
        "assert model.name.startswith('Sequential(Linear(784 -> 128)')",
    ),
    "## Weights, PyTorch, losses and a real training run": (
        SEED
        + "import os, tempfile, torch\nos.chdir(tempfile.mkdtemp())\n"
        + "torch_model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),"
        + " torch.nn.ReLU(), torch.nn.Linear(64, 10))\n"
        + "logits = model.apply(params, x); labels = jnp.arange(32) % 10\n"
        + "y = t = logits; targets = jnp.zeros_like(logits)\n",
        "assert float(loss) > 0 and list(state_dict)[:2] == ['0.weight', '0.bias']",
    ),
    "## Smaller and faster: compression by transformation": (
        SEED + "import optax\nlabels = jnp.arange(32) % 10\n"
        "teacher_logits = model.apply(params, x); student_logits = teacher_logits * 0.5\n",
        "assert tj.count_params(small_params) == 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10\n"
        "assert thin.children[0].name == 'Linear(784 -> 16)' and round(tj.compress.sparsity(sparse), 4) == 0.9\n"
        "assert float(loss) > 0 and optimizer.init(sparse) is not None",
    ),
    "## Attention, transformers and a GPT": (
        "import jax, jax.numpy as jnp, numpy as np, tinyjax as tj\n",
        "assert logits.shape == (1, 96) and tokens.shape == (1, 20) and int(cache['length']) == 4",
    ),
    "## Many devices": (
        "import os\nos.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=8'\n"
        "import jax, jax.numpy as jnp, numpy as np, tinyjax as tj\n",
        "np.testing.assert_allclose(y, mlp.apply(jax.device_get(params), jnp.ones((64, 1024))), rtol=1e-4, atol=1e-4)",
    ),
    "## Data and text": (
        "import jax, jax.numpy as jnp, numpy as np, tinyjax as tj\n"
        "key, augment_key, epoch, step = jax.random.key(0), jax.random.key(1), 0, 0\n"
        "images = np.random.default_rng(0).normal(size=(256, 3, 32, 32)).astype(np.float32)\n"
        "labels = np.arange(256) % 10\n"
        "corpus = 'the quick brown fox jumps over the lazy dog, then sleeps. ' * 40\n"
        "s, lines = 'the lazy fox sleeps', corpus.split('. ')\n",
        "assert x.shape == (128, 3, 32, 32) and y.shape == (128,) and len(batches) > 0",
    ),
    "## The OOP face: TinyTorch's API on the same core": ("", "assert logits.shape == (32, 10)"),
}


def section(heading: str) -> str:
    """The README's text under ``heading``, up to the next ``## `` heading."""
    return README.split(heading + "\n", 1)[1].split("\n## ", 1)[0]


def python_block(heading: str) -> str:
    """The last ```python block of the README section under ``heading``."""
    blocks = re.findall(r"```python\n(.*?)```", section(heading), re.S)
    assert blocks, f"no python block under {heading!r}"
    return blocks[-1]


def test_every_python_block_of_the_readme_is_covered():
    headings = [h for h in re.findall(r"^## .*$", README, re.M) if "```python" in section(h)]
    assert sorted(headings) == sorted(BLOCKS)


@pytest.mark.parametrize("heading", list(BLOCKS))
def test_readme_block_runs(heading):
    if "torch" in BLOCKS[heading][0]:
        pytest.importorskip("torch")
    prelude, check = BLOCKS[heading]
    source = prelude + python_block(heading) + "\n" + check + "\n"
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
