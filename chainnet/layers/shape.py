"""Layers that move data around: reshape with ``_``/``*``, squeeze, expand, transpose, slice,
cast, one-hot.

The layers that move data keep its dtype (:class:`SameDtypeLayer`): int32 stays int32,
float16 stays float16, in eager and symbolic mode alike."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Union

import keras
from keras import ops

__all__ = [
    "Cast",
    "ExpandDims",
    "OneHot",
    "Reshape",
    "SameDtypeLayer",
    "Slice",
    "Squeeze",
    "Transpose",
    "is_int",
    "full_precision_dtype",
    "step_dtype",
]

SAME = "_"
REST = "*"
SpecItem = Union[int, str]
Shape = tuple[Union[int, None], ...]

_register = keras.saving.register_keras_serializable(package="chainnet")


def is_int(value: Any) -> bool:
    """Whether ``value`` is an int (a NumPy integer too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def step_dtype(*dtypes: str) -> str | None:
    """The dtype a step that only moves values computes in, given its inputs' dtypes.

    Their common dtype (``keras.backend.result_type``): int32 stays int32, float16 stays
    float16, int32 with int64 gives int64. Under a mixed-precision policy (``mixed_float16``:
    a float16 compute dtype for float32 variables) float inputs follow the policy as in every
    Keras layer: ``None``, the policy's.

    Examples:
        >>> step_dtype("int32"), step_dtype("float16"), step_dtype("int32", "int64")
        ('int32', 'float16', 'int64')
    """
    dtype = str(keras.backend.result_type(*dtypes))
    policy = keras.config.dtype_policy()
    if keras.backend.is_float_dtype(dtype) and policy.compute_dtype != policy.variable_dtype:
        return None
    return dtype


def full_precision_dtype() -> str | None:
    """The dtype of a step that computes in full precision under a mixed-precision policy
    (losses, accuracy, softmax: Keras' mixed-precision guide keeps them in float32): the
    policy's variable dtype, or ``None`` (the policy's own) under any other policy.

    Examples:
        >>> import keras
        >>> full_precision_dtype() is None
        True
        >>> keras.config.set_dtype_policy("mixed_float16")
        >>> full_precision_dtype()
        'float32'
        >>> keras.config.set_dtype_policy("float32")
    """
    policy = keras.config.dtype_policy()
    return str(policy.variable_dtype) if policy.compute_dtype != policy.variable_dtype else None


def resolve_reshape(spec: Sequence[SpecItem], shape: Shape) -> Shape:
    """The static output shape of reshaping ``shape`` to ``spec`` (``None`` where unknown).

    Raises ``ValueError`` when the spec cannot fit the shape.
    """
    out: list[int | None] = []
    free = [i for i, s in enumerate(spec) if s in (REST, -1)]
    if len(free) > 1:
        raise ValueError(f"at most one '*' or -1 may appear in the spec, got {list(spec)}")
    for i, item in enumerate(spec):
        if item == SAME:
            if i >= len(shape):
                raise ValueError(
                    f"'_' at position {i} has no matching input dimension (input rank {len(shape)})"
                )
            out.append(shape[i])
        elif item in (REST, -1):
            out.append(None)
        elif isinstance(item, int) and not isinstance(item, bool) and item > 0:
            out.append(item)
        else:
            raise ValueError(
                f"spec items must be positive ints, '_' (same as input), '*' or -1 (the rest); "
                f"got {item!r} at position {i}"
            )
    rest_in = [d for i, d in enumerate(shape) if not (i < len(spec) and spec[i] == SAME)]
    fixed = [d for d, s in zip(out, spec) if s not in (SAME, REST, -1)]
    if None in rest_in:
        known = [d for i, d in enumerate(rest_in) if d is not None or i > 0]
        if shape and shape[0] is None and spec and spec[0] != SAME and None not in known:
            # only the batch size is unknown: every batch size must fit, not just some
            per_example = math.prod(d for d in known if d is not None)
            denominator = math.prod(d for d in fixed if d is not None)
            fits = per_example % denominator == 0 if free else denominator % per_example == 0
            if not fits:
                raise ValueError(
                    f"cannot reshape {shape} to {list(spec)}: the {per_example} elements of "
                    f"each example do not fit blocks of {denominator} for every batch size"
                )
        return tuple(out)
    total = math.prod(d for d in rest_in if d is not None)
    denominator = math.prod(d for d in fixed if d is not None)
    if free:
        if denominator == 0 or total % denominator:
            raise ValueError(
                f"cannot reshape {shape} to {list(spec)}: {total} elements do not divide "
                f"into blocks of {denominator}"
            )
        out[free[0]] = total // denominator
    elif total != denominator:
        raise ValueError(
            f"cannot reshape {shape} to {list(spec)}: {total} elements against {denominator}"
        )
    return tuple(out)


class SameDtypeLayer(keras.layers.Layer):
    """A layer that moves values and never converts them: its output has its input's dtype.

    Made by a chain method, it gets ``dtype=`` :func:`step_dtype` of its input, so an int32
    input is computed and reported as int32 (Keras' default, the float compute dtype, made
    layers that define ``compute_output_shape`` report float32), and a float16 one as
    float16. Under a non-float policy (int32, bool, ...) it never casts a float input to that
    policy (``autocast`` is off: the layer holds no variables, so nothing else changes); a
    float policy casts float inputs as every Keras layer does (``mixed_float16``).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not keras.backend.is_float_dtype(self.compute_dtype):
            self.autocast = False  # casting a float input to int or bool would change values

    def compute_output_spec(self, inputs: Any) -> Any:
        """The output's shape (from ``compute_output_shape`` when the layer defines one, else
        from tracing ``call``) with the dtype of the input as the layer computes it."""
        if type(self).compute_output_shape is keras.layers.Layer.compute_output_shape:
            return super().compute_output_spec(inputs)
        shape = self.compute_output_shape(tuple(inputs.shape))
        return keras.KerasTensor(shape, dtype=inputs.dtype)


@_register
class Reshape(SameDtypeLayer):
    """Reshapes with a full spec that includes the batch dimension.

    ``"_"`` keeps the input's dimension at that position, ``"*"`` (or -1) takes the rest.
    """

    def __init__(self, spec: Sequence[SpecItem], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = [s if isinstance(s, str) else int(s) for s in spec]

    def call(self, inputs: Any) -> Any:
        shape = ops.shape(inputs)
        target = [
            shape[i] if s == SAME else (-1 if s == REST else s) for i, s in enumerate(self.spec)
        ]
        return ops.reshape(inputs, target)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return resolve_reshape(self.spec, tuple(input_shape))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "spec": list(self.spec)}


@_register
class Squeeze(SameDtypeLayer):
    """Removes size-1 dimensions (``axis`` may be an int or a list of ints)."""

    def __init__(self, axis: int | Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else [int(a) for a in axis]

    def _axes(self, rank: int) -> list[int]:
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        return sorted(a % rank for a in axes)

    def call(self, inputs: Any) -> Any:
        axes = self._axes(len(inputs.shape))
        if not axes:  # nothing to remove: never let squeeze() drop a batch of one
            return inputs
        return ops.squeeze(inputs, axis=tuple(axes))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        drop = set(self._axes(len(input_shape)))
        return tuple(d for i, d in enumerate(input_shape) if i not in drop)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


@_register
class ExpandDims(SameDtypeLayer):
    """Inserts a size-1 dimension at ``axis``."""

    def __init__(self, axis: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs: Any) -> Any:
        return ops.expand_dims(inputs, self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


@_register
class Transpose(SameDtypeLayer):
    """Permutes every dimension, the batch dimension included (``tf.transpose``'s ``perm``)."""

    def __init__(self, perm: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.perm = [int(p) for p in perm]

    def call(self, inputs: Any) -> Any:
        return ops.transpose(inputs, self.perm)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "perm": list(self.perm)}


def encode_key(key: Any) -> list[Any]:
    """A NumPy-style index as JSON-friendly data.

    Ints stay ints, ``None`` (new axis) stays ``None``, ``...`` becomes ``"..."`` and a slice
    becomes ``[start, stop, step]``.
    """
    items = key if isinstance(key, tuple) else (key,)
    encoded: list[Any] = []
    for item in items:
        if item is Ellipsis:
            encoded.append("...")
        elif item is None:
            encoded.append(None)
        elif isinstance(item, slice):
            for part in (item.start, item.stop, item.step):
                if part is not None and (isinstance(part, bool) or not isinstance(part, int)):
                    raise TypeError(f"slice bounds must be ints or None, got {item!r}")
            encoded.append([item.start, item.stop, item.step])
        elif isinstance(item, int) and not isinstance(item, bool):
            encoded.append(int(item))
        else:
            raise TypeError(
                f"index items must be ints, slices, None (new axis) or ..., got {item!r}"
            )
    return encoded


def decode_key(encoded: Sequence[Any]) -> tuple[Any, ...]:
    """The inverse of :func:`encode_key`."""
    items: list[Any] = []
    for item in encoded:
        if item == "...":
            items.append(Ellipsis)
        elif isinstance(item, list):
            items.append(slice(*item))
        else:
            items.append(item)
    return tuple(items)


@_register
class Slice(SameDtypeLayer):
    """Indexes like NumPy: ints, slices, ``None`` (new axis) and ``...``."""

    def __init__(self, key: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = list(key)

    def call(self, inputs: Any) -> Any:
        return inputs[decode_key(self.key)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "key": list(self.key)}


@_register
class Cast(keras.layers.Layer):
    """Casts to ``target_dtype`` (inputs are passed in unconverted)."""

    def __init__(self, target_dtype: str, **kwargs: Any) -> None:
        kwargs.setdefault("autocast", False)  # keep the input's own dtype until the cast
        super().__init__(**kwargs)
        self.target_dtype = keras.backend.standardize_dtype(target_dtype)

    def call(self, inputs: Any) -> Any:
        return ops.cast(inputs, self.target_dtype)

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs.shape, dtype=self.target_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_dtype": self.target_dtype}


@_register
class OneHot(keras.layers.Layer):
    """Integer class ids to one-hot vectors of ``num_classes`` (a new last axis)."""

    def __init__(self, num_classes: int, target_dtype: str = "float32", **kwargs: Any) -> None:
        kwargs.setdefault("autocast", False)  # integer ids stay as they are
        super().__init__(**kwargs)
        if not is_int(num_classes) or num_classes < 1:
            raise ValueError(
                f"OneHot: num_classes must be a positive int, got {num_classes!r} "
                f"({type(num_classes).__name__})"
            )
        self.num_classes = int(num_classes)
        self.target_dtype = keras.backend.standardize_dtype(target_dtype)

    def call(self, inputs: Any) -> Any:
        ids = ops.cast(inputs, "int32")
        return ops.one_hot(ids, self.num_classes, dtype=self.target_dtype)

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor((*inputs.shape, self.num_classes), dtype=self.target_dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "target_dtype": self.target_dtype,
        }
