"""The method registry: every chain method's name and the keywords defaults scopes may set,
and the names no method may take.

It knows nothing of chains: the registration decorators (:mod:`chainnet._registry`) fill it,
defaults scopes (:mod:`chainnet._defaults`) and templates read it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

__all__ = [
    "KEYWORD_KEYS",
    "KEY_ALIASES",
    "L2LOSS_SPELLINGS",
    "METHODS",
    "METHOD_KEYS",
    "STEP_KEYS",
    "MethodRegistry",
    "MethodSpec",
]

# Keys that name a method *and* a keyword that methods take from scopes have one declared
# meaning each. In KEYWORD_KEYS the key is the keyword: ``cn.defaults(activation="relu")``
# sets the activation of every layer that has one, and ``cn.defaults(batch_normalize=True)``
# normalizes after every convolution (TF-Slim's ``normalizer_fn``, PrettyTensor's
# ``batch_normalize``). In METHOD_KEYS the key is the method and takes a dict of its keywords:
# ``cn.defaults(dropout={"rate": 0.3})``; the recurrent layers' ``dropout`` is set per method,
# ``lstm={"dropout": 0.3}``. A test keeps every such key in one of the two sets.
KEYWORD_KEYS = frozenset({"activation", "batch_normalize"})
METHOD_KEYS = frozenset({"dropout"})

# Keys that set something of every step a scope builds, not a keyword of its methods, each
# with its meaning (shown in docs/defaults.md). ``dtype`` is the Keras dtype policy of the
# layers the scope's steps make: ``cn.defaults(dtype="mixed_float16")`` builds them in mixed
# precision (float16 compute, float32 variables) and leaves the global policy as it was.
STEP_KEYS = {
    "dtype": (
        'the Keras dtype policy of every layer the scope\'s steps make (`"mixed_float16"`: '
        "float16 compute, float32 variables; heads, losses and softmax stay float32); the "
        "global policy is left as it is"
    ),
}

# Scope keys that are another spelling of a declared key: TF-Slim's ``stride`` reaches every
# method that takes ``strides`` (convolutions and pools alike).
KEY_ALIASES = {"stride": "strides"}

# PrettyTensor's ``l2loss`` and Keras' kernel regularizers spell one argument: a method that
# takes ``l2loss`` lets the caller's spelling win over a scope's other spelling.
L2LOSS_SPELLINGS = frozenset(
    {"kernel_regularizer", "depthwise_regularizer", "pointwise_regularizer"}
)


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """A registered method: its name, the keywords defaults scopes may set (declared by the
    method, as PrettyTensor's ``Register(assign_defaults=...)``), every keyword it takes, and
    whether it is built in."""

    name: str
    keywords: frozenset[str]
    builtin: bool
    parameters: frozenset[str] = frozenset()
    spellings: tuple[frozenset[str], ...] = ()  # groups of keywords that spell one argument


class MethodRegistry:
    """The methods every chain has; filled when chainnet (and user extensions) are imported.

    It also holds the *reserved* names: attributes of chains, sequential builders and
    templates that are not methods (``shape``, ``network``, ``as_chain``, ``build``, ...).
    Each class declares its own with :meth:`reserve`; no method may take one.
    """

    def __init__(self) -> None:
        self._specs: dict[str, MethodSpec] = {}
        self._reserved: dict[str, str] = {}
        self._notes: dict[str, str] = {}

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

    def other_spellings(self, keyword: str, method: str | None = None) -> frozenset[str]:
        """The other spellings of ``keyword`` (``rate`` for ``keep_prob``): for ``method``, or
        for any method."""
        specs = [self._specs[method]] if method in self._specs else list(self._specs.values())
        return frozenset(
            other
            for spec in specs
            for group in spec.spellings
            if keyword in group
            for other in group - {keyword}
        )

    def taking(self, keyword: str) -> list[str]:
        """The methods that take ``keyword`` from defaults scopes, sorted."""
        return sorted(spec.name for spec in self._specs.values() if keyword in spec.keywords)

    def having(self, keyword: str) -> list[str]:
        """The methods that have a keyword ``keyword`` at all (from scopes or not), sorted."""
        return sorted(spec.name for spec in self._specs.values() if keyword in spec.parameters)

    def describe(self, keys: Iterable[str], note: str) -> None:
        """Declares what a defaults key does beyond the methods that take it (the batch-norm
        keys also reach the batch norm a convolution adds); shown in the keys table."""
        for key in keys:
            self._notes[key] = note

    def note(self, key: str) -> str:
        return self._notes.get(key, "")

    def reserve(self, owner: str, names: Iterable[str]) -> None:
        """Declares ``names`` as attributes of ``owner`` (a class name) that no method may take."""
        for name in names:
            self._reserved.setdefault(name, owner)

    def reserved_by(self, name: str) -> str | None:
        """The class whose attribute ``name`` is, or ``None`` if a method may take it."""
        return self._reserved.get(name)


METHODS = MethodRegistry()
