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

import keras

from chainnet._errors import ChainError, did_you_mean
from chainnet._specs import KEY_ALIASES, KEYWORD_KEYS, METHOD_KEYS, METHODS, STEP_KEYS

__all__ = [
    "DefaultsScope",
    "current_defaults",
    "defaults",
    "defaults_table",
    "in_force",
    "scope_of",
    "step_dtype_policy",
]


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
        """The defaults that apply to ``method``: global keys, then that method's own keys
        (which also override the global keys that spell the same argument otherwise)."""
        merged = dict(self.globals)
        own = self.per_method.get(method, {})
        for key in own:
            for other in METHODS.other_spellings(key, method):
                merged.pop(other, None)
        merged.update(own)
        return merged

    def merged_with(self, other: DefaultsScope) -> DefaultsScope:
        """This scope with ``other`` opened inside it (``other`` wins, also over the other
        spellings of its keys: an inner ``rate`` replaces an outer ``keep_prob``)."""
        globals_ = dict(self.globals)
        for key in other.globals:
            for spelling in METHODS.other_spellings(key):
                globals_.pop(spelling, None)
        globals_.update(other.globals)
        per_method = {k: dict(v) for k, v in self.per_method.items()}
        for method, values in other.per_method.items():
            own = per_method.setdefault(method, {})
            for key in values:
                for spelling in METHODS.other_spellings(key, method):
                    own.pop(spelling, None)
            own.update(values)
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


def _key_error(key: str, where: str, candidates: list[str]) -> ChainError:
    """An unknown or misdirected key: the methods that have it, the closest key, the keys."""
    takers, havers = METHODS.taking(key), METHODS.having(key)
    if takers:
        detail = f" It is a defaults key of {_methods(takers)}; set it there or as a global key."
    elif havers:
        detail = (
            f" It is a keyword of {_methods(havers)}, which none of them takes from a defaults "
            "scope: pass it to the call."
        )
    else:
        detail = did_you_mean(key, candidates)
    return ChainError(
        f"cn.defaults(): unknown key {key!r}{where}.{detail} Valid keys: {', '.join(candidates)}."
    )


def _methods(names: list[str]) -> str:
    shown = ", ".join(f"{n}()" for n in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def _validate(values: Mapping[str, Any]) -> DefaultsScope:
    """A scope from ``cn.defaults`` keys, each checked against the methods' declarations."""
    keywords = METHODS.all_keywords()
    globals_: dict[str, Any] = {}
    per_method: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        key = KEY_ALIASES.get(key, key)
        spec = METHODS.get(key)
        if key == "dtype":
            globals_[key] = _dtype_policy(value)
        elif key in KEYWORD_KEYS or (spec is None and key in keywords):
            globals_[key] = value
        elif spec is not None:
            if not isinstance(value, Mapping):
                others = sorted(
                    (m for m in METHODS.taking(key) if m != key), key=lambda m: (m != "lstm", m)
                )
                also = (
                    f"; the keyword {key!r} of {_methods(others)} is set per method: "
                    f"{others[0]}={{{key!r}: {value!r}}}"
                    if others
                    else ""
                )
                raise ChainError(
                    f"cn.defaults(): {key!r} names the method {key}(); give it a dict of its "
                    f"keywords, {key}={{...}} (it takes {sorted(spec.keywords) or 'none'})"
                    f"{also}. Got {value!r}."
                )
            method_values = {str(KEY_ALIASES.get(str(k), k)): v for k, v in value.items()}
            for sub_key in method_values:
                if sub_key not in spec.keywords:
                    raise _key_error(sub_key, f" for method {key!r}", sorted(spec.keywords))
            per_method[key] = method_values
        else:
            raise _key_error(key, "", sorted(keywords | set(METHODS.names()) | set(STEP_KEYS)))
    return DefaultsScope(globals_, per_method)


def _dtype_policy(value: Any) -> str:
    """The ``dtype`` key as a Keras dtype policy's name (``"mixed_float16"``, ``"float32"``)."""
    try:
        policy = keras.dtype_policies.get(value)
    except (TypeError, ValueError) as err:
        raise ChainError(
            f"cn.defaults(dtype): {value!r} is no Keras dtype policy ({err}); give a name such "
            'as "mixed_float16", "mixed_bfloat16", "float32" or "float64".'
        ) from None
    if not keras.backend.is_float_dtype(policy.compute_dtype):
        raise ChainError(
            f"cn.defaults(dtype): {value!r} computes in {policy.compute_dtype}; the layers' "
            "dtype policy must be a float one (cast the data with .cast() instead)."
        )
    return str(policy.name)


def step_dtype_policy() -> contextlib.AbstractContextManager[None]:
    """Makes the scope's ``dtype`` policy Keras' policy while one step builds its layers and
    applies them (Keras reads it when a layer is made), then puts the previous one back.

    Keras keeps its policy per thread, so other threads never see the change; without a
    ``dtype`` key in force nothing changes (and nothing is done: every step asks).
    """
    policy = current_defaults().globals.get("dtype")
    if policy is None:
        return contextlib.nullcontext()
    return _policy_in_force(policy)


@contextlib.contextmanager
def _policy_in_force(policy: str) -> Iterator[None]:
    """Keras' dtype policy set to ``policy`` in the block (unless it is already)."""
    previous = keras.config.dtype_policy()
    if policy == previous.name:
        yield
        return
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@contextlib.contextmanager
def defaults(**values: Any) -> Iterator[DefaultsScope]:
    """Sets default keyword arguments for chain methods inside a ``with`` block.

    Each method declares the keywords it takes from scopes (``docs/defaults.md`` lists
    them). A key applies to every method that declares it; a method name with a dict sets
    defaults for that method only (``dropout={"rate": 0.3}``). ``batch_normalize`` is the
    keyword: ``True`` or a dict of batch-norm options puts batch normalization after every
    convolution. ``dtype`` is the Keras dtype policy of every layer the scope's steps make:
    ``dtype="mixed_float16"`` builds them in mixed precision (heads, losses and softmax
    compute in float32) and leaves Keras' global policy as it is. Nested scopes merge (the
    innermost wins) and an argument passed explicitly always wins. An unknown or
    misdirected key raises at once, naming the methods that have it.

    Args:
        **values: The defaults, by key.

    Examples:
        >>> import chainnet as cn
        >>> with cn.defaults(activation="relu", conv2d={"padding": "valid"}):
        ...     y = cn.input((28, 28, 1)).conv2d(5, 16)
        >>> y.shape
        (None, 24, 24, 16)
    """
    with in_force(current_defaults().merged_with(_validate(values))) as scope:
        yield scope


def scope_of(values: Mapping[str, Any]) -> DefaultsScope:
    """The scope ``cn.defaults(**values)`` opens (not merged with the one in force), its
    keys checked as ``cn.defaults`` checks them (``with_defaults`` carries it)."""
    return _validate(values)


@contextlib.contextmanager
def in_force(scope: DefaultsScope) -> Iterator[DefaultsScope]:
    """Puts ``scope`` in force as it is (replacing, not merging with, the current one), for
    the ``with`` block: templates replay their steps under the scope of their definition."""
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)


def defaults_table() -> str:
    """The defaults keys and the methods that take them, as a Markdown table, generated from
    the methods' declarations (``docs/defaults.md`` shows it; a test keeps the two equal).

    Examples:
        >>> import chainnet as cn
        >>> "| `padding` |" in defaults_table()
        True
    """
    builtin = [spec for spec in METHODS if spec.builtin]  # chainnet's own methods only
    keys = {key for spec in builtin for key in spec.keywords} | KEYWORD_KEYS | METHOD_KEYS
    keys |= set(STEP_KEYS)
    rows = ["| key | taken from scopes by | meaning |", "|---|---|---|"]
    for key in sorted(keys):
        names = [s.name for s in sorted(builtin, key=lambda s: s.name) if key in s.keywords]
        takers = ", ".join(f"`{name}`" for name in names) or "-"
        if key in STEP_KEYS:
            takers, meaning = "every step", STEP_KEYS[key]
        elif key in KEYWORD_KEYS:
            meaning = f"the keyword, not the method `{key}()`"
        elif key in METHOD_KEYS:
            takers = f"`{key}` (a dict of its keywords)"
            others = ", ".join(f"`{name}`" for name in names)
            meaning = f"the method `{key}()`; the keyword `{key}` of {others} per method only"
        else:
            meaning = METHODS.note(key)
        rows.append(f"| `{key}` | {takers} | {meaning} |")
    return "\n".join(rows)
