"""The in-graph path computes exactly what eager steps and model.evaluate compute."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from training_helpers import NUM_CLASSES, NUM_FEATURES, classifier, data, same_weights

from chainnet.training import Trainer, epoch_order, fit
from chainnet.training._fit import _TRAINER_ATTRIBUTE
from chainnet.training._loop import Programs


@pytest.fixture(params=["deferred", "per-step"])
def metric_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test with metrics updated once per run of steps, and once per step."""
    if request.param == "per-step":
        monkeypatch.setattr(Programs, "defer_budget", 0)
    yield request.param


def eager_training(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    epochs: int,
    seed: int,
    drop_remainder: bool = False,
) -> None:
    """The same steps, one by one in eager mode, with the loss written out by hand."""
    optimizer = model.optimizer
    for epoch in range(epochs):
        order = epoch_order(len(x), seed, epoch).numpy()
        stops = range(batch_size, len(x) + batch_size, batch_size)
        for stop in stops:
            index = order[stop - batch_size : stop]
            if drop_remainder and len(index) < batch_size:
                break
            xb, yb = tf.constant(x[index]), tf.constant(y[index])
            with tf.GradientTape() as tape:
                probs = model(xb, training=True)
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(yb, probs))
                loss += tf.add_n(model.losses) if model.losses else 0.0
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))


@pytest.mark.parametrize("drop_remainder", [False, True])
def test_same_weights_as_eager_steps(drop_remainder: bool) -> None:
    x, y = data(100)  # 6 batches of 16 and a last one of 4
    fast = classifier(keras.optimizers.Adam(0.01), l2=0.01)
    eager = classifier(keras.optimizers.Adam(0.01), l2=0.01)
    assert same_weights(fast, eager, atol=0)
    fit(fast, x, y, batch_size=16, epochs=3, seed=7, drop_remainder=drop_remainder, verbose=0)
    eager_training(eager, x, y, batch_size=16, epochs=3, seed=7, drop_remainder=drop_remainder)
    steps = 6 if drop_remainder else 7
    assert int(fast.optimizer.iterations) == int(eager.optimizer.iterations) == 3 * steps
    assert not same_weights(fast, classifier(l2=0.01))  # it trained
    assert same_weights(fast, eager)


def test_regularization_losses_are_part_of_the_loss() -> None:
    x, y = data(100)
    fast = classifier(l2=1.0)
    fit(fast, x, y, batch_size=20, epochs=1, seed=0, verbose=0)
    with_l2, without = classifier(l2=1.0), classifier(l2=0.0)  # the same initial weights
    eager_training(with_l2, x, y, batch_size=20, epochs=1, seed=0)
    eager_training(without, x, y, batch_size=20, epochs=1, seed=0)
    assert same_weights(fast, with_l2)
    assert not same_weights(fast, without)


def test_layer_add_loss_is_part_of_the_loss() -> None:
    class Penalty(keras.layers.Layer):
        def call(self, inputs: Any) -> Any:
            self.add_loss(0.5 * keras.ops.mean(keras.ops.square(inputs)))
            return inputs

    keras.utils.set_random_seed(0)
    inputs = keras.Input((NUM_FEATURES,))
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax")(Penalty()(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    x, y = data(50)
    history = fit(model, x, y, batch_size=50, epochs=1, verbose=0)
    probs = model.predict(x, verbose=0)
    expected = float(
        keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, probs))
        + 0.5 * np.mean(np.square(x))
    )
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_same_seed_same_result_other_seed_other_result() -> None:
    x, y = data(100)
    models = [classifier() for _ in range(3)]
    for model, seed in zip(models, [1, 1, 2], strict=True):
        fit(model, x, y, batch_size=10, epochs=2, seed=seed, verbose=0)
    assert same_weights(models[0], models[1], atol=0)
    assert not same_weights(models[0], models[2])


def test_shuffle_false_keeps_the_data_order() -> None:
    x, y = data(60)
    fast, eager = classifier(), classifier()
    fit(fast, x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for _ in range(2):
        for start in range(0, 60, 16):
            xb, yb = x[start : start + 16], y[start : start + 16]
            with tf.GradientTape() as tape:
                loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(yb, eager(xb)))
            grads = tape.gradient(loss, eager.trainable_variables)
            eager.optimizer.apply_gradients(zip(grads, eager.trainable_variables))
    assert same_weights(fast, eager)


@pytest.mark.usefixtures("metric_mode")
def test_epoch_metrics_equal_evaluate_when_weights_do_not_move() -> None:
    """With a zero learning rate, the epoch's running loss and accuracy (over uneven batches)
    must be what model.evaluate reports on the same data."""
    x, y = data(103)
    model = classifier(keras.optimizers.SGD(0.0), l2=0.05)
    history = fit(model, x, y, batch_size=10, epochs=1, verbose=0)
    expected = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    assert history.history["loss"][0] == pytest.approx(expected["loss"], rel=1e-5)
    assert history.history["accuracy"][0] == pytest.approx(expected["accuracy"], abs=1e-7)


@pytest.mark.usefixtures("metric_mode")
def test_validation_metrics_equal_evaluate() -> None:
    x, y = data(100)
    xv, yv = data(37, seed=1)
    model = classifier(
        keras.optimizers.Adam(0.01),
        l2=0.01,
        metrics=["accuracy", "sparse_top_k_categorical_accuracy"],
    )
    history = fit(model, x, y, batch_size=16, epochs=2, validation_data=(xv, yv), verbose=0)
    expected = model.evaluate(xv, yv, verbose=0, return_dict=True)
    assert sorted(expected) == ["accuracy", "loss", "sparse_top_k_categorical_accuracy"]
    for name, value in expected.items():
        assert history.history[f"val_{name}"][-1] == pytest.approx(value, rel=1e-5), name


def test_validation_split_uses_the_last_samples() -> None:
    x, y = data(100)
    model = classifier(keras.optimizers.SGD(0.0))
    history = fit(model, x, y, batch_size=16, epochs=1, validation_split=0.3, verbose=0)
    on_tail = model.evaluate(x[70:], y[70:], verbose=0, return_dict=True)
    on_head = model.evaluate(x[:70], y[:70], verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(on_tail["loss"], rel=1e-5)
    assert history.history["loss"][0] == pytest.approx(on_head["loss"], rel=1e-5)


def test_validation_sample_weights_equal_evaluate() -> None:
    x, y = data(60)
    xv, yv = data(30, seed=3)
    weights = np.linspace(0.1, 2.0, 30).astype("float32")
    model = classifier()
    history = fit(
        model, x, y, batch_size=16, epochs=1, validation_data=(xv, yv, weights), verbose=0
    )
    expected = model.evaluate(xv, yv, sample_weight=weights, verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-5)


def test_sample_weight_and_class_weight() -> None:
    x, y = data(90)
    class_weight = {0: 1.0, 1: 3.0, 2: 0.5}
    weights = np.array([class_weight[int(label)] for label in y], "float32")
    by_class, by_sample = classifier(), classifier()
    h1 = fit(by_class, x, y, batch_size=16, epochs=2, seed=0, class_weight=class_weight, verbose=0)
    h2 = fit(by_sample, x, y, batch_size=16, epochs=2, seed=0, sample_weight=weights, verbose=0)
    assert h1.history["loss"] == pytest.approx(h2.history["loss"], rel=1e-6)
    assert same_weights(by_class, by_sample)
    unweighted = classifier()
    fit(unweighted, x, y, batch_size=16, epochs=2, seed=0, verbose=0)
    assert not same_weights(unweighted, by_sample)


def test_multi_input_multi_output_model(metric_mode: str) -> None:
    keras.utils.set_random_seed(0)
    a, b = keras.Input((4,), name="a"), keras.Input((2,), name="b")
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()([a, b]))
    label = keras.layers.Dense(3, activation="softmax", name="label")(hidden)
    value = keras.layers.Dense(1, name="value")(hidden)
    model = keras.Model({"a": a, "b": b}, {"label": label, "value": value})
    model.compile(
        optimizer="adam",
        loss={"label": "sparse_categorical_crossentropy", "value": "mse"},
        metrics={"label": ["accuracy"], "value": ["mae"]},
    )
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(70, 4)).astype("float32"), "b": rng.normal(size=(70, 2))}
    y = {"label": rng.integers(0, 3, 70), "value": rng.normal(size=(70, 1)).astype("float32")}
    history = fit(model, x, y, batch_size=16, epochs=2, validation_data=(x, y), verbose=0)
    # Per-output losses are means over batches in Keras: compare at the same batch size.
    expected = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert {"label_loss", "value_loss", "label_accuracy", "value_mae"} <= set(expected)
    assert {f"val_{k}" for k in expected} <= set(history.history)
    for name, value in expected.items():
        assert history.history[f"val_{name}"][-1] == pytest.approx(value, rel=1e-5), name


def test_trainer_keeps_its_compiled_functions_across_calls() -> None:
    x, y = data(64)
    model = classifier()
    fit(model, x, y, batch_size=16, epochs=1, verbose=0)
    trainer = getattr(model, _TRAINER_ATTRIBUTE)
    programs = trainer._programs
    assert programs is not None
    traces = programs.train.experimental_get_tracing_count()
    fit(model, x, y, batch_size=16, epochs=2, verbose=0)
    assert getattr(model, _TRAINER_ATTRIBUTE) is trainer and trainer._programs is programs
    assert programs.train.experimental_get_tracing_count() == traces
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")  # new optimizer
    fit(model, x, y, batch_size=16, epochs=1, verbose=0)
    assert trainer._programs is not programs
    assert int(model.optimizer.iterations) == 4


def test_trainer_class_direct_use() -> None:
    x, y = data(64)
    model = classifier()
    trainer = Trainer(model, progress_updates=3)
    history = trainer.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert int(model.optimizer.iterations) == 8


def test_tensors_as_input() -> None:
    x, y = data(64)
    by_array, by_tensor = classifier(), classifier()
    fit(by_array, x, y, batch_size=16, epochs=1, seed=0, verbose=0)
    fit(by_tensor, tf.constant(x), tf.constant(y), batch_size=16, epochs=1, seed=0, verbose=0)
    assert same_weights(by_array, by_tensor, atol=0)


def test_float64_input_is_cast_to_floatx() -> None:
    x, y = data(64)
    model = classifier()
    history = fit(model, x.astype("float64"), y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
