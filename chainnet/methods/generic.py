"""Escape hatches: ``apply(fn)`` for raw TensorFlow / ``keras.ops`` code, ``apply_layer(layer)``
for any Keras layer."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import keras

from chainnet._registry import Lowering, chain_method

__all__ = ["GenericMethods"]


def _as_keyword_arguments(fn: Callable[..., Any], args: tuple[Any, ...]) -> dict[str, Any] | None:
    """Positional extras of ``fn(x, *args)`` as keywords, when ``fn``'s signature allows it."""
    if not args:
        return {}
    try:
        bound = inspect.signature(fn).bind_partial(None, *args)
    except (TypeError, ValueError):
        return None
    names = list(bound.arguments)[1:]
    params = inspect.signature(fn).parameters
    if any(params[n].kind is inspect.Parameter.VAR_POSITIONAL for n in names):
        return None
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
        The step is a ``keras.layers.Lambda``: a model holding it loads back with
        ``keras.models.load_model(path, safe_mode=False)``, and ``fn`` must be importable
        (a module-level function, registered with ``keras.saving.register_keras_serializable``).

        Examples:
            >>> import tensorflow as tf, chainnet as cn
            >>> cn.input((4,)).apply(tf.nn.relu6).shape
            (None, 4)
            >>> cn.input((6,)).apply(tf.reshape, shape=(-1, 2, 3)).shape
            (None, 2, 3)
        """
        if not callable(fn):
            raise TypeError(f"apply(fn) needs a callable, got {type(fn).__name__} {fn!r}")
        arguments = _as_keyword_arguments(fn, args)
        if arguments is None:
            positional = args

            def call(x: Any, **kw: Any) -> Any:
                return fn(x, *positional, **kw)

            return keras.layers.Lambda(call, arguments=dict(kwargs), name=name)
        return keras.layers.Lambda(fn, arguments={**arguments, **kwargs}, name=name)

    @chain_method(names_itself=True)
    def apply_layer(self, layer: keras.layers.Layer, *, name: str | None = None) -> Any:
        """Applies any Keras layer (or model) as one step.

        The step takes ``name`` if given (the layer must be new, so that it can be renamed),
        else the layer's own name. Applying the same layer object again shares its weights;
        that step gets the layer's name with ``_1``, ``_2``, ...

        Examples:
            >>> import keras, chainnet as cn
            >>> cn.input((8,)).apply_layer(keras.layers.Dense(3, name="head")).name
            'head'
        """
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                f"apply_layer() needs a keras.layers.Layer, got {type(layer).__name__}; "
                "use apply(fn) for a function"
            )
        network = self.network  # type: ignore[attr-defined]
        explicit = name
        if explicit is not None:
            network.next_name(explicit, explicit, method="apply_layer")
            if layer.built:
                raise ValueError(
                    f"layer {layer.name!r} is already built and cannot be renamed to "
                    f"{explicit!r}; apply it without name=, or pass a new layer"
                )
            layer.name = explicit
            return Lowering((layer,), node_name=explicit)
        if layer.name in network and network.layer(layer.name) is layer:
            shared = network.next_name(layer.name, None, method="apply_layer")
            return Lowering((layer,), node_name=shared)
        node = network.next_name(layer.name, layer.name, method="apply_layer")
        return Lowering((layer,), node_name=node)
