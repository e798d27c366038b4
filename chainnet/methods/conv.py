"""Convolutions: ``conv1d``, ``conv2d``, ``conv3d``, ``depthwise_conv2d``, ``separable_conv2d``,
``deconv2d``. PrettyTensor's positional order (``kernel``, ``depth``) and default ``"same"``
padding; Keras' keywords.
"""

from __future__ import annotations

from typing import Any

import keras

from chainnet._registry import chain_method
from chainnet.methods._common import (
    ActivationLike,
    BatchNormLike,
    InitializerLike,
    IntOrTuple,
    RegularizerLike,
    kernel_layers,
    keywords,
)

__all__ = ["ConvMethods"]

_HINT_2D = "conv2d expects (batch, height, width, channels); use .expand_dims(-1) for one channel."


class ConvMethods:
    """Convolution layers."""

    __slots__ = ()

    @chain_method(rank=3, rank_hint="conv1d expects (batch, steps, channels).")
    def conv1d(
        self,
        kernel: int,
        depth: int,
        *,
        activation: ActivationLike = None,
        strides: int = 1,
        padding: str = "same",
        dilation_rate: int = 1,
        use_bias: bool = True,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """A 1-D convolution with ``depth`` filters of width ``kernel`` (``Conv1D``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((100, 3)).conv1d(5, 8, strides=2).shape
            (None, 50, 8)
        """
        return kernel_layers(
            "conv1d",
            keras.layers.Conv1D,
            depth,
            kernel,
            options=keywords(locals(), "kernel", "depth"),
        )

    @chain_method(rank=4, rank_hint=_HINT_2D)
    def conv2d(
        self,
        kernel: IntOrTuple,
        depth: int,
        *,
        activation: ActivationLike = None,
        strides: IntOrTuple = 1,
        padding: str = "same",
        dilation_rate: IntOrTuple = 1,
        use_bias: bool = True,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """A 2-D convolution with ``depth`` filters of size ``kernel`` (``Conv2D``).

        ``batch_normalize=True`` (or a dict of ``BatchNormalization`` options) puts batch
        normalization between the convolution and the activation, as PrettyTensor did.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((28, 28, 1)).conv2d(5, 16, activation="relu").shape
            (None, 28, 28, 16)
        """
        return kernel_layers(
            "conv2d",
            keras.layers.Conv2D,
            depth,
            kernel,
            options=keywords(locals(), "kernel", "depth"),
        )

    @chain_method(rank=5, rank_hint="conv3d expects (batch, depth, height, width, channels).")
    def conv3d(
        self,
        kernel: IntOrTuple,
        depth: int,
        *,
        activation: ActivationLike = None,
        strides: IntOrTuple = 1,
        padding: str = "same",
        dilation_rate: IntOrTuple = 1,
        use_bias: bool = True,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """A 3-D convolution with ``depth`` filters of size ``kernel`` (``Conv3D``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((8, 16, 16, 1)).conv3d(3, 4).shape
            (None, 8, 16, 16, 4)
        """
        return kernel_layers(
            "conv3d",
            keras.layers.Conv3D,
            depth,
            kernel,
            options=keywords(locals(), "kernel", "depth"),
        )

    @chain_method(rank=4, rank_hint=_HINT_2D)
    def deconv2d(
        self,
        kernel: IntOrTuple,
        depth: int,
        *,
        activation: ActivationLike = None,
        strides: IntOrTuple = 1,
        padding: str = "same",
        use_bias: bool = True,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """A transposed 2-D convolution (``Conv2DTranspose``): ``strides=2`` doubles the size.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((7, 7, 32)).deconv2d(3, 16, strides=2).shape
            (None, 14, 14, 16)
        """
        return kernel_layers(
            "deconv2d",
            keras.layers.Conv2DTranspose,
            depth,
            kernel,
            options=keywords(locals(), "kernel", "depth"),
        )

    @chain_method(rank=4, rank_hint=_HINT_2D)
    def separable_conv2d(
        self,
        kernel: IntOrTuple,
        depth: int,
        *,
        depth_multiplier: int = 1,
        activation: ActivationLike = None,
        strides: IntOrTuple = 1,
        padding: str = "same",
        dilation_rate: IntOrTuple = 1,
        use_bias: bool = True,
        depthwise_initializer: InitializerLike = "glorot_uniform",
        pointwise_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        bias_regularizer: RegularizerLike = None,
        name: str | None = None,
    ) -> Any:
        """A depthwise then pointwise convolution to ``depth`` channels (``SeparableConv2D``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((32, 32, 3)).separable_conv2d(3, 8).shape
            (None, 32, 32, 8)
        """
        return keras.layers.SeparableConv2D(
            depth,
            kernel,
            depth_multiplier=depth_multiplier,
            activation=activation,
            strides=strides,
            padding=padding,
            dilation_rate=dilation_rate,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer,
            bias_initializer=bias_initializer,
            bias_regularizer=bias_regularizer,
            name=name,
        )

    @chain_method(rank=4, rank_hint=_HINT_2D)
    def depthwise_conv2d(
        self,
        kernel: IntOrTuple,
        channel_multiplier: int = 1,
        *,
        activation: ActivationLike = None,
        strides: IntOrTuple = 1,
        padding: str = "same",
        dilation_rate: IntOrTuple = 1,
        use_bias: bool = True,
        depthwise_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        bias_regularizer: RegularizerLike = None,
        name: str | None = None,
    ) -> Any:
        """One ``kernel`` filter per input channel, ``channel_multiplier`` times.

        (``keras.layers.DepthwiseConv2D``)

        Examples:
            >>> import chainnet as cn
            >>> cn.input((32, 32, 3)).depthwise_conv2d(3, 2).shape
            (None, 32, 32, 6)
        """
        return keras.layers.DepthwiseConv2D(
            kernel,
            depth_multiplier=channel_multiplier,
            activation=activation,
            strides=strides,
            padding=padding,
            dilation_rate=dilation_rate,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            bias_regularizer=bias_regularizer,
            name=name,
        )
