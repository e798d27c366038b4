"""The compiled programs: many training (or evaluation) steps inside one ``tf.function``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from chainnet._keras_compat import flatten_layers

__all__ = ["Programs", "loss_tracker"]

Batch = tuple[Any, Any, Any]


def _gather(data: Any, index: tf.Tensor) -> Any:
    """The samples ``index`` of every tensor in the nest ``data`` (None stays None)."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: _gather(v, index) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_gather(v, index) for v in data)
    return tf.gather(data, index)


def _map(fn: Callable[[tf.Tensor], tf.Tensor], data: Any) -> Any:
    """``fn`` of every tensor in the nest ``data`` (None stays None)."""
    return tf.nest.map_structure(lambda t: None if t is None else fn(t), data)


def _first_leaf(x: Any) -> tf.Tensor:
    return next(t for t in tf.nest.flatten(x) if t is not None)


def _overrides(model: keras.Model, name: str) -> bool:
    return getattr(type(model), name) is not getattr(keras.Model, name)


class Programs:
    """``tf.function``s that run a run of steps of one epoch over tensors held in memory.

    ``train(data, order, start, stop, batch_size, tail, defer)`` runs the steps ``start..stop-1``
    of the epoch whose sample order is ``order`` (batch ``i`` is
    ``order[i*batch_size:(i+1)*batch_size]``, gathered in-graph), then, when ``tail`` is true, the
    smaller last batch, and returns whether every trainable weight is still finite.
    ``evaluate(data, order, batch_size, tail, defer)`` runs every evaluation step. Both update
    the model's metric objects. With ``defer`` the predictions (the logits of a softmax output:
    see :meth:`_kept`) and losses of the run are kept in ``TensorArray``s and the metrics are
    updated once at its end, on all of its samples (same values: see :meth:`can_defer`), which
    saves many small ops per step. Under a
    ``MirroredStrategy`` each batch is split across the replicas inside the graph.

    Example:
        >>> import keras, numpy as np, tensorflow as tf
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> data = (tf.ones((8, 2)), tf.zeros((8, 1)), None)
        >>> bool(Programs(model).train(data, tf.range(8), 0, 2, 4, False, False))
        True
        >>> int(model.optimizer.iterations)
        2
    """

    #: At most this many predicted values are kept for one deferred metric update.
    defer_budget = 1 << 24

    def __init__(
        self,
        model: keras.Model,
        strategy: tf.distribute.Strategy | None = None,
        jit_compile: bool = False,
    ) -> None:
        self.model = model
        self.strategy = strategy
        self.custom_train_step = _overrides(model, "train_step")
        self.custom_test_step = _overrides(model, "test_step")
        self.custom_metrics = _overrides(model, "compute_metrics")
        # Keras weights each batch's per-output loss (multi-output models) by the batch's static
        # size, which is unknown in model.fit/evaluate: each batch counts once. Do the same.
        self.dynamic_batch = _per_output_losses(model) > 1
        self.has_training_arg = "training" in getattr(
            model, "call_signature_parameters", ["training"]
        )
        self.loss_has_training_arg = "training" in inspect.signature(model.compute_loss).parameters
        self._output_spec: Any = None
        # for training (True) and evaluation (False) steps: which outputs _kept took logits of
        self._softmaxed: dict[bool, tuple[bool, ...]] = {}
        # plain graph code (explicit while loops): no autograph conversion, which costs seconds
        options = dict(jit_compile=jit_compile, reduce_retracing=True, autograph=False)
        self.train = tf.function(self._train, **options)
        self.evaluate = tf.function(self._evaluate, **options)
        # The deferred runs' steps, traced once per batch shape and called (then inlined by
        # TensorFlow) wherever a run takes a step: in its loop, and on its smaller last batch.
        self._train_step = tf.function(
            functools.partial(self._train_batch, defer=True), autograph=False
        )
        self._test_step = tf.function(
            functools.partial(self._test_batch, defer=True), autograph=False
        )

    def can_defer(self, x_head: Any, samples: int) -> bool:
        """Whether metric updates can wait for the end of a run of ``samples`` samples.

        True when nothing custom runs per step (no custom ``train_step``/``test_step``/
        ``compute_metrics``, no ``tf.distribute`` strategy), every compiled metric is a Keras
        built-in (those accumulate per-sample values, so one update on all samples equals one
        update per batch), no layer makes masks, and the run's predictions fit
        :attr:`defer_budget`.
        """
        model = self.model
        if self.strategy is not None or self.custom_train_step or self.custom_test_step:
            return False
        if self.custom_metrics or not _builtin_metrics(model) or _makes_masks(model):
            return False
        if self._output_spec is None:
            try:
                spec = model.compute_output_spec(_symbolic(x_head))
            except Exception:  # noqa: BLE001 - any failure just means no deferral
                return False
            self._output_spec = spec
        shapes = [tuple(t.shape[1:]) for t in tf.nest.flatten(self._output_spec)]
        if any(None in shape for shape in shapes):
            return False
        return samples * sum(int(np.prod(shape)) for shape in shapes) <= self.defer_budget

    # -- the loops ---------------------------------------------------------------------------
    def _train(
        self,
        data: Batch,
        order: tf.Tensor,
        start: tf.Tensor,
        stop: tf.Tensor,
        batch_size: int,
        tail: bool,
        defer: bool,
    ) -> tf.Tensor:
        full = tf.size(order) // batch_size
        batches = tf.reshape(order[: full * batch_size], [-1, batch_size])
        rest = order[full * batch_size :] if tail else None
        if defer:
            self._deferred(True, data, batches, start, stop, batch_size, rest)
        else:
            self._steps(self._train_batch, data, batches, start, stop)
            if rest is not None:
                self._run(self._train_batch, data, rest)
        return self._weights_finite()

    def _weights_finite(self) -> tf.Tensor:
        """Whether every trainable weight is finite: one reduction per variable, in the graph
        (NaN in the data can make the weights NaN while the loss stays finite)."""
        checks = [
            tf.reduce_all(tf.math.is_finite(weight))
            for weight in self.model.trainable_weights
            if "float" in keras.backend.standardize_dtype(weight.dtype)
        ]
        if not checks:
            return tf.constant(True)
        return tf.reduce_all(tf.stack(checks))

    def _evaluate(
        self,
        data: Batch,
        order: tf.Tensor,
        batch_size: int,
        tail: bool,
        defer: bool,
    ) -> None:
        full = tf.size(order) // batch_size
        batches = tf.reshape(order[: full * batch_size], [-1, batch_size])
        rest = order[full * batch_size :] if tail else None
        if defer:
            self._deferred(False, data, batches, tf.constant(0), full, batch_size, rest)
        else:
            self._steps(self._test_batch, data, batches, tf.constant(0), full)
            if rest is not None:
                self._run(self._test_batch, data, rest)

    def _steps(
        self,
        step: Callable[..., Any],
        data: Batch,
        batches: tf.Tensor,
        start: tf.Tensor,
        stop: tf.Tensor,
    ) -> None:
        """Steps ``start..stop-1``, one per loop iteration, each updating the metrics."""

        def body(i: tf.Tensor) -> tf.Tensor:
            self._run(step, data, batches[i])
            return i + 1

        tf.while_loop(lambda i: i < stop, body, [start])

    def _deferred(
        self,
        training: bool,
        data: Batch,
        batches: tf.Tensor,
        start: tf.Tensor,
        stop: tf.Tensor,
        batch_size: int,
        rest: tf.Tensor | None = None,
    ) -> None:
        """Steps ``start..stop-1`` (training steps, or evaluation steps for ``training=False``),
        then the step on the samples ``rest`` (the smaller last batch) when given, keeping what
        :meth:`_kept` keeps of the predictions, and the losses, in ``TensorArray``s; then one
        update of the loss tracker and the metrics on all of them.
        """
        model = self.model
        step = self._train_step if training else self._test_step
        count = stop - start
        run_batches = batches[start:stop]
        predictions = [
            tf.TensorArray(t.dtype, size=count, element_shape=(batch_size, *t.shape[1:]))
            for t in tf.nest.flatten(self._output_spec)
        ]
        losses = tf.TensorArray(tf.float32, size=count, element_shape=())

        def body(j: tf.Tensor, predictions: list[Any], losses: Any) -> tuple[Any, ...]:
            index = run_batches[j]
            if self.dynamic_batch:
                index = tf.raw_ops.PlaceholderWithDefault(input=index, shape=[None])
            kept, loss = step(_gather(data, index))
            predictions = [array.write(j, value) for array, value in zip(predictions, kept)]
            return j + 1, predictions, losses.write(j, tf.cast(loss, tf.float32))

        _, predictions, losses = tf.while_loop(
            lambda j, *_: j < count, body, [tf.constant(0), predictions, losses]
        )
        kept_values = [[array.concat() for array in predictions]]
        loss_values = [losses.stack()]
        weights = [tf.fill([count], batch_size)]
        samples = tf.reshape(run_batches, [-1])
        if rest is not None:
            kept, loss = step(_gather(data, rest))
            kept_values.append(kept)
            loss_values.append(tf.cast(loss, tf.float32)[None])
            weights.append(tf.size(rest)[None])
            samples = tf.concat([samples, rest], axis=0)
        flat_predictions = [
            tf.nn.softmax(values) if softmaxed else values
            for values, softmaxed in zip(
                (tf.concat(part, axis=0) for part in zip(*kept_values)),
                self._softmaxed[training],
            )
        ]
        _, y, sample_weight = _gather((None, data[1], data[2]), samples)
        tracker = loss_tracker(model)
        if tracker is not None:
            tracker.update_state(
                tf.concat(loss_values, axis=0), sample_weight=tf.concat(weights, axis=0)
            )
        y_pred = tf.nest.pack_sequence_as(self._output_spec, flat_predictions)
        model.compute_metrics(None, y, y_pred, sample_weight=sample_weight)

    # -- one step (plain graph code, like Keras's own train_step: no autograph) ----------------
    @tf.autograph.experimental.do_not_convert
    def _run(self, step: Callable[..., Any], data: Batch, index: tf.Tensor) -> None:
        if self.dynamic_batch:
            index = tf.raw_ops.PlaceholderWithDefault(input=index, shape=[None])
        if self.strategy is None:
            step(_gather(data, index))
        else:
            self.strategy.run(lambda d, i: step(_gather(d, _replica_share(i))), args=(data, index))

    @tf.autograph.experimental.do_not_convert
    def _train_batch(self, batch: Batch, defer: bool = False) -> Any:
        model = self.model
        x, y, sample_weight = batch
        if self.custom_train_step:
            model.train_step(keras.utils.pack_x_y_sample_weight(x, y, sample_weight))
            return None
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True) if self.has_training_arg else model(x)
            loss = self._compute_loss(x, y, y_pred, sample_weight, training=True)
            if not defer:
                _track_loss(model, loss, x)
            scaled = model.optimizer.scale_loss(loss)
        weights = model.trainable_weights
        if weights:
            gradients = tape.gradient(scaled, weights)
            model.optimizer.apply_gradients(zip(gradients, weights))
        if defer:
            return self._kept(y_pred, training=True), loss
        self._update_metrics(x, y, y_pred, sample_weight)
        return None

    @tf.autograph.experimental.do_not_convert
    def _test_batch(self, batch: Batch, defer: bool = False) -> Any:
        model = self.model
        x, y, sample_weight = batch
        if self.custom_test_step:
            model.test_step(keras.utils.pack_x_y_sample_weight(x, y, sample_weight))
            return None
        y_pred = model(x, training=False) if self.has_training_arg else model(x)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=False)
        if defer:
            return self._kept(y_pred, training=False), loss
        _track_loss(model, loss, x)
        self._update_metrics(x, y, y_pred, sample_weight)
        return None

    def _kept(self, y_pred: Any, training: bool) -> list[tf.Tensor]:
        """What a deferred run keeps of each (flattened) output for its one metric update: the
        logits of an output that is their softmax (a ``Softmax`` op, over the last axis), the
        output itself otherwise. The softmax is then applied once, at the end of the run, to all
        of its logits: the same values (the softmax of a row depends on that row alone), and a
        step without a softmax to compute when nothing else needs one, such as a loss that
        reads the logits (Keras' cross-entropies do). Records which outputs were softmaxes in
        ``_softmaxed[training]`` (a model may end differently when training)."""
        kept, softmaxed = [], []
        for value in tf.nest.flatten(y_pred):
            op = getattr(value, "op", None)
            if op is not None and op.type == "Softmax":
                kept.append(op.inputs[0])
                softmaxed.append(True)
            else:
                kept.append(value)
                softmaxed.append(False)
        self._softmaxed[training] = tuple(softmaxed)
        return kept

    def _compute_loss(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any, training: bool
    ) -> tf.Tensor:
        """``model.compute_loss``: the compiled loss plus ``model.losses`` (regularizers,
        add_loss); ``training`` is passed only to an override that takes it, as Keras does."""
        if self.loss_has_training_arg:
            return self.model.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.model.compute_loss(x, y, y_pred, sample_weight)

    def _update_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any) -> None:
        # the compiled metrics' update (the result it returns is unused and pruned from the graph)
        self.model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def _symbolic(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: _symbolic(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_symbolic(v) for v in x)
    return keras.KerasTensor((None, *x.shape[1:]), dtype=keras.backend.standardize_dtype(x.dtype))


def loss_tracker(model: keras.Model) -> keras.metrics.Mean | None:
    """The running mean of the loss that ``compile`` makes: the first of ``model.metrics``."""
    metrics = model.metrics
    first = metrics[0] if metrics else None
    if isinstance(first, keras.metrics.Mean) and first.name == "loss":
        return first
    return None


def _per_output_losses(model: keras.Model) -> int:
    """How many outputs the compiled loss scores (the same loss for each when not nested)."""
    losses = getattr(model, "loss", None)  # set by compile(loss=...)
    if losses is None:
        return 0
    if isinstance(losses, (list, tuple, dict)):
        return sum(loss is not None for loss in tf.nest.flatten(losses))
    try:
        return len(model.outputs)
    except (AttributeError, ValueError):  # a subclassed model
        return 1


def _leaf_metrics(metrics: list[Any]) -> list[Any]:
    """The metrics of ``metrics``, containers (the compiled metrics) opened up."""
    found = []
    for metric in metrics:
        inner = getattr(metric, "metrics", None)
        found.extend(_leaf_metrics(inner) if isinstance(inner, list) and inner else [metric])
    return found


def _builtin_metrics(model: keras.Model) -> bool:
    """Every compiled metric is built and is a Keras built-in (a class, or a wrapper of a Keras
    function)."""
    metrics = model.metrics
    if not all(getattr(metric, "built", True) for metric in metrics):
        return False
    for metric in _leaf_metrics(metrics):
        if not type(metric).__module__.startswith("keras."):
            return False
        if isinstance(metric, keras.metrics.MeanMetricWrapper):
            try:
                fn = metric.get_config().get("fn")
            except Exception:  # noqa: BLE001 - a function Keras cannot name: not a built-in
                return False
            module = fn.get("module", "") if isinstance(fn, dict) else "keras"
            if not str(module).startswith("keras"):
                return False
    return True


def _makes_masks(model: keras.Model) -> bool:
    for layer in flatten_layers(model):
        if isinstance(layer, keras.layers.Masking) or getattr(layer, "mask_zero", False):
            return True
    return False


def _track_loss(model: keras.Model, loss: tf.Tensor, x: Any) -> None:
    """The running mean of the loss, weighted by batch size, exactly as ``model.fit`` keeps it."""
    tracker = loss_tracker(model)
    if tracker is None:
        return
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:  # the compiled loss is scaled by 1/replicas for the gradient sum
        loss = loss * tf.cast(replicas, loss.dtype)
    tracker.update_state(loss, sample_weight=tf.shape(_first_leaf(x))[0])


def _replica_share(index: tf.Tensor) -> tf.Tensor:
    """This replica's part of a batch's sample indices (contiguous, as even as possible)."""
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync
    if replicas == 1:
        return index
    replica = context.replica_id_in_sync_group
    size = index.shape[0]
    if size is not None and size % replicas == 0:
        return tf.reshape(index, [replicas, size // replicas])[replica]
    count = tf.size(index)
    share = (count + replicas - 1) // replicas
    return index[replica * share : tf.minimum((replica + 1) * share, count)]
