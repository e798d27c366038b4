"""Host memory laid out as TensorFlow's tensors need it, so that an array can become a tensor
without a copy.

TensorFlow's CPU kernels assume that a tensor's memory starts on a multiple of
:data:`ALIGNMENT` bytes (``EIGEN_MAX_ALIGN_BYTES``); a NumPy array usually starts 16 bytes past
one, so turning it into a tensor copies it. An array made by :func:`aligned_empty` (and the
arrays ``chainnet.datasets`` returns) can be shared with a tensor instead.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["ALIGNMENT", "aligned_copy", "aligned_empty", "is_aligned"]

#: TensorFlow's alignment of tensor memory (64 bytes: AVX-512 builds); a multiple of it works.
ALIGNMENT = 64


def aligned_empty(shape: int | tuple[int, ...], dtype: npt.DTypeLike) -> np.ndarray:
    """An uninitialised C-contiguous array whose memory starts on an :data:`ALIGNMENT` boundary.

    ``chainnet.training.fit`` turns such an array (of the tensor's dtype: ``float32`` for
    floats, by default) into a tensor on the same memory, without copying it; fill it with
    ``np.copyto`` or by slicing, once, and train on it as often as you like.

    Args:
        shape: The array's shape.
        dtype: The array's dtype.

    Returns:
        A writable array of ``shape`` and ``dtype``; its ``base`` keeps the memory alive.

    Examples:
        >>> import numpy as np
        >>> images = aligned_empty((1000, 28, 28, 1), "float32")
        >>> np.copyto(images, np.zeros((1000, 28, 28, 1)))
        >>> images.shape, images.dtype.name, images.ctypes.data % 64
        ((1000, 28, 28, 1), 'float32', 0)
    """
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buffer = np.empty(nbytes + ALIGNMENT, np.uint8)
    offset = (-buffer.ctypes.data) % ALIGNMENT
    return buffer[offset : offset + nbytes].view(dtype).reshape(shape)


def aligned_copy(array: np.ndarray, dtype: npt.DTypeLike) -> np.ndarray:
    """A copy of ``array`` as ``dtype`` (cast as ``np.copyto`` with ``casting="unsafe"``) in
    memory made by :func:`aligned_empty`.

    Args:
        array: Any NumPy array.
        dtype: The copy's dtype.

    Returns:
        The aligned, C-contiguous copy.

    Examples:
        >>> copy = aligned_copy(np.arange(3), "float32")
        >>> copy.tolist(), copy.dtype.name, is_aligned(copy)
        ([0.0, 1.0, 2.0], 'float32', True)
    """
    copy = aligned_empty(array.shape, dtype)
    np.copyto(copy, array, casting="unsafe")
    return copy


def is_aligned(array: np.ndarray) -> bool:
    """Whether ``array``'s memory starts on an :data:`ALIGNMENT` boundary.

    Args:
        array: Any NumPy array.

    Returns:
        True when its first byte's address is a multiple of :data:`ALIGNMENT`.

    Examples:
        >>> is_aligned(aligned_empty(4, "int64")[1:])
        False
    """
    return array.ctypes.data % ALIGNMENT == 0
