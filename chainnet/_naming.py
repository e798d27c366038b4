"""Names: Keras' automatic layer names, valid step names, and the first free name of a base.

Pure functions over names and sets of names; :class:`chainnet.Network` is the one caller
that owns a set of names (the naming service), everything else asks it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Sequence

import keras

from chainnet._errors import ChainError

__all__ = ["check_name", "free_index", "free_stem", "has_automatic_name", "snake_case", "stem_at"]

_VALID_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


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


def check_name(name: object, method: str) -> str:
    """``name`` if it is a valid step name, else a :class:`ChainError` naming ``method``.

    Examples:
        >>> check_name("layer_conv1", "conv2d")
        'layer_conv1'
    """
    if not isinstance(name, str) or not _VALID_NAME.match(name):
        raise ChainError(
            f"{method}(): name must be a non-empty string of letters, digits, '_', '.' "
            f"or '-', got {name!r}."
        )
    return name


def free_stem(
    base: str,
    taken: Container[str] | Callable[[str], bool],
    suffixes: Sequence[str] = ("",),
) -> str:
    """The first of ``base``, ``base_1``, ``base_2``, ... for which every ``stem + suffix`` is
    free: the automatic name of a step (and of the names derived from it, such as a head's
    ``<stem>_loss`` or a split's ``<stem>.0``).

    Examples:
        >>> free_stem("fully_connected", {"fully_connected"})
        'fully_connected_1'
        >>> free_stem("head", {"head_1_loss", "head"}, ("", "_loss"))
        'head_2'
    """
    return stem_at(base, free_index(base, taken, suffixes))


def stem_at(base: str, index: int) -> str:
    """``base`` for index 0, else ``base_<index>``: the names :func:`free_stem` tries."""
    return base if index == 0 else f"{base}_{index}"


def free_index(
    base: str,
    taken: Container[str] | Callable[[str], bool],
    suffixes: Sequence[str] = ("",),
    start: int = 0,
) -> int:
    """The index of :func:`free_stem`'s answer, tried from ``start`` on (the caller knows
    every stem below it is taken), so a network names its n-th step without trying n names.

    Examples:
        >>> free_index("add", {"add", "add_1", "add_3"}, start=1)
        2
    """
    is_taken = taken if callable(taken) else taken.__contains__
    index = start
    while True:
        stem = stem_at(base, index)
        if not any(is_taken(stem + suffix) for suffix in suffixes):
            return index
        index += 1
