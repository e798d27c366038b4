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
import fnmatch
import functools
import re
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

import keras
import numpy as np

from chainnet._diagram import diagram_svg, repr_html
from chainnet._errors import (
    ChainError,
    ChainTypeError,
    add_note,
    call_site,
    did_you_mean,
    is_own_error,
)
from chainnet._inner import (
    find_inner,
    inner_layers,
    inner_variables,
    make_tap,
    rewire,
)
from chainnet._journal import on_failure, rename_layer
from chainnet._keras_compat import keras_history_layer
from chainnet._naming import check_name, free_index, free_stem, stem_at
from chainnet._node import Node
from chainnet._summary import summary_text
from chainnet._weights import WeightsReport, load_into

__all__ = ["Network", "Node", "naming_step", "step_stem", "tensor_layer", "variable_path"]

Kind = Literal["symbolic", "eager", "graph"]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _StepNaming:
    """The automatic name the running step chose (its stem and base), if it chose one; as a
    context manager (see :func:`naming_step`), the step it opens."""

    __slots__ = ("_token", "base", "stem")

    def __init__(self) -> None:
        self.base: str | None = None
        self.stem: str | None = None

    def __enter__(self) -> None:
        self._token = _STEP.set(self)

    def __exit__(self, *exc_info: object) -> None:
        _STEP.reset(self._token)


_STEP: contextvars.ContextVar[_StepNaming | None] = contextvars.ContextVar(
    "chainnet_step_naming", default=None
)


def naming_step() -> contextlib.AbstractContextManager[None]:
    """Opens a step: the nodes it adds record the automatic name it chose (see :class:`Node`)."""
    return _StepNaming()


def step_stem(name: str) -> tuple[str | None, str | None]:
    """``(stem, base)`` for a node named ``name`` in the running step: the step's automatic
    name if ``name`` derives from it, else ``(None, None)`` (a name the user chose)."""
    step = _STEP.get()
    if step is None or step.stem is None or not name.startswith(step.stem):
        return None, None
    return step.stem, step.base


def _on_root(method: Callable[..., Any]) -> Any:
    """Runs a public ``Network`` method on the network this one was merged into, so a handle
    kept from before a merge (``net = chain.network``) sees and grows the merged network."""

    @functools.wraps(method)
    def on_root(self: Network, *args: Any, **kwargs: Any) -> Any:
        return method(self.root(), *args, **kwargs)

    return on_root


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
        # activations() models by requested names, with the step names of their inputs
        self._models: dict[tuple[str, ...], tuple[keras.Model, list[str]]] = {}
        # next_name's (base, suffixes) -> an index below which every stem is taken: names only
        # grow, except when a step is undone or networks merge, which clear it
        self._taken_below: dict[tuple[str, tuple[str, ...]], int] = {}
        _NETWORKS.add(self)

    @classmethod
    def use_chain_class(cls, chain_class: Callable[..., Any]) -> None:
        """The hook through which networks make chains: ``chain_class(tensor, network, node,
        layers)``."""
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

    @property
    def kind(self) -> Kind:
        """``"symbolic"`` (from ``cn.input``), ``"eager"`` or ``"graph"`` (inside tf.function)."""
        return self._kind

    @_on_root
    def __repr__(self) -> str:
        return f"<Network {self._kind} with {len(self._nodes)} nodes: {list(self._nodes)}>"

    @_on_root
    def diagram(self, *, expand: bool = False) -> str:
        """An SVG picture (text) of every step: a box with its name, method and output shape,
        an arrow for every input. Steps that are Keras models (templates, ``apply_layer`` of a
        model) are one box, or their inner layers with ``expand=True``. No graphviz needed;
        :func:`chainnet.plot.network` draws the same as a matplotlib figure.

        Examples:
            >>> import chainnet as cn
            >>> y = cn.input((4,), name="x").fully_connected(3, name="fc")
            >>> svg = y.network.diagram()
            >>> svg.startswith("<svg"), svg.count('class="box"'), svg.count('class="edge"')
            (True, 2, 1)
        """
        return diagram_svg(list(self._nodes.values()), expand=expand)

    @_on_root
    def _repr_html_(self) -> str:
        """The notebook view: the summary table and the diagram."""
        return repr_html(list(self._nodes.values()), f"Network of {len(self._nodes)} steps")

    # ----------------------------------------------------------------- naming service
    def _where(self, name: str) -> str:
        node = self._nodes[self._owner[name]]
        return f"{node.method}() at {node.call_site}"

    @_on_root
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
        key = (base, tuple(suffixes))
        index = free_index(base, self._owner, suffixes, start=self._taken_below.get(key, 0))
        self._taken_below[key] = index
        stem = stem_at(base, index)
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

    @_on_root
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
        added = self._record(node, chain)

        def undo() -> None:
            added.undo()
            self._taken_below.clear()
            if node.method == "input":
                self._inputs.remove(node.name)
            self._models.clear()

        on_failure(undo)

    def _record(self, node: Node, chain: Any) -> _Additions:
        """Puts a node (and the layers it brings) into the tables."""
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
        if node.method == "input":
            self._inputs.append(node.name)
        return added

    @_on_root
    def start(
        self, tensor: Any, name: str, method: str, layers: tuple[keras.layers.Layer, ...] = ()
    ) -> Any:
        """A chain with no parents (an input, wrapped data) as a new step of this network."""
        stem, base = step_stem(name)
        node = Node(name, method, layers, (tensor,), (), call_site(), stem, base)
        chain = Network.chain_class()(tensor, self, node, layers)
        self.add_node(node, chain)
        return chain

    # ----------------------------------------------------------------- merging
    def absorb(self, other: Network) -> Network:
        """Merges ``other``'s network and this one's; returns the merged root.

        The merged network is what one network would be had the same code built both:
        its steps in the order they were made, and every automatic name chosen again in
        that order (the first free ``base``, ``base_1``, ... with every name derived from
        it), so clashing automatic names are renamed, in either network. Names the user chose
        that clash are an error naming both places. Undone if the running step fails.
        """
        a, b = self.root(), other.root()
        if a is b:
            return a
        if a._kind != b._kind:
            raise ChainError(
                f"cannot combine a {a._kind} chain with a {b._kind} chain: start both from "
                "cn.input (symbolic) or both from cn.wrap of data (eager)."
            )
        node_names, layer_names = _merge_plan(a, b)
        pairs = sorted(
            [
                *zip(a._nodes.values(), a._chains.values()),
                *zip(b._nodes.values(), b._chains.values()),
            ],
            key=lambda pair: pair[0].seq,
        )
        tables = (a._nodes, a._chains, a._layers, a._tensors, a._owner, a._inputs)
        for node, (name, stem) in node_names.items():
            old = (node.name, node.stem)
            node.name, node.stem = name, stem
            on_failure(functools.partial(_set_name, node, old))
        for layer, new in layer_names.items():
            if isinstance(layer, keras.layers.InputLayer):
                for tensor in tensor_outputs(layer):
                    rename_layer(tensor, new)  # the keras.Input tensor too
            rename_layer(layer, new)

        def undo() -> None:
            a._nodes, a._chains, a._layers, a._tensors, a._owner, a._inputs = tables
            a._models.clear()
            a._taken_below.clear()
            b._taken_below.clear()
            b._merged_into = None

        on_failure(undo)
        a._nodes, a._chains, a._layers, a._tensors, a._owner, a._inputs = {}, {}, {}, {}, {}, []
        for node, chain in pairs:  # the merged network, in creation order
            a._record(node, chain)
        a._models.clear()
        a._taken_below.clear()
        b._taken_below.clear()
        b._merged_into = a
        return a

    # ----------------------------------------------------------------- inputs
    @_on_root
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
    @_on_root
    def inputs(self) -> list[Any]:
        """The symbolic inputs, in creation order."""
        return [self._chains[n] for n in self._inputs]

    # ----------------------------------------------------------------- handles
    @property
    @_on_root
    def nodes(self) -> list[Node]:
        """Every step, in the order it was built."""
        return list(self._nodes.values())

    @_on_root
    def __getitem__(self, name: str) -> Any:
        """The chain produced by the step named ``name``; for a path inside a model step
        (``"backbone/block_6_expand_relu"``), a *cut*: a chain whose tensor is that inner
        output, wired to the network's inputs and sharing the model's weights.

        Examples:
            >>> import keras, chainnet as cn
            >>> inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="hidden"),
            ...                           keras.layers.Dense(2, name="out")], name="mlp")
            >>> net = cn.input((4,)).apply_layer(inner).network
            >>> net["mlp/hidden"].fully_connected(3).shape
            (None, 3)
        """
        if isinstance(name, str) and name not in self._owner and "/" in name:
            return self._cut(name)
        return self._chains[self._resolve_node(name, "network[...]")]

    def _model_step(self, path: str, where: str) -> tuple[Node, keras.Model, str]:
        """``(node, model, inner path)`` for a path into a model step: its first part names a
        step (or its model), the rest a layer inside."""
        head, rest = path.split("/", 1)
        if head not in self._owner:
            raise KeyError(self._missing(path, where))
        node = self._nodes[self._owner[head]]
        model = self._layers.get(head) or (node.layers[0] if node.layers else None)
        if not isinstance(model, keras.Model):
            kind = type(model).__name__ if model is not None else "no layer"
            raise KeyError(
                f"{where}: {path!r}: step {head!r} is a {kind}, not a keras.Model or template, "
                "so it has no inner layers to reach by path."
            )
        find_inner(model, rest.split("/"), path, where)
        return node, model, rest

    @staticmethod
    def _call_inputs(node: Node) -> Any:
        """What a step's (first) layer was called on: its parent's tensor, or the list."""
        tensors = [parent.output for parent in node.parent_nodes]
        return tensors[0] if len(tensors) == 1 else tensors

    def _tap_outputs(
        self, node: Node, model: keras.Model, rests: list[str], where: str
    ) -> list[Any]:
        """The inner outputs at ``rests`` of the model of ``node``, wired to its input."""
        tap = make_tap(model, rests, where)
        flat = tap(self._call_inputs(node))
        flat = list(flat) if isinstance(flat, (list, tuple)) else [flat]
        return flat[len(model.outputs) :]

    def _cut(self, path: str) -> Any:
        self._require_symbolic("network[path]")
        node, model, rest = self._model_step(path, "network[...]")
        tensor = self._tap_outputs(node, model, [rest], "network[...]")[0]
        cut = Node(path, "cut", (), (tensor,), (node,), call_site())
        chain = Network.chain_class()(tensor, self, cut, ())
        self.add_node(cut, chain)
        return chain

    @_on_root
    def __contains__(self, name: object) -> bool:
        return name in self._owner

    def _resolve_node(self, name: str, where: str) -> str:
        if not isinstance(name, str):
            raise ChainTypeError(f"{where}: names are strings, got {type(name).__name__} {name!r}")
        if name not in self._owner:
            raise KeyError(self._missing(name, where))
        return self._owner[name]

    def _missing(self, name: str, where: str) -> str:
        hint = did_you_mean(name, self._owner)
        return f"{where}: no layer named {name!r} in this network.{hint} Names: {list(self._owner)}"

    @_on_root
    def layer(self, name: str) -> keras.layers.Layer:
        """The Keras layer named ``name`` (for a step of several layers, its first layer), or
        at a path inside a model step: ``"backbone/block_3_expand_relu"``."""
        if name in self._layers:
            return self._layers[name]
        if isinstance(name, str) and name not in self._owner and "/" in name:
            _, model, rest = self._model_step(name, "layer()")
            return find_inner(model, rest.split("/"), name, "layer()")
        node = self._nodes[self._resolve_node(name, "layer()")]
        if not node.layers:
            raise KeyError(f"layer(): step {name!r} ({node.method}) has no layer.")
        return node.layers[0]

    @property
    @_on_root
    def layers(self) -> list[keras.layers.Layer]:
        """Every Keras layer, in the order the chain built them."""
        return list(self._layers.values())

    @property
    @_on_root
    def variables(self) -> dict[str, keras.Variable]:
        """Every variable by path: ``{"layer_conv1/kernel": Variable, ...}``; those inside a
        model step by their inner path, ``"backbone/Conv1/kernel"``."""
        found: dict[str, keras.Variable] = {}
        for layer in self._layers.values():
            if isinstance(layer, keras.Model):
                for path, var in inner_variables(layer, layer.name).items():
                    found.setdefault(path, var)
                continue
            for var in layer.weights:
                found.setdefault(variable_path(layer, var), var)
        return found

    @_on_root
    def paths(self) -> dict[str, keras.layers.Layer]:
        """Every layer by path: the network's own, then those inside model steps
        (``"backbone/Conv1"``), a nested model before its layers."""
        found: dict[str, keras.layers.Layer] = {}
        for name, layer in self._layers.items():
            if isinstance(layer, keras.layers.InputLayer):
                continue
            found[name] = layer
            if isinstance(layer, keras.Model):
                found.update(inner_layers(layer, name))
        return found

    @_on_root
    def freeze(self, pattern: str) -> list[str]:
        """Makes the layers whose paths match the glob ``pattern`` non-trainable.

        ``"backbone/*"`` matches every layer inside ``backbone``; ``"backbone/block_16_*"``
        some of them. Returns the paths whose trainability changed. Keras reads trainability
        when a model is compiled: compile again after a change.

        Examples:
            >>> import keras, chainnet as cn
            >>> inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="a"),
            ...                           keras.layers.Dense(2, name="b")], name="mlp")
            >>> net = cn.input((4,)).apply_layer(inner).fully_connected(1, name="head").network
            >>> net.freeze("mlp/*")
            ['mlp/a', 'mlp/b']
            >>> net.unfreeze("mlp/b")
            ['mlp/b']
        """
        return self._set_trainable(pattern, False, "freeze")

    @_on_root
    def unfreeze(self, pattern: str) -> list[str]:
        """Makes the layers whose paths match the glob ``pattern`` trainable (and the models
        that hold them, so that Keras trains them); returns the paths that changed. Compile
        again after a change."""
        return self._set_trainable(pattern, True, "unfreeze")

    def _set_trainable(self, pattern: str, value: bool, where: str) -> list[str]:
        if not isinstance(pattern, str):
            raise ChainTypeError(
                f"{where}(): pattern must be a glob string such as 'backbone/*', got "
                f"{type(pattern).__name__} {pattern!r}"
            )
        layers = self.paths()
        matched = [p for p in layers if fnmatch.fnmatchcase(p, pattern)]
        if not matched:
            hint = did_you_mean(pattern, layers)
            raise KeyError(
                f"{where}({pattern!r}): no layer path matches.{hint} Paths: {list(layers)}"
            )
        before = {p: bool(layer.trainable) for p, layer in layers.items()}
        target = dict(before)
        for path in layers:
            if any(path == m or path.startswith(m + "/") for m in matched):
                target[path] = value
        if value:  # a model that holds a layer to train must be trainable too
            for path in matched:
                parts = path.split("/")
                for depth in range(1, len(parts)):
                    target["/".join(parts[:depth])] = True
        for path, layer in layers.items():  # a model before its layers: theirs win
            layer.trainable = target[path]
        return [p for p, layer in layers.items() if bool(layer.trainable) != before[p]]

    @_on_root
    def load_weights(
        self, source: Any, *, mapping: Any = None, strict: bool = True
    ) -> WeightsReport:
        """Assigns weights by name from ``source``; returns a report of what matched.

        ``source`` is a ``keras.Model``, a ``.keras`` or ``.weights.h5`` file, or a
        TensorFlow checkpoint (TF1 name-based, as PrettyTensor and TF-Slim saved them, or
        TF2 object-based). Source names map to this network's variable paths: TF1 names
        ``weights``/``biases`` to ``kernel``/``bias``, TF-Slim ``<scope>/BatchNorm/<name>``
        to ``<scope>_bn/<name>``; ``mapping`` (a dict, or a function of the source name
        returning a path or ``None`` to skip it) comes first. A source name that is no path
        here matches the one path that ends with it (a backbone's ``Conv1/kernel`` is
        ``backbone/Conv1/kernel``).

        ``strict=True`` raises :class:`ChainError` (and assigns nothing) if any variable is
        missing from the source or has another shape; ``strict=False`` assigns the matched
        ones. Either way the report lists ``matched``, ``missing``, ``unexpected`` and
        ``mismatched`` (with both shapes); ``print(report)`` shows it as a table.

        Examples:
            >>> import chainnet as cn
            >>> a = cn.input((4,)).fully_connected(3, name="fc")
            >>> b = cn.input((4,)).fully_connected(3, name="fc")
            >>> report = b.network.load_weights(a.model())
            >>> report.matched
            ['fc/kernel', 'fc/bias']
        """
        return load_into(
            self.variables, source, mapping=mapping, strict=strict, architecture=self._whole
        )

    def _whole(self) -> keras.Model:
        """The model of every output (every step no other step takes)."""
        taken = {p for node in self._nodes.values() for p in node.parents}
        return self.build_model([self._chains[n] for n in self._nodes if n not in taken])

    @_on_root
    def variable(self, path: str) -> keras.Variable:
        """One variable by its path, ``"layer_conv1/kernel"``."""
        variables = self.variables
        if path not in variables:
            hint = did_you_mean(path, variables)
            raise KeyError(f"variable(): no variable {path!r}.{hint} Paths: {list(variables)}")
        return variables[path]

    @_on_root
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

    @_on_root
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
    @_on_root
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

    @_on_root
    def build_model(self, outputs: Sequence[Any], name: str | None = None) -> keras.Model:
        """A functional ``keras.Model`` from the inputs the outputs depend on to ``outputs``."""
        self._require_symbolic("model()")
        names = [c.name for c in outputs]
        needed = set(self.ancestors(names))
        inputs = [self._chains[n].tensor for n in self._inputs if n in needed]
        if not inputs:
            raise ChainError(f"model(): the outputs {names} depend on no cn.input.")
        tensors = [c.tensor for c in outputs]
        model = keras.Model(
            inputs=inputs[0] if len(inputs) == 1 else inputs,
            outputs=tensors[0] if len(tensors) == 1 else tensors,
            name=name,
        )
        return rewire(model, "model()")  # cuts into model steps: one call each, so it saves

    @_on_root
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
        inner: dict[str, list[str]] = {}  # step -> paths inside its model
        for n in wanted:
            if isinstance(n, str) and n not in self._owner and "/" in n:
                node, _, _ = self._model_step(n, "activations()")
                inner.setdefault(node.name, []).append(n)
            else:
                self._resolve_node(n, "activations()")
        key = tuple(wanted)
        if key not in self._models:
            tensors = {n: self._tensors[n] for n in wanted if n in self._owner}
            for paths in inner.values():  # one tap per model step, for all its paths
                node, model, _ = self._model_step(paths[0], "activations()")
                rests = [self._model_step(p, "activations()")[2] for p in paths]
                tensors.update(zip(paths, self._tap_outputs(node, model, rests, "activations()")))
            needed = set(self.ancestors([n for n in wanted if n in self._owner] + list(inner)))
            in_names = [n for n in self._inputs if n in needed]
            model_inputs = [self._tensors[n] for n in in_names]
            model = keras.Model(model_inputs, [tensors[n] for n in wanted])
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

    @_on_root
    def summary(
        self,
        outputs: Sequence[Any] | None = None,
        print_fn: Any = print,
        *,
        expand: bool = False,
    ) -> None:
        """Prints a table of every layer: name, method, output shape, parameters; totals
        (trainable and non-trainable as Keras counts them). ``expand=True`` lists the layers
        inside model steps and templates too, by path (``backbone/Conv1``)."""
        names = self.ancestors([c.name for c in outputs]) if outputs else list(self._nodes)
        print_fn(summary_text([self._nodes[n] for n in names], expand=expand))


def tensor_layer(tensor: Any) -> tuple[keras.layers.Layer, ...]:
    """The InputLayer behind a ``keras.Input`` tensor (empty for any other tensor)."""
    layer = keras_history_layer(tensor)
    return () if layer is None else (layer,)


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


def _set_name(node: Node, name_and_stem: tuple[str, str | None]) -> None:
    node.name, node.stem = name_and_stem


def tensor_outputs(layer: keras.layers.Layer) -> list[Any]:
    """The ``keras.Input`` tensor of an ``InputLayer`` (its ``output``)."""
    try:
        return [layer.output]
    except (AttributeError, ValueError):  # pragma: no cover - no single output
        return []


# every live network (weakly): a merge may rename a layer only if no third network holds it
_NETWORKS: weakref.WeakSet[Network] = weakref.WeakSet()


def _held_elsewhere(*networks: Network) -> set[int]:
    """The ids of the layers that a root network other than ``networks`` holds."""
    return {
        id(layer)
        for network in list(_NETWORKS)
        if network._merged_into is None and network not in networks
        for layer in network._layers.values()
    }


def _merge_plan(
    a: Network, b: Network
) -> tuple[dict[Node, tuple[str, str | None]], dict[keras.layers.Layer, str]]:
    """The names to change so that ``a`` and ``b`` merge as one network would have been built:
    ``{node: (name, stem)}`` and ``{layer: name}``.

    Names the user chose are kept (two different objects under one chosen name are an
    error); then every automatic name is chosen again in creation order, as the first free
    name of its base.
    """
    home = {node: a for node in a._nodes.values()}
    home.update({node: b for node in b._nodes.values()})
    other = {a: b, b: a}

    def owned_layers(node: Node) -> list[keras.layers.Layer]:
        """The layers the node brought into its network, except those both networks hold."""
        net = home[node]
        return [
            layer
            for layer in node.layers
            if net._owner.get(layer.name) == node.name
            and other[net]._layers.get(layer.name) is not layer
        ]

    occupied: dict[str, Node] = {}
    groups: dict[tuple[int, str], list[Node]] = {}
    for node in sorted(home, key=lambda n: n.seq):
        if node.stem is not None:
            groups.setdefault((id(home[node]), node.stem), []).append(node)
            continue
        names = [node.name, *(layer.name for layer in owned_layers(node))]
        taken = [name for name in dict.fromkeys(names) if name in occupied]
        if taken:
            prior = occupied[taken[0]]
            if taken == [node.name] and node.layers and node.layers[0] in prior.layers:
                # the same layer applied in both networks: in one network, its second
                # application gets a new step name (apply_layer's rule), the layer keeps its own
                groups.setdefault((id(home[node]), node.name), []).append(node)
                continue
            raise ChainError(
                f"cannot combine two networks that both use the name {taken[0]!r}, which you "
                f"chose: {home[prior]._where(taken[0])} and {home[node]._where(taken[0])}. "
                "Give one of them another name=."
            )
        occupied.update(dict.fromkeys(names, node))
    node_names: dict[Node, tuple[str, str | None]] = {}
    layer_names: dict[keras.layers.Layer, str] = {}
    held_elsewhere: set[int] | None = None  # found once, when a layer is to be renamed
    for (_, stem), nodes in groups.items():
        layers = [layer for node in nodes for layer in owned_layers(node)]
        names = [node.name for node in nodes] + [layer.name for layer in layers]
        for name in names:
            if not name.startswith(stem):  # a layer the step did not name: it keeps its name
                if name in occupied:
                    raise ChainError(
                        f"cannot combine two networks that both use the layer name {name!r}: "
                        f"{a._where(name) if name in a else b._where(name)} and "
                        f"{b._where(name) if name in a else a._where(name)}."
                    )
                occupied[name] = nodes[0]
        suffixes = list(dict.fromkeys(name[len(stem) :] for name in names if name.startswith(stem)))
        new = free_stem(nodes[0].base or stem, occupied, suffixes)
        occupied.update(dict.fromkeys((new + suffix for suffix in suffixes), nodes[0]))
        if new == stem and nodes[0].stem is not None:
            continue
        for node in nodes:
            node_names[node] = (new + node.name[len(stem) :], new)
        for layer in layers:
            if not layer.name.startswith(stem) or new == stem:
                continue
            if held_elsewhere is None:
                held_elsewhere = _held_elsewhere(a, b)
            if id(layer) in held_elsewhere:
                raise ChainError(
                    f"cannot combine these networks: layer {layer.name!r} would be renamed to "
                    f"{new + layer.name[len(stem) :]!r}, but another network uses it too. "
                    "Give the clashing layers distinct name=, or build the networks as one."
                )
            layer_names[layer] = new + layer.name[len(stem) :]
    return node_names, layer_names
