"""Convolutions: ``conv1d``, ``conv2d``, ``conv3d``, ``depthwise_conv2d``, ``separable_conv2d``,
``deconv2d``. PrettyTensor's positional order (``kernel``, ``depth``) and default ``"same"``
padding; Keras' keywords. Every convolution takes the same kernel options (activation,
``batch_normalize``, ``l2loss``, initializers, regularizers, ``use_bias``) and declares the
same defaults (:data:`~chainnet.methods._common.CONV_DEFAULTS`, with the depthwise and
pointwise kernels' names where Keras uses them).
"""

from __future__ import annotations

from typing import Any

import keras

from chainnet._arguments import check_one_of, check_positive_int, check_positive_ints
from chainnet._registry import chain_method
from chainnet.methods._common import (
    CONV_DEFAULTS,
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
_PADDINGS = ("same", "valid")
_LARGEST_USUAL_KERNEL = 7  # kernels are rarely larger; filter counts rarely smaller than 8


def _kernel_names(*kernels: str) -> tuple[str, ...]:
    """:data:`CONV_DEFAULTS` for a layer whose kernels Keras names otherwise (``depthwise``)."""
    renamed = [
        f"{kernel}_{option}" for option in ("initializer", "regularizer") for kernel in kernels
    ]
    kept = [k for k in CONV_DEFAULTS if not k.startswith("kernel_")]
    return (*kept, *renamed)


_DEPTHWISE_DEFAULTS = _kernel_names("depthwise")
_SEPARABLE_DEFAULTS = _kernel_names("depthwise", "pointwise")


def _check_conv(
    chain: Any,
    method: str,
    kernel: Any,
    depth: Any,
    options: dict[str, Any],
    *,
    depth_argument: str = "depth",
    paddings: tuple[str, ...] = _PADDINGS,
) -> tuple[Any, int]:
    """Checks a convolution's arguments (PrettyTensor's order: the kernel, then the depth)."""
    spatial = len(chain.shape) - 2
    if isinstance(depth, (list, tuple)):
        raise TypeError(
            f"{method}({depth_argument}): expected the number of filters, a positive int, got "
            f"{depth!r}. chainnet takes PrettyTensor's order, {method}(kernel, {depth_argument}); "
            f"TF-Slim's conv2d(inputs, num_outputs, kernel_size) order reads "
            f"{method}({depth!r}, {kernel!r}) here."
        )
    kernel = check_positive_ints(method, "kernel", kernel, spatial)
    depth = check_positive_int(method, depth_argument, depth)
    sizes = (kernel,) * spatial if isinstance(kernel, int) else kernel
    dims = chain.shape[1:-1]
    too_large = any(d is not None and k > d for k, d in zip(sizes, dims))
    # TF-Slim's order by mistake (conv2d(32, 5): 5 filters of 32x32) shows as a kernel larger
    # than the image, of a filter count's size (8 or more), that would fit swapped; a "same"
    # kernel may exceed a small map otherwise (3x3 on 2x2)
    swapped_fits = (
        depth_argument == "depth"
        and max(sizes) >= _LARGEST_USUAL_KERNEL + 1
        and all(d is None or depth <= d for d in dims)
    )
    valid = options.get("padding") == "valid"
    if too_large and method != "deconv2d" and (valid or swapped_fits):
        hint = (
            f" chainnet takes PrettyTensor's order, {method}(kernel, {depth_argument}): did you "
            f"mean {method}({depth!r}, {kernel!r})?"
            if swapped_fits
            else ""
        )
        raise ValueError(
            f"{method}(kernel): a kernel of {kernel!r} is larger than the input's spatial "
            f"dimensions {tuple(dims)}.{hint}"
        )
    for argument in ("strides", "dilation_rate"):
        if argument in options:
            check_positive_ints(method, argument, options[argument], spatial)
    if "padding" in options:
        options["padding"] = check_one_of(method, "padding", options["padding"], paddings)
    return kernel, depth


class ConvMethods:
    """Convolution layers."""

    __slots__ = ()

    @chain_method(
        rank=3,
        rank_hint="conv1d expects (batch, steps, channels).",
        defaults=CONV_DEFAULTS,
        float_input=True,
    )
    def conv1d(
        self,
        kernel: int,
        depth: int,
        *,
        activation: ActivationLike = None,
        strides: int = 1,
        padding: str = "same",
        dilation_rate: int = 1,
        use_bias: bool | None = None,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """A 1-D convolution with ``depth`` filters of width ``kernel`` (``Conv1D``).

        Args:
            kernel: The filter width.
            depth: The number of filters.
            activation: The activation (a Keras name or function), ``None`` for none.
            strides: The step between windows.
            padding: ``"same"`` (PrettyTensor's default), ``"valid"`` or ``"causal"``.
            dilation_rate: The dilation of the filter.
            use_bias: Add a bias; ``None``: yes, unless ``batch_normalize``.
            kernel_initializer: The kernel's initializer (cloned for each layer).
            bias_initializer: The bias' initializer.
            kernel_regularizer: A regularizer of the kernel.
            bias_regularizer: A regularizer of the bias.
            l2loss: PrettyTensor's weight decay, ``l2loss * sum(kernel ** 2) / 2``.
            batch_normalize: ``True`` or a dict of options: batch normalization between the
                convolution and the activation.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((100, 3)).conv1d(5, 8, strides=2).shape
            (None, 50, 8)
        """
        options = keywords(locals(), "kernel", "depth")
        kernel, depth = _check_conv(
            self, "conv1d", kernel, depth, options, paddings=(*_PADDINGS, "causal")
        )
        return kernel_layers("conv1d", keras.layers.Conv1D, depth, kernel, options=options)

    @chain_method(rank=4, rank_hint=_HINT_2D, defaults=CONV_DEFAULTS, float_input=True)
    def conv2d(
        self,
        kernel: IntOrTuple,
        depth: int,
        *,
        activation: ActivationLike = None,
        strides: IntOrTuple = 1,
        padding: str = "same",
        dilation_rate: IntOrTuple = 1,
        use_bias: bool | None = None,
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

        Args:
            kernel: The filter size: an int, or ``(height, width)``.
            depth: The number of filters.
            activation: The activation (a Keras name or function), ``None`` for none.
            strides: The step between windows: an int or ``(height, width)``.
            padding: ``"same"`` (PrettyTensor's default) or ``"valid"``.
            dilation_rate: The dilation of the filter.
            use_bias: Add a bias; ``None``: yes, unless ``batch_normalize``.
            kernel_initializer: The kernel's initializer (cloned for each layer).
            bias_initializer: The bias' initializer.
            kernel_regularizer: A regularizer of the kernel.
            bias_regularizer: A regularizer of the bias.
            l2loss: PrettyTensor's weight decay, ``l2loss * sum(kernel ** 2) / 2``.
            batch_normalize: ``True`` or a dict of options: batch normalization between the
                convolution and the activation.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((28, 28, 1)).conv2d(5, 16, activation="relu").shape
            (None, 28, 28, 16)
        """
        options = keywords(locals(), "kernel", "depth")
        kernel, depth = _check_conv(self, "conv2d", kernel, depth, options)
        return kernel_layers("conv2d", keras.layers.Conv2D, depth, kernel, options=options)

    @chain_method(
        rank=5,
        rank_hint="conv3d expects (batch, depth, height, width, channels).",
        defaults=CONV_DEFAULTS,
        float_input=True,
    )
    def conv3d(
        self,
        kernel: IntOrTuple,
        depth: int,
        *,
        activation: ActivationLike = None,
        strides: IntOrTuple = 1,
        padding: str = "same",
        dilation_rate: IntOrTuple = 1,
        use_bias: bool | None = None,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """A 3-D convolution with ``depth`` filters of size ``kernel`` (``Conv3D``).

        Args:
            kernel: The filter size: an int, or ``(depth, height, width)``.
            depth: The number of filters.
            activation: The activation (a Keras name or function), ``None`` for none.
            strides: The step between windows.
            padding: ``"same"`` (PrettyTensor's default) or ``"valid"``.
            dilation_rate: The dilation of the filter.
            use_bias: Add a bias; ``None``: yes, unless ``batch_normalize``.
            kernel_initializer: The kernel's initializer (cloned for each layer).
            bias_initializer: The bias' initializer.
            kernel_regularizer: A regularizer of the kernel.
            bias_regularizer: A regularizer of the bias.
            l2loss: PrettyTensor's weight decay, ``l2loss * sum(kernel ** 2) / 2``.
            batch_normalize: ``True`` or a dict of options: batch normalization between the
                convolution and the activation.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((8, 16, 16, 1)).conv3d(3, 4).shape
            (None, 8, 16, 16, 4)
        """
        options = keywords(locals(), "kernel", "depth")
        kernel, depth = _check_conv(self, "conv3d", kernel, depth, options)
        return kernel_layers("conv3d", keras.layers.Conv3D, depth, kernel, options=options)

    @chain_method(rank=4, rank_hint=_HINT_2D, defaults=CONV_DEFAULTS, float_input=True)
    def deconv2d(
        self,
        kernel: IntOrTuple,
        depth: int,
        *,
        activation: ActivationLike = None,
        strides: IntOrTuple = 1,
        padding: str = "same",
        dilation_rate: IntOrTuple = 1,
        use_bias: bool | None = None,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """A transposed 2-D convolution (``Conv2DTranspose``): ``strides=2`` doubles the size.

        Args:
            kernel: The filter size: an int, or ``(height, width)``.
            depth: The number of filters.
            activation: The activation (a Keras name or function), ``None`` for none.
            strides: The upsampling step: an int or ``(height, width)``.
            padding: ``"same"`` (PrettyTensor's default) or ``"valid"``.
            dilation_rate: The dilation of the filter.
            use_bias: Add a bias; ``None``: yes, unless ``batch_normalize``.
            kernel_initializer: The kernel's initializer (cloned for each layer).
            bias_initializer: The bias' initializer.
            kernel_regularizer: A regularizer of the kernel.
            bias_regularizer: A regularizer of the bias.
            l2loss: PrettyTensor's weight decay, ``l2loss * sum(kernel ** 2) / 2``.
            batch_normalize: ``True`` or a dict of options: batch normalization between the
                convolution and the activation.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((7, 7, 32)).deconv2d(3, 16, strides=2).shape
            (None, 14, 14, 16)
        """
        options = keywords(locals(), "kernel", "depth")
        kernel, depth = _check_conv(self, "deconv2d", kernel, depth, options)
        return kernel_layers(
            "deconv2d", keras.layers.Conv2DTranspose, depth, kernel, options=options
        )

    @chain_method(rank=4, rank_hint=_HINT_2D, defaults=_SEPARABLE_DEFAULTS, float_input=True)
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
        use_bias: bool | None = None,
        depthwise_initializer: InitializerLike = "glorot_uniform",
        pointwise_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        depthwise_regularizer: RegularizerLike = None,
        pointwise_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """A depthwise then pointwise convolution to ``depth`` channels (``SeparableConv2D``).

        Args:
            kernel: The depthwise filter size: an int, or ``(height, width)``.
            depth: The number of output channels (pointwise filters).
            depth_multiplier: Depthwise filters per input channel.
            activation: The activation (a Keras name or function), ``None`` for none.
            strides: The step between windows.
            padding: ``"same"`` (PrettyTensor's default) or ``"valid"``.
            dilation_rate: The dilation of the depthwise filter.
            use_bias: Add a bias; ``None``: yes, unless ``batch_normalize``.
            depthwise_initializer: The depthwise kernel's initializer (cloned for each layer).
            pointwise_initializer: The pointwise kernel's initializer (cloned for each layer).
            bias_initializer: The bias' initializer.
            depthwise_regularizer: A regularizer of the depthwise kernel.
            pointwise_regularizer: A regularizer of the pointwise kernel.
            bias_regularizer: A regularizer of the bias.
            l2loss: PrettyTensor's weight decay, on both kernels.
            batch_normalize: ``True`` or a dict of options: batch normalization between the
                convolution and the activation.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((32, 32, 3)).separable_conv2d(3, 8).shape
            (None, 32, 32, 8)
        """
        options = keywords(locals(), "kernel", "depth")
        kernel, depth = _check_conv(self, "separable_conv2d", kernel, depth, options)
        check_positive_int("separable_conv2d", "depth_multiplier", depth_multiplier)
        return kernel_layers(
            "separable_conv2d",
            keras.layers.SeparableConv2D,
            depth,
            kernel,
            options=options,
            kernels=("depthwise", "pointwise"),
        )

    @chain_method(rank=4, rank_hint=_HINT_2D, defaults=_DEPTHWISE_DEFAULTS, float_input=True)
    def depthwise_conv2d(
        self,
        kernel: IntOrTuple,
        channel_multiplier: int = 1,
        *,
        activation: ActivationLike = None,
        strides: IntOrTuple = 1,
        padding: str = "same",
        dilation_rate: IntOrTuple = 1,
        use_bias: bool | None = None,
        depthwise_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        depthwise_regularizer: RegularizerLike = None,
        bias_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        batch_normalize: BatchNormLike = False,
        name: str | None = None,
    ) -> Any:
        """One ``kernel`` filter per input channel, ``channel_multiplier`` times
        (``keras.layers.DepthwiseConv2D``; PrettyTensor's ``depthwise_conv2d``).

        Args:
            kernel: The filter size: an int, or ``(height, width)``.
            channel_multiplier: Filters per input channel.
            activation: The activation (a Keras name or function), ``None`` for none.
            strides: The step between windows.
            padding: ``"same"`` (PrettyTensor's default) or ``"valid"``.
            dilation_rate: The dilation of the filter.
            use_bias: Add a bias; ``None``: yes, unless ``batch_normalize``.
            depthwise_initializer: The kernel's initializer (cloned for each layer).
            bias_initializer: The bias' initializer.
            depthwise_regularizer: A regularizer of the kernel.
            bias_regularizer: A regularizer of the bias.
            l2loss: PrettyTensor's weight decay, ``l2loss * sum(kernel ** 2) / 2``.
            batch_normalize: ``True`` or a dict of options: batch normalization between the
                convolution and the activation.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((32, 32, 3)).depthwise_conv2d(3, 2).shape
            (None, 32, 32, 6)
        """
        options = keywords(locals(), "kernel", "channel_multiplier")
        kernel, multiplier = _check_conv(
            self,
            "depthwise_conv2d",
            kernel,
            channel_multiplier,
            options,
            depth_argument="channel_multiplier",
        )
        return kernel_layers(
            "depthwise_conv2d",
            keras.layers.DepthwiseConv2D,
            kernel,
            options={**options, "depth_multiplier": multiplier},
            kernels=("depthwise",),
        )
