"""Keras' automatic layer names, so chainnet can tell them from names a user chose."""

from __future__ import annotations

import re

import keras

__all__ = ["has_automatic_name", "snake_case"]


def snake_case(name: str) -> str:
    """Keras' automatic layer name for a class name: ``Conv2D`` -> ``conv2d``.

    Examples:
        >>> snake_case("Conv2D"), snake_case("GaussianNoise")
        ('conv2d', 'gaussian_noise')
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def has_automatic_name(layer: keras.layers.Layer) -> bool:
    """Whether Keras named the layer itself (``dense``, ``dense_3``: a process-wide counter)."""
    base = re.escape(snake_case(type(layer).__name__))
    return re.fullmatch(rf"{base}(_\d+)?", layer.name) is not None
