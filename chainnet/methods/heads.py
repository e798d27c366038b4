"""Heads and losses: ``softmax_classifier``, the cross entropies, regressions and
``evaluate_classifier`` (PrettyTensor's loss methods, in TF2 form).

A loss step returns the batch loss and adds it to the model's losses (``add_loss``): a model
built from a chain that depends on it trains with ``compile(optimizer)`` and ``fit(x, None)``.
On eager chains (``cn.wrap``) the loss is a tensor to differentiate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import keras

from chainnet._arguments import check_positive_int
from chainnet._chainbase import Lowering
from chainnet._errors import ChainError
from chainnet._losses import label_kind
from chainnet._operands import as_operand
from chainnet._registry import chain_method
from chainnet._shapes import check_same_shape
from chainnet.layers.losses import Accuracy, BatchLoss, TiedSoftmax
from chainnet.layers.shape import full_precision_dtype
from chainnet.methods._common import InitializerLike, RegularizerLike, kernel_regularizer_for
from chainnet.methods.merge import multi_chain_method

if TYPE_CHECKING:  # type hints only: the public Chain (see docs/architecture.md)
    from chainnet._chain import Chain

__all__ = ["HeadMethods", "SoftmaxResult"]


class SoftmaxResult(NamedTuple):
    """What :meth:`softmax_classifier` gives: the softmax, the loss (``None`` without labels)
    and the logits, each a chain."""

    softmax: Chain
    loss: Chain | None
    logits: Chain


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


class HeadMethods:
    """Classifier heads, losses and accuracy."""

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
        *,
        per_example_weights: Any = None,
        kernel_initializer: InitializerLike = "glorot_uniform",
        bias_initializer: InitializerLike = "zeros",
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> SoftmaxResult:
        """A fully connected layer to ``num_classes`` logits, their softmax and, with
        ``labels`` (class ids or one-hot), the softmax cross entropy loss.

        The logits step takes ``name`` (default ``softmax_classifier``); the loss and softmax
        steps are ``<name>_loss`` and ``<name>_softmax``. With labels the softmax step
        depends on the loss step, so ``result.softmax.model()`` (inputs: data and labels)
        trains with the loss through ``compile(optimizer)`` and ``fit([x, labels], None)``;
        ``cn.model(result.logits)`` predicts without labels.

        Examples:
            >>> import chainnet as cn
            >>> image = cn.input((784,), name="image")
            >>> labels = image.network.input((), dtype="int32", name="labels")
            >>> result = image.softmax_classifier(10, labels)
            >>> result.softmax.shape, result.loss.shape, result.logits.name
            ((None, 10), (), 'softmax_classifier')
            >>> model = result.softmax.model()
            >>> [t.name for t in model.inputs]
            ['image', 'labels']
        """
        method = "softmax_classifier"
        final = str(name)
        num_classes = check_positive_int(method, "num_classes", num_classes)
        regularizer = kernel_regularizer_for(method, l2loss, kernel_regularizer)
        # check the labels before any layer is made: a failed head leaves no step behind
        logits_shape = (*self.shape[:-1], num_classes)  # type: ignore[attr-defined]
        labels_chain = weights = None
        if labels is not None:
            labels_chain = _as_chain(self, labels, method, "labels")
            kind = label_kind(method, logits_shape, labels_chain.shape, labels_chain.dtype)
            weights = _weights(self, method, per_example_weights)
        elif per_example_weights is not None:
            raise ChainError(f"{method}(): per_example_weights needs labels.")
        dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=regularizer,
            name=final,
        )
        logits: Chain = self._extend(method, final, dense)  # type: ignore[attr-defined]
        if labels_chain is None or weights is None:
            softmax = _step(
                logits,
                method,
                f"{final}_softmax",
                keras.layers.Softmax(dtype=full_precision_dtype()),
                (),
            )
            return SoftmaxResult(softmax, None, logits)
        loss_kind = "sparse_cross_entropy" if kind == "sparse" else "cross_entropy"
        loss = _step(
            logits, method, f"{final}_loss", BatchLoss(loss_kind), (labels_chain, *weights)
        )
        softmax = _step(logits, method, f"{final}_softmax", TiedSoftmax(), (loss,))
        return SoftmaxResult(softmax, loss, logits)

    @chain_method()
    def cross_entropy(
        self, labels: Any, *, per_example_weights: Any = None, name: str | None = None
    ) -> Any:
        """The softmax cross entropy of these logits against one-hot (or probability)
        ``labels``; added to the model's losses.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.array([[2.0, 0.0]], "float32"))
            >>> round(float(logits.cross_entropy(np.array([[1.0, 0.0]], "float32")).numpy()), 4)
            0.1269
        """
        labels_chain = _labels(self, "cross_entropy", labels, False)
        weights = _weights(self, "cross_entropy", per_example_weights)
        return Lowering((BatchLoss("cross_entropy", name=name),), others=(labels_chain, *weights))

    @chain_method()
    def sparse_cross_entropy(
        self, labels: Any, *, per_example_weights: Any = None, name: str | None = None
    ) -> Any:
        """The softmax cross entropy of these logits against integer class ids ``labels``;
        added to the model's losses.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.array([[2.0, 0.0]], "float32"))
            >>> round(float(logits.sparse_cross_entropy(np.array([1])).numpy()), 4)
            2.1269
        """
        labels_chain = _labels(self, "sparse_cross_entropy", labels, True)
        weights = _weights(self, "sparse_cross_entropy", per_example_weights)
        return Lowering(
            (BatchLoss("sparse_cross_entropy", name=name),), others=(labels_chain, *weights)
        )

    @chain_method()
    def binary_cross_entropy_with_logits(
        self, target: Any, *, per_example_weights: Any = None, name: str | None = None
    ) -> Any:
        """The sigmoid cross entropy of these logits against ``target`` probabilities (same
        shape); added to the model's losses.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.zeros((2, 3), "float32"))
            >>> round(float(logits.binary_cross_entropy_with_logits(np.ones((2, 3))).numpy()), 4)
            0.6931
        """
        return _regression(
            self, "binary_cross_entropy_with_logits", target, per_example_weights, name
        )

    @chain_method()
    def l2_regression(
        self, target: Any, *, per_example_weights: Any = None, name: str | None = None
    ) -> Any:
        """The mean squared error against ``target`` (same shape); added to the model's losses.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> float(cn.wrap(np.array([[1.0, 3.0]])).l2_regression(np.zeros((1, 2))).numpy())
            5.0
        """
        return _regression(self, "l2_regression", target, per_example_weights, name)

    @chain_method()
    def l1_regression(
        self, target: Any, *, per_example_weights: Any = None, name: str | None = None
    ) -> Any:
        """The mean absolute error against ``target`` (same shape); added to the model's losses.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> float(cn.wrap(np.array([[1.0, -3.0]])).l1_regression(np.zeros((1, 2))).numpy())
            2.0
        """
        return _regression(self, "l1_regression", target, per_example_weights, name)

    @chain_method()
    def evaluate_classifier(self, labels: Any, topk: int = 1, *, name: str | None = None) -> Any:
        """The fraction of examples whose label (class id or one-hot) is among the ``topk``
        highest of these logits (or probabilities).

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> logits = cn.wrap(np.array([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]], "float32"))
            >>> float(logits.evaluate_classifier(np.array([0, 1])).numpy())
            0.5
        """
        topk = check_positive_int("evaluate_classifier", "topk", topk)
        classes = self.shape[-1]  # type: ignore[attr-defined]
        if classes is not None and topk > classes:
            raise ValueError(
                f"evaluate_classifier(topk): topk={topk} is more than the {classes} classes: "
                "every label would count as found"
            )
        labels_chain = _labels(self, "evaluate_classifier", labels, None)
        return Lowering((Accuracy(topk, name=name),), others=(labels_chain,))


def _regression(chain: Any, method: str, target: Any, weights: Any, name: str | None) -> Lowering:
    target_chain = _as_chain(chain, target, method, "target")
    _check_target(method, chain, target_chain)
    extra = _weights(chain, method, weights)
    return Lowering((BatchLoss(method, name=name),), others=(target_chain, *extra))
