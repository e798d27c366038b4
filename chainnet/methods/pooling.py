"""Pooling and resizing: ``max_pool``, ``average_pool``, the global pools, ``upsample``.

Each picks the 1-D, 2-D or 3-D Keras layer from the input's rank.
"""

from __future__ import annotations

from typing import Any

import keras

from chainnet._registry import chain_method
from chainnet.methods._common import IntOrTuple

__all__ = ["PoolingMethods"]

_SPATIAL_HINT = "Pooling expects (batch, steps, channels), (batch, h, w, c) or (batch, d, h, w, c)."


def _by_rank(chain: Any, layers: tuple[type[keras.layers.Layer], ...]) -> type[keras.layers.Layer]:
    return layers[len(chain.shape) - 3]


class PoolingMethods:
    """Pooling and upsampling layers."""

    __slots__ = ()

    @chain_method(rank=(3, 4, 5), rank_hint=_SPATIAL_HINT)
    def max_pool(
        self,
        kernel: IntOrTuple,
        stride: IntOrTuple | None = None,
        *,
        padding: str = "same",
        name: str | None = None,
    ) -> Any:
        """Max pooling over ``kernel`` windows moved by ``stride`` (default: ``kernel``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((28, 28, 16)).max_pool(2, 2).shape
            (None, 14, 14, 16)
        """
        layer_class = _by_rank(
            self, (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.MaxPooling3D)
        )
        return layer_class(kernel, strides=stride, padding=padding, name=name)

    @chain_method(rank=(3, 4, 5), rank_hint=_SPATIAL_HINT)
    def average_pool(
        self,
        kernel: IntOrTuple,
        stride: IntOrTuple | None = None,
        *,
        padding: str = "same",
        name: str | None = None,
    ) -> Any:
        """Average pooling over ``kernel`` windows moved by ``stride`` (default: ``kernel``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((28, 28, 16)).average_pool(2).shape
            (None, 14, 14, 16)
        """
        layer_class = _by_rank(
            self,
            (
                keras.layers.AveragePooling1D,
                keras.layers.AveragePooling2D,
                keras.layers.AveragePooling3D,
            ),
        )
        return layer_class(kernel, strides=stride, padding=padding, name=name)

    @chain_method(rank=(3, 4, 5), rank_hint=_SPATIAL_HINT)
    def global_average_pool(self, *, keepdims: bool = False, name: str | None = None) -> Any:
        """The mean over every spatial position: ``(batch, ..., c)`` to ``(batch, c)``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((7, 7, 32)).global_average_pool().shape
            (None, 32)
        """
        layer_class = _by_rank(
            self,
            (
                keras.layers.GlobalAveragePooling1D,
                keras.layers.GlobalAveragePooling2D,
                keras.layers.GlobalAveragePooling3D,
            ),
        )
        return layer_class(keepdims=keepdims, name=name)

    @chain_method(rank=(3, 4, 5), rank_hint=_SPATIAL_HINT)
    def global_max_pool(self, *, keepdims: bool = False, name: str | None = None) -> Any:
        """The maximum over every spatial position: ``(batch, ..., c)`` to ``(batch, c)``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((7, 7, 32)).global_max_pool().shape
            (None, 32)
        """
        layer_class = _by_rank(
            self,
            (
                keras.layers.GlobalMaxPooling1D,
                keras.layers.GlobalMaxPooling2D,
                keras.layers.GlobalMaxPooling3D,
            ),
        )
        return layer_class(keepdims=keepdims, name=name)

    @chain_method(rank=(3, 4, 5), rank_hint=_SPATIAL_HINT)
    def upsample(
        self, size: IntOrTuple = 2, *, interpolation: str = "nearest", name: str | None = None
    ) -> Any:
        """Repeats each spatial position ``size`` times (``UpSampling1D/2D/3D``).

        ``interpolation`` (``"nearest"`` or ``"bilinear"``) applies to 2-D inputs only.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((7, 7, 8)).upsample(2).shape
            (None, 14, 14, 8)
        """
        rank = len(self.shape)  # type: ignore[attr-defined]
        if rank == 4:
            return keras.layers.UpSampling2D(size, interpolation=interpolation, name=name)
        if interpolation != "nearest":
            raise ValueError(f"interpolation={interpolation!r} is only supported on 2-D inputs")
        if rank == 3:
            return keras.layers.UpSampling1D(size, name=name)
        return keras.layers.UpSampling3D(size, name=name)
