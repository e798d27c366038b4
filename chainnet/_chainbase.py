"""The chain base class: an immutable step of a network, and how a step is recorded.

:class:`ChainBase` holds what every chain has (its tensor, network, name, layers, parents)
and :meth:`ChainBase._extend`, which applies what a method body returned and records the
step. The public :class:`chainnet.Chain` adds the method families on top of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

import keras
import numpy as np
import tensorflow as tf

from chainnet._diagram import repr_html
from chainnet._errors import ChainError, call_site
from chainnet._journal import rename_layer
from chainnet._network import Network, Node, step_stem
from chainnet._operators import Operators
from chainnet._specs import METHODS

__all__ = ["ChainBase", "Lowering", "View"]


@dataclasses.dataclass(frozen=True)
class View:
    """What ``with_defaults`` / ``with_name`` attach to a chain: a defaults scope its method
    calls run in (carried to the chains they return), and a name for its next step."""

    scope: Any = None  # a chainnet._defaults.DefaultsScope
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class Lowering:
    """What a chain method builds: layers applied in order to the chain's tensor.

    ``others`` are further chains passed with the chain's tensor to the first layer
    (for layers that merge several inputs); ``node_name`` overrides the step's name.
    With ``positional=True`` the first layer is called as ``layer(x, *others)``
    (``MultiHeadAttention(query, value)``) instead of on the list ``[x, *others]``;
    ``call_kwargs`` are further keywords of that call, where chains (an attention mask)
    pass their tensors and become parents of the step too.
    """

    layers: tuple[keras.layers.Layer, ...]
    others: tuple[ChainBase, ...] = ()
    node_name: str | None = None
    positional: bool = False
    call_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class ChainBase(Operators):
    """An immutable step of a network: its output tensor, the layer(s) that made it, its parents.

    Every method returns a new chain, so any point can be kept, branched from and reused.
    """

    __slots__ = ("_layers", "_network", "_node", "_tensor", "_view")

    _tensor: Any
    _network: Network
    _node: Node
    _layers: tuple[keras.layers.Layer, ...]
    _view: View | None

    def __init__(
        self,
        tensor: Any,
        network: Network,
        node: Node,
        layers: tuple[keras.layers.Layer, ...],
    ) -> None:
        set_slot = object.__setattr__  # chains are immutable: __setattr__ refuses
        set_slot(self, "_tensor", tensor)
        set_slot(self, "_network", network)
        set_slot(self, "_node", node)
        set_slot(self, "_layers", layers)
        set_slot(self, "_view", None)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Network.use_chain_class(cls)  # networks make chains of the most derived class

    def __setattr__(self, key: str, value: Any) -> NoReturn:
        raise AttributeError(f"chains are immutable: cannot set {key!r}")

    def __delattr__(self, key: str) -> NoReturn:
        raise AttributeError(f"chains are immutable: cannot delete {key!r}")

    def _viewed(self, view: View | None) -> Any:
        """This step seen through ``view`` (``None``: the plain chain); the network keeps
        the plain chain."""
        if view == self._view:
            return self
        chain = type(self)(self._tensor, self._network, self._node, self._layers)
        object.__setattr__(chain, "_view", view)
        return chain

    def _apply_operator(self, method: str, args: tuple[Any, ...]) -> Any:
        return getattr(self, method)(*args)

    def _extend(self, method: str, name: str, result: Any) -> Any:
        """Applies what a method body returned and records the new step."""
        if isinstance(result, ChainBase):
            return result
        if _is_chain_tuple(result):  # a step that gives several chains (split, heads)
            return result
        if isinstance(result, Lowering):
            lowering = result
        elif isinstance(result, keras.layers.Layer):
            lowering = Lowering((result,))
        elif isinstance(result, (list, tuple)) and result:
            lowering = Lowering(tuple(result))
        else:
            lowering = Lowering(())
        if not lowering.layers or not all(
            isinstance(x, keras.layers.Layer) for x in lowering.layers
        ):
            raise TypeError(
                f"{method}() must return a Keras layer, a list of layers or a chain; got {result!r}"
            )
        node_name = lowering.node_name or name
        first = lowering.layers[0]
        # the step's layer takes the step's name (Keras builds weightless layers at once)
        if (
            lowering.node_name is None
            and first.name != node_name
            and (not first.built or not first.weights)
        ):
            rename_layer(first, node_name)
        network = self.network
        kwarg_chains = [v for v in lowering.call_kwargs.values() if isinstance(v, ChainBase)]
        call_kwargs = {
            k: v._tensor if isinstance(v, ChainBase) else v for k, v in lowering.call_kwargs.items()
        }
        tensors = [self._tensor, *(o._tensor for o in lowering.others)]
        if lowering.positional:
            args: tuple[Any, ...] = tuple(tensors)
        else:
            args = (tensors if lowering.others else self._tensor,)
        x: Any = first(*args, **call_kwargs)
        outputs = [x]
        for layer in lowering.layers[1:]:
            x = layer(x)
            outputs.append(x)
        # one parent per input, in order (self-attention has its chain twice, as join([x, x]))
        parents = (
            self._node,
            *(o._node for o in lowering.others),
            *(c._node for c in kwarg_chains),
        )
        stem, base = step_stem(node_name)
        node = Node(
            node_name, method, lowering.layers, tuple(outputs), parents, call_site(), stem, base
        )
        chain = type(self)(x, network, node, lowering.layers)
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
        """The step's name, unique in its network (a merge may have renamed it)."""
        return self._node.name

    @property
    def method(self) -> str:
        """The method that made this step (``"conv2d"``, ``"input"``, ...)."""
        return self._node.method

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
    def parents(self) -> tuple[Any, ...]:
        """The chains this step was applied to."""
        network = self.network
        return tuple(network[parent.name] for parent in self._node.parent_nodes)

    @property
    def parent(self) -> Any:
        """The chain this step was applied to (the first, for a merge); ``None`` for an input."""
        parents = self.parents
        return parents[0] if parents else None

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

    def summary(self, print_fn: Any = print, *, expand: bool = False) -> None:
        """Prints every layer this chain depends on: name, method, output shape, parameters;
        ``expand=True`` lists the layers inside model steps too, by path."""
        self.network.summary([self], print_fn=print_fn, expand=expand)

    def diagram(self, *, expand: bool = False) -> str:
        """An SVG picture (text) of the network this chain belongs to: a box per step with its
        name, method and output shape, an arrow per input; ``expand=True`` shows the inner
        layers of steps that are Keras models. See :meth:`Network.diagram`.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((4,), name="x")
            >>> y = x.fully_connected(4, name="fc") + x
            >>> svg = y.diagram()
            >>> svg.count('class="box"'), svg.count('class="edge"')
            (3, 3)
        """
        return self.network.diagram(expand=expand)

    def _repr_html_(self) -> str:
        """The notebook view: the summary table of the steps this chain depends on and their
        diagram."""
        network = self.network
        needed = set(network.ancestors([self.name]))
        nodes = [node for node in network.nodes if node.name in needed]
        return repr_html(nodes, f"Chain {self.name!r}: {self.method}, shape {self.shape}")

    def numpy(self) -> np.ndarray:
        """The value of an eager chain as a NumPy array."""
        if isinstance(self._tensor, keras.KerasTensor) or not tf.executing_eagerly():
            raise ChainError(
                f"numpy(): chain {self.name!r} is symbolic and has no value; use "
                "network.activations(inputs, names) or model().predict(inputs)."
            )
        return np.asarray(self._tensor)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self.numpy()
        return array.astype(dtype) if dtype is not None else array

    def __tf_tensor__(self, dtype: Any = None, name: Any = None) -> tf.Tensor:
        if isinstance(self._tensor, keras.KerasTensor):
            raise TypeError(
                f"chain {self.name!r} is symbolic (a KerasTensor); TensorFlow functions can't "
                "take it. Use chain.apply(fn) to run TensorFlow code inside the network."
            )
        return tf.convert_to_tensor(self._tensor, dtype=dtype, name=name)

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("chains are not iterable; index them (chain[:, 0]) instead")

    def __repr__(self) -> str:
        return f"<Chain {self.name!r} {self.method} shape={self.shape} dtype={self.dtype}>"


METHODS.reserve("Chain", (name for name in dir(ChainBase) if not name.startswith("_")))


def _is_chain_tuple(result: Any) -> bool:
    """Whether a method body returned a tuple of chains (``None`` allowed for absent items;
    items may be tuples of chains too, as a recurrent cell's ``(output, (c, h))``)."""
    return (
        isinstance(result, tuple)
        and any(isinstance(r, ChainBase) or _is_chain_tuple(r) for r in result)
        and all(r is None or isinstance(r, ChainBase) or _is_chain_tuple(r) for r in result)
    )
