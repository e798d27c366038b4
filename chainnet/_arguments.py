"""Argument checks: each names the method and the argument, what was expected and what was
given, before any layer is made.

They raise ``TypeError`` (a value of the wrong type) or ``ValueError`` (out of range); a
chain step reports them as a :class:`chainnet.ChainError` that also names the layer.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_axis",
    "check_bool",
    "check_bool_or_dict",
    "check_non_negative",
    "check_number",
    "check_one_of",
    "check_positive_int",
    "check_positive_ints",
    "check_rate",
]


def _given(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _is_int(value: Any) -> bool:
    if type(value) is int:  # the common case, without the ABC check
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(method: str, argument: str, value: Any) -> int:
    """``value`` as an int >= 1 (bools and strings are refused).

    Examples:
        >>> check_positive_int("fully_connected", "size", 10)
        10
        >>> check_positive_int("fully_connected", "size", True)
        Traceback (most recent call last):
        TypeError: fully_connected(size): expected a positive int, got True (bool)
    """
    if not _is_int(value):
        raise TypeError(f"{method}({argument}): expected a positive int, got {_given(value)}")
    if value < 1:
        raise ValueError(f"{method}({argument}): expected a positive int, got {value!r}")
    return int(value)


def check_positive_ints(method: str, argument: str, value: Any, rank: int) -> Any:
    """An int >= 1, or a sequence of ``rank`` of them (a kernel size, strides)."""
    if _is_int(value):
        return check_positive_int(method, argument, value)
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, str):
        items = list(value)
        if len(items) == rank and all(_is_int(v) and v >= 1 for v in items):
            return tuple(int(v) for v in items)
    raise TypeError(
        f"{method}({argument}): expected a positive int or {rank} of them, got {_given(value)}"
    )


def check_rate(method: str, argument: str, value: Any) -> float:
    """A number in [0, 1) (a dropout rate).

    Examples:
        >>> check_rate("dropout", "rate", 1.0)
        Traceback (most recent call last):
        ValueError: dropout(rate): expected a number in [0, 1), got 1.0
    """
    number = check_number(method, argument, value)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{method}({argument}): expected a number in [0, 1), got {value!r}")
    return number


def check_number(method: str, argument: str, value: Any) -> float:
    """A real number (not a bool, not a string)."""
    if type(value) is float:  # the common case, without the ABC check
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{method}({argument}): expected a number, got {_given(value)}")
    return float(value)


def check_non_negative(method: str, argument: str, value: Any) -> float | None:
    """``None``, or a number >= 0 (an ``l2loss``)."""
    if value is None:
        return None
    number = check_number(method, argument, value)
    if number < 0:
        raise ValueError(f"{method}({argument}): expected a number >= 0, got {value!r}")
    return number


def check_bool(method: str, argument: str, value: Any) -> bool:
    """``True`` or ``False`` (not ``"no"``, not ``0``)."""
    if not isinstance(value, bool):
        raise TypeError(f"{method}({argument}): expected True or False, got {_given(value)}")
    return value


def check_bool_or_dict(method: str, argument: str, value: Any) -> bool | Mapping[str, Any]:
    """``True``, ``False`` or a dict of options (``batch_normalize``)."""
    if isinstance(value, (bool, Mapping)):
        return value
    raise TypeError(
        f"{method}({argument}): expected True, False or a dict of options, got {_given(value)}"
    )


def check_one_of(method: str, argument: str, value: Any, choices: Collection[str]) -> str:
    """One of ``choices`` (compared in lower case)."""
    if isinstance(value, str) and value.lower() in choices:
        return value.lower()
    raise ValueError(
        f"{method}({argument}): expected one of {sorted(choices)}, got {_given(value)}"
    )


def check_axis(method: str, argument: str, value: Any, rank: int) -> int:
    """An int axis of a tensor of ``rank`` (negative counts from the end)."""
    if not _is_int(value):
        raise TypeError(f"{method}({argument}): expected an int axis, got {_given(value)}")
    if not -rank <= value < rank:
        raise ValueError(
            f"{method}({argument}): axis {value} is out of range for an input of rank {rank}"
        )
    return int(value)
