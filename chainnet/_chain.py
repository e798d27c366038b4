"""The public chain: every method family on the chain base, and the entry points
``input``, ``wrap`` and ``model``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import keras
import numpy as np
import tensorflow as tf

from chainnet._chainbase import ChainBase, View
from chainnet._defaults import scope_of
from chainnet._errors import ChainError, ChainTypeError
from chainnet._journal import all_or_nothing
from chainnet._naming import check_name
from chainnet._network import Network
from chainnet._operands import merge_networks, start_chain
from chainnet._sequential import SequentialBuilder
from chainnet._specs import METHODS
from chainnet._template import Template
from chainnet.methods import (
    ActivationMethods,
    ArithmeticMethods,
    AttentionMethods,
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
    TensorMethods,
)

__all__ = ["Chain", "input", "model", "wrap"]


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
    AttentionMethods,
    HeadMethods,
    TemplateMethods,
    TensorMethods,
    ChainBase,
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

    __slots__ = ()

    def sequential(self) -> SequentialBuilder[Chain]:
        """A builder whose method calls move its head in place (PrettyTensor's sequential mode).

        Examples:
            >>> import chainnet as cn
            >>> seq = cn.input((4,)).sequential()
            >>> seq.fully_connected(8).fully_connected(2).as_chain().shape
            (None, 2)
        """
        return SequentialBuilder(self)

    def as_layer(self) -> Chain:
        """This chain (PrettyTensor's ``as_layer``: a snapshot; chains never move, so only a
        sequential builder's ``as_layer()`` gives something new).

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((4,))
            >>> x.as_layer() is x
            True
        """
        return self

    def is_sequential_builder(self) -> bool:
        """``False``: a chain is immutable (see :meth:`sequential`).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).is_sequential_builder()
            False
        """
        return False

    def get_shape(self) -> tuple[int | None, ...]:
        """The static shape, ``None`` where unknown (PrettyTensor's ``get_shape()``; the same
        as :attr:`shape`).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((28, 28, 1)).flatten().get_shape()
            (None, 784)
        """
        return self.shape

    def eval(self, feed_dict: Any = None, session: Any = None) -> np.ndarray:
        """The value of this chain as a NumPy array (PrettyTensor's ``eval``, TF2 style).

        An eager chain has its value; a symbolic chain runs the model to it on
        ``feed_dict``: its inputs' data, as a dict by input name, a list in the model's
        input order, or one array. There is no session in TensorFlow 2.

        Args:
            feed_dict: The inputs' data, for a symbolic chain.
            session: Must be ``None`` (TensorFlow 2 has no sessions).

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> cn.wrap(np.ones((1, 2), "float32")).reduce_sum().eval()
            array(2., dtype=float32)
            >>> x = cn.input((2,), name="x")
            >>> (x * 3.0).eval({"x": np.ones((1, 2), "float32")})
            array([[3., 3.]], dtype=float32)
        """
        if session is not None:
            raise ChainTypeError(
                f"eval() on chain {self.name!r}: TensorFlow 2 has no sessions; drop session="
            )
        if feed_dict is None:
            return self.numpy()
        if not isinstance(self.tensor, keras.KerasTensor):
            raise ChainTypeError(
                f"eval() on chain {self.name!r}: an eager chain has its value; feed_dict is "
                "for a symbolic chain"
            )
        model = self.model()
        if isinstance(feed_dict, dict):
            unknown = sorted(set(feed_dict) - {t.name for t in model.inputs})
            if unknown:
                raise ChainError(
                    f"eval() on chain {self.name!r}: no input named {unknown}; the inputs are "
                    f"{[t.name for t in model.inputs]}"
                )
            feed_dict = [feed_dict[t.name] for t in model.inputs]
        return np.asarray(model(feed_dict))

    def with_defaults(self, **defaults: Any) -> Chain:
        """This chain with defaults for the steps made on it (PrettyTensor's
        ``with_defaults``: a copy that carries defaults).

        Each method called on the result runs inside ``cn.defaults(**defaults)``, opened
        inside the scope in force where it is called (so these defaults win over it, and an
        argument passed explicitly wins over both); the chains it returns carry the same
        defaults on, so a whole chain of calls takes them. Named results (a head's
        ``(softmax, loss)``, a recurrent step's) and chains made from other chains come back
        plain. The keys are checked at once, as ``cn.defaults`` checks them
        (``docs/defaults.md`` lists them). The chain itself is the same step: same tensor,
        same name, same network. On a chain that carries defaults already, the new ones
        replace them, and no keys leave them as they are (both as in PrettyTensor).

        Args:
            **defaults: The defaults, by key, as for :func:`chainnet.defaults`.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((28, 28, 1))
            >>> y = x.with_defaults(activation="relu", conv2d={"padding": "valid"})
            >>> z = y.conv2d(5, 16).conv2d(3, 8)
            >>> z.shape, z.layer.activation.__name__
            ((None, 22, 22, 8), 'relu')
            >>> x.conv2d(5, 16).shape   # x itself has no defaults
            (None, 28, 28, 16)
        """
        try:
            scope = scope_of(defaults) if defaults else None
        except ChainError as err:
            raise ChainError(f"with_defaults() on chain {self.name!r}: {err}") from None
        view = self._view or View()
        if scope is None:  # PrettyTensor's ``defaults or copy._defaults``: no keys, no change
            return self
        return cast(Chain, self._viewed(View(scope, view.name)))

    def with_name(self, name: str) -> Chain:
        """This chain with ``name`` for the next step made on it (PrettyTensor's
        ``with_name``, which opened a name scope ``name/`` for the next operations: Keras 3
        layer names have no scopes, so here the next step takes ``name`` as its name).

        Only the step called on the result takes the name (the chains it returns do not); a
        ``name=`` passed to that call wins, and a method that takes no name raises.
        Defaults from :meth:`with_defaults` are kept.

        Args:
            name: The next step's name (letters, digits, ``_``, ``.``, ``-``).

        Examples:
            >>> import chainnet as cn
            >>> y = cn.input((4,)).with_name("hidden").fully_connected(8).fully_connected(2)
            >>> y.parent.name, y.name
            ('hidden', 'fully_connected')
        """
        check_name(name, "with_name")
        view = self._view
        scope = view.scope if view is not None else None
        return cast(Chain, self._viewed(View(scope, name)))

    def attach_template(self, template: Template, key: str, /, **bindings: Any) -> Any:
        """Applies ``template`` with this chain as its input named ``key`` and its other
        inputs from ``bindings`` (PrettyTensor's ``attach_template(template, key, **kwargs)``);
        the template's output, or outputs for a template that returns several.

        ``x.attach_template(cell, "state", x=inputs)`` is ``cell(x=inputs, state=x)``: one
        step, sharing the template's weights with every other application.

        Args:
            template: A :func:`chainnet.template`.
            key: The name of the template's input this chain binds.
            **bindings: The template's other inputs, by name.

        Examples:
            >>> import chainnet as cn
            >>> mix = cn.template("x", name="mix").fully_connected(4).join(
            ...     [cn.UnboundVariable("other")]
            ... )
            >>> a, b = cn.input((3,), name="a"), cn.input((2,), name="b")
            >>> y = b.attach_template(mix, "other", x=a)
            >>> y.shape, mix.input_names
            ((None, 6), ['x', 'other'])
        """
        if not isinstance(template, Template):
            raise ChainTypeError(
                f"attach_template() on chain {self.name!r}: needs a cn.template(...), got "
                f"{template!r}"
            )
        if not isinstance(key, str) or key in bindings:
            raise ChainError(
                f"attach_template() on chain {self.name!r}: key must name the input this "
                f"chain binds, once; got key={key!r} and bindings {sorted(bindings)}"
            )
        return template.construct(**{key: self}, **bindings)


METHODS.reserve(
    "Chain",
    [
        "sequential",
        "as_layer",
        "is_sequential_builder",
        "get_shape",
        "eval",
        "with_defaults",
        "with_name",
        "attach_template",
    ],
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

    ``shape`` excludes the batch dimension. Chains started by separate ``cn.input`` calls
    combine in any step (their networks merge; clashing automatic names are renamed, so
    the second ``input`` becomes ``input_1``). ``chain.network.input(...)`` adds an input
    to an existing network.

    Examples:
        >>> import chainnet as cn
        >>> cn.input((28, 28, 1), name="image").shape
        (None, 28, 28, 1)
        >>> a, b = cn.input((3,)), cn.input((3,))
        >>> (a + b).name, b.name
        ('add', 'input_1')
    """
    chain: Chain = Network("symbolic").input(
        shape, dtype=dtype, name=name, batch_size=batch_size, sparse=sparse
    )
    return chain


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
    if isinstance(value, ChainBase):
        return value  # type: ignore[return-value]
    if isinstance(value, keras.KerasTensor):
        network = Network("symbolic")
    else:
        network = Network("eager" if tf.executing_eagerly() else "graph")
    try:
        return cast(Chain, start_chain(network, value, name=name, method="wrap"))
    except TypeError as err:  # outside a step: a ChainError of its own
        raise ChainTypeError(str(err)) from err.__cause__


def model(outputs: Chain | Sequence[Chain], name: str | None = None) -> keras.Model:
    """A functional ``keras.Model`` with one or several outputs.

    The outputs may come from chains started separately: their networks merge first (and
    stay merged once the model is built).

    Examples:
        >>> import chainnet as cn
        >>> x = cn.input((4,))
        >>> m = cn.model([x.fully_connected(2), x.fully_connected(3)])
        >>> [tuple(o.shape) for o in m.outputs]
        [(None, 2), (None, 3)]
    """
    if isinstance(outputs, ChainBase):
        chains = [outputs]
    elif isinstance(outputs, (list, tuple)):
        chains = list(outputs)
    else:
        chains = []
    if not chains or not all(isinstance(c, ChainBase) for c in chains):
        raise ChainTypeError(f"model(): outputs must be chains, got {outputs!r}")
    with all_or_nothing():
        try:
            network = merge_networks(chains[0].network, chains[1:])
        except ChainError as err:
            raise type(err)(f"model(): {err}") from None
        return network.build_model(chains, name)
