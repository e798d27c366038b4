"""What the in-graph path cannot do goes to model.fit, said once; and import hygiene."""

from __future__ import annotations

import ast
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from training_helpers import classifier, data

import chainnet.training
from chainnet.training import Trainer, fit
from chainnet.training._fit import _TRAINER_ATTRIBUTE


@pytest.fixture
def fit_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Records every call of keras.Model.fit (and still runs it)."""
    calls: list[dict[str, Any]] = []
    original = keras.Model.fit

    def spy(self: keras.Model, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    yield calls


def test_in_memory_data_does_not_use_model_fit(
    fit_calls: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = data(50)
    model = classifier()
    fit(model, x, y, batch_size=10, epochs=1, verbose=1)
    assert fit_calls == []
    assert "model.fit" not in capsys.readouterr().out
    assert getattr(model, _TRAINER_ATTRIBUTE)._programs is not None


def test_dataset_falls_back_to_model_fit_and_says_so_once(
    fit_calls: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = data(50)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    model = classifier()
    history = fit(model, dataset, epochs=2, verbose=1)
    fit(model, dataset, epochs=1, verbose=1)
    out = capsys.readouterr().out
    message = "chainnet.training.fit: x is a tf.data.Dataset, so training runs with model.fit"
    assert out.count(message) == 1
    assert len(fit_calls) == 2
    assert fit_calls[0]["epochs"] == 2
    assert len(history.history["loss"]) == 2
    assert int(model.optimizer.iterations) == 15
    assert getattr(model, _TRAINER_ATTRIBUTE)._programs is None


def test_fallback_is_silent_at_verbose_zero(
    fit_calls: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = data(20)
    fit(classifier(), tf.data.Dataset.from_tensor_slices((x, y)).batch(5), verbose=0)
    assert len(fit_calls) == 1
    assert capsys.readouterr().out == ""


def test_generator_and_py_dataset_fall_back(fit_calls: list[dict[str, Any]]) -> None:
    x, y = data(40)

    class Batches(keras.utils.PyDataset):
        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
            return x[i * 10 : (i + 1) * 10], y[i * 10 : (i + 1) * 10]

    def generator() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for i in range(4):
            yield x[i * 10 : (i + 1) * 10], y[i * 10 : (i + 1) * 10]

    model = classifier()
    fit(model, Batches(), epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 4
    fit(model, generator(), epochs=1, verbose=0)
    assert len(fit_calls) == 2
    assert int(model.optimizer.iterations) > 4


def test_data_over_the_memory_limit_falls_back_with_the_same_arguments(
    fit_calls: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = data(100)
    model = classifier()
    trainer = Trainer(model, max_in_memory_bytes=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "ran out of data" from a made-up steps_per_epoch
        history = trainer.fit(
            x,
            y,
            batch_size=16,
            epochs=2,
            drop_remainder=True,
            validation_split=0.2,
            validation_batch_size=7,
            validation_freq=[2],
            verbose=1,
        )
    out = capsys.readouterr().out
    assert "more than max_in_memory_bytes" in out
    assert "drop_remainder do not apply there" in out
    (call,) = fit_calls
    assert call["batch_size"] == 16 and call["validation_split"] == 0.2
    assert call["validation_batch_size"] == 7 and call["validation_freq"] == [2]
    # model.fit cannot drop the remainder of arrays: its steps_per_epoch would go on into the
    # next epoch instead (a 1-step epoch of the last batch)
    assert call["steps_per_epoch"] is None
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(history.history["loss"]) == 2 and len(history.history["val_loss"]) == 1


def test_run_eagerly_falls_back(fit_calls: list[dict[str, Any]]) -> None:
    x, y = data(20)
    model = classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", run_eagerly=True)
    fit(model, x, y, batch_size=10, verbose=0)
    assert len(fit_calls) == 1


def test_validation_dataset_is_evaluated_with_evaluate(fit_calls: list[dict[str, Any]]) -> None:
    x, y = data(60)
    xv, yv = data(30, seed=2)
    model = classifier()
    val = tf.data.Dataset.from_tensor_slices((xv, yv)).batch(8)
    history = fit(model, x, y, batch_size=16, epochs=1, validation_data=val, verbose=0)
    assert fit_calls == []  # training stays in-graph
    expected = model.evaluate(val, verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-6)


def test_memmap_falls_back(tmp_path: Path, fit_calls: list[dict[str, Any]]) -> None:
    x, y = data(20)
    mapped = np.memmap(tmp_path / "x.dat", dtype="float32", mode="w+", shape=x.shape)
    mapped[:] = x
    fit(classifier(), mapped, y, batch_size=10, verbose=0)
    assert len(fit_calls) == 1


def test_training_package_imports_only_tensorflow_keras_numpy_and_itself() -> None:
    """Besides itself, only the bottom of chainnet (layers 1 and 2 of docs/architecture.md): its
    errors, the private Keras internals it needs, aligned host memory, and the head layers
    whose labels ``fit`` checks."""
    allowed = {"tensorflow", "keras", "numpy", "chainnet", "__future__"}
    below = (
        "chainnet.training",
        "chainnet._aligned",
        "chainnet._errors",
        "chainnet._keras_compat",
        "chainnet.layers.losses",
    )
    package = Path(chainnet.training.__file__).parent
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in sys.stdlib_module_names, f"{path.name}: {name}"
                if top == "chainnet":
                    assert name.startswith(below), f"{path.name}: {name}"
