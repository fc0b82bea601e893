"""Positional encodings, a pre-LayerNorm ``TransformerBlock`` and a decoder-only ``TransformerLM``.

Attention by itself does not know the order of the tokens (permute the keys and
values together and the output does not change), so positions are *added* to the
token vectors: fixed sinusoids (``PositionalEncoding``, "Attention is all you need")
or a learned table (``PositionalEmbedding``, GPT).

A block (pre-LayerNorm, as GPT-2 and ``torch.nn.TransformerEncoderLayer(norm_first=True)``):

    x = x + dropout1(self_attn(norm1(x)))                    # tokens talk to each other
    x = x + dropout2(linear2(dropout(gelu(linear1(norm2(x))))))   # each token thinks alone

The language model: token ids (N, T) -> embedding -> + positions -> blocks (causal)
-> final LayerNorm -> Linear to the vocabulary -> logits (N, T, V): the logits at
position t predict token t + 1 from tokens 0..t only.
"""
from __future__ import annotations

import math

import numpy as np

from course.nn.attention import MultiheadAttention
from course.nn.module import Module, Parameter, _rng
from course.nn.embedding import Embedding
from course.nn.layers import Linear
from course.nn.norm import GELU, Dropout, LayerNorm

__all__ = ["sinusoidal_positions", "PositionalEncoding", "PositionalEmbedding", "TransformerBlock", "TransformerLM"]


# ============================================================== positions
def sinusoidal_positions(max_len: int, d_model: int) -> np.ndarray:
    """(max_len, d_model): ``pe[pos, 2i] = sin(pos / 10000^(2i/d))``, ``pe[pos, 2i+1] = cos(...)``."""
    pos = np.arange(max_len)[:, None]                                 # (T, 1)
    freq = np.exp(-math.log(10000.0) * np.arange(0, d_model, 2) / d_model)   # (ceil(d/2),)
    pe = np.zeros((max_len, d_model))
    pe[:, 0::2] = np.sin(pos * freq)                                  # even features: sin
    pe[:, 1::2] = np.cos(pos * freq[: d_model // 2])                  # odd features: cos
    return pe


def _positions_input(module, x) -> np.ndarray:
    """``x`` as an array (..., T, d_model) with T <= max_len of the positional ``module``, or a
    ValueError that names the module and the shape it expects."""
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[-1] != module.d_model or x.shape[-2] > module.max_len:
        raise ValueError(f"{type(module).__name__}({module.extra_repr()}) expects (..., T, {module.d_model}) "
                         f"with T <= {module.max_len}, got {x.shape}")
    return x


class PositionalEncoding(Module):
    """``x + pe[:T]`` then dropout; ``pe`` the fixed sinusoids (no parameters).

    ``PositionalEncoding(d_model, dropout=0.0, max_len=5000, rng=None)``. x: (..., T, d_model),
    T <= max_len (batch first; the position is the second-to-last axis).
    """

    def __init__(self, d_model: int, dropout: float = 0.0, max_len: int = 5000, rng=None):
        self.d_model, self.max_len = int(d_model), int(max_len)
        self.pe = sinusoidal_positions(self.max_len, self.d_model)   # a buffer, not a Parameter
        self.dropout = Dropout(dropout, rng=rng)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"

    def forward(self, x):
        x = _positions_input(self, x)
        return self.dropout.forward(x + self.pe[: x.shape[-2]].astype(x.dtype, copy=False))

    def backward(self, grad_output):
        return self.dropout.backward(grad_output)                    # d(x + pe)/dx = 1


class PositionalEmbedding(Module):
    """A learned position table: ``x + weight[:T]``. ``weight``: (max_len, d_model), N(0, 0.02^2).

    The same as ``x + torch.nn.Embedding(max_len, d_model)(torch.arange(T))``.
    x: (..., T, d_model). Backward adds the upstream gradient, summed over the batch, into weight[:T].
    """

    def __init__(self, max_len: int, d_model: int, rng=None, dtype=np.float64):
        self.max_len, self.d_model = int(max_len), int(d_model)
        self.weight = Parameter(0.02 * _rng(rng).standard_normal((self.max_len, self.d_model)), dtype)

    def extra_repr(self) -> str:
        return f"{self.max_len}, {self.d_model}"

    def forward(self, x):
        x = _positions_input(self, x)
        self.save_for_backward(x.shape[-2])
        return x + self.weight.data[: x.shape[-2]]

    def backward(self, grad_output):
        T = self.pop_saved()
        g = np.asarray(grad_output)
        self.weight.grad[:T] += g.reshape(-1, T, self.d_model).sum(axis=0)
        return g


# ============================================================== the block
class TransformerBlock(Module):
    """Pre-LayerNorm Transformer block; x: (N, T, d_model) -> (N, T, d_model).

    ``TransformerBlock(d_model, num_heads, dim_feedforward=4*d_model, dropout=0.0, causal=True,
    activation="gelu" | "gelu_tanh" | "relu", rng=None, dtype=float64)``.
    Attribute and parameter names are those of ``torch.nn.TransformerEncoderLayer(d_model,
    num_heads, dim_feedforward, dropout, activation="gelu", batch_first=True, norm_first=True)``
    (``self_attn``, ``linear1``, ``linear2``, ``norm1``, ``norm2``), which computes the same
    function (with ``src_mask`` causal when ``causal``).

    ``forward(x, key_padding_mask=None, need_weights=False)``: with ``need_weights`` returns
    ``(y, weights (N, h, T, T))`` (the attention map of every head).
    """

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int | None = None, dropout: float = 0.0,
                 causal: bool = True, activation: str = "gelu", rng=None, dtype=np.float64):
        rng = _rng(rng)
        ff = 4 * d_model if dim_feedforward is None else int(dim_feedforward)
        acts = {"gelu": lambda: GELU(), "gelu_tanh": lambda: GELU("tanh"), "relu": None}
        if activation not in acts:
            raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
        from course.nn.layers import ReLU
        self.causal = bool(causal)
        self.norm1 = LayerNorm(d_model, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, num_heads, batch_first=True, rng=rng, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=rng)
        self.norm2 = LayerNorm(d_model, dtype=dtype)
        self.linear1 = Linear(d_model, ff, rng=rng, dtype=dtype)
        self.activation = ReLU() if activation == "relu" else acts[activation]()
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(ff, d_model, rng=rng, dtype=dtype)
        self.dropout2 = Dropout(dropout, rng=rng)

    def extra_repr(self) -> str:
        return f"causal={self.causal}"

    def __call__(self, *inputs, **options):
        return self.forward(*inputs, **options)

    def forward(self, x, key_padding_mask=None, need_weights: bool = False):
        x = np.asarray(x)
        h = self.norm1.forward(x)
        a, w = self.self_attn.forward(h, h, h, key_padding_mask=key_padding_mask, need_weights=need_weights,
                                      average_attn_weights=False, is_causal=self.causal)
        x = x + self.dropout1.forward(a)
        h = self.linear1.forward(self.norm2.forward(x))
        f = self.linear2.forward(self.dropout.forward(self.activation.forward(h)))
        y = x + self.dropout2.forward(f)
        return (y, w) if need_weights else y

    def backward(self, grad_output):
        g = np.asarray(grad_output)
        gf = self.linear2.backward(self.dropout2.backward(g))
        gh = self.linear1.backward(self.activation.backward(self.dropout.backward(gf)))
        g = g + self.norm2.backward(gh)                               # the residual passes g straight through
        gq, gk, gv = self.self_attn.backward(self.dropout1.backward(g))
        return g + self.norm1.backward(gq + gk + gv)                  # self-attention: sum the three


# ============================================================== the language model
class TransformerLM(Module):
    """Decoder-only Transformer language model: ids (N, T) -> logits (N, T, vocab_size).

    ``TransformerLM(vocab_size, d_model=64, num_heads=4, num_layers=2, dim_feedforward=None,
    max_len=256, dropout=0.0, positional="learned" | "sinusoidal", tie_weights=False,
    activation="gelu", rng=None, dtype=float64)``.

    Parameters: ``embed.weight`` (V, d), ``pos.weight`` (max_len, d) if learned,
    ``blocks.i.*`` (see ``TransformerBlock``), ``norm.*``, ``head.weight`` (V, d) and
    ``head.bias`` (V,). With ``tie_weights`` the head uses the embedding matrix (one
    Parameter, listed once as ``embed.weight``; its gradient collects both uses).
    Blocks are causal: the logits at t depend on tokens 0..t only.
    """

    def __init__(self, vocab_size: int, d_model: int = 64, num_heads: int = 4, num_layers: int = 2,
                 dim_feedforward: int | None = None, max_len: int = 256, dropout: float = 0.0,
                 positional: str = "learned", tie_weights: bool = False, activation: str = "gelu",
                 rng=None, dtype=np.float64):
        if positional not in ("learned", "sinusoidal"):
            raise ValueError(f"positional must be 'learned' or 'sinusoidal', got {positional!r}")
        rng = _rng(rng)
        self.vocab_size, self.d_model, self.max_len = int(vocab_size), int(d_model), int(max_len)
        self.embed = Embedding(vocab_size, d_model, rng=rng, dtype=dtype)
        self.pos = (PositionalEmbedding(max_len, d_model, rng=rng, dtype=dtype) if positional == "learned"
                    else PositionalEncoding(d_model, dropout=0.0, max_len=max_len))
        self.drop = Dropout(dropout, rng=rng)
        self.blocks = [TransformerBlock(d_model, num_heads, dim_feedforward, dropout, causal=True,
                                        activation=activation, rng=rng, dtype=dtype) for _ in range(num_layers)]
        self.norm = LayerNorm(d_model, dtype=dtype)
        self.head = Linear(d_model, vocab_size, rng=rng, dtype=dtype)
        self.tie_weights = bool(tie_weights)
        if tie_weights:
            self.head.weight = self.embed.weight

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, d_model={self.d_model}, tie_weights={self.tie_weights}"

    def forward(self, ids):
        ids = np.asarray(ids)
        if ids.ndim != 2:
            raise ValueError(f"TransformerLM expects token ids of shape (N, T), got {ids.shape}: "
                             "add a batch axis with ids[None]")
        if ids.shape[1] > self.max_len:
            raise ValueError(f"sequence length {ids.shape[1]} exceeds max_len={self.max_len}: "
                             "cut the context or build the model with a larger max_len")
        x = self.drop.forward(self.pos.forward(self.embed.forward(ids)))
        for block in self.blocks:
            x = block.forward(x)
        return self.head.forward(self.norm.forward(x))

    def backward(self, grad_output):
        """grad_output (N, T, V) -> None (token ids have no gradient); fills every ``.grad``."""
        g = self.norm.backward(self.head.backward(grad_output))
        for block in reversed(self.blocks):
            g = block.backward(g)
        self.embed.backward(self.pos.backward(self.drop.backward(g)))
        return None

    def attention_maps(self, ids) -> list:
        """The attention weights of every block, a list of (N, h, T, T), computed in eval mode."""
        was = self.training
        self.eval()
        try:
            x = self.pos.forward(self.embed.forward(np.asarray(ids)))
            maps = []
            for block in self.blocks:
                x, w = block.forward(x, need_weights=True)
                maps.append(w)
        finally:
            self.train(was)
        return maps
