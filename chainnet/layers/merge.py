"""Layers that merge several inputs where Keras has none: ``Stack``, ``Pack``."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from chainnet.layers.shape import SameDtypeLayer

__all__ = ["Pack", "Stack"]


@keras.saving.register_keras_serializable(package="chainnet")
class Stack(SameDtypeLayer):
    """Stacks same-shaped inputs along a new ``axis`` (counted with the batch dimension).

    The output has the inputs' dtype (their common dtype, as ``keras.ops.stack`` promotes
    mixed ones); no input is cast to the float compute dtype.
    """

    def __init__(self, axis: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs: Any) -> Any:
        return ops.stack(list(inputs), axis=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


@keras.saving.register_keras_serializable(package="chainnet")
class Pack(SameDtypeLayer):
    """Flattens each input to ``(batch, -1)`` and concatenates them: several outputs of one
    dtype as one tensor (a template that returns several chains; ``Slice`` and ``Reshape``
    take them apart again)."""

    def call(self, inputs: Any) -> Any:
        items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        flat = [ops.reshape(x, (-1, math.prod(int(d) for d in x.shape[1:]))) for x in items]
        return flat[0] if len(flat) == 1 else ops.concatenate(flat, axis=-1)
