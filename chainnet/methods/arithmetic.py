"""Arithmetic operators ``+ - * /`` between chains, tensors, arrays and scalars."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from chainnet._chainbase import ChainBase, Lowering
from chainnet._operands import as_operand
from chainnet._registry import chain_method
from chainnet._shapes import check_broadcast
from chainnet.layers.arithmetic import Arithmetic
from chainnet.layers.shape import step_dtype

__all__ = ["ArithmeticMethods"]


def _lower(chain: Any, op: str, other: Any, reverse: bool, name: str | None) -> Any:
    method = f"r{op}" if reverse else op
    operand = as_operand(chain, other, method=method, role=f"{op}_operand", constant=True)
    if isinstance(operand, ChainBase):
        check_broadcast(op, chain.shape, operand.shape, (chain.name, operand.name))
        return Lowering((Arithmetic(op, reverse=reverse, name=name),), others=(operand,))
    check_broadcast(op, chain.shape, operand.shape, (chain.name, None))
    result = _result_dtype(chain.dtype, operand)
    return Arithmetic(op, constant=operand, reverse=reverse, result_dtype=result, name=name)


def _result_dtype(chain_dtype: str, constant: np.ndarray) -> str | None:
    """A float constant on an int chain gives floats (``floatx``); otherwise the chain's dtype
    wins, so ``float32_chain * np.ones(3)`` (float64) stays float32. Under a mixed-precision
    policy a number (a weak type in ``keras.ops``) on a float chain follows the policy
    (``None``: the input as the layer casts it, float16), as the same step between two
    chains and every Keras layer do; an array keeps the chain's float32, as ``keras.ops``
    promote float16 with a float32 array."""
    if constant.dtype.kind == "f" and "float" not in chain_dtype:
        return keras.config.floatx()
    return step_dtype(chain_dtype) if constant.ndim == 0 else chain_dtype


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
        """``other - self``; ``1.0 - chain`` calls this.

        Examples:
            >>> import chainnet as cn
            >>> (1.0 - cn.input((4,))).shape
            (None, 4)
        """
        return _lower(self, "subtract", other, True, name)

    @chain_method()
    def rdivide(self, other: Any, *, name: str | None = None) -> Any:
        """``other / self``; ``1.0 / chain`` calls this.

        Examples:
            >>> import chainnet as cn
            >>> (1.0 / cn.input((4,))).shape
            (None, 4)
        """
        return _lower(self, "divide", other, True, name)
