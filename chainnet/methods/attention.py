"""Attention and sequence building blocks: ``multi_head_attention``, ``attention``,
``additive_attention`` (Keras' attention layers) and ``position_embedding``.

A Transformer block is one expression of these and the dense, normalization and
arithmetic methods (see docs/transformers.md). They take ``(batch, time, features)``;
another chain (cross-attention's ``value``, a mask) merges into the step's network as in
``concat``.
"""

from __future__ import annotations

from typing import Any, cast

import keras

from chainnet._arguments import (
    check_bool,
    check_number,
    check_one_of,
    check_positive_int,
    check_rate,
)
from chainnet._chainbase import ChainBase, Lowering
from chainnet._operands import as_operand
from chainnet._registry import chain_method
from chainnet.layers.sequence import POSITION_KINDS, PositionEmbedding
from chainnet.methods._common import InitializerLike, RegularizerLike

__all__ = ["AttentionMethods"]

_HINT = "Attention takes (batch, time, features): .reshape([-1, time, features]) first."


def _other(chain: Any, value: Any, method: str, role: str) -> ChainBase | None:
    """``value`` (a chain, or data an eager chain adopts) as a chain of ``chain``'s network,
    of rank 3; ``None`` stays ``None``."""
    if value is None:
        return None
    other: ChainBase = as_operand(chain, value, method=method, role=role)
    if len(other.shape) != 3:
        raise ValueError(
            f"{method}({role}): expected a (batch, time, features) chain, got shape "
            f"{other.shape} from {other.name!r}"
        )
    return other


class AttentionMethods:
    """Keras' attention layers, and position embeddings, on ``(batch, time, features)``."""

    __slots__ = ()

    @chain_method(
        rank=3,
        rank_hint=_HINT,
        defaults=("dropout", "use_bias", "kernel_initializer", "bias_initializer"),
        float_input=True,
    )
    def multi_head_attention(
        self,
        num_heads: int,
        key_dim: int,
        value: Any = None,
        key: Any = None,
        *,
        attention_mask: Any = None,
        use_causal_mask: bool = False,
        dropout: float = 0.0,
        value_dim: int | None = None,
        use_bias: bool = True,
        output_shape: int | None = None,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        seed: int | None = None,
        name: str | None = None,
    ) -> Any:
        """Multi-head attention (``keras.layers.MultiHeadAttention``) with this chain as the
        query: self-attention by default, cross-attention with ``value=`` another chain.

        The step is ``MultiHeadAttention(num_heads, key_dim, ...)(query, value, key,
        attention_mask=..., use_causal_mask=...)``: its output has the query's shape
        (``output_shape`` features if given). ``key`` defaults to ``value``, ``value`` to
        this chain.

        Args:
            num_heads: The number of attention heads.
            key_dim: The size of each head's query and key projection.
            value: The chain attended to (default: this chain, self-attention).
            key: The keys' chain (default: ``value``).
            attention_mask: A boolean chain ``(batch, query_time, value_time)``: ``True``
                where a query may attend.
            use_causal_mask: Each position attends only to itself and earlier ones (a
                decoder's mask).
            dropout: The dropout rate of the attention weights (when training).
            value_dim: The size of each head's value projection (default ``key_dim``).
            use_bias: Whether the projections have biases.
            output_shape: The output's features (default: the query's).
            kernel_initializer: The projections' kernel initializer.
            bias_initializer: The projections' bias initializer.
            kernel_regularizer: A regularizer of the projections' kernels.
            seed: A seed for the attention dropout.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((10, 16))
            >>> y = x.multi_head_attention(num_heads=2, key_dim=8)
            >>> y.shape, y.layer.count_params()
            ((None, 10, 16), 1088)
            >>> memory = x.network.input((7, 12), name="memory")
            >>> x.multi_head_attention(2, 8, value=memory).shape  # cross-attention
            (None, 10, 16)
        """
        method = "multi_head_attention"
        num_heads = check_positive_int(method, "num_heads", num_heads)
        key_dim = check_positive_int(method, "key_dim", key_dim)
        if value_dim is not None:
            value_dim = check_positive_int(method, "value_dim", value_dim)
        if output_shape is not None:
            output_shape = check_positive_int(method, "output_shape", output_shape)
        dropout = check_rate(method, "dropout", dropout)
        use_causal_mask = check_bool(method, "use_causal_mask", use_causal_mask)
        me = cast(ChainBase, self)
        value_chain = _other(me, value, method, "value")
        key_chain = _other(me, key, method, "key")
        if key_chain is not None and value_chain is None:
            raise ValueError(f"{method}(key): give value= too (the keys belong to the values)")
        mask = (
            None
            if attention_mask is None
            else as_operand(me, attention_mask, method=method, role="attention_mask")
        )
        layer = keras.layers.MultiHeadAttention(
            num_heads,
            key_dim,
            value_dim=value_dim,
            dropout=dropout,
            use_bias=use_bias,
            output_shape=output_shape,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            seed=seed,
            name=name,
        )
        others = (value_chain or me, *([key_chain] if key_chain is not None else []))
        call_kwargs: dict[str, Any] = {}
        if mask is not None:
            call_kwargs["attention_mask"] = mask
        if use_causal_mask:
            call_kwargs["use_causal_mask"] = True
        return Lowering((layer,), others=others, positional=True, call_kwargs=call_kwargs)

    @chain_method(rank=3, rank_hint=_HINT, float_input=True)
    def attention(
        self,
        value: Any = None,
        key: Any = None,
        *,
        use_scale: bool = False,
        score_mode: str = "dot",
        use_causal_mask: bool = False,
        dropout: float = 0.0,
        seed: int | None = None,
        name: str | None = None,
    ) -> Any:
        """Dot-product attention (``keras.layers.Attention``, Luong-style) of this chain
        (the query) over ``value`` (default: itself); no projections.

        Args:
            value: The chain attended to (default: this chain); its features must equal
                the query's.
            key: The keys' chain (default: ``value``).
            use_scale: Learn a scalar that scales the scores.
            score_mode: ``"dot"`` or ``"concat"`` (``tanh`` of the sum).
            use_causal_mask: Each position attends only to itself and earlier ones.
            dropout: The dropout rate of the attention weights (when training).
            seed: A seed for the dropout.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> q = cn.input((4, 8))
            >>> q.attention(q.network.input((6, 8), name="v")).shape
            (None, 4, 8)
        """
        return _luong_or_bahdanau(
            self,
            "attention",
            value,
            key,
            use_causal_mask,
            keras.layers.Attention(
                use_scale=check_bool("attention", "use_scale", use_scale),
                score_mode=check_one_of("attention", "score_mode", score_mode, ("dot", "concat")),
                dropout=check_rate("attention", "dropout", dropout),
                seed=seed,
                name=name,
            ),
        )

    @chain_method(rank=3, rank_hint=_HINT, float_input=True)
    def additive_attention(
        self,
        value: Any = None,
        key: Any = None,
        *,
        use_scale: bool = True,
        use_causal_mask: bool = False,
        dropout: float = 0.0,
        name: str | None = None,
    ) -> Any:
        """Additive attention (``keras.layers.AdditiveAttention``, Bahdanau-style) of this
        chain (the query) over ``value`` (default: itself); no projections.

        Args:
            value: The chain attended to (default: this chain); its features must equal
                the query's.
            key: The keys' chain (default: ``value``).
            use_scale: Learn a scale per feature of the scores.
            use_causal_mask: Each position attends only to itself and earlier ones.
            dropout: The dropout rate of the attention weights (when training).
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4, 8)).additive_attention().layer.count_params()
            8
        """
        return _luong_or_bahdanau(
            self,
            "additive_attention",
            value,
            key,
            use_causal_mask,
            keras.layers.AdditiveAttention(
                use_scale=check_bool("additive_attention", "use_scale", use_scale),
                dropout=check_rate("additive_attention", "dropout", dropout),
                name=name,
            ),
        )

    @chain_method(rank=3, rank_hint=_HINT, defaults=("initializer",), float_input=True)
    def position_embedding(
        self,
        max_length: int,
        *,
        kind: str = "learned",
        initializer: InitializerLike = "uniform",
        max_wavelength: float = 10000.0,
        name: str | None = None,
    ) -> Any:
        """Adds a position embedding to this ``(batch, time, features)`` chain, for
        sequences of up to ``max_length`` steps.

        ``kind="learned"`` adds a trained ``(max_length, features)`` table's first ``time``
        rows: the keras-io Transformer example's ``Embedding(max_length, features)`` of the
        positions ``0 .. time-1``, added to the token embeddings. ``kind="sinusoidal"`` adds
        the fixed sine/cosine encoding of "Attention is all you need" (no variables; as
        keras_hub's ``SinePositionEncoding``). The step is a
        :class:`chainnet.layers.sequence.PositionEmbedding` (saves and loads in safe mode).

        Args:
            max_length: The longest sequence (the learned table's rows).
            kind: ``"learned"`` or ``"sinusoidal"``.
            initializer: The learned table's initializer (Keras ``Embedding``'s default).
            max_wavelength: The longest sinusoid's wavelength.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> tokens = cn.input((20,), dtype="int32").embedding_lookup(1000, 32)
            >>> y = tokens.position_embedding(20)
            >>> y.shape, y.layer.count_params()
            ((None, 20, 32), 640)
            >>> tokens.position_embedding(20, kind="sinusoidal").layer.count_params()
            0
        """
        method = "position_embedding"
        max_length = check_positive_int(method, "max_length", max_length)
        kind = check_one_of(method, "kind", kind, POSITION_KINDS)
        if check_number(method, "max_wavelength", max_wavelength) <= 0:
            raise ValueError(
                f"{method}(max_wavelength): expected a number > 0, got {max_wavelength!r}"
            )
        time = self.shape[1]  # type: ignore[attr-defined]
        if kind == "learned" and time is not None and time > max_length:
            raise ValueError(
                f"{method}(max_length): the chain has {time} steps, more than "
                f"max_length={max_length}"
            )
        return PositionEmbedding(
            max_length,
            kind=kind,
            initializer=initializer,
            max_wavelength=max_wavelength,
            name=name,
        )


def _luong_or_bahdanau(
    chain: Any,
    method: str,
    value: Any,
    key: Any,
    use_causal_mask: bool,
    layer: keras.layers.Layer,
) -> Lowering:
    """``layer([query, value(, key)], use_causal_mask=...)``: Keras' ``Attention`` and
    ``AdditiveAttention`` take their tensors as one list."""
    value_chain = _other(chain, value, method, "value")
    key_chain = _other(chain, key, method, "key")
    if key_chain is not None and value_chain is None:
        raise ValueError(f"{method}(key): give value= too (the keys belong to the values)")
    values = value_chain or chain
    if values.shape[-1] != chain.shape[-1]:
        raise ValueError(
            f"{method}(value): the values' features ({values.shape[-1]}, from {values.name!r}) "
            f"must equal the query's ({chain.shape[-1]}); project one with fully_connected"
        )
    others = (values, *([key_chain] if key_chain is not None else []))
    causal = check_bool(method, "use_causal_mask", use_causal_mask)
    return Lowering(
        (layer,), others=others, call_kwargs={"use_causal_mask": True} if causal else {}
    )
