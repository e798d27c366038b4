"""Layers behind PrettyTensor's tensor methods: element-wise functions, l1/l2 normalization,
reductions, the diagonal matrix multiplication and bilinear sampling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf
from keras import ops

__all__ = [
    "ELEMENTWISE",
    "REDUCTIONS",
    "BilinearSampling",
    "DiagonalMatMul",
    "Elementwise",
    "Normalize",
    "Reduce",
    "ReduceJoin",
    "TensorShape",
]

_register = keras.saving.register_keras_serializable(package="chainnet")

ELEMENTWISE = {
    "abs": ops.abs,
    "log": ops.log,
    "sqrt": ops.sqrt,
    "square": ops.square,
    "stop_gradient": ops.stop_gradient,
}

REDUCTIONS = {
    "all": ops.all,
    "any": ops.any,
    "max": ops.max,
    "mean": ops.mean,
    "min": ops.min,
    "prod": ops.prod,
    "sum": ops.sum,
}


@_register
class Elementwise(keras.layers.Layer):
    """``op(x)`` for an ``op`` of :data:`ELEMENTWISE` (``"abs"``, ``"log"``, ...)."""

    def __init__(self, op: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if op not in ELEMENTWISE:
            raise ValueError(f"op must be one of {sorted(ELEMENTWISE)}, got {op!r}")
        self.op = op

    def call(self, inputs: Any) -> Any:
        return ELEMENTWISE[self.op](inputs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "op": self.op}


@_register
class Normalize(keras.layers.Layer):
    """``x / max(|x|_order, epsilon)`` along ``axis``: ``order=1`` is PrettyTensor's
    ``functions.l1_normalize``; ``order=2`` is ``tf.nn.l2_normalize``,
    ``x / sqrt(max(sum(x ** 2), epsilon))``."""

    def __init__(self, order: int, axis: int, epsilon: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        self.order, self.axis, self.epsilon = int(order), int(axis), float(epsilon)

    def call(self, inputs: Any) -> Any:
        epsilon = ops.cast(self.epsilon, inputs.dtype)
        if self.order == 1:
            norm = ops.sum(ops.abs(inputs), axis=self.axis, keepdims=True)
            return inputs / ops.maximum(norm, epsilon)
        squares = ops.sum(ops.square(inputs), axis=self.axis, keepdims=True)
        return inputs * ops.rsqrt(ops.maximum(squares, epsilon))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "order": self.order,
            "axis": self.axis,
            "epsilon": self.epsilon,
        }


@_register
class Reduce(keras.layers.Layer):
    """``reduce_<op>`` over ``axis`` (``None``: every axis, the batch axis too, giving a
    scalar), keeping the reduced axes with ``keepdims``."""

    def __init__(
        self,
        op: str,
        axis: int | Sequence[int] | None = None,
        keepdims: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if op not in REDUCTIONS:
            raise ValueError(f"op must be one of {sorted(REDUCTIONS)}, got {op!r}")
        self.op = op
        self.axis = axis if axis is None or isinstance(axis, int) else tuple(axis)
        self.keepdims = bool(keepdims)

    def call(self, inputs: Any) -> Any:
        return REDUCTIONS[self.op](inputs, axis=self.axis, keepdims=self.keepdims)

    def compute_output_spec(self, inputs: Any) -> Any:
        dtype = self.compute_dtype
        if self.op in ("all", "any"):
            dtype = "bool"
        return keras.KerasTensor(_reduced_shape(inputs.shape, self.axis, self.keepdims), dtype)

    def get_config(self) -> dict[str, Any]:
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return {**super().get_config(), "op": self.op, "axis": axis, "keepdims": self.keepdims}


def _reduced_shape(
    shape: Sequence[int | None], axis: int | Sequence[int] | None, keepdims: bool
) -> tuple[int | None, ...]:
    """``shape`` reduced over ``axis`` (``None``: every axis): the reduced axes kept with
    size 1 (``None`` for the batch axis) or dropped."""
    rank = len(shape)
    if axis is None:
        axes = set(range(rank))
    else:
        listed = [axis] if isinstance(axis, int) else axis
        axes = {a % rank for a in listed}
    kept = tuple((1 if keepdims else None) if i in axes else dim for i, dim in enumerate(shape))
    return tuple(d for i, d in enumerate(kept) if keepdims or i not in axes)


@_register
class ReduceJoin(keras.layers.Layer):
    """PrettyTensor's ``reduce_join``: ``tf.strings.reduce_join`` of a string tensor over
    ``axis`` in the order given (``None``: every axis, the last first, the batch too), with
    ``separator`` between the parts. TensorFlow backend only (Keras has no string ops)."""

    def __init__(
        self,
        axis: int | Sequence[int] | None = None,
        keepdims: bool = False,
        separator: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.axis = axis if axis is None or isinstance(axis, int) else tuple(axis)
        self.keepdims = bool(keepdims)
        self.separator = str(separator)

    def call(self, inputs: Any) -> Any:
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return tf.strings.reduce_join(
            inputs, axis=axis, keepdims=self.keepdims, separator=self.separator
        )

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(_reduced_shape(inputs.shape, self.axis, self.keepdims), "string")

    def get_config(self) -> dict[str, Any]:
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return {
            **super().get_config(),
            "axis": axis,
            "keepdims": self.keepdims,
            "separator": self.separator,
        }


@_register
class DiagonalMatMul(keras.layers.Layer):
    """PrettyTensor's ``diagonal_matrix_mul``: ``x * w`` with a learned vector ``w`` of the
    size of the last axis (``x @ diag(w)``)."""

    def __init__(
        self,
        kernel_initializer: Any = "glorot_uniform",
        kernel_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1],),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )

    def call(self, inputs: Any) -> Any:
        return inputs * ops.cast(self.kernel, inputs.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }


@_register
class BilinearSampling(keras.layers.Layer):
    """PrettyTensor's ``bilinear_sampling`` of ``[image, x, y]``: each output pixel samples
    the image (``(batch, height, width, channels)``) at the coordinates ``x``, ``y``
    (``(batch, height, width, 1)``, in ``[-1, 1]``: ``-1`` the first pixel, ``1`` the last)
    with a bilinear kernel (the spatial transformer's sampler, arXiv:1506.02025)."""

    def call(self, inputs: Any) -> Any:
        image, x, y = inputs
        _, height, width, channels = image.shape
        dtype = image.dtype
        x = ops.reshape(ops.cast(x, dtype), (-1, height * width))
        y = ops.reshape(ops.cast(y, dtype), (-1, height * width))
        x = (x + 1.0) * (width - 1.0) / 2.0
        y = (y + 1.0) * (height - 1.0) / 2.0
        x0 = ops.cast(ops.floor(x), "int32")
        y0 = ops.cast(ops.floor(y), "int32")
        x1 = ops.clip(x0 + 1, 0, width - 1)
        y1 = ops.clip(y0 + 1, 0, height - 1)
        x0 = ops.clip(x0, 0, width - 1)
        y0 = ops.clip(y0, 0, height - 1)
        flat = ops.reshape(image, (-1, height * width, channels))

        def pixel(row: Any, column: Any) -> Any:
            index = ops.expand_dims(row * width + column, -1)
            return ops.take_along_axis(flat, index, axis=1)

        # PrettyTensor's weights, from the clipped x1 and y1
        dx = ops.cast(x1, dtype) - x
        dy = ops.cast(y1, dtype) - y
        wa = ops.expand_dims(dx * dy, -1)
        wb = ops.expand_dims(dx * (1.0 - dy), -1)
        wc = ops.expand_dims((1.0 - dx) * dy, -1)
        wd = ops.expand_dims((1.0 - dx) * (1.0 - dy), -1)
        out = wa * pixel(y0, x0) + wb * pixel(y1, x0) + wc * pixel(y0, x1) + wd * pixel(y1, x1)
        return ops.reshape(out, (-1, height, width, channels))

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs[0].shape, dtype=self.compute_dtype)


@_register
class TensorShape(keras.layers.Layer):
    """``tf.shape(x)``: the shape of the input, batch size included, as a tensor of
    ``out_type``."""

    def __init__(self, out_type: str = "int32", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.out_type = out_type

    def call(self, inputs: Any) -> Any:
        return tf.shape(inputs, out_type=self.out_type)

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor((len(inputs.shape),), dtype=self.out_type)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "out_type": self.out_type}
