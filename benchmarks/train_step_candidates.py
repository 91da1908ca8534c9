"""One training step (forward, backward, Adam at lr 1e-3, cross-entropy) per design, for ``train_step.py``.

``build(design, model, batch) -> (step, ())``: ``step()`` runs one step and returns its loss (so
``tj.benchmark`` waits for it). Raises NotImplementedError for a pair this file does not write, or
that the design cannot run (the message says why; the driver records it as skipped).
Models: the seed MLP (784-128-64-10) on random pixels and labels, the digits CNN of
``examples/train_cnn.py`` on (B, 1, 8, 8) inputs (BatchNorm in training mode, running statistics
updated), and the tiny GPT (V 96, E 128, 4 blocks, 4 heads, T 64, pre-norm blocks, exact GELU,
learned positions) on random tokens. Every JAX design (tinyjax, plain JAX, Equinox, Flax NNX) is
one jitted step with ``optax.adam(1e-3)``; each is written the idiomatic way of its library, so the
initialisations differ (the losses at step 0 differ, the FLOPs do not).

TinyTorch itself (its NumPy package at ``TINYTORCH_COMMIT``) runs the seed MLP only: it has no
BatchNorm2d for the CNN, and its GPT is not the same step (see ``_tinytorch_gpt``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

V, E, BLOCKS, HEADS, T = 96, 128, 4, 4, 64
TINYTORCH_MIRROR = Path(os.environ.get("TINYTORCH_MIRROR", "/work/.mirror/MLSysBook+TinyTorch/repo"))
# the last commit whose generated package has every core module (its successor dropped activations.py)
TINYTORCH_COMMIT = "c7765192^"


def data(model: str, batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if model == "mlp":
        return rng.random((batch, 784), dtype=np.float32), rng.integers(0, 10, batch).astype(np.int32)
    if model == "cnn":
        return rng.random((batch, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, batch).astype(np.int32)
    tokens = rng.integers(0, V, (batch, T)).astype(np.int32)
    return tokens, np.roll(tokens, -1, axis=1)


def build(design: str, model: str, batch: int) -> tuple[Any, tuple[Any, ...]]:
    builder = globals().get(f"_{design}_{model}") or globals().get(f"_{design}")
    if builder is None:
        raise NotImplementedError(f"no {design} step for the {model}")
    return builder(model, batch), ()


# ---- tinyjax, functional: one jitted step (the step function of plain JAX, below) ------------------


def tinyjax_model(model: str) -> Any:
    import tinyjax as tj

    if model == "mlp":
        return tj.Sequential(tj.Linear(784, 128), tj.ReLU(), tj.Linear(128, 64), tj.ReLU(), tj.Linear(64, 10))
    if model == "cnn":
        return tj.Sequential(
            tj.Conv2d(1, 32, 3, padding=1), tj.BatchNorm2d(32), tj.ReLU(), tj.MaxPool2d(2),
            tj.Conv2d(32, 64, 3, padding=1), tj.BatchNorm2d(64), tj.ReLU(), tj.MaxPool2d(2),
            tj.Flatten(), tj.Linear(256, 10),
        )  # fmt: skip
    return tj.GPT(V, E, BLOCKS, HEADS, T)


def _tinyjax(model: str, batch: int) -> Any:
    import jax

    import tinyjax as tj

    layer = tinyjax_model(model)
    trainable, state = tj.split_state(layer, layer.init(jax.random.key(0)))

    def loss_fn(trainable: Any, state: Any, x: Any, y: Any) -> Any:
        if layer.stateful:
            logits, state = layer.apply(tj.merge_state(trainable, state), x, training=True)
        else:
            logits = layer.apply(trainable, x)
        return tj.losses.cross_entropy(logits, y), state

    return _jax_step(loss_fn, trainable, state, tuple(jax.device_put(a) for a in data(model, batch)))


# ---- the same models in plain JAX ---------------------------------------------------------------


def _jax_step(loss_fn: Any, params: Any, stats: Any, xs: tuple[Any, ...]) -> Any:
    import jax
    import optax

    optimizer = optax.adam(1e-3)

    @jax.jit
    def step(params: Any, stats: Any, opt_state: Any) -> Any:
        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, stats, *xs)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), stats, opt_state, loss

    box = [params, stats, optimizer.init(params)]

    def run() -> Any:
        *box[:], loss = step(*box)
        return loss

    return run


def _xent(logits: Any, y: Any) -> Any:
    import jax
    import jax.numpy as jnp

    return -jnp.take_along_axis(jax.nn.log_softmax(logits), y[..., None], -1).mean()


def _jax_mlp(model: str, batch: int) -> Any:
    import jax

    keys = iter(jax.random.split(jax.random.key(0), 3))
    params = [(jax.random.normal(next(keys), (i, o)) * (2 / i) ** 0.5, jax.numpy.zeros(o)) for i, o in
              ((784, 128), (128, 64), (64, 10))]  # fmt: skip

    def loss_fn(params: Any, stats: Any, x: Any, y: Any) -> Any:
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            h = jax.nn.relu(h) if i < 2 else h
        return _xent(h, y), stats

    return _jax_step(loss_fn, params, (), tuple(jax.device_put(a) for a in data(model, batch)))


def _jax_cnn(model: str, batch: int) -> Any:
    import jax
    import jax.numpy as jnp

    keys = iter(jax.random.split(jax.random.key(0), 3))
    params = {
        "c1": (jax.random.normal(next(keys), (32, 1, 3, 3)) * 0.3, jnp.zeros(32)),
        "bn1": (jnp.ones(32), jnp.zeros(32)),
        "c2": (jax.random.normal(next(keys), (64, 32, 3, 3)) * 0.05, jnp.zeros(64)),
        "bn2": (jnp.ones(64), jnp.zeros(64)),
        "fc": (jax.random.normal(next(keys), (256, 10)) * 0.05, jnp.zeros(10)),
    }
    stats = {"bn1": (jnp.zeros(32), jnp.ones(32)), "bn2": (jnp.zeros(64), jnp.ones(64))}

    def conv(p: Any, x: Any) -> Any:
        dims = ("NCHW", "OIHW", "NCHW")
        return (
            jax.lax.conv_general_dilated(x, p[0], (1, 1), ((1, 1), (1, 1)), dimension_numbers=dims)
            + p[1][:, None, None]
        )

    def bn(p: Any, s: Any, x: Any) -> Any:
        m = x.mean((0, 2, 3))
        v = jnp.square(x - m[:, None, None]).mean((0, 2, 3))
        y = (x - m[:, None, None]) * jax.lax.rsqrt(v + 1e-5)[:, None, None] * p[0][:, None, None] + p[1][:, None, None]
        n = x.size / x.shape[1]
        new = (0.9 * s[0] + 0.1 * m, 0.9 * s[1] + 0.1 * v * n / (n - 1))
        return y, jax.lax.stop_gradient(new)

    def pool(x: Any) -> Any:
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def loss_fn(p: Any, s: Any, x: Any, y: Any) -> Any:
        h, s1 = bn(p["bn1"], s["bn1"], conv(p["c1"], x))
        h = pool(jax.nn.relu(h))
        h, s2 = bn(p["bn2"], s["bn2"], conv(p["c2"], h))
        h = pool(jax.nn.relu(h)).reshape(x.shape[0], -1)
        return _xent(h @ p["fc"][0] + p["fc"][1], y), {"bn1": s1, "bn2": s2}

    return _jax_step(loss_fn, params, stats, tuple(jax.device_put(a) for a in data(model, batch)))


def _jax_gpt(model: str, batch: int) -> Any:
    import jax
    import jax.numpy as jnp

    keys = iter(jax.random.split(jax.random.key(0), 64))

    def w(*shape: int) -> Any:
        return jax.random.normal(next(keys), shape) * 0.02

    def norm() -> Any:
        return jnp.ones(E), jnp.zeros(E)

    def block() -> Any:
        return {"ln1": norm(), "qkv": (w(E, 3 * E), jnp.zeros(3 * E)), "o": (w(E, E), jnp.zeros(E)),
                "ln2": norm(), "fc1": (w(E, 4 * E), jnp.zeros(4 * E)), "fc2": (w(4 * E, E), jnp.zeros(E))}  # fmt: skip

    blocks = [block() for _ in range(BLOCKS)]
    params = {"tok": w(V, E), "pos": w(T, E), "lnf": norm(), "head": (w(E, V), jnp.zeros(V)),
              "blocks": jax.tree.map(lambda *a: jnp.stack(a), *blocks)}  # fmt: skip
    mask = jnp.tril(jnp.ones((T, T), bool))

    def ln(p: Any, x: Any) -> Any:
        m = x.mean(-1, keepdims=True)
        return (x - m) * jax.lax.rsqrt(jnp.square(x - m).mean(-1, keepdims=True) + 1e-5) * p[0] + p[1]

    def lin(p: Any, x: Any) -> Any:
        return x @ p[0] + p[1]

    def blk(p: Any, x: Any) -> Any:
        b = x.shape[0]
        q, k, v = jnp.moveaxis(lin(p["qkv"], ln(p["ln1"], x)).reshape(b, T, 3, HEADS, E // HEADS), 2, 0)
        s = jnp.where(mask, jnp.einsum("bqhd,bkhd->bhqk", q, k) / (E // HEADS) ** 0.5, -jnp.inf)
        o = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(s, axis=-1), v).reshape(b, T, E)
        x = x + lin(p["o"], o)
        return x + lin(p["fc2"], jax.nn.gelu(lin(p["fc1"], ln(p["ln2"], x)), approximate=False))

    def loss_fn(params: Any, stats: Any, tokens: Any, targets: Any) -> Any:
        x = params["tok"][tokens] + params["pos"][:T]
        x, _ = jax.lax.scan(lambda x, p: (blk(p, x), None), x, params["blocks"])
        return _xent(lin(params["head"], ln(params["lnf"], x)), targets), stats

    return _jax_step(loss_fn, params, (), tuple(jax.device_put(a) for a in data(model, batch)))


# ---- tinyjax.oop: TinyTorch's API on the same core ----------------------------------------------


def oop_parts(model: str, batch: int) -> dict[str, Any]:
    """The OOP step and its first parts, each a callable returning the arrays it computed:
    ``"forward"`` (the tape recorded), ``"forward + backward"``, ``"step"`` (Adam's update too)."""
    import jax
    import jax.numpy as jnp

    import tinyjax.oop as oop

    layer = tinyjax_model(model)
    net = oop.from_functional(layer, layer.init(jax.random.key(0)))
    net.train()
    params = net.parameters()
    optimizer = oop.Adam(params, lr=1e-3)
    criterion = oop.CrossEntropyLoss()
    x, y = (jnp.asarray(a) for a in data(model, batch))

    def forward() -> Any:
        logits = net(x)
        return criterion(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def forward_backward() -> Any:
        optimizer.zero_grad()
        loss = forward()
        loss.backward()
        return loss.array, [p.grad.array for p in params]

    def step() -> Any:
        loss, _ = forward_backward()
        optimizer.step()
        return loss, [p.array for p in params]

    return {"forward": lambda: forward().array, "forward + backward": forward_backward, "step": step}


def _oop(model: str, batch: int) -> Any:
    return oop_parts(model, batch)["step"]


# ---- PyTorch eager ------------------------------------------------------------------------------


def _torch(model: str, batch: int) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(0)
    if model == "mlp":
        net: Any = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    elif model == "cnn":
        net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(256, 10),
        )  # fmt: skip
    else:

        class GPT(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.tok, self.pos = nn.Embedding(V, E), nn.Parameter(torch.randn(T, E) * 0.02)
                self.blocks = nn.ModuleList(
                    nn.TransformerEncoderLayer(E, HEADS, 4 * E, 0.0, "gelu", batch_first=True, norm_first=True)
                    for _ in range(BLOCKS)
                )
                self.ln, self.head = nn.LayerNorm(E), nn.Linear(E, V)
                self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(T))

            def forward(self, tokens: Any) -> Any:
                x = self.tok(tokens) + self.pos[:T]
                for b in self.blocks:
                    x = b(x, src_mask=self.mask, is_causal=True)
                return self.head(self.ln(x))

        net = GPT()
    net.train()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    x, y = (torch.from_numpy(a) for a in data(model, batch))
    if model == "gpt":
        x = x.long()
    y = y.long()

    def run() -> Any:
        optimizer.zero_grad()
        logits = net(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss

    return run


# ---- Equinox and Flax NNX: the seed MLP ---------------------------------------------------------


def _equinox_mlp(model: str, batch: int) -> Any:
    import equinox as eqx
    import jax
    import optax

    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    net = [eqx.nn.Linear(784, 128, key=k1), eqx.nn.Linear(128, 64, key=k2), eqx.nn.Linear(64, 10, key=k3)]
    optimizer = optax.adam(1e-3)
    x, y = (jax.device_put(a) for a in data(model, batch))

    def loss_fn(net: Any) -> Any:
        h = x
        for i, lin in enumerate(net):
            h = jax.vmap(lin)(h)
            h = jax.nn.relu(h) if i < 2 else h
        return _xent(h, y)

    @eqx.filter_jit
    def step(net: Any, opt_state: Any) -> Any:
        loss, grads = eqx.filter_value_and_grad(loss_fn)(net)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(net, eqx.is_array))
        return eqx.apply_updates(net, updates), opt_state, loss

    box = [net, optimizer.init(eqx.filter(net, eqx.is_array))]

    def run() -> Any:
        *box[:], loss = step(*box)
        return loss

    return run


def _nnx_mlp(model: str, batch: int) -> Any:
    import jax
    import optax
    from flax import nnx

    class MLP(nnx.Module):
        def __init__(self, rngs: Any) -> None:
            self.l1, self.l2, self.l3 = (
                nnx.Linear(784, 128, rngs=rngs),
                nnx.Linear(128, 64, rngs=rngs),
                nnx.Linear(64, 10, rngs=rngs),
            )

        def __call__(self, x: Any) -> Any:
            return self.l3(jax.nn.relu(self.l2(jax.nn.relu(self.l1(x)))))

    net = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(net, optax.adam(1e-3), wrt=nnx.Param)
    x, y = (jax.device_put(a) for a in data(model, batch))

    @nnx.jit
    def step(net: Any, optimizer: Any) -> Any:
        loss, grads = nnx.value_and_grad(lambda m: _xent(m(x), y))(net)
        optimizer.update(net, grads)
        return loss

    return lambda: step(net, optimizer)


# ---- Equinox: the digits CNN and the tiny GPT ---------------------------------------------------


def _equinox_step(net: Any, state: Any, loss_fn: Any) -> Any:
    """One ``eqx.filter_jit`` step; ``loss_fn(net, state) -> (loss, state)``."""
    import equinox as eqx
    import optax

    optimizer = optax.adam(1e-3)

    @eqx.filter_jit
    def step(net: Any, state: Any, opt_state: Any) -> Any:
        (loss, state), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(net, state)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(net, eqx.is_array))
        return eqx.apply_updates(net, updates), state, opt_state, loss

    box = [net, state, optimizer.init(eqx.filter(net, eqx.is_array))]

    def run() -> Any:
        *box[:], loss = step(*box)
        return loss

    return run


def _equinox_cnn(model: str, batch: int) -> Any:
    """Equinox's modules act on one example; the batch is a ``jax.vmap`` named ``"batch"``, over which
    ``eqx.nn.BatchNorm`` (mode ``"batch"``: normalise by the batch's statistics, as PyTorch's training
    mode does, and keep a moving average at momentum 0.9 in an ``eqx.nn.State``) takes its statistics."""
    import equinox as eqx
    import jax

    class CNN(eqx.Module):
        convs: tuple[eqx.nn.Conv2d, eqx.nn.Conv2d]
        norms: tuple[eqx.nn.BatchNorm, eqx.nn.BatchNorm]
        pool: eqx.nn.MaxPool2d
        fc: eqx.nn.Linear

        def __init__(self, key: Any) -> None:
            k1, k2, k3 = jax.random.split(key, 3)
            self.convs = (eqx.nn.Conv2d(1, 32, 3, padding=1, key=k1), eqx.nn.Conv2d(32, 64, 3, padding=1, key=k2))
            self.norms = (
                eqx.nn.BatchNorm(32, "batch", momentum=0.9, mode="batch"),
                eqx.nn.BatchNorm(64, "batch", momentum=0.9, mode="batch"),
            )
            self.pool = eqx.nn.MaxPool2d(2, 2)
            self.fc = eqx.nn.Linear(256, 10, key=k3)

        def __call__(self, x: Any, state: Any) -> Any:  # x: (1, 8, 8)
            for conv, norm in zip(self.convs, self.norms, strict=True):
                x, state = norm(conv(x), state)
                x = self.pool(jax.nn.relu(x))
            return self.fc(x.reshape(-1)), state

    net, state = eqx.nn.make_with_state(CNN)(jax.random.key(0))
    x, y = (jax.device_put(a) for a in data(model, batch))
    batched = jax.vmap(lambda net, x, state: net(x, state), in_axes=(None, 0, None), out_axes=(0, None),
                       axis_name="batch")  # fmt: skip

    def loss_fn(net: Any, state: Any) -> Any:
        logits, state = batched(net, x, state)
        return _xent(logits, y), state

    return _equinox_step(net, state, loss_fn)


def _equinox_gpt(model: str, batch: int) -> Any:
    """Equinox's modules act on one sequence (``eqx.nn.MultiheadAttention`` on (T, E), with biases on
    its four projections as the other designs have) and per-token layers are ``jax.vmap``-ed over T;
    the batch is a ``jax.vmap``. The blocks are a Python loop over a tuple of modules, Equinox's
    plain idiom, not a ``jax.lax.scan`` over stacked blocks."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    class Block(eqx.Module):
        ln1: eqx.nn.LayerNorm
        attn: eqx.nn.MultiheadAttention
        ln2: eqx.nn.LayerNorm
        fc1: eqx.nn.Linear
        fc2: eqx.nn.Linear

        def __init__(self, key: Any) -> None:
            k1, k2, k3 = jax.random.split(key, 3)
            self.ln1, self.ln2 = eqx.nn.LayerNorm(E), eqx.nn.LayerNorm(E)
            self.attn = eqx.nn.MultiheadAttention(HEADS, E, use_query_bias=True, use_key_bias=True,
                                                  use_value_bias=True, use_output_bias=True, key=k1)  # fmt: skip
            self.fc1, self.fc2 = eqx.nn.Linear(E, 4 * E, key=k2), eqx.nn.Linear(4 * E, E, key=k3)

        def __call__(self, x: Any, mask: Any) -> Any:  # x: (T, E)
            h = jax.vmap(self.ln1)(x)
            x = x + self.attn(h, h, h, mask=mask)
            h = jax.nn.gelu(jax.vmap(self.fc1)(jax.vmap(self.ln2)(x)), approximate=False)
            return x + jax.vmap(self.fc2)(h)

    class GPT(eqx.Module):
        tok: eqx.nn.Embedding
        pos: eqx.nn.Embedding
        blocks: tuple[Block, ...]
        lnf: eqx.nn.LayerNorm
        head: eqx.nn.Linear

        def __init__(self, key: Any) -> None:
            k1, k2, k3, *ks = jax.random.split(key, 3 + BLOCKS)
            self.tok, self.pos = eqx.nn.Embedding(V, E, key=k1), eqx.nn.Embedding(T, E, key=k2)
            self.blocks = tuple(Block(k) for k in ks)
            self.lnf, self.head = eqx.nn.LayerNorm(E), eqx.nn.Linear(E, V, key=k3)

        def __call__(self, tokens: Any) -> Any:  # tokens: (T,)
            x = jax.vmap(self.tok)(tokens) + jax.vmap(self.pos)(jnp.arange(T))
            mask = jnp.tril(jnp.ones((T, T), bool))
            for block in self.blocks:
                x = block(x, mask)
            return jax.vmap(self.head)(jax.vmap(self.lnf)(x))

    net = GPT(jax.random.key(0))
    tokens, targets = (jax.device_put(a) for a in data(model, batch))

    def loss_fn(net: Any, state: Any) -> Any:
        return _xent(jax.vmap(net)(tokens), targets), state

    return _equinox_step(net, None, loss_fn)


# ---- Flax NNX: the digits CNN and the tiny GPT --------------------------------------------------


def _nnx_step(net: Any, loss_fn: Any) -> Any:
    """One ``nnx.jit`` step with ``nnx.Optimizer``; ``nnx.value_and_grad`` differentiates the
    ``nnx.Param`` s and carries the other state (BatchNorm's ``BatchStat`` s) out updated."""
    import optax
    from flax import nnx

    optimizer = nnx.Optimizer(net, optax.adam(1e-3), wrt=nnx.Param)

    @nnx.jit
    def step(net: Any, optimizer: Any) -> Any:
        loss, grads = nnx.value_and_grad(loss_fn)(net)
        optimizer.update(net, grads)
        return loss

    return lambda: step(net, optimizer)


def _nnx_cnn(model: str, batch: int) -> Any:
    """Flax's convolutions are channels-last: the (B, 1, 8, 8) input is transposed to NHWC once,
    inside the step. ``nnx.BatchNorm`` in training mode (``use_running_average=False``, momentum 0.9)."""
    import jax
    from flax import nnx

    class CNN(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.c1, self.c2 = (
                nnx.Conv(1, 32, (3, 3), padding=1, rngs=rngs),
                nnx.Conv(32, 64, (3, 3), padding=1, rngs=rngs),
            )
            self.bn1 = nnx.BatchNorm(32, momentum=0.9, use_running_average=False, rngs=rngs)
            self.bn2 = nnx.BatchNorm(64, momentum=0.9, use_running_average=False, rngs=rngs)
            self.fc = nnx.Linear(256, 10, rngs=rngs)

        def __call__(self, x: Any) -> Any:  # x: (B, 1, 8, 8)
            x = x.transpose(0, 2, 3, 1)
            for conv, bn in ((self.c1, self.bn1), (self.c2, self.bn2)):
                x = nnx.max_pool(jax.nn.relu(bn(conv(x))), (2, 2), (2, 2))
            return self.fc(x.reshape(x.shape[0], -1))

    net = CNN(nnx.Rngs(0))
    x, y = (jax.device_put(a) for a in data(model, batch))
    return _nnx_step(net, lambda m: _xent(m(x), y))


def _nnx_gpt(model: str, batch: int) -> Any:
    """``nnx.MultiHeadAttention`` (biases on its projections) with ``nnx.make_causal_mask``;
    ``nnx.LayerNorm`` at epsilon 1e-5 (its default is 1e-6). The blocks are an ``nnx.List`` run by a
    Python loop, NNX's plain idiom, not an ``nnx.scan`` over stacked blocks."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    class Block(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.ln1, self.ln2 = nnx.LayerNorm(E, epsilon=1e-5, rngs=rngs), nnx.LayerNorm(E, epsilon=1e-5, rngs=rngs)
            self.attn = nnx.MultiHeadAttention(HEADS, E, decode=False, rngs=rngs)
            self.fc1, self.fc2 = nnx.Linear(E, 4 * E, rngs=rngs), nnx.Linear(4 * E, E, rngs=rngs)

        def __call__(self, x: Any, mask: Any) -> Any:  # x: (B, T, E)
            x = x + self.attn(self.ln1(x), mask=mask)
            return x + self.fc2(jax.nn.gelu(self.fc1(self.ln2(x)), approximate=False))

    class GPT(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.tok, self.pos = nnx.Embed(V, E, rngs=rngs), nnx.Embed(T, E, rngs=rngs)
            self.blocks = nnx.List([Block(rngs) for _ in range(BLOCKS)])
            self.lnf, self.head = nnx.LayerNorm(E, epsilon=1e-5, rngs=rngs), nnx.Linear(E, V, rngs=rngs)

        def __call__(self, tokens: Any) -> Any:  # tokens: (B, T)
            x = self.tok(tokens) + self.pos(jnp.arange(T))
            mask = nnx.make_causal_mask(tokens, dtype=bool)
            for block in self.blocks:
                x = block(x, mask)
            return self.head(self.lnf(x))

    net = GPT(nnx.Rngs(0))
    tokens, targets = (jax.device_put(a) for a in data(model, batch))
    return _nnx_step(net, lambda m: _xent(m(tokens), targets))


# ---- TinyTorch itself: its NumPy code, from the local mirror ------------------------------------


def _tinytorch_import() -> None:
    """Extract TinyTorch's generated package at ``TINYTORCH_COMMIT`` into a temporary folder, put it
    on ``sys.path`` and enable its autograd (which patches its Tensor and layers)."""
    if not (TINYTORCH_MIRROR / "HEAD").exists():
        raise NotImplementedError(f"TinyTorch's source is not at {TINYTORCH_MIRROR} (set TINYTORCH_MIRROR)")
    where = Path(tempfile.mkdtemp(prefix="tinytorch-"))
    archive = subprocess.run(
        ["git", "-C", str(TINYTORCH_MIRROR), "archive", TINYTORCH_COMMIT, "tinytorch"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    sys.path.insert(0, str(where))
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # its modules print banners when imported
        from tinytorch.core import autograd

        autograd.enable_autograd()


def _tinytorch_mlp(model: str, batch: int) -> Any:
    _tinytorch_import()
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        from tinytorch.core.activations import ReLU
        from tinytorch.core.layers import Linear
        from tinytorch.core.losses import CrossEntropyLoss
        from tinytorch.core.optimizers import Adam
        from tinytorch.core.tensor import Tensor
    layers = [Linear(784, 128), Linear(128, 64), Linear(64, 10)]
    relu = ReLU()
    params = [p for layer in layers for p in layer.parameters()]
    optimizer, criterion = Adam(params, lr=1e-3), CrossEntropyLoss()
    x, y = (Tensor(a) for a in data(model, batch))

    def run() -> Any:
        optimizer.zero_grad()
        loss = criterion(layers[2](relu(layers[1](relu(layers[0](x))))), y)
        loss.backward()
        for p in params:  # this version's backward leaves NumPy arrays where its Adam reads Tensors
            if isinstance(p.grad, np.ndarray):
                p.grad = Tensor(p.grad)
        optimizer.step()
        return loss.data

    return run


def _tinytorch_cnn(model: str, batch: int) -> Any:
    _tinytorch_import()
    import tinytorch

    if any("class BatchNorm2d" in f.read_text() for f in Path(tinytorch.__path__[0]).rglob("*.py")):
        raise NotImplementedError(f"TinyTorch at {TINYTORCH_COMMIT} has a BatchNorm2d this file does not use yet")
    raise NotImplementedError(
        f"TinyTorch at {TINYTORCH_COMMIT} has Conv2d and MaxPool2d with backward (tinytorch.core.spatial) but no "
        "BatchNorm2d anywhere in its package: the digits CNN's step cannot be built from its own modules"
    )


def _tinytorch_gpt(model: str, batch: int) -> Any:
    _tinytorch_import()
    raise NotImplementedError(
        f"TinyTorch at {TINYTORCH_COMMIT}: its GPT (tinytorch.models.transformer) runs forward, backward and Adam, "
        "but not as the same step: Tensor.backward recurses once per path, with no topological order (the calls "
        "grow eightfold per block: one step at batch 16 takes minutes; docs/benchmarks.md), its LayerNorm "
        "passes no gradient through the mean and the standard deviation, and GPT.forward gives its attention an "
        "additive -inf mask where that attention expects a 1/0 keep mask (every allowed score becomes -1e9 in "
        "float32: uniform attention over the past)"
    )
