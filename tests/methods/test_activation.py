"""Activation methods, each its own named layer."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import MethodCase, random_input

import chainnet as cn

L = keras.layers


@keras.saving.register_keras_serializable(package="chainnet_tests")
def cube(t: tf.Tensor) -> tf.Tensor:
    return t * t * t


NAMED = ["relu", "relu6", "sigmoid", "tanh", "softplus", "softsign", "selu", "gelu", "swish"]

CASES = [
    MethodCase(
        name,
        input_shape=(2, 3),
        reference=lambda n=name: [L.Activation(n)],
        expected_output_shape=(None, 2, 3),
        expected_num_weights=0,
    )
    for name in NAMED
] + [
    MethodCase(
        "elu",
        input_shape=(4,),
        reference=lambda: [L.ELU()],
        expected_output_shape=(None, 4),
        expected_num_weights=0,
    ),
    MethodCase(
        "elu",
        (),
        {"alpha": 0.5},
        id="elu-alpha",
        input_shape=(4,),
        reference=lambda: [L.ELU(alpha=0.5)],
        expected_output_shape=(None, 4),
        expected_num_weights=0,
    ),
    MethodCase(
        "leaky_relu",
        input_shape=(4,),
        reference=lambda: [L.LeakyReLU(negative_slope=0.2)],  # tf.nn.leaky_relu's default
        expected_output_shape=(None, 4),
        expected_num_weights=0,
    ),
    MethodCase(
        "leaky_relu",
        (),
        {"alpha": 0.05},
        id="leaky_relu-alpha",
        input_shape=(4,),
        reference=lambda: [L.LeakyReLU(negative_slope=0.05)],
        expected_output_shape=(None, 4),
        expected_num_weights=0,
    ),
    MethodCase(
        "softmax_activation",
        input_shape=(2, 5),
        # float32 under mixed precision, as Keras' guide makes a final softmax
        reference=lambda: [L.Softmax(dtype="float32")],
        expected_output_shape=(None, 2, 5),
        expected_num_weights=0,
    ),
    MethodCase(
        "softmax_activation",
        (),
        {"axis": 1},
        id="softmax_activation-axis1",
        input_shape=(3, 2),
        reference=lambda: [L.Softmax(axis=1, dtype="float32")],
        expected_output_shape=(None, 3, 2),
        expected_num_weights=0,
    ),
    MethodCase(
        "activation",
        ("tanh",),
        input_shape=(4,),
        reference=lambda: [L.Activation("tanh")],
        expected_output_shape=(None, 4),
        expected_num_weights=0,
    ),
    MethodCase(
        "activation",
        (keras.activations.hard_sigmoid,),
        id="activation-callable",
        input_shape=(4,),
        reference=lambda: [L.Activation("hard_sigmoid")],
        expected_output_shape=(None, 4),
        expected_num_weights=0,
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_activation_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


def test_activation_values_against_formulas() -> None:
    x = np.array([[-3.0, -0.5, 0.0, 0.5, 7.0]], "float32")
    c = cn.wrap(x)
    np.testing.assert_allclose(c.relu().numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(c.relu6().numpy(), np.clip(x, 0, 6))
    np.testing.assert_allclose(c.leaky_relu().numpy(), np.where(x > 0, x, 0.2 * x), rtol=1e-6)
    np.testing.assert_allclose(c.softsign().numpy(), x / (1 + np.abs(x)), rtol=1e-6)
    np.testing.assert_allclose(c.swish().numpy(), x / (1 + np.exp(-x)), rtol=1e-5)
    exact_gelu = np.array([[0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x[0]]])
    np.testing.assert_allclose(c.gelu().numpy(), exact_gelu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.softmax_activation().numpy().sum(), 1.0, rtol=1e-6)


def test_activation_layers_are_named_after_the_method() -> None:
    x = cn.input((4,))
    y = x.relu().relu().tanh(name="squash")
    assert [n.name for n in y.network.nodes] == ["input", "relu", "relu_1", "squash"]
    assert isinstance(y.network.layer("relu_1"), L.Activation)


def test_activation_rejects_none() -> None:
    with pytest.raises(cn.ChainError, match=r"activation\(\) at layer 'activation'.*None"):
        cn.input((4,)).activation(None)


def test_activation_with_a_registered_python_function_round_trips(tmp_path: Path) -> None:
    model = cn.input((3,)).activation(cube).model()
    model.save(tmp_path / "cube.keras")
    loaded = keras.models.load_model(tmp_path / "cube.keras", safe_mode=True)
    data = random_input((3,))
    np.testing.assert_allclose(loaded(data), data**3, rtol=1e-6)
