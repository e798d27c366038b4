"""Dense layers: ``fully_connected`` and ``embedding_lookup``."""

from __future__ import annotations

from typing import Any

import keras

from chainnet._arguments import check_bool, check_positive_int
from chainnet._registry import chain_method
from chainnet._shapes import MAX_RANK
from chainnet.methods._common import (
    DENSE_DEFAULTS,
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
        rank=tuple(range(2, MAX_RANK + 1)),
        rank_hint="Add a feature axis first: .expand_dims(-1).",
        defaults=DENSE_DEFAULTS,
        float_input=True,
    )
    def fully_connected(
        self,
        size: int,
        *,
        activation: ActivationLike = None,
        use_bias: bool | None = None,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """A dense layer of ``size`` units (``keras.layers.Dense``).

        On ``(batch, features)`` it is PrettyTensor's ``fully_connected``. On a longer shape,
        ``(batch, time, features)`` or more, it applies to the last axis at every position,
        as Keras' ``Dense`` does; for an image, ``.flatten()`` first to connect every pixel.

        Args:
            size: The number of units.
            activation: The activation (a Keras name or function), ``None`` for none.
            use_bias: Add a bias; ``None``: yes, unless ``batch_normalize``.
            kernel_initializer: The kernel's initializer (cloned for each layer).
            bias_initializer: The bias' initializer.
            kernel_regularizer: A regularizer of the kernel.
            bias_regularizer: A regularizer of the bias.
            l2loss: PrettyTensor's weight decay, ``l2loss * sum(kernel ** 2) / 2``.
            batch_normalize: ``True`` or a dict of options: batch normalization before the
                activation. Only when given here: a defaults scope's ``batch_normalize``
                reaches convolutions, not dense layers (PrettyTensor's had none).
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((784,)).fully_connected(64, activation="sigmoid").shape
            (None, 64)
            >>> cn.input((20, 8)).fully_connected(4).shape  # at every time step
            (None, 20, 4)
        """
        size = check_positive_int("fully_connected", "size", size)
        return kernel_layers(
            "fully_connected",
            keras.layers.Dense,
            size,
            options=keywords(locals(), "size"),
            rank=len(self.shape),  # type: ignore[attr-defined]
        )

    @chain_method(defaults=("embeddings_initializer", "embeddings_regularizer"))
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

        Args:
            vocabulary_size: The number of ids (ids run from 0 to ``vocabulary_size - 1``).
            embedding_dim: The size of each vector.
            mask_zero: Id 0 is padding: later recurrent layers skip it.
            embeddings_initializer: The table's initializer (cloned for each layer).
            embeddings_regularizer: A regularizer of the table.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((12,), dtype="int32").embedding_lookup(100, 8).shape
            (None, 12, 8)
        """
        vocabulary_size = check_positive_int("embedding_lookup", "vocabulary_size", vocabulary_size)
        embedding_dim = check_positive_int("embedding_lookup", "embedding_dim", embedding_dim)
        mask_zero = check_bool("embedding_lookup", "mask_zero", mask_zero)
        return keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            mask_zero=mask_zero,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
            name=name,
        )
