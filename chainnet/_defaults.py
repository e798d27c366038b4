"""Defaults scopes: ``with cn.defaults(activation="relu"):`` (PrettyTensor's ``defaults_scope``).

The active scope lives in a :mod:`contextvars` variable, so every thread and every asyncio
task sees only the scopes it opened itself.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from chainnet._errors import ChainError, did_you_mean
from chainnet._specs import METHODS

__all__ = ["DefaultsScope", "current_defaults", "defaults", "in_force"]


class DefaultsScope:
    """An immutable merged view of every open defaults scope.

    ``globals`` apply to every method that has a keyword of that name; ``per_method``
    holds ``{method: {keyword: value}}`` and wins over ``globals``.
    """

    __slots__ = ("globals", "per_method")

    def __init__(
        self,
        globals_: Mapping[str, Any] | None = None,
        per_method: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.globals: Mapping[str, Any] = MappingProxyType(dict(globals_ or {}))
        self.per_method: Mapping[str, Mapping[str, Any]] = MappingProxyType(
            {k: MappingProxyType(dict(v)) for k, v in (per_method or {}).items()}
        )

    def for_method(self, method: str) -> dict[str, Any]:
        """The defaults that apply to ``method``: global keys, then that method's own keys."""
        merged = dict(self.globals)
        merged.update(self.per_method.get(method, {}))
        return merged

    def merged_with(self, other: DefaultsScope) -> DefaultsScope:
        """This scope with ``other`` opened inside it (``other`` wins)."""
        globals_ = {**self.globals, **other.globals}
        per_method = {k: dict(v) for k, v in self.per_method.items()}
        for method, values in other.per_method.items():
            per_method.setdefault(method, {}).update(values)
        return DefaultsScope(globals_, per_method)

    def __repr__(self) -> str:
        return f"DefaultsScope(globals={dict(self.globals)}, per_method={dict(self.per_method)})"


_EMPTY = DefaultsScope()
_CURRENT: contextvars.ContextVar[DefaultsScope] = contextvars.ContextVar(
    "chainnet_defaults", default=_EMPTY
)


def current_defaults() -> DefaultsScope:
    """The defaults in force in this thread / asyncio task."""
    return _CURRENT.get()


def _unknown_key_error(key: str, valid: list[str], where: str) -> ChainError:
    hint = did_you_mean(key, valid)
    return ChainError(
        f"cn.defaults(): unknown key {key!r}{where}.{hint} Valid keys: {', '.join(sorted(valid))}."
    )


def _validate(values: Mapping[str, Any]) -> DefaultsScope:
    keywords = METHODS.all_keywords()
    globals_: dict[str, Any] = {}
    per_method: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if key in METHODS and isinstance(value, Mapping):
            method_keys = sorted(METHODS[key].keywords)
            for sub_key in value:
                if sub_key not in METHODS[key].keywords:
                    raise _unknown_key_error(sub_key, method_keys, f" for method {key!r}")
            per_method[key] = dict(value)
        elif key in keywords:
            globals_[key] = value
        else:
            raise _unknown_key_error(key, sorted(keywords | set(METHODS.names())), "")
    return DefaultsScope(globals_, per_method)


@contextlib.contextmanager
def defaults(**values: Any) -> Iterator[DefaultsScope]:
    """Sets default keyword arguments for chain methods inside a ``with`` block.

    A key applies to every method with a keyword of that name; a method name with a dict
    sets defaults for that method only. Nested scopes merge (the innermost wins) and an
    argument passed explicitly always wins. Unknown keys raise at once.

    Examples:
        >>> import chainnet as cn
        >>> with cn.defaults(activation="relu", conv2d={"padding": "valid"}):
        ...     y = cn.input((28, 28, 1)).conv2d(5, 16)
        >>> y.shape
        (None, 24, 24, 16)
    """
    with in_force(current_defaults().merged_with(_validate(values))) as scope:
        yield scope


@contextlib.contextmanager
def in_force(scope: DefaultsScope) -> Iterator[DefaultsScope]:
    """Puts ``scope`` in force as it is (replacing, not merging with, the current one), for
    the ``with`` block: templates replay their steps under the scope of their definition."""
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)
