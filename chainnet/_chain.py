"""The chain: an immutable wrapper around a tensor, with one method per kind of layer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import keras
import numpy as np
import tensorflow as tf

from chainnet._errors import ChainError, call_site
from chainnet._naming import has_automatic_name
from chainnet._network import Network, Node, tensor_layer
from chainnet._registry import Lowering
from chainnet.methods import (
    ActivationMethods,
    ArithmeticMethods,
    ConvMethods,
    DenseMethods,
    GenericMethods,
    HeadMethods,
    MergeMethods,
    NormalizationMethods,
    PoolingMethods,
    RecurrentMethods,
    ShapeMethods,
    TemplateMethods,
)

if TYPE_CHECKING:
    from chainnet._sequential import SequentialBuilder

__all__ = ["Chain", "input", "wrap", "model"]


class Chain(
    DenseMethods,
    ConvMethods,
    PoolingMethods,
    ShapeMethods,
    NormalizationMethods,
    ActivationMethods,
    ArithmeticMethods,
    GenericMethods,
    MergeMethods,
    RecurrentMethods,
    HeadMethods,
    TemplateMethods,
):
    """An immutable step of a network: its output tensor, the layer(s) that made it, its parents.

    Every method returns a new chain, so any point can be kept, branched from and reused.
    Start one with :func:`chainnet.input` (symbolic) or :func:`chainnet.wrap` (data).

    Examples:
        >>> import chainnet as cn
        >>> x = cn.input((28, 28, 1), name="image")
        >>> y = x.conv2d(5, 16, activation="relu").max_pool(2, 2).flatten().fully_connected(10)
        >>> y.shape, y.name, y.parent.name
        ((None, 10), 'fully_connected', 'flatten')
    """

    __slots__ = ("_tensor", "_network", "_name", "_method", "_layers", "_parents")

    _tensor: Any
    _network: Network
    _name: str
    _method: str
    _layers: tuple[keras.layers.Layer, ...]
    _parents: tuple[str, ...]

    def __init__(
        self,
        tensor: Any,
        network: Network,
        name: str,
        method: str,
        layers: tuple[keras.layers.Layer, ...],
        parents: tuple[str, ...],
    ) -> None:
        for slot, value in (
            ("_tensor", tensor),
            ("_network", network),
            ("_name", name),
            ("_method", method),
            ("_layers", layers),
            ("_parents", parents),
        ):
            object.__setattr__(self, slot, value)

    # NumPy defers ``ndarray + chain`` to ``chain.__radd__`` instead of converting the chain.
    __array_ufunc__ = None

    def __setattr__(self, key: str, value: Any) -> NoReturn:
        raise AttributeError(f"chains are immutable: cannot set {key!r}")

    def __delattr__(self, key: str) -> NoReturn:
        raise AttributeError(f"chains are immutable: cannot delete {key!r}")

    @classmethod
    def _start(
        cls,
        network: Network,
        tensor: Any,
        name: str,
        method: str,
        layers: tuple[keras.layers.Layer, ...],
    ) -> Chain:
        chain = cls(tensor, network, name, method, layers, ())
        network.add_node(Node(name, method, layers, (tensor,), (), call_site()), chain)
        return chain

    def _extend(self, method: str, name: str, result: Any) -> Chain:
        """Applies what a method body returned and records the new step."""
        if isinstance(result, Chain):
            return result
        if _is_chain_tuple(result):  # a step that gives several chains (split, heads)
            return result  # type: ignore[no-any-return]
        if isinstance(result, Lowering):
            lowering = result
        elif isinstance(result, keras.layers.Layer):
            lowering = Lowering((result,))
        elif isinstance(result, (list, tuple)) and result:
            lowering = Lowering(tuple(result))
        else:
            lowering = Lowering(())
        bad = [x for x in lowering.layers if not isinstance(x, keras.layers.Layer)]
        if not lowering.layers or bad:
            raise TypeError(
                f"{method}() must return a Keras layer, a list of layers or a chain; got {result!r}"
            )
        node_name = lowering.node_name or name
        first = lowering.layers[0]
        if lowering.node_name is None and first.name != node_name and not first.built:
            first.name = node_name
        network = self.network
        x: Any = (
            [self._tensor, *(o._tensor for o in lowering.others)]
            if lowering.others
            else self._tensor
        )
        outputs = []
        for layer in lowering.layers:
            x = layer(x)
            outputs.append(x)
        parents = (self._name, *(o._name for o in lowering.others))
        chain = Chain(x, network, node_name, method, lowering.layers, parents)
        node = Node(node_name, method, lowering.layers, tuple(outputs), parents, call_site())
        network.add_node(node, chain)
        return chain

    # ----------------------------------------------------------------- properties
    @property
    def tensor(self) -> Any:
        """The output: a ``KerasTensor`` (symbolic), or a ``tf.Tensor`` (eager or graph)."""
        return self._tensor

    @property
    def shape(self) -> tuple[int | None, ...]:
        """The static shape, ``None`` for unknown dimensions."""
        shape = self._tensor.shape
        if isinstance(shape, tf.TensorShape):
            return tuple(shape.as_list())
        return tuple(shape)

    @property
    def dtype(self) -> str:
        """The dtype as a string, ``"float32"``."""
        return str(keras.backend.standardize_dtype(self._tensor.dtype))

    @property
    def name(self) -> str:
        """The step's name, unique in its network."""
        return self._name

    @property
    def method(self) -> str:
        """The method that made this step (``"conv2d"``, ``"input"``, ...)."""
        return self._method

    @property
    def layer(self) -> keras.layers.Layer | None:
        """The Keras layer this step applied (the first, for a step of several)."""
        return self._layers[0] if self._layers else None

    @property
    def layers(self) -> tuple[keras.layers.Layer, ...]:
        """Every Keras layer this step applied, in order."""
        return self._layers

    @property
    def network(self) -> Network:
        """The network this chain belongs to: names, layers, variables, weights, activations."""
        return self._network.root()

    @property
    def parents(self) -> tuple[Chain, ...]:
        """The chains this step was applied to."""
        network = self.network
        return tuple(network[p] for p in self._parents)

    @property
    def parent(self) -> Chain | None:
        """The chain this step was applied to (the first, for a merge); ``None`` for an input."""
        return self.network[self._parents[0]] if self._parents else None

    @property
    def variables(self) -> dict[str, keras.Variable]:
        """This step's variables by path, ``{"layer_conv1/kernel": ...}``."""
        all_variables = self.network.variables
        prefixes = tuple(f"{layer.name}/" for layer in self._layers)
        return {p: v for p, v in all_variables.items() if p.startswith(prefixes)}

    def get_weights(self) -> dict[str, np.ndarray]:
        """This step's weights as NumPy arrays: the first layer's by short name (``"kernel"``,
        ``"bias"``), those of its further layers (``batch_normalize=True``) by path
        (``"conv2d_bn/gamma"``), the same set as :attr:`variables`."""
        weights: dict[str, np.ndarray] = {}
        for index, layer in enumerate(self._layers):
            for key, value in self.network.get_weights(layer.name).items():
                weights[key if index == 0 else f"{layer.name}/{key}"] = value
        return weights

    # ----------------------------------------------------------------- outputs
    def model(self, name: str | None = None) -> keras.Model:
        """A functional ``keras.Model`` from the inputs this chain depends on to this chain.

        Examples:
            >>> import chainnet as cn
            >>> m = cn.input((4,)).fully_connected(2).model()
            >>> m.count_params()
            10
        """
        return self.network.build_model([self], name)

    def sequential(self) -> SequentialBuilder:
        """A builder whose method calls move its head in place (PrettyTensor's sequential mode).

        Examples:
            >>> import chainnet as cn
            >>> seq = cn.input((4,)).sequential()
            >>> seq.fully_connected(8).fully_connected(2).as_chain().shape
            (None, 2)
        """
        from chainnet._sequential import SequentialBuilder

        return SequentialBuilder(self)

    def summary(self, print_fn: Any = print) -> None:
        """Prints every layer this chain depends on: name, method, output shape, parameters."""
        self.network.summary([self], print_fn=print_fn)

    def numpy(self) -> np.ndarray:
        """The value of an eager chain as a NumPy array."""
        if isinstance(self._tensor, keras.KerasTensor) or not tf.executing_eagerly():
            raise ChainError(
                f"numpy(): chain {self._name!r} is symbolic and has no value; use "
                "network.activations(inputs, names) or model().predict(inputs)."
            )
        return np.asarray(self._tensor)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self.numpy()
        return array.astype(dtype) if dtype is not None else array

    def __tf_tensor__(self, dtype: Any = None, name: Any = None) -> tf.Tensor:
        if isinstance(self._tensor, keras.KerasTensor):
            raise TypeError(
                f"chain {self._name!r} is symbolic (a KerasTensor); TensorFlow functions can't "
                "take it. Use chain.apply(fn) to run TensorFlow code inside the network."
            )
        return tf.convert_to_tensor(self._tensor, dtype=dtype, name=name)

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("chains are not iterable; index them (chain[:, 0]) instead")

    def __repr__(self) -> str:
        return f"<Chain {self._name!r} {self._method} shape={self.shape} dtype={self.dtype}>"


def _is_chain_tuple(result: Any) -> bool:
    """Whether a method body returned a tuple of chains (``None`` allowed for absent items)."""
    return (
        isinstance(result, tuple)
        and any(isinstance(r, Chain) for r in result)
        and all(r is None or isinstance(r, Chain) for r in result)
    )


def input(  # noqa: A001 - the PrettyTensor-like entry point is deliberately named input
    shape: Sequence[int | None],
    *,
    dtype: str = "float32",
    name: str | None = None,
    batch_size: int | None = None,
    sparse: bool = False,
) -> Chain:
    """Starts a symbolic chain in a new network (a ``keras.Input`` inside); no data needed.

    ``shape`` excludes the batch dimension. For more inputs in the same network, use
    ``chain.network.input(...)``.

    Examples:
        >>> import chainnet as cn
        >>> cn.input((28, 28, 1), name="image").shape
        (None, 28, 28, 1)
    """
    return Network("symbolic").input(
        shape, dtype=dtype, name=name, batch_size=batch_size, sparse=sparse
    )


def wrap(value: Any, *, name: str | None = None) -> Chain:
    """Wraps a tensor, array or ``keras.Input`` as a chain (a chain is returned as is).

    NumPy arrays and eager tensors give an eager chain whose layers run at once; a graph
    tensor inside ``tf.function`` gives a graph chain; a ``keras.Input`` a symbolic chain.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> y = cn.wrap(np.ones((2, 4), "float32")).fully_connected(3)
        >>> y.numpy().shape
        (2, 3)
    """
    if isinstance(value, Chain):
        return value
    if isinstance(value, keras.KerasTensor):
        layers = tensor_layer(value)
        if not layers or not isinstance(layers[0], keras.layers.InputLayer):
            raise ChainError(
                "wrap(): a symbolic Keras tensor must come straight from keras.Input(...); "
                "wrap the keras.Input and apply the layers to the chain instead."
            )
        network = Network("symbolic")
        own = None if has_automatic_name(layers[0]) else layers[0].name
        final = network.next_name("input", name or own, method="wrap")
        return Chain._start(network, value, final, "input", layers)
    try:
        tensor = value if tf.is_tensor(value) else tf.convert_to_tensor(value)
    except (TypeError, ValueError) as err:
        raise ChainError(
            f"wrap(): cannot make a tensor of {type(value).__name__} {value!r}: {err}"
        ) from err
    network = Network("eager" if tf.executing_eagerly() else "graph")
    final = network.next_name("input", name, method="wrap")
    return Chain._start(network, tensor, final, "wrap", ())


def model(outputs: Chain | Sequence[Chain], name: str | None = None) -> keras.Model:
    """A functional ``keras.Model`` with one or several outputs.

    Examples:
        >>> import chainnet as cn
        >>> x = cn.input((4,))
        >>> m = cn.model([x.fully_connected(2), x.fully_connected(3)])
        >>> [tuple(o.shape) for o in m.outputs]
        [(None, 2), (None, 3)]
    """
    chains = [outputs] if isinstance(outputs, Chain) else list(outputs)
    if not chains or not all(isinstance(c, Chain) for c in chains):
        raise ChainError(f"model(): outputs must be chains, got {outputs!r}")
    network = chains[0].network
    for other in chains[1:]:
        network = network.merge(other.network)
    return network.build_model(chains, name)
