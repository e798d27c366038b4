"""Shape methods: flatten, reshape (``_``, ``*``, -1, string specs), squeeze, expand_dims,
transpose, slicing, cast, to_dense_one_hot."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from harness import MethodCase, random_input
from keras import ops

import chainnet as cn

L = keras.layers

CASES = [
    MethodCase(
        "flatten",
        input_shape=(2, 3, 2),
        reference=lambda: [L.Flatten()],
        expected_output_shape=(None, 12),
        expected_num_weights=0,
    ),
    MethodCase(
        "reshape",
        ("_*",),
        id="reshape-string-same-rest",
        input_shape=(2, 3, 2),
        reference=lambda: [L.Reshape((12,))],
        expected_output_shape=(None, 12),
        expected_num_weights=0,
    ),
    MethodCase(
        "reshape",
        (["_", 3, "*"],),
        id="reshape-list-same-int-rest",
        input_shape=(6, 2),
        reference=lambda: [L.Reshape((3, 4))],
        expected_output_shape=(None, 3, 4),
        expected_num_weights=0,
    ),
    MethodCase(
        "reshape",
        ([-1, 2, 3],),
        id="reshape-minus-one-batch",
        input_shape=(6,),
        reference=lambda: [L.Reshape((2, 3))],
        expected_output_shape=(None, 2, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "reshape",
        (["_", -1, 2],),
        id="reshape-minus-one-middle",
        input_shape=(3, 4),
        reference=lambda: [L.Reshape((6, 2))],
        expected_output_shape=(None, 6, 2),
        expected_num_weights=0,
    ),
    MethodCase(
        "reshape",
        ("_2*",),
        id="reshape-string-digit",
        input_shape=(6,),
        reference=lambda: [L.Reshape((2, 3))],
        expected_output_shape=(None, 2, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "reshape",
        ("__*",),
        id="reshape-keeps-two-dims",
        input_shape=(3, 2, 2),
        reference=lambda: [L.Reshape((3, 4))],
        expected_output_shape=(None, 3, 4),
        expected_num_weights=0,
    ),
    MethodCase(
        "squeeze",
        input_shape=(1, 3, 1),
        id="squeeze-all",
        reference=lambda x: ops.squeeze(x, axis=(1, 3)),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "squeeze",
        (1,),
        id="squeeze-axis",
        input_shape=(1, 3, 1),
        reference=lambda x: ops.squeeze(x, axis=1),
        expected_output_shape=(None, 3, 1),
        expected_num_weights=0,
    ),
    MethodCase(
        "squeeze",
        ([-1, 1],),
        id="squeeze-axes-list",
        input_shape=(1, 3, 1),
        reference=lambda x: ops.squeeze(x, axis=(1, 3)),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "expand_dims",
        input_shape=(3, 2),
        reference=lambda x: ops.expand_dims(x, -1),
        expected_output_shape=(None, 3, 2, 1),
        expected_num_weights=0,
    ),
    MethodCase(
        "expand_dims",
        (1,),
        id="expand_dims-axis1",
        input_shape=(3,),
        reference=lambda: [L.Reshape((1, 3))],
        expected_output_shape=(None, 1, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "transpose",
        ([0, 2, 1],),
        input_shape=(3, 4),
        reference=lambda: [L.Permute((2, 1))],
        expected_output_shape=(None, 4, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "transpose",
        ([0, 3, 1, 2],),
        id="transpose-rank4",
        input_shape=(2, 3, 4),
        reference=lambda: [L.Permute((3, 1, 2))],
        expected_output_shape=(None, 4, 2, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c[:, 1:3],
        id="slice-range",
        input_shape=(5, 2),
        reference=lambda x: x[:, 1:3],
        expected_output_shape=(None, 2, 2),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c[..., 0],
        id="slice-ellipsis-int",
        input_shape=(3, 4),
        reference=lambda x: x[..., 0],
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c[:, ::-1, 1:],
        id="slice-reversed-step",
        input_shape=(4, 3),
        reference=lambda x: ops.flip(x, axis=1)[:, :, 1:],
        expected_output_shape=(None, 4, 2),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c: c[:, None, -1],
        id="slice-newaxis-negative",
        input_shape=(4, 3),
        reference=lambda x: ops.expand_dims(x[:, -1], 1),
        expected_output_shape=(None, 1, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "slice",
        ((slice(None), 2),),
        id="slice-method",
        input_shape=(4, 3),
        reference=lambda x: x[:, 2],
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "cast",
        ("int32",),
        input_shape=(3,),
        reference=lambda x: ops.cast(x, "int32"),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        expected_dtype="int32",
        input_data=np.array([[1.7, -2.2, 0.0], [3.0, 4.9, -0.5]], "float32"),
    ),
    MethodCase(
        "cast",
        ("float32",),
        id="cast-int-to-float",
        input_shape=(3,),
        input_dtype="int32",
        reference=lambda x: ops.cast(x, "float32"),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        expected_dtype="float32",
    ),
    MethodCase(
        "cast",
        ("float16",),
        id="cast-to-float16",
        input_shape=(2,),
        reference=lambda x: ops.cast(x, "float16"),
        expected_output_shape=(None, 2),
        expected_num_weights=0,
        expected_dtype="float16",
    ),
    MethodCase(
        "to_dense_one_hot",
        (4,),
        input_shape=(),
        input_dtype="int32",
        reference=lambda x: ops.one_hot(x, 4),
        expected_output_shape=(None, 4),
        expected_num_weights=0,
        expected_dtype="float32",
    ),
    MethodCase(
        "to_dense_one_hot",
        (5,),
        {"dtype": "int32"},
        id="to_dense_one_hot-int-rank2",
        input_shape=(3,),
        input_dtype="int32",
        reference=lambda x: ops.one_hot(x, 5, dtype="int32"),
        expected_output_shape=(None, 3, 5),
        expected_num_weights=0,
        expected_dtype="int32",
    ),
    MethodCase(
        "to_dense_one_hot",
        (3,),
        id="to_dense_one_hot-float-ids",
        input_shape=(),
        reference=lambda x: ops.one_hot(ops.cast(x, "int32"), 3),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        input_data=np.array([0.0, 2.0, 1.0], "float32"),
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_shape_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


def test_reshape_specs_give_static_shapes() -> None:
    x = cn.input((7, 7, 36))
    assert x.reshape(["_", 49, "*"]).shape == (None, 49, 36)
    assert x.reshape("_*").shape == (None, 7 * 7 * 36)
    assert x.reshape([-1, 7, 252]).shape == (None, 7, 252)
    assert x.reshape(["*", 36]).shape == (None, 36)  # the batch itself is the free dimension
    assert x.reshape("___*").shape == (None, 7, 7, 36)


def test_reshape_rest_into_the_batch_moves_data() -> None:
    y = cn.input((2, 3)).reshape(["*", 3])
    data = random_input((2, 3), batch=4)
    np.testing.assert_array_equal(y.model()(data), data.reshape(8, 3))


def test_squeeze_of_an_unknown_dimension() -> None:
    y = cn.input((None, 3)).squeeze(1)
    assert y.shape == (None, 3)
    np.testing.assert_array_equal(y.model()(np.ones((2, 1, 3), "float32")), np.ones((2, 3)))


def test_squeeze_with_nothing_to_squeeze_keeps_the_batch() -> None:
    eager = cn.wrap(np.ones((1, 3), "float32")).squeeze()
    assert eager.shape == (1, 3)
    assert cn.input((3,)).squeeze().shape == (None, 3)


def test_squeeze_never_removes_the_batch_dimension() -> None:
    y = cn.input((1, 3, 1)).squeeze()
    assert y.shape == (None, 3)
    assert np.asarray(y.model()(np.ones((1, 1, 3, 1), "float32"))).shape == (1, 3)
    assert cn.wrap(np.ones((1, 1, 3), "float32")).squeeze().shape == (1, 3)


def test_one_hot_of_every_class() -> None:
    y = cn.input((), dtype="int32").to_dense_one_hot(3).model()
    np.testing.assert_array_equal(y(np.array([0, 1, 2], "int32")), np.eye(3, dtype="float32"))


def test_cast_keeps_the_input_dtype_until_the_cast() -> None:
    # int64 -> float64 is exact for 2**53 + 2; an early float32 conversion would round it
    y = cn.input((1,), dtype="int64").cast("float64")
    assert y.dtype == "float64"
    value = np.array([[2**53 + 2]], "int64")
    assert int(np.asarray(y.model()(value))[0, 0]) == 2**53 + 2
    assert int(cn.wrap(value).cast("float64").numpy()[0, 0]) == 2**53 + 2
