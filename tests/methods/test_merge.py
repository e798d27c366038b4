"""Steps that take other chains or give several: concat, join, stack, split, unstack, and the
arithmetic methods with a second chain, against Keras' merge layers and ``keras.ops``.

The other chains are further model inputs (``ExtraInput``), given to the method with
``Use(name)``; a step that gives several chains lists ``expected_output_shapes``.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from harness import ExtraInput, Fresh, MethodCase, Use
from keras import ops

L = keras.layers

Y3 = {"y": ExtraInput((3,))}
#: values kept away from zero, for the divisor of a division
AWAY_FROM_ZERO = np.array([[1.0, -4.0, 0.5], [2.0, 0.75, -0.5]], "float32")

CASES = [
    # ---------------------------------------------------------------- concat
    MethodCase(
        "concat",
        (-1, [Use("y")]),
        input_shape=(3,),
        extra_inputs={"y": ExtraInput((2,))},
        reference=lambda x, y: L.Concatenate()([x, y]),
        expected_output_shape=(None, 5),
        expected_num_weights=0,
        expected_layer_names=["concat"],
    ),
    MethodCase(
        "concat",
        (1, [Use("y"), Use("z")]),
        id="concat-axis1-three",
        input_shape=(2, 3),
        extra_inputs={"y": ExtraInput((1, 3)), "z": ExtraInput((3, 3))},
        reference=lambda x, y, z: L.Concatenate(axis=1)([x, y, z]),
        expected_output_shape=(None, 6, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda x, y: x.concat(-1, [y.fully_connected(2, name="branch")]),
        id="concat-with-a-dense-branch",
        input_shape=(3,),
        extra_inputs={"y": ExtraInput((4,))},
        reference=lambda x, y: L.Concatenate()([x, L.Dense(2)(y)]),
        expected_output_shape=(None, 5),
        expected_num_weights=2,
    ),
    MethodCase(
        "concat",
        (-1, Use("y")),
        id="concat-int",
        input_shape=(2,),
        input_dtype="int32",
        extra_inputs={"y": ExtraInput((3,), "int32")},
        reference=lambda x, y: L.Concatenate()([x, y]),
        expected_output_shape=(None, 5),
        expected_num_weights=0,
        expected_dtype="int32",
    ),
    # ---------------------------------------------------------------- join
    MethodCase(
        "join",
        ([Use("y"), Use("z")],),
        {"how": "add"},
        id="join-add",
        input_shape=(3,),
        extra_inputs={"y": ExtraInput((3,)), "z": ExtraInput((3,))},
        reference=lambda x, y, z: L.Add()([x, y, z]),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "join",
        ([Use("y")],),
        {"axis": 1},
        id="join-concat-axis1",
        input_shape=(2, 3),
        extra_inputs={"y": ExtraInput((4, 3))},
        reference=lambda x, y: L.Concatenate(axis=1)([x, y]),
        expected_output_shape=(None, 6, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "join",
        (Use("y"),),
        {"how": "subtract"},
        id="join-subtract",
        input_shape=(3,),
        extra_inputs=Y3,
        reference=lambda x, y: L.Subtract()([x, y]),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "join",
        ([Use("y")],),
        {"how": Fresh(lambda: L.Maximum(name="most"))},
        id="join-keras-layer",
        input_shape=(3,),
        extra_inputs=Y3,
        reference=lambda x, y: L.Maximum()([x, y]),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda x, y: x.join([x.fully_connected(3), y], how="average", include_self=False),
        id="join-average-without-self",
        input_shape=(2,),
        extra_inputs=Y3,
        reference=lambda x, y: L.Average()([L.Dense(3)(x), y]),
        expected_output_shape=(None, 3),
        expected_num_weights=2,
    ),
    # ---------------------------------------------------------------- stack
    MethodCase(
        "stack",
        ([Use("y")],),
        input_shape=(3,),
        extra_inputs=Y3,
        reference=lambda x, y: ops.stack([x, y], axis=1),
        expected_output_shape=(None, 2, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "stack",
        ([Use("y"), Use("z")],),
        {"axis": 2},
        id="stack-axis2-three",
        input_shape=(2, 3),
        extra_inputs={"y": ExtraInput((2, 3)), "z": ExtraInput((2, 3))},
        reference=lambda x, y, z: ops.stack([x, y, z], axis=2),
        expected_output_shape=(None, 2, 3, 3),
        expected_num_weights=0,
    ),
    # ---------------------------------------------------------------- split, unstack
    MethodCase(
        "split",
        (-1, 2),
        input_shape=(4,),
        reference=lambda x: [x[:, :2], x[:, 2:]],
        expected_output_shapes=[(None, 2), (None, 2)],
        expected_num_weights=0,
        expected_layer_names=["split.0", "split.1"],
    ),
    MethodCase(
        "split",
        (1, [1, 2]),
        {"name": "parts"},
        id="split-sizes-axis1",
        input_shape=(3, 2),
        reference=lambda x: [x[:, :1], x[:, 1:]],
        expected_output_shapes=[(None, 1, 2), (None, 2, 2)],
        expected_num_weights=0,
        expected_layer_names=["parts.0", "parts.1"],
    ),
    MethodCase(
        "unstack",
        input_shape=(3, 2),
        reference=lambda x: [x[:, i] for i in range(3)],
        expected_output_shapes=[(None, 2)] * 3,
        expected_num_weights=0,
        expected_layer_names=["unstack.0", "unstack.1", "unstack.2"],
    ),
    MethodCase(
        "unstack",
        (),
        {"axis": -1},
        id="unstack-last-axis",
        input_shape=(3, 2),
        reference=lambda x: [x[..., 0], x[..., 1]],
        expected_output_shapes=[(None, 3), (None, 3)],
        expected_num_weights=0,
    ),
    # ---------------------------------------------------- arithmetic with a second chain
    MethodCase(
        "add",
        (Use("y"),),
        id="add-chain",
        input_shape=(3,),
        extra_inputs=Y3,
        reference=lambda x, y: L.Add()([x, y]),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "subtract",
        (Use("y"),),
        id="subtract-chain",
        input_shape=(3,),
        extra_inputs=Y3,
        reference=lambda x, y: L.Subtract()([x, y]),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "multiply",
        (Use("w"),),
        id="multiply-chain-broadcast",
        input_shape=(2, 3),
        extra_inputs={"w": ExtraInput((1, 3))},
        reference=lambda x, w: ops.multiply(x, w),
        expected_output_shape=(None, 2, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "divide",
        (Use("y"),),
        id="divide-chain",
        input_shape=(3,),
        extra_inputs={"y": ExtraInput((3,), data=AWAY_FROM_ZERO)},
        reference=lambda x, y: ops.divide(x, y),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "rsubtract",
        (Use("y"),),
        id="rsubtract-chain",
        input_shape=(3,),
        extra_inputs=Y3,
        reference=lambda x, y: L.Subtract()([y, x]),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "rdivide",
        (Use("y"),),
        id="rdivide-chain",
        input_shape=(3,),
        input_data=AWAY_FROM_ZERO,
        extra_inputs=Y3,
        reference=lambda x, y: ops.divide(y, x),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_merge_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)
