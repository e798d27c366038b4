"""chain.model(): the seed CNN in one expression, training, several inputs and outputs, saving,
weights files and SavedModel export."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import random_input

import chainnet as cn


def seed_cnn() -> cn.Chain:
    """The ConvConvPool CNN of the seed tutorial, as one chain expression."""
    with cn.defaults(padding="same"):
        return (
            cn.input((28, 28, 1), name="image")
            .conv2d(3, 64, activation="relu")
            .conv2d(3, 64, activation="relu")
            .max_pool(2, 2)
            .dropout(rate=0.25)
            .conv2d(3, 32)
            .conv2d(3, 32)
            .max_pool(2, 2)
            .dropout(rate=0.25)
            .flatten()
            .fully_connected(256, activation="relu")
            .dropout(rate=0.5)
            .fully_connected(10)
        )


@pytest.fixture(scope="module")
def cnn() -> cn.Chain:
    return seed_cnn()


def test_seed_cnn_parameters_and_summary(cnn: cn.Chain) -> None:
    lines: list[str] = []
    cnn.summary(print_fn=lines.append)
    text = "\n".join(lines)
    model = cnn.model()
    assert model.count_params() == 469_514
    assert "Total params: 469,514" in text
    assert "Trainable params: 469,514" in text and "Non-trainable params: 0" in text
    rows = text.splitlines()
    assert rows[0].split() == ["Name", "Method", "Output", "shape", "Params"]
    conv_row = next(r for r in rows if r.startswith("conv2d_1 "))
    assert conv_row.split()[1] == "conv2d" and conv_row.rstrip().endswith("36,928")
    assert cnn.shape == (None, 10)
    assert [n.name for n in cnn.network.nodes] == [
        "image",
        "conv2d",
        "conv2d_1",
        "max_pool",
        "dropout",
        "conv2d_2",
        "conv2d_3",
        "max_pool_1",
        "dropout_1",
        "flatten",
        "fully_connected",
        "dropout_2",
        "fully_connected_1",
    ]


def test_summary_of_shared_layers_counts_them_once() -> None:
    layer = keras.layers.Dense(4, name="shared")
    y = cn.input((4,)).apply_layer(layer).apply_layer(layer)
    lines: list[str] = []
    y.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "shared" in text and f"Total params: {y.model().count_params():,}" in text
    assert "Total params: 20" in text


def test_model_is_a_functional_keras_model(cnn: cn.Chain) -> None:
    model = cnn.model(name="seed")
    assert isinstance(model, keras.Model) and model.name == "seed"
    assert [t.name for t in model.inputs] == ["image"]
    assert model.output_shape == (None, 10)
    assert model.get_layer("conv2d_1") is cnn.network.layer("conv2d_1")


def test_seed_cnn_model_compiles_and_trains_one_step() -> None:
    y = seed_cnn()
    model = y.model()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    before = {
        name: y.network.get_weights(name)["kernel"].copy()
        for name in ("conv2d", "fully_connected_1")
    }
    x = random_input((28, 28, 1), batch=4, low=0.0, high=1.0)
    labels = np.array([0, 1, 2, 3])
    history = model.fit(x, labels, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    for name, kernel in before.items():  # the chain's variables are the model's
        assert not np.allclose(kernel, y.network.get_weights(name)["kernel"]), name
    assert 0.0 <= history.history["accuracy"][0] <= 1.0


def test_multi_output_model() -> None:
    x = cn.input((4,), name="x")
    h = x.fully_connected(3, activation="relu", name="h")
    a, b = h.fully_connected(2, name="a"), h.fully_connected(1, name="b")
    model = cn.model([a, b])
    assert [tuple(o.shape) for o in model.outputs] == [(None, 2), (None, 1)]
    data = random_input((4,))
    out_a, out_b = model(data)
    np.testing.assert_allclose(out_a, x.network.activations(data, "a"), rtol=1e-6)
    np.testing.assert_allclose(out_b, x.network.activations(data, "b"), rtol=1e-6)
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    model.fit(data, [np.zeros((2, 2)), np.zeros((2, 1))], verbose=0)


def test_multi_input_model() -> None:
    image = cn.input((4, 4, 1), name="image")
    meta = image.network.input((3,), name="meta")
    joined = image.flatten().fully_connected(3, name="img_fc") + meta
    model = joined.fully_connected(2).model()
    assert [t.name for t in model.inputs] == ["image", "meta"]
    xi, xm = random_input((4, 4, 1)), random_input((3,), seed=2)
    by_list = np.asarray(model([xi, xm]))
    by_dict = np.asarray(model({"image": xi, "meta": xm}))
    np.testing.assert_array_equal(by_list, by_dict)


def test_model_of_an_intermediate_chain_uses_only_what_it_needs() -> None:
    image = cn.input((4,), name="image")
    meta = image.network.input((3,), name="meta")
    features = image.fully_connected(3)
    _ = features + meta
    model = features.model()
    assert [t.name for t in model.inputs] == ["image"]
    assert model.count_params() == 15


def test_save_keras_and_load_with_safe_mode(tmp_path: Path, cnn: cn.Chain) -> None:
    model = cnn.model()
    path = tmp_path / "seed.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = random_input((28, 28, 1), batch=2)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_save_weights_and_load_weights(tmp_path: Path) -> None:
    def build() -> keras.Model:
        return (cn.input((3, 3, 1)).conv2d(2, 2).flatten() * 0.5).fully_connected(2).model()

    first, second = build(), build()
    x = random_input((3, 3, 1))
    assert not np.allclose(first(x), second(x))
    path = tmp_path / "seed.weights.h5"
    first.save_weights(path)
    second.load_weights(path)
    np.testing.assert_array_equal(first(x), second(x))


def test_export_saved_model_serves_the_same_predictions(tmp_path: Path) -> None:
    y = (
        cn.input((6, 6, 1))
        .conv2d(3, 2, activation="relu")
        .max_pool(2)
        .flatten()
        .reshape("_*")
        .fully_connected(3)
        - 1.0
    )
    model = y.model()
    model.export(str(tmp_path / "exported"), verbose=False)
    restored = tf.saved_model.load(str(tmp_path / "exported"))
    x = random_input((6, 6, 1), batch=3)
    np.testing.assert_allclose(
        restored.serve(tf.constant(x)), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_model_of_an_eager_chain_is_a_clear_error() -> None:
    eager = cn.wrap(np.ones((2, 4), "float32")).fully_connected(3)
    with pytest.raises(
        cn.ChainError,
        match=r"model\(\) needs a symbolic network started with "
        r"cn\.input\(shape\); this one wraps eager tensors",
    ):
        eager.model()
    with pytest.raises(cn.ChainError, match="symbolic network"):
        cn.model(eager)


def test_model_function_needs_chains() -> None:
    with pytest.raises(cn.ChainError, match="outputs must be chains"):
        cn.model([])
    with pytest.raises(cn.ChainError, match="outputs must be chains"):
        cn.model([keras.Input((3,))])  # type: ignore[list-item]


def test_summary_lists_sub_layers_and_non_trainable_counts() -> None:
    y = cn.input((4,)).fully_connected(3, batch_normalize=True, activation="relu", name="fc")
    lines: list[str] = []
    y.summary(print_fn=lines.append)
    text = "\n".join(lines)
    model = y.model()
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    assert (model.count_params(), trainable) == (24, 18)
    assert "Total params: 24" in text and "Trainable params: 18" in text
    assert "Non-trainable params: 6" in text
    bn_row = next(line for line in text.splitlines() if "fc_bn" in line)
    assert "(BatchNormalization)" in bn_row and bn_row.rstrip().endswith("12")
