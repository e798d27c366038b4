"""Cheap checks run once before training, with messages that say what was expected and given."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from chainnet.training._data import Arrays

__all__ = [
    "check_batch_size",
    "check_compiled",
    "check_labels",
    "class_weight_to_sample_weight",
]

_SPARSE_NAMES = {"sparse_categorical_crossentropy", "sparsecategoricalcrossentropy"}
_DENSE_NAMES = {"categorical_crossentropy", "categoricalcrossentropy"}


def check_compiled(model: Any) -> None:
    """``model`` must be a compiled ``keras.Model`` with an optimizer."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model must be a keras.Model (for instance from chain.model()): got "
            f"{type(model).__name__}"
        )
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ValueError(
            f"Model {model.name!r} is not compiled: call model.compile(optimizer=..., loss=..., "
            "metrics=[...]) before training, exactly as before model.fit()."
        )


def check_batch_size(batch_size: Any, num_samples: int, drop_remainder: bool) -> int:
    """A positive int no larger than the data when the remainder is dropped.

    Examples:
        >>> check_batch_size(32, 100, drop_remainder=False)
        32
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be a positive int: got {batch_size!r}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int: got {batch_size}")
    if batch_size > num_samples:
        if drop_remainder:
            raise ValueError(
                f"batch_size={batch_size} is larger than the {num_samples} training samples and "
                "drop_remainder=True: no full batch exists, so no step would run. Use a "
                f"batch_size of at most {num_samples}, or drop_remainder=False."
            )
        warnings.warn(
            f"batch_size={batch_size} is larger than the {num_samples} training samples: each "
            f"epoch is one step on a batch of all {num_samples} samples.",
            UserWarning,
            stacklevel=3,
        )
    return int(batch_size)


def class_weight_to_sample_weight(
    y: Any, class_weight: Mapping[int, float], sample_weight: Any
) -> np.ndarray:
    """Per-sample weights from ``class_weight`` (sparse or one-hot ``y``), like ``model.fit``.

    Examples:
        >>> class_weight_to_sample_weight(np.array([0, 1, 1]), {1: 2.0}, None).tolist()
        [1.0, 2.0, 2.0]
    """
    if sample_weight is not None:
        raise ValueError(
            "Pass either class_weight or sample_weight, not both (as with model.fit): got both."
        )
    if not isinstance(class_weight, Mapping):
        raise TypeError(
            "class_weight must be a dict {class index: weight}: got "
            f"{type(class_weight).__name__}"
        )
    if y is None or isinstance(y, (list, tuple, Mapping)):
        raise ValueError(
            "class_weight is supported only for a model with a single output and one label array "
            f"y: got y of type {type(y).__name__}."
        )
    labels = np.asarray(y)
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = np.round(labels).astype(np.int64).reshape(len(labels), -1)[:, 0]
    table = np.ones(max([int(k) for k in class_weight] + [int(labels.max(initial=0))]) + 1)
    for key, weight in class_weight.items():
        table[int(key)] = float(weight)
    weights: np.ndarray = table[np.clip(labels, 0, len(table) - 1)].astype(keras.config.floatx())
    return weights


def _loss_name(loss: Any) -> str:
    if isinstance(loss, str):
        return loss.lower()
    name = getattr(loss, "__name__", None) or type(loss).__name__
    return str(name).lower()


def _flat_outputs(model: Any) -> list[tuple[str, int | None, int]]:
    """(name, width of the last axis, rank) of each output of a functional model."""
    try:
        outputs = list(getattr(model, "outputs", None) or [])
    except (AttributeError, ValueError):
        return []
    names = list(getattr(model, "output_names", None) or [])
    result = []
    for i, tensor in enumerate(outputs):
        rank = len(tensor.shape)
        last = tensor.shape[-1] if rank else None
        result.append((names[i] if i < len(names) else f"output_{i}", last, rank))
    return result


def _pairs(model: Any, y: Any) -> list[tuple[str, Any, Any, int | None, int]]:
    """(output name, loss, labels, width, rank of the output) for each output with labels."""
    outputs = _flat_outputs(model)
    loss = model.loss
    if not outputs or y is None:
        return []
    if len(outputs) == 1:
        if isinstance(loss, (list, tuple)):
            loss = loss[0] if len(loss) == 1 else None
        elif isinstance(loss, Mapping):
            loss = next(iter(loss.values())) if len(loss) == 1 else None
        labels = y
        if isinstance(y, (list, tuple)) and len(y) == 1:
            labels = y[0]
        elif isinstance(y, Mapping) and len(y) == 1:
            labels = next(iter(y.values()))
        name, width, rank = outputs[0]
        return [(name, loss, labels, width, rank)]
    pairs = []
    for i, (name, width, rank) in enumerate(outputs):
        if isinstance(loss, Mapping):
            out_loss = loss.get(name)
        elif isinstance(loss, (list, tuple)):
            out_loss = loss[i] if i < len(loss) else None
        else:
            out_loss = loss
        if isinstance(y, Mapping):
            labels = y.get(name)
        elif isinstance(y, (list, tuple)) and len(y) == len(outputs):
            labels = y[i]
        else:
            labels = None
        pairs.append((name, out_loss, labels, width, rank))
    return pairs


def check_labels(model: Any, data: Arrays, what: str = "y") -> None:
    """Labels must fit the loss: sparse categorical crossentropy needs integer class ids in
    ``[0, num_classes)`` (checked on the NumPy labels, once), and one-hot labels need a dense
    categorical crossentropy.
    """
    for name, loss, labels, width, rank in _pairs(model, data.y):
        if loss is None or labels is None or width is None:
            continue
        kind = _loss_name(loss)
        if kind not in _SPARSE_NAMES and kind not in _DENSE_NAMES:
            continue
        where = what if len(_flat_outputs(model)) == 1 else f"{what} for output {name!r}"
        shape = tuple(labels.shape)
        one_hot = len(shape) == rank and shape[-1] == width and width > 1
        if kind in _DENSE_NAMES:
            if len(shape) == rank - 1 or (len(shape) == rank and shape[-1] == 1 and width > 1):
                raise ValueError(
                    f"{where} has shape {shape}, integer class ids, but the loss is "
                    f"categorical_crossentropy, which expects one-hot labels of shape "
                    f"(n, {width}). Use loss='sparse_categorical_crossentropy' or one-hot labels."
                )
            continue
        if one_hot:
            raise ValueError(
                f"{where} has shape {shape}, which looks one-hot, but the loss is "
                "sparse_categorical_crossentropy, which expects integer class ids of shape "
                f"(n,). Use loss='categorical_crossentropy' or pass labels.argmax(-1)."
            )
        values = np.asarray(labels)
        ignore = getattr(loss, "ignore_class", None)
        if ignore is not None:
            values = values[values != ignore]
        if values.size == 0:
            continue
        if values.dtype.kind == "f" and not np.all(
            np.isfinite(values) & (values == np.round(values))
        ):
            bad = values[~(np.isfinite(values) & (values == np.round(values)))]
            raise ValueError(
                f"{where} must hold integer class ids for sparse_categorical_crossentropy: got "
                f"non-integer value {float(bad.reshape(-1)[0])!r}."
            )
        low, high = values.min(), values.max()
        if low < 0 or high >= width:
            flat = np.asarray(labels).reshape(len(labels), -1)
            bad_rows = np.nonzero(((flat < 0) | (flat >= width)).any(axis=1))[0]
            first = int(bad_rows[0])
            raise ValueError(
                f"{where} must hold class ids in [0, {width}) for sparse_categorical_crossentropy "
                f"(the model's output {name!r} has {width} classes): got labels in "
                f"[{low:g}, {high:g}], e.g. {what}[{first}] = {flat[first].tolist()} "
                f"({len(bad_rows)} sample(s) out of range)."
            )
