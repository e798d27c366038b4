"""Weights by name: read a model, a saved file or a TensorFlow checkpoint as ``{name: array}``,
match the names to a network's variable paths, and report what matched.

The report is the answer to "what did it load?": ``matched`` (assigned, or to be), ``missing``
(a variable of the network the source lacks), ``unexpected`` (a source weight nothing took)
and ``mismatched`` (one path, two shapes). TF1 names (PrettyTensor's, TF-Slim's) map to
Keras' by default: ``weights`` is ``kernel``, ``biases`` is ``bias``, and TF-Slim's batch
normalization ``<scope>/BatchNorm/<name>`` is the ``<scope>_bn`` layer of a chainnet step
built with ``batch_normalize=True`` (``beta``, ``gamma``, ``moving_mean``,
``moving_variance`` keep their names).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from chainnet._errors import ChainError, ChainTypeError
from chainnet._inner import inner_variables

__all__ = ["Mismatch", "WeightsReport", "load_into", "read_source", "tf1_to_keras"]

_TF1_NAMES = {"weights": "kernel", "biases": "bias"}
_SLIM_BATCH_NORM = ("BatchNorm", "batch_norm", "batchnorm")


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """A path found in both, with two shapes."""

    path: str
    source: str
    shape: tuple[int, ...]
    source_shape: tuple[int, ...]


@dataclasses.dataclass
class WeightsReport:
    """What :meth:`chainnet.Network.load_weights` matched: print it for a table.

    Attributes:
        matched: Network paths given a source weight (assigned unless a strict load failed).
        missing: Network paths the source has no weight for.
        unexpected: Source names nothing in the network took.
        mismatched: Paths found in both with different shapes (:class:`Mismatch`).
        sources: For each matched path, the source name it came from.
        assigned: Whether the matched weights were assigned.
    """

    matched: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)
    unexpected: list[str] = dataclasses.field(default_factory=list)
    mismatched: list[Mismatch] = dataclasses.field(default_factory=list)
    sources: dict[str, str] = dataclasses.field(default_factory=dict)
    assigned: bool = False

    @property
    def ok(self) -> bool:
        """No missing and no mismatched weight (what ``strict=True`` requires)."""
        return not self.missing and not self.mismatched

    def rows(self) -> list[tuple[str, str, str, str]]:
        """``(status, network path, source name, shapes)`` for every weight."""
        rows = [("matched", p, self.sources[p], "") for p in self.matched]
        rows += [
            ("mismatched", m.path, m.source, f"{m.shape} vs source {m.source_shape}")
            for m in self.mismatched
        ]
        rows += [("missing", p, "", "") for p in self.missing]
        rows += [("unexpected", "", n, "") for n in self.unexpected]
        return rows

    def __str__(self) -> str:
        header = ("Status", "Network path", "Source name", "Shapes")
        rows = self.rows()
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        lines = ["  ".join(f"{c:<{w}}" for c, w in zip(r, widths)).rstrip() for r in [header]]
        lines.append("-" * len(lines[0]))
        lines += ["  ".join(f"{c:<{w}}" for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.append(
            f"{len(self.matched)} matched, {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.mismatched)} mismatched"
            + ("" if self.assigned else " (nothing assigned)")
        )
        return "\n".join(lines)


def tf1_to_keras(name: str) -> str:
    """The Keras path of a TF1 variable name: ``conv1/weights`` -> ``conv1/kernel``,
    ``conv1/BatchNorm/beta`` -> ``conv1_bn/beta``; other names unchanged (``:0`` dropped).

    Examples:
        >>> tf1_to_keras("layer_conv1/weights"), tf1_to_keras("conv1/BatchNorm/moving_mean")
        ('layer_conv1/kernel', 'conv1_bn/moving_mean')
    """
    parts = name.removesuffix(":0").split("/")
    parts[-1] = _TF1_NAMES.get(parts[-1], parts[-1])
    merged: list[str] = []
    for part in parts:
        if part in _SLIM_BATCH_NORM and merged:
            merged[-1] += "_bn"
        else:
            merged.append(part)
    return "/".join(merged)


# ----------------------------------------------------------------------------- reading
def _checkpoint_arrays(path: str) -> dict[str, np.ndarray]:
    """A TF checkpoint's variables by name: TF1 names as saved; for a TF2 object-based
    checkpoint, each variable's own name (its Keras path) instead of its object-graph key."""
    reader = tf.train.load_checkpoint(path)
    keys = [name for name, _ in tf.train.list_variables(path)]
    names = {key: key for key in keys}
    graph_key = "_CHECKPOINTABLE_OBJECT_GRAPH"
    if graph_key in names:
        del names[graph_key]
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(reader.get_tensor(graph_key))
        for node in graph.nodes:
            for attribute in node.attributes:
                if attribute.checkpoint_key in names and attribute.full_name:
                    names[attribute.checkpoint_key] = attribute.full_name.removesuffix(":0")
        names = {k: v for k, v in names.items() if not k.startswith("save_counter")}
    return {name: np.asarray(reader.get_tensor(key)) for key, name in names.items()}


def _model_arrays(model: keras.Model) -> dict[str, np.ndarray]:
    return {path: np.asarray(v.numpy()) for path, v in inner_variables(model, "").items()}


def read_source(
    source: Any, architecture: Callable[[], keras.Model] | None = None
) -> dict[str, np.ndarray]:
    """``{name: array}`` of a weights source (see :func:`load_into`)."""
    if isinstance(source, keras.Model):
        return _model_arrays(source)
    if not isinstance(source, (str, os.PathLike)):
        raise ChainTypeError(
            "load_weights(): source must be a keras.Model, a .keras or .weights.h5 file, or a "
            f"TensorFlow checkpoint path; got {type(source).__name__}."
        )
    path = os.fspath(source)
    if path.endswith(".keras"):
        return _model_arrays(keras.saving.load_model(path, compile=False))
    if path.endswith(".weights.h5"):
        if architecture is None:  # pragma: no cover - the network always gives one
            raise ChainError("load_weights(): a .weights.h5 file needs the architecture.")
        # the file stores weights by position in the model that wrote it, not by name: it
        # loads into a fresh copy of this network's model, whose paths are this network's
        model = keras.models.clone_model(architecture())
        try:
            model.load_weights(path)
        except Exception as err:
            raise ChainError(
                f"load_weights({path!r}): a .weights.h5 file holds weights by position in the "
                "model that saved it and fits only that architecture; this network's does not "
                f"fit it ({type(err).__name__}: {err}). Save the source as .keras, or as a "
                "TensorFlow checkpoint, to load by name."
            ) from err
        return _model_arrays(model)
    try:
        return _checkpoint_arrays(path)
    except (tf.errors.OpError, ValueError) as err:
        raise ChainError(
            f"load_weights({path!r}): not a .keras file, a .weights.h5 file or a TensorFlow "
            f"checkpoint that can be read: {type(err).__name__}: {err}"
        ) from err


# ----------------------------------------------------------------------------- matching
def _target(
    name: str, mapping: Mapping[str, str] | Callable[[str], str | None] | None, paths: set[str]
) -> str | None:
    """The network path for a source name, ``None`` to skip it."""
    if isinstance(mapping, Mapping) and name in mapping:
        return mapping[name]
    if callable(mapping):
        mapped = mapping(name)
        if mapped is None:
            return None
        name = mapped
    for candidate in dict.fromkeys((name, tf1_to_keras(name))):
        if candidate in paths:
            return candidate
        ends = [p for p in paths if p.endswith("/" + candidate)]
        if len(ends) == 1:  # a backbone's own name inside this network: backbone/Conv1/...
            return ends[0]
    return tf1_to_keras(name)


def load_into(
    variables: Mapping[str, keras.Variable],
    source: Any,
    *,
    mapping: Mapping[str, str] | Callable[[str], str | None] | None = None,
    strict: bool = True,
    architecture: Callable[[], keras.Model] | None = None,
) -> WeightsReport:
    """Matches ``source``'s weights to ``variables`` by name and assigns them; the report.

    ``strict=True`` raises (assigning nothing) on a missing or mismatched weight.
    """
    if mapping is not None and not isinstance(mapping, Mapping) and not callable(mapping):
        raise ChainTypeError(
            "load_weights(): mapping must be a dict {source name: path} or a function of the "
            f"source name; got {type(mapping).__name__}."
        )
    if not isinstance(strict, bool):
        raise ChainTypeError(f"load_weights(): strict must be True or False, got {strict!r}.")
    arrays = read_source(source, architecture)
    paths = set(variables)
    report = WeightsReport()
    chosen: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        path = _target(name, mapping, paths)
        if path is None or path not in paths or path in report.sources:
            report.unexpected.append(name)
            continue
        shape = tuple(variables[path].shape)
        if tuple(array.shape) != shape:
            report.mismatched.append(Mismatch(path, name, shape, tuple(array.shape)))
            report.sources[path] = name
            continue
        report.sources[path] = name
        chosen[path] = array
    order = list(variables)
    report.matched = [p for p in order if p in chosen]
    report.missing = [p for p in order if p not in report.sources]
    report.mismatched.sort(key=lambda m: order.index(m.path))
    report.sources = {p: report.sources[p] for p in report.matched}
    if strict and not report.ok:
        err = ChainError(
            "load_weights(strict=True): nothing assigned: "
            f"{len(report.missing)} missing and {len(report.mismatched)} mismatched weight(s). "
            "Pass mapping= for names that differ, or strict=False to assign the matched ones.\n"
            + str(report)
        )
        err.report = report  # type: ignore[attr-defined]
        raise err
    for path in report.matched:
        variable = variables[path]
        variable.assign(chosen[path].astype(keras.backend.standardize_dtype(variable.dtype)))
    report.assigned = True
    return report
