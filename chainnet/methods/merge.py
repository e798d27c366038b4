"""Branching and merging: ``concat``, ``join``, ``stack``, ``split``, ``unstack``, and
``apply_template`` (a template as one step)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

import keras

from chainnet._arguments import check_bool, check_positive_int
from chainnet._chainbase import ChainBase, Lowering
from chainnet._journal import rename_layer
from chainnet._operands import as_chains
from chainnet._registry import chain_method
from chainnet._shapes import Shape, check_join, normalize_axis
from chainnet._template import Template
from chainnet.layers.merge import Stack
from chainnet.layers.shape import Slice, encode_key, step_dtype
from chainnet.methods._common import check_function

if TYPE_CHECKING:  # type hints only: the public Chain (see docs/architecture.md)
    from chainnet._chain import Chain

__all__ = ["JOINS", "MergeMethods", "TemplateMethods", "multi_chain_method"]

P = ParamSpec("P")
R = TypeVar("R")

JOINS: dict[str, type[keras.layers.Layer]] = {
    "concat": keras.layers.Concatenate,
    "add": keras.layers.Add,
    "subtract": keras.layers.Subtract,
    "multiply": keras.layers.Multiply,
    "average": keras.layers.Average,
    "maximum": keras.layers.Maximum,
    "minimum": keras.layers.Minimum,
}


def multi_chain_method(
    **options: Any,
) -> Callable[[Callable[Concatenate[Any, P], R]], Callable[Concatenate[Any, P], R]]:
    """:func:`chain_method` (same ``options``) for a step that gives several chains: the body
    builds them (with ``chain._extend``) and returns a tuple of chains, which is also the
    method's result type."""

    def decorate(fn: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Any, P], R]:
        return cast(Any, chain_method(**options)(fn))

    return decorate


def part_names(chain: Any, method: str, explicit: str | None, count: int) -> list[str]:
    """``<base>.0`` ... ``<base>.<count-1>``: ``base`` is ``explicit`` (a duplicate is an
    error), else the first of ``method``, ``method_1``, ... whose parts are all free."""
    parts = [f".{i}" for i in range(count)]
    suffixes = parts if explicit is not None else ["", *parts]
    base = chain.network.next_name(method, explicit, method=method, suffixes=suffixes)
    return [base + part for part in parts]


def _operands(chain: Any, value: Any, method: str, role: str) -> tuple[ChainBase, ...]:
    return as_chains(chain, value, method=method, role=role)


def _check(how: str, chains: Sequence[ChainBase], axis: int = -1) -> None:
    check_join(how, [c.shape for c in chains], [c.name for c in chains], axis)


def _slice_key(axis: int, rank: int, index: int | slice) -> tuple[Any, ...]:
    ax = normalize_axis(axis, rank, "split")
    return (*(slice(None),) * ax, index)


class MergeMethods:
    """Several chains into one (concat, join, stack), one chain into several (split, unstack)."""

    __slots__ = ()

    @chain_method()
    def concat(self, concat_dim: int, other_tensors: Any, *, name: str | None = None) -> Any:
        """Concatenates this chain with ``other_tensors`` along ``concat_dim`` (PrettyTensor's
        order; the batch dimension counts as 0).

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((8, 8, 3))
            >>> x.concat(-1, [x.conv2d(1, 5), x.conv2d(1, 6)]).shape
            (None, 8, 8, 14)
        """
        rank = len(self.shape)  # type: ignore[attr-defined]
        normalize_axis(concat_dim, rank, "concat", "concat_dim")
        concat_dim = int(concat_dim)
        others = _operands(self, other_tensors, "concat", "other_tensors")
        chains = [cast(ChainBase, self), *others]
        _check("concat", chains, concat_dim)
        # the inputs' common dtype: int32 stays int32 (Keras' default, the float compute
        # dtype, would report float32); under mixed precision floats follow the policy
        dtype = step_dtype(*(c.dtype for c in chains))
        layer = keras.layers.Concatenate(axis=concat_dim, dtype=dtype, name=name)
        return Lowering((layer,), others=others)

    @chain_method()
    def join(
        self,
        others: Any,
        *,
        how: str | Callable[..., Any] | keras.layers.Layer = "concat",
        axis: int = -1,
        include_self: bool = True,
        name: str | None = None,
    ) -> Any:
        """Merges this chain (unless ``include_self=False``) with ``others``.

        ``how`` is ``"concat"`` (along ``axis``), ``"add"``, ``"subtract"``, ``"multiply"``,
        ``"average"``, ``"maximum"``, ``"minimum"``, a Keras merge layer, or a function of the
        list of tensors (a ``Lambda``, with ``apply``'s rules: a lambda loads with
        ``safe_mode=False``, a registered function with ``safe_mode=True``; any other
        function is refused, as a model that saves but never loads).

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((4,))
            >>> x.join([x.fully_connected(4), x.fully_connected(4)], how="add").shape
            (None, 4)
            >>> x.join([x.fully_connected(2)]).shape
            (None, 6)
        """
        include_self = check_bool("join", "include_self", include_self)
        listed = _operands(self, others, "join", "others")
        chains = (cast(ChainBase, self), *listed) if include_self else listed
        if len(chains) < 2:
            raise ValueError(f"join() needs at least two chains, got {len(chains)}")
        if isinstance(how, keras.layers.Layer):
            layer = how
            if name is not None and not layer.built:
                rename_layer(layer, name)
        elif isinstance(how, str):
            if how not in JOINS:
                raise ValueError(
                    f"how must be one of {sorted(JOINS)}, a layer or a function, got {how!r}"
                )
            if how == "concat":
                normalize_axis(axis, len(chains[0].shape), "join", "axis")
                axis = int(axis)
            _check(how, chains, axis)
            common = str(keras.backend.result_type(*(c.dtype for c in chains)))
            dtypes = ", ".join(f"{c.dtype} ({c.name!r})" for c in chains)
            if how != "concat" and common == "bool":
                raise TypeError(
                    f"join(how={how!r}) cannot combine bool inputs (dtypes {dtypes}); cast "
                    "them first, e.g. chain.cast('int32'), or use how='concat'"
                )
            if how == "average" and not keras.backend.is_float_dtype(common):
                raise TypeError(
                    "join(how='average') needs float inputs, as the mean of ints is not an "
                    f"int (dtypes {dtypes}); cast them first, e.g. chain.cast('float32')"
                )
            options = {"axis": axis} if how == "concat" else {}
            layer = JOINS[how](name=name, dtype=step_dtype(common), **options)
        elif callable(how):
            check_function("join", "how", how)
            layer = keras.layers.Lambda(how, name=name)
        else:
            raise TypeError(f"how must be a string, a Keras layer or a function, got {how!r}")
        first, *rest = chains
        return first._extend("join", str(name), Lowering((layer,), others=tuple(rest)))

    @chain_method()
    def stack(self, others: Any, axis: int = 1, *, name: str | None = None) -> Any:
        """Stacks this chain and ``others`` (same shapes) along a new ``axis`` (batch is 0).

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((4,))
            >>> x.stack([x.fully_connected(4)]).shape
            (None, 2, 4)
        """
        rank = len(self.shape) + 1  # type: ignore[attr-defined]
        if normalize_axis(axis, rank, "stack", "axis") == 0:  # the new axis, of the output
            raise ValueError("stack(axis): axis 0 is the batch axis; stack along axis 1 or more")
        chains = (cast(ChainBase, self), *_operands(self, others, "stack", "others"))
        _check("stack", chains)
        dtype = step_dtype(*(c.dtype for c in chains))  # int32 stays int32
        return Lowering((Stack(int(axis), dtype=dtype, name=name),), others=chains[1:])

    @multi_chain_method(names_itself=True)
    def split(
        self, split_dim: int = -1, num_splits: int | Sequence[int] = 2, *, name: str | None = None
    ) -> tuple[Chain, ...]:
        """Splits into ``num_splits`` equal parts along ``split_dim``, or into parts of the
        given sizes (PrettyTensor's order). Part ``i`` is the step ``<name>.<i>``.

        Examples:
            >>> import chainnet as cn
            >>> a, b = cn.input((6,)).split(-1, [2, 4])
            >>> a.shape, b.shape, a.name
            ((None, 2), (None, 4), 'split.0')
        """
        shape: Shape = self.shape  # type: ignore[attr-defined]
        ax = normalize_axis(split_dim, len(shape), "split", "split_dim")
        if ax == 0:
            raise ValueError("split(split_dim): cannot split the batch dimension (axis 0)")
        size = shape[ax]
        if isinstance(num_splits, (list, tuple)):
            for part in num_splits:
                check_positive_int("split", "num_splits", part)
        else:
            num_splits = check_positive_int("split", "num_splits", num_splits)
        if isinstance(num_splits, int):
            if size is None or size % num_splits:
                raise ValueError(
                    f"cannot split dimension {ax} of shape {shape} into {num_splits} equal parts"
                )
            sizes = [size // num_splits] * num_splits
        else:
            sizes = [int(s) for s in num_splits]
            if any(s < 1 for s in sizes) or (size is not None and sum(sizes) != size):
                raise ValueError(
                    f"split sizes {sizes} must be positive and add up to dimension {ax} of "
                    f"shape {shape}"
                )
        parts = []
        start = 0
        for part, width in zip(part_names(self, "split", name, len(sizes)), sizes):
            key = _slice_key(ax, len(shape), slice(start, start + width))
            parts.append(_part(self, "split", part, key))
            start += width
        return tuple(parts)

    @multi_chain_method(names_itself=True)
    def unstack(self, axis: int = 1, *, name: str | None = None) -> tuple[Chain, ...]:
        """Unstacks along ``axis`` (default 1: time steps) into one chain per index, each
        without that axis. Part ``i`` is the step ``<name>.<i>``.

        Examples:
            >>> import chainnet as cn
            >>> steps = cn.input((3, 5)).unstack()
            >>> len(steps), steps[0].shape, steps[2].name
            (3, (None, 5), 'unstack.2')
        """
        shape: Shape = self.shape  # type: ignore[attr-defined]
        ax = normalize_axis(axis, len(shape), "unstack", "axis")
        if ax == 0 or shape[ax] is None:
            raise ValueError(
                f"unstack() needs a known, non-batch axis; axis {axis} of shape {shape} is not"
            )
        names = part_names(self, "unstack", name, int(shape[ax]))  # type: ignore[arg-type]
        return tuple(
            _part(self, "unstack", part, _slice_key(ax, len(shape), i))
            for i, part in enumerate(names)
        )


def _part(chain: Any, method: str, name: str, key: tuple[Any, ...]) -> Chain:
    """One part of a split or an unstack: a slice in the input's dtype (int32 stays int32)."""
    layer = Slice(encode_key(key), dtype=step_dtype(chain.dtype), name=name)
    return cast("Chain", chain._extend(method, name, layer))


class TemplateMethods:
    """A template (:func:`chainnet.template`) applied as one step."""

    __slots__ = ()

    @chain_method(names_itself=True)
    def apply_template(
        self, template: Template, *others: ChainBase, name: str | None = None
    ) -> Any:
        """Applies ``template`` to this chain (and ``others``, for a template of several
        inputs) as one step; every application shares the template's weights.

        Examples:
            >>> import chainnet as cn
            >>> tower = cn.template(name="tower").fully_connected(3)
            >>> x = cn.input((4,))
            >>> a, b = x.apply_template(tower), x.apply_template(tower)
            >>> a.name, b.name, len(a.model().weights)
            ('tower', 'tower_1', 2)
        """
        if not isinstance(template, Template):
            raise TypeError(f"apply_template() needs a cn.template(...), got {template!r}")
        me = cast(ChainBase, self)
        chains = (me, *_operands(me, others, "apply_template", "others")) if others else (me,)
        network = self.network  # type: ignore[attr-defined]
        model = template._layer_for(chains, network, name)
        applied = model.name in network and network.layer(model.name) is model
        if name is None and not applied and template.name_chosen:
            name = model.name  # the name you gave the template (a clash is an error)
        suffixes = template._part_suffixes()
        node = network.next_name(
            model.name,
            name,
            method="apply_template",
            suffixes=("", *suffixes) if suffixes else ("",),
        )
        lowering = Lowering((model,), others=chains[1:], node_name=node)
        if not suffixes:
            return lowering
        # several outputs: the packed step, taken apart into <node>.0, <node>.1, ...
        return template._unpack(me._extend("apply_template", node, lowering), node)
