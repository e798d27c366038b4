"""The loss functions on tensors (pure: they know nothing of chains); :mod:`chainnet.losses`
re-exports them with the regularization losses.

The chain methods (``logits.cross_entropy(labels)``, ``softmax_classifier(..., labels=...)``)
compute their losses with these functions; call them directly in a custom training loop.
Each returns the batch mean of the per-example loss; ``weights`` (one per example) give
``sum(weight * loss) / batch_size``, as Keras' ``sample_weight`` does.

Examples:
    >>> import numpy as np
    >>> logits = np.array([[2.0, 0.0], [0.0, 2.0]], "float32")
    >>> round(float(sparse_cross_entropy(logits, np.array([0, 1]))), 4)
    0.1269
"""

from __future__ import annotations

from typing import Any, Literal

import keras
from keras import ops

from chainnet._errors import ChainError
from chainnet._shapes import Shape, first_mismatch

__all__ = [
    "LOSSES",
    "accuracy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "l1_regression",
    "l2_regression",
    "label_kind",
    "softmax_cross_entropy",
    "sparse_cross_entropy",
]


def fits(got: Shape, expected: Shape) -> bool:
    return first_mismatch(expected, got) is None


def _reduce(per_example: Any, weights: Any) -> Any:
    """The batch mean of ``per_example`` (reduced to one value per example first)."""
    per_example = ops.convert_to_tensor(per_example)
    if len(per_example.shape) > 1:
        per_example = ops.mean(per_example, axis=tuple(range(1, len(per_example.shape))))
    if weights is None:
        return ops.mean(per_example)
    w = ops.reshape(ops.cast(ops.convert_to_tensor(weights), per_example.dtype), (-1,))
    count = ops.cast(ops.shape(per_example)[0], per_example.dtype)
    return ops.sum(per_example * w) / count


def _float(x: Any) -> Any:
    x = ops.convert_to_tensor(x)
    dtype = keras.backend.standardize_dtype(x.dtype)
    return x if "float" in dtype else ops.cast(x, "float32")


def cross_entropy(logits: Any, labels: Any, weights: Any = None) -> Any:
    """Softmax cross entropy of ``logits`` against one-hot (or probability) ``labels``.

    The same as ``keras.losses.CategoricalCrossentropy(from_logits=True)``.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> logits = np.array([[2.0, 0.0]], "float32")
        >>> round(float(cn.losses.cross_entropy(logits, np.array([[1.0, 0.0]]))), 4)
        0.1269
    """
    logits = _float(logits)
    labels = ops.cast(ops.convert_to_tensor(labels), logits.dtype)
    per = ops.categorical_crossentropy(labels, logits, from_logits=True)
    return _reduce(per, weights)


def sparse_cross_entropy(logits: Any, labels: Any, weights: Any = None) -> Any:
    """Softmax cross entropy of ``logits`` against integer class ids ``labels``.

    The same as ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``; ``labels``
    may carry a trailing axis of size 1.

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
    return _reduce(per, weights)


def softmax_cross_entropy(logits: Any, labels: Any, weights: Any = None) -> Any:
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
        return sparse_cross_entropy(logits, labels, weights)
    return cross_entropy(logits, labels, weights)


def binary_cross_entropy_with_logits(logits: Any, target: Any, weights: Any = None) -> Any:
    """Sigmoid cross entropy of ``logits`` against ``target`` probabilities, per element.

    The same as ``keras.losses.BinaryCrossentropy(from_logits=True)`` and the mean of
    ``tf.nn.sigmoid_cross_entropy_with_logits``.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> logits = np.zeros((2, 3), "float32")
        >>> round(float(cn.losses.binary_cross_entropy_with_logits(logits, np.ones((2, 3)))), 4)
        0.6931
    """
    logits = _float(logits)
    target = ops.cast(ops.convert_to_tensor(target), logits.dtype)
    per = ops.binary_crossentropy(target, logits, from_logits=True)
    return _reduce(per, weights)


def l2_regression(predictions: Any, target: Any, weights: Any = None) -> Any:
    """Mean squared error (``keras.losses.MeanSquaredError``).

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> float(cn.losses.l2_regression(np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]])))
        5.0
    """
    predictions = _float(predictions)
    target = ops.cast(ops.convert_to_tensor(target), predictions.dtype)
    return _reduce(ops.square(predictions - target), weights)


def l1_regression(predictions: Any, target: Any, weights: Any = None) -> Any:
    """Mean absolute error (``keras.losses.MeanAbsoluteError``).

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> float(cn.losses.l1_regression(np.array([[1.0, -3.0]]), np.array([[0.0, 0.0]])))
        2.0
    """
    predictions = _float(predictions)
    target = ops.cast(ops.convert_to_tensor(target), predictions.dtype)
    return _reduce(ops.abs(predictions - target), weights)


LOSSES = {
    "cross_entropy": cross_entropy,
    "sparse_cross_entropy": sparse_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "l2_regression": l2_regression,
    "l1_regression": l1_regression,
}


def accuracy(logits: Any, labels: Any, topk: int = 1) -> Any:
    """The fraction of examples whose label is among the ``topk`` highest ``logits``.

    ``labels`` are class ids or one-hot vectors.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> logits = np.array([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]], "float32")
        >>> float(cn.losses.accuracy(logits, np.array([0, 1]))), float(
        ...     cn.losses.accuracy(logits, np.array([0, 1]), topk=2))
        (0.5, 1.0)
    """
    logits = _float(logits)
    labels = ops.convert_to_tensor(labels)
    kind = label_kind("accuracy", tuple(logits.shape), tuple(labels.shape), labels.dtype)
    if kind == "dense":
        labels = ops.argmax(labels, axis=-1)
    elif len(labels.shape) == len(logits.shape):
        labels = ops.squeeze(labels, axis=-1)
    classes = logits.shape[-1]
    flat_logits = ops.reshape(logits, (-1, classes))
    flat_labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    hits = ops.in_top_k(flat_labels, flat_logits, topk)
    return ops.mean(ops.cast(hits, "float32"))


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
