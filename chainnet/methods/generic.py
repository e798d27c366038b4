"""Escape hatches: ``apply(fn)`` for raw TensorFlow / ``keras.ops`` code, ``apply_layer(layer)``
for any Keras layer."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

import keras
import tensorflow as tf

from chainnet._chainbase import ChainBase, Lowering
from chainnet._inner import has_graph
from chainnet._journal import rename_layer
from chainnet._legacy import reject_legacy_keras
from chainnet._naming import has_automatic_name, snake_case
from chainnet._operands import as_operand
from chainnet._operators import Operators
from chainnet._registry import chain_method
from chainnet.methods._common import check_function

__all__ = ["GenericMethods"]


def _as_keyword_arguments(fn: Callable[..., Any], args: tuple[Any, ...]) -> dict[str, Any]:
    """Positional extras of ``fn(x, *args)`` as keywords, so that the step saves its arguments.

    Raises ``TypeError`` when ``fn``'s signature cannot name them (``*args``, builtins).
    """
    if not args:
        return {}
    try:
        signature = inspect.signature(fn)
        bound = signature.bind_partial(None, *args)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"cannot bind the extra positional arguments {args!r} to {fn!r} by name ({err}); "
            "pass them as keywords, so that the step can be saved and loaded"
        ) from None
    names = list(bound.arguments)[1:]
    if any(signature.parameters[n].kind is inspect.Parameter.VAR_POSITIONAL for n in names):
        raise TypeError(
            f"{getattr(fn, '__name__', fn)!r} takes *args: a step cannot save extra positional "
            "arguments for it; wrap it in a function with named parameters"
        )
    return {n: bound.arguments[n] for n in names}


class GenericMethods:
    """Any function, any Keras layer."""

    __slots__ = ()

    @chain_method()
    def apply(
        self, fn: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any
    ) -> Any:
        """Runs ``fn(x, *args, **kwargs)`` as a layer: raw TensorFlow or ``keras.ops`` code.

        It works on symbolic chains too (the output shape is inferred by tracing ``fn``).
        The step is a ``keras.layers.Lambda`` that saves ``fn`` by reference and the extra
        arguments by value, so ``fn`` must be one a saved model can find again: a function
        registered with ``keras.saving.register_keras_serializable`` (loads with the default
        ``safe_mode=True``), a Keras or TensorFlow function Keras knows by name
        (``tf.nn.relu6``), or a ``lambda`` that names no globals, only its arguments and
        their methods and operators (saved as bytecode, without its module; loads with
        ``safe_mode=False``). Any other function is refused here rather than saved as a model
        that never loads: register it (raw TensorFlow or ``keras.ops`` code goes there). A
        function that uses layers or variables is refused too (a ``Lambda`` would not train
        them): apply those with ``apply_layer``.

        Args:
            fn: The function, ``fn(x, *args, **kwargs)``.
            *args: Extra positional arguments (saved by name, so ``fn`` must name them).
            name: The step's name.
            **kwargs: Extra keyword arguments (saved by value).

        Examples:
            >>> import tensorflow as tf, chainnet as cn
            >>> cn.input((4,)).apply(tf.nn.relu6).shape
            (None, 4)
            >>> cn.input((6,)).apply(lambda t: t * 2.0 + 1.0).shape  # operators only: it loads
            (None, 6)
            >>> cn.input((6,)).apply(lambda t: tf.reshape(t, (-1, 2, 3)))  # names `tf`
            Traceback (most recent call last):
            ...
            chainnet.ChainTypeError: apply() at layer 'apply' ...: the lambda uses the global ...

        On an int or bool input the step reports the dtype ``fn`` computes (found by tracing
        it): ``apply(lambda t: t * 2)`` on int32 is int32. On a float input it reports the
        dtype policy's compute dtype, as Keras does for any ``Lambda``: a ``fn`` that turns
        floats into ints (``tf.argmax``) is reported as float32; follow it with
        ``.cast('int64')`` if a later step needs the true dtype.
        """
        reject_legacy_keras(fn, "apply(fn)")
        check_function("apply", "fn", fn)
        arguments = {**_as_keyword_arguments(fn, args), **kwargs}
        # Dtypes are true (issue 9): Keras reports a Lambda's output in its compute dtype
        # (float32), whatever fn returns. On an int or bool input the layer takes the dtype
        # tracing fn gives (ints stay ints, a cast to float64 is float64): no float input is
        # there for that policy to cast. On a float input it keeps the policy, which casts
        # the input as every Keras layer does (an int policy would cast floats to ints).
        dtype = None
        if not keras.backend.is_float_dtype(self.dtype):  # type: ignore[attr-defined]
            spec = tf.TensorSpec(self.shape, self.dtype)  # type: ignore[attr-defined]
            try:
                traced = (
                    tf.function(lambda x: fn(x, **arguments), autograph=False)
                    .get_concrete_function(spec)
                    .structured_outputs
                )
                if isinstance(traced, tf.Tensor):  # int8 is no dtype policy: left as it was
                    dtype = keras.dtype_policies.get(traced.dtype.name).name
            except Exception:  # noqa: BLE001 - the Lambda reports fn's own error when applied
                dtype = None
        return keras.layers.Lambda(fn, arguments=arguments, dtype=dtype, name=name)

    @chain_method(names_itself=True)
    def apply_layer(
        self,
        layer: keras.layers.Layer,
        *other_chains: Any,
        name: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Applies any Keras layer (or model) as one step.

        The step takes ``name`` if given (the layer must be new, so that it can be renamed),
        else the name you gave the layer. A layer Keras named itself (``Dense(3)`` is
        ``dense_7`` after seven others) is renamed from the network's own counter (``dense``,
        ``dense_1``, ...), so the same code always gives the same names. Applying the same
        layer object again shares its weights; that step gets the layer's name with ``_1``, ...

        A functional or Sequential ``keras.Model`` (a ``keras.applications`` backbone) is one
        step too, and its inner layers have paths: ``"backbone/block_3_expand_relu"`` reaches
        into it everywhere a layer name is taken (``network.layer``, ``get_weights``,
        ``activations``, ``freeze``), and ``network["backbone/..."]`` continues a chain from
        there (see the Transfer learning and surgery page).

        Args:
            layer: A Keras layer or model.
            name: The step's name (a model already built may take it too).

        Examples:
            >>> import keras, chainnet as cn
            >>> cn.input((8,)).apply_layer(keras.layers.Dense(3, name="head")).name
            'head'
            >>> mlp = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="d")])
            >>> y = cn.input((8,)).apply_layer(mlp, name="backbone")
            >>> y.name, y.network.layer("backbone/d").units
            ('backbone', 4)
        """
        reject_legacy_keras(layer, "apply_layer(layer)")
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                f"apply_layer() needs a keras.layers.Layer, got {type(layer).__name__}; "
                "use apply(fn) for a function"
            )
        network = self.network  # type: ignore[attr-defined]
        shared = layer.name in network and network.layer(layer.name) is layer
        automatic = has_automatic_name(layer)  # built or not: Keras' counter, not the user's
        # a functional or Sequential model renames freely: its inner paths do not hold its name
        if name is not None and layer.built and name != layer.name and not has_graph(layer):
            raise ValueError(
                f"layer {layer.name!r} is already built and cannot be renamed to "
                f"{name!r}; apply it without name=, or pass a new layer"
            )
        if name is not None:  # yours: the step and the layer take it
            base, explicit, renamed = name, name, True
        elif shared:  # the same layer again: a new step name, the layer keeps its own
            base, explicit, renamed = layer.name, None, False
        elif automatic:  # Keras' process-wide counter: the network's own counter instead
            base, explicit, renamed = snake_case(type(layer).__name__), None, True
        else:  # a name you gave the layer
            base, explicit, renamed = layer.name, layer.name, False
        node = network.next_name(base, explicit, method="apply_layer")
        if renamed:
            rename_layer(layer, node)  # undone if the step fails
        if not other_chains and not kwargs:
            return Lowering((layer,), node_name=node)
        me = cast(ChainBase, self)
        others = tuple(
            as_operand(me, c, method="apply_layer", role="other_chains") for c in other_chains
        )
        call_kwargs = {
            k: as_operand(me, v, method="apply_layer", role=k) if isinstance(v, Operators) else v
            for k, v in kwargs.items()
        }
        return Lowering(
            (layer,), others=others, node_name=node, positional=True, call_kwargs=call_kwargs
        )
