"""apply_template as harness rows: a template applied as one step (one input, or several),
against the same layers written with Keras.

Each run of a row makes its template once (``Fresh``): the symbolic, eager and graph chains of
the run share its weights, as applications of one template do, so the graph chain builds
inside ``tf.function`` (``builds_in_tf_function=True``).
"""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
from harness import ExtraInput, Fresh, MethodCase, Use

import chainnet as cn

L = keras.layers


def _pair(a: cn.Chain, b: cn.Chain) -> cn.Chain:
    """A template function of two inputs."""
    return a.concat(-1, b).fully_connected(2, name="fc")


CASES = [
    MethodCase(
        "apply_template",
        (Fresh(lambda: cn.template(name="tower").fully_connected(3, activation="relu")),),
        input_shape=(4,),
        reference=lambda: [L.Dense(3, activation="relu")],
        expected_output_shape=(None, 3),
        expected_num_weights=2,
        expected_num_params=4 * 3 + 3,
        expected_layer_names=["tower"],
        builds_in_tf_function=True,
    ),
    MethodCase(
        "apply_template",
        (Fresh(lambda: cn.template(_pair, name="pair")), Use("y")),
        id="apply_template-two-inputs",
        input_shape=(3,),
        extra_inputs={"y": ExtraInput((2,))},
        reference=lambda x, y: L.Dense(2)(L.Concatenate()([x, y])),
        expected_output_shape=(None, 2),
        expected_num_weights=2,
        expected_layer_names=["pair"],
        builds_in_tf_function=True,
    ),
    MethodCase(
        "apply_template",
        (Fresh(lambda: cn.template(name="block").fully_connected(3).batch_normalize()),),
        {"name": "first_block"},
        id="apply_template-batch_normalize-named",
        input_shape=(4,),
        reference=lambda: [L.Dense(3), L.BatchNormalization()],
        expected_output_shape=(None, 3),
        expected_num_weights=6,
        expected_layer_names=["first_block"],
        builds_in_tf_function=True,
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_template_method_matches_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)
