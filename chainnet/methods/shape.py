"""Shape methods: ``flatten``, ``reshape``, ``squeeze``, ``expand_dims``, ``transpose``,
slicing with ``[]``, ``cast``, ``to_dense_one_hot``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import keras

from chainnet._arguments import check_axis
from chainnet._registry import chain_method
from chainnet.layers.shape import (
    REST,
    SAME,
    Cast,
    ExpandDims,
    OneHot,
    Reshape,
    Slice,
    Squeeze,
    Transpose,
    encode_key,
    is_int,
    resolve_reshape,
    step_dtype,
)

__all__ = ["ShapeMethods", "parse_reshape_spec"]


def parse_reshape_spec(spec: str | Sequence[int | str]) -> list[int | str]:
    """PrettyTensor's spec: a list of ints, ``"_"`` and ``"*"``, or a string such as ``"_*"``
    (one character per dimension: a digit, ``_`` or ``*``).

    A bare int is refused: the spec includes the batch dimension, so it would be a rank-1
    output (PrettyTensor and Keras' ``Reshape`` take a list too).
    """
    if isinstance(spec, str):
        items: list[int | str] = []
        for char in spec:
            if char in (SAME, REST):
                items.append(char)
            elif char.isdigit() and char != "0":
                items.append(int(char))
            else:
                raise ValueError(
                    "reshape(shape_spec): a string spec holds one character per dimension: a "
                    f"digit 1-9, '_' or '*'; got {char!r} in {spec!r}"
                )
        return items
    if not isinstance(spec, Sequence):
        raise TypeError(
            "reshape(shape_spec): expected a list of ints, '_' and '*' (the batch dimension "
            f"included, e.g. ['_', 12] or [-1, 12]) or a string such as '_*', got {spec!r} "
            f"({type(spec).__name__})"
        )
    items = list(spec)
    for item in items:
        if not (is_int(item) or isinstance(item, str)):
            raise TypeError(
                f"reshape(shape_spec): items must be ints, '_' or '*'; got {item!r} "
                f"({type(item).__name__}) in {items!r}"
            )
    return [item if isinstance(item, str) else int(item) for item in items]


def _check_indices(shape: tuple[int | None, ...], encoded: list[Any]) -> None:
    """Refuses an int index out of range of a known dimension, or more indices than axes."""
    if encoded.count("...") > 1:
        raise ValueError("slice(key): an index can only have a single ellipsis ('...')")
    if "..." in encoded:
        cut = encoded.index("...")
        head, tail = encoded[:cut], encoded[cut + 1 :]
    else:
        head, tail = encoded, []
    used = [item for item in head + tail if item is not None]
    if len(used) > len(shape):
        raise ValueError(
            f"slice(key): too many indices for shape {shape}: {len(used)} axes indexed, "
            f"{len(shape)} there"
        )
    tail_used = sum(item is not None for item in tail)
    for start, items in ((0, head), (len(shape) - tail_used, tail)):
        dim = start
        for item in items:
            if item is None:
                continue
            size = shape[dim]
            if is_int(item) and size is not None and not -size <= item < size:
                raise ValueError(
                    f"slice(key): index {item} is out of range for axis {dim} of size {size} "
                    f"(shape {shape})"
                )
            dim += 1


def _dtype(chain: Any) -> str | None:
    """The dtype the chain's next shape step computes in (see :func:`step_dtype`)."""
    return step_dtype(chain.dtype)


class ShapeMethods:
    """Layers that change shape or dtype, never values.

    Every step but ``cast`` and ``to_dense_one_hot`` keeps the input's dtype (under a
    mixed-precision policy, float inputs follow the policy as in every Keras layer).
    """

    __slots__ = ()

    @chain_method()
    def flatten(self, *, name: str | None = None) -> Any:
        """Flattens every dimension but the batch: ``(batch, 7, 7, 36)`` to ``(batch, 1764)``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((7, 7, 36)).flatten().shape
            (None, 1764)
        """
        return keras.layers.Flatten(dtype=_dtype(self), name=name)

    @chain_method()
    def reshape(self, shape_spec: str | Sequence[int | str], *, name: str | None = None) -> Any:
        """Reshapes to ``shape_spec``, which includes the batch dimension (PrettyTensor style).

        ``"_"`` keeps the input's dimension at that position, ``"*"`` (or -1) takes the rest;
        a string like ``"_*"`` is a one-character-per-dimension spec.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((7, 7, 36)).reshape(["_", 49, "*"]).shape
            (None, 49, 36)
        """
        spec = parse_reshape_spec(shape_spec)
        resolve_reshape(spec, self.shape)  # type: ignore[attr-defined]
        return Reshape(spec, dtype=_dtype(self), name=name)

    @chain_method()
    def squeeze(self, axis: int | Sequence[int] | None = None, *, name: str | None = None) -> Any:
        """Removes size-1 dimensions: ``axis``, or every size-1 dimension but the batch
        (none at all when there is none: the step is then the identity).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((1, 5, 1)).squeeze().shape
            (None, 5)
        """
        shape = self.shape  # type: ignore[attr-defined]
        rank = len(shape)
        if axis is None:
            axes: int | list[int] = [i for i, d in enumerate(shape) if i > 0 and d == 1]
        elif isinstance(axis, Iterable) and not isinstance(axis, (str, bytes)):
            axes = [check_axis("squeeze", "axis", a, rank) for a in axis]
        else:
            axes = check_axis("squeeze", "axis", axis, rank)
        for a in [axes] if isinstance(axes, int) else axes:
            if a % rank == 0:
                raise ValueError(f"squeeze(axis): axis {a} is the batch axis of shape {shape}")
            if shape[a] not in (1, None):
                raise ValueError(
                    f"squeeze(axis): axis {a} of shape {shape} is not of size 1 ({shape[a]})"
                )
        return Squeeze(axes, dtype=_dtype(self), name=name)

    @chain_method()
    def expand_dims(self, axis: int = -1, *, name: str | None = None) -> Any:
        """Inserts a size-1 dimension at ``axis``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((28, 28)).expand_dims(-1).shape
            (None, 28, 28, 1)
        """
        rank = len(self.shape) + 1  # type: ignore[attr-defined]  # the output's
        if check_axis("expand_dims", "axis", axis, rank) % rank == 0:
            raise ValueError(
                f"expand_dims(axis): axis {axis} is the batch axis; insert at 1 or after"
            )
        return ExpandDims(int(axis), dtype=_dtype(self), name=name)

    @chain_method()
    def transpose(self, perm: Sequence[int], *, name: str | None = None) -> Any:
        """Permutes the dimensions; ``perm`` covers every one, the batch dimension included.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((3, 5)).transpose([0, 2, 1]).shape
            (None, 5, 3)
        """
        rank = len(self.shape)  # type: ignore[attr-defined]
        if (
            not isinstance(perm, Iterable)
            or isinstance(perm, (str, bytes))
            or not all(is_int(p) for p in perm)
        ):
            raise TypeError(
                f"transpose(perm): expected a list of {rank} ints (a permutation of "
                f"0..{rank - 1}, the batch dimension included), got {perm!r} "
                f"({type(perm).__name__})"
            )
        perm = [int(p) for p in perm]
        if sorted(perm) != list(range(rank)):
            raise ValueError(
                f"transpose(perm): expected a permutation of 0..{rank - 1} (the batch "
                f"dimension included), got {perm}"
            )
        return Transpose(perm, dtype=_dtype(self), name=name)

    @chain_method()
    def slice(self, key: Any, *, name: str | None = None) -> Any:
        """NumPy-style indexing as a layer; ``chain[:, 2:5]`` calls this.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((10, 4)).slice((slice(None), slice(2, 5))).shape
            (None, 3, 4)
        """
        encoded = encode_key(key)
        _check_indices(self.shape, encoded)  # type: ignore[attr-defined]
        return Slice(encoded, dtype=_dtype(self), name=name)

    @chain_method()
    def cast(self, dtype: str, *, name: str | None = None) -> Any:
        """Casts to ``dtype``.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((3,), dtype="int32").cast("float32").dtype
            'float32'
        """
        return Cast(dtype, name=name)

    @chain_method()
    def to_dense_one_hot(
        self, num_classes: int, *, dtype: str = "float32", name: str | None = None
    ) -> Any:
        """Integer class ids to one-hot vectors (a new last axis of ``num_classes``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((), dtype="int32").to_dense_one_hot(10).shape
            (None, 10)
        """
        if not is_int(num_classes):
            raise TypeError(
                "num_classes (the one-hot depth) must be a positive int, got "
                f"{num_classes!r} ({type(num_classes).__name__})"
            )
        if num_classes < 1:
            raise ValueError(
                f"num_classes (the one-hot depth) must be a positive int, got {num_classes!r}"
            )
        return OneHot(num_classes, dtype, name=name)
