"""TinyTorch's modules 12 and 13 on the functional core: MultiHeadAttention, TransformerBlock, GPT.

Each object holds its params as Tensors over the arrays of one functional layer's params pytree and
calls that layer's compiled ``apply``. ``GPT.generate`` is TinyTorch's loop: one Python step per
token, the sequence kept in the object's hands. Without a cache (TinyTorch's module 13) each step
runs the whole model over the whole sequence; after :func:`tinyjax.oop.enable_kv_cache` (module 17)
each step runs the compiled :func:`tinyjax.gpt.decode_step` and the cache object is updated in place.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

import tinyjax as tj
from tinyjax._errors import ConfigError, ParamsError, ShapeError
from tinyjax.layer import Layer, Params
from tinyjax.nn import attention, gpt
from tinyjax.oop import autograd
from tinyjax.oop._random import next_key
from tinyjax.oop.modules import FunctionalModule
from tinyjax.oop.tensor import Tensor, array_of, as_tensor, indices_of

__all__ = ["GPT", "MultiHeadAttention", "TransformerBlock", "create_causal_mask", "scaled_dot_product_attention"]


def scaled_dot_product_attention(Q: Any, K: Any, V: Any, mask: Any = None) -> tuple[Tensor, Tensor]:  # noqa: N803
    """TinyTorch's module 12 function: ``(output (..., Tq, D), weights (..., Tq, Tk))`` of one head.

    ``Q`` (..., Tq, D), ``K`` and ``V`` (..., Tk, D); ``mask`` broadcastable to (..., Tq, Tk), True
    (or 1) where a query may attend, as TinyTorch's. Scores are scaled by ``1 / sqrt(D)``.
    """
    q, k, v = (array_of(t)[..., None, :] for t in (Q, K, V))  # one head: (..., T, 1, D)
    allowed = None if mask is None else array_of(mask).astype(bool)[..., None, :, :]
    weights = attention.attention_weights(q / jnp.sqrt(q.shape[-1]), k, allowed)
    return Tensor(jnp.einsum("...hqk,...khd->...qd", weights, v)), Tensor(weights[..., 0, :, :])


def create_causal_mask(seq_len: int) -> Tensor:
    """TinyTorch's ``(1, T, T)`` causal mask: 1 where position ``i`` may attend to ``j <= i``, 0 above."""
    return Tensor(jnp.tril(jnp.ones((1, seq_len, seq_len), jnp.float32)))


class _Held(FunctionalModule):
    """A module whose params are a pytree of Tensors over one functional layer's params."""

    def _hold(self, layer: Layer, params: Params) -> None:
        expected = str(jax.tree_util.tree_structure(layer.param_shapes()))
        got = str(jax.tree_util.tree_structure(params))
        if got != expected:
            raise ParamsError(layer.name, expected, got, what="params")
        self.layer = layer
        self._tensors = jax.tree_util.tree_map(lambda a: Tensor.wrap(a, requires_grad=True), params)

    @property
    def params(self) -> Params:
        return jax.tree_util.tree_map(lambda t: t.array, self._tensors, is_leaf=lambda t: isinstance(t, Tensor))

    def param_tensors(self) -> Any:
        return self._tensors

    def parameters(self) -> list[Tensor]:
        return jax.tree_util.tree_leaves(self._tensors, is_leaf=lambda t: isinstance(t, Tensor))

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Any:
        """The module holding exactly ``params``' arrays (no copy), checked against ``layer``."""
        module = cls.__new__(cls)
        module._hold(layer, params)
        module._configure()
        return module

    def _configure(self) -> None:
        """Set the TinyTorch attributes from ``self.layer``."""

    def __repr__(self) -> str:
        return self.layer.name


class MultiHeadAttention(_Held):
    """TinyTorch's ``MultiHeadAttention(embed_dim, num_heads)``: ``forward(x, mask=None)``, (B, T, E) -> (B, T, E).

    ``mask``: broadcastable to (B, H, T, T), boolean (True: may attend) or additive (``-inf``
    forbids), as :func:`tinyjax.MultiHeadAttention`'s.
    """

    def __init__(self, embed_dim: int, num_heads: int, *, causal: bool = False, key: jax.Array | None = None):
        layer = tj.MultiHeadAttention(embed_dim, num_heads, causal=causal)
        self._hold(layer, layer.init(next_key() if key is None else key))
        self._configure()

    def _configure(self) -> None:
        self.embed_dim, self.num_heads = self.layer.config["embed_dim"], self.layer.config["num_heads"]
        self.head_dim = self.embed_dim // self.num_heads

    def forward(self, x: Any, mask: Any = None) -> Tensor:
        kwargs = {} if mask is None else {"mask": array_of(mask)}
        return autograd.apply(self.layer.apply, (self.param_tensors(), as_tensor(x)), kwargs)


class TransformerBlock(_Held):
    """TinyTorch's pre-norm ``TransformerBlock(embed_dim, num_heads, mlp_ratio, dropout)``, ``forward(x, mask)``."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        mlp_ratio: int = 4,
        dropout_prob: float = 0.0,
        *,
        causal: bool = True,
        key: jax.Array | None = None,
    ):
        layer = tj.TransformerBlock(embed_dim, num_heads, mlp_ratio, dropout_prob, causal=causal)
        self._hold(layer, layer.init(next_key() if key is None else key))
        self._configure()

    def _configure(self) -> None:
        self.embed_dim, self.num_heads = self.layer.config["embed_dim"], self.layer.config["num_heads"]

    def forward(self, x: Any, mask: Any = None) -> Tensor:
        kwargs = {} if mask is None else {"mask": array_of(mask)}
        return autograd.apply(self.layer.apply, (self.param_tensors(), as_tensor(x)), kwargs)


class GPT(_Held):
    """TinyTorch's ``GPT(vocab_size, embed_dim, num_layers, num_heads, max_seq_len)`` over :func:`tinyjax.GPT`.

    ``forward(tokens)``: (B, T) int -> logits (B, T, V). ``generate(prompt_tokens, max_new_tokens,
    temperature)``: the prompt followed by the new tokens, (B, T + new); ``temperature=0`` is greedy,
    otherwise each token is sampled with a key drawn from the object's own key. ``kv_cache``: None,
    or the :class:`~tinyjax.oop.KVCache` that :func:`~tinyjax.oop.enable_kv_cache` attached.
    """

    def __init__(
        self, vocab_size: int, embed_dim: int, num_layers: int, num_heads: int, max_seq_len: int = 1024, **options: Any
    ):
        layer = tj.GPT(vocab_size, embed_dim, num_layers, num_heads, max_seq_len)
        key = options.pop("key", None)
        self._hold(layer, layer.init(next_key() if key is None else key))
        self._configure()

    def _configure(self) -> None:
        embedding, positions, blocks, _, _ = self.layer.children
        block = blocks.children[0].config
        self.vocab_size, self.embed_dim = embedding.config["num_embeddings"], block["embed_dim"]
        self.num_layers, self.num_heads = blocks.config["n"], block["num_heads"]
        self.max_seq_len = positions.config["max_seq_len"]
        self.kv_cache: Any = None
        self.key = next_key()

    def forward(self, tokens: Any) -> Tensor:
        """Token ids ``(B, T)`` (integers, or a Tensor of whole numbers) -> logits ``(B, T, vocab)``, recorded."""
        return autograd.apply(self.layer.apply, (self.param_tensors(), indices_of(tokens, self.layer.name)))

    def generate(
        self, prompt_tokens: Any, max_new_tokens: int = 50, temperature: float = 1.0, top_k: int | None = None
    ) -> Tensor:
        tokens = gpt._check_tokens(self.layer, indices_of(prompt_tokens, "GPT.generate"), "prompt", "GPT.generate")
        gpt._check_sampling(self.layer, None, temperature, top_k, "GPT.generate")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ConfigError(f"GPT.generate: max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
        if tokens.shape[1] + max_new_tokens - 1 > self.max_seq_len:  # the last new token is never fed back
            raise ShapeError(
                f"GPT.generate({self.layer.name})",
                f"T + max_new_tokens - 1 <= max_seq_len={self.max_seq_len}",
                (tokens.shape[1], max_new_tokens),
                what="(prompt length T, max_new_tokens)",
            )
        tokens = jnp.asarray(tokens, jnp.int32)
        params = self.params
        if self.kv_cache is not None:  # module 17: prefill once, then one compiled step per token
            self.kv_cache.reset()
            logits, self.kv_cache.state = gpt.prefill(self.layer, params, tokens, self.kv_cache.state)
            logits = logits[:, -1]
        for i in range(max_new_tokens):
            if self.kv_cache is None:  # module 13: the whole model over the whole sequence, every step
                logits = self.layer.apply(params, tokens)[:, -1]
            token = self._sample(logits, temperature, top_k)
            tokens = jnp.concatenate([tokens, token[:, None]], axis=1)
            if self.kv_cache is not None and i + 1 < max_new_tokens:
                logits, self.kv_cache.state = gpt.decode_step(self.layer, params, token, self.kv_cache.state)
        return Tensor(tokens)

    def _sample(self, logits: jax.Array, temperature: float, top_k: int | None) -> jax.Array:
        if temperature == 0:
            return gpt.sample(logits, None)
        self.key, key = jax.random.split(self.key)
        return gpt.sample(logits, key, temperature, top_k)
