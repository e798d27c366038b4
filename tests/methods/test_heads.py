"""Heads and losses as harness rows: softmax_classifier, the cross entropies, the regressions
and evaluate_classifier, with labels, targets and per-example weights as further inputs.

The references apply Keras' own loss objects and metric functions as ``compile``/``fit``
apply them (in float32, the batch mean of sample-weighted losses), wrapped in a layer so
that they take part in a functional model. PrettyTensor's regressions and binary cross
entropy sum over the outputs where Keras' average: their references are Keras' times the
number of outputs (4). tests/composition/test_heads.py checks every loss against
PrettyTensor's formulas written in NumPy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from harness import ExtraInput, MethodCase, Use
from keras import ops

import chainnet as cn

L = keras.layers
LOSSES = keras.losses


class KerasLoss(L.Layer):
    """Reference for a loss step: ``loss(y_true, y_pred, sample_weight)``, a Keras loss object
    (which computes in its own dtype, float32), as ``model.compile(loss=...)`` applies it."""

    def __init__(self, loss: keras.losses.Loss, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loss = loss

    def call(self, y_pred: Any, y_true: Any, sample_weight: Any = None) -> Any:
        return self.loss(y_true, y_pred, sample_weight=sample_weight)

    def compute_output_spec(self, y_pred: Any, y_true: Any, sample_weight: Any = None) -> Any:
        return keras.KerasTensor((), dtype=self.loss.dtype)


class KerasTopK(L.Layer):
    """Reference for ``evaluate_classifier``: the batch mean of Keras' (sparse) top-k
    categorical accuracy, on predictions in float32 as Keras' metrics convert them."""

    def __init__(self, k: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.k = k

    def call(self, logits: Any, labels: Any) -> Any:
        logits = ops.cast(logits, "float32")
        if len(labels.shape) == len(logits.shape):
            hits = keras.metrics.top_k_categorical_accuracy(labels, logits, k=self.k)
        else:
            hits = keras.metrics.sparse_top_k_categorical_accuracy(labels, logits, k=self.k)
        return ops.mean(ops.cast(hits, "float32"))

    def compute_output_spec(self, logits: Any, labels: Any) -> Any:
        return keras.KerasTensor((), dtype="float32")


def _classifier(classes: int, loss: keras.losses.Loss | None = None) -> Any:
    """Reference for ``softmax_classifier``: ``Dense`` logits, their ``Softmax`` and, with
    labels, the Keras loss: ``[softmax, loss]`` (``[softmax]`` without). The whole head
    computes in float32 (Keras' mixed-precision guide makes at least a model's last softmax
    float32, ``Activation("softmax", dtype="float32")``; chainnet's head includes its
    logits)."""

    def reference(x: Any, labels: Any = None, weights: Any = None) -> list[Any]:
        logits = L.Dense(classes, dtype="float32")(x)
        softmax = L.Softmax(dtype="float32")(logits)
        if loss is None:
            return [softmax]
        extra = () if weights is None else (weights,)
        return [softmax, KerasLoss(loss)(logits, labels, *extra)]

    return reference


IDS = {"labels": ExtraInput((), "int32", low=0, high=4)}
ONE_HOT = {"labels": ExtraInput((4,), data=np.eye(4, dtype="float32")[[1, 3]])}
PROBABILITIES = {"target": ExtraInput((4,), low=0.0, high=1.0)}
TARGET = {"target": ExtraInput((4,))}
WEIGHTS = {"w": ExtraInput((), low=0.1, high=2.0)}
SPARSE_CE = LOSSES.SparseCategoricalCrossentropy(from_logits=True)
DENSE_CE = LOSSES.CategoricalCrossentropy(from_logits=True)
#: logits with distinct values, so that top-k never depends on a tie
LOGITS = np.array([[0.3, -1.2, 2.0, 0.9], [1.5, 0.2, -0.4, 1.1]], "float32")

CASES = [
    # ------------------------------------------------------------ softmax_classifier
    MethodCase(
        "softmax_classifier",
        (4,),
        id="softmax_classifier-unlabelled",
        input_shape=(5,),
        reference=_classifier(4),
        expected_output_shapes=[(None, 4)],
        expected_num_weights=2,
        expected_num_params=5 * 4 + 4,
        expected_num_losses=0,
    ),
    MethodCase(
        "softmax_classifier",
        (4, Use("labels")),
        id="softmax_classifier-class-ids",
        input_shape=(5,),
        extra_inputs=IDS,
        reference=_classifier(4, SPARSE_CE),
        expected_output_shapes=[(None, 4), ()],
        expected_num_weights=2,
        expected_layer_names=["softmax_classifier_softmax", "softmax_classifier_loss"],
        expected_num_losses=1,
    ),
    MethodCase(
        "softmax_classifier",
        (4, Use("labels")),
        {"per_example_weights": Use("w"), "name": "head"},
        id="softmax_classifier-one-hot-weighted",
        input_shape=(3,),
        extra_inputs={**ONE_HOT, **WEIGHTS},
        reference=_classifier(4, DENSE_CE),
        expected_output_shapes=[(None, 4), ()],
        expected_num_weights=2,
        expected_layer_names=["head_softmax", "head_loss"],
        expected_num_losses=1,
    ),
    # ------------------------------------------------------------ losses
    MethodCase(
        "cross_entropy",
        (Use("labels"),),
        input_shape=(4,),
        extra_inputs=ONE_HOT,
        reference=lambda x, labels: KerasLoss(DENSE_CE)(x, labels),
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=1,
    ),
    MethodCase(
        "cross_entropy",
        (Use("labels"),),
        {"per_example_weights": Use("w")},
        id="cross_entropy-weighted",
        input_shape=(4,),
        extra_inputs={**ONE_HOT, **WEIGHTS},
        reference=lambda x, labels, w: KerasLoss(DENSE_CE)(x, labels, w),
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=1,
    ),
    MethodCase(
        "sparse_cross_entropy",
        (Use("labels"),),
        input_shape=(4,),
        extra_inputs=IDS,
        reference=lambda x, labels: KerasLoss(SPARSE_CE)(x, labels),
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=1,
    ),
    MethodCase(
        lambda x, labels: x.fully_connected(4, name="logits").sparse_cross_entropy(labels),
        id="sparse_cross_entropy-of-a-dense-layer",
        input_shape=(3,),
        extra_inputs=IDS,
        reference=lambda x, labels: KerasLoss(SPARSE_CE)(L.Dense(4)(x), labels),
        expected_output_shape=(),
        expected_num_weights=2,
        expected_num_losses=1,
    ),
    MethodCase(
        "binary_cross_entropy_with_logits",
        (Use("target"),),
        input_shape=(4,),
        extra_inputs=PROBABILITIES,
        reference=lambda x, t: KerasLoss(LOSSES.BinaryCrossentropy(from_logits=True))(x, t) * 4.0,
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=1,
    ),
    MethodCase(
        "l2_regression",
        (Use("target"),),
        input_shape=(4,),
        extra_inputs=TARGET,
        reference=lambda x, t: KerasLoss(LOSSES.MeanSquaredError())(x, t) * 4.0,
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=1,
    ),
    MethodCase(
        "l2_regression",
        (Use("target"),),
        {"per_example_weights": Use("w")},
        id="l2_regression-weighted",
        input_shape=(4,),
        extra_inputs={**TARGET, **WEIGHTS},
        reference=lambda x, t, w: KerasLoss(LOSSES.MeanSquaredError())(x, t, w) * 4.0,
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=1,
    ),
    MethodCase(
        "l1_regression",
        (Use("target"),),
        input_shape=(4,),
        extra_inputs=TARGET,
        reference=lambda x, t: KerasLoss(LOSSES.MeanAbsoluteError())(x, t) * 4.0,
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=1,
    ),
    # ------------------------------------------------------------ accuracy
    MethodCase(
        "evaluate_classifier",
        (Use("labels"),),
        input_shape=(4,),
        input_data=LOGITS,
        extra_inputs={"labels": ExtraInput((), "int32", data=np.array([2, 1], "int32"))},
        reference=lambda x, labels: KerasTopK(1)(x, labels),
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=0,
    ),
    MethodCase(
        "evaluate_classifier",
        (Use("labels"), None, 2),
        id="evaluate_classifier-one-hot-top2",
        input_shape=(4,),
        input_data=LOGITS,
        extra_inputs={"labels": ExtraInput((4,), data=np.eye(4, dtype="float32")[[3, 2]])},
        reference=lambda x, labels: KerasTopK(2)(x, labels),
        expected_output_shape=(),
        expected_num_weights=0,
    ),
]


class AnyTopK(L.Layer):
    """Reference for the evaluation family: per example, whether any label column is in the
    top ``k`` (Keras' sparse top-k accuracy of each column, their maximum); ``quantity`` is
    ``"ratio"`` (weighted mean), ``"correct"`` or ``"count"``."""

    def __init__(self, k: int, quantity: str = "ratio", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.k, self.quantity = k, quantity

    def call(self, logits: Any, labels: Any, weights: Any = None) -> Any:
        logits = ops.cast(logits, "float32")
        columns = labels if len(labels.shape) == 2 else ops.expand_dims(labels, -1)
        hits = ops.max(
            ops.stack(
                [
                    ops.cast(
                        keras.metrics.sparse_top_k_categorical_accuracy(
                            columns[:, j], logits, k=self.k
                        ),
                        "float32",
                    )
                    for j in range(columns.shape[-1])
                ],
                axis=-1,
            ),
            axis=-1,
        )
        w = ops.ones_like(hits) if weights is None else ops.cast(weights, "float32")
        correct, count = ops.sum(hits * w), ops.sum(w)
        return {"ratio": correct / count, "correct": correct, "count": count}[self.quantity]

    def compute_output_spec(self, logits: Any, labels: Any, weights: Any = None) -> Any:
        return keras.KerasTensor((), dtype="float32")


def _precision_recall(threshold: float) -> Any:
    """Reference for ``evaluate_precision_recall``: the definitions, with Keras ops."""

    def reference(x: Any, labels: Any) -> list[Any]:
        x = ops.cast(x, "float32")
        retrieved = ops.cast(x > threshold, "float32")
        relevant = ops.cast(labels > 0, "float32")
        selected = ops.sum(retrieved * relevant)
        return [selected / ops.sum(retrieved), selected / ops.sum(relevant)]

    return reference


TWO_IDS = {"labels": ExtraInput((2,), "int32", data=np.array([[1, 2], [3, 1]], "int32"))}
SCORES = {"labels": ExtraInput((4,), data=np.array([[1, 0, 1, 1], [0, 1, 1, 0]], "float32"))}
WEIGHTS_DATA = {"w": ExtraInput((), data=np.array([0.5, 2.0], "float32"))}

CASES += [
    MethodCase(
        "softmax",
        (Use("labels"),),
        id="softmax-with-labels",
        input_shape=(4,),
        extra_inputs=IDS,
        reference=lambda x, labels: [
            L.Softmax(dtype="float32")(x),
            KerasLoss(SPARSE_CE)(x, labels),
        ],
        expected_output_shapes=[(None, 4), ()],
        expected_num_weights=0,
        expected_layer_names=["softmax", "softmax_loss"],
        expected_num_losses=1,
    ),
    MethodCase(
        "softmax",
        id="softmax-unlabelled",
        input_shape=(4,),
        reference=lambda x: [L.Softmax(dtype="float32")(x)],
        expected_output_shapes=[(None, 4)],
        expected_num_weights=0,
        expected_num_losses=0,
    ),
    MethodCase(
        "cross_entropy",
        (Use("labels"),),
        {"per_example_weights": Use("w"), "loss_weight": 0.25},
        id="cross_entropy-loss_weight",
        input_shape=(4,),
        extra_inputs={**ONE_HOT, **WEIGHTS},
        reference=lambda x, labels, w: KerasLoss(DENSE_CE)(x, labels, w) * 0.25,
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=1,
    ),
    MethodCase(
        "binary_cross_entropy_with_logits",
        (Use("target"),),
        {"per_output_weights": Use("p")},
        id="binary_cross_entropy_with_logits-per_output_weights",
        input_shape=(4,),
        extra_inputs={**PROBABILITIES, "p": ExtraInput((4,), low=0.0, high=2.0)},
        # Keras' loss of each output alone (reduction=None), weighted, summed per example
        reference=lambda x, t, p: ops.mean(
            ops.sum(
                ops.cast(p, "float32")
                * LOSSES.binary_crossentropy(
                    ops.expand_dims(ops.cast(t, "float32"), -1),
                    ops.expand_dims(ops.cast(x, "float32"), -1),
                    from_logits=True,
                ),
                axis=-1,
            )
        ),
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=1,
    ),
    MethodCase(
        "evaluate_classifier",
        (Use("labels"), Use("w")),
        id="evaluate_classifier-weighted",
        input_shape=(4,),
        input_data=LOGITS,
        extra_inputs={
            "labels": ExtraInput((), "int32", data=np.array([2, 1], "int32")),
            **WEIGHTS_DATA,
        },
        reference=lambda x, labels, w: AnyTopK(1)(x, labels, w),
        expected_output_shape=(),
        expected_num_weights=0,
    ),
    MethodCase(
        "evaluate_classifier_sparse",
        (Use("labels"),),
        {"topk": 2},
        input_shape=(4,),
        input_data=LOGITS,
        extra_inputs=TWO_IDS,
        reference=lambda x, labels: AnyTopK(2)(x, labels),
        expected_output_shape=(),
        expected_num_weights=0,
    ),
    MethodCase(
        "evaluate_classifier_fraction",
        (Use("labels"), Use("w")),
        input_shape=(4,),
        input_data=LOGITS,
        extra_inputs={
            "labels": ExtraInput((4,), data=np.eye(4, dtype="float32")[[2, 3]]),
            **WEIGHTS_DATA,
        },
        reference=lambda x, labels, w: [
            AnyTopK(1, "correct")(x, ops.argmax(labels, -1), w),
            AnyTopK(1, "count")(x, ops.argmax(labels, -1), w),
        ],
        expected_output_shapes=[(), ()],
        expected_layer_names=["evaluate_classifier_fraction", "evaluate_classifier_fraction_count"],
        expected_num_weights=0,
    ),
    MethodCase(
        "evaluate_classifier_fraction_sparse",
        (Use("labels"), None, 3),
        input_shape=(4,),
        input_data=LOGITS,
        extra_inputs=TWO_IDS,
        reference=lambda x, labels: [
            AnyTopK(3, "correct")(x, labels),
            AnyTopK(3, "count")(x, labels),
        ],
        expected_output_shapes=[(), ()],
        expected_num_weights=0,
    ),
    MethodCase(
        "evaluate_precision_recall",
        (Use("labels"), 0.5),
        input_shape=(4,),
        input_data=LOGITS,
        extra_inputs=SCORES,
        reference=_precision_recall(0.5),
        expected_output_shapes=[(), ()],
        expected_layer_names=["evaluate_precision_recall", "evaluate_precision_recall_recall"],
        expected_num_weights=0,
    ),
]


class TransposedDense(L.Layer):
    """Reference for ``softmax_classifier_with_sampled_loss``: logits with a
    ``(classes, features)`` kernel, and the full sparse softmax cross entropy (the loss
    outside training) of Keras' loss object."""

    def __init__(self, classes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.classes = classes

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(shape=(self.classes, input_shape[-1]))
        self.bias = self.add_weight(shape=(self.classes,), initializer="zeros")

    def call(self, x: Any) -> Any:
        return ops.matmul(x, ops.transpose(ops.cast(self.kernel, x.dtype))) + ops.cast(
            self.bias, x.dtype
        )


def _sampled(x: Any, labels: Any, w: Any) -> list[Any]:
    dense = TransposedDense(6, dtype="float32")  # the whole head computes in float32
    logits = dense(x)
    full = KerasLoss(SPARSE_CE)(dense(ops.cast(x, "float32")), labels, w)
    return [logits, full * 0.5]


CASES += [
    MethodCase(
        "softmax_classifier_with_sampled_loss",
        (6, Use("labels"), 3),
        {"loss_weight": 0.5, "per_example_weights": Use("w"), "seed": 1},
        input_shape=(5,),
        extra_inputs={"labels": ExtraInput((), "int32", low=0, high=6), **WEIGHTS},
        reference=_sampled,
        expected_output_shapes=[(None, 6), ()],
        expected_num_weights=2,
        expected_num_params=6 * 5 + 6,
        expected_num_losses=1,
    ),
]


class KerasAddLoss(L.Layer):
    """Reference for ``add_loss``: Keras' ``Layer.add_loss`` of its input, returned."""

    def call(self, loss: Any) -> Any:
        self.add_loss(loss)
        return loss


CASES += [
    MethodCase(
        lambda x: x.add_loss(x.square().reduce_mean()),
        id="add_loss",
        input_shape=(3,),
        reference=lambda x: KerasAddLoss(dtype="float32")(ops.mean(ops.square(x))),
        expected_output_shape=(),
        expected_num_weights=0,
        expected_num_losses=1,
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_head_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


def test_unlabelled_softmax_layer_is_named_after_its_step() -> None:
    x = cn.input((5,))
    for name in ("softmax_classifier", "other"):
        softmax = x.softmax_classifier(4, name=name).softmax
        assert softmax.name == f"{name}_softmax"
        assert softmax.layer.name == softmax.name
