"""Serializable Keras layers behind the chain methods Keras has no layer for.

Each is registered with ``keras.saving.register_keras_serializable(package="chainnet")``,
so a model that uses them saves to ``.keras`` and loads back with ``safe_mode=True`` once
chainnet is imported.
"""

from chainnet.layers.arithmetic import Arithmetic
from chainnet.layers.shape import Cast, ExpandDims, OneHot, Reshape, Slice, Squeeze, Transpose

__all__ = [
    "Arithmetic",
    "Cast",
    "ExpandDims",
    "OneHot",
    "Reshape",
    "Slice",
    "Squeeze",
    "Transpose",
]
