"""Sequential mode: a builder whose method calls move its head in place (PrettyTensor's
``SequentialLayerBuilder``), with towers joined on the way out of ``subdivide``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar, cast

import keras

from chainnet._chainbase import ChainBase
from chainnet._errors import ChainError
from chainnet._network import Network
from chainnet._operators import Operators
from chainnet._specs import METHODS

__all__ = ["SequentialBuilder"]


C = TypeVar("C", bound=ChainBase)


class SequentialBuilder(Operators, Generic[C]):
    """A mutable head over immutable chains: ``seq.conv2d(...)`` moves the head and returns
    the builder, so calls can be chained or written one per line.

    Make one with ``chain.sequential()``; get the chain back with :meth:`as_chain`. Methods
    that give something other than a chain (``split``, ``softmax_classifier``) return it and
    leave the head where it was.

    Examples:
        >>> import chainnet as cn
        >>> seq = cn.input((28, 28, 1)).sequential()
        >>> seq.conv2d(5, 16).max_pool(2, 2)
        <SequentialBuilder head='max_pool' shape=(None, 14, 14, 16)>
        >>> seq.flatten()
        <SequentialBuilder head='flatten' shape=(None, 3136)>
        >>> seq.fully_connected(10).as_chain().shape
        (None, 10)
    """

    __slots__ = ("_head",)

    _head: C

    def __init__(self, head: C) -> None:
        if not isinstance(head, ChainBase):
            raise TypeError(f"SequentialBuilder needs a chain, got {type(head).__name__}")
        object.__setattr__(self, "_head", head)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"cannot set {key!r} on a sequential builder; call its methods")

    def _move(self, head: C) -> None:
        object.__setattr__(self, "_head", head)

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)
        if method not in METHODS:
            value = getattr(self._head, method)  # properties such as shape, or AttributeError
            if callable(value):
                raise AttributeError(
                    f"{method!r} is not a chain method a sequential builder can apply; "
                    "call it on seq.as_chain()"
                )
            return value  # type: ignore[no-any-return]
        bound = getattr(self._head, method)

        def apply(*args: Any, **kwargs: Any) -> Any:
            result = bound(*args, **kwargs)
            if isinstance(result, ChainBase):
                self._move(cast(C, result))
                return self
            return result

        apply.__name__ = method
        apply.__doc__ = bound.__doc__
        return apply

    # ----------------------------------------------------------------- operators
    def _operand_chain(self) -> C:
        return self._head

    def _apply_operator(self, method: str, args: tuple[Any, ...]) -> SequentialBuilder[C]:
        """``seq + x``, ``2 * seq``, ``-seq``, ``seq[:, 0]`` move the head, as the method does."""
        return self.__getattr__(method)(*(_head_of(a) for a in args))  # type: ignore[no-any-return]

    # ----------------------------------------------------------------- towers
    @contextlib.contextmanager
    def subdivide(
        self,
        number: int,
        *,
        how: str | Callable[..., Any] | keras.layers.Layer = "concat",
        axis: int = -1,
        name: str | None = None,
    ) -> Iterator[list[SequentialBuilder[C]]]:
        """Splits into ``number`` towers that start at the head; when the ``with`` block ends,
        the head moves to their join (``how``, as in ``join``; by default concatenated along
        the last axis). A tower left untouched passes the head through.

        Examples:
            >>> import chainnet as cn
            >>> seq = cn.input((8, 8, 16)).sequential()
            >>> with cn.defaults(activation="relu", padding="same"):
            ...     with seq.subdivide(3) as towers:
            ...         towers[0].conv2d(1, 8)
            ...         towers[1].conv2d(1, 4).conv2d(3, 8)
            ...         towers[2].max_pool(3, 1).conv2d(1, 8)
            <SequentialBuilder head='conv2d' shape=(None, 8, 8, 8)>
            <SequentialBuilder head='conv2d_2' shape=(None, 8, 8, 8)>
            <SequentialBuilder head='conv2d_3' shape=(None, 8, 8, 8)>
            >>> seq.shape
            (None, 8, 8, 24)
        """
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ChainError(f"subdivide(): number must be >= 1, got {number}")
        start = self._head
        towers = [SequentialBuilder(start) for _ in range(number)]
        yield towers
        heads = [t._head for t in towers]
        if number == 1:
            self._move(heads[0])
            return
        joined = cast(Any, heads[0]).join(heads[1:], how=how, axis=axis, name=name)
        self._move(joined)

    def subdivide_with(
        self, number: int, join_function: Callable[..., Any] | keras.layers.Layer | str
    ) -> contextlib.AbstractContextManager[list[SequentialBuilder[C]]]:
        """:meth:`subdivide` joined by ``join_function`` (PrettyTensor's name).

        Examples:
            >>> import chainnet as cn
            >>> seq = cn.input((4,)).sequential()
            >>> with seq.subdivide_with(2, "add") as (a, b):
            ...     a = a.fully_connected(3)
            ...     b = b.fully_connected(3)
            >>> seq.shape
            (None, 3)
        """
        return self.subdivide(number, how=join_function)

    # ----------------------------------------------------------------- back to chains
    def as_chain(self) -> C:
        """The head: an immutable chain.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).sequential().fully_connected(2).as_chain().name
            'fully_connected'
        """
        return self._head

    as_layer = as_chain

    def with_defaults(self, **defaults: Any) -> SequentialBuilder[C]:
        """Moves the head to ``head.with_defaults(**defaults)`` (see
        :meth:`chainnet.Chain.with_defaults`), so the builder's next steps take those
        defaults, as PrettyTensor's builder's ``with_defaults``; returns the builder.

        Args:
            **defaults: The defaults, by key, as for :func:`chainnet.defaults`.

        Examples:
            >>> import chainnet as cn
            >>> seq = cn.input((4,)).sequential().with_defaults(activation="relu")
            >>> seq.fully_connected(3).fully_connected(2).as_chain().layer.activation.__name__
            'relu'
        """
        self._move(cast(Any, self._head).with_defaults(**defaults))
        return self

    def with_name(self, name: str) -> SequentialBuilder[C]:
        """Moves the head to ``head.with_name(name)`` (see :meth:`chainnet.Chain.with_name`):
        the builder's next step takes ``name``; returns the builder.

        Args:
            name: The next step's name.

        Examples:
            >>> import chainnet as cn
            >>> seq = cn.input((4,)).sequential().with_name("hidden").fully_connected(3)
            >>> seq.as_chain().name
            'hidden'
        """
        self._move(cast(Any, self._head).with_name(name))
        return self

    def is_sequential_builder(self) -> bool:
        """``True``: this is a sequential builder (PrettyTensor's ``is_sequential_builder``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).sequential().is_sequential_builder()
            True
        """
        return True

    @property
    def head(self) -> C:
        """The chain the builder points at now."""
        return self._head

    @property
    def shape(self) -> tuple[int | None, ...]:
        """The head's static shape."""
        return self._head.shape

    @property
    def network(self) -> Network:
        """The head's network."""
        return self._head.network

    def model(self, name: str | None = None) -> keras.Model:
        """``as_chain().model()``: a functional Keras model to the head."""
        return self._head.model(name)

    def __repr__(self) -> str:
        return f"<SequentialBuilder head={self._head.name!r} shape={self._head.shape}>"


METHODS.reserve(
    "SequentialBuilder", (name for name in dir(SequentialBuilder) if not name.startswith("_"))
)


def _head_of(value: Any) -> Any:
    return value._head if isinstance(value, SequentialBuilder) else value
