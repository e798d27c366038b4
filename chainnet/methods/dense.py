"""Dense layers: ``fully_connected`` and ``embedding_lookup``."""

from __future__ import annotations

from typing import Any

import keras

from chainnet._registry import chain_method
from chainnet.methods._common import (
    ActivationLike,
    BatchNormLike,
    InitializerLike,
    RegularizerLike,
    kernel_layers,
    keywords,
)

__all__ = ["DenseMethods"]


class DenseMethods:
    """Fully connected and embedding layers."""

    __slots__ = ()

    @chain_method(
        rank=2,
        rank_hint="Call .flatten() first to turn (batch, ...) into (batch, features).",
    )
    def fully_connected(
        self,
        size: int,
        *,
        activation: ActivationLike = None,
        use_bias: bool = True,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """A dense layer of ``size`` units on a ``(batch, features)`` input (``Dense``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((784,)).fully_connected(64, activation="sigmoid").shape
            (None, 64)
        """
        return kernel_layers(
            "fully_connected", keras.layers.Dense, size, options=keywords(locals(), "size")
        )

    @chain_method()
    def embedding_lookup(
        self,
        vocabulary_size: int,
        embedding_dim: int,
        *,
        mask_zero: bool = False,
        embeddings_initializer: InitializerLike = "uniform",
        embeddings_regularizer: RegularizerLike = None,
        name: str | None = None,
    ) -> Any:
        """Looks integer ids up in a ``(vocabulary_size, embedding_dim)`` table (``Embedding``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((12,), dtype="int32").embedding_lookup(100, 8).shape
            (None, 12, 8)
        """
        return keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            mask_zero=mask_zero,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
            name=name,
        )
