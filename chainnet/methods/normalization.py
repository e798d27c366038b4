"""Normalization and regularization: ``batch_normalize``, ``layer_normalize``, ``dropout``."""

from __future__ import annotations

from typing import Any

import keras

from chainnet._registry import chain_method

__all__ = ["NormalizationMethods"]


class NormalizationMethods:
    """Batch and layer normalization, dropout."""

    __slots__ = ()

    @chain_method()
    def batch_normalize(
        self,
        *,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 0.001,
        center: bool = True,
        scale: bool = True,
        name: str | None = None,
    ) -> Any:
        """Batch normalization (``keras.layers.BatchNormalization``): batch statistics when
        training, moving averages at inference.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((8,)).batch_normalize().shape
            (None, 8)
        """
        return keras.layers.BatchNormalization(
            axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale, name=name
        )

    @chain_method()
    def layer_normalize(
        self,
        *,
        axis: int = -1,
        epsilon: float = 0.001,
        center: bool = True,
        scale: bool = True,
        name: str | None = None,
    ) -> Any:
        """Layer normalization over ``axis`` (``keras.layers.LayerNormalization``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((8,)).layer_normalize().shape
            (None, 8)
        """
        return keras.layers.LayerNormalization(
            axis=axis, epsilon=epsilon, center=center, scale=scale, name=name
        )

    @chain_method(exclusive=[("rate", "keep_prob")])
    def dropout(
        self,
        rate: float | None = None,
        *,
        keep_prob: float | None = None,
        noise_shape: tuple[int | None, ...] | None = None,
        seed: int | None = None,
        name: str | None = None,
    ) -> Any:
        """Drops a fraction ``rate`` of the units, only when training (``keras.layers.Dropout``).

        PrettyTensor users may give ``keep_prob=`` (= ``1 - rate``) instead.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((8,)).dropout(0.25).shape
            (None, 8)
        """
        if (rate is None) == (keep_prob is None):
            raise ValueError(
                f"give exactly one of rate= or keep_prob=, got rate={rate!r}, "
                f"keep_prob={keep_prob!r}"
            )
        final_rate = rate if rate is not None else 1.0 - float(keep_prob)  # type: ignore[arg-type]
        if not 0.0 <= final_rate < 1.0:
            raise ValueError(f"the dropout rate must be in [0, 1), got {final_rate!r}")
        return keras.layers.Dropout(final_rate, noise_shape=noise_shape, seed=seed, name=name)
