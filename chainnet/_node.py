"""A node: one step of a network, as the network records it."""

from __future__ import annotations

import dataclasses
from typing import Any

import keras

__all__ = ["Node"]


@dataclasses.dataclass(frozen=True)
class Node:
    """One chain step: the layers it applied, their outputs, where it was written.

    ``stem`` is set when chainnet chose the step's name: the name it derived this node's
    name from (``"fully_connected_1"``, or ``"head"`` for ``"head_loss"``), chosen as the
    first free name of ``base`` (``"fully_connected"``). ``None`` means the user chose it.
    """

    name: str
    method: str
    layers: tuple[keras.layers.Layer, ...]
    outputs: tuple[Any, ...]
    parents: tuple[str, ...]
    call_site: str
    stem: str | None = None
    base: str | None = None

    @property
    def output(self) -> Any:
        return self.outputs[-1]

    @property
    def automatic(self) -> bool:
        """Whether chainnet chose the name (so a merge may rename it)."""
        return self.stem is not None
