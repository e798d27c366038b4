"""The network a chain belongs to: unique layer names, every node, handles on weights.

A network is the registry behind a family of chains. Chains are immutable; the network
only grows. Chains built from two networks (two ``cn.input`` calls combined with ``+``)
merge them into one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import keras
import numpy as np

from chainnet._errors import ChainError, call_site

if TYPE_CHECKING:
    from chainnet._chain import Chain

__all__ = ["Network", "Node"]

Kind = Literal["symbolic", "eager", "graph"]
_VALID_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclasses.dataclass(frozen=True)
class Node:
    """One chain step: the layers it applied, their outputs, where it was written."""

    name: str
    method: str
    layers: tuple[keras.layers.Layer, ...]
    outputs: tuple[Any, ...]
    parents: tuple[str, ...]
    call_site: str

    @property
    def output(self) -> Any:
        return self.outputs[-1]


class Network:
    """Every step of a family of chains, by name.

    Reach it from any chain as ``chain.network``. Names are unique within a network and
    the same code always gives the same names.

    Examples:
        >>> import chainnet as cn
        >>> y = cn.input((4,), name="x").fully_connected(3, name="fc")
        >>> [v for v in y.network.variables]
        ['fc/kernel', 'fc/bias']
    """

    def __init__(self, kind: Kind = "symbolic") -> None:
        self._kind: Kind = kind
        self._nodes: dict[str, Node] = {}
        self._chains: dict[str, Chain] = {}
        self._layers: dict[str, keras.layers.Layer] = {}
        self._tensors: dict[str, Any] = {}
        self._owner: dict[str, str] = {}  # layer or node name -> node name
        self._inputs: list[str] = []
        self._merged_into: Network | None = None
        # activations() models by requested names, with the step names of their inputs
        self._models: dict[tuple[str, ...], tuple[keras.Model, list[str]]] = {}

    # ----------------------------------------------------------------- identity
    def root(self) -> Network:
        """The network this one was merged into (itself if never merged)."""
        net = self
        while net._merged_into is not None:
            net = net._merged_into
        return net

    @property
    def kind(self) -> Kind:
        """``"symbolic"`` (from ``cn.input``), ``"eager"`` or ``"graph"`` (inside tf.function)."""
        return self._kind

    def __repr__(self) -> str:
        return f"<Network {self._kind} with {len(self._nodes)} nodes: {list(self._nodes)}>"

    # ----------------------------------------------------------------- naming
    def _where(self, name: str) -> str:
        node = self._nodes[self._owner[name]]
        return f"{node.method}() at {node.call_site}"

    def next_name(self, base: str, explicit: str | None, *, method: str) -> str:
        """The name the next step gets: ``explicit`` (checked), or the first free one of
        ``base``, ``base_1``, ... A name is taken only once its step is added, so a step that
        fails to build leaves no gap."""
        if explicit is not None:
            if not isinstance(explicit, str) or not _VALID_NAME.match(explicit):
                raise ChainError(
                    f"{method}(): name must be a non-empty string of letters, digits, '_', '.' "
                    f"or '-', got {explicit!r}."
                )
            if explicit in self._owner:
                raise ChainError(
                    f"{method}(): duplicate name {explicit!r} at {call_site()}: it is already "
                    f"used by {self._where(explicit)}. Names must be unique within a network."
                )
            return explicit
        index = 0
        while True:
            candidate = base if index == 0 else f"{base}_{index}"
            if candidate not in self._owner:
                return candidate
            index += 1

    # ----------------------------------------------------------------- building
    @contextlib.contextmanager
    def building(self, method: str, name: str, chain: Chain) -> Iterator[None]:
        """Turns any error raised while building a step into a :class:`ChainError` in context."""
        try:
            yield
        except ChainError:
            raise
        except Exception as err:
            text = _ANSI.sub("", str(err)).strip()
            if "tf.Variable" in text and "first call" in text:
                text = (
                    "layers with variables (weights, or the random-seed state of dropout) "
                    "cannot be created inside a tf.function. Build the network once outside "
                    "(cn.input(...) ... .model(), or a cn.template) and call it inside the "
                    "tf.function."
                )
            raise ChainError(
                f"{method}() at layer {name!r} (input {chain.name!r} of shape {chain.shape}, "
                f"dtype {chain.dtype}): {type(err).__name__}: {text}"
            ) from err

    def add_node(self, node: Node, chain: Chain) -> None:
        """Records a step; every layer name it brings must be new (or the same layer)."""
        for layer in node.layers:
            known = self._layers.get(layer.name)
            if known is not None and known is not layer:
                raise ChainError(
                    f"{node.method}(): layer name {layer.name!r} at {node.call_site} is already "
                    f"used by {self._where(layer.name)}."
                )
        self._nodes[node.name] = node
        self._chains[node.name] = chain
        self._owner[node.name] = node.name
        self._tensors[node.name] = node.output
        for layer, output in zip(node.layers, node.outputs):
            if layer.name not in self._layers:
                self._layers[layer.name] = layer
                self._owner.setdefault(layer.name, node.name)
                self._tensors.setdefault(layer.name, output)
        if node.method == "input":
            self._inputs.append(node.name)

    def merge(self, other: Network) -> Network:
        """Merges ``other`` into this network (both roots); returns the merged root."""
        a, b = self.root(), other.root()
        if a is b:
            return a
        if a._kind != b._kind:
            raise ChainError(
                f"cannot combine a {a._kind} chain with a {b._kind} chain: start both from "
                "cn.input (symbolic) or both from cn.wrap of data (eager)."
            )
        clashes = sorted(set(a._owner) & set(b._owner))
        if clashes:
            first = clashes[0]
            raise ChainError(
                f"cannot combine chains of two networks that both use the name {first!r} "
                f"({a._where(first)} and {b._where(first)}; {len(clashes)} clash(es) in all: "
                f"{clashes[:5]}). Give the inputs and layers distinct name=, or start the "
                "second input in the same network: first.network.input(shape, name=...)."
            )
        a._nodes.update(b._nodes)
        a._chains.update(b._chains)
        a._layers.update(b._layers)
        a._tensors.update(b._tensors)
        a._owner.update(b._owner)
        a._inputs.extend(b._inputs)
        a._models.clear()
        b._merged_into = a
        return a

    # ----------------------------------------------------------------- inputs
    def input(
        self,
        shape: Sequence[int | None],
        *,
        dtype: str = "float32",
        name: str | None = None,
        batch_size: int | None = None,
        sparse: bool = False,
    ) -> Chain:
        """Starts another symbolic input in this network (for multi-input models).

        Examples:
            >>> import chainnet as cn
            >>> image = cn.input((28, 28, 1), name="image")
            >>> meta = image.network.input((3,), name="meta")
            >>> meta.network is image.network
            True
        """
        from chainnet._chain import Chain

        if self._kind != "symbolic":
            raise ChainError(f"input(): this network is {self._kind}; inputs are symbolic.")
        final = self.next_name("input", name, method="input")
        try:
            shape_tuple = tuple(shape)
            tensor = keras.Input(
                shape=shape_tuple, batch_size=batch_size, dtype=dtype, name=final, sparse=sparse
            )
        except Exception as err:
            raise ChainError(
                f"input(): could not make an input of shape {shape!r} and dtype {dtype!r}: {err}"
            ) from err
        return Chain._start(self, tensor, final, "input", tensor_layer(tensor))

    def adopt(self, value: Any, base: str, *, method: str) -> Chain:
        """``value`` (data, or a graph tensor inside ``tf.function``) as a new step of this eager
        or graph network, named ``base`` (or ``base_1``, ...): an operand for a chain method."""
        from chainnet._chain import wrap

        chain = wrap(value, name=self.next_name(base, None, method=method))
        self.merge(chain.network)
        return chain

    @property
    def inputs(self) -> list[Chain]:
        """The symbolic inputs, in creation order."""
        return [self._chains[n] for n in self._inputs]

    # ----------------------------------------------------------------- handles
    @property
    def nodes(self) -> list[Node]:
        """Every step, in the order it was built."""
        return list(self._nodes.values())

    def __getitem__(self, name: str) -> Chain:
        """The chain produced by the step named ``name``."""
        return self._chains[self._resolve_node(name, "network[...]")]

    def __contains__(self, name: object) -> bool:
        return name in self._owner

    def _resolve_node(self, name: str, where: str) -> str:
        if name not in self._owner:
            raise KeyError(self._missing(name, where))
        return self._owner[name]

    def _missing(self, name: str, where: str) -> str:
        import difflib

        close = difflib.get_close_matches(name, list(self._owner), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"{where}: no layer named {name!r} in this network.{hint} Names: {list(self._owner)}"

    def layer(self, name: str) -> keras.layers.Layer:
        """The Keras layer named ``name`` (for a step of several layers, its first layer)."""
        if name in self._layers:
            return self._layers[name]
        node = self._nodes[self._resolve_node(name, "layer()")]
        if not node.layers:
            raise KeyError(f"layer(): step {name!r} ({node.method}) has no layer.")
        return node.layers[0]

    @property
    def layers(self) -> list[keras.layers.Layer]:
        """Every Keras layer, in the order the chain built them."""
        return list(self._layers.values())

    @property
    def variables(self) -> dict[str, keras.Variable]:
        """Every variable by path: ``{"layer_conv1/kernel": Variable, ...}``."""
        found: dict[str, keras.Variable] = {}
        for layer in self._layers.values():
            for var in layer.weights:
                found.setdefault(variable_path(layer, var), var)
        return found

    def variable(self, path: str) -> keras.Variable:
        """One variable by its path, ``"layer_conv1/kernel"``."""
        variables = self.variables
        if path not in variables:
            import difflib

            close = difflib.get_close_matches(path, list(variables), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"variable(): no variable {path!r}.{hint} Paths: {list(variables)}")
        return variables[path]

    def get_weights(self, name: str) -> dict[str, np.ndarray]:
        """A layer's weights as NumPy arrays by short name: ``{"kernel": ..., "bias": ...}``.

        Examples:
            >>> import chainnet as cn
            >>> y = cn.input((28, 28, 1)).conv2d(5, 16, name="layer_conv1")
            >>> y.network.get_weights("layer_conv1")["kernel"].shape
            (5, 5, 1, 16)
        """
        layer = self.layer(name)
        return {
            variable_path(layer, v).split("/", 1)[1]: np.asarray(v.numpy()) for v in layer.weights
        }

    def set_weights(self, name: str, weights: Mapping[str, Any]) -> None:
        """Assigns a layer's weights by short name; every key and shape is checked first."""
        layer = self.layer(name)
        by_name = {variable_path(layer, v).split("/", 1)[1]: v for v in layer.weights}
        unknown = sorted(set(weights) - set(by_name))
        if unknown:
            raise KeyError(
                f"set_weights({name!r}): unknown weight(s) {unknown}; the layer has "
                f"{sorted(by_name)}."
            )
        arrays = {k: np.asarray(w) for k, w in weights.items()}
        for key, array in arrays.items():
            expected = tuple(by_name[key].shape)
            if tuple(array.shape) != expected:
                raise ChainError(
                    f"set_weights({name!r}): weight {key!r} expects shape {expected}, "
                    f"got {tuple(array.shape)}."
                )
        for key, array in arrays.items():
            by_name[key].assign(array.astype(by_name[key].dtype))

    # ----------------------------------------------------------------- models
    def ancestors(self, names: Sequence[str]) -> list[str]:
        """Every node the named nodes depend on, themselves included, in build order."""
        seen: set[str] = set()
        stack = [self._owner[n] for n in names]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(self._nodes[current].parents)
        return [n for n in self._nodes if n in seen]

    def _require_symbolic(self, what: str) -> None:
        if self._kind != "symbolic":
            raise ChainError(
                f"{what} needs a symbolic network started with cn.input(shape); this one "
                f"wraps {self._kind} tensors, whose values are already computed: read them "
                "with network[name].numpy()."
            )

    def build_model(self, outputs: Sequence[Chain], name: str | None = None) -> keras.Model:
        """A functional ``keras.Model`` from the inputs the outputs depend on to ``outputs``."""
        self._require_symbolic("model()")
        names = [c.name for c in outputs]
        needed = set(self.ancestors(names))
        inputs = [self._chains[n].tensor for n in self._inputs if n in needed]
        if not inputs:
            raise ChainError(f"model(): the outputs {names} depend on no cn.input.")
        tensors = [c.tensor for c in outputs]
        return keras.Model(
            inputs=inputs[0] if len(inputs) == 1 else inputs,
            outputs=tensors[0] if len(tensors) == 1 else tensors,
            name=name,
        )

    def activations(self, inputs: Any, names: str | Sequence[str], *, batch_size: int = 256) -> Any:
        """The outputs of the named layers for a batch, in one forward pass (inference mode).

        ``inputs`` is an array (one input), a list in input order, or a dict by input name.
        Returns one array for one name, else a dict ``{name: array}`` in the order asked.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> y = cn.input((4,)).fully_connected(3, name="fc1").fully_connected(2, name="fc2")
            >>> acts = y.network.activations(np.ones((5, 4)), ["fc1", "fc2"])
            >>> acts["fc1"].shape, acts["fc2"].shape
            ((5, 3), (5, 2))
        """
        self._require_symbolic("activations()")
        single = isinstance(names, str)
        wanted = [names] if isinstance(names, str) else list(names)
        for n in wanted:
            self._resolve_node(n, "activations()")
        key = tuple(wanted)
        if key not in self._models:
            needed = set(self.ancestors(wanted))
            in_names = [n for n in self._inputs if n in needed]
            model_inputs = [self._tensors[n] for n in in_names]
            model = keras.Model(model_inputs, [self._tensors[n] for n in wanted])
            self._models[key] = (model, in_names)
        model, in_names = self._models[key]
        feed = _arrange_inputs(inputs, in_names)
        count = len(feed[0])
        results: list[list[np.ndarray]] = [[] for _ in wanted]
        for start in range(0, count, batch_size):
            batch = [x[start : start + batch_size] for x in feed]
            out = model(batch, training=False)
            out = out if isinstance(out, (list, tuple)) else [out]
            for store, value in zip(results, out):
                store.append(np.asarray(value))
        arrays = [np.concatenate(parts, axis=0) for parts in results]
        return arrays[0] if single else dict(zip(wanted, arrays))

    def summary(self, outputs: Sequence[Chain] | None = None, print_fn: Any = print) -> None:
        """Prints a table of every layer: name, method, output shape, parameters; totals."""
        from chainnet._summary import summary_text

        print_fn(summary_text(self, outputs))


def tensor_layer(tensor: Any) -> tuple[keras.layers.Layer, ...]:
    """The InputLayer behind a ``keras.Input`` tensor (empty for any other tensor)."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return ()
    return (history[0],)


def variable_path(layer: keras.layers.Layer, var: keras.Variable) -> str:
    """``layer/var`` path of a variable, relative to the layer that owns it."""
    path = str(var.path)
    prefix = layer.name + "/"
    if path.startswith(prefix):
        return path
    if isinstance(layer, keras.Model):  # a nested model (a template): keep its inner paths
        return prefix + path
    tail = path.split("/", 1)[1] if "/" in path else path
    return prefix + tail


def _arrange_inputs(inputs: Any, names: list[str]) -> list[Any]:
    if isinstance(inputs, Mapping):
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ChainError(
                f"activations(): inputs dict lacks {missing}; the model needs inputs {names}."
            )
        arrays = [np.asarray(inputs[n]) for n in names]
    elif isinstance(inputs, (list, tuple)):
        if len(inputs) != len(names):
            raise ChainError(
                f"activations(): got {len(inputs)} input arrays, the model needs {len(names)}: "
                f"{names}."
            )
        arrays = [np.asarray(x) for x in inputs]
    else:
        if len(names) != 1:
            raise ChainError(
                f"activations(): the named layers depend on {len(names)} inputs {names}; pass "
                "a list or a dict of arrays."
            )
        arrays = [np.asarray(inputs)]
    lengths = {len(a) for a in arrays}
    if len(lengths) > 1:
        raise ChainError(f"activations(): input arrays have different lengths {sorted(lengths)}.")
    return arrays
