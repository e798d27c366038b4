"""The operator table: which chain method each Python operator calls.

Chains, sequential builders and templates all inherit :class:`Operators`, so ``x + y``,
``2 * x``, ``1 - x``, ``-x`` and ``x[:, 0]`` mean the same on each of them: each class says
only how it applies a method (a chain calls it, a builder moves its head, a template
records it).
"""

from __future__ import annotations

from typing import Any

__all__ = ["OPERATORS", "Operators"]

# operator -> (chain method, constant arguments before the operand)
OPERATORS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "__add__": ("add", ()),
    "__radd__": ("add", ()),
    "__sub__": ("subtract", ()),
    "__rsub__": ("rsubtract", ()),
    "__mul__": ("multiply", ()),
    "__rmul__": ("multiply", ()),
    "__truediv__": ("divide", ()),
    "__rtruediv__": ("rdivide", ()),
    "__neg__": ("multiply", (-1,)),  # an int constant: an int chain stays int
    "__getitem__": ("slice", ()),
}


class Operators:
    """Python operators, each calling the chain method :data:`OPERATORS` names for it.

    A subclass implements ``_apply_operator(method, args)``.
    """

    __slots__ = ()

    # NumPy defers ``ndarray + x`` to ``x.__radd__`` instead of converting ``x`` to an array.
    __array_ufunc__ = None

    def _apply_operator(self, method: str, args: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def _operand_chain(self) -> Any:
        """The chain this object stands for as another step's operand (``None``: none)."""
        return None

    def _operator(self, operator: str, *operands: Any) -> Any:
        method, constants = OPERATORS[operator]
        return self._apply_operator(method, (*constants, *operands))

    def __add__(self, other: Any) -> Any:
        return self._operator("__add__", other)

    def __radd__(self, other: Any) -> Any:
        return self._operator("__radd__", other)

    def __sub__(self, other: Any) -> Any:
        return self._operator("__sub__", other)

    def __rsub__(self, other: Any) -> Any:
        return self._operator("__rsub__", other)

    def __mul__(self, other: Any) -> Any:
        return self._operator("__mul__", other)

    def __rmul__(self, other: Any) -> Any:
        return self._operator("__rmul__", other)

    def __truediv__(self, other: Any) -> Any:
        return self._operator("__truediv__", other)

    def __rtruediv__(self, other: Any) -> Any:
        return self._operator("__rtruediv__", other)

    def __neg__(self) -> Any:
        return self._operator("__neg__")

    def __getitem__(self, key: Any) -> Any:
        return self._operator("__getitem__", key)
