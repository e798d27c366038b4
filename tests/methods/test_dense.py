"""fully_connected and embedding_lookup against keras.layers.Dense / Embedding."""

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
        "fully_connected",
        (3,),
        input_shape=(4,),
        reference=lambda: [L.Dense(3)],
        expected_output_shape=(None, 3),
        expected_num_weights=2,
        expected_num_params=15,
        expected_layer_names=["fully_connected"],
    ),
    MethodCase(
        "fully_connected",
        (5,),
        {"activation": "relu", "use_bias": False},
        id="fully_connected-relu-nobias",
        input_shape=(4,),
        reference=lambda: [L.Dense(5, activation="relu", use_bias=False)],
        expected_output_shape=(None, 5),
        expected_num_weights=1,
        expected_num_params=20,
    ),
    MethodCase(
        "fully_connected",
        (3,),
        {"activation": "tanh", "name": "fc"},
        id="fully_connected-named",
        input_shape=(6,),
        reference=lambda: [L.Dense(3, activation="tanh")],
        expected_output_shape=(None, 3),
        expected_num_weights=2,
        expected_layer_names=["fc"],
    ),
    MethodCase(
        "fully_connected",
        (3,),
        {"activation": "relu", "batch_normalize": True, "name": "fc"},
        id="fully_connected-batch_normalize",
        input_shape=(4,),
        reference=lambda: [
            L.Dense(3, use_bias=False),
            L.BatchNormalization(),
            L.Activation("relu"),
        ],
        expected_output_shape=(None, 3),
        expected_num_weights=5,
        expected_num_params=24,
        expected_layer_names=["fc", "fc_bn", "fc_activation"],
    ),
    MethodCase(
        "fully_connected",
        (3,),
        {"batch_normalize": {"momentum": 0.5, "center": False}},
        id="fully_connected-batch_normalize-options-no-activation",
        input_shape=(4,),
        reference=lambda: [
            L.Dense(3, use_bias=False),
            L.BatchNormalization(momentum=0.5, center=False),
        ],
        expected_output_shape=(None, 3),
        expected_num_weights=4,
        expected_layer_names=["fully_connected", "fully_connected_bn"],
    ),
    MethodCase(
        "fully_connected",
        (2,),
        {"l2loss": 0.1},
        id="fully_connected-l2loss",
        input_shape=(3,),
        reference=lambda: [L.Dense(2)],
        expected_output_shape=(None, 2),
        expected_num_weights=2,
    ),
    MethodCase(
        lambda c: c.flatten().fully_connected(2),
        id="flatten-then-fully_connected",
        input_shape=(2, 3),
        reference=lambda: [L.Flatten(), L.Dense(2)],
        expected_output_shape=(None, 2),
        expected_num_weights=2,
    ),
    MethodCase(
        "embedding_lookup",
        (7, 3),
        input_shape=(5,),
        input_dtype="int32",
        reference=lambda: [L.Embedding(7, 3)],
        expected_output_shape=(None, 5, 3),
        expected_num_weights=1,
        expected_num_params=21,
    ),
    MethodCase(
        "embedding_lookup",
        (7, 3),
        {"mask_zero": True, "name": "emb"},
        id="embedding_lookup-mask_zero",
        input_shape=(4,),
        input_dtype="int32",
        reference=lambda: [L.Embedding(7, 3, mask_zero=True)],
        expected_output_shape=(None, 4, 3),
        expected_num_weights=1,
        expected_layer_names=["emb"],
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_dense_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


@pytest.mark.parametrize("method", ["fully_connected", "conv2d"])
def test_l2loss_adds_half_sum_of_squares(method: str) -> None:
    if method == "fully_connected":
        y = cn.input((3,)).fully_connected(2, l2loss=0.1, name="layer")
    else:
        y = cn.input((5, 5, 2)).conv2d(3, 4, l2loss=0.1, name="layer")
    model = y.model()
    kernel = y.network.get_weights("layer")["kernel"]
    assert len(model.losses) == 1
    expected = 0.1 * np.sum(kernel.astype(np.float64) ** 2) / 2
    np.testing.assert_allclose(float(model.losses[0]), expected, rtol=1e-5)
    # the bias is not regularized, and a changed kernel changes the loss
    y.network.set_weights("layer", {"kernel": 2 * kernel})
    np.testing.assert_allclose(float(model.losses[0]), 4 * expected, rtol=1e-5)


def test_l2loss_zero_and_none_differ() -> None:
    with_zero = cn.input((3,)).fully_connected(2, l2loss=0.0).model()
    without = cn.input((3,)).fully_connected(2).model()
    assert [float(v) for v in with_zero.losses] == [0.0]
    assert without.losses == []


def test_batch_normalize_uses_batch_statistics_when_training() -> None:
    y = cn.input((4,)).fully_connected(3, batch_normalize=True, activation=None)
    model = y.model()
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32") * 5 + 3
    trained = np.asarray(model(x, training=True))
    np.testing.assert_allclose(trained.mean(axis=0), 0.0, atol=1e-4)
    inference = np.asarray(model(x, training=False))
    assert not np.allclose(trained, inference)


def test_embedding_lookup_values_are_table_rows() -> None:
    y = cn.input((3,), dtype="int32").embedding_lookup(5, 2, name="emb")
    table = np.arange(10, dtype="float32").reshape(5, 2)
    y.network.set_weights("emb", {"embeddings": table})
    ids = np.array([[0, 4, 2]], "int32")
    np.testing.assert_array_equal(y.model()(ids), table[ids])
