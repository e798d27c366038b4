"""Operands: how any value a step takes besides its chain becomes a chain of the right network.

One policy, used by every step that takes another operand (arithmetic, ``concat``, ``join``,
``stack``, templates, heads' labels and targets, ``cn.model``):

* a chain of the same kind (symbolic, eager or graph) is merged into the step's network;
  a chain of another kind is a clear error;
* on an eager or graph chain, data (a NumPy array, a number, an eager tensor; a graph
  tensor inside ``tf.function``) is adopted as a new step of the network, named after its
  role (``labels``, ``add_operand``, ...);
* on a symbolic chain, a ``keras.Input`` tensor is adopted as an input; data is taken as a
  constant where the step has one (arithmetic: ``x * 2``), and refused with an error that
  says how to add it as an input everywhere else.

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
from chainnet._errors import ChainTypeError
from chainnet._naming import has_automatic_name
from chainnet._network import Network, naming_step, tensor_layer

__all__ = ["as_chains", "as_operand", "chains_among", "merge_networks", "start_chain"]


def chains_among(values: Iterable[Any]) -> list[ChainBase]:
    """The chains among ``values`` (in lists and tuples too), in order."""
    found: list[ChainBase] = []
    for value in values:
        items = value if isinstance(value, (list, tuple)) else (value,)
        found.extend(item for item in items if isinstance(item, ChainBase))
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
    a conversion error names (``"wrap()"``, ``"add(add_operand)"``)."""
    with naming_step():
        if isinstance(value, keras.KerasTensor):
            tensor, layers, node_method = value, tensor_layer(value), "input"
        else:
            tensor, layers, node_method = _to_tensor(value, where or f"{method}()"), (), method
        final = network.next_name(base, name, method=method)
        return network.start(tensor, final, node_method, layers)  # type: ignore[no-any-return]


def _to_tensor(value: Any, where: str) -> Any:
    try:
        return value if tf.is_tensor(value) else tf.convert_to_tensor(value)
    except (TypeError, ValueError) as err:
        raise ChainTypeError(
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
    if isinstance(value, ChainBase):
        network.absorb(value.network)
        return value
    if isinstance(value, keras.KerasTensor):
        layers = tensor_layer(value)
        if network.kind != "symbolic" or not layers:
            raise TypeError(
                f"{where}: a symbolic Keras tensor can join a symbolic chain only, and only "
                f"as it comes from keras.Input(...); got {value!r} on a {network.kind} chain."
            )
        if not isinstance(layers[0], keras.layers.InputLayer):
            raise TypeError(
                f"{where}: a symbolic Keras tensor must come straight from keras.Input(...); "
                "wrap the keras.Input and apply the layers to the chain instead."
            )
        return _adopt_input(network, value, method)
    graph_tensor = tf.is_tensor(value) and not tf.executing_eagerly()
    if network.kind == "symbolic" or (constant and not graph_tensor):
        if not constant:
            raise ValueError(
                f"{where}: {role} must be {expected} on a symbolic network, as chain "
                f"{chain.name!r} is; bring data in as an input (chain.network.input(shape, "
                f"dtype=...) or cn.input(...)), got {type(value).__name__}."
            )
        return _constant(where, value)
    if network.kind == "eager" and graph_tensor:
        raise ValueError(
            f"{where}: a graph tensor (inside tf.function) cannot join an eager chain; wrap the "
            "data inside the tf.function, or pass data."
        )
    return start_chain(network, value, name=None, method="wrap", base=role, where=where)


def _adopt_input(network: Network, value: Any, method: str) -> ChainBase:
    """A ``keras.Input`` tensor as an input step of ``network`` (the one already there, if any)."""
    for known in network.inputs:
        if known.tensor is value:
            return known  # type: ignore[no-any-return]
    layer = tensor_layer(value)[0]
    own = None if has_automatic_name(layer) else layer.name
    return start_chain(network, value, name=own, method=method)


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
