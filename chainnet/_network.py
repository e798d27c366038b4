"""The network a chain belongs to: unique step names, every node, handles on weights.

A network is the registry behind a family of chains. Chains are immutable; the network
only grows. Chains started separately (two ``cn.input`` calls, two ``cn.wrap``) combine by
merging their networks when a step first uses both; automatic names that clash are renamed
as if one network had built them all, and chains report their new names.

This module is the core's naming service: every step name is chosen by
:meth:`Network.next_name`. Networks make chains through one hook, the chain class that
:mod:`chainnet._chain` installs with :meth:`Network.use_chain_class`.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

import keras
import numpy as np

from chainnet._errors import (
    ChainError,
    ChainTypeError,
    add_note,
    call_site,
    did_you_mean,
    is_own_error,
)
from chainnet._journal import on_failure, rename_layer
from chainnet._naming import check_name, free_stem
from chainnet._node import Node
from chainnet._summary import summary_text

__all__ = ["Network", "Node", "naming_step", "tensor_layer", "variable_path"]

Kind = Literal["symbolic", "eager", "graph"]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _StepNaming:
    """The automatic name the running step chose (its stem and base), if it chose one."""

    __slots__ = ("base", "stem")

    def __init__(self) -> None:
        self.base: str | None = None
        self.stem: str | None = None


_STEP: contextvars.ContextVar[_StepNaming | None] = contextvars.ContextVar(
    "chainnet_step_naming", default=None
)


@contextlib.contextmanager
def naming_step() -> Iterator[None]:
    """Opens a step: the nodes it adds record the automatic name it chose (see :class:`Node`)."""
    token = _STEP.set(_StepNaming())
    try:
        yield
    finally:
        _STEP.reset(token)


def step_stem(name: str) -> tuple[str | None, str | None]:
    """``(stem, base)`` for a node named ``name`` in the running step: the step's automatic
    name if ``name`` derives from it, else ``(None, None)`` (a name the user chose)."""
    step = _STEP.get()
    if step is None or step.stem is None or not name.startswith(step.stem):
        return None, None
    return step.stem, step.base


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

    # the class of the chains networks make (the public Chain), installed by chainnet._chain
    _chain_class: ClassVar[Callable[..., Any] | None] = None

    def __init__(self, kind: Kind = "symbolic") -> None:
        self._kind: Kind = kind
        self._nodes: dict[str, Node] = {}
        self._chains: dict[str, Any] = {}
        self._layers: dict[str, keras.layers.Layer] = {}
        self._tensors: dict[str, Any] = {}
        self._owner: dict[str, str] = {}  # layer or node name -> node name
        self._inputs: list[str] = []
        self._merged_into: Network | None = None
        self._renames: dict[str, str] = {}  # names renamed when merged into _merged_into
        # activations() models by requested names, with the step names of their inputs
        self._models: dict[tuple[str, ...], tuple[keras.Model, list[str]]] = {}

    @classmethod
    def use_chain_class(cls, chain_class: Callable[..., Any]) -> None:
        """The hook through which networks make chains: ``chain_class(tensor, network, name,
        method, layers, parents)``."""
        cls._chain_class = chain_class

    @classmethod
    def chain_class(cls) -> Any:
        """The class of the chains networks make (the public :class:`chainnet.Chain`)."""
        if cls._chain_class is None:  # pragma: no cover - installed by `import chainnet`
            raise RuntimeError("chainnet's chain class is not installed")
        return cls._chain_class

    # ----------------------------------------------------------------- identity
    def root(self) -> Network:
        """The network this one was merged into (itself if never merged)."""
        net = self
        while net._merged_into is not None:
            net = net._merged_into
        return net

    def resolve(self, name: str) -> str:
        """What ``name`` (a name in this network) is called in the root network now."""
        net = self
        while net._merged_into is not None:
            name = net._renames.get(name, name)
            net = net._merged_into
        return name

    @property
    def kind(self) -> Kind:
        """``"symbolic"`` (from ``cn.input``), ``"eager"`` or ``"graph"`` (inside tf.function)."""
        return self._kind

    def __repr__(self) -> str:
        return f"<Network {self._kind} with {len(self._nodes)} nodes: {list(self._nodes)}>"

    # ----------------------------------------------------------------- naming service
    def _where(self, name: str) -> str:
        node = self._nodes[self._owner[name]]
        return f"{node.method}() at {node.call_site}"

    def next_name(
        self, base: str, explicit: str | None, *, method: str, suffixes: Sequence[str] = ("",)
    ) -> str:
        """The name the next step gets: ``explicit`` (checked), or the first free one of
        ``base``, ``base_1``, ... ``suffixes`` are names the step derives from its own (a
        head's ``"_loss"``): they must be free too. A name is taken only once its step is
        added, so a step that fails to build leaves no gap.

        Inside a step, an automatic name is recorded as the step's stem (see :class:`Node`).
        """
        if explicit is not None:
            check_name(explicit, method)
            for suffix in suffixes:
                if explicit + suffix in self._owner:
                    taken = explicit + suffix
                    raise ChainError(
                        f"{method}(): duplicate name {taken!r} at {call_site()}: it is already "
                        f"used by {self._where(taken)}. Names must be unique within a network."
                    )
            return explicit
        stem = free_stem(base, self._owner, suffixes)
        step = _STEP.get()
        if step is not None:
            step.base, step.stem = base, stem
        return stem

    # ----------------------------------------------------------------- building
    @contextlib.contextmanager
    def building(self, method: str, name: str, chain: Any) -> Iterator[None]:
        """Reports an error raised while building a step in the step's context.

        A :class:`ChainError` passes as it is (its message says what was wrong). A
        ``ValueError`` or ``TypeError`` (a check of chainnet's, Keras' or TensorFlow's on the
        user's input) and any error from outside chainnet (the user's own function given to
        ``apply``) is a user mistake: it becomes a :class:`ChainError` that names the method,
        the layer and the input. Any other error from chainnet's own code is a bug: it
        propagates as itself, with the step added as a note.
        """
        try:
            yield
        except Exception as err:
            context = (
                f"{method}() at layer {name!r} (input {chain.name!r} of shape {chain.shape}, "
                f"dtype {chain.dtype})"
            )
            if isinstance(err, ChainError):
                raise  # chainnet's own message for a user mistake: it says what was wrong
            if is_own_error(err):
                add_note(err, f"while building {context}")
                raise
            text = _ANSI.sub("", str(err)).strip()
            if "tf.Variable" in text and "first call" in text:
                text = (
                    "layers with variables (weights, or the random-seed state of dropout) "
                    "cannot be created inside a tf.function. Build the network once outside "
                    "(cn.input(...) ... .model(), or a cn.template) and call it inside the "
                    "tf.function."
                )
            error_class = ChainTypeError if isinstance(err, TypeError) else ChainError
            raise error_class(f"{context}: {type(err).__name__}: {text}") from err

    def add_node(self, node: Node, chain: Any) -> None:
        """Records a step; every layer name it brings must be new (or the same layer).

        Undone if the running step fails."""
        for layer in node.layers:
            known = self._layers.get(layer.name)
            if known is not None and known is not layer:
                raise ChainError(
                    f"{node.method}(): layer name {layer.name!r} at {node.call_site} is already "
                    f"used by {self._where(layer.name)}."
                )
        added = _Additions()
        added.put(self._nodes, node.name, node)
        added.put(self._chains, node.name, chain)
        added.put(self._owner, node.name, node.name)
        added.put(self._tensors, node.name, node.output)
        for layer, output in zip(node.layers, node.outputs):
            if layer.name not in self._layers:
                added.put(self._layers, layer.name, layer)
                added.put(self._owner, layer.name, node.name)
                added.put(self._tensors, layer.name, output)
        inputs_before = len(self._inputs)
        if node.method == "input":
            self._inputs.append(node.name)

        def undo() -> None:
            added.undo()
            del self._inputs[inputs_before:]
            self._models.clear()

        on_failure(undo)

    def start(
        self, tensor: Any, name: str, method: str, layers: tuple[keras.layers.Layer, ...] = ()
    ) -> Any:
        """A chain with no parents (an input, wrapped data) as a new step of this network."""
        chain = Network.chain_class()(tensor, self, name, method, layers, ())
        stem, base = step_stem(name)
        self.add_node(Node(name, method, layers, (tensor,), (), call_site(), stem, base), chain)
        return chain

    # ----------------------------------------------------------------- merging
    def absorb(self, other: Network) -> Network:
        """Merges ``other``'s network into this one's; returns the merged root.

        Automatic names of ``other`` that clash are renamed (the first free ``base_N``, with
        every name derived from them), as if one network had built both; names the user
        chose that clash are an error naming both places. Undone if the running step fails.
        """
        a, b = self.root(), other.root()
        if a is b:
            return a
        if a._kind != b._kind:
            raise ChainError(
                f"cannot combine a {a._kind} chain with a {b._kind} chain: start both from "
                "cn.input (symbolic) or both from cn.wrap of data (eager)."
            )
        renames = a._merge_plan(b)
        layer_renames = {  # a layer both networks hold (a shared template) keeps its name
            name: renames[name]
            for name, layer in b._layers.items()
            if name in renames and a._layers.get(name) is not layer
        }
        for name, new in layer_renames.items():
            rename_layer(b._layers[name], new)
            if isinstance(b._layers[name], keras.layers.InputLayer):
                rename_layer(b._tensors[name], new)  # the keras.Input tensor

        def rn(name: str) -> str:
            return renames.get(name, name)

        added = _Additions()
        for node in b._nodes.values():
            moved = dataclasses.replace(
                node,
                name=rn(node.name),
                parents=tuple(rn(p) for p in node.parents),
                stem=None if node.stem is None else rn(node.stem),
            )
            added.put(a._nodes, moved.name, moved)
            added.put(a._chains, moved.name, b._chains[node.name])
        for key, layer in b._layers.items():
            added.put(a._layers, layer_renames.get(key, key), layer)
        for key, owner in b._owner.items():
            added.put(a._owner, rn(key), rn(owner))
        for key, tensor in b._tensors.items():
            added.put(a._tensors, rn(key), tensor)
        inputs_before = len(a._inputs)
        a._inputs.extend(rn(n) for n in b._inputs)
        a._models.clear()
        b._merged_into, b._renames = a, renames

        def undo() -> None:
            added.undo()
            del a._inputs[inputs_before:]
            a._models.clear()
            b._merged_into, b._renames = None, {}

        on_failure(undo)
        return a

    def _merge_plan(self, other: Network) -> dict[str, str]:
        """The names of ``other`` to rename so that it can merge into this network."""
        occupied = set(self._owner)
        groups: dict[str, list[Node]] = {}
        for node in other._nodes.values():
            if node.stem is not None:
                groups.setdefault(node.stem, []).append(node)
                continue
            for name in other._names_of(node, self):
                if name in occupied:
                    raise ChainError(
                        f"cannot combine two networks that both use the name {name!r}, which "
                        f"you chose: {self._where(name)} and {other._where(name)}. Give one "
                        "of them another name=."
                    )
                occupied.add(name)
        renames: dict[str, str] = {}
        for stem, nodes in groups.items():
            names = [name for node in nodes for name in other._names_of(node, self)]
            suffixes = [name[len(stem) :] for name in names if name.startswith(stem)]
            for name in names:
                if not name.startswith(stem):  # a layer the step did not name: it keeps its name
                    if name in occupied:
                        raise ChainError(
                            f"cannot combine two networks that both use the layer name "
                            f"{name!r}: {self._where(name)} and {other._where(name)}."
                        )
                    occupied.add(name)
            new = stem
            if any(stem + suffix in occupied for suffix in suffixes):
                new = free_stem(nodes[0].base or stem, occupied, suffixes)
                renames.update({stem + suffix: new + suffix for suffix in suffixes})
            occupied.update(new + suffix for suffix in suffixes)
        return renames

    def _names_of(self, node: Node, other: Network) -> list[str]:
        """The node's name and the names of the layers it brought into this network, except
        layers that ``other`` holds too (the same object: a shared layer keeps its name)."""
        names = [node.name]
        for layer in node.layers:
            if layer.name == node.name or self._owner.get(layer.name) != node.name:
                continue
            if other._layers.get(layer.name) is not layer:
                names.append(layer.name)
        return names

    # ----------------------------------------------------------------- inputs
    def input(
        self,
        shape: Sequence[int | None],
        *,
        dtype: str = "float32",
        name: str | None = None,
        batch_size: int | None = None,
        sparse: bool = False,
    ) -> Any:
        """Starts another symbolic input in this network (for multi-input models).

        Examples:
            >>> import chainnet as cn
            >>> image = cn.input((28, 28, 1), name="image")
            >>> meta = image.network.input((3,), name="meta")
            >>> meta.network is image.network
            True
        """
        if self._kind != "symbolic":
            raise ChainError(f"input(): this network is {self._kind}; inputs are symbolic.")
        with naming_step():
            final = self.next_name("input", name, method="input")
            try:
                tensor = keras.Input(
                    shape=tuple(shape),
                    batch_size=batch_size,
                    dtype=dtype,
                    name=final,
                    sparse=sparse,
                )
            except Exception as err:
                raise ChainError(
                    f"input(): could not make an input of shape {shape!r} and dtype {dtype!r}: "
                    f"{err}"
                ) from err
            return self.start(tensor, final, "input", tensor_layer(tensor))

    @property
    def inputs(self) -> list[Any]:
        """The symbolic inputs, in creation order."""
        return [self._chains[n] for n in self._inputs]

    # ----------------------------------------------------------------- handles
    @property
    def nodes(self) -> list[Node]:
        """Every step, in the order it was built."""
        return list(self._nodes.values())

    def __getitem__(self, name: str) -> Any:
        """The chain produced by the step named ``name``."""
        return self._chains[self._resolve_node(name, "network[...]")]

    def __contains__(self, name: object) -> bool:
        return name in self._owner

    def _resolve_node(self, name: str, where: str) -> str:
        if name not in self._owner:
            raise KeyError(self._missing(name, where))
        return self._owner[name]

    def _missing(self, name: str, where: str) -> str:
        hint = did_you_mean(name, self._owner)
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
            hint = did_you_mean(path, variables)
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
        if not isinstance(weights, Mapping):
            raise ChainTypeError(
                f"set_weights({name!r}): weights must be a dict by short name "
                f"({{'kernel': ..., 'bias': ...}}), got {type(weights).__name__}."
            )
        layer = self.layer(name)
        by_name = {variable_path(layer, v).split("/", 1)[1]: v for v in layer.weights}
        unknown = sorted(set(weights) - set(by_name))
        if unknown:
            raise KeyError(
                f"set_weights({name!r}): unknown weight(s) {unknown}; the layer has "
                f"{sorted(by_name)}."
            )
        arrays: dict[str, np.ndarray] = {}
        for key, value in weights.items():  # every check first: all weights or none
            variable = by_name[key]
            try:
                array = np.asarray(value).astype(keras.backend.standardize_dtype(variable.dtype))
            except (TypeError, ValueError) as err:
                raise ChainError(
                    f"set_weights({name!r}): weight {key!r} needs numbers of dtype "
                    f"{variable.dtype}, got {type(value).__name__}: {err}"
                ) from err
            expected = tuple(variable.shape)
            if tuple(array.shape) != expected:
                raise ChainError(
                    f"set_weights({name!r}): weight {key!r} expects shape {expected}, "
                    f"got {tuple(array.shape)}."
                )
            arrays[key] = array
        for key, array in arrays.items():
            by_name[key].assign(array)

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

    def build_model(self, outputs: Sequence[Any], name: str | None = None) -> keras.Model:
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

    def summary(self, outputs: Sequence[Any] | None = None, print_fn: Any = print) -> None:
        """Prints a table of every layer: name, method, output shape, parameters; totals."""
        names = self.ancestors([c.name for c in outputs]) if outputs else list(self._nodes)
        print_fn(summary_text([self._nodes[n] for n in names]))


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


class _Additions:
    """Keys put into a network's tables by one change, to take out again if a step fails."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: list[tuple[dict[str, Any], str]] = []

    def put(self, table: dict[str, Any], key: str, value: Any) -> None:
        if key not in table:
            table[key] = value
            self._keys.append((table, key))

    def undo(self) -> None:
        for table, key in reversed(self._keys):
            del table[key]
