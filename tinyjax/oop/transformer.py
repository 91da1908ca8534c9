"""TinyTorch's modules 12 and 13 on the functional core: MultiHeadAttention, TransformerBlock, GPT.

Each object holds its params as Tensors over the arrays of one functional layer's params pytree and
calls that layer's compiled ``apply``. ``GPT.generate`` is TinyTorch's loop: one Python step per
token, the sequence kept in the object's hands. Without a cache (TinyTorch's module 13) each step
runs the whole model over the whole sequence; after :func:`tinyjax.oop.enable_kv_cache` (module 17)
each step runs the compiled :func:`tinyjax.gpt.decode_step` and the cache object is updated in place.
"""

from __future__ import annotations

from typing import Any, Self

import jax
import jax.numpy as jnp

from tinyjax._errors import ConfigError, ShapeError
from tinyjax.layer import Layer, Params
from tinyjax.nn import attention, gpt, transformer
from tinyjax.oop import autograd, bridge
from tinyjax.oop._random import next_key
from tinyjax.oop.autograd import Function
from tinyjax.oop.constants import MASK_VALUE
from tinyjax.oop.module import FunctionalModule, Module
from tinyjax.oop.modules import GELU, Linear
from tinyjax.oop.sequential import Sequential
from tinyjax.oop.spatial import LayerNorm
from tinyjax.oop.tensor import Tensor, array_of, as_tensor, indices_of

__all__ = ["GPT", "MLP", "MultiHeadAttention", "TransformerBlock", "create_causal_mask", "scaled_dot_product_attention"]


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


def heads_to_projections(params: Params, num_heads: int) -> dict[str, dict[str, jax.Array]]:
    """The functional layer's head-major params as TinyTorch's four ``(E, E)`` projections ``q, k, v, out``.

    ``in_proj_weight`` ``(E, 3, H, D)`` gives the q, k and v weights (their columns ordered head by
    head, as TinyTorch's ``reshape(B, T, H, D)`` reads them), ``out_proj_weight`` ``(H, D, E)`` the
    output weight (its rows in the order the heads are concatenated); biases likewise.
    """
    embed = params["out_proj_weight"].shape[-1]
    projections = {}
    for i, name in enumerate(("q", "k", "v")):
        projections[name] = {"weight": params["in_proj_weight"][:, i].reshape(embed, embed)}
        if "in_proj_bias" in params:
            projections[name]["bias"] = params["in_proj_bias"][i].reshape(embed)
    projections["out"] = {"weight": params["out_proj_weight"].reshape(embed, embed)}
    if "out_proj_bias" in params:
        projections["out"]["bias"] = params["out_proj_bias"]
    return projections


def projections_to_heads(projections: Any, num_heads: int) -> dict[str, jax.Array]:
    """The inverse of :func:`heads_to_projections` (traceable: the OOP forward runs it inside ``jax.vjp``)."""
    embed = projections["q"]["weight"].shape[0]
    head_dim = embed // num_heads
    params = {
        "in_proj_weight": jnp.stack(
            [projections[n]["weight"].reshape(embed, num_heads, head_dim) for n in ("q", "k", "v")], axis=1
        ),
        "out_proj_weight": projections["out"]["weight"].reshape(num_heads, head_dim, embed),
    }
    if "bias" in projections["q"]:
        params["in_proj_bias"] = jnp.stack([projections[n]["bias"].reshape(num_heads, head_dim) for n in "qkv"])
        params["out_proj_bias"] = projections["out"]["bias"]
    return params


def _attend(projections: Any, x: jax.Array, mask: Any = None, *, layer: Layer) -> jax.Array:
    params = projections_to_heads(projections, layer.config["num_heads"])
    return layer.apply(params, x) if mask is None else layer.apply(params, x, mask=mask)


def tinytorch_mask(mask: Any) -> jax.Array:
    """TinyTorch's attention mask as the functional layer's: ``(B, T, T)`` gets a head axis; a boolean
    mask is True where a query may attend; a number mask ``m`` (1: attend, 0: not) adds ``(1 - m) * MASK_VALUE``."""
    m = array_of(mask)
    if m.ndim == 3:
        m = m[:, None]
    return m if m.dtype == jnp.bool_ else (1.0 - m.astype(jnp.float32)) * MASK_VALUE


class _Adopting(Module):
    """A module that rearranges a functional layer's params into TinyTorch's parts (``_adopt``)."""

    def _adopt(self, layer: Layer, params: Params) -> None:
        raise NotImplementedError

    @classmethod
    def from_functional(cls, layer: Layer, params: Params) -> Self:
        """The module over ``layer`` holding ``params``' arrays, rearranged into its parts."""
        layer.check_structure(params)
        module = cls.__new__(cls)
        module._adopt(layer, params)
        return module


class MultiHeadAttention(_Adopting):
    """TinyTorch's ``MultiHeadAttention(embed_dim, num_heads)``: ``forward(x, mask=None)``, (B, T, E) -> (B, T, E).

    Holds TinyTorch's four projections, ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj`` (each a
    :class:`~tinyjax.oop.Linear` ``(E, E)`` with bias: 8 parameters); the functional
    :func:`tinyjax.MultiHeadAttention` keeps head-major params, and ``forward`` (one recorded call)
    and ``to_functional`` convert between the two (:func:`projections_to_heads`). ``mask``:
    TinyTorch's, ``(B, T, T)`` or broadcastable to ``(B, H, T, T)``, 1 where a query may attend and 0
    where not (or boolean).
    """

    grad_fn = type("MultiHeadAttentionBackward", (Function,), {"__module__": __name__})

    def __init__(self, embed_dim: int, num_heads: int, *, causal: bool = False, key: jax.Array | None = None):
        layer = attention.MultiHeadAttention(embed_dim, num_heads, causal=causal)
        self._adopt(layer, layer.init(next_key() if key is None else key))

    def _adopt(self, layer: Layer, params: Params) -> None:
        self.layer = layer
        self.embed_dim, self.num_heads = layer.config["embed_dim"], layer.config["num_heads"]
        self.head_dim = self.embed_dim // self.num_heads
        projections = heads_to_projections(params, self.num_heads)
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (
            Linear.from_params(projections[name]) for name in ("q", "k", "v", "out")
        )
        self._source = (params, self._arrays())  # to_functional gives these very arrays back while unchanged

    def projections(self) -> dict[str, Any]:
        """``{"q": {"weight": Tensor, "bias": Tensor}, "k": ..., "v": ..., "out": ...}``: the projections' Tensors."""
        return {n: getattr(self, f"{n}_proj").param_tensors() for n in ("q", "k", "v", "out")}

    def _arrays(self) -> list[jax.Array]:
        return [t.array for t in self.parameters()]

    def parameters(self) -> list[Tensor]:
        return [t for proj in (self.q_proj, self.k_proj, self.v_proj, self.out_proj) for t in proj.parameters()]

    @property
    def params(self) -> Params:
        """The functional layer's head-major params (the arrays it was built from, while no projection changed)."""
        source, arrays = self._source
        if all(a is b for a, b in zip(arrays, self._arrays(), strict=True)):
            return source
        return projections_to_heads(
            {n: getattr(self, f"{n}_proj").params for n in ("q", "k", "v", "out")}, self.num_heads
        )

    def to_functional(self) -> tuple[Layer, Params]:
        return self.layer, self.params

    def forward(self, x: Any, mask: Any = None) -> Tensor:
        kwargs = {} if mask is None else {"mask": tinytorch_mask(mask)}
        args = (self.projections(), as_tensor(x))
        return autograd.apply(_attend, args, kwargs, grad_fn=self.grad_fn, layer=self.layer)

    def __repr__(self) -> str:
        return self.layer.name


class MLP(Sequential):
    """TinyTorch's module 13 ``MLP(embed_dim, hidden_dim=None, dropout_prob=0.1)``: ``linear1``, ``gelu``, ``linear2``.

    ``(..., embed_dim)`` -> ``(..., embed_dim)`` through ``hidden_dim`` (``4 * embed_dim`` by
    default) features. TinyTorch's MLP takes ``dropout_prob`` and applies no dropout; so does this one.
    """

    def __init__(self, embed_dim: int, hidden_dim: int | None = None, dropout_prob: float = 0.1) -> None:
        self.embed_dim = embed_dim
        self.hidden_dim = 4 * embed_dim if hidden_dim is None else hidden_dim
        self.dropout_prob = dropout_prob
        self.linear1, self.gelu, self.linear2 = (
            Linear(embed_dim, self.hidden_dim),
            GELU(),
            Linear(self.hidden_dim, embed_dim),
        )
        super().__init__(self.linear1, self.gelu, self.linear2)

    @classmethod
    def of(cls, linear1: Linear, linear2: Linear) -> MLP:
        """The MLP of these two Linears (``in -> hidden``, ``hidden -> in``), with an exact GELU between."""
        mlp = cls.__new__(cls)
        (mlp.embed_dim, mlp.hidden_dim), mlp.dropout_prob = linear1.weight.shape, 0.0
        mlp.linear1, mlp.gelu, mlp.linear2 = linear1, GELU(), linear2
        Sequential.__init__(mlp, linear1, mlp.gelu, linear2)
        return mlp


def _block(parts: Any, x: jax.Array, mask: Any = None, *, layer: Layer) -> jax.Array:
    params = {**parts, "self_attn": projections_to_heads(parts["self_attn"], layer.config["num_heads"])}
    return layer.apply(params, x) if mask is None else layer.apply(params, x, mask=mask)


class TransformerBlock(_Adopting):
    """TinyTorch's pre-norm ``TransformerBlock(embed_dim, num_heads, mlp_ratio, dropout_prob)``, ``forward(x, mask)``.

    Holds TinyTorch's parts: ``attention`` (a :class:`MultiHeadAttention`, four projections),
    ``ln1``, ``ln2`` (:class:`~tinyjax.oop.LayerNorm`) and ``mlp`` (:class:`MLP`); ``forward`` is
    one recorded call of the functional :func:`tinyjax.TransformerBlock` on them. ``causal=True``
    (the default here, a decoder block; TinyTorch passes a mask instead) masks future positions.
    """

    grad_fn = type("TransformerBlockBackward", (Function,), {"__module__": __name__})

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
        layer = transformer.TransformerBlock(embed_dim, num_heads, mlp_ratio, dropout_prob, causal=causal)
        self._adopt(layer, layer.init(next_key() if key is None else key))

    def _adopt(self, layer: Layer, params: Params) -> None:
        self.layer = layer
        self.embed_dim, self.num_heads = layer.config["embed_dim"], layer.config["num_heads"]
        norm1, attn, norm2, linear1, linear2 = layer.children
        self.ln1 = LayerNorm.from_functional(norm1, params["norm1"])
        self.attention = MultiHeadAttention.from_functional(attn, params["self_attn"])
        self.ln2 = LayerNorm.from_functional(norm2, params["norm2"])
        self.mlp = MLP.of(
            Linear.from_functional(linear1, params["linear1"]), Linear.from_functional(linear2, params["linear2"])
        )
        self._source = (params, [t.array for t in self.parameters()])

    def _parts(self) -> dict[str, Any]:
        return {
            "norm1": self.ln1.param_tensors(),
            "self_attn": self.attention.projections(),
            "norm2": self.ln2.param_tensors(),
            "linear1": self.mlp.linear1.param_tensors(),
            "linear2": self.mlp.linear2.param_tensors(),
        }

    def parameters(self) -> list[Tensor]:
        return [*self.attention.parameters(), *self.ln1.parameters(), *self.ln2.parameters(), *self.mlp.parameters()]

    @property
    def params(self) -> Params:
        """The functional block's params (the arrays it was built from, while no part changed)."""
        source, arrays = self._source
        if all(a is b.array for a, b in zip(arrays, self.parameters(), strict=True)):
            return source
        parts = {
            "norm1": self.ln1.params,
            "self_attn": self.attention.params,
            "norm2": self.ln2.params,
            "linear1": self.mlp.linear1.params,
            "linear2": self.mlp.linear2.params,
        }
        return parts

    def to_functional(self) -> tuple[Layer, Params]:
        return self.layer, self.params

    def forward(self, x: Any, mask: Any = None) -> Tensor:
        kwargs = {} if mask is None else {"mask": tinytorch_mask(mask)}
        return autograd.apply(_block, (self._parts(), as_tensor(x)), kwargs, grad_fn=self.grad_fn, layer=self.layer)

    def __repr__(self) -> str:
        return self.layer.name


class GPT(FunctionalModule):
    """TinyTorch's ``GPT(vocab_size, embed_dim, num_layers, num_heads, max_seq_len)`` over :func:`tinyjax.GPT`.

    ``forward(tokens)``: (B, T) int -> logits (B, T, V). ``generate(prompt_tokens, max_new_tokens,
    temperature)``: the prompt followed by the new tokens, (B, T + new); ``temperature=0`` is greedy,
    otherwise each token is sampled with a key drawn from the object's own key. ``kv_cache``: None,
    or the :class:`~tinyjax.oop.KVCache` that :func:`~tinyjax.oop.enable_kv_cache` attached.
    """

    def __init__(
        self, vocab_size: int, embed_dim: int, num_layers: int, num_heads: int, max_seq_len: int = 1024, **options: Any
    ):
        self._build(gpt.GPT(vocab_size, embed_dim, num_layers, num_heads, max_seq_len), options.pop("key", None))

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
        return autograd.apply(
            self.layer.apply, (self.param_tensors(), indices_of(tokens, self.layer.name)), grad_fn=self.grad_fn
        )

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


bridge.register(attention.MultiHeadAttention, MultiHeadAttention)
bridge.register(transformer.TransformerBlock, TransformerBlock)
