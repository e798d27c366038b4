"""Cheap checks run once before training, with messages that say what was expected and given.

This is the one home of ``fit``'s input checks: the arguments (``batch_size``, ``epochs``,
``validation_split``, ``validation_freq``, the step counts), the data (``y=None``, strings,
class ids out of range, for a compiled loss or a chainnet head) and the translation of the few
graph errors that only show up inside the compiled step. Every error is a
:class:`chainnet.ChainError` (a ``ValueError``), or a :class:`chainnet.ChainTypeError` (also a
``TypeError``) for a value of the wrong type.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from chainnet._errors import ChainError, ChainTypeError
from chainnet._keras_compat import (
    LABEL_RANGE_ERROR,
    NO_LOSS_ERROR,
    NODE_IN_ERROR,
    flatten_layers,
    inbound_input_tensors,
)
from chainnet.layers.losses import BatchLoss
from chainnet.training._data import Arrays, is_nested, leaves

__all__ = [
    "batch_size_for",
    "check_batch_size",
    "check_compiled",
    "check_count",
    "check_dtypes",
    "check_labels",
    "check_shuffle",
    "check_validation_freq",
    "check_validation_split",
    "check_y",
    "class_weight_to_sample_weight",
    "should_validate",
    "translate_graph_error",
]

_SPARSE_NAMES = {"sparse_categorical_crossentropy", "sparsecategoricalcrossentropy"}
_DENSE_NAMES = {"categorical_crossentropy", "categoricalcrossentropy"}


def _given(value: Any) -> str:
    """How an error shows the value it was given: its repr and, when that can mislead, type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if _is_int(value):
        return text
    return f"{text} (a {type(value).__name__})"


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _overrides(model: Any, name: str) -> bool:
    return getattr(type(model), name, None) is not getattr(keras.Model, name, None)


def check_compiled(model: Any) -> None:
    """``model`` must be a compiled ``keras.Model`` with an optimizer."""
    if not isinstance(model, keras.Model):
        raise ChainTypeError(
            f"model must be a keras.Model (for instance from chain.model()): got "
            f"{type(model).__name__}"
        )
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ChainError(
            f"Model {model.name!r} is not compiled: call model.compile(optimizer=..., loss=..., "
            "metrics=[...]) before training, exactly as before model.fit()."
        )


def check_batch_size(batch_size: Any, num_samples: int, drop_remainder: bool) -> int:
    """A positive int no larger than the data when the remainder is dropped.

    Examples:
        >>> check_batch_size(32, 100, drop_remainder=False)
        32
    """
    if not _is_int(batch_size):
        raise ChainTypeError(f"batch_size must be a positive int: got {_given(batch_size)}")
    if batch_size <= 0:
        raise ChainError(f"batch_size must be a positive int: got {batch_size}")
    if batch_size > num_samples:
        if drop_remainder:
            raise ChainError(
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


def check_count(value: Any, name: str, *, minimum: int = 1, optional: bool = True) -> int | None:
    """An int of at least ``minimum`` (``None`` too when ``optional``), as ``model.fit`` takes
    for ``steps_per_epoch``, ``validation_steps``, ``validation_batch_size``, ``epochs``...

    Examples:
        >>> check_count(3, "steps_per_epoch"), check_count(None, "validation_steps")
        (3, None)
    """
    if value is None and optional:
        return None
    expected = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    default = f" (or leave {name} None, the default)" if optional else ""
    if not _is_int(value):
        raise ChainTypeError(f"{name} must be {expected}: got {_given(value)}{default}.")
    if value < minimum:
        raise ChainError(f"{name} must be {expected}: got {value}{default}.")
    return int(value)


def check_validation_split(value: Any) -> float:
    """A fraction in ``[0, 1)``: the share of the samples, taken from the end, kept apart.

    Examples:
        >>> check_validation_split(0.2), check_validation_split(0)
        (0.2, 0.0)
    """
    expected = (
        "validation_split must be in (0, 1) (or 0 for no validation): a float, the fraction of "
        "the samples, taken from the end of x and y before shuffling, kept apart for validation"
    )
    if value is None:  # model.fit reads None as no split
        return 0.0
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        hint = ""
        if isinstance(value, str):
            hint = " Pass a number, e.g. validation_split=0.2, not a string."
        raise ChainTypeError(f"{expected}; got {_given(value)}.{hint}")
    fraction = float(value)
    if not (fraction == 0.0 or 0.0 < fraction < 1.0):
        raise ChainError(f"{expected}; got {value!r}.")
    return fraction


def check_validation_freq(value: Any) -> int | list[int]:
    """``model.fit``'s ``validation_freq``: validate every ``n`` epochs (an int), or after the
    epochs listed (1-based, a list, tuple, set or range of ints).

    Examples:
        >>> check_validation_freq(2), check_validation_freq((3, 1))
        (2, [1, 3])
    """
    expected = (
        "validation_freq must be a positive int n (validate after every n-th epoch) or a list "
        "of epoch numbers counted from 1 (validate after those epochs), as in model.fit"
    )
    if _is_int(value):
        if value < 1:
            raise ChainError(f"{expected}: got {value}.")
        return int(value)
    if isinstance(value, (list, tuple, set, frozenset, range)):
        bad = [v for v in value if not _is_int(v) or v < 1]
        if bad:
            raise ChainError(f"{expected}: got {_given(value)}, which holds {bad[0]!r}.")
        return sorted(int(v) for v in value)
    raise ChainTypeError(f"{expected}: got {_given(value)}.")


def should_validate(epoch: int, validation_freq: int | list[int]) -> bool:
    """Whether the epoch ``epoch`` (0-based) ends with a validation, exactly as ``model.fit``.

    Examples:
        >>> [e for e in range(6) if should_validate(e, 2)], should_validate(0, [1, 4])
        ([1, 3, 5], True)
    """
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def check_shuffle(value: Any) -> bool | str:
    """``True``, ``False`` or ``"batch"`` (shuffle within each batch), as ``model.fit`` takes.

    Examples:
        >>> check_shuffle(False), check_shuffle("batch")
        (False, 'batch')
    """
    if value == "batch":
        return "batch"
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ChainTypeError(
        'shuffle must be True (shuffle the samples before each epoch), False, or "batch" '
        f"(shuffle within each batch), as in model.fit: got {_given(value)}."
    )


def batch_size_for(batch_size: int | None, num_samples: int, steps: int | None) -> int:
    """The batch size ``model.fit`` uses for arrays: the one given, else enough for ``steps``
    batches to cover the data, else 32.

    Examples:
        >>> batch_size_for(None, 100, None), batch_size_for(None, 100, 3), batch_size_for(8, 100, 3)
        (32, 34, 8)
    """
    if batch_size is not None:
        return batch_size
    return math.ceil(num_samples / steps) if steps else 32


def class_weight_to_sample_weight(
    y: Any, class_weight: Mapping[int, float], sample_weight: Any
) -> np.ndarray:
    """Per-sample weights from ``class_weight`` (sparse or one-hot ``y``), like ``model.fit``.

    Examples:
        >>> class_weight_to_sample_weight(np.array([0, 1, 1]), {1: 2.0}, None).tolist()
        [1.0, 2.0, 2.0]
    """
    if sample_weight is not None:
        raise ChainError(
            "Pass either class_weight or sample_weight, not both (as with model.fit): got both."
        )
    if not isinstance(class_weight, Mapping):
        raise ChainTypeError(
            "class_weight must be a dict {class index: weight}: got "
            f"{type(class_weight).__name__}"
        )
    if y is None or isinstance(y, (list, tuple, Mapping)):
        raise ChainError(
            "class_weight is supported only for a model with a single output and one label array "
            f"y: got y of type {type(y).__name__}."
        )
    labels = np.asarray(y)
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = np.round(labels).astype(np.int64).reshape(len(labels), -1)[:, 0]
    largest = max(int(np.max(labels)), 0) if labels.size else 0
    table = np.ones(max([int(k) for k in class_weight] + [largest]) + 1)
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


def _has_compiled_loss(model: Any) -> bool:
    loss = getattr(model, "loss", None)
    if isinstance(loss, Mapping):
        return any(v is not None for v in loss.values())
    if isinstance(loss, (list, tuple)):
        return any(v is not None for v in loss)
    return loss is not None


def _loss_text(loss: Any) -> str:
    if isinstance(loss, (str, list, tuple, Mapping)):
        return repr(loss)
    return str(getattr(loss, "__name__", None) or type(loss).__name__)


def check_y(model: Any, data: Arrays, prefix: str = "") -> None:
    """``y=None`` only where the model's loss needs no labels.

    That is a model compiled with no ``loss=`` whose layers add the loss (a chainnet head such
    as ``softmax_classifier(n, labels)``, trained with ``fit([x, labels], None)``), or a model
    with its own ``train_step`` or ``compute_loss``.
    """
    if data.y is not None or not _has_compiled_loss(model):
        return
    if _overrides(model, "train_step") or _overrides(model, "compute_loss"):
        return
    raise ChainError(
        f"{prefix}y is None, but the model was compiled with loss={_loss_text(model.loss)}, which "
        "compares the model's outputs with labels: pass the labels (targets) as y, as in "
        "fit(model, x, y). y=None is only for a model whose loss needs no y: one compiled "
        "without loss= whose layers add the loss, such as a chainnet head "
        "(softmax_classifier(n, labels), compile(optimizer=...), fit(model, [x, labels], None))."
    )


def _non_numeric(array: Any) -> str | None:
    """``"strings"`` or ``"Python objects"`` for an array that holds no numbers, else None."""
    if isinstance(array, (tf.Tensor, tf.Variable)):
        return "strings" if array.dtype == tf.string else None
    kind = np.dtype(getattr(array, "dtype", np.float32)).kind
    return {"U": "strings", "S": "strings", "O": "Python objects"}.get(kind)


def _first_value(array: Any) -> Any:
    flat = np.asarray(array).reshape(-1)
    value = flat[0] if flat.size else None
    if isinstance(value, np.generic):
        value = value.item()
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _input_arrays(model: Any, x: Any) -> list[tuple[str, Any, Any]]:
    """``(path in x, model input tensor, array)`` for each array of ``x`` that feeds an input
    of a functional model (none for a subclassed model, or an ``x`` it cannot pair)."""
    try:
        inputs = list(getattr(model, "inputs", None) or [])
    except (AttributeError, ValueError):
        return []
    if not inputs or x is None:
        return []
    if isinstance(x, Mapping):
        try:
            struct = model.input  # a functional model's inputs, as structured when made
        except (AttributeError, ValueError):
            struct = None
        by_key = dict(struct) if isinstance(struct, Mapping) else {}
        by_name = {getattr(t, "name", None): t for t in inputs}
        pairs = [(f"x[{k!r}]", by_key.get(k, by_name.get(k)), v) for k, v in x.items()]
        return [(path, t, v) for path, t, v in pairs if t is not None and not is_nested(v)]
    if isinstance(x, (list, tuple)):
        if len(x) != len(inputs):
            return []
        return [(f"x[{i}]", t, v) for i, (t, v) in enumerate(zip(inputs, x)) if not is_nested(v)]
    return [("x", inputs[0], x)] if len(inputs) == 1 else []


def check_dtypes(model: Any, data: Arrays, prefix: str = "") -> None:
    """Labels, sample weights and the inputs of non-string model inputs must hold numbers, not
    strings or Python objects (which would fail deep inside TensorFlow)."""
    custom = _overrides(model, "train_step") or _overrides(model, "compute_loss")
    for path, array in leaves(data.y, "y") + leaves(data.sample_weight, "sample_weight"):
        kind = _non_numeric(array)
        if kind is None or (custom and path.startswith("y")):
            continue
        if path.startswith("y"):
            expected = "numbers (integer class ids, one-hot rows or regression targets)"
            hint = (
                " To train on class names, number them first, e.g. "
                "names, ids = np.unique(labels, return_inverse=True), and pass ids."
            )
        else:
            expected, hint = "numbers (one weight per sample)", ""
        raise ChainTypeError(
            f"{prefix}{path} must hold {expected}: got {kind} (dtype "
            f"{array.dtype}), e.g. {prefix}{path}[0] = {_first_value(array)!r}.{hint}"
        )
    for path, tensor, array in _input_arrays(model, data.x):
        kind = _non_numeric(array)
        dtype = keras.backend.standardize_dtype(getattr(tensor, "dtype", "float32"))
        if kind is None or dtype == "string":
            continue
        raise ChainTypeError(
            f"{prefix}{path} feeds the model input {tensor.name!r} of dtype {dtype}, so it must "
            f"hold numbers: got {kind} (dtype {array.dtype}), e.g. {prefix}{path}[0] = "
            f"{_first_value(array)!r}."
        )


def _sparse_heads(model: Any) -> dict[int, list[tuple[str, int]]]:
    """For each model input that is the labels of a chainnet sparse cross entropy step
    (``softmax_classifier(n, ids)``, ``sparse_cross_entropy(ids)``): (step name, classes)."""
    try:
        inputs = list(getattr(model, "inputs", None) or [])
        layers = flatten_layers(model)
    except (AttributeError, ValueError):
        return {}
    found: dict[int, list[tuple[str, int]]] = {}
    for layer in layers:
        if not isinstance(layer, BatchLoss) or layer.kind != "sparse_cross_entropy":
            continue
        for tensors in inbound_input_tensors(layer):
            if len(tensors) < 2 or tensors[0].shape[-1] is None:
                continue
            target = tensors[1]
            if any(target is t for t in inputs):
                found.setdefault(id(target), []).append((layer.name, int(tensors[0].shape[-1])))
    return found


def _check_class_ids(
    where: str, example: str, labels: Any, width: int, loss: str, ignore: Any = None
) -> None:
    """Sparse labels must be integer class ids in ``[0, width)`` (checked on NumPy values)."""
    values = np.asarray(labels)
    if ignore is not None:
        values = values[values != ignore]
    if values.size == 0:
        return
    if values.dtype.kind == "f" and not np.all(np.isfinite(values) & (values == np.round(values))):
        bad = values[~(np.isfinite(values) & (values == np.round(values)))]
        raise ChainError(
            f"{where} must hold integer class ids for {loss.split(' (')[0]}: got non-integer "
            f"value {float(bad.reshape(-1)[0])!r}."
        )
    low, high = values.min(), values.max()
    if low < 0 or high >= width:
        flat = np.asarray(labels).reshape(len(labels), -1)
        outside = (flat < 0) | (flat >= width)
        if ignore is not None:
            outside &= flat != ignore
        bad_rows = np.nonzero(outside.any(axis=1))[0]
        first = int(bad_rows[0])
        raise ChainError(
            f"{where} must hold class ids in [0, {width}) for {loss}: got labels in "
            f"[{low:g}, {high:g}], e.g. {example}[{first}] = {flat[first].tolist()} "
            f"({len(bad_rows)} sample(s) out of range)."
        )


def check_labels(model: Any, data: Arrays, prefix: str = "") -> None:
    """Labels must fit the loss: sparse categorical crossentropy (compiled, or a chainnet head's
    sparse cross entropy fed by a model input) needs integer class ids in ``[0, num_classes)``
    (checked on the NumPy labels, once), and one-hot labels need a dense categorical
    crossentropy.

    ``prefix`` (``"validation "``) starts the names of the arrays in the messages.
    """
    what = f"{prefix}y"
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
                raise ChainError(
                    f"{where} has shape {shape}, integer class ids, but the loss is "
                    f"categorical_crossentropy, which expects one-hot labels of shape "
                    f"(n, {width}). Use loss='sparse_categorical_crossentropy' or one-hot labels."
                )
            continue
        if one_hot:
            raise ChainError(
                f"{where} has shape {shape}, which looks one-hot, but the loss is "
                "sparse_categorical_crossentropy, which expects integer class ids of shape "
                f"(n,). Use loss='categorical_crossentropy' or pass labels.argmax(-1)."
            )
        loss_text = (
            f"sparse_categorical_crossentropy (the model's output {name!r} has {width} classes)"
        )
        _check_class_ids(where, what, labels, width, loss_text, getattr(loss, "ignore_class", None))
    heads = _sparse_heads(model)
    if not heads:
        return
    for path, tensor, array in _input_arrays(model, data.x):
        for step, width in heads.get(id(tensor), []):
            where = f"{prefix}{path} (the model input {tensor.name!r})"
            loss_text = f"the sparse cross entropy of {step!r} (its logits have {width} classes)"
            _check_class_ids(where, f"{prefix}{path}", array, width, loss_text)


def translate_graph_error(error: BaseException) -> ChainError | None:
    """A one-paragraph :class:`ChainError` for the graph errors a user's data can cause inside
    the compiled step, which no check before training could see; None for any other error."""
    message = str(error)
    if isinstance(error, ValueError) and NO_LOSS_ERROR in message:
        return ChainError(
            "The model has no loss to train: it was compiled without loss= and none of its "
            "layers adds a loss (add_loss). Compile it with one, as in "
            "model.compile(optimizer=..., loss='sparse_categorical_crossentropy'), and pass the "
            "labels as y; or end the chain with a loss step, such as softmax_classifier(n, "
            "labels), and fit(model, [x, labels], None)."
        )
    match = LABEL_RANGE_ERROR.search(message)
    if isinstance(error, tf.errors.InvalidArgumentError) and match:
        node = NODE_IN_ERROR.search(message)
        at = f" (at {node.group(1)})" if node else ""
        value, classes = match.groups()
        return ChainError(
            f"A sparse cross entropy{at} got the class id {value}, outside [0, {classes}): its "
            f"logits have {classes} classes, so every label must be an integer from 0 to "
            f"{int(classes) - 1}. Check the labels given in x or y (for instance labels.min() "
            "and labels.max())."
        )
    return None
