"""Loss functions on tensors, and regularization losses collected in one call.

The chain methods (``logits.cross_entropy(labels)``, ``softmax_classifier(..., labels=...)``)
compute their losses with these functions; call them directly in a custom training loop.
Each is PrettyTensor's formula: ``sum(loss_weight * weight * loss) / batch_size`` of one
loss per example (the regressions and the binary cross entropy sum over the outputs);
``weights`` are one per example, as Keras' ``sample_weight``.

Examples:
    >>> import numpy as np, chainnet as cn
    >>> logits = np.array([[2.0, 0.0], [0.0, 2.0]], "float32")
    >>> round(float(cn.losses.sparse_cross_entropy(logits, np.array([0, 1]))), 4)
    0.1269
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
from keras import ops

from chainnet._chain import Chain
from chainnet._errors import ChainError
from chainnet._losses import (
    LOSSES,
    accuracy,
    binary_cross_entropy_with_logits,
    correct_predictions,
    cross_entropy,
    l1_regression,
    l2_regression,
    label_kind,
    precision_recall,
    softmax_cross_entropy,
    sparse_cross_entropy,
)
from chainnet._network import Network
from chainnet._template import Template

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
    "regularization_loss",
    "regularization_losses",
    "softmax_cross_entropy",
    "sparse_cross_entropy",
    "total_loss",
]


def regularization_losses(source: Any) -> list[Any]:
    """The weight penalties (``l2loss=``, ``kernel_regularizer=``) of every variable in
    ``source``: a chain, a network, a template, a Keras layer or model, or a list of those.

    Examples:
        >>> import chainnet as cn
        >>> y = cn.input((4,)).fully_connected(3, l2loss=0.01).fully_connected(2)
        >>> len(cn.losses.regularization_losses(y))
        1
    """
    layers: list[Any] = []
    for item in _flatten(source):
        if isinstance(item, Chain):
            layers.extend(item.network.layers)
        elif isinstance(item, Network):
            layers.extend(item.layers)
        elif isinstance(item, Template):
            layers.append(item.layer)
        elif isinstance(item, keras.layers.Layer):
            layers.append(item)
        else:
            raise ChainError(
                "regularization_losses(): expected chains, networks, templates or Keras layers, "
                f"got {type(item).__name__}."
            )
    seen: set[int] = set()
    penalties = []
    for layer in layers:
        for variable in layer.trainable_weights:
            regularizer = getattr(variable, "regularizer", None)
            if regularizer is None or id(variable) in seen:
                continue
            seen.add(id(variable))
            penalties.append(regularizer(variable))
    return penalties


def _flatten(source: Any) -> Iterable[Any]:
    if isinstance(source, (list, tuple)):
        for item in source:
            yield from _flatten(item)
    else:
        yield source


def regularization_loss(source: Any) -> Any:
    """The sum of :func:`regularization_losses` (0.0 when there are none).

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> y = cn.input((2,)).fully_connected(1, l2loss=0.5, kernel_initializer="ones")
        >>> float(cn.regularization_loss(y))  # 0.5 * sum(w ** 2) / 2
        0.5
    """
    penalties = regularization_losses(source)
    if not penalties:
        return ops.convert_to_tensor(0.0)
    total = penalties[0]
    for penalty in penalties[1:]:
        total = total + penalty
    return total


def total_loss(*losses: Any, regularization: Any = None) -> Any:
    """The sum of ``losses`` (tensors, numbers or eager chains) plus the regularization
    losses of ``regularization`` (a chain, network, template or Keras layer), in one call.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> x = cn.wrap(np.ones((2, 2), "float32"))
        >>> y = x.fully_connected(1, l2loss=0.5, kernel_initializer="ones")
        >>> loss = y.l2_regression(np.zeros((2, 1), "float32"))
        >>> float(cn.total_loss(loss, regularization=y))  # (1 + 1) ** 2 + 0.5
        4.5
    """
    total: Any = ops.convert_to_tensor(0.0)
    for loss in losses:
        value = loss.tensor if isinstance(loss, Chain) else loss
        total = total + ops.cast(ops.convert_to_tensor(value), "float32")
    if regularization is not None:
        total = total + ops.cast(regularization_loss(regularization), "float32")
    return total
