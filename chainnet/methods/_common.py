"""Pieces shared by several method families: types, regularizers, the batch-norm tail."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import keras

__all__ = [
    "ActivationLike",
    "BatchNormLike",
    "InitializerLike",
    "IntOrTuple",
    "RegularizerLike",
    "kernel_regularizer_for",
    "with_batch_norm",
]

ActivationLike = Union[str, Callable[..., Any], None]
InitializerLike = Union[str, keras.initializers.Initializer, Callable[..., Any]]
RegularizerLike = Union[str, keras.regularizers.Regularizer, None]
IntOrTuple = Union[int, Sequence[int]]
BatchNormLike = Union[bool, Mapping[str, Any]]


def kernel_regularizer_for(
    method: str, l2loss: float | None, kernel_regularizer: RegularizerLike
) -> RegularizerLike:
    """PrettyTensor's ``l2loss=`` as a Keras regularizer: adds ``l2loss * sum(w**2) / 2``.

    That is ``l2loss * tf.nn.l2_loss(w)``, PrettyTensor's weight decay.
    """
    if l2loss is None:
        return kernel_regularizer
    if kernel_regularizer is not None:
        raise ValueError(
            "pass l2loss= or kernel_regularizer=, not both "
            f"(got l2loss={l2loss!r} and kernel_regularizer={kernel_regularizer!r})"
        )
    if l2loss < 0:
        raise ValueError(f"l2loss must be >= 0, got {l2loss!r}")
    return keras.regularizers.L2(l2loss / 2.0)


def with_batch_norm(
    primary: Callable[..., keras.layers.Layer],
    *,
    name: str,
    activation: ActivationLike,
    use_bias: bool,
    batch_normalize: BatchNormLike,
) -> list[keras.layers.Layer]:
    """``primary`` alone, or (as PrettyTensor) ``primary`` without bias or activation, then
    batch normalization named ``<name>_bn``, then the activation named ``<name>_activation``.

    ``primary`` is called with ``activation`` and ``use_bias`` keywords.
    """
    if not batch_normalize:
        return [primary(activation=activation, use_bias=use_bias)]
    options = dict(batch_normalize) if isinstance(batch_normalize, Mapping) else {}
    layers = [
        primary(activation=None, use_bias=False),
        keras.layers.BatchNormalization(name=f"{name}_bn", **options),
    ]
    if activation is not None:
        layers.append(keras.layers.Activation(activation, name=f"{name}_activation"))
    return layers
