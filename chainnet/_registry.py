"""One mechanism for every chain method (PrettyTensor's ``Register``).

:func:`chain_method` turns a function that *describes* a step (it returns the Keras layer
to apply) into a chain method that applies defaults scopes, picks a unique layer name,
checks the input rank, applies the layer with errors that say where in the chain they
happened, and returns a new chain. Built-in methods and user methods registered with
:func:`register` go through the same code.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

import keras
import tensorflow as tf

from chainnet._chainbase import ChainBase, Lowering, View
from chainnet._defaults import current_defaults, in_force, step_dtype_policy
from chainnet._errors import ChainError, ChainTypeError
from chainnet._journal import all_or_nothing
from chainnet._naming import snake_case
from chainnet._network import Network, naming_step
from chainnet._operands import chains_among, merge_networks
from chainnet._shapes import check_float_dtype, check_rank
from chainnet._specs import L2LOSS_SPELLINGS, METHODS, MethodSpec

if TYPE_CHECKING:  # type hints only: methods return the public Chain (see docs/architecture.md)
    from chainnet._chain import Chain

__all__ = ["METHODS", "Lowering", "MethodSpec", "chain_method", "register"]

P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])


def _keyword_parameters(sig: inspect.Signature) -> frozenset[str]:
    """Every keyword of a method that has a default, except ``name``."""
    return frozenset(
        p.name
        for p in list(sig.parameters.values())[1:]
        if p.default is not inspect.Parameter.empty
        and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        and p.name != "name"
    )


def _declared_defaults(
    method_name: str, sig: inspect.Signature, declared: Sequence[str] | None
) -> frozenset[str]:
    """The keywords ``method_name`` takes from defaults scopes: ``declared`` (each must be a
    keyword with a default), or, for ``declared=None``, every keyword with a default."""
    parameters = _keyword_parameters(sig)
    if declared is None:
        return parameters
    if isinstance(declared, str):
        raise ChainTypeError(
            f"{method_name}: defaults= takes a sequence of keyword names, got the string "
            f"{declared!r}; write ({declared!r},)"
        )
    unknown = sorted(set(declared) - parameters)
    if unknown:
        raise ChainError(
            f"{method_name}: defaults= names {unknown}, which are not keywords with a default "
            f"of the method; it has {sorted(parameters)}."
        )
    return frozenset(declared)


# Instances that hold state Keras 3 reuses: an initializer instance gives the same values on
# every call, so one shared by several layers would start them equal.
_PER_LAYER = (
    keras.initializers.Initializer,
    keras.regularizers.Regularizer,
    keras.constraints.Constraint,
)


# Values _fresh returns as they are, by exact type: the common arguments of a step.
_PLAIN = frozenset({str, int, float, bool, type(None), tuple})


def _fresh(value: Any) -> Any:
    """A copy of a Keras initializer, regularizer or constraint instance for one layer (the
    same config, so an int-seeded one still gives the user's values); anything else as it is.
    Dicts (``batch_normalize={...}``) are copied with fresh values.

    Only Keras' own classes are copied, and not an initializer seeded with a
    ``keras.random.SeedGenerator`` (it advances between layers by itself): a class of the
    user's may keep state its config does not say, so it is used as given, as Keras does.
    """
    if type(value) in _PLAIN:
        return value
    if isinstance(value, _PER_LAYER):
        own = type(value).__module__.split(".")[0] == "keras"
        seeded = isinstance(getattr(value, "seed", None), keras.random.SeedGenerator)
        if not own or seeded:
            return value
        try:
            return type(value).from_config(value.get_config())
        except (TypeError, ValueError, NotImplementedError):  # no config round trip
            return value
    if isinstance(value, Mapping):
        return {key: _fresh(item) for key, item in value.items()}
    return value


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class _Binder:
    """``Signature.bind`` and ``BoundArguments.args`` / ``.kwargs`` of one method, with the
    signature read once, when the method is registered.

    A signature of plain parameters (no ``*args``, no ``**kwargs``) binds a well-formed call
    here: the arguments in the signature's order, as ``Signature.bind`` gives them. Any other
    call (missing, duplicate or unknown arguments, to be reported) and any other signature go
    through ``Signature.bind`` itself.
    """

    __slots__ = ("_index", "_keywords", "_positional", "_required", "_signature", "_simple")

    def __init__(self, signature: inspect.Signature) -> None:
        parameters = list(signature.parameters.values())
        self._signature = signature
        self._simple = all(
            p.kind in (*_POSITIONAL, inspect.Parameter.KEYWORD_ONLY) for p in parameters
        )
        self._positional = tuple(p.name for p in parameters if p.kind in _POSITIONAL)
        self._keywords = frozenset(
            p.name for p in parameters if p.kind is not inspect.Parameter.POSITIONAL_ONLY
        )
        self._required = tuple(p.name for p in parameters if p.default is p.empty)
        self._index = {p.name: i for i, p in enumerate(parameters)}

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The arguments of a call, by name in the signature's order (``bound.arguments``);
        raises ``Signature.bind``'s ``TypeError`` for a call that does not fit."""
        if self._simple and len(args) <= len(self._positional):
            arguments = dict(zip(self._positional, args))
            if kwargs:
                keywords = self._keywords
                if any(k in arguments or k not in keywords for k in kwargs):
                    return dict(self._signature.bind(*args, **kwargs).arguments)
                for key in sorted(kwargs, key=self._index.__getitem__):
                    arguments[key] = kwargs[key]
            if all(name in arguments for name in self._required):
                return arguments
        return dict(self._signature.bind(*args, **kwargs).arguments)

    def call_arguments(self, arguments: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """``(args, kwargs)`` to call the method's function with, as ``BoundArguments.args``
        and ``.kwargs`` give them."""
        if not self._simple:
            bound = inspect.BoundArguments(self._signature, arguments)  # type: ignore[arg-type]
            return list(bound.args), bound.kwargs
        args = []
        for name in self._positional:
            if name not in arguments:
                break
            args.append(arguments[name])
        taken = self._positional[: len(args)]
        return args, {k: v for k, v in arguments.items() if k not in taken}


def _wrap(
    fn: Callable[..., Any],
    *,
    method_name: str,
    rank: int | tuple[int, ...] | None,
    rank_hint: str | None,
    builtin: bool,
    names_itself: bool = False,
    exclusive: tuple[frozenset[str], ...] = (),
    derived_names: tuple[str, ...] = ("",),
    defaults: Sequence[str] | None = None,
    float_input: bool = False,
) -> Callable[..., ChainBase]:
    sig = inspect.signature(fn)
    keywords = _declared_defaults(method_name, sig, defaults)
    regularizers = L2LOSS_SPELLINGS & set(sig.parameters)
    if "l2loss" in sig.parameters and regularizers:
        exclusive = (*exclusive, frozenset({"l2loss", *regularizers}))
    takes_name = "name" in sig.parameters
    binder = _Binder(sig)
    METHODS.add(
        MethodSpec(method_name, keywords, builtin, _keyword_parameters(sig), tuple(exclusive))
    )

    # Building a step is plain Python at trace time: autograph must not rewrite the method or
    # the functions it calls (it would, inside a user's tf.function, and slow tracing down).
    @tf.autograph.experimental.do_not_convert
    @functools.wraps(fn)
    def method(self: ChainBase, *args: Any, **kwargs: Any) -> ChainBase:
        if self._view is not None:  # with_defaults / with_name
            return _through_view(method, self, method_name, takes_name, args, kwargs)
        try:
            arguments = binder.bind((self, *args), kwargs)
        except TypeError as err:
            raise ChainTypeError(f"{method_name}() on chain {self.name!r}: {err}") from None
        scoped = current_defaults().for_method(method_name)
        if scoped:
            given = set(arguments)
            for key in keywords:
                if (
                    key not in given
                    and key in scoped
                    and not _spelled_otherwise(key, given, exclusive)
                ):
                    arguments[key] = scoped[key]
        for key, value in arguments.items():  # no instance shared by two layers
            if type(value) not in _PLAIN:
                arguments[key] = _fresh(value)
        # all or nothing: the merge of other chains' networks, the step's nodes and any layer
        # renamed are undone if the step fails
        with all_or_nothing(), naming_step(), step_dtype_policy():
            try:
                network = merge_networks(self.network, chains_among(arguments.values()))
            except ChainError as err:
                raise type(err)(f"{method_name}() on chain {self.name!r}: {err}") from None
            explicit = arguments.get("name") if takes_name else None
            if names_itself:
                name = explicit or method_name
            else:
                name = network.next_name(
                    method_name, explicit, method=method_name, suffixes=derived_names
                )
                if takes_name:
                    arguments["name"] = name
            if rank is not None:
                check_rank(
                    self.shape,
                    rank,
                    where=f"{method_name}() at layer {name!r}",
                    source=self.name,
                    hint=rank_hint,
                )
            if float_input:
                check_float_dtype(
                    self.dtype, where=f"{method_name}() at layer {name!r}", source=self.name
                )
            call_args, call_kwargs = binder.call_arguments(arguments)
            with network.building(method_name, name, self):
                result = fn(*call_args, **call_kwargs)
                return cast(ChainBase, self._extend(method_name, name, result))

    return method


def _through_view(
    method: Callable[..., Any],
    chain: ChainBase,
    method_name: str,
    takes_name: bool,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """``method`` called on the plain chain inside the view's defaults scope (opened inside
    the scope in force), with the view's name for the step; the chains it returns carry the
    view's scope (not its name, which one step uses)."""
    view = cast(View, chain._view)
    if view.name is not None and kwargs.get("name") is None:
        if not takes_name:
            raise ChainError(
                f"{method_name}() on chain {chain.name!r}: with_name({view.name!r}) names the "
                f"next step, but {method_name}() takes no name"
            )
        kwargs = {**kwargs, "name": view.name}
    plain = chain._viewed(None)
    if view.scope is None:
        return method(plain, *args, **kwargs)
    with in_force(current_defaults().merged_with(view.scope)):
        result = method(plain, *args, **kwargs)
    return _carry(result, View(scope=view.scope))


def _carry(result: Any, view: View) -> Any:
    """``result`` with ``view`` on each chain in it (a chain, or a plain tuple of them);
    named results (a head's, a recurrent step's) come back as they are."""
    if isinstance(result, ChainBase):
        return result._viewed(view)
    if type(result) is tuple:
        return tuple(_carry(item, view) for item in result)
    return result


def _spelled_otherwise(key: str, given: set[str], exclusive: tuple[frozenset[str], ...]) -> bool:
    """Whether ``key`` is one spelling of an argument the caller gave under another spelling
    (``rate`` / ``keep_prob``): then a defaults scope must not fill it."""
    return any(key in group and given & group for group in exclusive)


def chain_method(
    *,
    rank: int | tuple[int, ...] | None = None,
    rank_hint: str | None = None,
    names_itself: bool = False,
    exclusive: Sequence[Sequence[str]] = (),
    derived_names: Sequence[str] = ("",),
    defaults: Sequence[str] = (),
    float_input: bool = False,
) -> Callable[[Callable[Concatenate[Any, P], Any]], Callable[Concatenate[Any, P], Chain]]:
    """Declares a built-in chain method; the decorated function returns the layer(s) to apply.

    ``rank`` checks the input's rank first (``rank_hint`` tells the user how to fix it).
    The function receives the final layer name in its ``name`` argument, unless
    ``names_itself``: then it gets the user's ``name`` (or ``None``) and returns a
    :class:`Lowering` with ``node_name`` set. ``exclusive`` lists groups of keywords that
    spell one argument two ways (``("rate", "keep_prob")``): once the caller gives one, a
    defaults scope fills none of the others. ``derived_names`` are the suffixes of the
    further steps the method names after its own (a head's ``"_loss"``): an automatic name
    leaves them all free, an explicit one must. ``defaults`` declares the keywords the method
    takes from defaults scopes (PrettyTensor's ``assign_defaults``); any other keyword is set
    only by the caller. ``float_input`` refuses an integer or bool input at build time.
    """

    def decorate(
        fn: Callable[Concatenate[Any, P], Any],
    ) -> Callable[Concatenate[Any, P], Chain]:
        return _wrap(  # type: ignore[return-value]
            fn,
            method_name=fn.__name__,
            rank=rank,
            rank_hint=rank_hint,
            builtin=True,
            names_itself=names_itself,
            exclusive=tuple(frozenset(group) for group in exclusive),
            derived_names=tuple(derived_names),
            defaults=tuple(defaults),
            float_input=float_input,
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


def register(
    fn: F | None = None,
    *,
    name: str | None = None,
    overwrite: bool = False,
    defaults: Sequence[str] | None = None,
) -> Any:
    """Adds a user method to every chain.

    The function takes the chain first and returns a Keras layer (applied to the chain and
    named like built-in layers) or a chain. A Keras layer class registers as a factory: the
    method passes its arguments to the class (named ``snake_case`` of the class unless
    ``name=``). Registering over an existing method needs ``overwrite=True``; the names of
    chains' own attributes (``shape``, ``network``, ...) are refused.

    Args:
        fn: The function (``fn(chain, *args, **kwargs)``) or Keras layer class.
        name: The method's name (default: the function's name, or ``snake_case`` of the
            class).
        overwrite: Replace an existing method of that name.
        defaults: The keywords the method takes from defaults scopes, as PrettyTensor's
            ``Register(assign_defaults=...)``. ``None`` (the default) declares every keyword
            that has a default value (except ``name``).

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
        if not callable(func):
            raise ChainTypeError(
                f"register(): needs a function of a chain or a Keras layer class, got "
                f"{type(func).__name__} {func!r}."
            )
        is_layer_class = isinstance(func, type) and issubclass(func, keras.layers.Layer)
        own_name = getattr(func, "__name__", None)
        if name is None and not isinstance(own_name, str):
            raise ChainTypeError(
                f"register(): {func!r} has no __name__; give the method a name: "
                "cn.register(fn, name='...')"
            )
        method_name = name or (snake_case(str(own_name)) if is_layer_class else own_name)
        if not isinstance(method_name, str) or not method_name.isidentifier():
            raise ChainError(f"register(): {method_name!r} is not a valid public method name.")
        if method_name.startswith("_"):
            raise ChainError(f"register(): {method_name!r} is not a valid public method name.")
        chain_class = Network.chain_class()
        owner = METHODS.reserved_by(method_name)
        if owner is not None or (hasattr(chain_class, method_name) and method_name not in METHODS):
            raise ChainError(
                f"register(): {method_name!r} is an attribute of {owner or 'Chain'}, not a "
                "method; no method may take its name (overwrite=True cannot replace it). "
                "Choose another name."
            )
        if method_name not in METHODS and method_name in METHODS.all_keywords():
            takers = ", ".join(f"{m}()" for m in METHODS.taking(method_name)[:4])
            raise ChainError(
                f"register(): {method_name!r} is a defaults key (of {takers}, ...): a method of "
                f"that name would change what cn.defaults({method_name}=...) means. Choose "
                "another name."
            )
        if method_name in METHODS and not overwrite:
            kind = "built-in " if METHODS[method_name].builtin else ""
            raise ChainError(
                f"register(): chains already have a {kind}method {method_name!r}; pass "
                "overwrite=True to replace it, or choose another name."
            )
        body = _layer_factory(cast(Any, func), method_name) if is_layer_class else func
        try:
            inspect.signature(body)
        except (TypeError, ValueError) as err:
            raise ChainTypeError(
                f"register(): cannot read the signature of {func!r} ({err}); register a "
                "Python function of the chain, or a Keras layer class"
            ) from None
        wrapped = _wrap(
            body,
            method_name=method_name,
            rank=None,
            rank_hint=None,
            builtin=False,
            defaults=defaults,
        )
        setattr(chain_class, method_name, wrapped)
        return func

    if fn is not None:
        return decorate(fn)
    return decorate
