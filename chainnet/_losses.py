"""The loss functions on tensors (pure: they know nothing of chains); :mod:`chainnet.losses`
re-exports them with the regularization losses.

The chain methods (``logits.cross_entropy(labels)``, ``softmax_classifier(..., labels=...)``)
compute their losses with these functions; call them directly in a custom training loop.
Each is PrettyTensor's formula: one loss per example (the regressions and the binary cross
entropy **sum** over the outputs, as PrettyTensor's did; Keras' losses average), times
``loss_weight`` and the per-example ``weights``, summed and divided by the batch size
(Keras' ``sample_weight`` reduction ``"sum_over_batch_size"``).

Examples:
    >>> import numpy as np
    >>> logits = np.array([[2.0, 0.0], [0.0, 2.0]], "float32")
    >>> round(float(sparse_cross_entropy(logits, np.array([0, 1]))), 4)
    0.1269
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import keras
from keras import ops

from chainnet._errors import ChainError
from chainnet._shapes import Shape, first_mismatch

__all__ = [
    "LOSSES",
    "accuracy",
    "binary_cross_entropy_with_logits",
    "correct_predictions",
    "cross_entropy",
    "l1_regression",
    "l2_regression",
    "label_kind",
    "precision_recall",
    "softmax_cross_entropy",
    "sparse_cross_entropy",
    "weighted_mean",
]


def fits(got: Shape, expected: Shape) -> bool:
    return first_mismatch(expected, got) is None


def _batch_sum(x: Any) -> Any:
    """PrettyTensor's ``reduce_batch_sum``: the sum over every axis but the batch axis."""
    if len(x.shape) > 1:
        return ops.sum(x, axis=tuple(range(1, len(x.shape))))
    return x


def _batch_mean(x: Any) -> Any:
    """The mean over every axis but the batch axis (a cross entropy over time steps)."""
    if len(x.shape) > 1:
        return ops.mean(x, axis=tuple(range(1, len(x.shape))))
    return x


def weighted_mean(per_example: Any, weights: Any, loss_weight: float | None = None) -> Any:
    """PrettyTensor's ``apply_regression``: ``sum(loss_weight * weight * loss) / batch_size``
    of one loss per example."""
    per_example = ops.convert_to_tensor(per_example)
    if loss_weight is not None:
        per_example = per_example * ops.cast(loss_weight, per_example.dtype)
    if weights is None:
        return ops.mean(per_example)
    w = ops.reshape(ops.cast(ops.convert_to_tensor(weights), per_example.dtype), (-1,))
    count = ops.cast(ops.shape(per_example)[0], per_example.dtype)
    return ops.sum(per_example * w) / count


def _float(x: Any) -> Any:
    x = ops.convert_to_tensor(x)
    dtype = keras.backend.standardize_dtype(x.dtype)
    return x if "float" in dtype else ops.cast(x, "float32")


def cross_entropy(
    logits: Any, labels: Any, weights: Any = None, *, loss_weight: float | None = None
) -> Any:
    """Softmax cross entropy of ``logits`` against one-hot (or probability) ``labels``.

    PrettyTensor's: ``sum(loss_weight * weight * ce) / batch_size``; without weights the
    same as ``keras.losses.CategoricalCrossentropy(from_logits=True)``, with ``weights`` as
    its ``sample_weight``. Logits of rank 3 or more (time steps) average over the middle axes.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> logits = np.array([[2.0, 0.0]], "float32")
        >>> round(float(cn.losses.cross_entropy(logits, np.array([[1.0, 0.0]]))), 4)
        0.1269
    """
    logits = _float(logits)
    labels = ops.cast(ops.convert_to_tensor(labels), logits.dtype)
    per = ops.categorical_crossentropy(labels, logits, from_logits=True)
    return weighted_mean(_batch_mean(per), weights, loss_weight)


def sparse_cross_entropy(
    logits: Any, labels: Any, weights: Any = None, *, loss_weight: float | None = None
) -> Any:
    """Softmax cross entropy of ``logits`` against integer class ids ``labels``.

    PrettyTensor's formula, as :func:`cross_entropy`; without weights the same as
    ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``. ``labels`` may carry a
    trailing axis of size 1.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> logits = np.array([[2.0, 0.0]], "float32")
        >>> round(float(cn.losses.sparse_cross_entropy(logits, np.array([1]))), 4)
        2.1269
    """
    logits = _float(logits)
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == len(logits.shape):
        labels = ops.squeeze(labels, axis=-1)
    per = ops.sparse_categorical_crossentropy(ops.cast(labels, "int32"), logits, from_logits=True)
    return weighted_mean(_batch_mean(per), weights, loss_weight)


def softmax_cross_entropy(
    logits: Any, labels: Any, weights: Any = None, *, loss_weight: float | None = None
) -> Any:
    """:func:`cross_entropy` or :func:`sparse_cross_entropy`, picked from the labels' shape.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> logits = np.array([[2.0, 0.0]], "float32")
        >>> a = cn.losses.softmax_cross_entropy(logits, np.array([0]))
        >>> b = cn.losses.softmax_cross_entropy(logits, np.array([[1.0, 0.0]]))
        >>> bool(abs(float(a) - float(b)) < 1e-6)
        True
    """
    logits = ops.convert_to_tensor(logits)
    labels = ops.convert_to_tensor(labels)
    kind = label_kind(
        "softmax_cross_entropy", tuple(logits.shape), tuple(labels.shape), labels.dtype
    )
    if kind == "sparse":
        return sparse_cross_entropy(logits, labels, weights, loss_weight=loss_weight)
    return cross_entropy(logits, labels, weights, loss_weight=loss_weight)


def binary_cross_entropy_with_logits(
    logits: Any,
    target: Any,
    weights: Any = None,
    *,
    loss_weight: float | None = None,
    per_output_weights: Any = None,
) -> Any:
    """Sigmoid cross entropy of ``logits`` against ``target`` probabilities.

    PrettyTensor's: the per-element cross entropy, times ``per_output_weights`` (same shape
    as the logits), **summed** over the outputs of each example, then
    ``sum(loss_weight * weight * loss) / batch_size``. Keras'
    ``BinaryCrossentropy(from_logits=True)`` (and ``tf.nn.sigmoid_cross_entropy_with_logits``
    under ``reduce_mean``) average over the outputs instead: this is that times the number
    of outputs per example.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> logits = np.zeros((2, 3), "float32")
        >>> round(float(cn.losses.binary_cross_entropy_with_logits(logits, np.ones((2, 3)))), 4)
        2.0794
    """
    logits = _float(logits)
    target = ops.cast(ops.convert_to_tensor(target), logits.dtype)
    # PrettyTensor's functions.binary_cross_entropy_loss_with_logits
    neg_softplus = -ops.softplus(-logits)
    per = -(target * neg_softplus + (1 - target) * (-logits + neg_softplus))
    if per_output_weights is not None:
        per = per * ops.cast(ops.convert_to_tensor(per_output_weights), per.dtype)
    return weighted_mean(_batch_sum(per), weights, loss_weight)


def l2_regression(
    predictions: Any, target: Any, weights: Any = None, *, loss_weight: float | None = None
) -> Any:
    """PrettyTensor's L2 regression: the squared error **summed** over each example's
    outputs, then ``sum(loss_weight * weight * loss) / batch_size``. (Keras'
    ``MeanSquaredError`` averages over the outputs: this is that times their number.)

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> float(cn.losses.l2_regression(np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]])))
        10.0
    """
    predictions = _float(predictions)
    target = ops.cast(ops.convert_to_tensor(target), predictions.dtype)
    return weighted_mean(_batch_sum(ops.square(predictions - target)), weights, loss_weight)


def l1_regression(
    predictions: Any, target: Any, weights: Any = None, *, loss_weight: float | None = None
) -> Any:
    """PrettyTensor's L1 regression: the absolute error **summed** over each example's
    outputs, then ``sum(loss_weight * weight * loss) / batch_size``. (Keras'
    ``MeanAbsoluteError`` averages over the outputs: this is that times their number.)

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> float(cn.losses.l1_regression(np.array([[1.0, -3.0]]), np.array([[0.0, 0.0]])))
        4.0
    """
    predictions = _float(predictions)
    target = ops.cast(ops.convert_to_tensor(target), predictions.dtype)
    return weighted_mean(_batch_sum(ops.abs(predictions - target)), weights, loss_weight)


LOSSES: dict[str, Callable[..., Any]] = {
    "cross_entropy": cross_entropy,
    "sparse_cross_entropy": sparse_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "l2_regression": l2_regression,
    "l1_regression": l1_regression,
}


def _class_ids(logits: Any, labels: Any, sparse: bool | None = None) -> Any:
    """``labels`` as int32 ids of shape ``(examples, num_true)``: class ids of shape
    ``logits.shape[:-1]`` or ``logits.shape[:-1] + (num_true,)``, or one-hot rows (their
    argmax, as PrettyTensor's ``_compute_average_correct``); ``sparse`` says which (``None``:
    one-hot when the labels have the logits' shape and more than one class)."""
    labels = ops.convert_to_tensor(labels)
    classes = logits.shape[-1]
    if sparse is None:
        same = len(labels.shape) == len(logits.shape) and labels.shape[-1] == classes
        sparse = not (same and classes != 1)
    if not sparse:
        labels = ops.argmax(labels, axis=-1)
    if len(labels.shape) == len(logits.shape) - 1:
        labels = ops.expand_dims(labels, -1)
    return ops.reshape(ops.cast(labels, "int32"), (-1, labels.shape[-1]))


def correct_predictions(
    logits: Any, labels: Any, topk: int = 1, weights: Any = None, sparse: bool | None = None
) -> tuple[Any, Any]:
    """PrettyTensor's ``_compute_sparse_average_correct``: the (weighted) number of examples
    with a label among the ``topk`` highest ``logits`` (ties go to the lower index, as
    ``tf.nn.top_k``), and the number of examples (the sum of the weights)."""
    logits = _float(logits)
    classes = logits.shape[-1]
    flat_logits = ops.cast(ops.reshape(logits, (-1, classes)), "float32")
    ids = _class_ids(logits, labels, sparse)
    _, top = ops.top_k(flat_logits, topk)
    hits = ops.any(ops.equal(ops.expand_dims(ids, -1), ops.expand_dims(top, 1)), axis=(1, 2))
    correct = ops.cast(hits, "float32")
    if weights is None:
        return ops.sum(correct), ops.cast(ops.shape(correct)[0], "float32")
    w = ops.reshape(ops.cast(ops.convert_to_tensor(weights), "float32"), (-1,))
    return ops.sum(correct * w), ops.sum(w)


def accuracy(
    logits: Any, labels: Any, topk: int = 1, weights: Any = None, sparse: bool | None = None
) -> Any:
    """The (weighted) fraction of examples whose label is among the ``topk`` highest
    ``logits``: PrettyTensor's ``evaluate_classifier``, ``sum(weight * correct) /
    sum(weight)``.

    ``labels`` are class ids (``(batch,)``, or ``(batch, num_true)``: any one may be hit) or
    one-hot vectors.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> logits = np.array([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]], "float32")
        >>> float(cn.losses.accuracy(logits, np.array([0, 1]))), float(
        ...     cn.losses.accuracy(logits, np.array([0, 1]), topk=2))
        (0.5, 1.0)
    """
    correct, count = correct_predictions(logits, labels, topk, weights, sparse)
    return correct / count


def precision_recall(
    predictions: Any, labels: Any, threshold: float = 0.5, weights: Any = None
) -> tuple[Any, Any]:
    """PrettyTensor's ``evaluate_precision_recall``: a label is relevant where ``labels >
    0``, a prediction retrieved where ``predictions > threshold``; examples whose weight is
    not positive are left out. Each is 0 where nothing was retrieved (relevant).

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> p, r = cn.losses.precision_recall(np.array([[0.9, 0.8, 0.1]]), np.array([[1, 0, 1]]))
        >>> float(p), float(r)
        (0.5, 0.5)
    """
    predictions = _float(predictions)
    relevant = ops.cast(ops.greater(ops.convert_to_tensor(labels), 0), "float32")
    retrieved = ops.cast(ops.greater(predictions, threshold), "float32")
    selected = relevant * retrieved
    if weights is not None:
        keep = ops.cast(
            ops.greater(ops.reshape(ops.convert_to_tensor(weights), (-1,)), 0), "float32"
        )
        selected, relevant, retrieved = (
            _batch_sum(t) * keep for t in (selected, relevant, retrieved)
        )
    chosen, found, wanted = (ops.sum(t) for t in (selected, retrieved, relevant))
    precision = ops.where(ops.equal(found, 0.0), 0.0, chosen / ops.maximum(found, 1e-30))
    recall = ops.where(ops.equal(wanted, 0.0), 0.0, chosen / ops.maximum(wanted, 1e-30))
    return precision, recall


def label_kind(
    method: str, logits_shape: Shape, labels_shape: Shape, labels_dtype: Any
) -> Literal["sparse", "dense"]:
    """``"sparse"`` for class ids of shape ``logits_shape[:-1]`` (optionally ``+ (1,)``),
    ``"dense"`` for one-hot labels of ``logits_shape``; anything else is a :class:`ChainError`.

    Examples:
        >>> from chainnet.losses import label_kind
        >>> label_kind("m", (None, 10), (None,), "int32")
        'sparse'
        >>> label_kind("m", (None, 10), (None, 10), "float32")
        'dense'
    """
    dtype = keras.backend.standardize_dtype(labels_dtype)
    classes = logits_shape[-1] if logits_shape else None
    numeric = "int" in dtype or "float" in dtype
    sparse_shapes = (logits_shape[:-1], (*logits_shape[:-1], 1))
    is_sparse = any(fits(labels_shape, s) for s in sparse_shapes)
    is_dense = fits(labels_shape, logits_shape)
    if classes == 1 and is_dense:  # (batch, 1) against one class: ids, not one-hot
        is_dense = False
    if is_dense and numeric:
        return "dense"
    if is_sparse and "int" in dtype:
        return "sparse"
    expected = (
        f"integer class ids of shape {logits_shape[:-1]} (or {(*logits_shape[:-1], 1)}), or "
        f"one-hot labels of shape {logits_shape}"
    )
    if is_sparse and numeric:
        raise ChainError(
            f"{method}(): labels of shape {labels_shape} look like class ids but have dtype "
            f"{dtype}; class ids must be integers: make the labels input with dtype='int32', "
            "or cast them with labels.cast('int32')."
        )
    if not numeric:
        raise ChainError(
            f"{method}(): labels have dtype {dtype}; expected {expected} (numeric dtypes)."
        )
    raise ChainError(
        f"{method}(): labels of shape {labels_shape} do not fit logits of shape "
        f"{logits_shape}; expected {expected}."
    )
