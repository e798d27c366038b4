"""The error type chainnet raises, and where in the user's code a chain step was written."""

from __future__ import annotations

import os
import sys

__all__ = ["ChainError", "call_site"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# frames of these modules only forward a call into chainnet (tf.autograph's do_not_convert)
_WRAPPER_MODULES = ("tensorflow.python.autograph",)


class ChainError(ValueError):
    """A chain step could not be built: the message names the method, the layer and the shapes.

    It subclasses ``ValueError`` so code that catches Keras' shape errors keeps working.
    """

    __module__ = "chainnet"
    # Exception's own __init__ lets autograph re-raise a ChainError as itself inside
    # tf.function instead of turning it into a StagingError.
    __init__ = Exception.__init__


def call_site() -> str:
    """Returns ``file:line`` of the innermost frame outside chainnet (and autograph's wrappers)."""
    frame = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        inside = os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR)
        if not inside and not module.startswith(_WRAPPER_MODULES):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "<unknown>"
