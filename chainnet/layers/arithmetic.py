"""Elementwise ``+ - * /`` between chains, or between a chain and a constant."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from chainnet._shapes import broadcast_shape

__all__ = ["Arithmetic", "OPERATORS"]

OPERATORS = {
    "add": ops.add,
    "subtract": ops.subtract,
    "multiply": ops.multiply,
    "divide": ops.divide,
}


@keras.saving.register_keras_serializable(package="chainnet")
class Arithmetic(keras.layers.Layer):
    """``x <op> y`` for two inputs, or ``x <op> constant``; ``reverse`` swaps the sides
    (``y <op> x``, ``constant <op> x``).

    The constant is stored in the layer's config (as a nested list), so it saves with the model;
    with a constant, both sides are cast to ``result_dtype`` (default: the input's dtype).
    """

    def __init__(
        self,
        op: str,
        constant: Any = None,
        reverse: bool = False,
        result_dtype: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if op not in OPERATORS:
            raise ValueError(f"op must be one of {sorted(OPERATORS)}, got {op!r}")
        self.op = op
        self.constant = None if constant is None else np.asarray(constant).tolist()
        self.reverse = bool(reverse)
        self.result_dtype = result_dtype

    def call(self, inputs: Any) -> Any:
        if self.constant is None:
            left, right = inputs
            if self.reverse:
                left, right = right, left
        else:
            dtype = self.result_dtype or inputs.dtype
            left = ops.cast(inputs, dtype)
            right = ops.cast(ops.convert_to_tensor(self.constant), dtype)
            if self.reverse:
                left, right = right, left
        return OPERATORS[self.op](left, right)

    def compute_output_spec(self, inputs: Any) -> Any:
        """The output's shape and dtype, by the rules ``keras.ops`` apply in ``call``:
        the broadcast of the two shapes, and ``keras.backend.result_type`` of the two dtypes
        (with ``float`` for a division, as ``keras.ops.divide``). Like Keras' ``Add`` layer,
        this makes no ``keras.ops`` operation and traces no graph. The output of dense inputs
        is dense (``keras.ops`` would call a product with a constant sparse); sparse or
        ragged inputs are traced as Keras does, and shapes that do not broadcast go through
        ``call``, whose ``keras.ops`` error says so."""
        tensors = inputs if self.constant is None else (inputs,)
        if any(
            not isinstance(x, keras.KerasTensor)
            or getattr(x, "sparse", False)
            or getattr(x, "ragged", False)
            for x in tensors
        ):
            return super().compute_output_spec(inputs)
        if self.constant is None:
            left, right = inputs
            shapes = (tuple(left.shape), tuple(right.shape))
            dtypes = (left.dtype, right.dtype)
        else:
            dtype = self.result_dtype or inputs.dtype
            shapes = (tuple(inputs.shape), np.shape(self.constant))
            dtypes = (dtype, dtype)
        shape = broadcast_shape(*shapes)
        if shape is None:
            spec = self.call(inputs)
            return keras.KerasTensor(spec.shape, dtype=spec.dtype)
        promoted = (*dtypes, float) if self.op == "divide" else dtypes
        return keras.KerasTensor(shape, dtype=keras.backend.result_type(*promoted))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "op": self.op,
            "constant": self.constant,
            "reverse": self.reverse,
            "result_dtype": self.result_dtype,
        }
