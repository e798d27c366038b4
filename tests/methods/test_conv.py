"""Convolutions against the Keras Conv layers: PrettyTensor's (kernel, depth) order, "same"
padding by default, Keras keywords."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from harness import MethodCase

import chainnet as cn

L = keras.layers

CASES = [
    MethodCase(
        "conv1d",
        (3, 4),
        input_shape=(6, 2),
        reference=lambda: [L.Conv1D(4, 3, padding="same")],
        expected_output_shape=(None, 6, 4),
        expected_num_weights=2,
        expected_num_params=3 * 2 * 4 + 4,
    ),
    MethodCase(
        "conv1d",
        (3, 4),
        {"strides": 2, "padding": "valid", "activation": "relu"},
        id="conv1d-strided-valid",
        input_shape=(7, 2),
        reference=lambda: [L.Conv1D(4, 3, strides=2, padding="valid", activation="relu")],
        expected_output_shape=(None, 3, 4),
        expected_num_weights=2,
    ),
    MethodCase(
        "conv1d",
        (3, 2),
        {"dilation_rate": 2},
        id="conv1d-dilated",
        input_shape=(8, 1),
        reference=lambda: [L.Conv1D(2, 3, dilation_rate=2, padding="same")],
        expected_output_shape=(None, 8, 2),
        expected_num_weights=2,
    ),
    MethodCase(
        "conv2d",
        (3, 4),
        input_shape=(5, 5, 2),
        reference=lambda: [L.Conv2D(4, 3, padding="same")],
        expected_output_shape=(None, 5, 5, 4),
        expected_num_weights=2,
        expected_num_params=3 * 3 * 2 * 4 + 4,
        expected_layer_names=["conv2d"],
    ),
    MethodCase(
        "conv2d",
        ((3, 1), 2),
        {"strides": (2, 1), "padding": "valid"},
        id="conv2d-rect-kernel-strides",
        input_shape=(7, 5, 1),
        reference=lambda: [L.Conv2D(2, (3, 1), strides=(2, 1), padding="valid")],
        expected_output_shape=(None, 3, 5, 2),
        expected_num_weights=2,
    ),
    MethodCase(
        "conv2d",
        (3, 2),
        {"dilation_rate": 2, "activation": "tanh", "use_bias": False},
        id="conv2d-dilated-tanh-nobias",
        input_shape=(6, 6, 1),
        reference=lambda: [
            L.Conv2D(2, 3, dilation_rate=2, padding="same", activation="tanh", use_bias=False)
        ],
        expected_output_shape=(None, 6, 6, 2),
        expected_num_weights=1,
    ),
    MethodCase(
        "conv2d",
        (3, 4),
        {"activation": "relu", "batch_normalize": True, "name": "conv1"},
        id="conv2d-batch_normalize",
        input_shape=(4, 4, 2),
        reference=lambda: [
            L.Conv2D(4, 3, padding="same", use_bias=False),
            L.BatchNormalization(),
            L.Activation("relu"),
        ],
        expected_output_shape=(None, 4, 4, 4),
        expected_num_weights=5,
        expected_num_params=3 * 3 * 2 * 4 + 4 * 4,
        expected_layer_names=["conv1", "conv1_bn", "conv1_activation"],
    ),
    MethodCase(
        "conv2d",
        (3, 2),
        {"l2loss": 0.01},
        id="conv2d-l2loss",
        input_shape=(4, 4, 1),
        reference=lambda: [L.Conv2D(2, 3, padding="same")],
        expected_output_shape=(None, 4, 4, 2),
        expected_num_weights=2,
    ),
    MethodCase(
        "conv3d",
        (2, 3),
        input_shape=(3, 4, 4, 1),
        reference=lambda: [L.Conv3D(3, 2, padding="same")],
        expected_output_shape=(None, 3, 4, 4, 3),
        expected_num_weights=2,
        expected_num_params=2 * 2 * 2 * 1 * 3 + 3,
    ),
    MethodCase(
        "conv3d",
        (2, 2),
        {"strides": 2, "padding": "valid", "batch_normalize": True},
        id="conv3d-valid-batch_normalize-no-activation",
        input_shape=(4, 4, 4, 1),
        reference=lambda: [
            L.Conv3D(2, 2, strides=2, padding="valid", use_bias=False),
            L.BatchNormalization(),
        ],
        expected_output_shape=(None, 2, 2, 2, 2),
        expected_num_weights=5,
        expected_layer_names=["conv3d", "conv3d_bn"],
    ),
    MethodCase(
        "deconv2d",
        (3, 2),
        {"strides": 2},
        input_shape=(3, 3, 4),
        reference=lambda: [L.Conv2DTranspose(2, 3, strides=2, padding="same")],
        expected_output_shape=(None, 6, 6, 2),
        expected_num_weights=2,
        expected_num_params=3 * 3 * 2 * 4 + 2,
    ),
    MethodCase(
        "deconv2d",
        (2, 3),
        {"padding": "valid", "activation": "sigmoid"},
        id="deconv2d-valid-sigmoid",
        input_shape=(3, 3, 1),
        reference=lambda: [L.Conv2DTranspose(3, 2, padding="valid", activation="sigmoid")],
        expected_output_shape=(None, 4, 4, 3),
        expected_num_weights=2,
    ),
    MethodCase(
        "deconv2d",
        (3, 2),
        {"batch_normalize": True, "activation": "relu"},
        id="deconv2d-batch_normalize",
        input_shape=(3, 3, 2),
        reference=lambda: [
            L.Conv2DTranspose(2, 3, padding="same", use_bias=False),
            L.BatchNormalization(),
            L.Activation("relu"),
        ],
        expected_output_shape=(None, 3, 3, 2),
        expected_num_weights=5,
        expected_layer_names=["deconv2d", "deconv2d_bn", "deconv2d_activation"],
    ),
    MethodCase(
        "separable_conv2d",
        (3, 4),
        input_shape=(5, 5, 2),
        reference=lambda: [L.SeparableConv2D(4, 3, padding="same")],
        expected_output_shape=(None, 5, 5, 4),
        expected_num_weights=3,
        expected_num_params=3 * 3 * 2 + 2 * 4 + 4,
    ),
    MethodCase(
        "separable_conv2d",
        (3, 4),
        {"depth_multiplier": 2, "strides": 2, "padding": "valid", "activation": "relu"},
        id="separable_conv2d-options",
        input_shape=(7, 7, 2),
        reference=lambda: [
            L.SeparableConv2D(
                4, 3, depth_multiplier=2, strides=2, padding="valid", activation="relu"
            )
        ],
        expected_output_shape=(None, 3, 3, 4),
        expected_num_weights=3,
    ),
    MethodCase(
        "depthwise_conv2d",
        (3,),
        input_shape=(5, 5, 3),
        reference=lambda: [L.DepthwiseConv2D(3, padding="same")],
        expected_output_shape=(None, 5, 5, 3),
        expected_num_weights=2,
        expected_num_params=3 * 3 * 3 + 3,
    ),
    MethodCase(
        "depthwise_conv2d",
        (3, 2),
        {"strides": 2, "use_bias": False},
        id="depthwise_conv2d-multiplier",
        input_shape=(6, 6, 3),
        reference=lambda: [
            L.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same", use_bias=False)
        ],
        expected_output_shape=(None, 3, 3, 6),
        expected_num_weights=1,
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_conv_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


def test_conv2d_default_padding_is_same_and_strides_shrink() -> None:
    x = cn.input((28, 28, 1))
    assert x.conv2d(5, 16).shape == (None, 28, 28, 16)
    assert x.conv2d(5, 16, padding="valid").shape == (None, 24, 24, 16)
    assert x.conv2d(5, 16, strides=2).shape == (None, 14, 14, 16)


def test_conv2d_kernel_initializer_is_passed_on() -> None:
    y = cn.input((3, 3, 1)).conv2d(
        2, 2, kernel_initializer="ones", bias_initializer="ones", name="c"
    )
    weights = y.network.get_weights("c")
    np.testing.assert_array_equal(weights["kernel"], np.ones((2, 2, 1, 2)))
    np.testing.assert_array_equal(weights["bias"], np.ones(2))
