"""Arithmetic between chains, and with scalars and arrays (``+ - * /``, reversed, negation)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import MethodCase, random_input
from keras import ops

import chainnet as cn

L = keras.layers

ROW = np.array([1.0, -2.0, 0.5], "float32")
COLUMN = tf.constant([[1.0], [2.0]])  # an eager tensor, also when captured by a tf.function

CASES = [
    MethodCase(
        lambda c: c + c.relu(),
        id="chain-plus-chain",
        input_shape=(3,),
        reference=lambda x: L.Add()([x, L.ReLU()(x)]),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c - c.fully_connected(3),
        id="chain-minus-dense",
        input_shape=(3,),
        reference=lambda x: L.Subtract()([x, L.Dense(3)(x)]),
        expected_output_shape=(None, 3),
        expected_num_weights=2,
    ),
    MethodCase(
        lambda c: c * c,
        id="chain-times-itself",
        input_shape=(2, 2),
        reference=lambda x: L.Multiply()([x, x]),
        expected_output_shape=(None, 2, 2),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c / (c.sigmoid() + 1.0),
        id="chain-divided-by-chain",
        input_shape=(3,),
        reference=lambda x: ops.divide(x, ops.add(ops.sigmoid(x), 1.0)),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c[:, :1] * c,
        id="chain-broadcast-chain",
        input_shape=(3,),
        reference=lambda x: ops.multiply(x[:, :1], x),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "add",
        (2.0,),
        input_shape=(3,),
        reference=lambda x: ops.add(x, 2.0),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c - 0.5,
        id="minus-scalar",
        input_shape=(3,),
        reference=lambda x: ops.subtract(x, 0.5),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c * ROW,
        id="times-array-broadcast",
        input_shape=(2, 3),
        reference=lambda x: ops.multiply(x, ROW),
        expected_output_shape=(None, 2, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c / 255.0,
        id="divide-scalar",
        input_shape=(3,),
        reference=lambda x: ops.divide(x, 255.0),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: 1.0 - c,
        id="reversed-subtract",
        input_shape=(3,),
        reference=lambda x: ops.subtract(1.0, x),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: 2 / c,
        id="reversed-divide",
        input_shape=(3,),
        reference=lambda x: ops.divide(2.0, x),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        input_data=np.array([[1.0, -4.0, 0.25], [2.0, 8.0, -0.5]], "float32"),
    ),
    MethodCase(
        lambda c: 3.0 + c,
        id="reversed-add",
        input_shape=(3,),
        reference=lambda x: ops.add(x, 3.0),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: [2.0, 3.0, 4.0] * c,
        id="reversed-multiply-list",
        input_shape=(3,),
        reference=lambda x: ops.multiply(x, np.array([2.0, 3.0, 4.0], "float32")),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: -c,
        id="negate",
        input_shape=(3,),
        reference=lambda x: ops.negative(x),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c + COLUMN,
        id="plus-eager-tensor",
        input_shape=(2, 3),
        reference=lambda x: ops.add(x, np.array([[1.0], [2.0]], "float32")),
        expected_output_shape=(None, 2, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c * 3,
        id="int-chain-times-int",
        input_shape=(3,),
        input_dtype="int32",
        reference=lambda x: ops.multiply(x, 3),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        expected_dtype="int32",
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_arithmetic_matches_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


def test_operators_name_their_steps_by_method() -> None:
    x = cn.input((3,))
    y = (1.0 - x) / 2 + x * x - x
    names = [n.name for n in y.network.nodes]
    assert names == ["input", "rsubtract", "divide", "multiply", "add", "subtract"]
    assert (x + 1.0).method == "add" and (2 / x).method == "rdivide"
    assert x.add(1.0, name="shift").name == "shift"


def test_reversed_operators_put_the_constant_on_the_left() -> None:
    x = cn.wrap(np.array([[1.0, 2.0, 4.0]], "float32"))
    np.testing.assert_allclose((1.0 - x).numpy(), [[0.0, -1.0, -3.0]])
    np.testing.assert_allclose((2 / x).numpy(), [[2.0, 1.0, 0.5]])
    np.testing.assert_allclose((x - 1.0).numpy(), [[0.0, 1.0, 3.0]])


def test_chains_of_two_inputs_merge_into_one_model() -> None:
    a = cn.input((3,), name="a")
    b = cn.input((1,), name="b")
    model = (a * b + a).model()
    assert [t.name for t in model.inputs] == ["a", "b"]
    xa, xb = random_input((3,)), random_input((1,), seed=1)
    np.testing.assert_allclose(model([xa, xb]), xa * xb + xa, rtol=1e-6)


def test_eager_arithmetic_between_wrapped_chains() -> None:
    data = random_input((3,))
    x = cn.wrap(data)
    np.testing.assert_allclose((x * x - x).numpy(), data * data - data, rtol=1e-6)


def test_arithmetic_constant_is_saved_in_the_config(tmp_path: Path) -> None:
    model = (cn.input((2,)) * np.array([3.0, -1.0])).model()
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.layers[-1].constant == [3.0, -1.0]
    np.testing.assert_array_equal(loaded(np.ones((1, 2))), [[3.0, -1.0]])


def test_int_chain_plus_fraction_does_not_truncate_the_constant() -> None:
    y = cn.input((2,), dtype="int32") + 0.5
    out = np.asarray(y.model()(np.array([[1, 2]], "int32")))
    np.testing.assert_allclose(out, [[1.5, 2.5]])


def test_numpy_array_on_the_left_of_a_symbolic_chain() -> None:
    y = np.ones(3, "float32") + cn.input((3,))
    assert isinstance(y, cn.Chain) and y.method == "add"


def test_string_constant_is_refused_when_building() -> None:
    try:
        cn.input((3,)) + "a"
    except (cn.ChainError, TypeError):
        return
    raise AssertionError("chain + 'a' was accepted")


def test_graph_chains_combine_inside_tf_function() -> None:
    @tf.function(autograph=False)
    def run(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        return (cn.wrap(a) * cn.wrap(b, name="b") - 1.0).tensor

    np.testing.assert_allclose(
        run(tf.fill((2, 3), 2.0), tf.fill((2, 3), 3.0)), np.full((2, 3), 5.0)
    )


def test_graph_chain_plus_graph_tensor() -> None:
    @tf.function(autograph=False)
    def run(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        return (cn.wrap(a) + b).tensor

    np.testing.assert_allclose(run(tf.ones((2, 3)), tf.ones((2, 3))), np.full((2, 3), 2.0))


_SPEC_DTYPES = ("bool", "int8", "uint8", "int32", "int64", "float16", "bfloat16", "float32")
_SPEC_SHAPES = (
    ((None, 3), (None, 3)),
    ((None, 1, 4), (5, 1)),
    ((None, 4), (4,)),
    ((2, None), (None, 1)),
    ((None,), (1,)),
)


@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "divide"])
def test_output_spec_is_what_keras_ops_infer(op: str) -> None:
    """The layer's output shape and dtype, worked out without a ``keras.ops`` call, are those
    ``keras.ops`` give on the same symbolic inputs: every dtype pair, broadcasting shapes,
    both sides, and constants of every dtype."""
    reference = getattr(ops, op)
    for left_dtype in _SPEC_DTYPES:
        for right_dtype in _SPEC_DTYPES:
            for left_shape, right_shape in _SPEC_SHAPES:
                for reverse in (False, True):
                    left = keras.KerasTensor(left_shape, dtype=left_dtype)
                    right = keras.KerasTensor(right_shape, dtype=right_dtype)
                    layer = cn.layers.Arithmetic(op, reverse=reverse)
                    got = layer.compute_output_spec([left, right])
                    want = reference(right, left) if reverse else reference(left, right)
                    case = (op, left_dtype, right_dtype, left_shape, right_shape, reverse)
                    assert (got.shape, got.dtype) == (want.shape, want.dtype), case
        constant = np.ones((1, 3), dtype=left_dtype)
        x = keras.KerasTensor((None, 3), dtype="int32")
        for result_dtype in (None, left_dtype):
            layer = cn.layers.Arithmetic(op, constant=constant, result_dtype=result_dtype)
            got = layer.compute_output_spec(x)
            want = layer.call(x)  # keras.ops on the inputs as call casts them
            assert (got.shape, got.dtype) == (want.shape, want.dtype), (op, result_dtype)


def test_shapes_that_do_not_broadcast_get_keras_ops_error() -> None:
    layer = cn.layers.Arithmetic("add")
    with pytest.raises(ValueError, match="Cannot broadcast shape"):
        layer.compute_output_spec([keras.KerasTensor((None, 3)), keras.KerasTensor((None, 4))])
