"""chainnet.testing: shape assertions with wildcards and the shape listing along a chain."""

from __future__ import annotations

import pytest

import chainnet as cn
from chainnet.testing import assert_shape, assert_shapes, format_shapes, shape_matches, shapes


def small_cnn() -> cn.Chain:
    return (
        cn.input((28, 28, 1), name="image")
        .conv2d(5, 16, name="conv1")
        .max_pool(2, 2)
        .flatten()
        .fully_connected(10, name="logits")
    )


@pytest.mark.parametrize(
    "actual,expected,matches",
    [
        ((None, 14, 14, 16), (None, 14, 14, 16), True),
        ((None, 14, 14, 16), (None, 14, 14, 8), False),
        ((None, 14, 14, 16), (2, 14, 14, 16), False),  # None in actual is not any number
        ((3, 14), (None, 14), True),  # None in expected matches anything
        ((3, 14), (None, None), True),
        ((3, 14), (None,), False),  # rank matters
        ((3, 14), (None, 14, 1), False),
        ((None, 14, 14, 16), (..., 16), True),  # ... at the start
        ((None, 14, 14, 16), (..., 14, 16), True),
        ((None, 14, 14, 16), (..., 8), False),
        ((None, 14, 14, 16), (None, ...), True),  # ... at the end
        ((None, 14, 14, 16), (None, 14, ...), True),
        ((None, 14, 14, 16), (None, 15, ...), False),
        ((None, 14, 14, 16), (None, ..., 16), True),  # ... in the middle
        ((None, 14, 14, 16), (None, 14, ..., 14, 16), True),
        ((None, 14, 14, 16), (None, 14, 14, ..., 14, 16), False),  # head and tail overlap
        ((None, 16), (None, ..., 16), True),  # ... matches zero dimensions
        ((None,), (None, ..., 16), False),
        ((None, 16), (...,), True),
        ((), (...,), True),
        ((), (), True),
        ((), (None,), False),
    ],
)
def test_shape_matches(
    actual: tuple[int | None, ...], expected: tuple[object, ...], matches: bool
) -> None:
    assert shape_matches(actual, expected) is matches  # type: ignore[arg-type]


def test_shape_matches_accepts_lists() -> None:
    assert shape_matches([None, 3], [None, 3])


def test_two_ellipses_raise() -> None:
    with pytest.raises(ValueError, match=r"at most one \.\.\. in an expected shape"):
        shape_matches((None, 3, 4), (..., 3, ...))


def test_assert_shape_passes_on_matches() -> None:
    y = small_cnn()
    pooled = y.network["max_pool"]
    assert_shape(pooled, (None, 14, 14, 16))
    assert_shape(pooled, (None, None, None, 16))
    assert_shape(pooled, (..., 16))
    assert_shape(pooled, (None, ..., 16))
    assert_shape(pooled, (None, 14, ...))
    assert_shape(y, (None, 10))


def test_assert_shape_failure_names_the_step_and_lists_every_shape() -> None:
    y = small_cnn()
    pooled = y.network["max_pool"]
    with pytest.raises(AssertionError) as caught:
        assert_shape(pooled, (None, 7, 7, 16))
    text = str(caught.value)
    assert text.startswith(
        "max_pool() 'max_pool' has shape (None, 14, 14, 16), expected (None, 7, 7, 16)."
    )
    assert "Shapes along the chain:" in text
    listing = text.split("Shapes along the chain:\n")[1].splitlines()
    assert [line.split()[0] for line in listing] == ["image", "conv1", "max_pool"]
    assert "(None, 28, 28, 16)" in listing[1] and "conv2d" in listing[1]
    assert "flatten" not in text  # later steps are not listed


def test_assert_shape_failure_shows_wildcards() -> None:
    with pytest.raises(AssertionError, match=r"expected \(\.\.\., 3\)\."):
        assert_shape(cn.input((4,)), (..., 3))
    with pytest.raises(AssertionError, match=r"expected \(None,\)\."):
        assert_shape(cn.input((4,)), (None,))


def test_assert_shape_two_ellipses_raise() -> None:
    with pytest.raises(ValueError, match="at most one"):
        assert_shape(cn.input((4,)), (..., ...))


def test_assert_shapes_reports_every_mismatch() -> None:
    y = small_cnn()
    assert_shapes(y, {"conv1": (None, 28, 28, 16), "max_pool": (..., 16), "logits": (None, 10)})
    with pytest.raises(AssertionError) as caught:
        assert_shapes(y, {"conv1": (None, 28, 28, 8), "max_pool": (..., 16), "logits": (None, 12)})
    text = str(caught.value)
    assert text.startswith("shape mismatch:\n")
    assert "conv1: has (None, 28, 28, 16), expected (None, 28, 28, 8)" in text
    assert "logits: has (None, 10), expected (None, 12)" in text
    assert "max_pool: has" not in text
    assert "Shapes:" in text and "flatten" in text


def test_assert_shapes_unknown_name() -> None:
    with pytest.raises(KeyError, match="no layer named 'conv9'"):
        assert_shapes(small_cnn(), {"conv9": (None,)})


def test_shapes_lists_every_ancestor_in_build_order() -> None:
    y = small_cnn()
    assert shapes(y) == {
        "image": (None, 28, 28, 1),
        "conv1": (None, 28, 28, 16),
        "max_pool": (None, 14, 14, 16),
        "flatten": (None, 3136),
        "logits": (None, 10),
    }
    assert list(shapes(y.network["max_pool"])) == ["image", "conv1", "max_pool"]


def test_shapes_of_a_branching_network_lists_only_what_the_chain_needs() -> None:
    x = cn.input((4,), name="x")
    a = x.fully_connected(3, name="a")
    x.fully_connected(5, name="unused")
    b = x.fully_connected(3, name="b")
    assert shapes(a + b) == {"x": (None, 4), "a": (None, 3), "b": (None, 3), "add": (None, 3)}


def test_format_shapes_aligns_columns() -> None:
    text = format_shapes(small_cnn())
    lines = text.splitlines()
    assert len(lines) == 5
    assert lines[0].split() == ["image", "input", "(None,", "28,", "28,", "1)"]
    assert lines[4].split()[:2] == ["logits", "fully_connected"]
    starts = {line.index("(") for line in lines}
    assert len(starts) == 1  # the shape column is aligned
    assert all(line.startswith("  ") for line in lines)


def test_shapes_of_eager_chains_are_concrete() -> None:
    import numpy as np

    y = cn.wrap(np.ones((2, 4, 4, 1), "float32")).max_pool(2).flatten()
    assert shapes(y) == {"input": (2, 4, 4, 1), "max_pool": (2, 2, 2, 1), "flatten": (2, 4)}
    assert_shape(y, (2, 4))
