"""The summary table: every layer, its method, output shape and parameter count."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from chainnet._inner import inner_layers
from chainnet._node import Node

__all__ = ["summary_rows", "summary_text"]

Row = tuple[str, str, str, str]


def _count(weights: Sequence[keras.Variable]) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def _shape_text(tensor: object) -> str:
    shape = getattr(tensor, "shape", None)
    if shape is None:
        return "?"
    dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in dims) + ")"


def _inner_output(layer: keras.layers.Layer) -> object:
    try:
        return layer.output
    except (AttributeError, ValueError):  # called more than once inside its model
        return None


def _inner_rows(model: keras.layers.Layer, prefix: str) -> list[Row]:
    """Rows for the layers inside a model step, by path; their parameters are the step's."""
    return [
        (
            f"  {path}",
            f"  ({type(layer).__name__})",
            _shape_text(_inner_output(layer)),
            f"{_count(layer.weights):,}",
        )
        for path, layer in inner_layers(model, prefix)
    ]


def summary_rows(nodes: Sequence[Node], expand: bool = False) -> tuple[list[Row], int, int]:
    """Table rows ``(name, method, output shape, params)``, total and trainable counts.

    ``expand=True`` adds a row for every layer inside a model step, by path."""
    rows: list[Row] = []
    seen: set[int] = set()
    total = trainable = 0
    for node in nodes:
        if not node.layers:
            rows.append((node.name, node.method, _shape_text(node.output), "0"))
            continue
        for index, (layer, output) in enumerate(zip(node.layers, node.outputs)):
            label = node.name if index == 0 else f"  {layer.name}"
            method = node.method if index == 0 else f"  ({type(layer).__name__})"
            if id(layer) in seen:
                rows.append((label, method, _shape_text(output), "shared"))
                continue
            seen.add(id(layer))
            params = _count(layer.weights)
            total += params
            trainable += _count(layer.trainable_weights)
            rows.append((label, method, _shape_text(output), f"{params:,}"))
            if expand and isinstance(layer, keras.Model):
                rows.extend(_inner_rows(layer, node.name if index == 0 else layer.name))
    return rows, total, trainable


def summary_text(nodes: Sequence[Node], expand: bool = False) -> str:
    """The summary of ``nodes`` as text; the totals equal ``keras.Model.count_params()`` and
    the trainable count Keras reports."""
    rows, total, trainable = summary_rows(nodes, expand)
    header: Row = ("Name", "Method", "Output shape", "Params")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def line(row: Row) -> str:
        return (
            f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  "
            f"{row[2]:<{widths[2]}}  {row[3]:>{widths[3]}}"
        )

    rule = "-" * len(line(header))
    body = [line(header), rule, *(line(r) for r in rows), rule]
    body.append(f"Total params: {total:,}")
    body.append(f"Trainable params: {trainable:,}")
    body.append(f"Non-trainable params: {total - trainable:,}")
    return "\n".join(body)
