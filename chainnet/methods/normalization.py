"""Normalization and regularization: ``batch_normalize``, ``layer_normalize``,
``rms_normalize``, ``group_normalize``, ``dropout``."""

from __future__ import annotations

from typing import Any

import keras

from chainnet._arguments import (
    check_axis,
    check_bool,
    check_number,
    check_positive_int,
    check_rate,
)
from chainnet._registry import chain_method
from chainnet.methods._common import BATCH_NORM_DEFAULTS

__all__ = ["NormalizationMethods"]


def _check_normalization(
    chain: Any, method: str, axis: int, epsilon: float, center: bool, scale: bool
) -> None:
    rank = len(chain.shape)
    if check_axis(method, "axis", axis, rank) % rank == 0:
        raise ValueError(
            f"{method}(axis): axis {axis} is the batch axis; normalize over a features axis "
            "(-1: the last)"
        )
    if check_number(method, "epsilon", epsilon) <= 0:
        raise ValueError(f"{method}(epsilon): expected a number > 0, got {epsilon!r}")
    check_bool(method, "center", center)
    check_bool(method, "scale", scale)


class NormalizationMethods:
    """Batch and layer normalization, dropout."""

    __slots__ = ()

    @chain_method(defaults=BATCH_NORM_DEFAULTS, float_input=True)
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

        The scope keys ``momentum``, ``epsilon``, ``center`` and ``scale`` reach this step and
        the batch norm a convolution adds with ``batch_normalize=``.

        Args:
            axis: The features axis (normalized per feature).
            momentum: The moving averages' momentum (Keras'; TF-Slim's ``decay``).
            epsilon: Added to the variance.
            center: Learn an offset (``beta``).
            scale: Learn a scale (``gamma``).
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((8,)).batch_normalize().shape
            (None, 8)
        """
        _check_normalization(self, "batch_normalize", axis, epsilon, center, scale)
        check_rate("batch_normalize", "momentum", momentum)
        return keras.layers.BatchNormalization(
            axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale, name=name
        )

    @chain_method(defaults=("epsilon", "center", "scale"), float_input=True)
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

        Args:
            axis: The axis normalized over.
            epsilon: Added to the variance.
            center: Learn an offset (``beta``).
            scale: Learn a scale (``gamma``).
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((8,)).layer_normalize().shape
            (None, 8)
        """
        _check_normalization(self, "layer_normalize", axis, epsilon, center, scale)
        return keras.layers.LayerNormalization(
            axis=axis, epsilon=epsilon, center=center, scale=scale, name=name
        )

    @chain_method(defaults=("epsilon",), float_input=True)
    def rms_normalize(
        self, *, axis: int = -1, epsilon: float = 1e-6, name: str | None = None
    ) -> Any:
        """Root-mean-square normalization over ``axis`` (``keras.layers.RMSNormalization``):
        ``x / sqrt(mean(x**2) + epsilon) * scale``, a learned ``scale`` per feature and no
        offset (the normalization of T5 and Llama).

        Args:
            axis: The axis normalized over.
            epsilon: Added to the mean square.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> y = cn.input((5, 8)).rms_normalize()
            >>> y.shape, y.layer.count_params()
            ((None, 5, 8), 8)
        """
        _check_normalization(self, "rms_normalize", axis, epsilon, True, True)
        return keras.layers.RMSNormalization(axis=axis, epsilon=epsilon, name=name)

    @chain_method(defaults=("epsilon", "center", "scale"), float_input=True)
    def group_normalize(
        self,
        groups: int = 32,
        *,
        axis: int = -1,
        epsilon: float = 0.001,
        center: bool = True,
        scale: bool = True,
        name: str | None = None,
    ) -> Any:
        """Group normalization (``keras.layers.GroupNormalization``): the channels of
        ``axis`` split into ``groups`` groups, each normalized over its channels and the other
        non-batch axes. ``groups=1`` normalizes over all channels, ``groups`` equal to the
        channels is instance normalization.

        Args:
            groups: The number of groups; must divide the channels.
            axis: The channels axis.
            epsilon: Added to the variance.
            center: Learn an offset (``beta``).
            scale: Learn a scale (``gamma``).
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((8, 8, 16)).group_normalize(4).shape
            (None, 8, 8, 16)
        """
        _check_normalization(self, "group_normalize", axis, epsilon, center, scale)
        groups = check_positive_int("group_normalize", "groups", groups)
        channels = self.shape[axis]  # type: ignore[attr-defined]
        if channels is not None and channels % groups:
            raise ValueError(
                f"group_normalize(groups): {groups} groups do not divide the {channels} "
                f"channels of axis {axis}"
            )
        return keras.layers.GroupNormalization(
            groups=groups, axis=axis, epsilon=epsilon, center=center, scale=scale, name=name
        )

    @chain_method(
        exclusive=[("rate", "keep_prob")], defaults=("rate", "keep_prob"), float_input=True
    )
    def dropout(
        self,
        positional: None = None,
        /,
        *,
        rate: float | None = None,
        keep_prob: float | None = None,
        noise_shape: tuple[int | None, ...] | None = None,
        seed: int | None = None,
        name: str | None = None,
    ) -> Any:
        """Drops units, only when training (``keras.layers.Dropout``).

        Say which fraction you mean: ``rate=`` is the fraction dropped (Keras, ``tf.layers``),
        ``keep_prob=`` the fraction kept (PrettyTensor, TF-Slim), ``rate = 1 - keep_prob``.
        A positional number is refused: PrettyTensor's ``dropout(0.7)`` keeps 70% where
        Keras' ``Dropout(0.7)`` drops 70%, so ported code must say which it means.

        The input must be floating-point (kept units are scaled by ``1 / (1 - rate)``;
        Keras fails on an int or bool input when training): an int or bool input is refused
        at build time with a ``.cast('float32')`` hint.

        Args:
            positional: Refused (see above).
            rate: The fraction of units dropped, in [0, 1).
            keep_prob: The fraction of units kept, in (0, 1].
            noise_shape: The shape of the dropout mask (``None`` dims follow the input).
            seed: A seed for the mask.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((8,)).dropout(rate=0.25).shape
            (None, 8)
            >>> cn.input((8,)).dropout(keep_prob=0.75).layer.rate
            0.25
        """
        if positional is not None:
            raise TypeError(
                f"dropout(): a positional {positional!r} is ambiguous: write "
                f"dropout(keep_prob={positional!r}) to keep that fraction (PrettyTensor, "
                f"TF-Slim) or dropout(rate={positional!r}) to drop it (Keras)"
            )
        if (rate is None) == (keep_prob is None):
            raise ValueError(
                f"dropout(): give exactly one of rate= or keep_prob=, got rate={rate!r}, "
                f"keep_prob={keep_prob!r}"
            )
        if rate is not None:
            final_rate = check_rate("dropout", "rate", rate)
        else:
            kept = check_number("dropout", "keep_prob", keep_prob)
            if not 0.0 < kept <= 1.0:
                raise ValueError(f"dropout(keep_prob): expected a number in (0, 1], got {kept!r}")
            final_rate = 1.0 - kept
        return keras.layers.Dropout(final_rate, noise_shape=noise_shape, seed=seed, name=name)
