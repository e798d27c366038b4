"""PrettyTensor's tensor methods as harness rows: abs, log, sqrt, square, stop_gradient,
l1/l2_normalize, the reductions, the casts, tensor_shape, diagonal_matrix_mul and
bilinear_sampling, each against Keras ops (or, for bilinear sampling, PrettyTensor's own
``_interpolate`` ported line by line with TensorFlow ops)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import ExtraInput, MethodCase, Use
from keras import ops

import chainnet as cn

POSITIVE = np.array([[0.5, 1.5, 2.0], [3.0, 0.25, 1.0]], "float32")
BOOLS = np.array([[True, False, True], [True, True, True]])


class DiagonalReference(keras.layers.Layer):
    """``x * w``, a learned vector: PrettyTensor's ``input_layer * param``."""

    def build(self, input_shape: Any) -> None:
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="glorot_uniform")

    def call(self, x: Any) -> Any:
        return x * ops.cast(self.w, x.dtype)


class ShapeReference(keras.layers.Layer):
    def call(self, x: Any) -> Any:
        return tf.shape(x)

    def compute_output_spec(self, x: Any) -> Any:
        return keras.KerasTensor((len(x.shape),), dtype="int32")


class InterpolateReference(keras.layers.Layer):
    """PrettyTensor's ``pretty_tensor_image_methods._interpolate``, line by line."""

    def call(self, im: Any, x: Any, y: Any) -> Any:
        x = tf.reshape(x, [-1])
        y = tf.reshape(y, [-1])
        num_batch = tf.shape(im)[0]
        _, height, width, channels = im.shape
        x = tf.cast(x, im.dtype)
        y = tf.cast(y, im.dtype)
        height_f = tf.cast(height, im.dtype)
        width_f = tf.cast(width, im.dtype)
        zero = tf.constant(0, dtype=tf.int32)
        max_y = tf.cast(tf.shape(im)[1] - 1, "int32")
        max_x = tf.cast(tf.shape(im)[2] - 1, "int32")
        x = (x + 1.0) * (width_f - 1.0) / 2.0
        y = (y + 1.0) * (height_f - 1.0) / 2.0
        x0 = tf.cast(tf.floor(x), "int32")
        x1 = x0 + 1
        y0 = tf.cast(tf.floor(y), "int32")
        y1 = y0 + 1
        x0 = tf.clip_by_value(x0, zero, max_x)
        x1 = tf.clip_by_value(x1, zero, max_x)
        y0 = tf.clip_by_value(y0, zero, max_y)
        y1 = tf.clip_by_value(y1, zero, max_y)
        dim2 = width
        dim1 = width * height
        base = tf.reshape(tf.range(num_batch) * dim1, [-1, 1])
        base = tf.reshape(tf.tile(base, [1, height * width]), [-1])
        base_y0 = base + y0 * dim2
        base_y1 = base + y1 * dim2
        im_flat = tf.reshape(im, tf.stack([-1, channels]))
        pixel_a = tf.gather(im_flat, base_y0 + x0)
        pixel_b = tf.gather(im_flat, base_y1 + x0)
        pixel_c = tf.gather(im_flat, base_y0 + x1)
        pixel_d = tf.gather(im_flat, base_y1 + x1)
        x1_f = tf.cast(x1, im.dtype)
        y1_f = tf.cast(y1, im.dtype)
        wa = tf.expand_dims(((x1_f - x) * (y1_f - y)), 1)
        wb = tf.expand_dims((x1_f - x) * (1.0 - (y1_f - y)), 1)
        wc = tf.expand_dims(((1.0 - (x1_f - x)) * (y1_f - y)), 1)
        wd = tf.expand_dims(((1.0 - (x1_f - x)) * (1.0 - (y1_f - y))), 1)
        output = tf.add_n([wa * pixel_a, wb * pixel_b, wc * pixel_c, wd * pixel_d])
        return tf.reshape(output, tf.stack([num_batch, height, width, channels]))

    def compute_output_spec(self, im: Any, x: Any, y: Any) -> Any:
        return keras.KerasTensor(im.shape, dtype=self.compute_dtype)


def _unary(method: str, op: Any, **options: Any) -> MethodCase:
    return MethodCase(
        method,
        input_shape=(3,),
        reference=lambda x: op(x),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        **options,
    )


def _reduction(
    op: str, axis: Any, keep: bool, shape: tuple[Any, ...], **options: Any
) -> MethodCase:
    keras_op = getattr(ops, op)
    return MethodCase(
        f"reduce_{op}",
        (axis, keep),
        id=f"reduce_{op}",
        input_shape=(3, 4),
        reference=lambda x: keras_op(x, axis=axis, keepdims=keep),
        expected_output_shape=shape,
        expected_num_weights=0,
        **options,
    )


COORDINATES = {
    "cx": ExtraInput((4, 5, 1), low=-1.2, high=1.2),
    "cy": ExtraInput((4, 5, 1), low=-1.2, high=1.2),
}


class JoinReference(keras.layers.Layer):
    """Joins axis 1 of a string tensor part by part: ``tf.strings.join`` of its slices."""

    def __init__(self, separator: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.separator = separator

    def call(self, x: Any) -> Any:
        return tf.strings.join(tf.unstack(x, axis=1), separator=self.separator)

    def compute_output_spec(self, x: Any) -> Any:
        return keras.KerasTensor((x.shape[0], *x.shape[2:]), dtype="string")


WORDS = np.array([[["a", "b"], ["c", "d"], ["e", "f"]], [["g", "h"], ["i", "j"], ["k", "l"]]])

CASES = [
    _unary("abs", ops.abs),
    _unary("log", ops.log, input_data=POSITIVE),
    _unary("sqrt", ops.sqrt, input_data=POSITIVE),
    _unary("square", ops.square),
    _unary("stop_gradient", ops.stop_gradient),
    MethodCase(
        "l1_normalize",
        (1,),
        input_shape=(3,),
        reference=lambda x: ops.normalize(x, axis=1, order=1),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "l2_normalize",
        (-1,),
        input_shape=(2, 3),
        reference=lambda: keras.layers.UnitNormalization(axis=-1),
        expected_output_shape=(None, 2, 3),
        expected_num_weights=0,
    ),
    _reduction("sum", 1, False, (None, 4)),
    _reduction("mean", [1, 2], True, (None, 1, 1)),
    _reduction("max", -1, False, (None, 3)),
    _reduction("min", 2, True, (None, 3, 1)),
    _reduction(
        "prod",
        1,
        False,
        (None, 4),
        input_data=np.linspace(0.5, 1.5, 24, dtype="float32").reshape(2, 3, 4),
    ),
    MethodCase(
        "reduce_sum",
        id="reduce_sum-everything",
        input_shape=(3,),
        reference=lambda x: ops.sum(x),
        expected_output_shape=(),
        expected_num_weights=0,
    ),
    MethodCase(
        "reduce_all",
        (1,),
        input_shape=(3,),
        input_dtype="bool",
        input_data=BOOLS,
        reference=lambda x: ops.all(x, axis=1),
        expected_output_shape=(None,),
        expected_num_weights=0,
        expected_dtype="bool",
    ),
    MethodCase(
        "reduce_any",
        (1,),
        {"keepdims": True},
        input_shape=(3,),
        input_dtype="bool",
        input_data=~BOOLS,
        reference=lambda x: ops.any(x, axis=1, keepdims=True),
        expected_output_shape=(None, 1),
        expected_num_weights=0,
        expected_dtype="bool",
    ),
    MethodCase(
        "reduce_join",
        (1,),
        {"separator": "-"},
        input_shape=(3, 2),
        input_dtype="string",
        input_data=WORDS,
        reference=lambda: JoinReference("-"),
        expected_output_shape=(None, 2),
        expected_num_weights=0,
        expected_dtype="string",
    ),
    MethodCase(
        "to_double",
        input_shape=(3,),
        reference=lambda x: ops.cast(x, "float64"),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        expected_dtype="float64",
    ),
    MethodCase(
        "to_float",
        input_shape=(3,),
        input_dtype="int32",
        reference=lambda x: ops.cast(x, "float32"),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        expected_dtype="float32",
    ),
    MethodCase(
        "to_int32",
        input_shape=(3,),
        reference=lambda x: ops.cast(x, "int32"),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        expected_dtype="int32",
    ),
    MethodCase(
        "to_int64",
        input_shape=(3,),
        input_dtype="int32",
        reference=lambda x: ops.cast(x, "int64"),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        expected_dtype="int64",
    ),
    MethodCase(
        "tensor_shape",
        input_shape=(5, 3),
        reference=lambda: ShapeReference(),
        expected_output_shape=(3,),
        expected_num_weights=0,
        expected_dtype="int32",
    ),
    MethodCase(
        "diagonal_matrix_mul",
        input_shape=(4,),
        reference=lambda: DiagonalReference(),
        expected_output_shape=(None, 4),
        expected_num_weights=1,
        expected_num_params=4,
    ),
    MethodCase(
        "bilinear_sampling",
        (Use("cx"), Use("cy")),
        input_shape=(4, 5, 2),
        extra_inputs=COORDINATES,
        reference=lambda im, cx, cy: InterpolateReference()(im, cx, cy),
        expected_output_shape=(None, 4, 5, 2),
        expected_num_weights=0,
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_tensor_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


def test_reductions_take_prettytensor_spellings_and_refuse_bad_input() -> None:
    x = cn.input((3, 4))
    assert x.reduce_sum(reduction_indices=[1]).shape == (None, 4)
    with pytest.raises(cn.ChainTypeError, match="not both"):
        x.reduce_sum(1, reduction_indices=1)
    with pytest.raises(ValueError, match="out of range"):
        x.reduce_max(3)
    with pytest.raises(cn.ChainError, match="needs a bool input"):
        x.reduce_all(1)
    assert "reduce_all" not in x.network


def test_reduce_join_is_prettytensors_join_in_the_order_of_its_axes() -> None:
    a = cn.wrap(np.array([["a", "b"], ["c", "d"]]))  # PrettyTensor's own examples
    assert a.reduce_join(0).numpy().tolist() == [b"ac", b"bd"]
    assert a.reduce_join(-1, keep_dims=True).numpy().tolist() == [[b"ab"], [b"cd"]]
    assert a.reduce_join([0, 1]).numpy() == b"acbd"
    assert a.reduce_join([1, 0]).numpy() == b"abcd"
    assert a.reduce_join().numpy() == b"abcd"  # every axis, the last first
    flat = WORDS.reshape(2, -1)
    x = cn.input((3, 2), dtype="string", name="words")
    model = x.reduce_join([2, 1], separator=" ").model()
    assert model.predict(tf.constant(WORDS), verbose=0).tolist() == [
        " ".join(row).encode() for row in flat
    ]
    with pytest.raises(cn.ChainError, match="needs a string input"):
        cn.input((3,)).reduce_join()
    y = cn.input((3,), dtype="string")
    with pytest.raises(cn.ChainTypeError, match="separator must be a string"):
        y.reduce_join(separator=1)
    assert "reduce_join" not in y.network


def test_diagonal_matrix_mul_l2loss_is_prettytensors_weight_decay() -> None:
    y = cn.wrap(np.ones((2, 3), "float32")).diagonal_matrix_mul(
        keras.initializers.Constant(2.0), l2loss=0.1
    )
    np.testing.assert_allclose(y.numpy(), np.full((2, 3), 2.0))
    np.testing.assert_allclose(float(cn.regularization_loss(y)), 0.1 * 12 / 2, rtol=1e-6)
    with pytest.raises(cn.ChainTypeError, match="give one"):
        cn.input((3,)).diagonal_matrix_mul("ones", kernel_initializer="zeros")


def test_stop_gradient_stops_the_gradient() -> None:
    x = tf.constant(np.ones((2, 3), "float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = cn.wrap(x).stop_gradient() * 2.0
        total = tf.reduce_sum(y.tensor)
    assert tape.gradient(total, x) is None
