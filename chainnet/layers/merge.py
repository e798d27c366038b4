"""Layers that merge several inputs where Keras has none: ``Stack``."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from chainnet.layers.shape import SameDtypeLayer

__all__ = ["Stack"]


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
