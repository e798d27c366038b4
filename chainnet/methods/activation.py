"""Activations, each its own named layer: ``relu`` ... ``softmax_activation``, ``activation``.

Dtypes are true (issue 9): ``relu`` and ``relu6`` compute in an int input's dtype (int32 stays
int32, as ``tf.nn.relu`` computes it) and refuse bool; every other activation here needs a
floating-point input (TensorFlow has no int kernel for it, or ``tanh``/``leaky_relu`` would
give floats a layer reports as int), refused at build time with a ``.cast('float32')`` hint,
the same way on symbolic and eager chains. ``activation(fn)`` runs what it is given.
"""

from __future__ import annotations

from typing import Any

import keras

from chainnet._arguments import check_axis, check_number
from chainnet._registry import chain_method
from chainnet.layers.shape import full_precision_dtype
from chainnet.methods._common import ActivationLike, check_numeric_input, int_dtype

__all__ = ["ActivationMethods"]


class ActivationMethods:
    """Activation layers (``keras.layers.Activation`` and friends)."""

    __slots__ = ()

    @chain_method()
    def activation(self, fn: ActivationLike, *, name: str | None = None) -> Any:
        """Applies an activation given by name (``"relu"``) or as a function.

        A plain Python function saves by name; to load the model, register it with
        ``keras.saving.register_keras_serializable``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).activation("tanh").shape
            (None, 4)
        """
        if fn is None:
            raise ValueError("activation(fn) needs an activation name or function, got None")
        if not callable(fn):
            try:
                keras.activations.get(fn)
            except (TypeError, ValueError):
                raise ValueError(
                    f"activation(fn): expected a Keras activation name (such as 'relu') or a "
                    f"function, got {fn!r}"
                ) from None
        return keras.layers.Activation(fn, name=name)

    @chain_method()
    def relu(self, *, name: str | None = None) -> Any:
        """``max(x, 0)``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).relu().shape
            (None, 4)
        """
        check_numeric_input(self, "relu", name)
        return keras.layers.Activation("relu", dtype=int_dtype(self), name=name)

    @chain_method()
    def relu6(self, *, name: str | None = None) -> Any:
        """``min(max(x, 0), 6)``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).relu6().shape
            (None, 4)
        """
        check_numeric_input(self, "relu6", name)
        return keras.layers.Activation("relu6", dtype=int_dtype(self), name=name)

    @chain_method(float_input=True)
    def sigmoid(self, *, name: str | None = None) -> Any:
        """``1 / (1 + exp(-x))``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).sigmoid().shape
            (None, 4)
        """
        return keras.layers.Activation("sigmoid", name=name)

    @chain_method(float_input=True)
    def tanh(self, *, name: str | None = None) -> Any:
        """Hyperbolic tangent.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).tanh().shape
            (None, 4)
        """
        return keras.layers.Activation("tanh", name=name)

    @chain_method(float_input=True)
    def softplus(self, *, name: str | None = None) -> Any:
        """``log(1 + exp(x))``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).softplus().shape
            (None, 4)
        """
        return keras.layers.Activation("softplus", name=name)

    @chain_method(float_input=True)
    def softsign(self, *, name: str | None = None) -> Any:
        """``x / (1 + |x|)``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).softsign().shape
            (None, 4)
        """
        return keras.layers.Activation("softsign", name=name)

    @chain_method(float_input=True)
    def elu(self, *, alpha: float = 1.0, name: str | None = None) -> Any:
        """Exponential linear unit (``keras.layers.ELU``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).elu(alpha=0.5).shape
            (None, 4)
        """
        return keras.layers.ELU(alpha=check_number("elu", "alpha", alpha), name=name)

    @chain_method(float_input=True)
    def selu(self, *, name: str | None = None) -> Any:
        """Scaled exponential linear unit.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).selu().shape
            (None, 4)
        """
        return keras.layers.Activation("selu", name=name)

    @chain_method(float_input=True)
    def gelu(self, *, name: str | None = None) -> Any:
        """Gaussian error linear unit (exact form).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).gelu().shape
            (None, 4)
        """
        return keras.layers.Activation("gelu", name=name)

    @chain_method(float_input=True)
    def swish(self, *, name: str | None = None) -> Any:
        """``x * sigmoid(x)`` (also called SiLU).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).swish().shape
            (None, 4)
        """
        return keras.layers.Activation("swish", name=name)

    @chain_method(float_input=True)
    def leaky_relu(self, *, alpha: float = 0.2, name: str | None = None) -> Any:
        """``x`` if positive else ``alpha * x`` (``tf.nn.leaky_relu``'s default 0.2).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).leaky_relu(alpha=0.1).shape
            (None, 4)
        """
        alpha = check_number("leaky_relu", "alpha", alpha)
        return keras.layers.LeakyReLU(negative_slope=alpha, name=name)

    @chain_method(float_input=True)
    def softmax_activation(self, *, axis: int = -1, name: str | None = None) -> Any:
        """Softmax over ``axis`` (see ``softmax_classifier`` for a head with a loss).

        Under a mixed-precision policy (``cn.defaults(dtype="mixed_float16")``) it computes
        in float32, as Keras' mixed-precision guide advises for a model's final softmax.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((10,)).softmax_activation().shape
            (None, 10)
        """
        check_axis("softmax_activation", "axis", axis, len(self.shape))  # type: ignore[attr-defined]
        return keras.layers.Softmax(axis=axis, dtype=full_precision_dtype(), name=name)
