"""Operands: how any value a step takes besides its chain becomes a chain of the right network.

One policy, used by every step that takes another operand (arithmetic, ``concat``, ``join``,
``stack``, templates, heads' labels and targets, ``cn.model``):

* a chain of the same kind (symbolic, eager or graph) is merged into the step's network;
  a chain of another kind is a clear error;
* in arithmetic (``x * 2``, ``x + array``), data is a constant of the step on every kind of
  chain, except a graph tensor inside ``tf.function``, which has no value yet: a graph chain
  adopts it as a step (``add_operand``);
* everywhere else (``concat``, ``join``, ``stack``, labels, targets, templates), an eager or
  graph chain adopts data (a NumPy array, a number, an eager tensor; a graph tensor inside
  ``tf.function``) as a new step of the network, named after its role (``labels``, ...), and
  a symbolic chain refuses it with an error that says how to add it as an input;
* on a symbolic chain, a ``keras.Input`` tensor is adopted as an input;
* a sequential builder stands for its head.

Operands are converted inside a step, so errors here are plain ``TypeError`` and
``ValueError``: the step reports them as a :class:`chainnet.ChainError` that names the
method, the layer and the input.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from chainnet._chainbase import ChainBase
from chainnet._journal import rename_layer
from chainnet._legacy import reject_legacy_keras
from chainnet._naming import has_automatic_name
from chainnet._network import Network, naming_step, tensor_layer
from chainnet._operators import Operators

__all__ = ["as_chains", "as_operand", "chains_among", "merge_networks", "start_chain"]


def chains_among(values: Iterable[Any]) -> list[ChainBase]:
    """The chains among ``values`` (in lists and tuples too), in order."""
    found: list[ChainBase] = []
    for value in values:
        if isinstance(value, ChainBase):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(item for item in value if isinstance(item, ChainBase))
    return found


def merge_networks(network: Network, chains: Iterable[ChainBase]) -> Network:
    """``network`` with the networks of ``chains`` merged into it (undone if the step fails)."""
    for chain in chains:
        network = network.absorb(chain.network)
    return network


def start_chain(
    network: Network,
    value: Any,
    *,
    name: str | None,
    method: str,
    base: str = "input",
    where: str | None = None,
) -> ChainBase:
    """``value`` (a ``keras.Input`` tensor, a tensor, or data made a tensor) as a new source
    step of ``network``, named ``name`` or the first free name of ``base``; ``where`` is what
    an error names (``"wrap()"``, ``"add(add_operand)"``).

    A ``keras.Input`` that Keras named itself (``input_layer_3``: a process-wide counter)
    takes the step's name, so the same code gives the same names in any process.
    """
    where = where or f"{method}()"
    reject_legacy_keras(value, where)
    with naming_step():
        if not isinstance(value, keras.KerasTensor):
            tensor = _to_tensor(value, where)
            final = network.next_name(base, name, method=method)
            return network.start(tensor, final, method)  # type: ignore[no-any-return]
        layers = tensor_layer(value)
        if not layers or not isinstance(layers[0], keras.layers.InputLayer):
            raise TypeError(
                f"{where}: a symbolic Keras tensor must come straight from keras.Input(...); "
                "wrap the keras.Input and apply the layers to the chain instead."
            )
        own = None if has_automatic_name(layers[0]) else layers[0].name
        final = network.next_name(base, name or own, method=method)
        rename_layer(layers[0], final)
        rename_layer(value, final)
        return network.start(value, final, "input", layers)  # type: ignore[no-any-return]


def _to_tensor(value: Any, where: str) -> Any:
    try:
        return value if tf.is_tensor(value) else tf.convert_to_tensor(value)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{where}: cannot make a tensor of {type(value).__name__} {value!r}: {err}"
        ) from err


def as_operand(
    chain: ChainBase,
    value: Any,
    *,
    method: str,
    role: str,
    constant: bool = False,
    expected: str = "a chain",
) -> Any:
    """``value`` as an operand of a step on ``chain``: a chain of ``chain``'s network, or
    (``constant=True``, for data on a chain that keeps constants) a NumPy array.

    ``role`` names what the value is for (``"labels"``): adopted data becomes a step of
    that name (``labels``, ``labels_1``, ...) and errors say ``method(role)``.
    """
    where = f"{method}({role})"
    network = chain.network
    if isinstance(value, Operators) and not isinstance(value, ChainBase):
        head = value._operand_chain()  # a sequential builder stands for its head
        if head is None:
            raise TypeError(
                f"{where}: a {type(value).__name__} is not an operand; apply it to the chain "
                "first (template(chain))."
            )
        value = head
    reject_legacy_keras(value, where)
    if isinstance(value, ChainBase):
        network.absorb(value.network)
        return value
    if isinstance(value, keras.KerasTensor):
        if network.kind != "symbolic":
            raise TypeError(
                f"{where}: a symbolic Keras tensor can join a symbolic chain only; got {value!r} "
                f"on a {network.kind} chain."
            )
        return _adopt_input(network, value, method, where)
    graph_tensor = tf.is_tensor(value) and not tf.executing_eagerly()
    if graph_tensor and network.kind != "graph":
        raise ValueError(
            f"{where}: a graph tensor (inside tf.function) cannot join a {network.kind} chain; "
            "wrap it as a chain inside the tf.function (cn.wrap), or pass data."
        )
    if network.kind == "symbolic" or (constant and not graph_tensor):
        if not constant:
            raise ValueError(
                f"{where}: {role} must be {expected} on a symbolic network, as chain "
                f"{chain.name!r} is; bring data in as an input (chain.network.input(shape, "
                f"dtype=...) or cn.input(...)), got {type(value).__name__}."
            )
        return _constant(where, value)
    return start_chain(network, value, name=None, method="wrap", base=role, where=where)


def _adopt_input(network: Network, value: Any, method: str, where: str) -> ChainBase:
    """A ``keras.Input`` tensor as an input step of ``network`` (the one already there, if any)."""
    for known in network.inputs:
        if known.tensor is value:
            return known  # type: ignore[no-any-return]
    return start_chain(network, value, name=None, method=method, where=where)


def _constant(where: str, value: Any) -> np.ndarray:
    constant = np.asarray(value)
    if constant.dtype.kind not in "biuf":
        raise TypeError(
            f"{where}: constants must be numbers (bool, int or float), got "
            f"{type(value).__name__} {value!r} of dtype {constant.dtype}"
        )
    return constant


def as_chains(chain: ChainBase, value: Any, *, method: str, role: str) -> tuple[ChainBase, ...]:
    """A chain or a list of operands (chains, or data where :func:`as_operand` adopts it)."""
    items = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not items:
        raise TypeError(f"{method}({role}) needs a chain or a list of chains, got nothing.")
    expected = "a chain or a list of chains"
    return tuple(
        as_operand(chain, item, method=method, role=role, expected=expected) for item in items
    )
