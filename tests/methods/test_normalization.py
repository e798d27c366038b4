"""batch_normalize, layer_normalize and dropout."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import MethodCase, random_input

import chainnet as cn

L = keras.layers

CASES = [
    MethodCase(
        "batch_normalize",
        input_shape=(4,),
        reference=lambda: [L.BatchNormalization()],
        expected_output_shape=(None, 4),
        expected_num_weights=4,
        expected_num_params=16,
    ),
    MethodCase(
        "batch_normalize",
        (),
        {"axis": 1, "momentum": 0.5, "epsilon": 0.1, "center": False},
        id="batch_normalize-options",
        input_shape=(3, 2),
        reference=lambda: [L.BatchNormalization(axis=1, momentum=0.5, epsilon=0.1, center=False)],
        expected_output_shape=(None, 3, 2),
        expected_num_weights=3,
    ),
    MethodCase(
        "layer_normalize",
        input_shape=(2, 4),
        reference=lambda: [L.LayerNormalization(epsilon=0.001)],
        expected_output_shape=(None, 2, 4),
        expected_num_weights=2,
        expected_num_params=8,
    ),
    MethodCase(
        "layer_normalize",
        (),
        {"scale": False, "epsilon": 1e-5},
        id="layer_normalize-no-scale",
        input_shape=(5,),
        reference=lambda: [L.LayerNormalization(scale=False, epsilon=1e-5)],
        expected_output_shape=(None, 5),
        expected_num_weights=1,
    ),
    # Dropout holds a seed variable and cannot be built inside tf.function: exempt from that
    # check in harness.EXEMPTIONS; see test_dropout_in_a_graph_chain_says_why_it_cannot_build.
    MethodCase(
        "dropout",
        (),
        {"rate": 0.5},
        input_shape=(6,),
        reference=lambda: [L.Dropout(0.5)],
        expected_output_shape=(None, 6),
        expected_num_weights=0,
    ),
    MethodCase(
        "dropout",
        (),
        {"keep_prob": 0.75},
        id="dropout-keep_prob",
        input_shape=(2, 3),
        reference=lambda: [L.Dropout(0.25)],
        expected_output_shape=(None, 2, 3),
        expected_num_weights=0,
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_normalization_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


def test_dropout_is_identity_at_inference_and_active_in_training() -> None:
    y = cn.input((200,)).dropout(rate=0.5)
    model = y.model()
    data = np.ones((2, 200), "float32")
    np.testing.assert_array_equal(model(data, training=False), data)
    np.testing.assert_array_equal(model(data), data)  # inference by default
    trained = np.asarray(model(data, training=True))
    assert not np.array_equal(trained, data)
    assert set(np.unique(trained)) <= {0.0, 2.0}  # kept units are scaled by 1 / (1 - rate)
    assert 0.3 < (trained == 0).mean() < 0.7


def test_dropout_keep_prob_is_one_minus_rate() -> None:
    assert cn.input((4,)).dropout(keep_prob=0.9).layer.rate == pytest.approx(0.1)
    assert cn.input((4,)).dropout(rate=0.0).layer.rate == 0.0


def test_dropout_noise_shape_and_seed_are_passed_on() -> None:
    y = cn.input((3, 50)).dropout(rate=0.5, noise_shape=(None, 1, 50), seed=7)
    assert y.layer.noise_shape == (None, 1, 50) and y.layer.seed == 7
    out = np.asarray(y.model()(np.ones((2, 3, 50), "float32"), training=True))
    # one mask for every row of a sample
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    np.testing.assert_array_equal(out[:, 0], out[:, 2])


def test_layer_normalize_normalizes_each_sample() -> None:
    y = cn.input((8,)).layer_normalize()
    out = np.asarray(y.model()(random_input((8,), batch=3) * 10 + 5))
    np.testing.assert_allclose(out.mean(axis=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=-1), 1.0, atol=1e-2)


def test_batch_normalize_training_updates_moving_statistics() -> None:
    y = cn.input((3,)).batch_normalize(momentum=0.5, name="bn")
    model = y.model()
    data = np.full((4, 3), 10.0, "float32")
    model(data, training=True)
    np.testing.assert_allclose(y.network.get_weights("bn")["moving_mean"], 5.0)
    model(data, training=False)
    np.testing.assert_allclose(y.network.get_weights("bn")["moving_mean"], 5.0)


def test_dropout_model_inside_tf_function() -> None:
    model = cn.input((100,)).dropout(rate=0.5).model()
    data = tf.ones((2, 100))
    run = tf.function(lambda t, training: model(t, training=training))
    np.testing.assert_array_equal(run(data, False), data)
    assert not np.array_equal(run(data, True), data)


def test_dropout_rate_zero_builds_inside_tf_function() -> None:
    traced = tf.function(lambda t: cn.wrap(t).dropout(rate=0.0).tensor, autograph=False)
    np.testing.assert_array_equal(traced(tf.ones((2, 3))), np.ones((2, 3)))


def test_dropout_in_a_graph_chain_says_why_it_cannot_build() -> None:
    # keras.layers.Dropout(rate > 0) makes a random-seed variable, which a tf.function cannot
    # create on its second trace: the error names that and the way out.
    traced = tf.function(lambda t: cn.wrap(t).dropout(rate=0.5).tensor, autograph=False)
    with pytest.raises(cn.ChainError, match=r"dropout\(\) at layer 'dropout'.*random-seed state"):
        traced(tf.ones((2, 3)))
