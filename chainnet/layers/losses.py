"""Layers behind the heads and losses: the batch loss (added to the model's losses), the
softmax that carries it, and the accuracy."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from chainnet._losses import LOSSES, accuracy
from chainnet.layers.shape import full_precision_dtype

__all__ = ["Accuracy", "BatchLoss", "TiedSoftmax"]

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
    """The batch loss ``kind`` of ``[predictions, target]`` or ``[predictions, target, weights]``.

    It returns the scalar loss and adds it to the layer's (so the model's) losses with
    ``add_loss``: a model holding this layer trains with ``compile(optimizer)`` and ``fit``
    with no ``loss=``.
    """

    def __init__(self, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if kind not in LOSSES:
            raise ValueError(f"kind must be one of {sorted(LOSSES)}, got {kind!r}")
        self.kind = kind

    def call(self, inputs: Any) -> Any:
        predictions, target, *weights = inputs
        loss = LOSSES[self.kind](predictions, target, weights[0] if weights else None)
        self.add_loss(loss)
        return loss

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor((), dtype="float32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kind": self.kind}


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
    """The fraction of ``[logits, labels]`` examples whose label is in the top ``topk``."""

    def __init__(self, topk: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topk = int(topk)

    def call(self, inputs: Any) -> Any:
        logits, labels = inputs
        return accuracy(logits, labels, self.topk)

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor((), dtype="float32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "topk": self.topk}
