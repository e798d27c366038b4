"""``fit``: train a compiled Keras model with whole runs of an epoch in one ``tf.function``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from chainnet.training._checks import (
    check_batch_size,
    check_compiled,
    check_labels,
    class_weight_to_sample_weight,
)
from chainnet.training._data import (
    Arrays,
    default_max_bytes,
    epoch_order,
    not_in_memory_reason,
    prepare_arrays,
    split_validation,
)
from chainnet.training._loop import Programs
from chainnet.training._progress import chunk_bounds, python_logs, say

__all__ = ["Trainer", "fit"]

_DEFAULT_BATCH_SIZE = 32


def _strategy_of(model: keras.Model) -> tf.distribute.Strategy | None:
    """The model's ``tf.distribute`` strategy, or None for the default (single-device) one."""
    strategy = getattr(model, "_distribute_strategy", None)
    if strategy is None and tf.distribute.has_strategy():
        strategy = tf.distribute.get_strategy()
    return strategy


def _supported_in_graph(strategy: tf.distribute.Strategy | None) -> bool:
    return strategy is None or type(strategy) is tf.distribute.MirroredStrategy


def _unpack_validation(validation_data: Any) -> tuple[Any, Any, Any]:
    if isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3):
        x, y, *rest = validation_data
        return x, y, (rest[0] if rest else None)
    raise ValueError(
        "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val), "
        f"or a tf.data.Dataset: got {type(validation_data).__name__}"
        + (f" of length {len(validation_data)}" if isinstance(validation_data, Sequence) else "")
    )


def _has_batch_hooks(callback_list: keras.callbacks.CallbackList) -> bool:
    """Whether any callback (the progress bar included) acts on training batches."""
    names = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")
    return any(
        not getattr(getattr(callback, name, None), "_is_default", False)
        for callback in callback_list.callbacks
        for name in names
    )


def _running_loss(model: keras.Model) -> Any:
    """The epoch's running loss total (NaN or inf once any batch loss was), read cheaply."""
    tracker = getattr(model, "_loss_tracker", None)
    total = getattr(tracker, "total", None)
    if total is not None:
        return total.numpy()
    return python_logs(model.get_metrics_result()).get("loss", 0.0)


class Trainer:
    """Trains one compiled ``keras.Model``, keeping its compiled ``tf.function``s across calls.

    Each epoch over in-memory data runs as ``progress_updates`` calls of one ``tf.function`` (an
    in-graph shuffle, batches gathered with ``tf.gather``, forward pass, gradients, optimizer
    update and metric updates all in the graph); the progress bar, batch callbacks and the NaN
    check run between those calls. Anything else is handed to ``model.fit`` (see :func:`fit`).

    Examples:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "softmax")])
        >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
        ...               metrics=["accuracy"])
        >>> trainer = Trainer(model)
        >>> x, y = np.random.rand(64, 4), np.random.randint(0, 3, 64)
        >>> history = trainer.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=0)
        >>> sorted(history.history), len(history.history["loss"])
        (['accuracy', 'loss'], 2)
    """

    def __init__(
        self,
        model: keras.Model,
        *,
        progress_updates: int = 10,
        jit_compile: bool = False,
        max_in_memory_bytes: int | None = None,
    ) -> None:
        check_compiled(model)
        chunk_bounds(1, progress_updates)  # validates it
        self.model = model
        self.progress_updates = progress_updates
        self.jit_compile = jit_compile
        self.max_in_memory_bytes = (
            default_max_bytes() if max_in_memory_bytes is None else int(max_in_memory_bytes)
        )
        self._programs: Programs | None = None
        self._programs_key: tuple[Any, ...] = ()
        self._said: set[str] = set()

    # -- public --------------------------------------------------------------------------
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        *,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int | str = "auto",
        callbacks: Sequence[keras.callbacks.Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: Mapping[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        drop_remainder: bool = False,
        seed: int | None = None,
    ) -> keras.callbacks.History:
        """Train like ``model.fit`` (same arguments and result); see :func:`fit`."""
        model = self.model
        check_compiled(model)
        fit_args: dict[str, Any] = dict(
            x=x,
            y=y,
            batch_size=batch_size,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            validation_data=validation_data,
            shuffle=shuffle,
            class_weight=class_weight,
            sample_weight=sample_weight,
            initial_epoch=initial_epoch,
        )
        reason = self._fallback_reason(x, y, sample_weight)
        if reason:
            return self._fallback(reason, fit_args, drop_remainder)
        data = prepare_arrays(x, y, sample_weight)
        if data.nbytes > self.max_in_memory_bytes:
            reason = (
                f"the training data takes {data.nbytes / 2**20:.0f} MiB, more than "
                f"max_in_memory_bytes={self.max_in_memory_bytes / 2**20:.0f} MiB"
            )
            return self._fallback(reason, fit_args, drop_remainder, num_samples=data.num_samples)

        validation: Arrays | None = None
        validation_other: Any = None  # validation data that is not in memory: model.evaluate
        if validation_data is not None:
            if not_in_memory_reason(validation_data, "validation_data") is None:
                vx, vy, vsw = _unpack_validation(validation_data)
                validation = prepare_arrays(vx, vy, vsw, what="validation data")
            else:
                validation_other = validation_data
        elif validation_split:
            data, validation = split_validation(data, validation_split)
        if class_weight is not None:
            weights = class_weight_to_sample_weight(data.y, class_weight, data.sample_weight)
            data = Arrays(data.x, data.y, weights, data.num_samples)
        check_labels(model, data, "y")
        if validation is not None:
            check_labels(model, validation, "validation y")
        batch_size = check_batch_size(
            _DEFAULT_BATCH_SIZE if batch_size is None else batch_size,
            data.num_samples,
            drop_remainder,
        )
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative int: got {epochs!r}")
        return self._fit_in_graph(
            data,
            validation,
            validation_other,
            batch_size,
            int(epochs),
            verbose,
            callbacks,
            bool(shuffle),
            int(initial_epoch),
            bool(drop_remainder),
            seed,
        )

    # -- the in-graph path -------------------------------------------------------------------
    def _fit_in_graph(
        self,
        data: Arrays,
        validation: Arrays | None,
        validation_other: Any,
        batch_size: int,
        epochs: int,
        verbose: int | str,
        callbacks: Sequence[keras.callbacks.Callback] | None,
        shuffle: bool,
        initial_epoch: int,
        drop_remainder: bool,
        seed: int | None,
    ) -> keras.callbacks.History:
        model = self.model
        strategy = _strategy_of(model)
        self._build(data, strategy)
        programs = self._get_programs(strategy)
        tensors = data.tensors()
        full, remainder = divmod(data.num_samples, batch_size)
        tail = remainder > 0 and not drop_remainder
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        val_tensors = val_order = None
        if validation is not None:
            val_tensors = validation.tensors()
            val_order = epoch_order(validation.num_samples, 0, 0, shuffle=False)

        callback_list = keras.callbacks.CallbackList(
            callbacks,
            add_history=True,
            add_progbar=verbose != 0,
            verbose=verbose,
            epochs=epochs,
            steps=full + int(tail),
            model=model,
        )
        batch_hooks = _has_batch_hooks(callback_list)
        # Runs of steps exist for whoever watches them (the progress bar, batch callbacks); an
        # unwatched epoch is one call, as a call costs about a millisecond.
        bounds = chunk_bounds(full, self.progress_updates if batch_hooks else 1)
        longest = max(stop - start for start, stop in bounds)
        defer = longest > 0 and programs.can_defer(data.head(1)[0], longest * batch_size)
        model.stop_training = False
        callback_list.on_train_begin()
        initial_epoch = getattr(model, "_initial_epoch", None) or initial_epoch
        training_logs: dict[str, Any] | None = None
        for epoch in range(initial_epoch, epochs):
            model.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            snapshot = self._snapshot()
            order = epoch_order(data.num_samples, seed, epoch, shuffle)
            logs: dict[str, Any] = {}
            diverged = False
            for k, (start, stop) in enumerate(bounds):
                last = k == len(bounds) - 1
                end = stop + int(tail and last)  # batches done after this run
                if batch_hooks:
                    callback_list.on_train_batch_begin(start)
                programs.train(
                    tensors,
                    order,
                    tf.constant(start),
                    tf.constant(stop),
                    batch_size,
                    tail and last,
                    defer and stop > start,
                )
                if batch_hooks:
                    logs = python_logs(model.get_metrics_result())
                    callback_list.on_train_batch_end(end - 1, logs)
                diverged = not np.all(np.isfinite(_running_loss(model)))
                if diverged or model.stop_training:
                    break
            logs = python_logs(model.get_metrics_result())
            if diverged:
                self._restore(snapshot)
                say(
                    f"chainnet.training.fit: the loss became {logs.get('loss')} in epoch "
                    f"{epoch + 1}; "
                    "training stopped and the weights (and optimizer state) were restored to "
                    "their values at the start of that epoch, the end of the last good one.",
                    verbose=1,
                )
                model.stop_training = True
                break
            if validation is not None or validation_other is not None:
                logs.update(
                    self._validate(
                        validation,
                        val_tensors,
                        val_order,
                        validation_other,
                        batch_size,
                        callback_list,
                    )
                )
            callback_list.on_epoch_end(epoch, logs)
            training_logs = logs
            if model.stop_training:
                break
        if isinstance(model.optimizer, keras.optimizers.Optimizer) and epochs > 0:
            model.optimizer.finalize_variable_values(model.trainable_weights)
        callback_list.on_train_end(logs=training_logs)
        history: keras.callbacks.History = model.history
        return history

    def _validate(
        self,
        validation: Arrays | None,
        tensors: Any,
        order: tf.Tensor | None,
        other: Any,
        batch_size: int,
        callback_list: keras.callbacks.CallbackList,
    ) -> dict[str, Any]:
        if validation is None:
            results = self.model.evaluate(other, verbose=0, return_dict=True)
            return {f"val_{k}": v for k, v in python_logs(results).items()}
        assert self._programs is not None
        self.model.reset_metrics()
        callback_list.on_test_begin()
        full, remainder = divmod(validation.num_samples, batch_size)
        defer = full > 0 and self._programs.can_defer(validation.head(1)[0], full * batch_size)
        self._programs.evaluate(tensors, order, batch_size, remainder > 0, defer)
        logs = python_logs(self.model.get_metrics_result())
        callback_list.on_test_end(logs)
        return {f"val_{k}": v for k, v in logs.items()}

    def _build(self, data: Arrays, strategy: tf.distribute.Strategy | None) -> None:
        """Create the model's, metrics' and optimizer's variables before the first trace."""
        build = getattr(self.model, "_symbolic_build", None)
        if build is None:
            return
        batch = data.head(min(2, data.num_samples))
        try:
            if strategy is None:
                build(data_batch=batch)
            else:
                with strategy.scope():
                    build(data_batch=batch)
        except (ValueError, TypeError, RuntimeError, NotImplementedError):
            if strategy is not None:
                raise
            # Left to the first trace, as model.fit does without a strategy.

    def _get_programs(self, strategy: tf.distribute.Strategy | None) -> Programs:
        model = self.model
        key = (
            id(model.optimizer),
            id(getattr(model, "_compile_loss", None)),
            id(getattr(model, "_compile_metrics", None)),
            id(strategy),
            self.jit_compile,
        )
        if self._programs is None or key != self._programs_key:
            self._programs = Programs(model, strategy, self.jit_compile)
            self._programs_key = key
        return self._programs

    def _variables(self) -> list[Any]:
        optimizer_variables = list(getattr(self.model.optimizer, "variables", []))
        return list(self.model.weights) + optimizer_variables

    def _snapshot(self) -> list[tuple[Any, np.ndarray]]:
        return [(v, np.array(v.numpy(), copy=True)) for v in self._variables()]

    @staticmethod
    def _restore(snapshot: list[tuple[Any, np.ndarray]]) -> None:
        for variable, value in snapshot:
            variable.assign(value)

    # -- the fallback -------------------------------------------------------------------------
    def _fallback_reason(self, x: Any, y: Any, sample_weight: Any) -> str | None:
        for value, name in ((x, "x"), (y, "y"), (sample_weight, "sample_weight")):
            reason = not_in_memory_reason(value, name)
            if reason:
                return reason
        if getattr(self.model, "run_eagerly", False):
            return "the model was compiled with run_eagerly=True"
        strategy = _strategy_of(self.model)
        if not _supported_in_graph(strategy):
            return f"the model uses a {type(strategy).__name__}, which runs through model.fit"
        return None

    def _fallback(
        self,
        reason: str,
        fit_args: dict[str, Any],
        drop_remainder: bool,
        num_samples: int | None = None,
    ) -> keras.callbacks.History:
        arrays = num_samples is not None or not_in_memory_reason(fit_args["x"], "x") is None
        if reason not in self._said:
            self._said.add(reason)
            extra = "" if arrays else " (drop_remainder and seed do not apply there)"
            say(
                f"chainnet.training.fit: {reason}, so training runs with model.fit{extra}.",
                fit_args["verbose"],
            )
        if arrays:
            fit_args["batch_size"] = fit_args["batch_size"] or _DEFAULT_BATCH_SIZE
            if drop_remainder and num_samples is not None:
                fit_args["steps_per_epoch"] = max(1, num_samples // fit_args["batch_size"])
        else:
            fit_args["shuffle"] = False  # ignored (a Dataset sets its own order), and quiet
        history: keras.callbacks.History = self.model.fit(**fit_args)
        return history


# The trainer lives on its model, as Keras keeps ``model.train_function``: no module state.
_TRAINER_ATTRIBUTE = "_chainnet_trainer"


def fit(
    model: keras.Model,
    x: Any = None,
    y: Any = None,
    *,
    batch_size: int | None = None,
    epochs: int = 1,
    verbose: int | str = "auto",
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    validation_split: float = 0.0,
    validation_data: Any = None,
    shuffle: bool = True,
    class_weight: Mapping[int, float] | None = None,
    sample_weight: Any = None,
    initial_epoch: int = 0,
    drop_remainder: bool = False,
    seed: int | None = None,
    progress_updates: int = 10,
    jit_compile: bool = False,
) -> keras.callbacks.History:
    """Train a compiled ``keras.Model`` several times faster than ``model.fit`` on in-memory data.

    Takes ``model.fit``'s arguments and returns its ``History``; uses the model's compiled
    optimizer, loss (plus ``model.losses``) and metrics. For NumPy arrays or tensors (or
    lists/dicts of them) each epoch runs as ``progress_updates`` calls of one ``tf.function``:
    shuffle (seeded by ``seed`` and the epoch), ``tf.gather`` batching, forward, gradient,
    update and metrics all stay in the graph. ``batch_size`` defaults to 32; a smaller last
    batch is trained unless ``drop_remainder=True``. Keras callbacks run at epoch boundaries
    (batch callbacks and the progress bar after each chunk). If the loss becomes NaN or inf,
    training stops and the weights of the last good epoch are restored.

    Falls back to ``model.fit`` (saying so once) for a ``tf.data.Dataset``, a generator or
    ``PyDataset``, data larger than a quarter of the machine's memory, ``run_eagerly=True``, or
    a ``tf.distribute`` strategy other than ``MirroredStrategy``.

    Examples:
        >>> import keras, numpy as np
        >>> from chainnet.training import fit
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, "softmax")])
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
        ...               metrics=["accuracy"])
        >>> x, y = np.random.rand(100, 8), np.random.randint(0, 2, 100)
        >>> history = fit(model, x, y, batch_size=32, epochs=3, validation_split=0.2,
        ...               verbose=0, seed=1)
        >>> sorted(history.history)
        ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    """
    check_compiled(model)
    trainer = getattr(model, _TRAINER_ATTRIBUTE, None)
    if not isinstance(trainer, Trainer):
        trainer = Trainer(model, progress_updates=progress_updates, jit_compile=jit_compile)
        # object.__setattr__: a plain attribute, outside Keras' tracking of layers and weights
        object.__setattr__(model, _TRAINER_ATTRIBUTE, trainer)
    chunk_bounds(1, progress_updates)  # validates it
    trainer.progress_updates = progress_updates
    trainer.jit_compile = jit_compile
    return trainer.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        verbose=verbose,
        callbacks=callbacks,
        validation_split=validation_split,
        validation_data=validation_data,
        shuffle=shuffle,
        class_weight=class_weight,
        sample_weight=sample_weight,
        initial_epoch=initial_epoch,
        drop_remainder=drop_remainder,
        seed=seed,
    )
