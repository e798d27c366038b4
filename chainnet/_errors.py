"""The error type chainnet raises, and where in the user's code a chain step was written."""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterable
from types import FrameType

__all__ = ["ChainError", "ChainTypeError", "add_note", "call_site", "did_you_mean", "is_own_error"]

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


class ChainTypeError(ChainError, TypeError):
    """A chain step got a value of the wrong type (a :class:`ChainError` and a ``TypeError``)."""

    __module__ = "chainnet"


# whether frames of a file only pass a call on into chainnet (the package's own files and
# autograph's wrappers), by absolute file name: every step asks, for each frame it walks
_PASSES_ON: dict[str, bool] = {}


def _passes_on(frame: FrameType) -> bool:
    """Whether ``frame`` runs chainnet's own code or an autograph wrapper (a relative file
    name is resolved against the current directory each time; an absolute one once)."""
    filename = frame.f_code.co_filename
    passes = _PASSES_ON.get(filename)
    if passes is None:
        module = str(frame.f_globals.get("__name__", ""))
        passes = os.path.abspath(filename).startswith(_PACKAGE_DIR) or module.startswith(
            _WRAPPER_MODULES
        )
        if os.path.isabs(filename):
            _PASSES_ON[filename] = passes
    return passes


def call_site() -> str:
    """Returns ``file:line`` of the innermost frame outside chainnet (and autograph's wrappers)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if not _passes_on(frame):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest of ``candidates`` (empty if none is close).

    Examples:
        >>> did_you_mean("fully_conected", ["fully_connected", "conv2d"])
        " Did you mean 'fully_connected'?"
        >>> did_you_mean("zzz", ["conv2d"])
        ''
    """
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def is_own_error(error: BaseException) -> bool:
    """Whether ``error`` looks like a bug in chainnet rather than a user mistake: raised in
    chainnet's own code (its innermost frame is in the package) and not a ``ValueError`` or
    ``TypeError`` (what Keras, TensorFlow and chainnet's checks raise for bad input; Keras
    filters its own frames out of the traceback, so the innermost frame alone can't tell)."""
    if isinstance(error, (ValueError, TypeError)):
        return False
    traceback = error.__traceback__
    innermost = None
    while traceback is not None:
        innermost = traceback.tb_frame
        traceback = traceback.tb_next
    if innermost is None:
        return False
    return os.path.abspath(innermost.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep)


def add_note(error: BaseException, note: str) -> None:
    """Adds ``note`` to ``error`` (shown under its message from Python 3.11; on 3.10 it is kept in
    ``error.__notes__``, PEP 678's attribute, which 3.10's traceback does not print)."""
    adder = getattr(error, "add_note", None)
    if adder is not None:
        adder(note)
        return
    notes = getattr(error, "__notes__", None)
    notes = [*(notes if isinstance(notes, list) else []), note]
    error.__notes__ = notes  # type: ignore[attr-defined]
