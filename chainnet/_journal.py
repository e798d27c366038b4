"""All-or-nothing steps: a journal of what a step changed, undone when the step fails.

A chain step runs inside :func:`all_or_nothing`. Everything that changes state the user can
see (a node added to a network, two networks merged, a layer renamed, a template built)
records how to undo itself with :func:`on_failure`. If the step raises, the undo actions
run in reverse order, so every network, name, user object and variable is as it was; if it
succeeds, an enclosing step inherits them (a failure there undoes the inner step too).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = ["all_or_nothing", "on_failure", "rename_layer"]

_UNDO: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "chainnet_undo", default=None
)


class _Step:
    """The context manager :func:`all_or_nothing` returns (a class: every chain step opens
    one, and a generator-based one costs several times more)."""

    __slots__ = ("_outer", "_token", "_undo")

    def __enter__(self) -> None:
        self._outer = _UNDO.get()
        self._undo: list[Callable[[], None]] = []
        self._token = _UNDO.set(self._undo)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _UNDO.reset(self._token)
        if kind is not None:
            for action in reversed(self._undo):
                action()
            return  # the error propagates
        if self._outer is not None:
            self._outer.extend(self._undo)


def all_or_nothing() -> _Step:
    """Runs the block as one step: if it raises, every recorded change is undone.

    Examples:
        >>> state = {"a": 1}
        >>> try:
        ...     with all_or_nothing():
        ...         state["b"] = 2
        ...         on_failure(lambda: state.pop("b"))
        ...         raise RuntimeError("the step failed")
        ... except RuntimeError:
        ...     pass
        >>> state
        {'a': 1}
    """
    return _Step()


def on_failure(action: Callable[[], None]) -> None:
    """Records how to undo a change, if a step is running (outside one, changes stand)."""
    undo = _UNDO.get()
    if undo is not None:
        undo.append(action)


def rename_layer(layer: Any, name: str) -> None:
    """Renames a Keras layer (and a ``keras.Input`` tensor of an input layer), undone if the
    step fails."""
    old = layer.name
    if old == name:
        return
    layer.name = name
    on_failure(lambda: setattr(layer, "name", old))
