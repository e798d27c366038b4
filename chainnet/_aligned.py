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

__all__ = ["ALIGNMENT", "aligned_empty", "is_aligned"]

#: TensorFlow's alignment of tensor memory (64 bytes: AVX-512 builds); a multiple of it works.
ALIGNMENT = 64


def aligned_empty(shape: int | tuple[int, ...], dtype: npt.DTypeLike) -> np.ndarray:
    """An uninitialised C-contiguous array whose memory starts on an :data:`ALIGNMENT` boundary.

    Args:
        shape: The array's shape.
        dtype: The array's dtype.

    Returns:
        A writable array of ``shape`` and ``dtype``; its ``base`` keeps the memory alive.

    Examples:
        >>> array = aligned_empty((3, 5), "float32")
        >>> array.shape, array.dtype.name, is_aligned(array)
        ((3, 5), 'float32', True)
    """
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buffer = np.empty(nbytes + ALIGNMENT, np.uint8)
    offset = (-buffer.ctypes.data) % ALIGNMENT
    return buffer[offset : offset + nbytes].view(dtype).reshape(shape)


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
