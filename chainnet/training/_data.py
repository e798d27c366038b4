"""In-memory training data: what the fast path accepts, and its conversion to tensors."""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from chainnet._aligned import aligned_copy, is_aligned
from chainnet._errors import ChainError

__all__ = [
    "Arrays",
    "TensorCache",
    "default_max_bytes",
    "epoch_order",
    "is_nested",
    "leaves",
    "not_in_memory_reason",
    "prepare_arrays",
    "split_validation",
]

#: A nest (array, list/tuple or dict of arrays) of NumPy arrays; None where absent.
Nest = Any


def default_max_bytes() -> int:
    """A quarter of the machine's physical memory (4 GiB when it cannot be told)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 << 30
    return max(int(total) // 4, 1 << 30)


def _is_leaf_array(value: Any) -> bool:
    if isinstance(value, np.generic):  # a NumPy scalar: a list of them is one array
        return False
    return isinstance(value, (np.ndarray, tf.Tensor, tf.Variable)) or (
        hasattr(value, "__array__") and hasattr(value, "shape") and not isinstance(value, Mapping)
    )


def not_in_memory_reason(value: Any, name: str) -> str | None:
    """Why ``value`` cannot be used by the in-graph path (None when it can).

    Examples:
        >>> import numpy as np
        >>> not_in_memory_reason(np.zeros((3, 2)), "x") is None
        True
        >>> not_in_memory_reason(iter([1]), "x")
        'x is a list_iterator, not arrays in memory'
    """
    if value is None:
        return None
    if isinstance(value, tf.data.Dataset):
        return f"{name} is a tf.data.Dataset"
    if isinstance(value, keras.utils.PyDataset):
        return f"{name} is a keras.utils.PyDataset"
    if isinstance(value, (tf.SparseTensor, tf.RaggedTensor)):
        return f"{name} is a {type(value).__name__}"
    if isinstance(value, np.memmap):
        return f"{name} is a numpy.memmap (read lazily from disk)"
    if type(value).__module__.startswith("scipy.sparse"):
        return f"{name} is a scipy sparse matrix"
    if isinstance(value, Mapping):
        for key, item in value.items():
            reason = not_in_memory_reason(item, f"{name}[{key!r}]")
            if reason:
                return reason
        return None
    if isinstance(value, (list, tuple)):
        if any(_is_leaf_array(v) or isinstance(v, (list, tuple, Mapping)) for v in value):
            for i, item in enumerate(value):
                reason = not_in_memory_reason(item, f"{name}[{i}]")
                if reason:
                    return reason
        return None
    if _is_leaf_array(value) or isinstance(value, (int, float, np.number)):
        return None
    return f"{name} is a {type(value).__name__}, not arrays in memory"


def _to_numpy_nest(value: Any) -> Nest:
    """Lists of numbers become one array; lists/tuples/dicts of arrays stay nests."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {k: _to_numpy_nest(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and any(
        _is_leaf_array(v) or isinstance(v, Mapping) for v in value
    ):
        items = [_to_numpy_nest(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return value  # keep tensors where they are (no round trip through host memory)
    return np.asarray(value)


def leaves(nest: Nest, path: str) -> list[tuple[str, Any]]:
    """``(path, array)`` for every array of ``nest``, paths spelled as the user indexes them.

    Examples:
        >>> leaves({"a": [1, 2]}, "x")
        [("x['a'][0]", 1), ("x['a'][1]", 2)]
    """
    if nest is None:
        return []
    if isinstance(nest, Mapping):
        return [leaf for k, v in nest.items() for leaf in leaves(v, f"{path}[{k!r}]")]
    if isinstance(nest, (list, tuple)):
        return [leaf for i, v in enumerate(nest) for leaf in leaves(v, f"{path}[{i}]")]
    return [(path, nest)]


def _map(fn: Any, nest: Nest) -> Nest:
    if nest is None:
        return None
    if isinstance(nest, Mapping):
        return {k: _map(fn, v) for k, v in nest.items()}
    if isinstance(nest, tuple):
        return tuple(_map(fn, v) for v in nest)
    if isinstance(nest, list):
        return [_map(fn, v) for v in nest]
    return fn(nest)


def _length(path: str, array: Any) -> int:
    shape = tuple(array.shape)
    if not shape:
        raise ChainError(
            f"{path} is a scalar (shape ()): expected an array whose first axis is the samples"
        )
    return int(shape[0])


def _nbytes(array: Any) -> int:
    if isinstance(array, np.ndarray):
        return int(array.nbytes)
    return int(np.prod(array.shape)) * tf.as_dtype(array.dtype).size


@dataclass
class Arrays:
    """Training (or validation) data as nests of NumPy arrays / tensors, all of ``num_samples``."""

    x: Nest
    y: Nest
    sample_weight: Nest
    num_samples: int

    @property
    def nbytes(self) -> int:
        arrays = leaves((self.x, self.y, self.sample_weight), "data")
        return sum(_nbytes(a) for _, a in arrays)

    def head(self, count: int) -> tuple[Nest, Nest, Nest]:
        """The first ``count`` samples (for building the model and its metrics)."""
        return tuple(  # type: ignore[return-value]
            _map(lambda a: a[:count], part) for part in (self.x, self.y, self.sample_weight)
        )

    def tensors(self, cache: TensorCache | None = None) -> tuple[Nest, Nest, Nest]:
        """Everything as tensors (floats in ``keras.config.floatx()``, as ``model.fit`` does).

        Args:
            cache: Where tensors made from NumPy arrays are kept for the next call on the same
                arrays (see :class:`TensorCache`); ``None`` makes them anew.

        Returns:
            ``(x, y, sample_weight)`` as nests of tensors.
        """
        cache = TensorCache() if cache is None else cache
        return tuple(  # type: ignore[return-value]
            _map(cache.tensor, part) for part in (self.x, self.y, self.sample_weight)
        )


_DLPACK_KINDS = {"f", "i", "u"}


def _root(array: np.ndarray) -> Any:
    """The object that owns ``array``'s memory (the end of its chain of ``base``s)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array if array.base is None else array.base


def _layout(array: np.ndarray) -> tuple[Any, ...]:
    """Where and how ``array`` lies in memory: equal layouts of live arrays are equal views."""
    return (array.ctypes.data, array.shape, array.strides, array.dtype.str)


@dataclass
class _Copy:
    """An aligned copy of one array, shared with ``tensor``; ``owner`` refers weakly (when it
    can) to the object that owns the source array's memory."""

    owner: Any
    memory: np.ndarray
    tensor: tf.Tensor


class TensorCache:
    """The tensors ``fit`` makes from NumPy arrays, kept for its next call on the same arrays.

    A NumPy array whose dtype is the tensor's (``keras.config.floatx()`` for floats), and which
    is C-contiguous, writable and aligned as TensorFlow needs (:mod:`chainnet._aligned`; the
    arrays of ``chainnet.datasets`` are), becomes a tensor on its own memory: no copy at all.
    Any other array is copied, once, into aligned memory, kept here; a later call on the same
    array (the same memory, shape, strides and dtype, owned by the same live object) copies
    the array's current values into that memory again instead of allocating new memory, which
    costs a tenth as much (new memory is paid for page by page). So a call always trains on
    the values the arrays hold when it starts, edits made in place included. Copies that a
    call did not use are dropped at its :meth:`keep_only_used`.

    Example:
        >>> import numpy as np
        >>> cache = TensorCache()
        >>> source = np.arange(6, dtype="float64").reshape(2, 3)
        >>> first = cache.tensor(source)
        >>> source[0, 0] = 9.0  # an edit in place between two calls
        >>> second = cache.tensor(source)
        >>> second is first, first.dtype.name, second.numpy()[0].tolist()
        (True, 'float32', [9.0, 1.0, 2.0])
    """

    def __init__(self) -> None:
        self._copies: dict[tuple[Any, ...], _Copy] = {}
        self._used: set[tuple[Any, ...]] = set()

    def __len__(self) -> int:
        return len(self._copies)

    def tensor(self, value: Any) -> tf.Tensor:
        """``value`` (an array or tensor) as a tensor, floats in ``keras.config.floatx()``.

        Args:
            value: A NumPy array (or anything ``np.asarray`` takes), or a tensor.

        Returns:
            The tensor: ``value`` itself for a tensor of the right dtype.
        """
        floatx = keras.config.floatx()
        if isinstance(value, (tf.Tensor, tf.Variable)):
            tensor = tf.convert_to_tensor(value)
            if tensor.dtype.is_floating and tensor.dtype.name != floatx:
                tensor = tf.cast(tensor, floatx)
            return tensor
        array = np.asarray(value)
        dtype = np.dtype(floatx) if array.dtype.kind == "f" else array.dtype
        shareable = dtype.kind in _DLPACK_KINDS and dtype.isnative
        if not shareable or array.size == 0 or not array.ndim:
            return tf.convert_to_tensor(np.ascontiguousarray(array, dtype))
        if (
            array.dtype == dtype
            and array.flags.c_contiguous
            and array.flags.writeable
            and is_aligned(array)
        ):
            shared = _from_dlpack(array)
            if shared is not None:
                return shared
        return self._copy(array, dtype)

    def keep_only_used(self) -> None:
        """Drop the copies not used since the last call (the arrays of earlier calls)."""
        for key in set(self._copies) - self._used:
            del self._copies[key]
        self._used = set()

    def _copy(self, array: np.ndarray, dtype: np.dtype) -> tf.Tensor:
        key = _layout(array)
        owner = _root(array)
        entry = self._copies.get(key)
        if entry is not None and _alive(entry.owner) is owner:
            np.copyto(entry.memory, array, casting="unsafe")  # refresh: no new memory
            self._used.add(key)
            return entry.tensor
        memory = aligned_copy(array, dtype)  # the one copy (and float cast)
        tensor = _from_dlpack(memory)
        if tensor is None:
            return tf.convert_to_tensor(memory)
        self._copies[key] = _Copy(_weak(owner), memory, tensor)
        self._used.add(key)
        return tensor


def _weak(owner: Any) -> Any:
    try:
        return weakref.ref(owner)
    except TypeError:  # an owner without weak references (bytes): held strongly
        return owner


def _alive(reference: Any) -> Any:
    return reference() if isinstance(reference, weakref.ref) else reference


def _from_dlpack(array: np.ndarray) -> tf.Tensor | None:
    """A tensor on ``array``'s own memory (which must be aligned), or None when the array
    cannot be exported (the tensor keeps the array alive through the capsule)."""
    try:
        return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
    except (AttributeError, TypeError, ValueError, BufferError, tf.errors.OpError):
        return None


def prepare_arrays(x: Any, y: Any, sample_weight: Any, *, what: str = "training data") -> Arrays:
    """Check that every array of ``x``, ``y`` and ``sample_weight`` holds the same number of
    samples, and replicate a single ``sample_weight`` over several outputs, as ``model.fit`` does.

    Examples:
        >>> import numpy as np
        >>> prepare_arrays(np.zeros((4, 2)), np.zeros(4), None).num_samples
        4
    """
    if x is None:
        raise ChainError(f"x is None: expected the input arrays of the {what}")
    xs, ys, sws = _to_numpy_nest(x), _to_numpy_nest(y), _to_numpy_nest(sample_weight)
    if sws is not None and is_nested(ys) and not is_nested(sws):
        single = sws  # one weight array for every output, as model.fit does
        sws = _map(lambda _: single, ys)
    lengths = [
        (path, _length(path, arr))
        for name, part in (("x", xs), ("y", ys), ("sample_weight", sws))
        for path, arr in leaves(part, name)
    ]
    counts = {n for _, n in lengths}
    if len(counts) > 1:
        listing = ", ".join(f"{path} has {n}" for path, n in lengths)
        raise ChainError(
            f"The {what} arrays must all hold the same number of samples (first axis); "
            f"got {listing}."
        )
    num = lengths[0][1]
    if num == 0:
        raise ChainError(f"The {what} is empty: x holds 0 samples.")
    return Arrays(xs, ys, sws, num)


def split_validation(data: Arrays, validation_split: float) -> tuple[Arrays, Arrays]:
    """Keep the last ``validation_split`` of the samples apart, before any shuffling (as
    ``model.fit`` does).

    Examples:
        >>> import numpy as np
        >>> train, val = split_validation(prepare_arrays(np.arange(10), None, None), 0.2)
        >>> train.num_samples, val.x.tolist()
        (8, [8, 9])
    """
    if not 0.0 < validation_split < 1.0:  # checked before, with the full message
        raise ChainError(f"validation_split must be in (0, 1): got {validation_split!r}")
    cut = math.floor(data.num_samples * (1.0 - validation_split))
    if cut in (0, data.num_samples):
        raise ChainError(
            f"validation_split={validation_split} leaves {cut} of {data.num_samples} samples for "
            "training: one of the two parts would be empty."
        )

    def part(start: int, stop: int) -> Arrays:
        x, y, sw = (_map(lambda a: a[start:stop], p) for p in (data.x, data.y, data.sample_weight))
        return Arrays(x, y, sw, stop - start)

    return part(0, cut), part(cut, data.num_samples)


def epoch_order(
    num_samples: int,
    seed: int,
    epoch: int,
    shuffle: bool | str = True,
    batch_size: int | None = None,
) -> tf.Tensor:
    """The sample order of one epoch: a stateless shuffle keyed by ``(seed, epoch)``.

    The same seed gives the same order on every machine and in every run.

    Args:
        num_samples: The number of samples.
        seed: The seed of the shuffle.
        epoch: The epoch (with ``steps_per_epoch``, the pass over the data) it is for.
        shuffle: ``True`` shuffles all samples; ``False`` keeps their order; ``"batch"``, as in
            ``model.fit``, keeps the batches in order and shuffles the samples within each.
        batch_size: The batch size; needed for ``shuffle="batch"`` only.

    Returns:
        An int tensor of shape ``(num_samples,)``: batch ``i`` is
        ``order[i * batch_size:(i + 1) * batch_size]``.

    Examples:
        >>> sorted(epoch_order(5, seed=1, epoch=0).numpy().tolist())
        [0, 1, 2, 3, 4]
        >>> epoch_order(4, seed=1, epoch=0, shuffle=False).numpy().tolist()
        [0, 1, 2, 3]
        >>> order = epoch_order(5, seed=1, epoch=0, shuffle="batch", batch_size=2).numpy()
        >>> [sorted(order[i : i + 2].tolist()) for i in (0, 2, 4)]
        [[0, 1], [2, 3], [4]]
    """
    dtype = tf.int32 if num_samples < 2**31 else tf.int64
    order = tf.range(num_samples, dtype=dtype)
    if not shuffle:
        return order
    key = tf.constant([seed % 2**63, epoch], dtype=tf.int64)
    if shuffle != "batch":
        return tf.random.experimental.stateless_shuffle(order, seed=key)
    if batch_size is None or batch_size < 1:
        raise ValueError(f'shuffle="batch" needs a positive batch_size: got {batch_size!r}')
    # Each batch's samples in a random order: sort random keys within each batch.
    keys = tf.random.stateless_uniform([num_samples], seed=key)
    batch_of = order // batch_size
    within = tf.argsort(tf.cast(batch_of, tf.float64) * 2.0 + tf.cast(keys, tf.float64))
    return tf.cast(within, dtype)


def is_nested(value: Any) -> bool:
    """Whether ``value`` is a list, tuple or dict (of arrays)."""
    return isinstance(value, (list, tuple, Mapping))
