"""A node: one step of a network, as the network records it."""

from __future__ import annotations

import itertools
from typing import Any

import keras

__all__ = ["Node"]

_SEQUENCE = itertools.count()  # creation order across every network of the process


class Node:
    """One chain step: the layers it applied, their outputs, where it was written.

    ``stem`` is set when chainnet chose the step's name: the name it derived this node's
    name from (``"fully_connected_1"``, or ``"head"`` for ``"head_loss"``), chosen as the
    first free name of ``base`` (``"fully_connected"``). ``None`` means the user chose it.
    ``seq`` orders nodes by creation, across networks: merging two networks names their
    automatic steps in that order, as if one network had built both.

    A node's name (and stem) change only when a merge renames it; the chain of the step
    reads its name from its node, so it always reports the current one.
    """

    __slots__ = (
        "base",
        "call_site",
        "layers",
        "method",
        "name",
        "outputs",
        "parent_nodes",
        "seq",
        "stem",
    )

    def __init__(
        self,
        name: str,
        method: str,
        layers: tuple[keras.layers.Layer, ...],
        outputs: tuple[Any, ...],
        parent_nodes: tuple[Node, ...],
        call_site: str,
        stem: str | None = None,
        base: str | None = None,
    ) -> None:
        self.name = name
        self.method = method
        self.layers = layers
        self.outputs = outputs
        self.parent_nodes = parent_nodes
        self.call_site = call_site
        self.stem = stem
        self.base = base
        self.seq = next(_SEQUENCE)

    @property
    def parents(self) -> tuple[str, ...]:
        """The names of the steps this one was applied to."""
        return tuple(parent.name for parent in self.parent_nodes)

    @property
    def output(self) -> Any:
        return self.outputs[-1]

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.method!r}, parents={list(self.parents)})"
