"""Bad inputs at the call the user made: the library's own exception, a message saying what to do.

One table, by area (layers, state and losses, the decoder, serving, interop, weights, the OOP face):
the call (given a fresh temporary folder), the exception type, fragments of its message. Every
exception the table raises is a ``tj.TinyjaxError`` that keeps its builtin base (the README's claim).
The models are tiny and shared, so the table runs in seconds. The command line's bad arguments are
argparse usage errors (exit status 2, no traceback).
"""

import functools
import inspect
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax import oop
from tinyjax.nn import gpt

KEY = jax.random.key(0)
MLP = tj.Sequential(tj.Linear(784, 16), tj.ReLU(), tj.Linear(16, 10))
PARAMS = MLP.init(KEY)
INT_PARAMS = jax.tree_util.tree_map(lambda a: (a * 100).astype(jnp.int32), PARAMS)
X = jnp.ones((4, 784))


SMALL = tj.Linear(3, 2)
SP = SMALL.init(KEY)
X3 = jnp.ones((2, 3))
CNN = tj.Sequential(tj.Conv2d(1, 2, 3), tj.BatchNorm2d(2), tj.ReLU(), tj.Flatten(), tj.Linear(32, 3))
IMG = jnp.ones((2, 1, 6, 6))
GPT = tj.GPT(vocab_size=11, embed_dim=8, num_layers=1, num_heads=2, max_seq_len=8)
PROMPT = jnp.ones((2, 3), jnp.int32)


def _zeros(layer):
    """Params of ``layer`` without compiling its init (the table's errors never depend on the values)."""
    return jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), layer.param_shapes())


@functools.cache
def cnn_params():
    return _zeros(CNN)


@functools.cache
def gpt_params():
    return _zeros(GPT)


def full_cache():
    return {**gpt.init_cache(GPT, 2), "length": jnp.int32(8)}


@functools.cache
def mlp_predictor():
    return tj.compile(MLP, PARAMS, X)


@functools.cache
def onnx_predictor():
    return tj.compile(CNN, cnn_params(), IMG, backend="onnxruntime")


@functools.cache
def exported_mlp():
    return tj.load_exported(tj.export(MLP, PARAMS))


@functools.cache
def oop_gpt():
    return oop.GPT(11, 8, 1, 2, max_seq_len=8, key=KEY)


def oop_cached_generate():
    model = oop_gpt()
    oop.enable_kv_cache(model, batch_size=1)
    try:
        return model.generate(oop.Tensor([[1, 2, 3]]), 7, temperature=0)
    finally:
        oop.disable_kv_cache(model)


def _torch_sd():
    import torch

    return torch.nn.Sequential(torch.nn.Linear(3, 2)).state_dict()


def T23():
    return oop.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)


def _saved(folder: Path) -> Path:
    tj.save(folder / "w.safetensors", PARAMS, layer=MLP)
    return folder / "w.safetensors"


def _read_only(folder: Path) -> Path:
    path = _saved(folder)
    os.chmod(path, 0o444)
    return path


def _plain_apply(params, x):
    return MLP.apply(params, x)


BASE_CASES = {
    "apply given None": (
        lambda tmp: MLP.apply(PARAMS, None),
        tj.DTypeError,
        ["Sequential(Linear(784 -> 16)", "expected an input array x of numbers, got NoneType None"],
    ),
    "apply given a string": (
        lambda tmp: MLP.apply(PARAMS, "abc"),
        tj.DTypeError,
        ["expected an input array x of numbers, got str 'abc'"],
    ),
    "apply with the arguments swapped": (
        lambda tmp: tj.Linear(784, 16).apply(X, PARAMS[0]),
        tj.DTypeError,
        ["Linear(784 -> 16): expected an input array x", "the arguments look swapped: call apply(params, x)"],
    ),
    "apply with integer weights": (
        lambda tmp: MLP.apply(INT_PARAMS, X),
        tj.DTypeError,
        ["Sequential[0] Linear(784 -> 16)", "is int32: weights must be floating-point", "astype(jnp.float32)"],
    ),
    "compile a plain function": (
        lambda tmp: tj.compile(_plain_apply, PARAMS, X),
        tj.ConfigError,
        ["compile takes a tinyjax Layer", "function '_plain_apply'", "tj.as_layer((init, apply))"],
    ),
    "compile with a 1-D example": (
        lambda tmp: tj.compile(MLP, PARAMS, jnp.ones(784)),
        tj.ShapeError,
        ["compile(Sequential", "expected example of shape (batch, features, ...), got (784,)", "x[None]"],
    ),
    "compile with integer weights": (
        lambda tmp: tj.compile(MLP, INT_PARAMS, X),
        tj.DTypeError,
        ["compile(Sequential", "params[0]['bias'] is int32", "astype(jnp.float32)"],
    ),
    "predictor given integer input": (
        lambda tmp: tj.compile(MLP, PARAMS, X)(np.ones((4, 784), np.int64)),
        tj.DTypeError,
        ["Predictor(Sequential", "expected floating input, got int64", "astype(np.float32)"],
    ),
    "export to an unknown platform": (
        lambda tmp: tj.export(MLP, PARAMS, platforms="gpu"),
        tj.ConfigError,
        ["export platforms must be among", "'cuda'", "('gpu',)"],
    ),
    "export integer weights": (
        lambda tmp: tj.export(MLP, INT_PARAMS),
        tj.DTypeError,
        ["export(Sequential", "is int32: weights must be floating-point"],
    ),
    "export a plain function": (
        lambda tmp: tj.export(_plain_apply, PARAMS),
        tj.ConfigError,
        ["export takes a tinyjax Layer", "tj.as_layer"],
    ),
    "summary with an int input shape": (
        lambda tmp: tj.summary(MLP, PARAMS, 784),
        tj.ConfigError,
        ["summary(Sequential", "input_shape must be a shape tuple such as (32, 784), got the int 784", "(784,)"],
    ),
    "save None": (
        lambda tmp: tj.save(tmp / "w.safetensors", None),
        tj.ConfigError,
        ["w.safetensors", "the params are empty (None)", "model.init", "nothing was written"],
    ),
    "save empty params": (
        lambda tmp: tj.save(tmp / "w.safetensors", ()),
        tj.ConfigError,
        ["the params are empty (())"],
    ),
    "save over a read-only file": (
        lambda tmp: tj.save(_read_only(tmp), PARAMS),
        PermissionError,
        ["cannot save weights: the file is read-only (mode 444)", "make it writable", "w.safetensors"],
    ),
    "save into a missing folder": (
        lambda tmp: tj.save(tmp / "nowhere" / "w.safetensors", PARAMS),
        FileNotFoundError,
        ["cannot save", "nowhere", "does not exist"],
    ),
    "load with like=None": (
        lambda tmp: tj.load(_saved(tmp), None),
        tj.ConfigError,
        ["like=None", "pass the Layer the weights belong to", "jax.eval_shape(model.init, key)"],
    ),
    "load into an integer dtype": (
        lambda tmp: tj.load(_saved(tmp), MLP, dtype=jnp.int8),
        tj.ConfigError,
        ["load dtype", "must be a floating dtype, got int8"],
    ),
    "cross_entropy with label = classes": (
        lambda tmp: tj.losses.cross_entropy(jnp.zeros((2, 3)), jnp.array([0, 3])),
        tj.ConfigError,
        ["cross_entropy", "class indices in [0, 3), got 3 at index (1,)", "check the labels"],
    ),
    "cross_entropy with label -1": (
        lambda tmp: tj.losses.cross_entropy(jnp.zeros((2, 3)), jnp.array([-1, 0])),
        tj.ConfigError,
        ["class indices in [0, 3), got -1 at index (0,)"],
    ),
}


LAYER_CASES = {
    "Residual.apply with a typo trainig=": (
        lambda tmp: tj.Residual(tj.Linear(3, 3)).apply(_zeros(tj.Residual(tj.Linear(3, 3))), X3, trainig=True),
        tj.ConfigError,
        ["apply got the option trainig=, which it does not take; it takes precision="],
    ),
    "Repeat.apply with training= no block takes": (
        lambda tmp: tj.Repeat(tj.Linear(3, 3), 2).apply(_zeros(tj.Repeat(tj.Linear(3, 3), 2)), X3, training=True),
        tj.ConfigError,
        ["Repeat(Linear(3 -> 3), n=2).apply got the option training=", "it takes precision="],
    ),
    "Lambda.apply with an option": (
        lambda tmp: tj.Lambda(jnp.sin).apply((), X3, training=False),
        tj.ConfigError,
        ["Lambda(sin).apply got the option training=, which it does not take; it takes no options"],
    ),
    "Linear of 0 inputs": (
        lambda tmp: tj.Linear(0, 3),
        tj.ConfigError,
        ["in_features must be a positive integer, got 0"],
    ),
    "Linear of 2.5 inputs": (
        lambda tmp: tj.Linear(2.5, 3),
        tj.ConfigError,
        ["in_features must be a positive integer, got 2.5 (float)"],
    ),
    "Linear of a string size": (
        lambda tmp: tj.Linear("3", 2),
        tj.ConfigError,
        ["in_features must be a positive integer, got '3' (str)"],
    ),
    "Linear of integer dtype": (
        lambda tmp: tj.Linear(3, 2, dtype=jnp.int32),
        tj.ConfigError,
        ["Linear params must have a floating dtype, got int32"],
    ),
    "Linear.apply with training=": (
        lambda tmp: SMALL.apply(SP, X3, training=True),
        tj.ConfigError,
        ["Linear(3 -> 2).apply got the option training=, which it does not take; it"],
    ),
    "module linear.apply with training=": (
        lambda tmp: tj.linear.apply(SP, X3, training=True),
        tj.ConfigError,
        ["Linear(3 -> 2).apply got the option training=, which it does not take; it takes precision="],
    ),
    "Sequential.apply with a typo trainig=": (
        lambda tmp: CNN.apply(cnn_params(), IMG, trainig=True),
        tj.ConfigError,
        [
            "Sequential(Conv2d(1 -> 2, kernel=(3, 3), stride=(1, 1), padding=(0, 0)),",
            "which it does not take; it takes precision=, training=",
        ],
    ),
    "Sequential.apply with training= no layer takes": (
        lambda tmp: MLP.apply(PARAMS, X, training=True),
        tj.ConfigError,
        [
            "Sequential(Linear(784 -> 16), ReLU(), Linear(16 -> 10)).apply got the",
            "training=, which it does not take; it takes precision=",
        ],
    ),
    "Sequential.apply with params of the wrong length": (
        lambda tmp: MLP.apply(PARAMS[:2], X),
        tj.ParamsError,
        [
            "Sequential: expected params to be a tuple of 3 params, one per layer, got",
            "got 2 entries. These params belong to another model",
        ],
    ),
    "Sequential.apply with the wrong features": (
        lambda tmp: MLP.apply(PARAMS, jnp.ones((4, 100))),
        tj.ShapeError,
        ["Sequential[0] Linear(784 -> 16): expected input of shape (..., 784), got"],
    ),
    "Sequential.apply with complex input": (
        lambda tmp: MLP.apply(PARAMS, jnp.ones((4, 784), jnp.complex64)),
        tj.DTypeError,
        [
            "Sequential[0] Linear(784 -> 16): expected floating-point input, got",
            "(complex64); convert it with x.astype(jnp.float32)",
        ],
    ),
    "Sequential.apply with another model's params": (
        lambda tmp: MLP.apply(cnn_params(), X),
        tj.ParamsError,
        [
            "Sequential: expected params to be a tuple of 3 params, one per layer, got",
            "got 5 entries. These params belong to another model",
        ],
    ),
    "init with an int key": (
        lambda tmp: MLP.init(0),
        tj.KeyArgumentError,
        ["Sequential.init expects a PRNG key such as jax.random.key(0), got int 0"],
    ),
    "init with None": (
        lambda tmp: MLP.init(None),
        tj.KeyArgumentError,
        ["Sequential.init expects a PRNG key such as jax.random.key(0), got NoneType"],
    ),
    "init with a batch of keys": (
        lambda tmp: MLP.init(jax.random.split(KEY, 3)),
        tj.KeyArgumentError,
        ["Sequential.init expects one key, got a batch of keys of shape (3,); to use"],
    ),
    "init with a float array": (
        lambda tmp: SMALL.init(jnp.ones(2)),
        tj.KeyArgumentError,
        ["Linear(3 -> 2).init expects a PRNG key such as jax.random.key(0), got"],
    ),
    "Sequential of a string": (
        lambda tmp: tj.Sequential(tj.Linear(2, 2), "relu"),
        tj.ConfigError,
        ["expected a tinyjax Layer, an (init, apply) pair of functions or a"],
    ),
    "Sequential whose sizes do not fit": (
        lambda tmp: tj.Sequential(tj.Linear(784, 128), tj.Linear(64, 10)),
        tj.ShapeError,
        ["Sequential[1] Linear(64 -> 10): expected input of shape (..., 64), got"],
    ),
    "Conv2d with kernel 0": (
        lambda tmp: tj.Conv2d(1, 2, 0),
        tj.ConfigError,
        ["kernel_size must be an int >= 1 or a pair of them, got 0"],
    ),
    "Conv2d with stride 0": (
        lambda tmp: tj.Conv2d(1, 2, 3, stride=0),
        tj.ConfigError,
        ["stride must be an int >= 1 or a pair of them, got 0"],
    ),
    "Conv2d with negative padding": (
        lambda tmp: tj.Conv2d(1, 2, 3, padding=-1),
        tj.ConfigError,
        ["padding must be an int >= 0 or a pair of them, got -1"],
    ),
    "Conv2d with a 3-tuple kernel": (
        lambda tmp: tj.Conv2d(1, 2, (3, 3, 3)),
        tj.ConfigError,
        ["kernel_size must be an int >= 1 or a pair of them, got (3, 3, 3)"],
    ),
    "Conv2d given a 2-D input": (
        lambda tmp: CNN.apply(cnn_params(), jnp.ones((2, 36))),
        tj.ShapeError,
        [
            "Sequential[0] Conv2d(1 -> 2, kernel=(3, 3), stride=(1, 1), padding=(0,",
            "input to be (N, 1, H, W) or (1, H, W), got (2, 36)",
        ],
    ),
    "Conv2d given the wrong channels": (
        lambda tmp: CNN.apply(cnn_params(), jnp.ones((2, 3, 6, 6))),
        tj.ShapeError,
        [
            "Sequential[0] Conv2d(1 -> 2, kernel=(3, 3), stride=(1, 1), padding=(0,",
            "to be (N, 1, H, W) or (1, H, W), got (2, 3, 6, 6)",
        ],
    ),
    "Conv2d given an image smaller than its kernel": (
        lambda tmp: tj.Conv2d(1, 2, 3).apply(_zeros(tj.Conv2d(1, 2, 3)), jnp.ones((1, 1, 2, 2))),
        tj.ShapeError,
        [
            "Conv2d(1 -> 2, kernel=(3, 3), stride=(1, 1), padding=(0, 0)): expected",
            "+ 2*padding >= 3, W + 2*padding >= 3, got (1, 1, 2, 2)",
        ],
    ),
    "Conv2d given NHWC": (
        lambda tmp: tj.Conv2d(3, 2, 3).apply(_zeros(tj.Conv2d(3, 2, 3)), jnp.ones((1, 6, 6, 3))),
        tj.ShapeError,
        [
            "Conv2d(3 -> 2, kernel=(3, 3), stride=(1, 1), padding=(0, 0)): expected",
            "to be (N, 3, H, W) or (3, H, W), got (1, 6, 6, 3)",
        ],
    ),
    "MaxPool2d of 0": (
        lambda tmp: tj.MaxPool2d(0),
        tj.ConfigError,
        ["kernel_size must be an int >= 1 or a pair of them, got 0"],
    ),
    "MaxPool2d with stride 0": (
        lambda tmp: tj.MaxPool2d(2, stride=0),
        tj.ConfigError,
        ["stride must be an int >= 1 or a pair of them, got 0"],
    ),
    "MaxPool2d padding over half the kernel": (
        lambda tmp: tj.MaxPool2d(2, padding=2),
        tj.ConfigError,
        ["MaxPool2d: padding (2, 2) must be at most half the kernel (2, 2) (as in"],
    ),
    "MaxPool2d given a 2-D input": (
        lambda tmp: tj.MaxPool2d(2).apply((), jnp.ones((4, 4))),
        tj.ShapeError,
        [
            "MaxPool2d(kernel=(2, 2), stride=(2, 2), padding=(0, 0)): expected input to",
            "input to be (N, C, H, W) or (C, H, W), got (4, 4)",
        ],
    ),
    "AvgPool2d of -1": (
        lambda tmp: tj.AvgPool2d(-1),
        tj.ConfigError,
        ["kernel_size must be an int >= 1 or a pair of them, got -1"],
    ),
    "AvgPool2d window larger than the image": (
        lambda tmp: tj.AvgPool2d(4).apply((), jnp.ones((1, 1, 2, 2))),
        tj.ShapeError,
        [
            "AvgPool2d(kernel=(4, 4), stride=(4, 4), padding=(0, 0)): expected input to",
            "+ 2*padding >= 4, W + 2*padding >= 4, got (1, 1, 2, 2)",
        ],
    ),
    "BatchNorm1d of 0": (
        lambda tmp: tj.BatchNorm1d(0),
        tj.ConfigError,
        ["num_features must be a positive integer, got 0"],
    ),
    "BatchNorm1d with eps -1": (
        lambda tmp: tj.BatchNorm1d(3, eps=-1.0),
        tj.ConfigError,
        ["BatchNorm1d: eps must be a positive number, got -1.0"],
    ),
    "BatchNorm1d with momentum 2": (
        lambda tmp: tj.BatchNorm1d(3, momentum=2.0),
        tj.ConfigError,
        ["BatchNorm1d: momentum must be a number in [0, 1] or None, got 2.0"],
    ),
    "BatchNorm2d given 2-D input": (
        lambda tmp: tj.BatchNorm2d(2).apply(_zeros(tj.BatchNorm2d(2)), jnp.ones((4, 2))),
        tj.ShapeError,
        ["BatchNorm2d(2, eps=1e-05, momentum=0.1): expected input to be (N, 2, H, W)"],
    ),
    "BatchNorm1d given the wrong features": (
        lambda tmp: tj.BatchNorm1d(3).apply(_zeros(tj.BatchNorm1d(3)), jnp.ones((4, 5))),
        tj.ShapeError,
        ["BatchNorm1d(3, eps=1e-05, momentum=0.1): expected input to be (N, 3) or"],
    ),
    "BatchNorm1d with training='yes'": (
        lambda tmp: tj.BatchNorm1d(3).apply(_zeros(tj.BatchNorm1d(3)), jnp.ones((4, 3)), training="yes"),
        tj.ConfigError,
        ["BatchNorm1d(3, eps=1e-05, momentum=0.1): training must be True, False or"],
    ),
    "BatchNorm1d training on one example": (
        lambda tmp: tj.BatchNorm1d(3).apply(_zeros(tj.BatchNorm1d(3)), jnp.ones((1, 3)), training=True),
        tj.ShapeError,
        [
            "BatchNorm1d(3, eps=1e-05, momentum=0.1): expected input to be more than",
            "than one value per channel in training, got (1, 3)",
        ],
    ),
    "LayerNorm of 0": (
        lambda tmp: tj.LayerNorm(0),
        tj.ConfigError,
        ["normalized_shape must be a positive integer, got 0"],
    ),
    "LayerNorm given the wrong last axis": (
        lambda tmp: tj.LayerNorm(4).apply(_zeros(tj.LayerNorm(4)), jnp.ones((2, 3))),
        tj.ShapeError,
        ["LayerNorm(4, eps=1e-05): expected input of shape (..., 4), got (2, 3)"],
    ),
    "LayerNorm with eps 0": (
        lambda tmp: tj.LayerNorm(4, eps=0.0),
        tj.ConfigError,
        ["LayerNorm: eps must be a positive number, got 0.0"],
    ),
    "RMSNorm with a negative eps": (
        lambda tmp: tj.RMSNorm(4, eps=-1.0),
        tj.ConfigError,
        ["RMSNorm: eps must be a positive number, got -1.0"],
    ),
    "Embedding of 0 rows": (
        lambda tmp: tj.Embedding(0, 4),
        tj.ConfigError,
        ["num_embeddings must be a positive integer, got 0"],
    ),
    "Embedding given float indices": (
        lambda tmp: tj.Embedding(5, 4).apply(_zeros(tj.Embedding(5, 4)), jnp.ones((2, 3))),
        tj.DTypeError,
        ["Embedding(5, 4): expected integer indices, got float32; convert them with"],
    ),
    "PositionalEncoding past max_seq_len": (
        lambda tmp: tj.PositionalEncoding(4, 8).apply(_zeros(tj.PositionalEncoding(4, 8)), jnp.ones((1, 5, 8))),
        tj.ShapeError,
        ["PositionalEncoding(4, 8): expected input to be (..., T, 8) with T <= 4,"],
    ),
    "PositionalEncoding of the wrong width": (
        lambda tmp: tj.PositionalEncoding(4, 8).apply(_zeros(tj.PositionalEncoding(4, 8)), jnp.ones((1, 3, 6))),
        tj.ShapeError,
        ["PositionalEncoding(4, 8): expected input to be (..., T, 8) with T <= 4,"],
    ),
    "Dropout of 1.5": (
        lambda tmp: tj.Dropout(1.5),
        tj.ConfigError,
        ["Dropout rate must be in [0, 1] (the probability of dropping), got 1.5"],
    ),
    "Dropout of -0.1": (
        lambda tmp: tj.Dropout(-0.1),
        tj.ConfigError,
        ["Dropout rate must be in [0, 1] (the probability of dropping), got -0.1"],
    ),
    "Dropout of a string": (
        lambda tmp: tj.Dropout("0.5"),
        tj.ConfigError,
        ["Dropout rate must be a number in [0, 1], got '0.5"],
    ),
    "Dropout training without a key": (
        lambda tmp: tj.Dropout(0.5).apply((), X3, training=True),
        tj.KeyArgumentError,
        [
            "Dropout(rate=0.5).apply: training=True needs a key for its randomness;",
            "y=jax.random.key(...) (or training=False for inference)",
        ],
    ),
    "Dropout with an int key": (
        lambda tmp: tj.Dropout(0.5).apply((), X3, key=3),
        tj.KeyArgumentError,
        ["Dropout(rate=0.5).apply expects a PRNG key such as jax.random.key(0), got"],
    ),
    "Sequential with an int key for its Dropout": (
        lambda tmp: tj.Sequential(tj.Linear(3, 3), tj.Dropout(0.5)).apply(
            _zeros(tj.Sequential(tj.Linear(3, 3), tj.Dropout(0.5))), X3, key=1
        ),
        tj.KeyArgumentError,
        ["Sequential.apply expects a PRNG key such as jax.random.key(0), got array"],
    ),
    "Softmax over axis 5 of 2-D input": (
        lambda tmp: tj.Softmax(axis=5).apply((), X3),
        tj.ShapeError,
        ["Softmax(axis=5): expected input to be an input with axis 5, got (2, 3)"],
    ),
    "Softmax over axis 1.5": (
        lambda tmp: tj.Softmax(axis=1.5),
        tj.ConfigError,
        ["Softmax axis must be an int, got 1.5"],
    ),
    "Flatten from axis 3 of 2-D input": (
        lambda tmp: tj.Flatten(start_dim=3).apply((), X3),
        tj.ShapeError,
        ["Flatten(start_dim=3, end_dim=-1): expected input to be an input with axes"],
    ),
    "Flatten from a string axis": (
        lambda tmp: tj.Flatten(start_dim="a"),
        tj.ConfigError,
        ["Flatten start_dim must be an int, got 'a"],
    ),
    "Flatten ending before it starts": (
        lambda tmp: tj.Flatten(start_dim=2, end_dim=1),
        tj.ConfigError,
        ["Flatten start_dim=2 comes after end_dim=1: nothing to merge"],
    ),
    "Residual that changes the width": (
        lambda tmp: tj.Residual(tj.Linear(3, 4)).apply(_zeros(tj.Residual(tj.Linear(3, 4))), X3),
        tj.ShapeError,
        [
            "Residual(Linear(3 -> 4)): expected inner output of shape (..., 3), got",
            "4). x + layer(x) needs the layer to keep the shape",
        ],
    ),
    "Residual of a number": (
        lambda tmp: tj.Residual(3),
        tj.ConfigError,
        ["expected a tinyjax Layer, an (init, apply) pair of functions or a"],
    ),
    "Repeat 0 times": (
        lambda tmp: tj.Repeat(tj.Linear(3, 3), 0),
        tj.ConfigError,
        ["n must be a positive integer, got 0"],
    ),
    "Repeat of a width-changing block": (
        lambda tmp: tj.Repeat(tj.Linear(3, 4), 2),
        tj.ShapeError,
        [
            "Repeat(Linear(3 -> 4), n=2) block: expected output of shape (..., 3), got",
            "A repeated block must map its input shape to itself",
        ],
    ),
    "MultiHeadAttention with heads not dividing": (
        lambda tmp: tj.MultiHeadAttention(8, 3),
        tj.ConfigError,
        ["MultiHeadAttention: embed_dim 8 must be a multiple of num_heads 3"],
    ),
    "MultiHeadAttention with a misshapen mask": (
        lambda tmp: tj.MultiHeadAttention(8, 2).apply(
            _zeros(tj.MultiHeadAttention(8, 2)), jnp.ones((1, 3, 8)), mask=jnp.ones((4, 4), bool)
        ),
        tj.ShapeError,
        [
            "MultiHeadAttention(8, heads=2): expected mask to be broadcastable to",
            "to (batch, heads, seq, seq) = (1, 2, 3, 3), got (4, 4)",
        ],
    ),
    "MultiHeadAttention with a typo musk=": (
        lambda tmp: tj.MultiHeadAttention(8, 2).apply(
            _zeros(tj.MultiHeadAttention(8, 2)), jnp.ones((1, 3, 8)), musk=None
        ),
        tj.ConfigError,
        ["MultiHeadAttention(8, heads=2).apply got the option musk=, which it does"],
    ),
    "TransformerBlock with heads not dividing": (
        lambda tmp: tj.TransformerBlock(8, 3),
        tj.ConfigError,
        ["TransformerBlock: embed_dim 8 must be a multiple of num_heads 3"],
    ),
    "TransformerBlock with dropout 2": (
        lambda tmp: tj.TransformerBlock(8, 2, dropout=2.0),
        tj.ConfigError,
        ["Dropout rate must be in [0, 1] (the probability of dropping), got 2.0"],
    ),
    "Lambda of a number": (
        lambda tmp: tj.Lambda(3),
        tj.ConfigError,
        ["Lambda takes a function, got int: 3"],
    ),
    "as_layer of a number": (
        lambda tmp: tj.as_layer(5),
        tj.ConfigError,
        ["expected a tinyjax Layer, an (init, apply) pair of functions or a"],
    ),
    "ReLU given params": (
        lambda tmp: tj.ReLU().apply(SP, X3),
        tj.ParamsError,
        ["ReLU(): expected params to be empty, (), got {'bias': (2,), 'weight': (3,"],
    ),
    "Identity given params": (
        lambda tmp: tj.Identity().apply(SP, X3),
        tj.ParamsError,
        [
            "Identity(): expected params to be empty, (), got {'bias': (2,), 'weight':",
            "(2,), 'weight': (3, 2)}. This layer has no parameters",
        ],
    ),
    "GELU approximate='yes'": (
        lambda tmp: tj.GELU(approximate="yes"),
        tj.ConfigError,
        ["GELU approximate must be True, False, 'none' or 'tanh' (torch's), got 'yes"],
    ),
    "output_shape with an int": (
        lambda tmp: MLP.output_shape(784),
        tj.ConfigError,
        [
            "Sequential(Linear(784 -> 16), ReLU(), Linear(16 -> 10)).output_shape:",
            "int 784; for one sample of 784 features pass (784,)",
        ],
    ),
    "initializer of a string shape": (
        lambda tmp: tj.initializers.xavier_uniform(KEY, "3x2", jnp.float32),
        tj.ConfigError,
        ["xavier_uniform: shape must hold non-negative ints, got '3x2"],
    ),
    "initializer of a 1-D shape": (
        lambda tmp: tj.initializers.xavier_uniform(KEY, (3,), jnp.float32),
        tj.ConfigError,
        ["xavier_uniform needs a shape with at least 2 dimensions (in, out), got (3,)"],
    ),
    "count_params of a string": (
        lambda tmp: tj.count_params("abc"),
        tj.ConfigError,
        ["count_params takes a params pytree of arrays, got a leaf str 'abc"],
    ),
}


STATE_CASES = {
    "cross_entropy given (y, new_state)": (
        lambda tmp: tj.losses.cross_entropy(CNN.apply(cnn_params(), IMG, training=True), jnp.array([0, 1])),
        tj.DTypeError,
        [
            "cross_entropy: expected logits as an array, got a tuple of 2:",
            "new_state); unpack it: y, new_state = model.apply(...)",
        ],
    ),
    "apply given (y, new_state)": (
        lambda tmp: tj.Linear(3, 2).apply(SP, CNN.apply(cnn_params(), IMG, training=True)),
        tj.DTypeError,
        [
            "Linear(3 -> 2): expected an input array x of numbers, got tuple (",
            "with state returns (y, new_state): unpack it first",
        ],
    ),
    "mse of different shapes": (
        lambda tmp: tj.losses.mse(jnp.ones(3), jnp.ones(4)),
        tj.ShapeError,
        ["mse: expected targets of shape (3,), got (4,)"],
    ),
    "mse of None": (
        lambda tmp: tj.losses.mse(None, jnp.ones(4)),
        tj.DTypeError,
        ["mse: expected predictions as an array of numbers, got NoneType None"],
    ),
    "cross_entropy with reduction 'avg'": (
        lambda tmp: tj.losses.cross_entropy(jnp.zeros((2, 3)), jnp.array([0, 1]), reduction="avg"),
        tj.ConfigError,
        ["cross_entropy: reduction must be one of ('mean', 'sum', 'none'), got 'avg"],
    ),
    "cross_entropy of integer logits": (
        lambda tmp: tj.losses.cross_entropy(jnp.zeros((2, 3), jnp.int32), jnp.array([0, 1])),
        tj.DTypeError,
        ["cross_entropy: expected floating logits, got int32"],
    ),
    "cross_entropy with labels of another batch": (
        lambda tmp: tj.losses.cross_entropy(jnp.zeros((2, 3)), jnp.array([0, 1, 2])),
        tj.ShapeError,
        [
            "cross_entropy: expected integer labels of shape (2,), got (3,). Integer",
            "without the class axis; pass one-hot rows as floats",
        ],
    ),
    "binary_cross_entropy of different shapes": (
        lambda tmp: tj.losses.binary_cross_entropy(jnp.zeros(3), jnp.zeros(2)),
        tj.ShapeError,
        ["binary_cross_entropy: expected targets of shape (3,), got (2,)"],
    ),
    "split_state with the arguments swapped": (
        lambda tmp: tj.split_state(cnn_params(), CNN),
        tj.ConfigError,
        [
            "split_state takes the tinyjax Layer first, got tuple; the arguments look",
            "look swapped: call split_state(model, params)",
        ],
    ),
    "split_state of a string": (
        lambda tmp: tj.split_state("model", PARAMS),
        tj.ConfigError,
        ["split_state takes the tinyjax Layer first, got str"],
    ),
    "split_state with another model's params": (
        lambda tmp: tj.split_state(CNN, PARAMS),
        tj.ConfigError,
        ["split_state: the params given do not have the structure of", "end_dim=-1), Linear(32 -> 3))'s params"],
    ),
    "merge_state of two models' halves": (
        lambda tmp: tj.merge_state(tj.split_state(CNN, cnn_params())[0], tj.split_state(MLP, PARAMS)[1]),
        tj.ConfigError,
        [
            "merge_state: the trainable half and the state half do not have the same",
            "returned (the state from apply(..., training=True))",
        ],
    ),
    "merge_state of whole params and the state": (
        lambda tmp: tj.merge_state(cnn_params(), tj.split_state(CNN, cnn_params())[1]),
        tj.ConfigError,
        [
            "merge_state: 3 position(s) hold a leaf in both halves or in neither; pass",
            "returned (each None where the other holds a leaf)",
        ],
    ),
}


DECODER_CASES = {
    "GPT of vocabulary 0": (
        lambda tmp: tj.GPT(0, 8, 1, 2, 8),
        tj.ConfigError,
        ["vocab_size must be a positive integer, got 0"],
    ),
    "GPT with rotary positions": (
        lambda tmp: tj.GPT(11, 8, 1, 2, 8, positions="rope"),
        tj.ConfigError,
        ["GPT positions must be 'learned' or 'sinusoidal', got 'rope"],
    ),
    "GPT with heads not dividing": (
        lambda tmp: tj.GPT(11, 8, 1, 3, 8),
        tj.ConfigError,
        ["TransformerBlock: embed_dim 8 must be a multiple of num_heads 3"],
    ),
    "GPT apply past max_seq_len": (
        lambda tmp: GPT.apply(gpt_params(), jnp.ones((1, 9), jnp.int32)),
        tj.ShapeError,
        ["Sequential[1] PositionalEncoding(8, 8): expected input to be (..., T, 8)"],
    ),
    "GPT apply of float tokens": (
        lambda tmp: GPT.apply(gpt_params(), jnp.ones((1, 3))),
        tj.DTypeError,
        ["Sequential[0] Embedding(11, 8): expected integer indices, got float32;"],
    ),
    "generate 0 steps": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 0),
        tj.ConfigError,
        ["steps must be a positive integer, got 0"],
    ),
    "generate 2.5 steps": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 2.5),
        tj.ConfigError,
        ["steps must be a positive integer, got 2.5 (float)"],
    ),
    "generate from an empty prompt": (
        lambda tmp: gpt.generate(GPT, gpt_params(), jnp.ones((2, 0), jnp.int32), 3),
        tj.ShapeError,
        [
            "generate(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "integer token ids, one row per sequence, with T >= 1",
        ],
    ),
    "generate from a 1-D prompt": (
        lambda tmp: gpt.generate(GPT, gpt_params(), jnp.ones(3, jnp.int32), 3),
        tj.ShapeError,
        [
            "generate(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "integer token ids, one row per sequence, with T >= 1",
        ],
    ),
    "generate from a float prompt": (
        lambda tmp: gpt.generate(GPT, gpt_params(), jnp.ones((2, 3)), 3),
        tj.DTypeError,
        [
            "generate(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "ids, got float32; convert them with .astype(jnp.int32)",
        ],
    ),
    "generate from an out-of-vocabulary prompt": (
        lambda tmp: gpt.generate(GPT, gpt_params(), jnp.array([[1, 11, 2]]), 3),
        tj.ConfigError,
        [
            "generate(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "11 at index (0, 1); check the tokenizer's vocabulary",
        ],
    ),
    "generate from a negative token": (
        lambda tmp: gpt.generate(GPT, gpt_params(), jnp.array([[1, -1]]), 3),
        tj.ConfigError,
        [
            "generate(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "-1 at index (0, 1); check the tokenizer's vocabulary",
        ],
    ),
    "generate past max_seq_len": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 6),
        tj.ShapeError,
        [
            "generate(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "(B, T) with 1 <= T and T + 6 steps <= 8, got (2, 3)",
        ],
    ),
    "generate with an int key": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 3, key=0),
        tj.KeyArgumentError,
        ["tinyjax.gpt.generate.key expects a PRNG key such as jax.random.key(0), got"],
    ),
    "generate with a batch of keys": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 3, key=jax.random.split(KEY, 2)),
        tj.KeyArgumentError,
        [
            "tinyjax.gpt.generate.key expects one key, got a batch of keys of shape",
            "shape (2,); to use a batch of keys, jax.vmap over them",
        ],
    ),
    "generate at temperature -1": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 3, key=KEY, temperature=-1.0),
        tj.ConfigError,
        ["generate: temperature must be a finite number >= 0 (0 is greedy), got -1.0"],
    ),
    "generate at temperature nan": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 3, key=KEY, temperature=float("nan")),
        tj.ConfigError,
        ["generate: temperature must be a finite number >= 0 (0 is greedy), got nan"],
    ),
    "generate at temperature 'hot'": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 3, key=KEY, temperature="hot"),
        tj.ConfigError,
        ["generate: temperature must be a number >= 0, got str 'hot"],
    ),
    "generate with top_k 0": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 3, key=KEY, top_k=0),
        tj.ConfigError,
        ["generate: top_k must be None or an integer in [1, 11] (the vocabulary),"],
    ),
    "generate with top_k -1": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 3, key=KEY, top_k=-1),
        tj.ConfigError,
        ["generate: top_k must be None or an integer in [1, 11] (the vocabulary),"],
    ),
    "generate with top_k above the vocabulary": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 3, key=KEY, top_k=12),
        tj.ConfigError,
        ["generate: top_k must be None or an integer in [1, 11] (the vocabulary),"],
    ),
    "generate with top_k 2.5": (
        lambda tmp: gpt.generate(GPT, gpt_params(), PROMPT, 3, key=KEY, top_k=2.5),
        tj.ConfigError,
        ["generate: top_k must be None or an integer in [1, 11] (the vocabulary),"],
    ),
    "generate with a model that is no GPT": (
        lambda tmp: gpt.generate(MLP, PARAMS, PROMPT, 3),
        tj.ConfigError,
        ["generation needs a model built by tinyjax.GPT, got Sequential(Linear(784"],
    ),
    "generate_uncached from an out-of-vocabulary prompt": (
        lambda tmp: gpt.generate_uncached(GPT, gpt_params(), jnp.array([[1, 11]]), 3),
        tj.ConfigError,
        [
            "generate_uncached(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "11 at index (0, 1); check the tokenizer's vocabulary",
        ],
    ),
    "generate_uncached with top_k 0": (
        lambda tmp: gpt.generate_uncached(GPT, gpt_params(), PROMPT, 3, key=KEY, top_k=0),
        tj.ConfigError,
        ["generate_uncached: top_k must be None or an integer in [1, 11] (the"],
    ),
    "prefill past the cache": (
        lambda tmp: gpt.prefill(GPT, gpt_params(), jnp.ones((2, 9), jnp.int32), gpt.init_cache(GPT, 2)),
        tj.ShapeError,
        [
            "prefill(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "or build the model with a larger max_seq_len",
        ],
    ),
    "prefill after a full cache": (
        lambda tmp: gpt.prefill(GPT, gpt_params(), PROMPT, full_cache()),
        tj.ShapeError,
        [
            "prefill(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "or build the model with a larger max_seq_len",
        ],
    ),
    "prefill of an out-of-vocabulary token": (
        lambda tmp: gpt.prefill(GPT, gpt_params(), jnp.array([[1, 99]]), gpt.init_cache(GPT, 1)),
        tj.ConfigError,
        [
            "prefill(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "99 at index (0, 1); check the tokenizer's vocabulary",
        ],
    ),
    "prefill with a cache of another batch": (
        lambda tmp: gpt.prefill(GPT, gpt_params(), PROMPT, gpt.init_cache(GPT, 3)),
        tj.ShapeError,
        ["Sequential(Embedding(11, 8), PositionalEncoding(8, 8),", "(B, t), got (2, 3). The cache holds B=3 sequences"],
    ),
    "prefill with no cache": (
        lambda tmp: gpt.prefill(GPT, gpt_params(), PROMPT, None),
        tj.ConfigError,
        [
            "prefill(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "a cache from tinyjax.gpt.init_cache, got NoneType None",
        ],
    ),
    "decode_step on a full cache": (
        lambda tmp: gpt.decode_step(GPT, gpt_params(), jnp.ones(2, jnp.int32), full_cache()),
        tj.ShapeError,
        [
            "decode_step(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "or build the model with a larger max_seq_len",
        ],
    ),
    "decode_step of a 2-D token": (
        lambda tmp: gpt.decode_step(GPT, gpt_params(), PROMPT, gpt.init_cache(GPT, 2)),
        tj.ShapeError,
        [
            "decode_step(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "of shape (B,), got (2, 3). one token id per sequence",
        ],
    ),
    "decode_step of an out-of-vocabulary token": (
        lambda tmp: gpt.decode_step(GPT, gpt_params(), np.array([1, 20]), gpt.init_cache(GPT, 2)),
        tj.ConfigError,
        [
            "decode_step(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "20 at index (1, 0); check the tokenizer's vocabulary",
        ],
    ),
    "init_cache of a model that is no GPT": (
        lambda tmp: gpt.init_cache(MLP, 2),
        tj.ConfigError,
        ["generation needs a model built by tinyjax.GPT, got Sequential(Linear(784"],
    ),
    "OOP GPT generate past max_seq_len with the cache": (
        lambda tmp: oop_cached_generate(),
        tj.ShapeError,
        [
            "GPT.generate(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "be T + max_new_tokens - 1 <= max_seq_len=8, got (3, 7)",
        ],
    ),
    "OOP GPT generate past max_seq_len without the cache": (
        lambda tmp: oop_gpt().generate(oop.Tensor([[1, 2, 3]]), 7, temperature=0),
        tj.ShapeError,
        [
            "GPT.generate(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "be T + max_new_tokens - 1 <= max_seq_len=8, got (3, 7)",
        ],
    ),
    "OOP GPT generate at temperature -1": (
        lambda tmp: oop_gpt().generate(oop.Tensor([[1, 2]]), 2, temperature=-1.0),
        tj.ConfigError,
        ["GPT.generate: temperature must be a finite number >= 0 (0 is greedy), got"],
    ),
    "OOP GPT generate with top_k 0": (
        lambda tmp: oop_gpt().generate(oop.Tensor([[1, 2]]), 2, top_k=0),
        tj.ConfigError,
        ["GPT.generate: top_k must be None or an integer in [1, 11] (the"],
    ),
    "OOP GPT generate from an out-of-vocabulary prompt": (
        lambda tmp: oop_gpt().generate(oop.Tensor([[1, 12]]), 2, temperature=0),
        tj.ConfigError,
        [
            "GPT.generate(Sequential(Embedding(11, 8), PositionalEncoding(8, 8),",
            "12 at index (0, 1); check the tokenizer's vocabulary",
        ],
    ),
    "OOP GPT generate from fractional tokens": (
        lambda tmp: oop_gpt().generate(oop.Tensor([[1.5, 2]]), 2, temperature=0),
        tj.DTypeError,
        ["GPT.generate: expected whole-number indices, got fractions in the Tensor"],
    ),
    "OOP GPT generate -1 new tokens": (
        lambda tmp: oop_gpt().generate(oop.Tensor([[1, 2]]), -1),
        tj.ConfigError,
        ["GPT.generate: max_new_tokens must be an int >= 0, got -1"],
    ),
    "enable_kv_cache on a Linear": (
        lambda tmp: oop.enable_kv_cache(oop.Linear(3, 2)),
        tj.MissingAttributeError,
        ["enable_kv_cache reads embed_dim, num_layers, num_heads, max_seq_len; Linear has no"],
    ),
    "KVCache update of layer 5": (
        lambda tmp: oop.KVCache(1, 4, 2, 2, 4).update(5, np.zeros((1, 2, 1, 4)), np.zeros((1, 2, 1, 4))),
        tj.ConfigError,
        ["KVCache: layer index 5 is outside 0..1"],
    ),
}


SERVING_CASES = {
    "compile for an unknown backend": (
        lambda tmp: tj.compile(MLP, PARAMS, X, backend="tpu"),
        tj.ConfigError,
        ["compile backend must be 'xla' or 'onnxruntime', got 'tpu"],
    ),
    "compile with precompile 0": (
        lambda tmp: tj.compile(MLP, PARAMS, X, precompile=[0]),
        tj.ConfigError,
        ["precompile takes positive batch sizes, got 0"],
    ),
    "compile with a string example": (
        lambda tmp: tj.compile(MLP, PARAMS, "x"),
        tj.ShapeError,
        [
            "compile(Sequential(Linear(784 -> 16), ReLU(), Linear(16 -> 10))): expected",
            "one row per sample: for a single sample x pass x[None]",
        ],
    ),
    "compile with the wrong features": (
        lambda tmp: tj.compile(MLP, PARAMS, jnp.ones((4, 100))),
        tj.ShapeError,
        ["Sequential[0] Linear(784 -> 16): expected input of shape (..., 784), got"],
    ),
    "predictor given a 1-D input": (
        lambda tmp: mlp_predictor()(np.ones(784, np.float32)),
        tj.ShapeError,
        [
            "Predictor(Sequential(Linear(784 -> 16), ReLU(), Linear(16 -> 10))):",
            "expected input of shape (batch, 784), got (784,)",
        ],
    ),
    "predictor given the wrong features": (
        lambda tmp: mlp_predictor()(np.ones((2, 100), np.float32)),
        tj.ShapeError,
        [
            "Predictor(Sequential(Linear(784 -> 16), ReLU(), Linear(16 -> 10))):",
            "expected input of shape (batch, 784), got (2, 100)",
        ],
    ),
    "predictor given a ragged list": (
        lambda tmp: mlp_predictor()([[1.0] * 784, [1.0]]),
        tj.ShapeError,
        [
            "Predictor(Sequential(Linear(784 -> 16), ReLU(), Linear(16 -> 10))):",
            "got a ragged list (rows of different lengths)",
        ],
    ),
    "predictor given None": (
        lambda tmp: mlp_predictor()(None),
        tj.DTypeError,
        [
            "Predictor(Sequential(Linear(784 -> 16), ReLU(), Linear(16 -> 10))):",
            "10))): expected an array of numbers, got NoneType None",
        ],
    ),
    "predictor given a string": (
        lambda tmp: mlp_predictor()("abc"),
        tj.DTypeError,
        [
            "Predictor(Sequential(Linear(784 -> 16), ReLU(), Linear(16 -> 10))):",
            "-> 10))): expected an array of numbers, got str 'abc",
        ],
    ),
    "predictor given complex input": (
        lambda tmp: mlp_predictor()(np.ones((2, 784), np.complex64)),
        tj.DTypeError,
        [
            "Predictor(Sequential(Linear(784 -> 16), ReLU(), Linear(16 -> 10))):",
            "got complex64; convert it with x.astype(np.float32)",
        ],
    ),
    "ONNX predictor given a ragged list": (
        lambda tmp: onnx_predictor()([[[[1.0] * 6] * 6], [[[1.0]]]]),
        tj.ShapeError,
        [
            "Predictor(Sequential(Conv2d(1 -> 2, kernel=(3, 3), stride=(1, 1),",
            "got a ragged list (rows of different lengths)",
        ],
    ),
    "ONNX predictor given the wrong image size": (
        lambda tmp: onnx_predictor()(np.ones((2, 1, 5, 5), np.float32)),
        tj.ShapeError,
        [
            "Predictor(Sequential(Conv2d(1 -> 2, kernel=(3, 3), stride=(1, 1),",
            "input of shape (batch, 1, 6, 6), got (2, 1, 5, 5)",
        ],
    ),
    "ONNX predictor given integer input": (
        lambda tmp: onnx_predictor()(np.ones((2, 1, 6, 6), np.int32)),
        tj.DTypeError,
        [
            "Predictor(Sequential(Conv2d(1 -> 2, kernel=(3, 3), stride=(1, 1),",
            "input, got int32; convert it with x.astype(np.float32)",
        ],
    ),
    "ONNX predictor given None": (
        lambda tmp: onnx_predictor()(None),
        tj.DTypeError,
        [
            "Predictor(Sequential(Conv2d(1 -> 2, kernel=(3, 3), stride=(1, 1),",
            "3))): expected an array of numbers, got NoneType None",
        ],
    ),
    "ONNX compile of a Lambda model": (
        lambda tmp: tj.compile(
            tj.Sequential(tj.Linear(3, 3), tj.Lambda(jnp.sin)),
            _zeros(tj.Sequential(tj.Linear(3, 3), tj.Lambda(jnp.sin))),
            X3,
            backend="onnxruntime",
        ),
        tj.ConfigError,
        [
            "export(format='onnx'): Lambda(sin) (inside Sequential(Linear(3 -> 3),",
            "with format='stablehlo', or describe its ONNX nodes",
        ],
    ),
    "ONNX compile with bfloat16 input": (
        lambda tmp: tj.compile(SMALL, SP, X3.astype(jnp.bfloat16), backend="onnxruntime"),
        tj.ConfigError,
        [
            "ONNX models take float32 inputs, or int32 / int64 indices, got",
            "for bfloat16 / float16 export with format='stablehlo",
        ],
    ),
    "export to an unknown format": (
        lambda tmp: tj.export(MLP, PARAMS, format="tflite"),
        tj.ConfigError,
        ["export format must be 'stablehlo' or 'onnx', got 'tflite"],
    ),
    "export ONNX of a Lambda": (
        lambda tmp: tj.export(tj.Lambda(jnp.sin), (), format="onnx"),
        tj.ConfigError,
        ["export(Lambda(sin)): the layer does not fix its input size; pass"],
    ),
    "load_exported of garbage bytes": (
        lambda tmp: tj.load_exported(b"not an artifact"),
        tj.ArtifactError,
        [
            "the bytes given (15 bytes) is not a jax.export artifact written by",
            "4 bytes at offset 544501614 (actual buffer size is 15)",
        ],
    ),
    "load_exported of a missing file": (
        lambda tmp: tj.load_exported(tmp / "missing.bin"),
        tj.MissingPathError,
        ["[Errno 2] cannot read the exported model: No such file or directory:"],
    ),
    "load_exported of a number": (
        lambda tmp: tj.load_exported(3),
        tj.ArtifactError,
        ["load_exported takes the bytes tinyjax.export returned or a file path, got"],
    ),
    "summary with the wrong features": (
        lambda tmp: tj.summary(MLP, PARAMS, (4, 100)),
        tj.ShapeError,
        ["Linear(784 -> 16): expected input of shape (..., 784), got (4, 100)"],
    ),
    "summary with negative sizes": (
        lambda tmp: tj.summary(MLP, PARAMS, (-1, 784)),
        tj.ConfigError,
        [
            "summary(Sequential(Linear(784 -> 16), ReLU(), Linear(16 -> 10))):",
            "input_shape must hold non-negative ints, got (-1, 784)",
        ],
    ),
    "summary of a plain function": (
        lambda tmp: tj.summary(lambda p, x: x, PARAMS, (4, 784)),
        tj.ConfigError,
        [
            "summary takes a tinyjax Layer as its first argument, got function",
            "x) becomes one with tj.as_layer((init, apply))",
        ],
    ),
}


SERVING_CASES.update(
    {
        "export with features the model refuses": (
            lambda tmp: tj.export(MLP, PARAMS, features=(100,)),
            tj.ShapeError,
            ["got (b, 100)", "b is the batch dimension export leaves symbolic; the features given were (100,)"],
        ),
        "export to ONNX with features the model refuses": (
            lambda tmp: tj.export(MLP, PARAMS, features=(100,), format="onnx"),
            tj.ShapeError,
            ["expected input of shape (..., 784), got (b, 100). b is the batch dimension export leaves symbolic"],
        ),
        "export with an int for features": (
            lambda tmp: tj.export(MLP, PARAMS, features=784),
            tj.ConfigError,
            ["features must be a tuple such as (784,), got the int 784"],
        ),
        "exported predictor given the wrong features": (
            lambda tmp: exported_mlp()(np.ones((2, 100), np.float32)),
            tj.ShapeError,
            ["load_exported predictor: expected input of shape (batch, 784), got (2, 100)"],
        ),
        "exported predictor given integer input": (
            lambda tmp: exported_mlp()(np.ones((2, 784), np.int32)),
            tj.DTypeError,
            ["expected floating input, got int32", "x.astype(np.float32)"],
        ),
        "exported predictor given a ragged list": (
            lambda tmp: exported_mlp()([[1.0] * 784, [1.0]]),
            tj.ShapeError,
            ["a ragged list (rows of different lengths)"],
        ),
        "exported predictor given None": (
            lambda tmp: exported_mlp()(None),
            tj.DTypeError,
            ["load_exported predictor: expected an array of numbers, got NoneType None"],
        ),
    }
)


INTEROP_CASES = {
    "to_torch_state_dict without the layer": (
        lambda tmp: tj.interop.to_torch_state_dict(cnn_params()),
        tj.ConfigError,
        [
            "to_torch_state_dict needs the tinyjax Layer the params belong to (the",
            "the model, e.g. to_torch_state_dict(params, model)",
        ],
    ),
    "to_torch_state_dict with another model": (
        lambda tmp: tj.interop.to_torch_state_dict(cnn_params(), MLP),
        tj.WeightsMismatchError,
        ["the params given does not fit Sequential(Linear(784 -> 16), ReLU(),"],
    ),
    "to_torch_state_dict with a string layer": (
        lambda tmp: tj.interop.to_torch_state_dict(SP, "Linear"),
        tj.ConfigError,
        [
            "to_torch_state_dict needs the tinyjax Layer the params belong to (the",
            "the model, e.g. to_torch_state_dict(params, model)",
        ],
    ),
    "to_torch_state_dict of a string": (
        lambda tmp: tj.interop.to_torch_state_dict("params", SMALL),
        tj.WeightsMismatchError,
        [
            "the params given does not fit Linear(3 -> 2): 3 difference(s)",
            "tensor '' of shape () <U6: the model has no such param",
        ],
    ),
    "from_torch_state_dict with a params template": (
        lambda tmp: tj.interop.from_torch_state_dict(_torch_sd(), SP),
        tj.ConfigError,
        [
            "from_torch_state_dict needs the tinyjax Layer the params belong to (the",
            "the model, e.g. to_torch_state_dict(params, model)",
        ],
    ),
    "from_torch_state_dict of None": (
        lambda tmp: tj.interop.from_torch_state_dict(None, SMALL),
        tj.ConfigError,
        ["from_torch_state_dict expects a state_dict (torch_module.state_dict()),"],
    ),
    "from_torch_state_dict of another model": (
        lambda tmp: tj.interop.from_torch_state_dict(_torch_sd(), MLP),
        tj.WeightsMismatchError,
        ["the PyTorch state_dict does not fit Sequential(Linear(784 -> 16), ReLU(),"],
    ),
    "from_torch_state_dict of a list entry": (
        lambda tmp: tj.interop.from_torch_state_dict({"0.weight": [[1.0]]}, tj.Sequential(tj.Linear(1, 1, bias=False))),
        tj.ConfigError,
        ["state_dict entry '0.weight' is list, not a torch.Tensor"],
    ),
}


WEIGHTS_CASES = {
    "save with a layer the params do not fit": (
        lambda tmp: tj.save(tmp / "w.safetensors", PARAMS, layer=CNN),
        tj.WeightsMismatchError,
        ["the params given to save does not fit Sequential(Conv2d(1 -> 2, kernel=(3,"],
    ),
    "save with metadata of ints": (
        lambda tmp: tj.save(tmp / "w.safetensors", PARAMS, metadata={"epoch": 3}),
        tj.ConfigError,
        ["metadata must map str to str, got 'epoch': 3 (int)"],
    ),
    "save of a string": (
        lambda tmp: tj.save(tmp / "w.safetensors", "abc"),
        tj.ConfigError,
        ["tensor '' has dtype <U3, which safetensors cannot store"],
    ),
    "load of a missing file": (
        lambda tmp: tj.load(tmp / "missing.safetensors", MLP),
        tj.MissingPathError,
        ["[Errno 2] cannot read weights: No such file or directory:"],
    ),
    "load of a text file": (
        lambda tmp: (tmp.joinpath("t.safetensors").write_text("hello"), tj.load(tmp / "t.safetensors", MLP)),
        tj.WeightsFileError,
        [
            "is not a valid safetensors file (Error while deserializing:",
            "or another format (tinyjax never reads pickle files)",
        ],
    ),
    "load into another model": (
        lambda tmp: (tj.save(tmp / "w.safetensors", PARAMS), tj.load(tmp / "w.safetensors", CNN)),
        tj.WeightsMismatchError,
        ["does not fit Sequential(Conv2d(1 -> 2, kernel=(3, 3), stride=(1, 1),"],
    ),
    "load with like a string": (
        lambda tmp: (tj.save(tmp / "w.safetensors", PARAMS), tj.load(tmp / "w.safetensors", "MLP")),
        tj.ConfigError,
        ["`like` must be a Layer or a pytree of arrays / jax.ShapeDtypeStruct; leaf"],
    ),
    "read_metadata of a missing file": (
        lambda tmp: tj.read_metadata(tmp / "missing.safetensors"),
        tj.MissingPathError,
        ["[Errno 2] cannot read weights: No such file or directory:"],
    ),
    "load of a folder": (
        lambda tmp: tj.load(tmp, MLP),
        tj.PathIsFolderError,
        ["[Errno 21] cannot read weights: Is a directory:"],
    ),
}


OOP_CASES = {
    "Tensor index past the end": (
        lambda tmp: T23()[5],
        tj.IndexRangeError,
        ["Tensor index 5 is out of range for axis 0 of size 2 (shape (2, 3))"],
    ),
    "Tensor index past the end of axis 1": (
        lambda tmp: T23()[0, 3],
        tj.IndexRangeError,
        ["Tensor index 3 is out of range for axis 1 of size 3 (shape (2, 3))"],
    ),
    "Tensor index -3 of 2 rows": (
        lambda tmp: T23()[-3],
        tj.IndexRangeError,
        ["Tensor index -3 is out of range for axis 0 of size 2 (shape (2, 3))"],
    ),
    "Tensor integer-array index out of range": (
        lambda tmp: T23()[np.array([0, 2])],
        tj.IndexRangeError,
        ["Tensor index 2 is out of range for axis 0 of size 2 (shape (2, 3))"],
    ),
    "Tensor index by a float": (
        lambda tmp: T23()[1.5],
        tj.DTypeError,
        ["Tensor index: indices must be integers, slices, None, ..., or integer or"],
    ),
    "Tensor with too many indices": (
        lambda tmp: T23()[0, 0, 0],
        tj.IndexRangeError,
        ["Tensor index: too many indices for a Tensor of shape (2, 3): 3 given"],
    ),
    "Tensor boolean mask of the wrong shape": (
        lambda tmp: T23()[np.array([True, False, True])],
        tj.IndexRangeError,
        ["Tensor index: a boolean mask of shape (3,) for axes of (2, 3)"],
    ),
    "Tensor index by a fractional Tensor": (
        lambda tmp: T23()[oop.Tensor([0.5])],
        tj.DTypeError,
        ["Tensor index: expected whole-number indices, got fractions in the Tensor"],
    ),
    "len of a 0-d Tensor": (
        lambda tmp: len(oop.Tensor(3.0)),
        tj.UnsupportedError,
        ["len() of a 0-d Tensor: it holds one value (t.item()), not a sequence"],
    ),
    "iterating a 0-d Tensor": (
        lambda tmp: list(oop.Tensor(3.0)),
        tj.UnsupportedError,
        ["iteration over a 0-d Tensor: it holds one value (t.item()), not a sequence"],
    ),
    "Tensor + a misshapen Tensor": (
        lambda tmp: T23() + oop.Tensor(np.ones(4)),
        tj.ShapeError,
        [
            "Tensor add: expected the other operand to be a shape that broadcasts with",
            "must be equal or 1 on each axis, counted from the last",
        ],
    ),
    "Tensor * a misshapen array": (
        lambda tmp: T23() * np.ones((3, 2)),
        tj.ShapeError,
        [
            "Tensor multiply: expected the other operand to be a shape that broadcasts",
            "must be equal or 1 on each axis, counted from the last",
        ],
    ),
    "array - a misshapen Tensor": (
        lambda tmp: np.ones((3, 2)) - T23(),
        tj.ShapeError,
        [
            "Tensor subtract: expected the other operand to be a shape that broadcasts",
            "must be equal or 1 on each axis, counted from the last",
        ],
    ),
    "Tensor comparison with a misshapen Tensor": (
        lambda tmp: T23() < oop.Tensor(np.ones(4)),
        tj.ShapeError,
        [
            "Tensor less: expected the other operand to be a shape that broadcasts with",
            "must be equal or 1 on each axis, counted from the last",
        ],
    ),
    "Tensor.item of 6 elements": (
        lambda tmp: T23().item(),
        tj.ShapeError,
        [
            "Tensor.item: expected self to be a one-element Tensor, got (2, 3). Index",
            "(t[0, 1].item()), or read all of them with t.numpy()",
        ],
    ),
    "float() of a 6-element Tensor": (
        lambda tmp: float(T23()),
        tj.ShapeError,
        [
            "Tensor.item: expected self to be a one-element Tensor, got (2, 3). Index",
            "(t[0, 1].item()), or read all of them with t.numpy()",
        ],
    ),
    "if on a 6-element Tensor": (
        lambda tmp: bool(T23() > 1),
        tj.ShapeError,
        [
            "Tensor.__bool__: expected self to be a one-element Tensor, got (2, 3). The",
            "is ambiguous: use (t > 0).numpy().any() or .all()",
        ],
    ),
    "Tensor of a ragged list": (
        lambda tmp: oop.Tensor([[1.0, 2.0], [1.0]]),
        tj.ShapeError,
        ["Tensor: expected data to be a rectangular nested list, got a ragged list"],
    ),
    "Tensor of None": (
        lambda tmp: oop.Tensor(None),
        tj.DTypeError,
        ["Tensor: expected real numbers (a Tensor, NumPy or jax array, nested list"],
    ),
    "Tensor of a string": (
        lambda tmp: oop.Tensor("abc"),
        tj.DTypeError,
        ["Tensor: expected real numbers (a Tensor, NumPy or jax array, nested list"],
    ),
    "Tensor of complex numbers": (
        lambda tmp: oop.Tensor(np.ones(2, np.complex64)),
        tj.DTypeError,
        ["Tensor: expected real numbers (a Tensor, NumPy or jax array, nested list"],
    ),
    "Tensor.sum over axis 3": (
        lambda tmp: T23().sum(axis=3),
        tj.ConfigError,
        ["Tensor.sum: axis 3 is out of range for a Tensor of 2 dimension(s)"],
    ),
    "Tensor.max of an empty Tensor": (
        lambda tmp: oop.Tensor(np.ones((0,))).max(),
        tj.ShapeError,
        [
            "Tensor.max: expected self to be a Tensor with at least one element, got",
            "(0,). An empty Tensor has no largest or smallest value",
        ],
    ),
    "Tensor.argmax over axis 2": (
        lambda tmp: T23().argmax(axis=2),
        tj.ConfigError,
        ["Tensor.argmax: axis 2 is out of range for a Tensor of 2 dimension(s)"],
    ),
    "Tensor.reshape to the wrong size": (
        lambda tmp: T23().reshape(4, 2),
        tj.ShapeError,
        [
            "Tensor.reshape: expected a Tensor of 6 elements for shape of shape (4, 2),",
            "(4, 2), got (2, 3). Total elements must match: 6 ≠ 8",
        ],
    ),
    "Tensor.reshape with two -1": (
        lambda tmp: T23().reshape(-1, -1),
        tj.ConfigError,
        ["Tensor.reshape: at most one size may be -1, got (-1, -1)"],
    ),
    "Tensor.matmul of misshapen operands": (
        lambda tmp: T23() @ oop.Tensor(np.ones((2, 2))),
        tj.ShapeError,
        [
            "Tensor.matmul (2, 3) @ (2, 2): expected right operand of shape (3, ...),",
            "...), got (2, 2). Inner dimensions must match: 3 ≠ 2",
        ],
    ),
    "Tensor.transpose with one axis": (
        lambda tmp: T23().transpose(0),
        tj.ConfigError,
        ["Tensor.transpose: give both dim0 and dim1 or neither, got 0 and None"],
    ),
    "Tensor.backward of a non-scalar": (
        lambda tmp: (T23() * 2).backward(),
        tj.ShapeError,
        [
            "Tensor.backward: expected the output to be a one-element Tensor (a loss),",
            "backward(gradient) with gradient of its shape",
        ],
    ),
    "Tensor.backward with a misshapen gradient": (
        lambda tmp: (T23() * 2).backward(np.ones(3)),
        tj.ShapeError,
        ["Tensor.backward: expected gradient of shape (2, 3), got (3,)"],
    ),
    "Tensor.grad set to a misshapen array": (
        lambda tmp: setattr(T23(), "grad", np.ones(3)),
        tj.ShapeError,
        ["Tensor.grad: expected a gradient of shape (2, 3), got (3,)"],
    ),
    "OOP Dropout forward with training='yes'": (
        lambda tmp: oop.Dropout(0.5)(oop.Tensor(np.ones(3)), training="yes"),
        tj.ConfigError,
        ["Dropout.forward: training must be True, False or None, got 'yes'"],
    ),
    "SGD of an empty list": (
        lambda tmp: oop.SGD([]),
        tj.ConfigError,
        [
            "SGD got an empty parameter list: nothing would be trained; pass",
            "pass model.parameters() of a model that has parameters",
        ],
    ),
    "SGD with a negative lr": (
        lambda tmp: oop.SGD([T23()], lr=-0.1),
        tj.ConfigError,
        ["SGD: lr must be a finite number >= 0, got -0.1"],
    ),
    "SGD of a Tensor, not a list": (
        lambda tmp: oop.SGD(T23()),
        tj.ConfigError,
        ["SGD takes a list of parameter Tensors, got Tensor; pass [tensor]"],
    ),
    "SGD of a Tensor without gradients": (
        lambda tmp: oop.SGD([oop.Tensor([1.0])]),
        tj.ConfigError,
        ["SGD: parameter 0 does not require gradients; build it with"],
    ),
    "SGD with a negative momentum": (
        lambda tmp: oop.SGD([T23()], momentum=-1.0),
        tj.ConfigError,
        ["SGD: momentum must be a finite number >= 0, got -1.0"],
    ),
    "Adam with beta1 1.5": (
        lambda tmp: oop.Adam([T23()], betas=(1.5, 0.999)),
        tj.ConfigError,
        ["Adam: beta1 must be a finite number in [0, 1), got 1.5"],
    ),
    "Adam with eps -1": (
        lambda tmp: oop.Adam([T23()], eps=-1.0),
        tj.ConfigError,
        ["Adam: eps must be a finite number >= 0, got -1.0"],
    ),
    "AdamW with lr nan": (
        lambda tmp: oop.AdamW([T23()], lr=float("nan")),
        tj.ConfigError,
        ["AdamW: lr must be a finite number >= 0, got nan"],
    ),
    "SGD step after lr set negative": (
        lambda tmp: (lambda o: (setattr(o, "lr", -1.0), o.step()))(oop.SGD([T23()])),
        tj.ConfigError,
        ["SGD: lr must be a finite number >= 0, got -1.0"],
    ),
    "SGD of a Module, not its parameters": (
        lambda tmp: oop.SGD(oop.Linear(3, 2)),
        tj.ConfigError,
        ["SGD takes a list of parameter Tensors, got Linear; pass model.parameters()"],
    ),
    "OOP Linear of 0 inputs": (
        lambda tmp: oop.Linear(0, 2),
        tj.ConfigError,
        ["in_features must be a positive integer, got 0"],
    ),
    "OOP Linear forward of the wrong features": (
        lambda tmp: oop.Linear(3, 2)(oop.Tensor(np.ones((2, 4)))),
        tj.ShapeError,
        ["Linear(3 -> 2): expected input of shape (..., 3), got (2, 4)"],
    ),
    "OOP Linear forward of None": (
        lambda tmp: oop.Linear(3, 2)(None),
        tj.DTypeError,
        ["Tensor: expected real numbers (a Tensor, NumPy or jax array, nested list"],
    ),
    "OOP Sequential of a number": (
        lambda tmp: oop.Sequential(3),
        tj.ConfigError,
        ["Sequential takes tinyjax.oop modules, got int: 3"],
    ),
    "OOP Conv2d forward of 2-D input": (
        lambda tmp: oop.Conv2d(1, 2, 3)(oop.Tensor(np.ones((2, 36)))),
        tj.ShapeError,
        [
            "Conv2d(1 -> 2, kernel=(3, 3), stride=(1, 1), padding=(0, 0)): expected",
            "input to be (N, 1, H, W) or (1, H, W), got (2, 36)",
        ],
    ),
    "OOP BatchNorm1d forward of the wrong features": (
        lambda tmp: oop.BatchNorm1d(3)(oop.Tensor(np.ones((4, 5)))),
        tj.ShapeError,
        ["BatchNorm1d(3, eps=1e-05, momentum=0.1): expected input to be (N, 3) or"],
    ),
    "OOP Dropout of 1.5": (
        lambda tmp: oop.Dropout(1.5),
        tj.ConfigError,
        ["Dropout rate must be in [0, 1] (the probability of dropping), got 1.5"],
    ),
    "OOP Embedding forward of fractional ids": (
        lambda tmp: oop.Embedding(5, 4)(oop.Tensor([[0.5, 1.0]])),
        tj.DTypeError,
        ["Embedding(5, 4): expected whole-number indices, got fractions in the Tensor"],
    ),
    "OOP MSELoss of different shapes": (
        lambda tmp: oop.MSELoss()(oop.Tensor(np.ones(3)), oop.Tensor(np.ones(4))),
        tj.ShapeError,
        ["mse: expected targets of shape (3,), got (4,)"],
    ),
    "OOP CrossEntropyLoss with a label out of range": (
        lambda tmp: oop.CrossEntropyLoss()(oop.Tensor(np.zeros((2, 3))), oop.Tensor([0, 3])),
        tj.ConfigError,
        [
            "cross_entropy: integer labels must be class indices in [0, 3), got 3 at",
            "outside); check the labels or the logits' class axis",
        ],
    ),
    "OOP MultiHeadAttention with heads not dividing": (
        lambda tmp: oop.MultiHeadAttention(8, 3),
        tj.ConfigError,
        ["MultiHeadAttention: embed_dim 8 must be a multiple of num_heads 3"],
    ),
    "OOP clip_grad_norm with a negative max": (
        lambda tmp: oop.clip_grad_norm([T23()], -1.0),
        tj.ConfigError,
        ["clip_grad_norm: max_norm must be a finite number > 0, got -1.0"],
    ),
    "OOP CosineSchedule with negative epochs": (
        lambda tmp: oop.CosineSchedule(0.1, 0.01, -5),
        tj.ConfigError,
        ["CosineSchedule: total_epochs must be a positive int, got -5"],
    ),
}


def _base(*prefixes: str) -> dict:
    return {name: case for name, case in BASE_CASES.items() if name.startswith(prefixes)}


AREAS = {
    "layers": {**_base("apply"), **LAYER_CASES},
    "state and losses": {**_base("cross_entropy"), **STATE_CASES},
    "decoder": DECODER_CASES,
    "serving": {**_base("compile", "predictor", "export", "summary"), **SERVING_CASES},
    "interop": INTEROP_CASES,
    "weights": {**_base("save", "load"), **WEIGHTS_CASES},
    "OOP face": OOP_CASES,
}
CASES = {name: case for cases in AREAS.values() for name, case in cases.items()}
BUILTINS = (ValueError, TypeError, IndexError, OSError, AttributeError)


def test_the_table_covers_every_area():
    assert set(CASES) >= set(BASE_CASES)
    assert len(CASES) == sum(len(cases) for cases in AREAS.values())  # no name twice
    assert len(CASES) >= 150
    assert all(len(cases) >= 8 for cases in AREAS.values())


def test_apply_takes_a_python_list_as_an_array():
    rows = np.ones((2, 784)).tolist()
    np.testing.assert_array_equal(MLP.apply(PARAMS, rows), MLP.apply(PARAMS, jnp.ones((2, 784))))


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_raises_the_librarys_error(case, tmp_path):
    call, error, fragments = CASES[case]
    with pytest.raises(error) as info:
        call(tmp_path)
    message = str(info.value)
    # the README's claim: every mistake raises the library's own exception, with its builtin base kept
    assert isinstance(info.value, tj.TinyjaxError) and isinstance(info.value, BUILTINS), type(info.value).__mro__
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert ".tmp" not in message  # never the hidden temporary file of save
    if case.startswith("save"):
        assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["w.safetensors"])  # nothing left behind


def test_integer_weights_helper_names_the_leaf():
    # tinyjax._checks.check_float_params is what compile (and the layers' apply) call.
    from tinyjax._checks import check_float_params

    check_float_params(PARAMS, "Sequential")
    with pytest.raises(tj.DTypeError, match=r"Linear\(3 -> 2\): params\['weight'\] is int8: weights must be"):
        check_float_params({"weight": np.ones((3, 2), np.int8)}, "Linear(3 -> 2)")


def test_one_platform_as_a_string_is_that_platform():
    exported = jax.export.deserialize(bytearray(tj.export(MLP, PARAMS, platforms="cpu")))
    assert exported.platforms == ("cpu",)


@pytest.mark.parametrize(("argument", "value"), [("--batch", "-1"), ("--batch", "0"), ("--repeats", "0")])
def test_command_line_refuses_non_positive_sizes_without_a_traceback(argument, value):
    done = subprocess.run(
        [sys.executable, "-m", "tinyjax", argument, value], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert f"argument {argument}: invalid positive integer value: '{value}'" in done.stderr
    assert "Traceback" not in done.stderr and "usage: python -m tinyjax" in done.stderr


def test_every_public_exception_derives_from_tinyjax_error_and_a_builtin():
    errors = [getattr(tj, name) for name in tj.__all__ if name.endswith("Error")]
    assert len(errors) >= 14
    for error in errors:
        assert issubclass(error, tj.TinyjaxError) and (error is tj.TinyjaxError or issubclass(error, BUILTINS))


def test_onnx_runtime_predictor_of_a_conv_model_serves_batch_zero():
    y = onnx_predictor()(np.zeros((0, 1, 6, 6), np.float32))
    assert y.shape == (0, 3) and y.dtype == np.float32
    np.testing.assert_allclose(
        onnx_predictor()(np.ones((2, 1, 6, 6), np.float32)), CNN.apply(cnn_params(), IMG), atol=1e-5
    )


def test_a_gpt_over_zero_positions_returns_empty_logits():
    assert GPT.apply(gpt_params(), jnp.ones((2, 0), jnp.int32)).shape == (2, 0, 11)


def test_help_of_a_layer_apply_shows_only_the_options_it_takes():
    assert str(inspect.signature(SMALL.apply)) == str(inspect.signature(tj.linear.apply))
    assert "sizes" not in str(inspect.signature(SMALL.apply)) and "precision" in str(inspect.signature(SMALL.apply))
    assert list(inspect.signature(CNN.apply).parameters) == ["params", "x", "precision", "training"]


def test_a_key_given_to_a_model_without_randomness_is_ignored():
    np.testing.assert_array_equal(SMALL.apply(SP, X3, key=KEY), SMALL.apply(SP, X3))


def test_gelu_takes_torchs_spelling_of_approximate():
    assert tj.GELU(approximate="tanh").config == tj.GELU(approximate=True).config == {"approximate": True}
    assert tj.GELU(approximate="none").config == tj.GELU(approximate=False).config == {"approximate": False}


def test_an_exported_artifact_serves_batch_zero_lists_and_float64():
    run = exported_mlp()
    assert run(np.zeros((0, 784), np.float32)).shape == (0, 10)
    np.testing.assert_allclose(run(np.ones((2, 784))), MLP.apply(PARAMS, X[:2]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(run(np.ones((1, 784)).tolist()), MLP.apply(PARAMS, X[:1]), rtol=1e-5, atol=1e-5)
