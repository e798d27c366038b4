"""Templates: a chain defined without an input, applied to many inputs with shared weights.

``cn.template()`` records method calls (``cn.template().conv2d(5, 16).flatten()``);
``cn.template(fn)`` takes a function of one or several chains. On first application the
template builds its layers once, as a functional ``keras.Model`` from inputs shaped like the
first inputs; every later application calls that same model, so it creates no variables.
The model saves and loads with any model that uses it.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, cast

import keras
import numpy as np
import tensorflow as tf

from chainnet._chainbase import ChainBase, Lowering
from chainnet._defaults import DefaultsScope, current_defaults, in_force
from chainnet._errors import ChainError, ChainTypeError, did_you_mean
from chainnet._journal import on_failure
from chainnet._network import Network
from chainnet._operators import Operators
from chainnet._shapes import Shape, first_mismatch
from chainnet._specs import METHODS
from chainnet.layers.merge import Pack
from chainnet.layers.shape import Reshape, Slice, encode_key

__all__ = ["Template", "UnboundVariable", "template"]


@dataclasses.dataclass(frozen=True)
class UnboundVariable:
    """A further input of a recording template, PrettyTensor's ``UnboundVariable``: an
    argument left open, bound when the template is applied (``tmpl(x, state=s)``).

    Examples:
        >>> import chainnet as cn
        >>> cell = cn.template("x").lstm_cell(cn.UnboundVariable("state"), 8)
        >>> x = cn.input((4,), name="x")
        >>> s = x.network.input((16,), name="s")
        >>> output, state = cell(x=x, state=s)
        >>> output.shape, state.shape
        ((None, 8), (None, 16))
    """

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ChainTypeError(
                f"UnboundVariable(name): needs an identifier naming the input, got {self.name!r}"
            )


def _unbound_in(value: Any) -> list[str]:
    """The names of the unbound variables in an argument (in lists and tuples too)."""
    if isinstance(value, UnboundVariable):
        return [value.name]
    if isinstance(value, (list, tuple)):
        return [name for item in value for name in _unbound_in(item)]
    return []


def _bind(value: Any, chains: dict[str, Any]) -> Any:
    """An argument with its unbound variables replaced by the chains bound to them."""
    if isinstance(value, UnboundVariable):
        return chains[value.name]
    if isinstance(value, (list, tuple)):
        items = [_bind(item, chains) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def _flatten(value: Any) -> list[Any] | None:
    """The chains of a (nested) tuple or list of chains in order; ``None`` if it is not one."""
    if isinstance(value, ChainBase):
        return [value]
    if isinstance(value, (list, tuple)) and value:
        parts = [_flatten(item) for item in value]
        if all(part is not None for part in parts):
            return [chain for part in parts for chain in part]  # type: ignore[union-attr]
    return None


def _rebuild(structure: Any, items: list[Any]) -> Any:
    """``structure`` (nested tuples and lists) with its leaves replaced by ``items`` in order;
    lists come back as tuples, so that a step's result is a tuple of chains."""
    queue = iter(items)

    def fill(node: Any) -> Any:
        if isinstance(node, (list, tuple)):
            filled = [fill(item) for item in node]
            return type(node)(*filled) if hasattr(node, "_fields") else tuple(filled)
        return next(queue)

    return fill(structure)


@dataclasses.dataclass(frozen=True)
class _Step:
    """One recorded call: ``method(*args, **kwargs)`` under the defaults scope then open."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    scope: DefaultsScope


class _Built:
    """What a template holds once built: its model, inner network, output chain and inputs."""

    __slots__ = ("inputs", "model", "network", "output", "parts", "structure")

    def __init__(
        self,
        model: keras.Model,
        network: Network,
        output: ChainBase,
        inputs: list[tuple[Shape, str]],
        structure: Any = None,
        parts: tuple[Shape, ...] = (),
    ) -> None:
        self.model = model
        self.network = network
        self.output = output
        self.inputs = inputs
        self.structure = structure  # several outputs: their (nested) tuple, packed in output
        self.parts = parts  # ... and the shape of each (without the batch dimension)


def _spec(value: Any) -> tuple[Shape, str]:
    """``(shape without batch, dtype)`` of a chain, tensor or array."""
    if isinstance(value, ChainBase):
        return value.shape[1:], value.dtype
    if not hasattr(value, "shape") or not hasattr(value, "dtype"):
        value = np.asarray(value)
    shape = value.shape
    dims = shape.as_list() if isinstance(shape, tf.TensorShape) else list(shape)
    if not dims:
        raise ChainError("a template input needs a batch dimension; got a scalar.")
    return tuple(dims[1:]), str(keras.backend.standardize_dtype(value.dtype))


class Template(Operators):
    """A chain with no input yet; applying it to chains or tensors shares one set of weights.

    Make one with :func:`chainnet.template`. Apply it with ``tmpl(x)`` or
    ``x.apply_template(tmpl)``: on chains it is one step of the chain (named after the
    template, ``tower``, ``tower_1``, ...); on tensors (eager, in a ``tf.function`` or Keras
    symbolic) it returns the output tensor, like a Keras layer (``training=`` sets dropout
    and batch normalization). Once built it answers the questions a chain answers:
    ``layers``, ``variables`` by path, ``get_weights(name)``, ``summary()``.

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> tower = cn.template(name="tower").flatten().fully_connected(8, activation="relu")
        >>> left = cn.input((4, 4), name="left")
        >>> right = left.network.input((4, 4), name="right")  # one network for both inputs
        >>> both = left.apply_template(tower).join([tower(right)])
        >>> len(both.model().weights), sorted(tower.variables)
        (2, ['fully_connected/bias', 'fully_connected/kernel'])
        >>> tower(np.ones((3, 4, 4), "float32")).shape  # on data: a tensor, same weights
        TensorShape([3, 8])
    """

    __slots__ = (
        "_build_lock",
        "_built",
        "_first_input",
        "_fn",
        "_input_names",
        "_name",
        "_scope",
        "_steps",
    )

    def __init__(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        steps: tuple[_Step, ...] = (),
        scope: DefaultsScope | None = None,
        input_name: str = "input",
    ) -> None:
        self._fn = fn
        self._steps = steps
        self._name = name
        self._first_input = input_name
        self._scope = scope if scope is not None else current_defaults()
        self._built: _Built | None = None  # until the first application
        self._build_lock = threading.RLock()  # one build, whichever thread applies it first
        if fn is not None:
            self._input_names = _input_names(fn)
        else:  # the input, then each UnboundVariable in the order the steps name them
            names = [input_name]
            for step in steps:
                for value in (*step.args, *step.kwargs.values()):
                    names.extend(n for n in _unbound_in(value) if n not in names)
            self._input_names = names

    # ----------------------------------------------------------------- recording
    def _record(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Template:
        if self._fn is not None:
            raise ChainError(
                f"template {self._display()!r} was made from a function; add steps inside the "
                "function, or make a recording template with cn.template()."
            )
        for value in (*args, *kwargs.values()):
            items = value if isinstance(value, (list, tuple)) else (value,)
            if any(isinstance(item, ChainBase) for item in items):
                raise ChainError(
                    f"template {self._display()!r}: {method}() got a chain as an argument; a "
                    "recording template takes further inputs as cn.UnboundVariable('name'), "
                    "or write a function of several inputs: cn.template(lambda x, y: ...)."
                )
        step = _Step(method, args, dict(kwargs), current_defaults())
        return Template(
            name=self._name,
            steps=(*self._steps, step),
            scope=self._scope,
            input_name=self._first_input,
        )

    def __getattr__(self, method: str) -> Callable[..., Template]:
        if method.startswith("_") or method not in METHODS:
            hint = did_you_mean(method, METHODS.names())
            raise AttributeError(f"templates record chain methods; {method!r} is not one.{hint}")

        def record(*args: Any, **kwargs: Any) -> Template:
            return self._record(method, args, kwargs)

        record.__name__ = method
        record.__doc__ = getattr(Network.chain_class(), method).__doc__
        return record

    def _apply_operator(self, method: str, args: tuple[Any, ...]) -> Template:
        return self._record(method, args, {})

    # ----------------------------------------------------------------- applying
    def __call__(
        self,
        *inputs: Any,
        name: str | None = None,
        training: bool | None = None,
        **bindings: Any,
    ) -> Any:
        """Applies the template: chains give a chain (one step), tensors give a tensor. Inputs
        may be given by name, PrettyTensor's way: ``cell(x=x, state=s)``. A template whose
        function returns several chains (``(output, new_state)``) gives them in that form."""
        if bindings:
            inputs = self._bound_inputs(inputs, bindings)
        if not inputs:
            raise ChainError(f"template {self._display()!r} needs an input to apply to.")
        if self._is_decorator_call(inputs):  # @cn.template(name="cell") over a function
            return Template(inputs[0], name=self._name)
        if isinstance(inputs[0], ChainBase):
            if training is not None:
                raise ChainError(
                    "training= applies when a template is called on tensors; a chain step "
                    "follows the mode its model is run in (fit: training, predict: inference)."
                )
            return cast(Any, inputs[0]).apply_template(self, *inputs[1:], name=name)
        if any(isinstance(x, ChainBase) for x in inputs):
            raise ChainError("apply a template to chains only, or to tensors only.")
        model = self._layer_for(inputs, None, name)
        result = model(inputs[0] if len(inputs) == 1 else list(inputs), training=training)
        built = cast(_Built, self._built)
        if built.structure is None:
            return result
        return _rebuild(built.structure, _unpack_tensor(result, built.parts))

    def construct(self, **bindings: Any) -> Any:
        """Applies the template to inputs given by name (PrettyTensor's ``construct``):
        ``cell.construct(x=x, state=s)`` is ``cell(x=x, state=s)``."""
        return self(**bindings)

    def _bound_inputs(self, inputs: tuple[Any, ...], bindings: dict[str, Any]) -> tuple[Any, ...]:
        """The inputs in the template's order, from positional ones and ones given by name."""
        names = self._input_names
        unknown = [key for key in bindings if key not in names]
        if unknown:
            raise ChainError(
                f"template {self._display()!r} has no input {unknown[0]!r}; its inputs are "
                f"{names}.{did_you_mean(unknown[0], names)}"
            )
        twice = [key for key in names[: len(inputs)] if key in bindings]
        missing = [key for key in names[len(inputs) :] if key not in bindings]
        if twice or missing:
            raise ChainError(
                f"template {self._display()!r} takes the inputs {names}: "
                + (f"{twice[0]!r} given twice" if twice else f"{missing} not given")
                + "."
            )
        return (*inputs, *(bindings[key] for key in names[len(inputs) :]))

    def _is_decorator_call(self, inputs: tuple[Any, ...]) -> bool:
        value = inputs[0]
        return (
            self._fn is None
            and not self._steps
            and len(inputs) == 1
            and callable(value)
            and not isinstance(value, (ChainBase, Template, keras.KerasTensor, np.ndarray))
            and not tf.is_tensor(value)
        )

    def build(self, *input_shapes: Sequence[int | None], dtype: str = "float32") -> Template:
        """Builds the layers for inputs of these shapes (without the batch dimension).

        Examples:
            >>> import chainnet as cn
            >>> t = cn.template(name="t").fully_connected(3).build((4,))
            >>> t.layer.count_params()
            15
        """
        if not input_shapes or not all(
            isinstance(s, (list, tuple)) and all(d is None or isinstance(d, int) for d in s)
            for s in input_shapes
        ):
            raise ChainTypeError(
                f"template.build(): give one shape per input, each a tuple of ints without the "
                f"batch dimension (build((28, 28, 1))), got {input_shapes!r}"
            )
        specs = [(tuple(s), dtype) for s in input_shapes]
        with self._build_lock:
            if self._built is not None:
                raise ChainError(f"template {self._display()!r} is already built.")
            self._build(specs, self._name or self._default_name())
        return self

    def _display(self) -> str:
        if self._built is not None:
            return str(self._built.model.name)
        return self._name or self._default_name()

    def _default_name(self) -> str:
        fn_name = getattr(self._fn, "__name__", "")
        return fn_name if fn_name.isidentifier() and fn_name != "<lambda>" else "template"

    def _layer_for(
        self, inputs: Sequence[Any], network: Network | None, name: str | None
    ) -> keras.Model:
        """The template's model, built on first use for ``inputs``; checks they fit it."""
        specs = [_spec(x) for x in inputs]
        if len(specs) != len(self._input_names):
            raise ChainError(
                f"template {self._display()!r} takes {len(self._input_names)} input(s) "
                f"{self._input_names}, got {len(specs)}."
            )
        with self._build_lock:  # threads applying it for the first time at once build once
            if self._built is None:
                model_name = name or self._name
                if model_name is None:
                    base = self._default_name()
                    model_name = (
                        network.next_name(base, None, method="template") if network else base
                    )
                return self._build(specs, model_name)
            built = self._built
        for index, ((expected, _), (got, _)) in enumerate(zip(built.inputs, specs)):
            where = first_mismatch(expected, got)
            if where is None:
                continue
            detail = (
                f"rank {len(got)} instead of {len(expected)}"
                if where == -1
                else f"dimension {where + 1} is {got[where]}, not {expected[where]}"
            )
            raise ChainError(
                f"template {built.model.name!r} was built for input {self._input_names[index]!r} "
                f"of shape {(None, *expected)} and cannot take shape {(None, *got)}: {detail}. "
                "A template has one set of weights; make another template for other shapes."
            )
        return built.model

    def _build(self, specs: list[tuple[Shape, str]], model_name: str) -> keras.Model:
        # init_scope: the first application may happen inside a tf.function; the variables
        # are created eagerly, once, outside of it.
        with tf.init_scope(), in_force(self._scope):
            network = Network("symbolic")
            inputs = [
                network.input(shape, dtype=dtype, name=input_name)
                for (shape, dtype), input_name in zip(specs, self._input_names)
            ]
            if self._fn is not None:
                output = self._fn(*inputs)
            else:
                output = inputs[0]
                bound = dict(zip(self._input_names, inputs))
                for step in self._steps:
                    args = _bind(step.args, bound)
                    kwargs = {key: _bind(value, bound) for key, value in step.kwargs.items()}
                    with in_force(step.scope):
                        output = getattr(output, step.method)(*args, **kwargs)
            structure: Any = None
            parts: tuple[Shape, ...] = ()
            flat = _flatten(output) if isinstance(output, (list, tuple)) else None
            if flat is not None:  # several outputs: one packed tensor in the model
                structure, parts = output, tuple(tuple(c.shape[1:]) for c in flat)
                output = _pack(model_name, flat)
            if not isinstance(output, ChainBase):
                raise ChainError(
                    f"template {model_name!r} must give one chain or a tuple of chains, got "
                    f"{type(output).__name__}"
                    + (
                        " (take .softmax or .loss of the head's result)"
                        if isinstance(output, tuple)
                        else ""
                    )
                    + "."
                )
            model = output.network.build_model([output], model_name)
        self._built = _Built(model, output.network, output, specs, structure, parts)

        def unbuild() -> None:  # the step that built it failed: as if never applied
            self._built = None

        on_failure(unbuild)
        return model

    def _unpack(self, packed: Any, name: str) -> Any:
        """A multi-output template's step on chains: ``packed`` (the step, all outputs in one
        tensor) taken apart into the steps ``<name>.0``, ``<name>.1``, ... in the structure the
        template's function returned; a single-output template's step as it is."""
        built = cast(_Built, self._built)
        if built.structure is None:
            return packed
        chains, start = [], 0
        for index, shape in enumerate(built.parts):
            width = _width(shape)
            part = f"{name}.{index}"
            layers = (
                Slice(encode_key((slice(None), slice(start, start + width))), name=part),
                Reshape([-1, *(int(d) for d in shape)], name=f"{part}_shape"),  # type: ignore[arg-type]
            )
            chains.append(packed._extend("apply_template", part, Lowering(layers)))
            start += width
        return _rebuild(built.structure, chains)

    def _part_suffixes(self) -> list[str]:
        """``[".0", ".1", ...]`` for a built template of several outputs, else ``[]``."""
        built = self._built
        return [f".{i}" for i in range(len(built.parts))] if built and built.structure else []

    @property
    def input_names(self) -> list[str]:
        """The names of the template's inputs, in order (``cell(x=..., state=...)``)."""
        return list(self._input_names)

    # ----------------------------------------------------------------- handles
    def _require_built(self, what: str) -> _Built:
        if self._built is None:
            raise ChainError(
                f"{what}: template {self._display()!r} has no layers yet; apply it to an input "
                "first, or build it with template.build(input_shape)."
            )
        return self._built

    @property
    def name(self) -> str:
        """The template's name (its model's name once built)."""
        return self._display()

    @property
    def name_chosen(self) -> bool:
        """Whether you named the template (``cn.template(name=...)``): its first step in a
        network takes that name, and a clash is an error rather than a rename."""
        return self._name is not None

    @property
    def built(self) -> bool:
        """Whether the template has made its layers (on first application or ``build``)."""
        return self._built is not None

    @property
    def layer(self) -> keras.Model:
        """The template as a Keras model (a layer): use it anywhere Keras takes a layer."""
        return self._require_built("layer").model

    @property
    def network(self) -> Network:
        """The template's own network: its steps by name, layers, variables, weights."""
        return self._require_built("network").network

    @property
    def output(self) -> ChainBase:
        """The template's output chain, inside its own network."""
        return self._require_built("output").output

    @property
    def input_shapes(self) -> list[Shape]:
        """The shapes the template was built for, with ``None`` for the batch dimension."""
        return [(None, *shape) for shape, _ in self._require_built("input_shapes").inputs]

    @property
    def layers(self) -> list[keras.layers.Layer]:
        """Every Keras layer of the template (inputs excluded), in build order."""
        return [
            layer
            for layer in self._require_built("layers").network.layers
            if not isinstance(layer, keras.layers.InputLayer)
        ]

    @property
    def variables(self) -> dict[str, keras.Variable]:
        """Every variable by path inside the template: ``{"fully_connected/kernel": ...}``."""
        return self._require_built("variables").network.variables

    @property
    def trainable_variables(self) -> list[keras.Variable]:
        """The trainable variables, for ``tape.gradient(loss, template.trainable_variables)``."""
        return list(self._require_built("trainable_variables").model.trainable_variables)

    def variable(self, path: str) -> keras.Variable:
        """One variable by its path inside the template, ``"fully_connected/kernel"``."""
        return self._require_built("variable()").network.variable(path)

    def get_weights(self, name: str) -> dict[str, np.ndarray]:
        """A layer's weights as NumPy arrays by short name (``"kernel"``, ``"bias"``)."""
        return self._require_built("get_weights()").network.get_weights(name)

    def set_weights(self, name: str, weights: Any) -> None:
        """Assigns a layer's weights by short name; every application sees them."""
        self._require_built("set_weights()").network.set_weights(name, weights)

    def summary(self, print_fn: Any = print) -> None:
        """Prints the template's layers: name, method, output shape, parameters."""
        built = self._require_built("summary()")
        built.network.summary([built.output], print_fn=print_fn)

    def __repr__(self) -> str:
        if self._fn is not None:
            body = f"fn={getattr(self._fn, '__name__', self._fn)!r}"
        else:
            body = "steps=[" + ", ".join(s.method for s in self._steps) + "]"
        state = f"built for {self.input_shapes}" if self._built is not None else "not built"
        return f"<Template {self._display()!r} {body} {state}>"


METHODS.reserve("Template", (name for name in dir(Template) if not name.startswith("_")))


def _input_names(fn: Callable[..., Any]) -> list[str]:
    """The template's input names: the function's positional parameters."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return ["input"]
    names = [
        p.name
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if not names:
        raise ChainError(
            f"cn.template(fn): {getattr(fn, '__name__', fn)!r} must take at least one chain."
        )
    return names


def _pack(name: str, chains: list[Any]) -> Any:
    """Several output chains of one dtype as one step ``outputs``: each flattened, then
    concatenated (the template's model has one output)."""
    dtypes = sorted({c.dtype for c in chains})
    unknown = [c.name for c in chains if any(d is None for d in c.shape[1:])]
    if len(dtypes) > 1 or unknown:
        raise ChainError(
            f"template {name!r} returns several chains; they must have one dtype and known "
            f"shapes, got dtypes {dtypes}"
            + (f" and unknown dimensions in {unknown}" if unknown else "")
        )
    first = chains[0]
    pack = Pack(dtype=dtypes[0], name="outputs")
    return first._extend("template", "outputs", Lowering((pack,), others=tuple(chains[1:])))


def _width(shape: Shape) -> int:
    """The number of values of one example of ``shape`` (known dimensions)."""
    return math.prod(int(d) for d in shape if d is not None)


def _unpack_tensor(packed: Any, parts: tuple[Shape, ...]) -> list[Any]:
    """A multi-output template's packed result on tensors, taken apart."""
    tensors, start = [], 0
    for shape in parts:
        width = _width(shape)
        part = packed[:, start : start + width]
        tensors.append(keras.ops.reshape(part, (-1, *shape)))
        start += width
    return tensors


def template(fn: Callable[..., Any] | str | None = None, *, name: str | None = None) -> Template:
    """A template: ``template()`` records chain methods, ``template(fn)`` wraps a function of
    one or several chains (also as a decorator: ``@cn.template``, ``@cn.template(name=...)``).
    ``template("x")`` records with the input named ``x`` (PrettyTensor's
    ``pt.template("x")``); further inputs of a recording template are
    :class:`UnboundVariable` arguments. A function may return a tuple of chains (a cell's
    ``(output, new_state)``): applying the template gives them back in that form.
    Defaults scopes open when the template is defined apply to its steps.

    Examples:
        >>> import chainnet as cn
        >>> @cn.template
        ... def cell(x, h):
        ...     return x.concat(-1, h).fully_connected(4, activation="tanh")
        >>> xs = cn.input((3, 2)).unstack()
        >>> h = xs[0].network.input((4,), name="h0")
        >>> for x in xs:
        ...     h = cell(x, h)
        >>> h.name, len(h.model().weights)
        ('cell_2', 2)
    """
    if isinstance(fn, str):
        if not fn.isidentifier():
            raise ChainTypeError(f"template(input_name): needs an identifier, got {fn!r}")
        return Template(None, name=name, input_name=fn)
    if fn is not None and not callable(fn):
        raise TypeError(f"template(fn) needs a function of chains, got {fn!r}")
    return Template(fn, name=name)
