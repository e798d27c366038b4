"""``fit``: train a compiled Keras model with whole runs of an epoch in one ``tf.function``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from chainnet._keras_compat import resume_epoch, symbolic_build
from chainnet.training._checks import (
    batch_size_for,
    check_batch_size,
    check_compiled,
    check_count,
    check_dtypes,
    check_labels,
    check_shuffle,
    check_validation_freq,
    check_validation_split,
    check_y,
    class_weight_to_sample_weight,
    should_validate,
    translate_graph_error,
)
from chainnet.training._data import (
    Arrays,
    TensorCache,
    default_max_bytes,
    epoch_order,
    not_in_memory_reason,
    prepare_arrays,
    split_validation,
)
from chainnet.training._loop import Programs, loss_tracker
from chainnet.training._progress import chunk_bounds, python_logs, say

__all__ = ["Trainer", "fit"]


def _strategy_of(model: keras.Model) -> tf.distribute.Strategy | None:
    """The model's ``tf.distribute`` strategy, or None for the default (single-device) one."""
    strategy = model.distribute_strategy  # the one it was made under, else the current one
    if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
        return None  # the default strategy
    return strategy


def _computes_in_float16(model: keras.Model) -> bool:
    """Whether the model, or any layer in it (nested models included), computes in float16."""
    stack: list[Any] = [model]
    while stack:
        layer = stack.pop()
        if keras.backend.standardize_dtype(layer.compute_dtype) == "float16":
            return True
        stack.extend(getattr(layer, "layers", None) or ())
    return False


def scale_float16_loss(model: keras.Model) -> None:
    """Wrap the optimizer in a ``keras.optimizers.LossScaleOptimizer`` when a layer computes in
    float16, as ``compile`` does under a global ``mixed_float16`` policy: any optimizer that is
    not one already, trained before or not (its state is kept: the wrapper trains through
    it). An optimizer that scales the loss by a fixed ``loss_scale_factor`` is left as it is.
    (Keras keeps no record of ``compile``'s ``auto_scale_loss``, so it cannot be honoured
    here.) The model's compile config still names the optimizer it was compiled with: to save
    and load the loss scale with the model, compile with the ``LossScaleOptimizer`` yourself."""
    optimizer = model.optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return
    if getattr(optimizer, "loss_scale_factor", None) is not None:
        return
    if _computes_in_float16(model):
        model.optimizer = keras.optimizers.LossScaleOptimizer(
            optimizer, name="loss_scale_optimizer"
        )


_IN_GRAPH_STRATEGIES = (tf.distribute.MirroredStrategy, tf.distribute.MultiWorkerMirroredStrategy)


def _supported_in_graph(strategy: tf.distribute.Strategy | None) -> bool:
    return strategy is None or type(strategy) in _IN_GRAPH_STRATEGIES


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
        getattr(type(callback), name, None) is not getattr(keras.callbacks.Callback, name)
        for callback in callback_list.callbacks
        for name in names
    )


def _running_loss(model: keras.Model) -> Any:
    """The epoch's running loss total (NaN or inf once any batch loss was), read cheaply."""
    tracker = loss_tracker(model)
    total = getattr(tracker, "total", None)
    if total is not None:
        return total.numpy()
    return python_logs(model.get_metrics_result()).get("loss", 0.0)


@dataclass
class _Schedule:
    """The batches of one ``fit`` call: sizes and step counts, resolved as ``model.fit`` does."""

    batch_size: int
    steps_per_epoch: int | None
    validation_batch_size: int | None
    validation_steps: int | None
    validation_freq: int | list[int]
    said_validation_steps: bool = False


class Trainer:
    """Trains one compiled ``keras.Model``, keeping its compiled ``tf.function``s across calls.

    Each epoch over in-memory data runs as ``progress_updates`` calls of one ``tf.function`` (an
    in-graph shuffle, batches gathered with ``tf.gather``, forward pass, gradients, optimizer
    update and metric updates all in the graph); the progress bar, batch callbacks and the NaN
    check (of the loss, and of the trainable weights, reduced in the graph) run between those
    calls. Anything else is handed to ``model.fit`` (see :func:`fit`).

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
        self._tensor_cache = TensorCache()
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
        shuffle: bool | str = True,
        class_weight: Mapping[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int | Sequence[int] = 1,
        drop_remainder: bool = False,
        seed: int | None = None,
    ) -> keras.callbacks.History:
        """Train like ``model.fit`` (same arguments and result); see :func:`fit`.

        Args:
            x: The inputs (see :func:`fit` for this and every other argument).
            y: The labels, or ``None`` for a model whose loss needs none.
            batch_size: Samples per step.
            epochs: The epoch to stop at.
            verbose: 0, 1, 2 or ``"auto"``.
            callbacks: Keras callbacks.
            validation_split: The fraction of the samples kept apart for validation.
            validation_data: ``(x_val, y_val[, sample_weight_val])`` or a dataset.
            shuffle: ``True``, ``False`` or ``"batch"``.
            class_weight: ``{class id: weight}``.
            sample_weight: One weight per sample.
            initial_epoch: The epoch to start from.
            steps_per_epoch: Batches per epoch, as ``model.fit`` counts them for arrays.
            validation_steps: Validate on the first ``validation_steps`` batches only.
            validation_batch_size: Samples per validation step (default ``batch_size``).
            validation_freq: Validate every ``n`` epochs, or after the epochs listed.
            drop_remainder: Skip the smaller last batch of each epoch.
            seed: Seeds the in-graph shuffle.

        Returns:
            The run's ``History``.
        """
        model = self.model
        check_compiled(model)
        scale_float16_loss(model)
        check_count(batch_size, "batch_size")
        epochs = check_count(epochs, "epochs", minimum=0, optional=False)  # type: ignore[assignment]
        initial_epoch = check_count(  # type: ignore[assignment]
            initial_epoch, "initial_epoch", minimum=0, optional=False
        )
        validation_split = check_validation_split(validation_split)
        shuffle = check_shuffle(shuffle)
        steps_per_epoch = check_count(steps_per_epoch, "steps_per_epoch")
        validation_steps = check_count(validation_steps, "validation_steps")
        validation_batch_size = check_count(validation_batch_size, "validation_batch_size")
        validation_freq = check_validation_freq(validation_freq)
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
            steps_per_epoch=steps_per_epoch,
            validation_steps=validation_steps,
            validation_batch_size=validation_batch_size,
            validation_freq=validation_freq,
        )
        reason = self._fallback_reason(x, y, sample_weight)
        if reason:
            return self._fallback(reason, fit_args, drop_remainder)
        data = prepare_arrays(x, y, sample_weight)
        check_y(model, data)
        check_dtypes(model, data)
        check_labels(model, data)
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
                check_y(model, validation, "validation ")
                check_dtypes(model, validation, "validation ")
                check_labels(model, validation, "validation ")
            else:
                validation_other = validation_data
        elif validation_split:
            data, validation = split_validation(data, validation_split)
        if class_weight is not None:
            weights = class_weight_to_sample_weight(data.y, class_weight, data.sample_weight)
            data = Arrays(data.x, data.y, weights, data.num_samples)
        train_batch_size = check_batch_size(
            batch_size_for(batch_size, data.num_samples, steps_per_epoch),
            data.num_samples,
            drop_remainder,
        )
        # model.fit: ``validation_batch_size or batch_size``, as given (None: inferred again)
        val_batch_size = validation_batch_size or batch_size
        if validation is not None:
            val_batch_size = batch_size_for(
                val_batch_size, validation.num_samples, validation_steps
            )
        schedule = _Schedule(
            batch_size=train_batch_size,
            steps_per_epoch=steps_per_epoch,
            validation_batch_size=val_batch_size,
            validation_steps=validation_steps,
            validation_freq=validation_freq,
        )
        return self._fit_in_graph(
            data,
            validation,
            validation_other,
            schedule,
            int(epochs),
            verbose,
            callbacks,
            shuffle,
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
        schedule: _Schedule,
        epochs: int,
        verbose: int | str,
        callbacks: Sequence[keras.callbacks.Callback] | None,
        shuffle: bool | str,
        initial_epoch: int,
        drop_remainder: bool,
        seed: int | None,
    ) -> keras.callbacks.History:
        model = self.model
        strategy = _strategy_of(model)
        self._build(data, strategy)
        programs = self._get_programs(strategy)
        tensors = data.tensors(self._tensor_cache)
        batch_size = schedule.batch_size
        full, remainder = divmod(data.num_samples, batch_size)
        tail = remainder > 0 and not drop_remainder
        num_batches = full + int(tail)  # the batches of one pass over the data
        steps = schedule.steps_per_epoch or num_batches
        if seed is None and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            seed = 0  # every worker must shuffle alike: a fixed seed, not each one's own draw
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        val_tensors = val_order = None
        if validation is not None:
            val_tensors = validation.tensors(self._tensor_cache)
            val_order = epoch_order(validation.num_samples, 0, 0, shuffle=False)
        self._tensor_cache.keep_only_used()

        callback_list = keras.callbacks.CallbackList(
            callbacks,
            add_history=True,
            add_progbar=verbose != 0,
            verbose=verbose,
            epochs=epochs,
            steps=steps,
            model=model,
        )
        batch_hooks = _has_batch_hooks(callback_list)
        # Runs of steps exist for whoever watches them (the progress bar, batch callbacks); an
        # unwatched epoch is one call, as a call costs about a millisecond.
        updates = self.progress_updates if batch_hooks else 1
        longest = max(stop - start for start, stop in chunk_bounds(min(steps, full), updates))
        defer = longest > 0 and programs.can_defer(data.head(1)[0], longest * batch_size)
        model.stop_training = False
        callback_list.on_train_begin()
        initial_epoch = resume_epoch(model) or initial_epoch
        training_logs: dict[str, Any] | None = None
        # With steps_per_epoch, epochs take the next `steps` batches of the current pass over
        # the data, as model.fit does: pass p's order is epoch_order(n, seed, p), p counted from
        # initial_epoch, and an epoch that reaches the end of a pass stops there.
        pass_index, cursor = initial_epoch, 0
        order: tf.Tensor | None = None
        ran_out_said = False
        for epoch in range(initial_epoch, epochs):
            model.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            snapshot = self._snapshot()
            if schedule.steps_per_epoch is None:
                pass_index, cursor = epoch, 0
            if cursor == 0 or order is None:
                order = epoch_order(data.num_samples, seed, pass_index, shuffle, batch_size)
            first = cursor
            last_batch = min(first + steps, num_batches)
            full_stop = min(last_batch, full)
            with_tail = tail and last_batch > full
            bounds = [(first + a, first + b) for a, b in chunk_bounds(full_stop - first, updates)]
            logs: dict[str, Any] = {}
            loss_diverged = weights_diverged = False
            for k, (start, stop) in enumerate(bounds):
                run_tail = with_tail and k == len(bounds) - 1
                end = stop + int(run_tail)  # batches of this pass done after this run
                if batch_hooks:
                    callback_list.on_train_batch_begin(start - first)
                finite = self._run_program(
                    programs.train,
                    tensors,
                    order,
                    tf.constant(start),
                    tf.constant(stop),
                    batch_size,
                    run_tail,
                    defer and stop > start,
                )
                cursor = end
                if batch_hooks:
                    logs = python_logs(model.get_metrics_result())
                    callback_list.on_train_batch_end(end - first - 1, logs)
                loss_diverged = not np.all(np.isfinite(_running_loss(model)))
                weights_diverged = not bool(finite)
                if loss_diverged or weights_diverged or model.stop_training:
                    break
            if cursor >= num_batches:
                pass_index, cursor = pass_index + 1, 0
            logs = python_logs(model.get_metrics_result())
            if loss_diverged or weights_diverged:
                self._restore(snapshot)
                if loss_diverged:
                    what = f"the loss became {logs.get('loss')}"
                else:
                    what = (
                        "the weights became NaN or inf (the loss stayed finite; look for NaN "
                        "or inf in the input data)"
                    )
                say(
                    f"chainnet.training.fit: {what} in epoch {epoch + 1}; training stopped and "
                    "the weights (and optimizer state) were restored to their values at the "
                    "start of that epoch, the end of the last good one.",
                    verbose=1,
                )
                model.stop_training = True
                break
            done = (cursor or num_batches) - first
            ran_out = bool(schedule.steps_per_epoch) and done < steps and not model.stop_training
            if ran_out and not ran_out_said:
                ran_out_said = True
                warnings.warn(
                    f"steps_per_epoch={steps}, but one pass over the {data.num_samples} "
                    f"training samples is {num_batches} batch(es) of {batch_size}: as with "
                    f"model.fit, epoch {epoch + 1} ran out of data after {done} step(s), "
                    "and an epoch that reaches the end of a pass always stops there; the "
                    "next epoch starts a new pass. Use a steps_per_epoch that divides "
                    f"{num_batches} to keep the epochs equal.",
                    UserWarning,
                    stacklevel=4,
                )
            validating = validation is not None or validation_other is not None
            if validating and should_validate(epoch, schedule.validation_freq):
                logs.update(
                    self._validate(
                        validation,
                        val_tensors,
                        val_order,
                        validation_other,
                        schedule,
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

    @staticmethod
    def _run_program(program: Any, *args: Any) -> Any:
        """Run a compiled program; the graph errors bad data causes become a ChainError."""
        try:
            return program(*args)
        except (ValueError, tf.errors.InvalidArgumentError) as error:
            translated = translate_graph_error(error)
            if translated is None:
                raise
            raise translated from None

    def _validate(
        self,
        validation: Arrays | None,
        tensors: Any,
        order: tf.Tensor | None,
        other: Any,
        schedule: _Schedule,
        callback_list: keras.callbacks.CallbackList,
    ) -> dict[str, Any]:
        steps = schedule.validation_steps
        if validation is None:
            results = self.model.evaluate(other, steps=steps, verbose=0, return_dict=True)
            return {f"val_{k}": v for k, v in python_logs(results).items()}
        assert self._programs is not None and order is not None
        batch_size = schedule.validation_batch_size
        assert batch_size is not None
        num_batches = -(-validation.num_samples // batch_size)
        if steps is not None and steps < num_batches:
            # the first `steps` batches, as model.fit evaluates them (in order, every time)
            order = order[: steps * batch_size]
        elif steps is not None and steps > num_batches and not schedule.said_validation_steps:
            schedule.said_validation_steps = True
            warnings.warn(
                f"validation_steps={steps}, but the {validation.num_samples} validation samples "
                f"make {num_batches} batch(es) of {batch_size}: as with model.fit, each "
                f"validation runs out of data after {num_batches} step(s).",
                UserWarning,
                stacklevel=5,
            )
        count = int(order.shape[0])
        full, remainder = divmod(count, batch_size)
        self.model.reset_metrics()
        callback_list.on_test_begin()
        programs = self._programs
        defer = full > 0 and programs.can_defer(validation.head(1)[0], full * batch_size)
        self._run_program(programs.evaluate, tensors, order, batch_size, remainder > 0, defer)
        logs = python_logs(self.model.get_metrics_result())
        callback_list.on_test_end(logs)
        return {f"val_{k}": v for k, v in logs.items()}

    def _build(self, data: Arrays, strategy: tf.distribute.Strategy | None) -> None:
        """Create the model's, metrics' and optimizer's variables before the first trace."""
        batch = data.head(min(2, data.num_samples))
        try:
            if strategy is None:
                symbolic_build(self.model, batch)
            else:
                with strategy.scope():
                    symbolic_build(self.model, batch)
        except (ValueError, TypeError, RuntimeError, NotImplementedError):
            if strategy is not None:
                raise
            # Left to the first trace, as model.fit does without a strategy.

    def _get_programs(self, strategy: tf.distribute.Strategy | None) -> Programs:
        model = self.model
        key = (
            id(model.optimizer),
            *(id(metric) for metric in model.metrics),  # new trackers at each compile
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
            if not arrays:
                extra = " (drop_remainder and seed do not apply there)"
            elif drop_remainder:
                # model.fit cannot drop it: over arrays, its steps_per_epoch goes on into the
                # next epoch (the smaller last batch included) rather than skipping batches.
                extra = " (seed and drop_remainder do not apply there: it trains the last batch)"
            else:
                extra = " (seed does not apply there)"
            say(
                f"chainnet.training.fit: {reason}, so training runs with model.fit{extra}.",
                fit_args["verbose"],
            )
        if not arrays:
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
    shuffle: bool | str = True,
    class_weight: Mapping[int, float] | None = None,
    sample_weight: Any = None,
    initial_epoch: int = 0,
    steps_per_epoch: int | None = None,
    validation_steps: int | None = None,
    validation_batch_size: int | None = None,
    validation_freq: int | Sequence[int] = 1,
    drop_remainder: bool = False,
    seed: int | None = None,
    progress_updates: int = 10,
    jit_compile: bool = False,
) -> keras.callbacks.History:
    """Train a compiled ``keras.Model`` several times faster than ``model.fit`` on in-memory data.

    Takes every argument of ``model.fit``, with its meaning, and returns its ``History``; uses
    the model's compiled optimizer, loss (plus ``model.losses``) and metrics. For NumPy arrays
    or tensors (or lists/dicts of them) each epoch runs as ``progress_updates`` calls of one
    ``tf.function``: shuffle (seeded by ``seed`` and the epoch), ``tf.gather`` batching,
    forward, gradient, update and metrics all stay in the graph, and so do ``steps_per_epoch``,
    ``validation_steps``, ``validation_batch_size`` and ``validation_freq``. NumPy arrays
    become tensors without a copy when they are aligned as TensorFlow needs (see
    :func:`aligned_empty`; ``chainnet.datasets``' arrays are); any other array is copied once,
    and the copy is kept for the next call on the same array and refreshed with its current
    values (an edit in place between calls is trained on). ``batch_size``
    defaults to 32; a smaller last batch is trained unless ``drop_remainder=True``. Keras
    callbacks run at epoch boundaries (batch callbacks and the progress bar after each chunk).
    If the loss, or any trainable weight, becomes NaN or inf, training stops and the weights
    of the last good epoch are restored. When a layer computes in float16 (built with
    ``dtype="mixed_float16"``, for instance under ``cn.defaults(dtype="mixed_float16")``), the
    optimizer is wrapped in a ``keras.optimizers.LossScaleOptimizer`` before the first step,
    as ``compile`` does under a global ``mixed_float16`` policy.

    Falls back to ``model.fit`` (saying so once) for a ``tf.data.Dataset``, a generator or
    ``PyDataset``, data larger than a quarter of the machine's memory, ``run_eagerly=True``, or
    a ``tf.distribute`` strategy other than ``MirroredStrategy`` and
    ``MultiWorkerMirroredStrategy`` (both train in the graph; under the multi-worker one a
    missing ``seed`` is 0, so that every worker shuffles alike).

    Args:
        model: A compiled ``keras.Model``, such as ``chain.model()`` returns.
        x: The inputs: an array, a list or dict of arrays, or (falling back to ``model.fit``) a
            ``tf.data.Dataset``, generator or ``PyDataset``.
        y: The labels (targets), shaped like ``x``'s samples. ``None`` for a model whose loss
            needs none (a chainnet head trained with ``fit(model, [x, labels], None)``) or for
            a dataset that holds them.
        batch_size: Samples per step; default 32, or, with ``steps_per_epoch``, enough for that
            many steps to cover the data (as ``model.fit``).
        epochs: The epoch to stop at (exclusive, counted from 0 as ``initial_epoch``).
        verbose: 0 (silent), 1 or ``"auto"`` (progress bar), 2 (one line per epoch).
        callbacks: Keras callbacks.
        validation_split: A fraction in ``[0, 1)`` of the samples, taken from the end of ``x``
            and ``y`` before shuffling, kept apart for validation.
        validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)`` (or a
            ``tf.data.Dataset``, evaluated with ``model.evaluate``).
        shuffle: ``True`` to shuffle the samples before each epoch, ``False`` to keep their
            order, ``"batch"`` to keep the batches in order and shuffle within each.
        class_weight: ``{class id: weight}``, turned into per-sample weights.
        sample_weight: One weight per sample (or one array per output).
        initial_epoch: The epoch to start from (to resume a run).
        steps_per_epoch: Steps (batches) per epoch, as in ``model.fit`` for arrays: each epoch
            takes the next ``steps_per_epoch`` batches of the current pass over the data, a
            new (reshuffled) pass starting when one is used up; an epoch that reaches the end
            of a pass stops there, with a warning. ``None``: one pass per epoch.
        validation_steps: Validate on the first ``validation_steps`` batches of the validation
            data only (``None``: all of it).
        validation_batch_size: Samples per validation step; default ``batch_size`` (then 32,
            or enough for ``validation_steps`` to cover the validation data).
        validation_freq: Validate after every ``n``-th epoch (an int), or after the epochs
            listed (a list of epoch numbers counted from 1).
        drop_remainder: Skip the smaller last batch of each epoch (in-graph path only).
        seed: Seeds the in-graph shuffle; drawn from NumPy's global generator when ``None``.
        progress_updates: How many times per epoch the progress bar and batch callbacks are
            updated (each update ends one in-graph run of steps).
        jit_compile: Compile the in-graph runs with XLA.

    Returns:
        The ``keras.callbacks.History`` of the run (``model.history``).

    Raises:
        chainnet.ChainError: For arguments or data ``model.fit`` would reject or misread: the
            message names the argument, what was expected and what was given.

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
        steps_per_epoch=steps_per_epoch,
        validation_steps=validation_steps,
        validation_batch_size=validation_batch_size,
        validation_freq=validation_freq,
        drop_remainder=drop_remainder,
        seed=seed,
    )
