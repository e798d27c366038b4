"""Pooling and resizing: ``max_pool``, ``average_pool``, the global pools, ``upsample``.

Each picks the 1-D, 2-D or 3-D Keras layer from the input's rank.

Dtypes are true (issue 9): ``max_pool`` (1-D and 2-D), ``global_max_pool`` and nearest
``upsample`` only pick or repeat values, so they compute in an int input's dtype and report it
(int32 stays int32); ``global_max_pool`` and nearest ``upsample`` take bool too. The averages,
interpolating ``upsample`` and 3-D ``max_pool`` (TensorFlow has no int kernel for
``MaxPool3D``) need a floating-point input: an int or bool one is refused at build time with a
``.cast('float32')`` hint, the same way on symbolic and eager chains.
"""

from __future__ import annotations

from typing import Any

import keras

from chainnet._arguments import check_bool, check_one_of, check_positive_ints
from chainnet._registry import chain_method
from chainnet.methods._common import (
    IntOrTuple,
    check_float_input,
    check_numeric_input,
    int_dtype,
)

__all__ = ["PoolingMethods"]

_SPATIAL_HINT = "Pooling expects (batch, steps, channels), (batch, h, w, c) or (batch, d, h, w, c)."


_POOL_DEFAULTS = ("padding", "strides")
"""Pools take ``padding`` and the stride from scopes, as convolutions do (TF-Slim's
``arg_scope([conv2d, max_pool2d], stride=1, padding="SAME")``: a scope's ``stride`` is
``strides``)."""
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


def _by_rank(chain: Any, layers: tuple[type[keras.layers.Layer], ...]) -> type[keras.layers.Layer]:
    return layers[len(chain.shape) - 3]


def _pool_arguments(
    chain: Any, method: str, kernel: Any, stride: Any, strides: Any, padding: Any
) -> tuple[Any, Any, str]:
    """``(kernel, strides, padding)`` checked; ``stride`` (PrettyTensor) and ``strides``
    (Keras) are two spellings of one argument (default: the kernel)."""
    if stride is not None and strides is not None:
        raise ValueError(
            f"{method}(): give stride= (PrettyTensor) or strides= (Keras), not both; got "
            f"stride={stride!r}, strides={strides!r}"
        )
    spatial = len(chain.shape) - 2
    kernel = check_positive_ints(method, "kernel", kernel, spatial)
    step = stride if stride is not None else strides
    if step is not None:
        step = check_positive_ints(method, "stride", step, spatial)
    return kernel, step, check_one_of(method, "padding", padding, ("same", "valid"))


class PoolingMethods:
    """Pooling and upsampling layers."""

    __slots__ = ()

    @chain_method(
        rank=(3, 4, 5),
        rank_hint=_SPATIAL_HINT,
        defaults=_POOL_DEFAULTS,
        exclusive=[("stride", "strides")],
    )
    def max_pool(
        self,
        kernel: IntOrTuple,
        stride: IntOrTuple | None = None,
        *,
        strides: IntOrTuple | None = None,
        padding: str = "same",
        name: str | None = None,
    ) -> Any:
        """Max pooling over ``kernel`` windows moved by ``stride`` (default: ``kernel``).

        Args:
            kernel: The window: an int, or one size per spatial axis.
            stride: The step between windows (PrettyTensor's name); default: ``kernel``.
            strides: The same, by Keras' name (give one of the two).
            padding: ``"same"`` (PrettyTensor's default) or ``"valid"``.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((28, 28, 16)).max_pool(2, 2).shape
            (None, 14, 14, 16)
        """
        layer_class = _by_rank(
            self, (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.MaxPooling3D)
        )
        kernel, step, padding = _pool_arguments(self, "max_pool", kernel, stride, strides, padding)
        if len(self.shape) == 5:  # type: ignore[attr-defined]
            check_float_input(self, "max_pool", name)  # MaxPool3D: float kernels only
        check_numeric_input(self, "max_pool", name)
        return layer_class(kernel, strides=step, padding=padding, dtype=int_dtype(self), name=name)

    @chain_method(
        rank=(3, 4, 5),
        rank_hint=_SPATIAL_HINT,
        defaults=_POOL_DEFAULTS,
        exclusive=[("stride", "strides")],
        float_input=True,
    )
    def average_pool(
        self,
        kernel: IntOrTuple,
        stride: IntOrTuple | None = None,
        *,
        strides: IntOrTuple | None = None,
        padding: str = "same",
        name: str | None = None,
    ) -> Any:
        """Average pooling over ``kernel`` windows moved by ``stride`` (default: ``kernel``).

        Args:
            kernel: The window: an int, or one size per spatial axis.
            stride: The step between windows (PrettyTensor's name); default: ``kernel``.
            strides: The same, by Keras' name (give one of the two).
            padding: ``"same"`` (PrettyTensor's default) or ``"valid"``.
            name: The step's name.

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
        kernel, step, padding = _pool_arguments(
            self, "average_pool", kernel, stride, strides, padding
        )
        return layer_class(kernel, strides=step, padding=padding, name=name)

    @chain_method(rank=(3, 4, 5), rank_hint=_SPATIAL_HINT, float_input=True)
    def global_average_pool(self, *, keepdims: bool = False, name: str | None = None) -> Any:
        """The mean over every spatial position: ``(batch, ..., c)`` to ``(batch, c)``.

        Args:
            keepdims: Keep the spatial axes (as size 1).
            name: The step's name.

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
        return layer_class(
            keepdims=check_bool("global_average_pool", "keepdims", keepdims), name=name
        )

    @chain_method(rank=(3, 4, 5), rank_hint=_SPATIAL_HINT)
    def global_max_pool(self, *, keepdims: bool = False, name: str | None = None) -> Any:
        """The maximum over every spatial position: ``(batch, ..., c)`` to ``(batch, c)``.

        Args:
            keepdims: Keep the spatial axes (as size 1).
            name: The step's name.

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
        keepdims = check_bool("global_max_pool", "keepdims", keepdims)
        return layer_class(keepdims=keepdims, dtype=int_dtype(self), name=name)

    @chain_method(rank=(3, 4, 5), rank_hint=_SPATIAL_HINT, defaults=("interpolation",))
    def upsample(
        self, size: IntOrTuple = 2, *, interpolation: str = "nearest", name: str | None = None
    ) -> Any:
        """Repeats each spatial position ``size`` times (``UpSampling1D/2D/3D``).

        Args:
            size: The repeat factor: an int, or one per spatial axis.
            interpolation: ``"nearest"`` (any dtype: ints and bools stay themselves); on 2-D
                float inputs also ``"bilinear"``, ``"bicubic"``, ``"lanczos3"`` or
                ``"lanczos5"``.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((7, 7, 8)).upsample(2).shape
            (None, 14, 14, 8)
        """
        rank = len(self.shape)  # type: ignore[attr-defined]
        size = check_positive_ints("upsample", "size", size, rank - 2)
        interpolation = check_one_of("upsample", "interpolation", interpolation, _INTERPOLATIONS)
        if interpolation != "nearest":
            if rank != 4:
                raise ValueError(f"interpolation={interpolation!r} is only supported on 2-D inputs")
            check_float_input(self, "upsample", name)  # interpolated values are not ints
        dtype = int_dtype(self)
        if rank == 4:
            return keras.layers.UpSampling2D(
                size, interpolation=interpolation, dtype=dtype, name=name
            )
        if rank == 3:
            return keras.layers.UpSampling1D(size, dtype=dtype, name=name)
        return keras.layers.UpSampling3D(size, dtype=dtype, name=name)
