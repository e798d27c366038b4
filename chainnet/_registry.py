"""One mechanism for every chain method (PrettyTensor's ``Register``).

:func:`chain_method` turns a function that *describes* a step (it returns the Keras layer
to apply) into a chain method that applies defaults scopes, picks a unique layer name,
checks the input rank, applies the layer with errors that say where in the chain they
happened, and returns a new chain. Built-in methods and user methods registered with
:func:`register` go through the same code.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, Union, cast

import keras
import tensorflow as tf

from chainnet._errors import ChainError
from chainnet._naming import snake_case

if TYPE_CHECKING:
    from chainnet._chain import Chain

__all__ = ["Lowering", "MethodSpec", "METHODS", "chain_method", "register"]

P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class Lowering:
    """What a chain method builds: layers applied in order to the chain's tensor.

    ``others`` are further chains passed with the chain's tensor to the first layer
    (for layers that merge several inputs); ``node_name`` overrides the step's name.
    """

    layers: tuple[keras.layers.Layer, ...]
    others: tuple[Chain, ...] = ()
    node_name: str | None = None


LoweringLike = Union[keras.layers.Layer, Sequence[keras.layers.Layer], Lowering, "Chain"]


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """A registered method: its name, the keywords defaults scopes may set, and its rank."""

    name: str
    keywords: frozenset[str]
    builtin: bool


class MethodRegistry:
    """The methods every chain has; filled when chainnet (and user extensions) are imported."""

    def __init__(self) -> None:
        self._specs: dict[str, MethodSpec] = {}

    def add(self, spec: MethodSpec) -> None:
        self._specs[spec.name] = spec

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


METHODS = MethodRegistry()


def _defaultable_keywords(sig: inspect.Signature) -> frozenset[str]:
    """Keywords a defaults scope may set: those with a default, except ``name``."""
    return frozenset(
        p.name
        for p in list(sig.parameters.values())[1:]
        if p.default is not inspect.Parameter.empty
        and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        and p.name != "name"
    )


def _rank_text(rank: int | tuple[int, ...]) -> str:
    if isinstance(rank, int):
        return f"rank {rank}"
    return "rank " + " or ".join(str(r) for r in rank)


def _wrap(
    fn: Callable[..., Any],
    *,
    method_name: str,
    rank: int | tuple[int, ...] | None,
    rank_hint: str | None,
    builtin: bool,
    names_itself: bool = False,
    exclusive: tuple[frozenset[str], ...] = (),
) -> Callable[..., Chain]:
    sig = inspect.signature(fn)
    keywords = _defaultable_keywords(sig)
    takes_name = "name" in sig.parameters
    METHODS.add(MethodSpec(method_name, keywords, builtin))

    # Building a step is plain Python at trace time: autograph must not rewrite the method or
    # the functions it calls (it would, inside a user's tf.function, and slow tracing down).
    @tf.autograph.experimental.do_not_convert
    @functools.wraps(fn)
    def method(self: Chain, *args: Any, **kwargs: Any) -> Chain:
        try:
            bound = sig.bind(self, *args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{method_name}() on chain {self.name!r}: {err}") from None
        scoped = _scoped_defaults(method_name)
        given = set(bound.arguments)
        for key in keywords:
            if key not in given and key in scoped and not _spelled_otherwise(key, given, exclusive):
                bound.arguments[key] = scoped[key]
        network = _merge_networks(self, bound.arguments.values())
        explicit = bound.arguments.get("name") if takes_name else None
        if names_itself:
            name = explicit or method_name
        else:
            name = network.next_name(method_name, explicit, method=method_name)
            if takes_name:
                bound.arguments["name"] = name
        if rank is not None:
            _check_rank(self, method_name, name, rank, rank_hint)
        with network.building(method_name, name, self):
            result = fn(*bound.args, **bound.kwargs)
            return self._extend(method_name, name, result)

    return method


def _spelled_otherwise(key: str, given: set[str], exclusive: tuple[frozenset[str], ...]) -> bool:
    """Whether ``key`` is one spelling of an argument the caller gave under another spelling
    (``rate`` / ``keep_prob``): then a defaults scope must not fill it."""
    return any(key in group and given & group for group in exclusive)


def _merge_networks(chain: Chain, arguments: Any) -> Any:
    """The chain's network, merged with the network of every chain among ``arguments``."""
    from chainnet._chain import Chain

    network = chain.network
    for value in arguments:
        values = value if isinstance(value, (list, tuple)) else (value,)
        for item in values:
            if isinstance(item, Chain):
                network = network.merge(item.network)
    return network


def _scoped_defaults(method_name: str) -> dict[str, Any]:
    from chainnet._defaults import current_defaults

    return current_defaults().for_method(method_name)


def _check_rank(
    chain: Chain, method: str, name: str, rank: int | tuple[int, ...], hint: str | None
) -> None:
    ranks = (rank,) if isinstance(rank, int) else rank
    shape = chain.shape
    if len(shape) not in ranks:
        message = (
            f"{method}() at layer {name!r}: expected an input of {_rank_text(rank)}, "
            f"got shape {shape} (rank {len(shape)}) from {chain.name!r}."
        )
        if hint:
            message += f" {hint}"
        raise ChainError(message)


def chain_method(
    *,
    rank: int | tuple[int, ...] | None = None,
    rank_hint: str | None = None,
    names_itself: bool = False,
    exclusive: Sequence[Sequence[str]] = (),
) -> Callable[[Callable[Concatenate[Any, P], Any]], Callable[Concatenate[Any, P], Chain]]:
    """Declares a built-in chain method; the decorated function returns the layer(s) to apply.

    ``rank`` checks the input's rank first (``rank_hint`` tells the user how to fix it).
    The function receives the final layer name in its ``name`` argument, unless
    ``names_itself``: then it gets the user's ``name`` (or ``None``) and returns a
    :class:`Lowering` with ``node_name`` set. ``exclusive`` lists groups of keywords that
    spell one argument two ways (``("rate", "keep_prob")``): once the caller gives one, a
    defaults scope fills none of the others.
    """

    def decorate(fn: Callable[Concatenate[Any, P], Any]) -> Callable[Concatenate[Any, P], Chain]:
        return _wrap(
            fn,
            method_name=fn.__name__,
            rank=rank,
            rank_hint=rank_hint,
            builtin=True,
            names_itself=names_itself,
            exclusive=tuple(frozenset(group) for group in exclusive),
        )

    return decorate


def _layer_factory(cls: type[keras.layers.Layer], method_name: str) -> Callable[..., Any]:
    """A method body ``(chain, *args, name=None, **kwargs) -> cls(*args, name=name, **kwargs)``
    whose signature is the class's, so its keywords take part in defaults scopes."""
    params = [
        p
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.name != "name" and p.kind is not p.VAR_KEYWORD
    ]
    signature = inspect.Signature(
        [
            inspect.Parameter("chain", inspect.Parameter.POSITIONAL_ONLY),
            *params,
            inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None),
            inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
        ]
    )

    def body(chain: Any, *args: Any, **kwargs: Any) -> keras.layers.Layer:
        return cls(*args, **kwargs)

    body.__name__ = method_name
    body.__doc__ = cls.__doc__
    body.__signature__ = signature  # type: ignore[attr-defined]
    return body


def register(fn: F | None = None, *, name: str | None = None, overwrite: bool = False) -> Any:
    """Adds a user method to every chain.

    The function takes the chain first and returns a Keras layer (applied to the chain and
    named like built-in layers) or a chain. A Keras layer class registers as a factory: the
    method passes its arguments to the class (named ``snake_case`` of the class unless
    ``name=``). Keyword arguments with defaults take part in defaults scopes. Registering over
    an existing method needs ``overwrite=True``.

    Examples:
        >>> import chainnet as cn
        >>> import keras
        >>> @cn.register
        ... def dense_relu(chain, units, *, use_bias=True, name=None):
        ...     return keras.layers.Dense(units, activation="relu", use_bias=use_bias, name=name)
        >>> cn.input((4,)).dense_relu(3).shape
        (None, 3)
    """

    def decorate(func: F) -> F:
        from chainnet._chain import Chain

        is_layer_class = isinstance(func, type) and issubclass(func, keras.layers.Layer)
        method_name = name or (snake_case(func.__name__) if is_layer_class else func.__name__)
        if not method_name.isidentifier() or method_name.startswith("_"):
            raise ChainError(f"register(): {method_name!r} is not a valid public method name.")
        if hasattr(Chain, method_name) and not overwrite:
            kind = "built-in" if method_name in METHODS and METHODS[method_name].builtin else ""
            raise ChainError(
                f"register(): chains already have a {kind + ' ' if kind else ''}method "
                f"{method_name!r}; pass overwrite=True to replace it, or choose another name."
            )
        body = _layer_factory(cast(Any, func), method_name) if is_layer_class else func
        wrapped = _wrap(body, method_name=method_name, rank=None, rank_hint=None, builtin=False)
        setattr(Chain, method_name, wrapped)
        return func

    if fn is not None:
        return decorate(fn)
    return decorate
