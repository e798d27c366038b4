"""The method registry: every chain method's name and the keywords defaults scopes may set,
and the names no method may take.

It knows nothing of chains: the registration decorators (:mod:`chainnet._registry`) fill it,
defaults scopes (:mod:`chainnet._defaults`) and templates read it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

__all__ = ["METHODS", "MethodRegistry", "MethodSpec"]


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """A registered method: its name, the keywords defaults scopes may set, and whether it is
    built in."""

    name: str
    keywords: frozenset[str]
    builtin: bool


class MethodRegistry:
    """The methods every chain has; filled when chainnet (and user extensions) are imported.

    It also holds the *reserved* names: attributes of chains, sequential builders and
    templates that are not methods (``shape``, ``network``, ``as_chain``, ``build``, ...).
    Each class declares its own with :meth:`reserve`; no method may take one.
    """

    def __init__(self) -> None:
        self._specs: dict[str, MethodSpec] = {}
        self._reserved: dict[str, str] = {}

    def add(self, spec: MethodSpec) -> None:
        self._specs[spec.name] = spec

    def remove(self, name: str) -> None:
        del self._specs[name]

    def get(self, name: str) -> MethodSpec | None:
        return self._specs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __getitem__(self, name: str) -> MethodSpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[MethodSpec]:
        return iter(self._specs.values())

    def names(self) -> list[str]:
        return sorted(self._specs)

    def all_keywords(self) -> frozenset[str]:
        return frozenset(k for spec in self._specs.values() for k in spec.keywords)

    def reserve(self, owner: str, names: Iterable[str]) -> None:
        """Declares ``names`` as attributes of ``owner`` (a class name) that no method may take."""
        for name in names:
            self._reserved.setdefault(name, owner)

    def reserved_by(self, name: str) -> str | None:
        """The class whose attribute ``name`` is, or ``None`` if a method may take it."""
        return self._reserved.get(name)


METHODS = MethodRegistry()
