"""Pieces shared by several method families: types, the option sets each family declares to
defaults scopes, and the layers of a step around a kernel (l2loss, batch normalization)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import keras
import tensorflow as tf

from chainnet._arguments import check_bool_or_dict, check_non_negative
from chainnet._defaults import current_defaults
from chainnet._specs import METHODS

__all__ = [
    "BATCH_NORM_DEFAULTS",
    "CONV_DEFAULTS",
    "DENSE_DEFAULTS",
    "ActivationLike",
    "BatchNormLike",
    "InitializerLike",
    "IntOrTuple",
    "RegularizerLike",
    "batch_norm_options",
    "check_function",
    "kernel_layers",
    "kernel_regularizer_for",
    "keywords",
]

ActivationLike = Union[str, Callable[..., Any], None]
InitializerLike = Union[str, keras.initializers.Initializer, Callable[..., Any]]
RegularizerLike = Union[str, keras.regularizers.Regularizer, None]
IntOrTuple = Union[int, Sequence[int]]
BatchNormLike = Union[bool, Mapping[str, Any]]

# The keywords each family takes from defaults scopes (PrettyTensor's assign_defaults), declared
# once; docs/defaults.md lists the keys and the methods that take them.
DENSE_DEFAULTS = (
    "activation",
    "use_bias",
    "kernel_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "bias_regularizer",
    "l2loss",
)
"""``fully_connected``: PrettyTensor's ``activation_fn`` and ``l2loss``, plus Keras' kernel
options. Not ``batch_normalize``: PrettyTensor's ``fully_connected`` had none, so a scope that
normalizes convolutions leaves the dense layers (the logits) alone."""

CONV_DEFAULTS = (
    *DENSE_DEFAULTS,
    "batch_normalize",
    "padding",
    "strides",
    "dilation_rate",
)
"""Every convolution: the dense options, ``batch_normalize`` (PrettyTensor's, TF-Slim's
``normalizer_fn``), ``padding``, ``strides`` and ``dilation_rate`` (TF-Slim's ``arg_scope``)."""

BATCH_NORM_DEFAULTS = ("momentum", "epsilon", "center", "scale")
"""The batch-norm options a scope sets for every batch norm: the ``batch_normalize()`` step and
the one a convolution adds with ``batch_normalize=``."""
METHODS.describe(BATCH_NORM_DEFAULTS, "also the batch norm of a convolution's `batch_normalize=`")


def kernel_regularizer_for(
    method: str, l2loss: float | None, kernel_regularizer: RegularizerLike
) -> RegularizerLike:
    """PrettyTensor's ``l2loss=`` as a Keras regularizer: adds ``l2loss * sum(w**2) / 2``.

    That is ``l2loss * tf.nn.l2_loss(w)``, PrettyTensor's weight decay.
    """
    l2loss = check_non_negative(method, "l2loss", l2loss)
    if l2loss is None:
        return kernel_regularizer
    if kernel_regularizer is not None:
        raise ValueError(
            f"{method}(): pass l2loss= or kernel_regularizer=, not both "
            f"(got l2loss={l2loss!r} and kernel_regularizer={kernel_regularizer!r})"
        )
    return keras.regularizers.L2(l2loss / 2.0)


def keywords(arguments: Mapping[str, Any], *positional: str) -> dict[str, Any]:
    """A method's keyword arguments from its ``locals()``: all but ``self`` and ``positional``."""
    return {k: v for k, v in arguments.items() if k != "self" and k not in positional}


def batch_norm_options(method: str, batch_normalize: BatchNormLike) -> dict[str, Any]:
    """The options of the batch norm a step adds: the batch-norm keys of the defaults scope in
    force (``epsilon=``, ``momentum=``, ...), then the step's own dict (it wins)."""
    check_bool_or_dict(method, "batch_normalize", batch_normalize)
    scoped = current_defaults().for_method("batch_normalize")
    options = {key: scoped[key] for key in BATCH_NORM_DEFAULTS if key in scoped}
    if isinstance(batch_normalize, Mapping):
        options.update(batch_normalize)
    return options


def kernel_layers(
    method: str,
    layer_class: Callable[..., keras.layers.Layer],
    *positional: Any,
    options: Mapping[str, Any],
    kernels: Sequence[str] = ("kernel",),
) -> list[keras.layers.Layer]:
    """The layers of a step around a layer with kernels (``Dense``, ``Conv2D``, ...).

    ``layer_class(*positional, **options)`` with PrettyTensor's two extra options handled
    (``options`` is usually ``keywords(locals(), ...)``: chain methods run unconverted by
    autograph, so their ``locals()`` are exactly their arguments):

    * ``l2loss`` (see :func:`kernel_regularizer_for`) regularizes every kernel named in
      ``kernels`` (``("depthwise", "pointwise")`` for a separable convolution);
    * ``batch_normalize`` (``True`` or a dict of options, see :func:`batch_norm_options`)
      builds the layer without activation, then batch normalization named ``<name>_bn``,
      then the activation named ``<name>_activation``. ``use_bias=None`` (the default)
      means a bias without batch normalization and none with it; ``use_bias=True`` keeps it.
    """
    rest = dict(options)
    batch_normalize = check_bool_or_dict(
        method, "batch_normalize", rest.pop("batch_normalize", False)
    )
    l2loss = rest.pop("l2loss", None)
    for kernel in kernels:
        key = f"{kernel}_regularizer"
        rest[key] = kernel_regularizer_for(method, l2loss, rest.get(key))
    use_bias = rest.pop("use_bias", None)
    if not batch_normalize:
        return [layer_class(*positional, **rest, use_bias=True if use_bias is None else use_bias)]
    name, activation = rest["name"], rest.pop("activation")
    layers = [
        layer_class(*positional, **rest, use_bias=False if use_bias is None else use_bias),
        keras.layers.BatchNormalization(
            name=f"{name}_bn", **batch_norm_options(method, batch_normalize)
        ),
    ]
    if activation is not None:
        layers.append(keras.layers.Activation(activation, name=f"{name}_activation"))
    return layers


def _captured_weights(fn: Any) -> list[str]:
    """Layers and variables ``fn`` reaches (its closure, the globals it names, its defaults,
    the object of a bound method, a partial's arguments): a ``Lambda`` would not track them."""
    found: list[str] = []

    def look(value: Any, label: str, depth: int = 0) -> None:
        if isinstance(value, (keras.layers.Layer, keras.Variable)) or (
            tf.is_tensor(value) and isinstance(value, tf.Variable)
        ):
            found.append(f"{label} ({type(value).__name__} {getattr(value, 'name', '')!r})")
        elif depth < 2 and isinstance(value, (list, tuple, set)):
            for item in value:
                look(item, label, depth + 1)
        elif depth < 2 and isinstance(value, Mapping):
            for item in value.values():
                look(item, label, depth + 1)

    target = fn
    if isinstance(target, functools.partial):
        look(target.args, "a partial argument")
        look(target.keywords, "a partial argument")
        target = target.func
    look(getattr(target, "__self__", None), "the object of the bound method")
    code_owner = getattr(target, "__func__", target)
    if inspect.isfunction(code_owner):
        try:
            variables = inspect.getclosurevars(code_owner)
        except (TypeError, ValueError):  # pragma: no cover - exotic callables
            return found
        for label, value in {**variables.nonlocals, **variables.globals}.items():
            look(value, label)
        look(code_owner.__defaults__ or (), "a default argument")
        look(code_owner.__kwdefaults__ or {}, "a default argument")
    return found


def _loads_back(fn: Any) -> bool:
    """Whether a ``Lambda`` of ``fn`` saved to ``.keras`` loads with the same function: a
    lambda (saved as bytecode, ``safe_mode=False``), a registered function, a Keras function,
    or a TensorFlow function that Keras resolves to its own of the same name."""
    if getattr(fn, "__name__", "") == "<lambda>":
        return True
    try:
        back = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(fn))
    except (TypeError, ValueError, AttributeError):
        return False
    if back is fn:
        return True
    module = str(getattr(fn, "__module__", ""))
    same_name = getattr(back, "__name__", None) == getattr(fn, "__name__", "")
    return same_name and module.startswith(("tensorflow", "keras"))


def check_function(method: str, argument: str, fn: Any) -> None:
    """Refuses a function a ``Lambda`` step would build wrong or save as a trap: one that
    uses layers or variables (their weights would not be trained or saved), or one that a
    saved model could not find again."""
    if not callable(fn):
        raise TypeError(f"{method}({argument}) needs a callable, got {type(fn).__name__} {fn!r}")
    captured = _captured_weights(fn)
    if captured:
        raise TypeError(
            f"{method}({argument}): the function uses {', '.join(captured)}, whose weights a "
            "Lambda step would neither train nor save. Apply the layer as a step instead: "
            "chain.apply_layer(layer) (several inputs: join(how=layer)), or register a "
            "method with cn.register."
        )
    if not _loads_back(fn):
        label = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"
        raise TypeError(
            f"{method}({argument}): {label} would be saved by name, and a saved model could "
            "not find it again. Register it, @keras.saving.register_keras_serializable(), so "
            "that models load with safe_mode=True, or pass a lambda (models load with "
            "safe_mode=False)."
        )
