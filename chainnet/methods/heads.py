"""Heads and losses: ``softmax_classifier``, the cross entropies, regressions and
``evaluate_classifier`` (PrettyTensor's loss methods, in TF2 form).

A loss step returns the batch loss and adds it to the model's losses (``add_loss``): a model
built from a chain that depends on it trains with ``compile(optimizer)`` and ``fit(x, None)``.
On eager chains (``cn.wrap``) the loss is a tensor to differentiate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import keras

from chainnet._arguments import check_bool, check_number, check_positive_int
from chainnet._chainbase import Lowering
from chainnet._errors import ChainError, ChainTypeError
from chainnet._losses import label_kind
from chainnet._operands import as_operand
from chainnet._registry import chain_method
from chainnet._shapes import check_same_shape, first_mismatch
from chainnet.layers.losses import (
    Accuracy,
    AddedLoss,
    BatchLoss,
    PrecisionRecall,
    SampledSoftmax,
    TiedSoftmax,
)
from chainnet.layers.shape import full_precision_dtype
from chainnet.methods._common import InitializerLike, RegularizerLike, kernel_regularizer_for
from chainnet.methods.merge import multi_chain_method

if TYPE_CHECKING:  # type hints only: the public Chain (see docs/architecture.md)
    from chainnet._chain import Chain

__all__ = ["HeadMethods", "SampledSoftmaxResult", "SoftmaxResult"]


class _SoftmaxPair(NamedTuple):
    softmax: Chain
    loss: Chain | None


class SoftmaxResult(_SoftmaxPair):
    """What :meth:`softmax_classifier` and :meth:`softmax` give, PrettyTensor's
    ``SoftmaxResult``: it unpacks into ``softmax, loss`` (``loss`` is ``None`` without
    labels) and keeps the logits as ``.logits``.

    Examples:
        >>> import chainnet as cn
        >>> softmax, loss = cn.input((4,)).softmax_classifier(3)
        >>> softmax.shape, loss
        ((None, 3), None)
    """

    logits: Chain | None

    def __new__(
        cls, softmax: Chain, loss: Chain | None, logits: Chain | None = None
    ) -> SoftmaxResult:
        # ``logits`` may be left out: ``tf.nest``, ``keras.tree`` and ``_make`` rebuild a
        # named tuple from its two fields (the rebuilt one has no logits beside it)
        result = super().__new__(cls, softmax, loss)
        result.__dict__["logits"] = logits  # a tuple of two, with the logits beside it
        return result

    def __getnewargs__(self) -> tuple[Any, ...]:  # copy and pickle keep the logits
        return (self.softmax, self.loss, self.logits)

    def _replace(self, **fields: Any) -> SoftmaxResult:
        pair = super()._replace(**fields)  # checks the field names
        return SoftmaxResult(pair.softmax, pair.loss, self.logits)


class SampledSoftmaxResult(NamedTuple):
    """What :meth:`softmax_classifier_with_sampled_loss` gives, PrettyTensor's
    ``SampledSoftmaxResult``: the full logits and the sampled loss."""

    logits: Chain
    loss: Chain | None


def _as_chain(chain: Any, value: Any, method: str, role: str) -> Chain:
    """``value`` as a chain of ``chain``'s network (data is adopted by eager and graph chains)."""
    operand: Chain = as_operand(chain, value, method=method, role=role)
    return operand


def _weights(chain: Any, method: str, weights: Any) -> tuple[Chain, ...]:
    """The per-example weights as a chain of shape ``(batch,)`` or ``(batch, 1)``."""
    if weights is None:
        return ()
    w = _as_chain(chain, weights, method, "per_example_weights")
    shape = w.shape
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] not in (1, None)):
        raise ChainError(
            f"{method}(): per_example_weights must have shape (batch,) or (batch, 1), "
            f"got {shape} from {w.name!r}."
        )
    return (w,)


def _check_target(method: str, predictions: Any, target: Chain) -> None:
    """Regression and binary targets must match the predictions' shape."""
    check_same_shape(
        method, "target", target.shape, target.name, predictions.shape, predictions.name
    )
    dtype = keras.backend.standardize_dtype(target.dtype)
    if "float" not in dtype and "int" not in dtype:
        raise ChainError(f"{method}(): the target must be numeric, got dtype {dtype}.")


def _labels(chain: Any, method: str, labels: Any, sparse: bool | None) -> Chain:
    """Checks ``labels`` against the logits; ``sparse`` forces class ids or one-hot."""
    labels_chain = _as_chain(chain, labels, method, "labels")
    kind = label_kind(method, chain.shape, labels_chain.shape, labels_chain.dtype)
    if sparse is True and kind != "sparse":
        raise ChainError(
            f"{method}(): expected integer class ids of shape {chain.shape[:-1]}, got labels of "
            f"shape {labels_chain.shape}; for one-hot labels use cross_entropy()."
        )
    if sparse is False and kind != "dense":
        raise ChainError(
            f"{method}(): expected one-hot labels of shape {chain.shape}, got labels of shape "
            f"{labels_chain.shape} ({labels_chain.dtype}); for class ids use "
            "sparse_cross_entropy()."
        )
    return labels_chain


def _step(chain: Any, method: str, name: str, layer: keras.layers.Layer, others: Any) -> Chain:
    """A further step of a head, named after it (``<name>_loss``, ``<name>_softmax``: the
    method declares these suffixes, so the names are known to be free)."""
    result: Chain = chain._extend(method, name, Lowering((layer,), others=tuple(others)))
    return result


def _loss_weight(method: str, loss_weight: Any) -> float | None:
    return None if loss_weight is None else check_number(method, "loss_weight", loss_weight)


def _loss(
    chain: Any,
    method: str,
    kind: str,
    target: Chain,
    extras: dict[str, Any],
    loss_weight: Any,
    name: str | None,
) -> Lowering:
    """A loss step: ``BatchLoss(kind)`` of ``[chain, target, *extras]`` (the extras given)."""
    given = {key: value for key, value in extras.items() if value}
    layer = BatchLoss(
        kind,
        loss_weight=_loss_weight(method, loss_weight),
        extras=tuple(given),
        name=name,
    )
    others = (target, *(value[0] for value in given.values()))
    return Lowering((layer,), others=others)


def _softmax_steps(
    logits: Any,
    method: str,
    labels: Any,
    loss_weight: Any,
    per_example_weights: Any,
    names: tuple[str, str],
) -> tuple[Chain, Chain | None]:
    """PrettyTensor's ``softmax(labels)``: the softmax of ``logits`` and, with labels, the
    cross entropy (class ids or one-hot); the softmax step then depends on the loss step, so
    a model of the softmax keeps the loss. ``names`` are the softmax's and the loss's."""
    if labels is None:
        if per_example_weights is not None or loss_weight is not None:
            raise ChainError(f"{method}(): per_example_weights needs labels (so does loss_weight).")
        return _step(
            logits, method, names[0], keras.layers.Softmax(dtype=full_precision_dtype()), ()
        ), None
    labels_chain = _as_chain(logits, labels, method, "labels")
    kind = label_kind(method, logits.shape, labels_chain.shape, labels_chain.dtype)
    weights = _weights(logits, method, per_example_weights)
    loss_kind = "sparse_cross_entropy" if kind == "sparse" else "cross_entropy"
    lowering = _loss(
        logits, method, loss_kind, labels_chain, {"weights": weights}, loss_weight, None
    )
    loss: Chain = logits._extend(method, names[1], lowering)
    softmax = _step(logits, method, names[0], TiedSoftmax(), (loss,))
    return softmax, loss


def _check_topk(method: str, chain: Any, topk: Any, per_example_weights: Any) -> int:
    if isinstance(per_example_weights, int) and not isinstance(per_example_weights, bool):
        raise ChainTypeError(
            f"{method}(): per_example_weights={per_example_weights!r} is a number; "
            f"PrettyTensor's order is {method}(labels, per_example_weights=None, topk=1): "
            f"write topk={per_example_weights}."
        )
    topk = check_positive_int(method, "topk", topk)
    classes = chain.shape[-1]
    if classes is not None and topk > classes:
        raise ValueError(
            f"{method}(topk): topk={topk} is more than the {classes} classes: "
            "every label would count as found"
        )
    return topk


def _sparse_ids(chain: Any, method: str, labels: Any) -> Chain:
    """Integer class ids of shape ``(batch,)`` or ``(batch, num_true)``."""
    ids = _as_chain(chain, labels, method, "labels")
    dtype = keras.backend.standardize_dtype(ids.dtype)
    lead = tuple(chain.shape[:-1])
    fits_ = len(ids.shape) in (len(lead), len(lead) + 1) and (
        first_mismatch(lead, tuple(ids.shape[: len(lead)])) is None
    )
    if "int" not in dtype or not fits_:
        raise ChainError(
            f"{method}(): expected integer class ids of shape {lead} or "
            f"{(*lead, 'num_true')}, got labels of shape {ids.shape} ({dtype}) from "
            f"{ids.name!r}."
        )
    return ids


def _evaluation(
    chain: Any,
    method: str,
    labels: Any,
    per_example_weights: Any,
    topk: Any,
    sparse: bool | None,
) -> tuple[int, Chain, tuple[Chain, ...]]:
    """The checked ``topk``, labels and weights of an evaluation method."""
    topk = _check_topk(method, chain, topk, per_example_weights)
    if sparse:
        labels_chain = _sparse_ids(chain, method, labels)
    else:
        labels_chain = _labels(chain, method, labels, None)
    return topk, labels_chain, _weights(chain, method, per_example_weights)


class HeadMethods:
    """Classifier heads, losses and PrettyTensor's evaluations."""

    __slots__ = ()

    @multi_chain_method(
        rank=2,
        rank_hint="Call .flatten() first to turn (batch, ...) into (batch, features).",
        derived_names=("", "_loss", "_softmax"),
        defaults=("kernel_initializer", "bias_initializer", "kernel_regularizer", "l2loss"),
        float_input=True,
    )
    def softmax_classifier(
        self,
        num_classes: int,
        labels: Any = None,
        loss_weight: float | None = None,
        per_example_weights: Any = None,
        *,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> SoftmaxResult:
        """A fully connected layer to ``num_classes`` logits, their softmax and, with
        ``labels`` (class ids or one-hot), the softmax cross entropy loss (PrettyTensor's
        order of arguments and formula, see :meth:`cross_entropy`).

        The result unpacks into ``softmax, loss`` (``loss`` is ``None`` without labels), as
        PrettyTensor's, and keeps the logits as ``.logits``. The logits step takes ``name``
        (default ``softmax_classifier``); the loss and softmax steps are ``<name>_loss`` and
        ``<name>_softmax``. With labels the softmax step depends on the loss step, so
        ``softmax.model()`` (inputs: data and labels) trains with the loss through
        ``compile(optimizer)`` and ``fit([x, labels], None)``; ``cn.model(result.logits)``
        predicts without labels.

        Args:
            num_classes: The number of classes.
            labels: Class ids (``(batch,)`` or ``(batch, 1)``, integers) or one-hot rows
                (``(batch, num_classes)``); ``None`` for no loss.
            loss_weight: A number that scales the loss.
            per_example_weights: A weight per example, shape ``(batch,)``.
            kernel_initializer: The logits' kernel initializer.
            bias_initializer: The logits' bias initializer.
            kernel_regularizer: A Keras regularizer of the kernel.
            l2loss: PrettyTensor's weight decay, ``l2loss * sum(w ** 2) / 2``.
            name: The logits step's name.

        Examples:
            >>> import chainnet as cn
            >>> image = cn.input((784,), name="image")
            >>> labels = image.network.input((), dtype="int32", name="labels")
            >>> softmax, loss = result = image.softmax_classifier(10, labels)
            >>> softmax.shape, loss.shape, result.logits.name
            ((None, 10), (), 'softmax_classifier')
            >>> model = softmax.model()
            >>> [t.name for t in model.inputs]
            ['image', 'labels']
        """
        method = "softmax_classifier"
        final = str(name)
        num_classes = check_positive_int(method, "num_classes", num_classes)
        regularizer = kernel_regularizer_for(method, l2loss, kernel_regularizer)
        _loss_weight(method, loss_weight)
        # check the labels before any layer is made: a failed head leaves no step behind
        logits_shape = (*self.shape[:-1], num_classes)  # type: ignore[attr-defined]
        if labels is not None:
            labels_chain = _as_chain(self, labels, method, "labels")
            label_kind(method, logits_shape, labels_chain.shape, labels_chain.dtype)
            _weights(self, method, per_example_weights)
        elif per_example_weights is not None or loss_weight is not None:
            raise ChainError(f"{method}(): per_example_weights needs labels (so does loss_weight).")
        dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=regularizer,
            dtype=full_precision_dtype(),  # the whole head computes in float32
            name=final,
        )
        logits: Chain = self._extend(method, final, dense)  # type: ignore[attr-defined]
        softmax, loss = _softmax_steps(
            logits,
            method,
            labels,
            loss_weight,
            per_example_weights,
            (f"{final}_softmax", f"{final}_loss"),
        )
        return SoftmaxResult(softmax, loss, logits)

    @multi_chain_method(
        rank=2,
        rank_hint="Call .flatten() first to turn (batch, ...) into (batch, features).",
        derived_names=("", "_sampled_loss"),
        defaults=("kernel_initializer", "bias_initializer", "kernel_regularizer", "l2loss"),
        float_input=True,
    )
    def softmax_classifier_with_sampled_loss(
        self,
        num_classes: int,
        labels: Any,
        num_sampled: int,
        num_true: int | None = None,
        sampled_values: Any = None,
        remove_accidental_hits: bool = True,
        loss_weight: float | None = None,
        per_example_weights: Any = None,
        *,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        seed: int | None = None,
        name: str | None = None,
    ) -> SampledSoftmaxResult:
        """Logits over ``num_classes`` and a sampled softmax loss, for large vocabularies
        (PrettyTensor's, with ``tf.nn.sampled_softmax_loss``, Jean et al. 2014).

        When the model trains (``fit``, or a call with ``training=True``) the loss samples
        ``num_sampled`` classes (log-uniform) besides the true ones; otherwise (``evaluate``,
        ``predict``, eager chains) it is the full softmax cross entropy, which the sampled
        loss estimates. Then ``sum(loss_weight * weight * loss) / batch_size``, as every
        loss. The logits step (``name``) and the loss step (``<name>_sampled_loss``) share
        one layer, whose kernel is ``(num_classes, features)`` (PrettyTensor's transposed
        layout); ``cn.model(result.logits)`` predicts with the full softmax.

        Args:
            num_classes: The number of classes.
            labels: Integer class ids, ``(batch,)`` or ``(batch, num_true)``; ``None`` for
                the logits alone.
            num_sampled: The number of classes sampled per batch.
            num_true: The number of true classes per example (default: from the labels).
            sampled_values: PrettyTensor's own sampler output; not supported (TensorFlow 1
                tensors), must be ``None``: the sampler is log-uniform, ``seed=`` fixes it.
            remove_accidental_hits: Leave out sampled classes that are true classes.
            loss_weight: A number that scales the loss.
            per_example_weights: A weight per example, shape ``(batch,)``.
            kernel_initializer: The kernel's initializer.
            bias_initializer: The bias' initializer.
            kernel_regularizer: A Keras regularizer of the kernel.
            l2loss: PrettyTensor's weight decay, ``l2loss * sum(w ** 2) / 2``.
            seed: The sampler's seed.
            name: The logits step's name.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((16,), name="x")
            >>> words = x.network.input((), dtype="int32", name="words")
            >>> logits, loss = x.softmax_classifier_with_sampled_loss(10000, words, 64)
            >>> logits.shape, loss.shape, loss.name
            ((None, 10000), (), 'softmax_classifier_with_sampled_loss_sampled_loss')
        """
        method = "softmax_classifier_with_sampled_loss"
        final = str(name)
        num_classes = check_positive_int(method, "num_classes", num_classes)
        num_sampled = check_positive_int(method, "num_sampled", num_sampled)
        if sampled_values is not None:
            raise ChainTypeError(
                f"{method}(): sampled_values (TensorFlow 1 sampler tensors) is not supported; "
                "the sampler is log-uniform, and seed= makes it repeatable"
            )
        regularizer = kernel_regularizer_for(method, l2loss, kernel_regularizer)
        ids: Chain | None = None
        weights: tuple[Chain, ...] = ()
        if labels is not None:
            ids = _sparse_ids(self, method, labels)
            given = 1 if len(ids.shape) == len(self.shape) - 1 else ids.shape[-1]  # type: ignore[attr-defined]
            if num_true is None:
                num_true = given or 1
            if check_positive_int(method, "num_true", num_true) != given:
                raise ChainError(
                    f"{method}(): num_true={num_true} but the labels {ids.shape} hold {given} "
                    "class ids per example"
                )
            weights = _weights(self, method, per_example_weights)
        elif per_example_weights is not None or loss_weight is not None:
            raise ChainError(f"{method}(): per_example_weights needs labels (so does loss_weight).")
        layer = SampledSoftmax(
            num_classes,
            num_sampled,
            num_true or 1,
            check_bool(method, "remove_accidental_hits", remove_accidental_hits),
            _loss_weight(method, loss_weight),
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=regularizer,
            seed=seed,
            name=final,
        )
        logits: Chain = self._extend(method, final, layer)  # type: ignore[attr-defined]
        if ids is None:
            return SampledSoftmaxResult(logits, None)
        loss: Chain = self._extend(  # type: ignore[attr-defined]
            method, f"{final}_sampled_loss", Lowering((layer,), others=(ids, *weights))
        )
        return SampledSoftmaxResult(logits, loss)

    @multi_chain_method(derived_names=("", "_loss"), float_input=True)
    def softmax(
        self,
        labels: Any = None,
        *,
        loss_weight: float | None = None,
        per_example_weights: Any = None,
        name: str | None = None,
    ) -> SoftmaxResult:
        """PrettyTensor's ``softmax(labels=None)``: the softmax of these logits and, with
        ``labels``, their cross entropy (no layer of weights: see
        :meth:`softmax_classifier` for one).

        The result unpacks into ``softmax, loss`` (``loss`` is ``None`` without labels); its
        ``.logits`` is this chain. The softmax step is ``name`` (default ``softmax``), the
        loss step ``<name>_loss``; with labels the softmax depends on the loss, so a model of
        the softmax keeps it.

        Args:
            labels: Class ids or one-hot rows; ``None`` for no loss.
            loss_weight: A number that scales the loss.
            per_example_weights: A weight per example, shape ``(batch,)``.
            name: The softmax step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.array([[2.0, 0.0]], "float32"))
            >>> softmax, loss = logits.softmax(np.array([0]))
            >>> np.round(softmax.numpy(), 4), round(float(loss.numpy()), 4)
            (array([[0.8808, 0.1192]], dtype=float32), 0.1269)
        """
        final = str(name)
        softmax, loss = _softmax_steps(
            self, "softmax", labels, loss_weight, per_example_weights, (final, f"{final}_loss")
        )
        return SoftmaxResult(softmax, loss, self)  # type: ignore[arg-type]

    @chain_method()
    def cross_entropy(
        self,
        labels: Any,
        *,
        loss_weight: float | None = None,
        per_example_weights: Any = None,
        name: str | None = None,
    ) -> Any:
        """The softmax cross entropy of these logits against one-hot (or probability)
        ``labels``; added to the model's losses.

        PrettyTensor's formula: ``sum(loss_weight * weight * ce) / batch_size``. Without
        weights it is Keras' ``CategoricalCrossentropy(from_logits=True)``; with them, its
        ``sample_weight``.

        Args:
            labels: One-hot (or probability) rows, the logits' shape.
            loss_weight: A number that scales the loss.
            per_example_weights: A weight per example, shape ``(batch,)``.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.array([[2.0, 0.0]], "float32"))
            >>> round(float(logits.cross_entropy(np.array([[1.0, 0.0]], "float32")).numpy()), 4)
            0.1269
        """
        labels_chain = _labels(self, "cross_entropy", labels, False)
        weights = _weights(self, "cross_entropy", per_example_weights)
        return _loss(
            self,
            "cross_entropy",
            "cross_entropy",
            labels_chain,
            {"weights": weights},
            loss_weight,
            name,
        )

    @chain_method()
    def sparse_cross_entropy(
        self,
        labels: Any,
        *,
        loss_weight: float | None = None,
        per_example_weights: Any = None,
        name: str | None = None,
    ) -> Any:
        """The softmax cross entropy of these logits against integer class ids ``labels``;
        added to the model's losses (PrettyTensor's formula, as :meth:`cross_entropy`).

        Args:
            labels: Integer class ids, shape ``(batch,)`` or ``(batch, 1)``.
            loss_weight: A number that scales the loss.
            per_example_weights: A weight per example, shape ``(batch,)``.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.array([[2.0, 0.0]], "float32"))
            >>> round(float(logits.sparse_cross_entropy(np.array([1])).numpy()), 4)
            2.1269
        """
        method = "sparse_cross_entropy"
        labels_chain = _labels(self, method, labels, True)
        weights = _weights(self, method, per_example_weights)
        return _loss(self, method, method, labels_chain, {"weights": weights}, loss_weight, name)

    @chain_method()
    def binary_cross_entropy_with_logits(
        self,
        target: Any,
        *,
        loss_weight: float | None = None,
        per_example_weights: Any = None,
        per_output_weights: Any = None,
        name: str | None = None,
    ) -> Any:
        """The sigmoid cross entropy of these logits against ``target`` probabilities (same
        shape); added to the model's losses.

        PrettyTensor's formula: the cross entropy of each output, times
        ``per_output_weights``, **summed** over each example's outputs, then
        ``sum(loss_weight * weight * loss) / batch_size``. Keras'
        ``BinaryCrossentropy(from_logits=True)`` averages over the outputs instead.

        Args:
            target: Probabilities, the logits' shape.
            loss_weight: A number that scales the loss.
            per_example_weights: A weight per example, shape ``(batch,)``.
            per_output_weights: A weight per output, the logits' shape.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.zeros((2, 3), "float32"))
            >>> round(float(logits.binary_cross_entropy_with_logits(np.ones((2, 3))).numpy()), 4)
            2.0794
        """
        method = "binary_cross_entropy_with_logits"
        per_output: tuple[Chain, ...] = ()
        if per_output_weights is not None:
            w = _as_chain(self, per_output_weights, method, "per_output_weights")
            check_same_shape(method, "per_output_weights", w.shape, w.name, self.shape, self.name)  # type: ignore[attr-defined]
            per_output = (w,)
        return _regression(
            self,
            method,
            target,
            {
                "weights": _weights(self, method, per_example_weights),
                "per_output_weights": per_output,
            },
            loss_weight,
            name,
        )

    @chain_method()
    def l2_regression(
        self,
        target: Any,
        *,
        loss_weight: float | None = None,
        per_example_weights: Any = None,
        name: str | None = None,
    ) -> Any:
        """PrettyTensor's L2 regression against ``target`` (same shape): the squared error
        **summed** over each example's outputs, then ``sum(loss_weight * weight * loss) /
        batch_size``; added to the model's losses. (Keras' ``MeanSquaredError`` averages over
        the outputs: this is that times their number.)

        Args:
            target: The wanted values, the predictions' shape.
            loss_weight: A number that scales the loss.
            per_example_weights: A weight per example, shape ``(batch,)``.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> float(cn.wrap(np.array([[1.0, 3.0]])).l2_regression(np.zeros((1, 2))).numpy())
            10.0
        """
        method = "l2_regression"
        weights = _weights(self, method, per_example_weights)
        return _regression(self, method, target, {"weights": weights}, loss_weight, name)

    @chain_method()
    def l1_regression(
        self,
        target: Any,
        *,
        loss_weight: float | None = None,
        per_example_weights: Any = None,
        name: str | None = None,
    ) -> Any:
        """PrettyTensor's L1 regression against ``target`` (same shape): the absolute error
        **summed** over each example's outputs, then ``sum(loss_weight * weight * loss) /
        batch_size``; added to the model's losses. (Keras' ``MeanAbsoluteError`` averages
        over the outputs.)

        Args:
            target: The wanted values, the predictions' shape.
            loss_weight: A number that scales the loss.
            per_example_weights: A weight per example, shape ``(batch,)``.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> float(cn.wrap(np.array([[1.0, -3.0]])).l1_regression(np.zeros((1, 2))).numpy())
            4.0
        """
        method = "l1_regression"
        weights = _weights(self, method, per_example_weights)
        return _regression(self, method, target, {"weights": weights}, loss_weight, name)

    @chain_method()
    def evaluate_classifier(
        self,
        labels: Any,
        per_example_weights: Any = None,
        topk: int = 1,
        *,
        name: str | None = None,
    ) -> Any:
        """The (weighted) fraction of examples whose label (class ids or one-hot) is among
        the ``topk`` highest of these logits: ``sum(weight * correct) / sum(weight)``.

        PrettyTensor's order of arguments and tie rule (the lower class index wins a tie).
        PrettyTensor's test phase summed over batches in variables; in Keras, average the
        batch values, or use ``keras.metrics.SparseTopKCategoricalAccuracy``.

        Args:
            labels: Class ids (``(batch,)`` or ``(batch, 1)``) or one-hot rows.
            per_example_weights: A weight per example, shape ``(batch,)``.
            topk: A label counts as found among the ``topk`` highest logits.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.array([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]], "float32"))
            >>> float(logits.evaluate_classifier(np.array([0, 1])).numpy())
            0.5
            >>> float(logits.evaluate_classifier(np.array([0, 1]), np.array([3.0, 1.0])).numpy())
            0.75
        """
        method = "evaluate_classifier"
        topk, ids, weights = _evaluation(self, method, labels, per_example_weights, topk, None)
        return Lowering((Accuracy(topk, name=name),), others=(ids, *weights))

    @chain_method()
    def evaluate_classifier_sparse(
        self,
        labels: Any,
        per_example_weights: Any = None,
        topk: int = 1,
        *,
        name: str | None = None,
    ) -> Any:
        """:meth:`evaluate_classifier` for integer class ids of shape ``(batch,)`` or
        ``(batch, num_true)`` (an example is correct if any of its labels is found).

        Args:
            labels: Integer class ids, ``(batch,)`` or ``(batch, num_true)``.
            per_example_weights: A weight per example, shape ``(batch,)``.
            topk: A label counts as found among the ``topk`` highest logits.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 2.0]], "float32"))
            >>> float(logits.evaluate_classifier_sparse(np.array([[1, 0], [1, 0]])).numpy())
            0.5
        """
        method = "evaluate_classifier_sparse"
        topk, ids, weights = _evaluation(self, method, labels, per_example_weights, topk, True)
        return Lowering((Accuracy(topk, sparse=True, name=name),), others=(ids, *weights))

    @multi_chain_method(derived_names=("", "_count"))
    def evaluate_classifier_fraction(
        self,
        labels: Any,
        per_example_weights: Any = None,
        topk: int = 1,
        *,
        name: str | None = None,
    ) -> tuple[Chain, Chain]:
        """PrettyTensor's numerator and denominator of :meth:`evaluate_classifier`: the
        (weighted) number of correct examples (step ``name``) and the number of examples,
        the sum of the weights (step ``<name>_count``); add them up over batches for the
        accuracy of a whole data set.

        Args:
            labels: Class ids (``(batch,)`` or ``(batch, 1)``) or one-hot rows.
            per_example_weights: A weight per example, shape ``(batch,)``.
            topk: A label counts as found among the ``topk`` highest logits.
            name: The name of the correct count's step.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.array([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]], "float32"))
            >>> correct, count = logits.evaluate_classifier_fraction(np.array([0, 1]))
            >>> float(correct.numpy()), float(count.numpy())
            (1.0, 2.0)
        """
        method = "evaluate_classifier_fraction"
        return _fraction(self, method, labels, per_example_weights, topk, None, str(name))

    @multi_chain_method(derived_names=("", "_count"))
    def evaluate_classifier_fraction_sparse(
        self,
        labels: Any,
        per_example_weights: Any = None,
        topk: int = 1,
        *,
        name: str | None = None,
    ) -> tuple[Chain, Chain]:
        """:meth:`evaluate_classifier_fraction` for integer class ids of shape ``(batch,)``
        or ``(batch, num_true)``.

        Args:
            labels: Integer class ids, ``(batch,)`` or ``(batch, num_true)``.
            per_example_weights: A weight per example, shape ``(batch,)``.
            topk: A label counts as found among the ``topk`` highest logits.
            name: The name of the correct count's step.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.array([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]], "float32"))
            >>> correct, count = logits.evaluate_classifier_fraction_sparse(
            ...     np.array([0, 1]), np.array([1.0, 3.0]), topk=2)
            >>> float(correct.numpy()), float(count.numpy())
            (4.0, 4.0)
        """
        method = "evaluate_classifier_fraction_sparse"
        return _fraction(self, method, labels, per_example_weights, topk, True, str(name))

    @chain_method()
    def add_loss(self, loss: Any, *, name: str | None = None) -> Any:
        """Adds the scalar ``loss`` (a chain, or data) to the model's losses and gives it back
        as a step (PrettyTensor's ``add_loss``): a model that holds the step trains on it with
        ``compile(optimizer)`` alone, as with the built-in losses.

        Args:
            loss: A scalar chain (``reduce_mean()`` of a per-example loss, say).
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((3,))
            >>> penalty = x.fully_connected(2).square().reduce_mean()
            >>> added = x.add_loss(penalty)
            >>> added.shape, len(added.model().losses) >= 0
            ((), True)
        """
        chain = _as_chain(self, loss, "add_loss", "loss")
        if tuple(chain.shape) != ():
            raise ChainError(
                f"add_loss(): the loss must be a scalar (shape ()), got {chain.shape} from "
                f"{chain.name!r}; reduce it first (.reduce_mean())."
            )
        return Lowering((AddedLoss(name=name),), others=(chain,))

    @multi_chain_method(derived_names=("", "_recall"))
    def evaluate_precision_recall(
        self,
        labels: Any,
        threshold: float = 0.5,
        per_example_weights: Any = None,
        *,
        name: str | None = None,
    ) -> tuple[Chain, Chain]:
        """PrettyTensor's precision and recall of ``self > threshold`` against ``labels >
        0`` (same shape): steps ``name`` (the precision) and ``<name>_recall``. Examples
        whose weight is not positive are left out; each is 0 when nothing is retrieved
        (relevant).

        Args:
            labels: The wanted labels, this chain's shape (positive: relevant).
            threshold: A prediction above it is retrieved.
            per_example_weights: A weight per example, shape ``(batch,)``.
            name: The precision step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> scores = cn.wrap(np.array([[0.9, 0.8, 0.1]], "float32"))
            >>> precision, recall = scores.evaluate_precision_recall(np.array([[1.0, 0.0, 1.0]]))
            >>> float(precision.numpy()), float(recall.numpy())
            (0.5, 0.5)
        """
        method = "evaluate_precision_recall"
        threshold = check_number(method, "threshold", threshold)
        target = _as_chain(self, labels, method, "labels")
        _check_target(method, self, target)
        weights = _weights(self, method, per_example_weights)
        final = str(name)
        precision = _step(
            self, method, final, PrecisionRecall(threshold, "precision"), (target, *weights)
        )
        recall = _step(
            self,
            method,
            f"{final}_recall",
            PrecisionRecall(threshold, "recall"),
            (target, *weights),
        )
        return precision, recall


def _fraction(
    chain: Any,
    method: str,
    labels: Any,
    per_example_weights: Any,
    topk: Any,
    sparse: bool | None,
    name: str,
) -> tuple[Chain, Chain]:
    topk, ids, weights = _evaluation(chain, method, labels, per_example_weights, topk, sparse)
    parts = []
    for output, step_name in (("correct", name), ("count", f"{name}_count")):
        layer = Accuracy(topk, quantity=output, sparse=sparse)
        parts.append(_step(chain, method, step_name, layer, (ids, *weights)))
    return parts[0], parts[1]


def _regression(
    chain: Any,
    method: str,
    target: Any,
    extras: dict[str, Any],
    loss_weight: Any,
    name: str | None,
) -> Lowering:
    target_chain = _as_chain(chain, target, method, "target")
    _check_target(method, chain, target_chain)
    return _loss(chain, method, method, target_chain, extras, loss_weight, name)
