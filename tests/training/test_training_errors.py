"""Bad input gets a clear error (what was expected, what was given); NaN stops training."""

from __future__ import annotations

import re
from typing import Any

import keras
import numpy as np
import pytest
from training_helpers import NUM_FEATURES, classifier, data

from chainnet.training import Trainer, fit


def test_model_must_be_compiled() -> None:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"not compiled: call model.compile\(optimizer="):
        fit(model, np.zeros((4, 3)), np.zeros(4))


def test_model_must_be_a_keras_model() -> None:
    with pytest.raises(TypeError, match=r"must be a keras\.Model .* got str"):
        fit("model", np.zeros((4, 3)), np.zeros(4))  # type: ignore[arg-type]


def test_mismatched_x_and_y_lengths() -> None:
    x, y = data(100)
    with pytest.raises(ValueError, match=r"same number of samples .*got x has 100, y has 90\."):
        fit(classifier(), x, y[:90], verbose=0)


def test_mismatched_sample_weight_length() -> None:
    x, y = data(50)
    with pytest.raises(ValueError, match=r"x has 50, y has 50, sample_weight has 49"):
        fit(classifier(), x, y, sample_weight=np.ones(49), verbose=0)


def test_mismatched_lengths_in_a_dict_of_inputs() -> None:
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([a, b]))
    model = keras.Model({"a": a, "b": b}, out)
    model.compile(optimizer="sgd", loss="mse")
    x = {"a": np.zeros((10, 2)), "b": np.zeros((8, 3))}
    with pytest.raises(ValueError, match=r"x\['a'\] has 10, x\['b'\] has 8, y has 10"):
        fit(model, x, np.zeros((10, 1)), verbose=0)


def test_mismatched_validation_lengths() -> None:
    x, y = data(50)
    with pytest.raises(ValueError, match=r"validation data arrays .* x has 20, y has 19"):
        fit(classifier(), x, y, validation_data=(x[:20], y[:19]), verbose=0)


def test_empty_data() -> None:
    x, y = data(10)
    with pytest.raises(ValueError, match="empty: x holds 0 samples"):
        fit(classifier(), x[:0], y[:0], verbose=0)


def test_sparse_labels_above_the_number_of_classes() -> None:
    x, y = data(50)
    y[7] = 3  # the model has 3 classes: 0, 1, 2
    message = (
        "y must hold class ids in [0, 3) for sparse_categorical_crossentropy (the model's output "
        "'probs' has 3 classes): got labels in [0, 3], e.g. y[7] = [3] (1 sample(s) out of range)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        fit(classifier(), x, y, verbose=0)


def test_negative_sparse_labels_with_a_loss_object() -> None:
    x, y = data(50)
    y[3] = -1
    model = classifier()
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy())
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\).*got labels in \[-1, 2\]"):
        fit(model, x, y, verbose=0)


def test_sparse_labels_in_validation_data() -> None:
    x, y = data(50)
    yv = y[:10].copy()
    yv[2] = 9
    with pytest.raises(ValueError, match=r"validation y must hold class ids in \[0, 3\)"):
        fit(classifier(), x, y, validation_data=(x[:10], yv), verbose=0)


def test_ignore_class_is_allowed() -> None:
    x, y = data(50)
    y[:5] = -1
    model = classifier()
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    history = fit(model, x, y, batch_size=10, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_non_integer_sparse_labels() -> None:
    x, y = data(20)
    labels = y.astype("float32")
    labels[4] = 1.5
    with pytest.raises(ValueError, match=r"integer class ids .* got non-integer value 1\.5"):
        fit(classifier(), x, labels, verbose=0)


def test_one_hot_labels_with_a_sparse_loss() -> None:
    x, y = data(20)
    with pytest.raises(ValueError, match=r"shape \(20, 3\), which looks one-hot"):
        fit(classifier(), x, np.eye(3)[y], verbose=0)


def test_integer_labels_with_a_categorical_loss() -> None:
    x, y = data(20)
    model = classifier()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"shape \(20,\), integer class ids, but the loss is"):
        fit(model, x, y, verbose=0)


def test_batch_size_larger_than_the_data_with_drop_remainder() -> None:
    x, y = data(10)
    with pytest.raises(ValueError, match="batch_size=64 is larger than the 10 training samples"):
        fit(classifier(), x, y, batch_size=64, drop_remainder=True, verbose=0)


def test_batch_size_larger_than_the_data_warns_and_trains_one_batch() -> None:
    x, y = data(10)
    model = classifier()
    with pytest.warns(UserWarning, match="each epoch is one step on a batch of all 10 samples"):
        fit(model, x, y, batch_size=64, epochs=3, verbose=0)
    assert int(model.optimizer.iterations) == 3


@pytest.mark.parametrize("bad", [0, -3, 2.5, "32", True])
def test_batch_size_must_be_a_positive_int(bad: Any) -> None:
    x, y = data(10)
    with pytest.raises((TypeError, ValueError), match="batch_size must be a positive int: got"):
        fit(classifier(), x, y, batch_size=bad, verbose=0)


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_progress_updates_must_be_a_positive_int(bad: Any) -> None:
    x, y = data(10)
    with pytest.raises(ValueError, match="progress_updates must be a positive int"):
        fit(classifier(), x, y, progress_updates=bad, verbose=0)


@pytest.mark.parametrize("split", [1.0, 1.5, -0.1])
def test_validation_split_out_of_range(split: float) -> None:
    x, y = data(10)
    with pytest.raises(ValueError, match=r"validation_split must be in \(0, 1\)"):
        fit(classifier(), x, y, validation_split=split, verbose=0)


def test_validation_data_of_the_wrong_shape() -> None:
    x, y = data(10)
    with pytest.raises(ValueError, match=r"validation_data must be a tuple \(x_val, y_val\)"):
        fit(classifier(), x, y, validation_data=(x,), verbose=0)


def test_class_weight_and_sample_weight_together() -> None:
    x, y = data(10)
    with pytest.raises(ValueError, match="either class_weight or sample_weight, not both"):
        fit(classifier(), x, y, class_weight={0: 2.0}, sample_weight=np.ones(10), verbose=0)


def test_x_is_required() -> None:
    with pytest.raises(ValueError, match="x is None: expected the input arrays"):
        fit(classifier(), None, np.zeros(3), verbose=0)


def test_nan_loss_stops_and_keeps_the_last_good_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    class Breaks(keras.layers.Layer):
        """Passes its input through, until its 15th call: from then on, NaN."""

        def build(self, input_shape: Any) -> None:
            self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False)

        def call(self, inputs: Any) -> Any:
            self.calls.assign_add(1.0)
            broken = keras.ops.where(self.calls > 14, np.nan, 0.0)
            return inputs + broken

    class KeepWeights(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.weights = [w.copy() for w in self.model.get_weights()]

    keras.utils.set_random_seed(0)
    inputs = keras.Input((NUM_FEATURES,))
    outputs = keras.layers.Dense(3, activation="softmax")(Breaks()(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data(100)
    keep = KeepWeights()
    history = fit(model, x, y, batch_size=10, epochs=5, verbose=0, callbacks=[keep])
    assert history.epoch == [0]  # epoch 2 (steps 11-20) went NaN at its 5th step
    assert model.stop_training
    out = capsys.readouterr().out
    assert "the loss became nan in epoch 2" in out and "restored" in out
    for restored, good in zip(model.get_weights(), keep.weights, strict=True):
        np.testing.assert_array_equal(restored, good)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert int(model.optimizer.iterations) == 10  # the optimizer state is restored too


def test_nan_in_the_data_is_caught_in_the_first_epoch() -> None:
    x, _ = data(40)
    y = x.sum(axis=1, keepdims=True)
    x[5, 0] = np.nan
    model = keras.Sequential([keras.Input((NUM_FEATURES,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    history = fit(model, x, y, batch_size=8, epochs=3, verbose=0)
    assert history.history == {}
    for now, then in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(now, then)


def test_max_in_memory_bytes_must_be_readable() -> None:
    trainer = Trainer(classifier(), max_in_memory_bytes=1000)
    assert trainer.max_in_memory_bytes == 1000
