"""Input compatibility: every check chainnet makes of static shapes and dtypes, in one place.

Shapes are tuples with ``None`` for unknown dimensions, the batch dimension included.
Each check raises an error that names the shapes and what was expected: a ``ValueError``
where the step that runs the check puts it in context (``join() at layer 'join' ...``),
a :class:`ChainError` where the check is given the context itself.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Union

from chainnet._errors import ChainError

__all__ = [
    "MAX_RANK",
    "Shape",
    "broadcast_shape",
    "check_broadcast",
    "check_float_dtype",
    "check_join",
    "check_numeric_dtype",
    "check_rank",
    "check_same_shape",
    "first_mismatch",
    "normalize_axis",
    "rank_text",
]

Shape = tuple[Union[int, None], ...]

MAX_RANK = 8
"""The highest rank a method's ``rank=`` lists; ``range(2, MAX_RANK + 1)`` means "2 or more"."""


def broadcast_shape(a: Shape, b: Shape) -> Shape | None:
    """The broadcast of two static shapes (``None`` = unknown), or ``None`` if they clash.

    Examples:
        >>> broadcast_shape((None, 4), (4,)), broadcast_shape((None, 3), (None, 4))
        ((None, 4), None)
    """
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


def first_mismatch(expected: Shape, got: Shape) -> int | None:
    """The first dimension where ``got`` does not fit ``expected`` (-1 for another rank),
    or ``None`` when it fits (``None`` dimensions fit anything).

    Examples:
        >>> first_mismatch((None, 4), (8, 4)), first_mismatch((4,), (4, 1))
        (None, -1)
        >>> first_mismatch((3,), (4,))
        0
    """
    if len(expected) != len(got):
        return -1
    for i, (a, b) in enumerate(zip(expected, got)):
        if a is not None and b is not None and a != b:
            return i
    return None


def rank_text(rank: int | tuple[int, ...]) -> str:
    """``"rank 2"`` or ``"rank 3 or 4"``."""
    if isinstance(rank, int):
        return f"rank {rank}"
    if rank[-1] >= MAX_RANK:  # declared as "this rank or more"
        return f"rank {rank[0]} or more"
    return "rank " + " or ".join(str(r) for r in rank)


def check_rank(
    shape: Shape, rank: int | tuple[int, ...], *, where: str, source: str, hint: str | None = None
) -> None:
    """Raises unless ``shape`` has one of the ranks ``rank``; ``where`` says which step."""
    ranks = (rank,) if isinstance(rank, int) else rank
    if len(shape) not in ranks:
        message = (
            f"{where}: expected an input of {rank_text(rank)}, got shape {shape} "
            f"(rank {len(shape)}) from {source!r}."
        )
        raise ChainError(f"{message} {hint}" if hint else message)


def check_float_dtype(dtype: str, *, where: str, source: str) -> None:
    """Raises unless ``dtype`` is a floating-point dtype (a step that computes on floats).

    Examples:
        >>> check_float_dtype("int32", where="conv2d() at layer 'c'", source="x")
        Traceback (most recent call last):
        chainnet.ChainError: conv2d() at layer 'c': needs a floating-point input, got int32 ...
    """
    if "float" not in dtype:
        raise ChainError(
            f"{where}: needs a floating-point input, got {dtype} from {source!r}; cast it "
            "first: .cast('float32')."
        )


def check_numeric_dtype(dtype: str, *, where: str, source: str, reason: str) -> None:
    """Raises for a bool ``dtype`` (a step TensorFlow computes on numbers only)."""
    if dtype == "bool":
        raise ChainError(
            f"{where}: needs a numeric input, got bool from {source!r} ({reason}); cast it "
            "first: .cast('int32') or .cast('float32')."
        )


def check_broadcast(op: str, left: Shape, right: Shape, names: tuple[str, str | None]) -> None:
    """Raises unless the two shapes broadcast (for an elementwise ``op``); ``names`` are the
    two operands' names (``None`` for a constant on the right).

    Examples:
        >>> check_broadcast("add", (None, 6), (4,), ("x", None))
        Traceback (most recent call last):
        ValueError: cannot add shape (None, 6) ('x') and a constant of shape (4,): ...
    """
    if broadcast_shape(left, right) is not None:
        return
    if names[1] is None:
        text = f"shape {left} ({names[0]!r}) and a constant of shape {right}"
    else:
        text = f"shapes {left} ({names[0]!r}) and {right} ({names[1]!r})"
    raise ValueError(f"cannot {op} {text}: they do not broadcast")


def check_same_shape(
    method: str, what: str, got: Shape, got_name: str, want: Shape, want_name: str
) -> None:
    """Raises unless ``got`` fits ``want`` dimension by dimension (``None`` fits anything)."""
    if first_mismatch(want, got) is not None:
        raise ChainError(
            f"{method}(): the {what} of shape {got} ({got_name!r}) does not match the "
            f"predictions of shape {want} ({want_name!r})."
        )


def normalize_axis(axis: int, rank: int, what: str, argument: str | None = None) -> int:
    """``axis`` in ``[0, rank)``; a negative axis counts from the end.

    ``what`` names the method (``"split"``), ``argument`` the argument that gave the axis;
    an axis that is not an int (a NumPy integer is one) is a ``TypeError``, one out of range
    a ``ValueError``.

    Examples:
        >>> normalize_axis(-1, 3, "split", "split_dim")
        2
        >>> normalize_axis("1", 3, "split", "split_dim")
        Traceback (most recent call last):
        TypeError: split(split_dim): expected an int axis, got '1' (str)
    """
    where = f"{what}({argument})" if argument else what
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{where}: expected an int axis, got {axis!r} ({type(axis).__name__})")
    if not -rank <= axis < rank:
        raise ValueError(f"{where}: axis {axis} is out of range for rank {rank}")
    return int(axis) % rank


def check_join(how: str, shapes: Sequence[Shape], names: Sequence[str], axis: int = -1) -> None:
    """Raises, naming every shape and the join mode, unless the shapes can be joined.

    ``how`` is ``"concat"`` (equal but along ``axis``), ``"stack"`` (equal) or an
    elementwise merge (they must broadcast).

    Examples:
        >>> check_join("concat", [(None, 2), (None, 3)], ["a", "b"])
        >>> check_join("add", [(None, 2), (None, 3)], ["a", "b"])
        Traceback (most recent call last):
        ValueError: cannot join with how='add': shapes (None, 2) ('a'), ...
    """
    described = ", ".join(f"{s} ({n!r})" for s, n in zip(shapes, names))
    if how == "concat":
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(
                f"cannot join with how='concat': shapes {described} have different ranks"
            )
        ax = normalize_axis(axis, rank, "join(how='concat')")
        for s in shapes[1:]:
            for i, (a, b) in enumerate(zip(shapes[0], s)):
                if i != ax and a is not None and b is not None and a != b:
                    raise ValueError(
                        f"cannot join with how='concat' along axis {axis}: shapes "
                        f"{described} differ in dimension {i} ({a} vs {b})"
                    )
    elif how == "stack":
        for s in shapes[1:]:
            if len(s) != len(shapes[0]) or broadcast_shape(shapes[0], s) != shapes[0]:
                raise ValueError(f"cannot stack shapes {described}: they must be equal")
    else:
        out: Shape | None = shapes[0]
        for s in shapes[1:]:
            out = broadcast_shape(out, s) if out is not None else None
        if out is None:
            raise ValueError(f"cannot join with how={how!r}: shapes {described} do not broadcast")
