"""``fit`` takes every argument of ``model.fit`` with its meaning (issue 9, item 8).

One test (at least) for each finding of the issue under ``cn.fit``: NaN weights with a
finite loss, out-of-range labels of a head model, strings / ``y=None`` / a bad
``validation_split``, and the ``model.fit`` arguments that were refused.
"""

from __future__ import annotations

import inspect
import re
import warnings
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from training_helpers import NUM_FEATURES, classifier, data, same_weights

import chainnet as cn
from chainnet.training import Trainer, epoch_order, fit


class StepsPerEpoch(keras.callbacks.Callback):
    """Records how many optimizer steps each epoch ran."""

    def on_train_begin(self, logs: Any = None) -> None:
        self.steps: list[int] = []
        self.start = int(self.model.optimizer.iterations)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        now = int(self.model.optimizer.iterations)
        self.steps.append(now - self.start)
        self.start = now


def head_model(num_classes: int = 10) -> keras.Model:
    """A chainnet softmax_classifier head: inputs [features, labels], no compiled loss."""
    keras.utils.set_random_seed(0)
    features = cn.input((NUM_FEATURES,), name="features")
    labels = features.network.input((), dtype="int32", name="labels")
    result = features.fully_connected(4, activation="relu").softmax_classifier(num_classes, labels)
    model = result.softmax.model()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    return model


# -- NaN in the data that leaves the loss finite ----------------------------------------------
def test_nan_weights_with_a_finite_loss_stop_training_and_restore(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A NaN pixel: max pooling drops it from the forward pass (the loss stays finite), but the
    kernel's gradient is NaN. Training must stop and keep the last good weights."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            keras.layers.Conv2D(2, 3, padding="same"),
            keras.layers.MaxPooling2D(2),
            keras.layers.ReLU(),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((16, 4, 4, 1), dtype="float32")
    x[5, 1, 1, 0] = np.nan
    y = rng.integers(0, 3, 16)
    before = model.get_weights()
    history = fit(model, x, y, batch_size=4, epochs=3, verbose=0, shuffle=False)
    assert history.history == {}  # the first epoch already broke the weights
    assert model.stop_training
    for now, then in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(now, then)
    out = capsys.readouterr().out
    assert "in epoch 1; training stopped" in out and "restored" in out
    if not tf.config.list_physical_devices("GPU"):  # on CPU max pooling drops the NaN
        assert "the weights became NaN or inf (the loss stayed finite" in out


# -- out-of-range labels ------------------------------------------------------------------------
def test_out_of_range_labels_of_a_softmax_classifier_model() -> None:
    model = head_model(10)
    x, _ = data(20)
    ids = np.arange(20, dtype="int32") % 10
    history = fit(model, [x, ids], None, batch_size=5, verbose=0)  # y=None: the head's loss
    assert np.isfinite(history.history["loss"][0])
    bad = ids.copy()
    bad[3] = 10
    message = (
        "x[1] (the model input 'labels') must hold class ids in [0, 10) for the sparse cross "
        "entropy of 'softmax_classifier_loss' (its logits have 10 classes): got labels in "
        "[0, 10], e.g. x[1][3] = [10] (1 sample(s) out of range)."
    )
    with pytest.raises(cn.ChainError, match=re.escape(message)):
        fit(model, [x, bad], None, batch_size=5, verbose=0)
    with pytest.raises(cn.ChainError, match=r"validation x\[1\] \(the model input 'labels'\)"):
        fit(model, [x, ids], None, validation_data=([x, bad], None), batch_size=5, verbose=0)


def test_out_of_range_labels_of_a_sparse_loss_are_a_chain_error() -> None:
    x, y = data(20)
    y[4] = 3
    with pytest.raises(cn.ChainError, match=r"y must hold class ids in \[0, 3\).*y\[4\] = \[3\]"):
        fit(classifier(), x, y, verbose=0)


@pytest.mark.skipif(
    bool(tf.config.list_physical_devices("GPU")), reason="on GPU the op gives NaN, not an error"
)
def test_out_of_range_label_found_inside_the_graph_is_one_paragraph() -> None:
    """Labels that reach the loss through a layer (no check can see them before training)."""

    class ShiftedLoss(keras.layers.Layer):
        def call(self, inputs: Any) -> Any:
            logits, labels = inputs
            ids = keras.ops.cast(labels, "int32") + 0
            self.add_loss(
                keras.ops.mean(
                    keras.ops.sparse_categorical_crossentropy(ids, logits, from_logits=True)
                )
            )
            return logits

    features = keras.Input((NUM_FEATURES,))
    labels = keras.Input((), dtype="int32")
    logits = ShiftedLoss()([keras.layers.Dense(3)(features), labels])
    model = keras.Model([features, labels], logits)
    model.compile(optimizer="sgd")
    x, y = data(12)
    y[2] = 7
    with pytest.raises(cn.ChainError) as caught:
        fit(model, [x, y.astype("int32")], None, batch_size=4, verbose=0)
    message = str(caught.value)
    assert "got the class id 7, outside [0, 3)" in message and "\n" not in message


# -- strings, y=None, validation_split --------------------------------------------------------
def test_string_labels_are_a_clear_error() -> None:
    x, y = data(12)
    names = np.array(["cat", "dog", "owl"])[y]
    with pytest.raises(cn.ChainTypeError) as caught:
        fit(classifier(), x, names, verbose=0)
    message = str(caught.value)
    assert message.startswith("y must hold numbers") and "got strings (dtype <U3)" in message
    assert f"y[0] = {str(names[0])!r}" in message and "np.unique" in message
    with pytest.raises(cn.ChainTypeError, match=r"^validation y must hold numbers"):
        fit(classifier(), x, y, validation_data=(x, list(names)), verbose=0)


def test_y_none_with_a_compiled_loss_is_a_clear_error() -> None:
    x, _ = data(12)
    message = (
        "y is None, but the model was compiled with loss='sparse_categorical_crossentropy', "
        "which compares the model's outputs with labels: pass the labels"
    )
    with pytest.raises(cn.ChainError, match=re.escape(message)):
        fit(classifier(), x, None, verbose=0)
    with pytest.raises(cn.ChainError, match=re.escape(f"validation {message}")):
        fit(classifier(), x, np.zeros(12, "int64"), validation_data=(x, None), verbose=0)


def test_a_model_with_no_loss_at_all_is_a_clear_error() -> None:
    model = keras.Sequential([keras.Input((NUM_FEATURES,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd")
    x, _ = data(12)
    with pytest.raises(cn.ChainError, match=r"^The model has no loss to train: it was compiled"):
        fit(model, x, None, batch_size=4, verbose=0)


@pytest.mark.parametrize(
    ("split", "error", "given"),
    [
        ("0.2", cn.ChainTypeError, "got '0.2' (a str). Pass a number"),
        (True, cn.ChainTypeError, "got True (a bool)"),
        (1.5, cn.ChainError, "got 1.5."),
        (-0.1, cn.ChainError, "got -0.1."),
    ],
)
def test_bad_validation_split_is_a_clear_error(split: Any, error: type, given: str) -> None:
    x, y = data(10)
    with pytest.raises(error) as caught:
        fit(classifier(), x, y, validation_split=split, verbose=0)
    message = str(caught.value)
    assert message.startswith("validation_split must be in (0, 1) (or 0 for no validation)")
    assert given in message


# -- every model.fit argument -----------------------------------------------------------------
def test_takes_every_argument_of_model_fit_with_its_default() -> None:
    expected = dict(inspect.signature(keras.Model.fit).parameters)
    expected.pop("self")
    for function in (fit, Trainer.fit):
        parameters = inspect.signature(function).parameters
        missing = sorted(set(expected) - set(parameters))
        assert missing == [], f"{function.__qualname__} lacks {missing}"
        for name, parameter in expected.items():
            assert parameters[name].default == parameter.default, name


def test_validation_freq_as_an_int_and_as_a_list() -> None:
    x, y = data(40)
    xv, yv = data(10, seed=1)
    for freq, validated in ((2, [1, 3]), ([1, 4], [0, 3])):
        model = classifier()
        seen: list[int] = []

        def on_epoch_end(epoch: int, logs: Any, seen: list[int] = seen) -> None:
            if "val_loss" in logs:
                seen.append(epoch)

        record = keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)
        history = fit(
            model,
            x,
            y,
            batch_size=10,
            epochs=4,
            validation_data=(xv, yv),
            validation_freq=freq,
            callbacks=[record],
            verbose=0,
        )
        assert seen == validated, freq
        assert len(history.history["val_loss"]) == 2 and len(history.history["loss"]) == 4
    expected = model.evaluate(xv, yv, verbose=0, return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-5)


@pytest.mark.parametrize(
    ("batch_size", "steps", "pattern"),
    [(4, 2, [2, 1, 2, 1]), (None, 3, [3, 3, 3, 3]), (2, 7, [5, 5, 5, 5])],
)
def test_steps_per_epoch_as_model_fit(
    batch_size: int | None, steps: int, pattern: list[int]
) -> None:
    """As model.fit over arrays: an epoch takes the next `steps` batches of the current pass,
    stopping at the end of a pass; batch_size=None means ceil(n / steps)."""
    x, y = data(10)
    ours, keras_fit = classifier(), classifier()
    counted = StepsPerEpoch()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours_history = fit(
            ours,
            x,
            y,
            batch_size=batch_size,
            steps_per_epoch=steps,
            epochs=4,
            shuffle=False,
            callbacks=[counted],
            verbose=0,
        )
    ran_out = [w for w in caught if "ran out of data" in str(w.message)]
    assert len(ran_out) == int(pattern != [steps] * 4)  # said once per call
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' own "ran out of data"
        keras_history = keras_fit.fit(
            x, y, batch_size=batch_size, steps_per_epoch=steps, epochs=4, shuffle=False, verbose=0
        )
    assert counted.steps == pattern
    assert int(ours.optimizer.iterations) == int(keras_fit.optimizer.iterations)
    assert ours_history.history["loss"] == pytest.approx(keras_history.history["loss"], rel=1e-5)
    assert same_weights(ours, keras_fit)


def test_steps_per_epoch_goes_on_through_one_shuffled_pass() -> None:
    """steps_per_epoch=2 over 4 batches: epochs 1-2 are the pass epoch_order(n, seed, 0),
    epochs 3-4 the pass epoch_order(n, seed, 1), as eager steps show."""
    x, y = data(8)
    fast, eager = classifier(), classifier()
    fit(fast, x, y, batch_size=2, steps_per_epoch=2, epochs=4, seed=3, verbose=0)
    for data_pass in range(2):
        order = epoch_order(8, 3, data_pass).numpy()
        for start in range(0, 8, 2):
            index = order[start : start + 2]
            with tf.GradientTape() as tape:
                probs = eager(tf.constant(x[index]), training=True)
                loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y[index], probs))
            grads = tape.gradient(loss, eager.trainable_variables)
            eager.optimizer.apply_gradients(zip(grads, eager.trainable_variables))
    assert int(fast.optimizer.iterations) == 8
    assert same_weights(fast, eager)


def test_validation_steps_and_validation_batch_size() -> None:
    """validation_steps=2 of validation_batch_size=3: the first 6 validation samples."""
    x, y = data(40)
    xv, yv = data(10, seed=1)
    model = classifier()
    history = fit(
        model,
        x,
        y,
        batch_size=8,
        epochs=1,
        validation_data=(xv, yv),
        validation_steps=2,
        validation_batch_size=3,
        verbose=0,
    )
    first_six = model.evaluate(xv[:6], yv[:6], batch_size=3, verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(first_six["loss"], rel=1e-5)
    assert history.history["val_accuracy"][0] == pytest.approx(first_six["accuracy"])
    with pytest.warns(UserWarning, match="validation_steps=9, but the 10 validation samples"):
        history = fit(
            model, x, y, batch_size=8, validation_data=(xv, yv), validation_steps=9, verbose=0
        )
    everything = model.evaluate(xv, yv, verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(everything["loss"], rel=1e-5)


def test_shuffle_batch_shuffles_within_each_batch_only() -> None:
    order = epoch_order(10, seed=0, epoch=0, shuffle="batch", batch_size=4).numpy()
    assert [sorted(order[i : i + 4].tolist()) for i in (0, 4, 8)] == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]
    assert order.tolist() != list(range(10))
    x, y = data(24)
    by_batch, in_order = classifier(), classifier()
    fit(by_batch, x, y, batch_size=8, epochs=2, shuffle="batch", verbose=0)
    fit(in_order, x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert same_weights(by_batch, in_order)  # the same batches, in the same order


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("steps_per_epoch", 0, "steps_per_epoch must be a positive int: got 0 (or leave"),
        ("steps_per_epoch", "2", "steps_per_epoch must be a positive int: got '2' (a str)"),
        ("validation_steps", 1.5, "validation_steps must be a positive int: got 1.5 (a float)"),
        ("validation_batch_size", -1, "validation_batch_size must be a positive int: got -1"),
        ("validation_freq", 0, "validation_freq must be a positive int n"),
        ("validation_freq", [0, 2], "which holds 0"),
        ("validation_freq", "2", "validation_freq must be a positive int n"),
        ("shuffle", "yes", "shuffle must be True"),
        ("epochs", "3", "epochs must be an int >= 0: got '3' (a str)."),
        ("initial_epoch", -1, "initial_epoch must be an int >= 0: got -1."),
    ],
)
def test_fit_arguments_are_checked(argument: str, value: Any, message: str) -> None:
    x, y = data(10)
    with pytest.raises(cn.ChainError, match=re.escape(message)):
        fit(classifier(), x, y, verbose=0, **{argument: value})
