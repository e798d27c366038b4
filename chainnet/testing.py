"""Shape testing helpers: assert a shape with wildcards, list the shape at every step.

Examples:
    >>> import chainnet as cn
    >>> from chainnet.testing import assert_shape, shapes
    >>> y = cn.input((28, 28, 1)).conv2d(5, 16).max_pool(2, 2)
    >>> assert_shape(y, (None, 14, 14, 16))
    >>> assert_shape(y, (..., 16))
    >>> shapes(y)["conv2d"]
    (None, 28, 28, 16)
"""

from __future__ import annotations

from collections.abc import Sequence
from types import EllipsisType
from typing import Union

from chainnet._chain import Chain

__all__ = ["assert_shape", "assert_shapes", "format_shapes", "shape_matches", "shapes"]

Pattern = Sequence[Union[int, EllipsisType, None]]


def shapes(chain: Chain) -> dict[str, tuple[int | None, ...]]:
    """The static shape of every step ``chain`` depends on, by name, in build order."""
    network = chain.network
    return {name: network[name].shape for name in network.ancestors([chain.name])}


def format_shapes(chain: Chain) -> str:
    """:func:`shapes` as an aligned listing, one ``name  method  shape`` line per step."""
    network = chain.network
    lines = [(name, network[name].method, str(shape)) for name, shape in shapes(chain).items()]
    w0 = max(len(x[0]) for x in lines)
    w1 = max(len(x[1]) for x in lines)
    return "\n".join(f"  {a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in lines)


def shape_matches(actual: Sequence[int | None], expected: Pattern) -> bool:
    """Whether ``actual`` fits ``expected``: ``None`` matches any one dimension, ``...`` any
    number of dimensions (at most one ``...``)."""
    expected = list(expected)
    if expected.count(Ellipsis) > 1:
        raise ValueError(f"at most one ... in an expected shape, got {tuple(expected)}")
    if Ellipsis in expected:
        cut = expected.index(Ellipsis)
        head, tail = expected[:cut], expected[cut + 1 :]
        if len(actual) < len(head) + len(tail):
            return False
        actual_tail = list(actual[len(actual) - len(tail) :]) if tail else []
        return shape_matches(actual[: len(head)], head) and shape_matches(actual_tail, tail)
    if len(actual) != len(expected):
        return False
    return all(e is None or a == e for a, e in zip(actual, expected))


def _pattern_text(expected: Pattern) -> str:
    items = ["..." if e is Ellipsis else repr(e) for e in expected]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def assert_shape(chain: Chain, expected: Pattern) -> None:
    """Asserts ``chain.shape`` fits ``expected`` (``None`` and ``...`` are wildcards).

    The failure message names the step and lists the shape at every step before it.
    """
    if not shape_matches(chain.shape, expected):
        raise AssertionError(
            f"{chain.method}() {chain.name!r} has shape {chain.shape}, expected "
            f"{_pattern_text(expected)}.\nShapes along the chain:\n{format_shapes(chain)}"
        )


def assert_shapes(chain: Chain, expected: dict[str, Pattern]) -> None:
    """Asserts the shape of several named steps at once; reports every mismatch."""
    network = chain.network
    problems = []
    for name, pattern in expected.items():
        actual = network[name].shape
        if not shape_matches(actual, pattern):
            problems.append(f"  {name}: has {actual}, expected {_pattern_text(pattern)}")
    if problems:
        raise AssertionError(
            "shape mismatch:\n" + "\n".join(problems) + f"\nShapes:\n{format_shapes(chain)}"
        )
