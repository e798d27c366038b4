"""Keras callbacks, History and the progress bar under chainnet.training.fit."""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from training_helpers import classifier, data

from chainnet.training import fit


class Recorder(keras.callbacks.Callback):
    """Records every call it gets, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        self.calls.append(("set_params", params["epochs"], params["steps"]))

    def on_train_begin(self, logs: Any = None) -> None:
        self.calls.append(("train_begin", self.model is not None))

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.calls.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs: Any = None) -> None:
        self.calls.append(("train_end", sorted(logs or {})))


def test_callbacks_fire_at_epoch_boundaries_in_order() -> None:
    model = classifier()
    x, y = data(100)
    recorder = Recorder()
    fit(model, x, y, batch_size=32, epochs=3, initial_epoch=1, verbose=0, callbacks=[recorder])
    keys = ["accuracy", "loss"]
    assert recorder.calls == [
        ("set_params", 3, 4),  # 3 full batches of 32 and a last one of 4
        ("train_begin", True),
        ("epoch_begin", 1),
        ("epoch_end", 1, keys),
        ("epoch_begin", 2),
        ("epoch_end", 2, keys),
        ("train_end", keys),
    ]
    assert recorder.model is model


def test_history_holds_every_metric_including_validation() -> None:
    model = classifier()
    x, y = data(120)
    history = fit(model, x, y, batch_size=16, epochs=4, validation_split=0.25, verbose=0)
    assert isinstance(history, keras.callbacks.History)
    assert history is model.history
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(values) == 4 for values in history.history.values())
    assert history.epoch == [0, 1, 2, 3]
    assert all(isinstance(v, float) and np.isfinite(v) for v in history.history["val_loss"])
    assert history.history["loss"][-1] < history.history["loss"][0]  # it learns


def test_early_stopping_stops_training() -> None:
    model = classifier()
    x, y = data(100)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", min_delta=10.0, patience=1)
    history = fit(model, x, y, batch_size=20, epochs=20, verbose=0, callbacks=[stopper])
    # epoch 0 sets the best value; no later epoch improves it by 10, so epoch 1 ends training.
    assert len(history.history["loss"]) == 2
    assert stopper.stopped_epoch == 1
    assert int(model.optimizer.iterations) == 2 * 5


def test_stop_training_set_by_a_callback_is_honoured() -> None:
    class StopAfterFirst(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.model.stop_training = True

    model = classifier()
    x, y = data(100)
    history = fit(model, x, y, batch_size=25, epochs=5, verbose=0, callbacks=[StopAfterFirst()])
    assert history.epoch == [0]
    assert int(model.optimizer.iterations) == 4


def test_stop_training_set_in_a_batch_hook_ends_the_epoch_early() -> None:
    class StopMidEpoch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.model.stop_training = True

    model = classifier()
    x, y = data(100)
    history = fit(
        model,
        x,
        y,
        batch_size=10,
        epochs=5,
        verbose=0,
        progress_updates=5,
        callbacks=[StopMidEpoch()],
    )
    assert history.epoch == [0]  # the epoch still ends (logs, callbacks), as with model.fit
    assert int(model.optimizer.iterations) == 2  # the first of 5 runs of 2 batches


def test_model_checkpoint_writes_each_epoch(tmp_path: Path) -> None:
    model = classifier()
    x, y = data(100)
    path = tmp_path / "model-{epoch:02d}.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(str(path))
    fit(model, x, y, batch_size=32, epochs=3, verbose=0, callbacks=[checkpoint])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model-01.keras",
        "model-02.keras",
        "model-03.keras",
    ]
    restored = keras.models.load_model(tmp_path / "model-03.keras")
    for a, b in zip(restored.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b)


def test_model_checkpoint_save_best_only_on_val_loss(tmp_path: Path) -> None:
    model = classifier()
    x, y = data(100)
    path = tmp_path / "best.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(str(path), monitor="val_loss", save_best_only=True)
    fit(
        model,
        x,
        y,
        batch_size=32,
        epochs=2,
        validation_split=0.2,
        verbose=0,
        callbacks=[checkpoint],
    )
    assert path.exists()
    assert checkpoint.best < np.inf


def test_csv_logger_writes_one_row_per_epoch(tmp_path: Path) -> None:
    model = classifier()
    x, y = data(100)
    path = tmp_path / "log.csv"
    fit(
        model,
        x,
        y,
        batch_size=32,
        epochs=3,
        validation_split=0.2,
        verbose=0,
        callbacks=[keras.callbacks.CSVLogger(str(path))],
    )
    rows = list(csv.DictReader(path.open()))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    history = model.history.history
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(history["val_loss"])


def test_tensorboard_writes_train_and_validation_events(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="keras.callbacks.TensorBoard needs tensorboard")
    model = classifier()
    x, y = data(100)
    board = keras.callbacks.TensorBoard(log_dir=str(tmp_path))
    fit(model, x, y, batch_size=32, epochs=2, validation_split=0.2, verbose=0, callbacks=[board])
    for part in ("train", "validation"):
        events = list((tmp_path / part).glob("events.out.tfevents.*"))
        assert events and events[0].stat().st_size > 0, part


def test_batch_hooks_run_after_each_in_graph_run() -> None:
    class Batches(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.begins: list[int] = []
            self.ends: list[tuple[int, float]] = []

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            self.begins.append(batch)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.ends.append((batch, logs["loss"]))

    model = classifier()
    x, y = data(105)  # 10 full batches of 10, and a last batch of 5
    batches = Batches()
    fit(model, x, y, batch_size=10, epochs=1, verbose=0, progress_updates=4, callbacks=[batches])
    assert batches.begins == [0, 2, 5, 8]
    assert [b for b, _ in batches.ends] == [1, 4, 7, 10]
    assert all(np.isfinite(loss) for _, loss in batches.ends)
    assert model.history.history["loss"][0] == pytest.approx(batches.ends[-1][1])


def test_progress_bar_shows_loss_and_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    model = classifier()
    x, y = data(100)
    fit(model, x, y, batch_size=10, epochs=2, verbose=1, validation_split=0.2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "loss:" in out and "accuracy:" in out and "val_loss:" in out
    assert "8/8" in out


def test_progress_bar_updates_several_times_per_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    class Slow(keras.callbacks.Callback):  # Progbar skips redraws less than 50 ms apart
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            time.sleep(0.06)

    model = classifier()
    x, y = data(100)
    fit(model, x, y, batch_size=10, epochs=1, verbose=1, progress_updates=5, callbacks=[Slow()])
    out = capsys.readouterr().out
    # Keras' Progbar redraws after a carriage return: one draw per in-graph run of 2 steps.
    shown = re.findall(r"(\d+)/10", out)
    assert sorted(set(shown), key=int) == ["2", "4", "6", "8", "10"]


def test_verbose_zero_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    model = classifier()
    x, y = data(100)
    fit(model, x, y, batch_size=10, epochs=2, verbose=0, validation_split=0.2)
    assert capsys.readouterr().out == ""


def test_verbose_two_prints_one_line_per_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    model = classifier()
    x, y = data(100)
    fit(model, x, y, batch_size=10, epochs=3, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if "loss:" in line]
    assert len(lines) == 3
