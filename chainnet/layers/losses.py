"""Layers behind the heads and losses: the batch loss (added to the model's losses), the
softmax that carries it, and the accuracy."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops

from chainnet._losses import LOSSES, correct_predictions, precision_recall, weighted_mean
from chainnet.layers.shape import full_precision_dtype

__all__ = [
    "Accuracy",
    "AddedLoss",
    "BatchLoss",
    "PrecisionRecall",
    "SampledSoftmax",
    "TiedSoftmax",
]

_register = keras.saving.register_keras_serializable(package="chainnet")


class _FullPrecision(keras.layers.Layer):
    """A layer that, made under a mixed-precision policy without ``dtype=``, computes in the
    policy's variable dtype (float32): its float inputs are cast up, as Keras' losses and
    metrics compute in float32 whatever the model's policy."""

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = full_precision_dtype()
        super().__init__(**kwargs)


@_register
class BatchLoss(_FullPrecision):
    """The batch loss ``kind`` of ``[predictions, target, *extras]``: ``extras`` names the
    further inputs, ``"weights"`` (per example) and ``"per_output_weights"``; ``loss_weight``
    scales the loss (PrettyTensor's). A third input without ``extras`` is the weights.

    It returns the scalar loss and adds it to the layer's (so the model's) losses with
    ``add_loss``: a model holding this layer trains with ``compile(optimizer)`` and ``fit``
    with no ``loss=``.
    """

    def __init__(
        self,
        kind: str,
        loss_weight: float | None = None,
        extras: tuple[str, ...] | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if kind not in LOSSES:
            raise ValueError(f"kind must be one of {sorted(LOSSES)}, got {kind!r}")
        self.kind = kind
        self.loss_weight = None if loss_weight is None else float(loss_weight)
        self.extras = None if extras is None else tuple(extras)

    def call(self, inputs: Any) -> Any:
        predictions, target, *rest = inputs
        extra = dict(zip(self.extras or ("weights",), rest))
        loss = LOSSES[self.kind](
            predictions,
            target,
            extra.pop("weights", None),
            loss_weight=self.loss_weight,
            **extra,
        )
        self.add_loss(loss)
        return loss

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor((), dtype="float32")

    def get_config(self) -> dict[str, Any]:
        extras = None if self.extras is None else list(self.extras)
        return {
            **super().get_config(),
            "kind": self.kind,
            "loss_weight": self.loss_weight,
            "extras": extras,
        }


@_register
class TiedSoftmax(_FullPrecision):
    """``softmax(logits)`` of ``[logits, loss]``: the loss input only ties the loss step into
    every model built from the softmax, so that the model keeps the loss."""

    def call(self, inputs: Any) -> Any:
        logits = inputs[0]
        return ops.softmax(logits, axis=-1)

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs[0].shape, dtype=self.compute_dtype)


@_register
class Accuracy(_FullPrecision):
    """PrettyTensor's evaluation of ``[logits, labels]`` or ``[logits, labels, weights]``:
    ``quantity="ratio"`` the (weighted) fraction of examples whose label is in the top
    ``topk``, ``"correct"`` their (weighted) number, ``"count"`` the number of examples (the
    sum of the weights). ``sparse`` says the labels are class ids (``None``: from the shape).
    """

    def __init__(
        self,
        topk: int = 1,
        quantity: str = "ratio",
        sparse: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if quantity not in ("ratio", "correct", "count"):
            raise ValueError(f"quantity must be 'ratio', 'correct' or 'count', got {quantity!r}")
        self.topk = int(topk)
        self.quantity = quantity
        self.sparse = sparse

    def call(self, inputs: Any) -> Any:
        logits, labels, *weights = inputs
        correct, count = correct_predictions(
            logits, labels, self.topk, weights[0] if weights else None, self.sparse
        )
        if self.quantity == "correct":
            return correct
        if self.quantity == "count":
            return count
        return correct / count

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor((), dtype="float32")

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "topk": self.topk,
            "quantity": self.quantity,
            "sparse": self.sparse,
        }


@_register
class PrecisionRecall(_FullPrecision):
    """PrettyTensor's ``evaluate_precision_recall`` of ``[predictions, labels]`` or
    ``[predictions, labels, weights]``: the precision (``quantity="precision"``) or the recall
    of ``predictions > threshold`` against ``labels > 0``."""

    def __init__(self, threshold: float = 0.5, quantity: str = "precision", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if quantity not in ("precision", "recall"):
            raise ValueError(f"quantity must be 'precision' or 'recall', got {quantity!r}")
        self.threshold = float(threshold)
        self.quantity = quantity

    def call(self, inputs: Any) -> Any:
        predictions, labels, *weights = inputs
        precision, recall = precision_recall(
            predictions, labels, self.threshold, weights[0] if weights else None
        )
        return precision if self.quantity == "precision" else recall

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor((), dtype="float32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold, "quantity": self.quantity}


@_register
class AddedLoss(_FullPrecision):
    """``[anchor, loss]``: adds the scalar ``loss`` to the layer's (so the model's) losses
    and returns it (PrettyTensor's ``add_loss``); the anchor ties it to the chain it was
    added on."""

    def call(self, inputs: Any) -> Any:
        loss = inputs[1]
        self.add_loss(loss)
        return loss

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor((), dtype=inputs[1].dtype)


@_register
class SampledSoftmax(_FullPrecision):
    """PrettyTensor's ``softmax_classifier_with_sampled_loss``, one layer called twice (one
    set of weights): on ``features`` it gives the logits ``features @ kernel.T + bias``
    (the kernel is ``(num_classes, features)``, PrettyTensor's transposed layout); on
    ``[features, labels]`` or ``[features, labels, weights]`` it gives the loss and adds it
    to the model's losses: ``tf.nn.sampled_softmax_loss`` when training, the full softmax
    cross entropy otherwise, then ``sum(loss_weight * weight * loss) / batch_size``."""

    def __init__(
        self,
        num_classes: int,
        num_sampled: int,
        num_true: int = 1,
        remove_accidental_hits: bool = True,
        loss_weight: float | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        seed: int | None = None,
        input_dim: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.input_dim = input_dim  # known after build; saved, since a layer called on two
        # input structures has no single build shape to restore from
        self.num_classes = int(num_classes)
        self.num_sampled = int(num_sampled)
        self.num_true = int(num_true)
        self.remove_accidental_hits = bool(remove_accidental_hits)
        self.loss_weight = None if loss_weight is None else float(loss_weight)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.seed = seed

    def build(self, input_shape: Any) -> None:
        features = input_shape
        if features is not None and any(isinstance(d, (list, tuple)) for d in features):
            features = features[0]  # [features, labels, ...]
        if features is not None and features[-1] is not None:
            self.input_dim = int(features[-1])
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.num_classes, self.input_dim),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.num_classes,), initializer=self.bias_initializer
        )

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not isinstance(inputs, (list, tuple)):
            kernel = ops.cast(self.kernel, inputs.dtype)
            return ops.matmul(inputs, ops.transpose(kernel)) + ops.cast(self.bias, inputs.dtype)
        features, labels, *weights = inputs
        features = ops.cast(features, "float32")
        kernel, bias = ops.cast(self.kernel, "float32"), ops.cast(self.bias, "float32")
        ids = ops.reshape(ops.cast(labels, "int64"), (-1, self.num_true))
        if training:
            per = tf.nn.sampled_softmax_loss(
                weights=kernel,
                biases=bias,
                labels=ids,
                inputs=features,
                num_sampled=self.num_sampled,
                num_classes=self.num_classes,
                num_true=self.num_true,
                remove_accidental_hits=self.remove_accidental_hits,
                seed=self.seed,
            )
        else:  # the full softmax: sampled_softmax_loss' labels, each 1 / num_true
            logits = ops.matmul(features, ops.transpose(kernel)) + bias
            target = ops.sum(ops.one_hot(ids, self.num_classes), axis=1) / self.num_true
            per = ops.categorical_crossentropy(target, logits, from_logits=True)
        loss = weighted_mean(per, weights[0] if weights else None, self.loss_weight)
        self.add_loss(loss)
        return loss

    def compute_output_spec(self, inputs: Any, training: bool | None = None) -> Any:
        if isinstance(inputs, (list, tuple)):
            return keras.KerasTensor((), dtype="float32")
        return keras.KerasTensor((*inputs.shape[:-1], self.num_classes), dtype=self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "num_sampled": self.num_sampled,
            "num_true": self.num_true,
            "remove_accidental_hits": self.remove_accidental_hits,
            "loss_weight": self.loss_weight,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "seed": self.seed,
            "input_dim": self.input_dim,
        }
