"""Arithmetic operators ``+ - * /`` between chains, tensors, arrays and scalars."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from chainnet._registry import Lowering, chain_method
from chainnet.layers.arithmetic import Arithmetic

__all__ = ["ArithmeticMethods", "broadcast_shape"]


def broadcast_shape(
    a: tuple[int | None, ...], b: tuple[int | None, ...]
) -> tuple[int | None, ...] | None:
    """The broadcast of two static shapes (``None`` = unknown), or ``None`` if they clash."""
    out: list[int | None] = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x == 1:
            out.append(y)
        elif y == 1 or x == y:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        else:
            return None
    return tuple(reversed(out))


def _lower(chain: Any, op: str, other: Any, reverse: bool, name: str | None) -> Any:
    from chainnet._chain import Chain

    if isinstance(other, Chain):
        if broadcast_shape(chain.shape, other.shape) is None:
            raise ValueError(
                f"cannot {op} shapes {chain.shape} ({chain.name!r}) and {other.shape} "
                f"({other.name!r}): they do not broadcast"
            )
        return Lowering((Arithmetic(op, name=name),), others=(other,))
    if isinstance(other, keras.KerasTensor):
        raise TypeError(
            f"cannot {op} a chain and a symbolic Keras tensor; wrap it first: cn.wrap(tensor)"
        )
    if tf.is_tensor(other) and not tf.executing_eagerly():
        # a graph tensor inside tf.function has no value to bake in: it becomes an operand
        operand = chain.network.adopt(other, f"{op}_operand", method=op)
        return _lower(chain, op, operand, reverse, name)
    constant = np.asarray(other)
    if constant.dtype.kind not in "biuf":
        raise TypeError(
            f"cannot {op} a chain and {type(other).__name__} {other!r}: constants must be "
            f"numbers (bool, int or float), got dtype {constant.dtype}"
        )
    if broadcast_shape(chain.shape, constant.shape) is None:
        raise ValueError(
            f"cannot {op} shape {chain.shape} ({chain.name!r}) and a constant of shape "
            f"{constant.shape}: they do not broadcast"
        )
    result = _result_dtype(chain.dtype, constant)
    return Arithmetic(op, constant=constant, reverse=reverse, result_dtype=result, name=name)


def _result_dtype(chain_dtype: str, constant: np.ndarray) -> str:
    """A float constant on an int chain gives floats (``floatx``); otherwise the chain's dtype
    wins, so ``float32_chain * np.ones(3)`` (float64) stays float32."""
    if constant.dtype.kind == "f" and "float" not in chain_dtype:
        return keras.config.floatx()
    return chain_dtype


class ArithmeticMethods:
    """``chain + other`` and friends; ``other`` is a chain, a tensor, an array or a number."""

    __slots__ = ()

    @chain_method()
    def add(self, other: Any, *, name: str | None = None) -> Any:
        """Elementwise ``self + other`` (with broadcasting); ``chain + other`` calls this.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((4,))
            >>> (x + x.fully_connected(4)).shape
            (None, 4)
        """
        return _lower(self, "add", other, False, name)

    @chain_method()
    def subtract(self, other: Any, *, name: str | None = None) -> Any:
        """Elementwise ``self - other``; ``chain - other`` calls this.

        Examples:
            >>> import chainnet as cn
            >>> (cn.input((4,)) - 1.0).shape
            (None, 4)
        """
        return _lower(self, "subtract", other, False, name)

    @chain_method()
    def multiply(self, other: Any, *, name: str | None = None) -> Any:
        """Elementwise ``self * other``; ``chain * other`` calls this.

        Examples:
            >>> import chainnet as cn
            >>> (cn.input((4,)) * 2.0).shape
            (None, 4)
        """
        return _lower(self, "multiply", other, False, name)

    @chain_method()
    def divide(self, other: Any, *, name: str | None = None) -> Any:
        """Elementwise ``self / other``; ``chain / other`` calls this.

        Examples:
            >>> import chainnet as cn
            >>> (cn.input((4,)) / 255.0).shape
            (None, 4)
        """
        return _lower(self, "divide", other, False, name)

    @chain_method()
    def rsubtract(self, other: Any, *, name: str | None = None) -> Any:
        """``other - self`` for a constant ``other``; ``1.0 - chain`` calls this."""
        return _lower(self, "subtract", other, True, name)

    @chain_method()
    def rdivide(self, other: Any, *, name: str | None = None) -> Any:
        """``other / self`` for a constant ``other``; ``1.0 / chain`` calls this."""
        return _lower(self, "divide", other, True, name)

    def __add__(self, other: Any) -> Any:
        return self.add(other)

    def __radd__(self, other: Any) -> Any:
        return self.add(other)

    def __sub__(self, other: Any) -> Any:
        return self.subtract(other)

    def __rsub__(self, other: Any) -> Any:
        return self.rsubtract(other)

    def __mul__(self, other: Any) -> Any:
        return self.multiply(other)

    def __rmul__(self, other: Any) -> Any:
        return self.multiply(other)

    def __truediv__(self, other: Any) -> Any:
        return self.divide(other)

    def __rtruediv__(self, other: Any) -> Any:
        return self.rdivide(other)

    def __neg__(self) -> Any:
        return self.multiply(-1.0, name=None)
