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
    "kernel_layers",
    "kernel_regularizer_for",
    "keywords",
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


def keywords(arguments: Mapping[str, Any], *positional: str) -> dict[str, Any]:
    """A method's keyword arguments from its ``locals()``: all but ``self`` and ``positional``."""
    return {k: v for k, v in arguments.items() if k != "self" and k not in positional}


def kernel_layers(
    method: str,
    layer_class: Callable[..., keras.layers.Layer],
    *positional: Any,
    options: Mapping[str, Any],
) -> list[keras.layers.Layer]:
    """The layers of a step around a layer with a kernel (``Dense``, ``Conv2D``, ...).

    ``layer_class(*positional, **options)`` with PrettyTensor's two extra options handled
    (``options`` is usually ``keywords(locals(), ...)``: chain methods run unconverted by
    autograph, so their ``locals()`` are exactly their arguments):
    ``l2loss`` (see :func:`kernel_regularizer_for`) and ``batch_normalize``, which builds the
    layer without bias or activation, then batch normalization named ``<name>_bn`` (a dict
    gives its options), then the activation named ``<name>_activation``.
    """
    rest = dict(options)
    batch_normalize: BatchNormLike = rest.pop("batch_normalize", False)
    rest["kernel_regularizer"] = kernel_regularizer_for(
        method, rest.pop("l2loss"), rest["kernel_regularizer"]
    )
    if not batch_normalize:
        return [layer_class(*positional, **rest)]
    name, activation = rest["name"], rest.pop("activation")
    layers = [
        layer_class(*positional, **{**rest, "use_bias": False}),
        keras.layers.BatchNormalization(
            name=f"{name}_bn",
            **(dict(batch_normalize) if isinstance(batch_normalize, Mapping) else {}),
        ),
    ]
    if activation is not None:
        layers.append(keras.layers.Activation(activation, name=f"{name}_activation"))
    return layers
