"""Pieces shared by several method families: types, the option sets each family declares to
defaults scopes, and the layers of a step around a kernel (l2loss, batch normalization)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import keras
import numpy as np
import tensorflow as tf

from chainnet._arguments import (
    check_axis,
    check_bool,
    check_bool_or_dict,
    check_non_negative,
    check_number,
    check_rate,
)
from chainnet._defaults import current_defaults
from chainnet._shapes import check_float_dtype, check_numeric_dtype
from chainnet._specs import METHODS
from chainnet.layers.shape import step_dtype

__all__ = [
    "BATCH_NORM_DEFAULTS",
    "BATCH_NORM_KEYS",
    "CONV_DEFAULTS",
    "DENSE_DEFAULTS",
    "ActivationLike",
    "BatchNormLike",
    "InitializerLike",
    "IntOrTuple",
    "RegularizerLike",
    "batch_norm_options",
    "check_float_input",
    "check_function",
    "check_numeric_input",
    "int_dtype",
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


def _batch_norm_keys() -> tuple[str, ...]:
    """The options ``keras.layers.BatchNormalization`` takes, but ``name`` (chainnet names it)."""
    parameters = inspect.signature(keras.layers.BatchNormalization.__init__).parameters
    return tuple(
        key
        for key, parameter in parameters.items()
        if key not in ("self", "name") and parameter.kind is not parameter.VAR_KEYWORD
    )


BATCH_NORM_KEYS = _batch_norm_keys()
"""The keys a ``batch_normalize={...}`` dict may hold."""


def int_dtype(chain: Any) -> str | None:
    """``dtype=`` for a layer that computes in an int input's own dtype (``max(x, 0)``, a max
    pool, nearest upsampling): the input's dtype when it is not a float, so the layer reports
    the dtype it computes (Keras' default reported float32 and returned int32). ``None`` for a
    float input: the layer follows the dtype policy (autocast), as every Keras layer does."""
    dtype = chain.dtype
    return None if keras.backend.is_float_dtype(dtype) else step_dtype(dtype)


def check_float_input(chain: Any, method: str, name: str | None) -> None:
    """The registry's ``float_input=True`` check, from a method's body: for a step that needs
    floats only with some arguments (``upsample(interpolation="bilinear")``)."""
    check_float_dtype(chain.dtype, where=f"{method}() at layer {name!r}", source=chain.name)


def check_numeric_input(chain: Any, method: str, name: str | None) -> None:
    """Refuses a bool input at build time (symbolic or eager alike) for a step TensorFlow
    computes on numbers only."""
    check_numeric_dtype(
        chain.dtype,
        where=f"{method}() at layer {name!r}",
        source=chain.name,
        reason="TensorFlow has no bool kernel for it",
    )


def batch_norm_options(
    method: str, batch_normalize: BatchNormLike, rank: int | None = None
) -> dict[str, Any]:
    """The options of the batch norm a step adds: the batch-norm keys of the defaults scope in
    force (``epsilon=``, ``momentum=``, ...), then the step's own dict (it wins).

    Every option is checked here, before any layer is made: the dict's keys (those of
    ``keras.layers.BatchNormalization`` but ``name``), ``epsilon > 0``, ``momentum`` in
    [0, 1), ``center``/``scale`` bools, and ``axis``, a non-batch axis of an output of
    ``rank`` (when known).
    """
    check_bool_or_dict(method, "batch_normalize", batch_normalize)
    scoped = current_defaults().for_method("batch_normalize")
    options = {key: scoped[key] for key in BATCH_NORM_DEFAULTS if key in scoped}
    where = {key: f"{key} (from the defaults scope)" for key in options}
    if isinstance(batch_normalize, Mapping):
        for key in batch_normalize:
            if key == "name":
                raise ValueError(
                    f"{method}(batch_normalize): 'name' cannot be set, the batch norm is "
                    "named '<step>_bn'"
                )
            if key not in BATCH_NORM_KEYS:
                raise ValueError(
                    f"{method}(batch_normalize): unknown option {key!r}; expected one of "
                    f"{sorted(BATCH_NORM_KEYS)}"
                )
        options.update(batch_normalize)
        where.update({key: f"batch_normalize[{key!r}]" for key in batch_normalize})
    if "epsilon" in options:
        epsilon = check_number(method, where["epsilon"], options["epsilon"])
        if epsilon <= 0:
            raise ValueError(
                f"{method}({where['epsilon']}): expected a number > 0, got {options['epsilon']!r}"
            )
    if "momentum" in options:
        check_rate(method, where["momentum"], options["momentum"])
    for key in ("center", "scale"):
        if key in options:
            check_bool(method, where[key], options[key])
    if "axis" in options and rank is not None:
        axis = check_axis(method, where["axis"], options["axis"], rank)
        if axis % rank == 0:
            raise ValueError(
                f"{method}({where['axis']}): axis {axis} is the batch axis; batch "
                "normalization needs a features axis (-1: the last)"
            )
        options["axis"] = axis
    return options


def kernel_layers(
    method: str,
    layer_class: Callable[..., keras.layers.Layer],
    *positional: Any,
    options: Mapping[str, Any],
    kernels: Sequence[str] = ("kernel",),
    rank: int | None = None,
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

    ``rank`` is the rank of the step's output, for checking a batch norm's ``axis``; a
    convolution's is known from its layer.
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
    if use_bias is not None:
        use_bias = check_bool(method, "use_bias", use_bias)
    if not batch_normalize:
        return [layer_class(*positional, **rest, use_bias=True if use_bias is None else use_bias)]
    name, activation = rest["name"], rest.pop("activation")
    with_bias = False if use_bias is None else use_bias
    kernel_layer = layer_class(*positional, **rest, use_bias=with_bias)
    if rank is None and isinstance(getattr(kernel_layer, "rank", None), int):
        rank = kernel_layer.rank + 2  # a convolution: batch, its spatial axes, channels
    layers = [
        kernel_layer,
        keras.layers.BatchNormalization(
            name=f"{name}_bn", **batch_norm_options(method, batch_normalize, rank)
        ),
    ]
    if activation is not None:
        layers.append(keras.layers.Activation(activation, name=f"{name}_activation"))
    return layers


def _captured_weights(fn: Any) -> list[str]:
    """Layers and variables ``fn`` reaches: its closure, the globals it names, its defaults,
    the object of a bound method, a partial's arguments, and from those, the attributes of
    objects and the functions they call (a few levels deep): a ``Lambda`` would not track
    their weights."""
    found: list[str] = []
    seen: set[int] = set()

    def look(value: Any, label: str, depth: int) -> None:
        if depth > 4 or id(value) in seen or inspect.ismodule(value) or isinstance(value, type):
            return
        seen.add(id(value))
        if isinstance(value, (keras.layers.Layer, keras.Variable, tf.Variable, tf.Module)):
            found.append(f"{label} ({type(value).__name__} {getattr(value, 'name', '')!r})")
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                look(item, label, depth + 1)
        elif isinstance(value, Mapping):
            for item in value.values():
                look(item, label, depth + 1)
        elif callable(value):
            look_into_function(value, label, depth + 1)
        elif hasattr(value, "__dict__") and not isinstance(value, (np.ndarray, np.generic)):
            for name, item in vars(value).items():
                look(item, f"{label}.{name}", depth + 1)

    def look_into_function(target: Any, label: str, depth: int) -> None:
        if isinstance(target, functools.partial):
            look(target.args, label, depth)
            look(target.keywords, label, depth)
            target = target.func
        owner = getattr(target, "__self__", None)
        if owner is not None:
            look(owner, label, depth)
        code_owner = getattr(target, "__func__", target)
        if not inspect.isfunction(code_owner) or _is_library(code_owner):
            return
        try:
            variables = inspect.getclosurevars(code_owner)
        except (TypeError, ValueError):  # pragma: no cover - exotic callables
            return
        for name, item in {**variables.nonlocals, **variables.globals}.items():
            look(item, name, depth)
        look(code_owner.__defaults__ or (), f"{label}'s defaults", depth)
        look(code_owner.__kwdefaults__ or {}, f"{label}'s defaults", depth)

    look_into_function(fn, getattr(fn, "__name__", "fn"), 0)
    return found


def _is_library(function: Any) -> bool:
    """A function of Keras, TensorFlow or NumPy (not the user's: nothing of theirs to find)."""
    module = str(getattr(function, "__module__", "") or "")
    return module.split(".")[0] in ("keras", "tensorflow", "numpy", "tf_keras")


def _lambda_globals(fn: Any) -> list[str]:
    """The global names a lambda uses: ``Lambda.from_config`` loads its code without globals,
    so a saved lambda that names ``tf``, ``keras.ops`` or a module constant never loads."""
    if getattr(fn, "__name__", "") != "<lambda>" or not inspect.isfunction(fn):
        return []
    try:
        return sorted(inspect.getclosurevars(fn).globals)
    except (TypeError, ValueError):  # pragma: no cover
        return []


def _loads_back(fn: Any) -> bool:
    """Whether a ``Lambda`` of ``fn`` saved to ``.keras`` loads with the same function: a
    lambda that names no globals (saved as bytecode, ``safe_mode=False``), a registered
    function, a Keras function, or a TensorFlow function that Keras resolves to its own of
    the same name."""
    if getattr(fn, "__name__", "") == "<lambda>":
        return not _lambda_globals(fn)
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
    names = _lambda_globals(fn)
    if names:
        raise TypeError(
            f"{method}({argument}): the lambda uses the global name(s) {names}, which Keras "
            "cannot restore when the model is loaded (a saved lambda keeps its code, not its "
            "module). Register a function, @keras.saving.register_keras_serializable(), or "
            "use only the tensor's own methods and operators in the lambda."
        )
    if not _loads_back(fn):
        label = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"
        raise TypeError(
            f"{method}({argument}): {label} would be saved by name, and a saved model could "
            "not find it again. Register it, @keras.saving.register_keras_serializable(), so "
            "that models load with safe_mode=True, or pass a lambda (models load with "
            "safe_mode=False)."
        )
