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
import threading
from collections.abc import Callable, Sequence
from typing import Any, cast

import keras
import numpy as np
import tensorflow as tf

from chainnet._chainbase import ChainBase
from chainnet._defaults import DefaultsScope, current_defaults, in_force
from chainnet._errors import ChainError, ChainTypeError, did_you_mean
from chainnet._journal import on_failure
from chainnet._network import Network
from chainnet._operators import Operators
from chainnet._shapes import Shape, first_mismatch
from chainnet._specs import METHODS

__all__ = ["Template", "template"]


@dataclasses.dataclass(frozen=True)
class _Step:
    """One recorded call: ``method(*args, **kwargs)`` under the defaults scope then open."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    scope: DefaultsScope


class _Built:
    """What a template holds once built: its model, inner network, output chain and inputs."""

    __slots__ = ("inputs", "model", "network", "output")

    def __init__(
        self,
        model: keras.Model,
        network: Network,
        output: ChainBase,
        inputs: list[tuple[Shape, str]],
    ) -> None:
        self.model = model
        self.network = network
        self.output = output
        self.inputs = inputs


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

    __slots__ = ("_build_lock", "_built", "_fn", "_input_names", "_name", "_scope", "_steps")

    def __init__(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        steps: tuple[_Step, ...] = (),
        scope: DefaultsScope | None = None,
    ) -> None:
        self._fn = fn
        self._steps = steps
        self._name = name
        self._scope = scope if scope is not None else current_defaults()
        self._built: _Built | None = None  # until the first application
        self._build_lock = threading.RLock()  # one build, whichever thread applies it first
        self._input_names = _input_names(fn) if fn is not None else ["input"]

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
                    "recording template has one input. Write a function of several inputs "
                    "instead: cn.template(lambda x, y: ...)."
                )
        step = _Step(method, args, dict(kwargs), current_defaults())
        return Template(name=self._name, steps=(*self._steps, step), scope=self._scope)

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
    def __call__(self, *inputs: Any, name: str | None = None, training: bool | None = None) -> Any:
        """Applies the template: chains give a chain (one step), tensors give a tensor."""
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
        return model(inputs[0] if len(inputs) == 1 else list(inputs), training=training)

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
                for step in self._steps:
                    with in_force(step.scope):
                        output = getattr(output, step.method)(*step.args, **step.kwargs)
            if not isinstance(output, ChainBase):
                raise ChainError(
                    f"template {model_name!r} must give one chain, got {type(output).__name__}"
                    + (
                        " (take .softmax or .loss of the head's result)"
                        if isinstance(output, tuple)
                        else ""
                    )
                    + "."
                )
            model = output.network.build_model([output], model_name)
        self._built = _Built(model, output.network, output, specs)

        def unbuild() -> None:  # the step that built it failed: as if never applied
            self._built = None

        on_failure(unbuild)
        return model

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


def template(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Template:
    """A template: ``template()`` records chain methods, ``template(fn)`` wraps a function of
    one or several chains (also as a decorator: ``@cn.template``, ``@cn.template(name=...)``).
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
    if fn is not None and not callable(fn):
        raise TypeError(f"template(fn) needs a function of chains, got {fn!r}")
    return Template(fn, name=name)
