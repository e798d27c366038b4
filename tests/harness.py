"""A reusable check for chain methods, in the spirit of Keras' ``run_layer_test``.

:func:`run_method_test` builds one chain step three ways (symbolic, eager, inside
``tf.function``) and compares it with the same step written by hand with Keras layers:
output shape, number of variables and parameters, values once the weights are the same,
a ``.keras`` round trip with ``safe_mode=True``, gradients (``tf.GradientTape``) against the
reference's, and the step built under the ``mixed_float16`` policy against Keras' own layers
under the same policy.

Steps that take other chains (merges, heads with labels, templates of several inputs) name
their extra inputs with :class:`ExtraInput` and refer to them with :class:`Use` in their
arguments (or receive them as further arguments of a step function). Steps that give several
chains (``split``, ``unstack``, ``softmax_classifier``) give ``expected_output_shapes``.

A check that does not apply to a row (an integer step has no gradient) is *exempt*; a check
that fails because of a chainnet bug is a *known bug* (a strict expected failure). Both are
declared, with their reasons, in :data:`EXEMPTIONS` and :data:`KNOWN_BUGS` below, and only
there.

The ``test_harness_*`` functions at the bottom check that the harness itself fails when
it should (a wrong shape, a wrong reference, a wrong gradient, a wrong mixed-precision
dtype, an exemption without a reason...).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

import chainnet as cn

__all__ = [
    "CHECKS",
    "EXEMPTIONS",
    "KNOWN_BUGS",
    "ExtraInput",
    "Fresh",
    "MethodCase",
    "Use",
    "apply_step",
    "build_outputs",
    "random_input",
    "reference_model",
    "run_method_test",
]

Step = Callable[..., Any]

#: The checks after the symbolic-versus-reference core, each of which a row may be exempt
#: from (with a reason) or fail as a known chainnet bug (with a reason).
CHECKS = ("eager", "tf_function", "saving", "gradient", "mixed_precision")

# ---------------------------------------------------------------------------------------
# The one place where rows are excused from checks. Keys are row ids (unique across all the
# tables, see tests/methods/test_coverage.py); values map a check of CHECKS to the reason.
# An exempt check still runs: it must fail, else the exemption is stale and the row fails.
# ---------------------------------------------------------------------------------------
_NO_FLOAT_PATH = "integer input and no variables: nothing to differentiate"
_INT_OUTPUT = "integer output: no gradient flows through a cast to integers"
_TOP_K = "top-k accuracy counts argmax hits: it is not differentiable"
_SEED_STATE = (
    "the layer makes a random-seed variable, which cannot be created inside a tf.function "
    "(tests/methods/test_normalization.py::test_dropout_in_a_graph_chain_says_why_it_"
    "cannot_build checks the error)"
)
_NO_HALF_3D_POOL = (
    "TensorFlow has no float16 MaxPool3D/AvgPool3D kernel on CPU: Keras' own layer fails "
    "the same way under mixed_float16 (the check runs where a GPU is present)"
)
EXEMPTIONS: dict[str, dict[str, str]] = {
    # integer steps
    "cast": {"gradient": _INT_OUTPUT},
    "cast-int-to-float": {"gradient": _NO_FLOAT_PATH},
    "int-chain-times-int": {"gradient": _NO_FLOAT_PATH},
    "to_dense_one_hot": {"gradient": _NO_FLOAT_PATH},
    "to_dense_one_hot-int-rank2": {"gradient": _NO_FLOAT_PATH},
    "to_dense_one_hot-float-ids": {
        "gradient": "one_hot casts the float ids to integers: no gradient flows back",
    },
    "concat-int": {"gradient": _NO_FLOAT_PATH},
    "evaluate_classifier": {"gradient": _TOP_K},
    "evaluate_classifier-one-hot-top2": {"gradient": _TOP_K},
    **{
        row: {"gradient": _TOP_K}
        for row in (
            "evaluate_classifier_sparse",
            "evaluate_classifier_fraction_sparse",
        )
    },
    "stop_gradient": {"gradient": "stop_gradient's very purpose: no gradient flows through it"},
    "reduce_all": {"gradient": _NO_FLOAT_PATH + " (bool)"},
    "reduce_any": {"gradient": _NO_FLOAT_PATH + " (bool)"},
    "reduce_join": {"gradient": "string input and output: nothing to differentiate"},
    "to_int32": {"gradient": _INT_OUTPUT},
    "to_int64": {"gradient": _NO_FLOAT_PATH},
    "to_float": {"gradient": _NO_FLOAT_PATH},
    "tensor_shape": {"gradient": "an int32 shape: no gradient flows into a shape"},
    "evaluate_precision_recall": {
        "gradient": "precision and recall count thresholded predictions: not differentiable"
    },
    # Python lambdas cannot load with safe_mode=True
    # layers holding a seed variable cannot be built inside tf.function
    "dropout": {"tf_function": _SEED_STATE},
    "dropout-keep_prob": {"tf_function": _SEED_STATE},
    "apply_layer-weightless": {"tf_function": _SEED_STATE + " (GaussianNoise, like Dropout)"},
    # no float16 3D pooling kernels on CPU
    **(
        {}
        if tf.config.list_physical_devices("GPU")
        else {
            "max_pool-rank5": {"mixed_precision": _NO_HALF_3D_POOL},
            "average_pool-rank5-stride-defaults-to-kernel": {"mixed_precision": _NO_HALF_3D_POOL},
        }
    ),
}

# ---------------------------------------------------------------------------------------
# Checks that fail because chainnet misbehaves: strict expected failures. The row still runs
# every other check; the named check must fail (the test is then reported as xfailed), and
# the row fails once the bug is fixed, so that the entry is removed.
# ---------------------------------------------------------------------------------------
KNOWN_BUGS: dict[str, dict[str, str]] = {}


# ---------------------------------------------------------------------------------------
# Rows, operands and steps
# ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ExtraInput:
    """Another model input besides ``x``: its shape (without batch), dtype and data.

    Without ``data``, a random batch (:func:`random_input`) is drawn: floats in
    ``[low, high)``, ints in ``[int(low), int(high))``.
    """

    shape: tuple[int | None, ...]
    dtype: str = "float32"
    data: np.ndarray | None = None
    low: float = -2.0
    high: float = 2.0

    def batch(self, seed: int) -> np.ndarray:
        """The data fed to this input."""
        if self.data is not None:
            return np.asarray(self.data)
        if np.issubdtype(np.dtype(self.dtype), np.integer):
            return random_input(
                self.shape, self.dtype, seed=seed, int_range=(int(self.low), int(self.high))
            )
        return random_input(self.shape, self.dtype, seed=seed, low=self.low, high=self.high)


@dataclasses.dataclass(frozen=True)
class Use:
    """In a row's ``args``/``kwargs``: the chain of the extra input ``name``."""

    name: str


@dataclasses.dataclass(frozen=True)
class Fresh:
    """In a row's ``args``/``kwargs``: ``make()``, called once for each network the harness
    builds (a template: the symbolic, eager and graph chains of one run share it; the
    mixed-precision run gets its own, made under the policy)."""

    make: Callable[[], Any]


class MethodCase:
    """One row of a method table: ``MethodCase("conv2d", (3, 4), {...}, input_shape=...)``.

    Every keyword is passed on to :func:`run_method_test`; ``id`` names the pytest case and
    looks up the row's entries in :data:`EXEMPTIONS` and :data:`KNOWN_BUGS`; ``marks`` are
    pytest marks of the case.
    """

    def __init__(
        self,
        method: str | Step,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        id: str | None = None,  # noqa: A002 - as in pytest.param
        marks: Sequence[Any] = (),
        **options: Any,
    ) -> None:
        if "exempt" in options or "known_bugs" in options:
            raise TypeError("declare exemptions and known bugs in harness.EXEMPTIONS/KNOWN_BUGS")
        self.method = method
        self.args = args
        self.kwargs = kwargs or {}
        self.options = options
        self.marks = tuple(marks)
        self.id = id or (method if isinstance(method, str) else method.__name__)

    @property
    def methods_under_test(self) -> set[str]:
        """The methods of the steps this row's outputs come from."""
        outputs, _ = build_outputs(self.method, self.args, self.kwargs, **self._input_options())
        return {chain.method for chain in outputs}

    def _input_options(self) -> dict[str, Any]:
        """The options that say what the inputs are."""
        keys = ("input_shape", "input_dtype", "extra_inputs")
        return {k: self.options[k] for k in keys if k in self.options}

    def param(self) -> Any:
        """The row as a pytest parameter (its id and marks)."""
        return pytest.param(self, id=self.id, marks=self.marks)

    def run(self, tmp_path: Path) -> dict[str, Any]:
        """:func:`run_method_test` on the row, with its declared exemptions and known bugs."""
        return run_method_test(
            self.method,
            self.args,
            self.kwargs,
            tmp_path=tmp_path,
            exempt=EXEMPTIONS.get(self.id, {}),
            known_bugs=KNOWN_BUGS.get(self.id, {}),
            **self.options,
        )


def _resolve(value: Any, extras: Mapping[str, cn.Chain], fresh: dict[int, Any]) -> Any:
    """``value`` with :class:`Use` and :class:`Fresh` placeholders replaced (in lists, tuples
    and dicts too)."""
    if isinstance(value, Use):
        if value.name not in extras:
            raise KeyError(f"Use({value.name!r}): no extra input of that name in {list(extras)}")
        return extras[value.name]
    if isinstance(value, Fresh):
        if id(value) not in fresh:
            fresh[id(value)] = value.make()
        return fresh[id(value)]
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(v, extras, fresh) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v, extras, fresh) for k, v in value.items()}
    return value


def apply_step(
    chain: cn.Chain,
    method: str | Step,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    extras: Mapping[str, cn.Chain] | None = None,
    fresh: dict[int, Any] | None = None,
) -> Any:
    """``chain.<method>(*args, **kwargs)``, or ``method(chain, *extras)`` for a callable;
    :class:`Use` and :class:`Fresh` placeholders in the arguments are resolved first."""
    extras = dict(extras or {})
    fresh = {} if fresh is None else fresh
    if isinstance(method, str):
        resolved_args = _resolve(tuple(args), extras, fresh)
        resolved_kwargs = _resolve(dict(kwargs or {}), extras, fresh)
        return getattr(chain, method)(*resolved_args, **resolved_kwargs)
    return method(chain, *extras.values())


def _outputs(result: Any) -> list[cn.Chain]:
    """The chains a step gave: one chain, or the chains of a tuple (``None`` entries, as the
    loss of an unlabelled ``softmax_classifier``, are left out)."""
    if isinstance(result, cn.Chain):
        return [result]
    assert isinstance(result, (list, tuple)), f"a step must give chains, got {result!r}"
    chains = [r for r in result if r is not None]
    assert chains and all(isinstance(c, cn.Chain) for c in chains), f"not chains: {result!r}"
    return chains


def build_outputs(
    method: str | Step,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    input_shape: Sequence[int | None],
    input_dtype: str = "float32",
    extra_inputs: Mapping[str, ExtraInput] | None = None,
    fresh: dict[int, Any] | None = None,
) -> tuple[list[cn.Chain], Any]:
    """The step on a symbolic input ``x`` (and inputs named after ``extra_inputs`` in the same
    network): its output chains and the step's own result. ``fresh`` holds the objects made
    for :class:`Fresh` placeholders (shared with later builds that pass the same dict)."""
    x = cn.input(tuple(input_shape), dtype=input_dtype, name="x")
    extras = {
        name: x.network.input(spec.shape, dtype=spec.dtype, name=name)
        for name, spec in (extra_inputs or {}).items()
    }
    result = apply_step(x, method, args, kwargs, extras, fresh)
    return _outputs(result), result


def random_input(
    shape: Sequence[int | None],
    dtype: str = "float32",
    *,
    batch: int = 2,
    seed: int = 0,
    low: float = -2.0,
    high: float = 2.0,
    int_range: tuple[int, int] = (0, 5),
) -> np.ndarray:
    """A small random batch: floats in ``[low, high)``, or ints in ``int_range``."""
    rng = np.random.default_rng(seed)
    full = (batch, *shape)
    if np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(*int_range, size=full).astype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, size=full).astype(bool)
    return rng.uniform(low, high, size=full).astype(dtype)


def reference_model(
    reference: Callable[..., Any],
    input_shape: Sequence[int | None],
    input_dtype: str,
    extra_inputs: Mapping[str, ExtraInput] | None = None,
    *,
    autocast_to: str | None = None,
) -> keras.Model:
    """The hand-written Keras model: ``reference()`` or ``reference(x, *extras)`` returns a
    layer, a list of layers (applied in order to ``x``), or the output tensor(s) themselves.
    (Parameters with a default value do not count: ``lambda r=rank: [...]`` takes no input.)

    The inputs are named like the chain's: ``x`` and the names of ``extra_inputs``. With
    ``autocast_to``, float inputs are cast to that dtype before the reference sees them, as a
    Keras layer autocasts its inputs to its compute dtype: a reference written with
    ``keras.ops`` then computes as the same ops inside a layer would.
    """
    x = keras.Input(shape=tuple(input_shape), dtype=input_dtype, name="x")
    extras = [
        keras.Input(shape=spec.shape, dtype=spec.dtype, name=name)
        for name, spec in (extra_inputs or {}).items()
    ]

    def seen(t: Any) -> Any:
        return keras.ops.cast(t, autocast_to) if autocast_to and "float" in _dtype(t) else t

    takes_input = any(
        p.default is inspect.Parameter.empty
        for p in inspect.signature(reference).parameters.values()
    )
    assert takes_input or not extras, "a reference with extra inputs must take them"
    built = reference(seen(x), *map(seen, extras)) if takes_input else reference()
    if isinstance(built, keras.layers.Layer):
        built = [built]
    if isinstance(built, (list, tuple)) and all(isinstance(b, keras.layers.Layer) for b in built):
        y = seen(x)
        for layer in built:
            y = layer(y)
        built = y
    return keras.Model([x, *extras] if extras else x, built)


def _randomize(model: keras.Model, seed: int = 1) -> None:
    """Gives every variable (biases, moving statistics too) a non-trivial positive value."""
    rng = np.random.default_rng(seed)
    for var in model.weights:
        var.assign(rng.uniform(0.2, 1.2, size=tuple(var.shape)).astype(var.dtype))


def _value(x: Any) -> np.ndarray:
    """``x`` as a NumPy array."""
    return np.asarray(x)


def _dtype(x: Any) -> str:
    """The dtype of a tensor, variable or array, as Keras spells it (``"float32"``)."""
    return str(keras.backend.standardize_dtype(x.dtype))


def _close(actual: Any, expected: Any, *, rtol: float, atol: float, what: str) -> None:
    """Same shape and dtype, and close values (equal ones for ints and bools)."""
    actual, expected = _value(actual), _value(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    if np.issubdtype(actual.dtype, np.floating):
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def _feed(model: keras.Model, data: Mapping[str, Any]) -> Any:
    """``data`` (by input name) in the order of the model's inputs."""
    names = [t.name for t in model.inputs]
    assert sorted(names) == sorted(data), f"model inputs {names}, declared inputs {list(data)}"
    return data[names[0]] if len(names) == 1 else [data[n] for n in names]


def _call(model: keras.Model, data: Mapping[str, Any]) -> list[Any]:
    """The model's outputs (always a list) in inference mode."""
    out = model(_feed(model, data), training=False)
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _output_shapes(model: keras.Model) -> list[tuple[int | None, ...]]:
    """The shapes of the model's outputs (always a list)."""
    return [tuple(t.shape) for t in model.outputs]


def _checked_reasons(declared: Mapping[str, str] | None, what: str) -> dict[str, str]:
    """``declared`` after checking that it names known checks, each with a reason."""
    declared = dict(declared or {})
    for check, reason in declared.items():
        assert check in CHECKS, f"{what}: unknown check {check!r}; checks are {CHECKS}"
        assert isinstance(reason, str) and len(reason.strip()) >= 10, (
            f"{what}: the {check!r} entry needs a reason (a sentence), got {reason!r}"
        )
    return declared


# ---------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------
def _gradients(
    model: keras.Model, data: Mapping[str, np.ndarray], cotangents: Sequence[np.ndarray | None]
) -> tuple[list[Any], dict[str, Any]]:
    """``tf.GradientTape`` gradients of ``sum(output * cotangent)`` (float outputs) w.r.t. the
    model's trainable variables, and w.r.t. its float inputs (by name)."""
    tensors = {name: tf.convert_to_tensor(value) for name, value in data.items()}
    watched = {name: t for name, t in tensors.items() if t.dtype.is_floating}
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(list(watched.values()))
        outputs = _call(model, tensors)
        terms = [
            tf.reduce_sum(tf.cast(out, "float32") * weight)
            for out, weight in zip(outputs, cotangents)
            if weight is not None
        ]
        assert terms, "no float output to differentiate (declare a 'gradient' exemption)"
        scalar = tf.add_n(terms)
    variables = tape.gradient(scalar, model.trainable_variables)
    inputs = {name: tape.gradient(scalar, t) for name, t in watched.items()}
    del tape
    dense = [None if g is None else tf.convert_to_tensor(g) for g in variables]
    return dense, inputs


def _check_gradients(
    model: keras.Model,
    ref: keras.Model,
    data: Mapping[str, np.ndarray],
    *,
    rtol: float,
    atol: float,
) -> None:
    """Gradients of a scalar of the outputs exist, are finite and equal the reference's."""
    _randomize(model, seed=2)
    ref.set_weights(model.get_weights())
    rng = np.random.default_rng(3)
    outputs = [_value(o) for o in _call(model, data)]
    cotangents = [
        rng.normal(size=o.shape).astype("float32") if np.issubdtype(o.dtype, np.floating) else None
        for o in outputs
    ]
    got_vars, got_inputs = _gradients(model, data, cotangents)
    want_vars, want_inputs = _gradients(ref, data, cotangents)
    assert len(got_vars) == len(want_vars)
    for var, got, want in zip(model.trainable_variables, got_vars, want_vars):
        assert got is not None, f"no gradient reaches the variable {var.path}"
        assert want is not None, f"the reference has no gradient for {var.path}"
        assert np.all(np.isfinite(got)), f"gradient of {var.path} is not finite"
        _close(got, want, rtol=rtol, atol=atol, what=f"gradient of {var.path} vs reference")
    for name, got in got_inputs.items():
        want = want_inputs[name]
        assert (got is None) == (want is None), (
            f"gradient w.r.t. input {name!r}: chain {'none' if got is None else 'some'}, "
            f"reference {'none' if want is None else 'some'}"
        )
        if got is not None:
            assert np.all(np.isfinite(got)), f"gradient w.r.t. input {name!r} is not finite"
            _close(got, want, rtol=rtol, atol=atol, what=f"gradient w.r.t. input {name!r}")
    flowing = [g for g in [*got_vars, *got_inputs.values()] if g is not None]
    assert flowing, (
        "no gradient: the step has no trainable variable and no float input reaches a float "
        "output differentiably (declare a 'gradient' exemption with the reason)"
    )


def _check_mixed_precision(
    build: Callable[[], list[cn.Chain]],
    make_reference: Callable[[str], keras.Model],
    model: keras.Model,
    data: Mapping[str, np.ndarray],
    *,
    rtol: float,
    atol: float,
) -> None:
    """Under ``mixed_float16``: the chain reports the dtypes it really computes, the same
    dtypes as Keras' reference under the policy (outputs and variables), and values close to
    the float32 model's and the reference's within float16 tolerance.

    A chain step is a Keras layer, so the reference is taken as one too: it is built under the
    policy and sees its float inputs cast to float16, as a layer's autocast would give them
    (Keras layers in it compute in float16 anyway; ``keras.ops`` then do too; Keras' losses
    and metrics still compute in float32, explicit dtypes stay).
    """
    previous = keras.config.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        outputs = build()
        mixed = outputs[0].model() if len(outputs) == 1 else cn.model(outputs)
        ref = make_reference(keras.config.dtype_policy().compute_dtype)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    weights = model.get_weights()
    mixed.set_weights(weights)
    ref.set_weights(weights)
    got = _call(mixed, data)
    want = _call(ref, data)
    # Keras' own symbolic dtypes may differ from what its layers compute (Concatenate of
    # int32 inputs reports the float compute dtype, and computes int32): compare what is
    # computed, and require the chain to report what it computes.
    actual = [_dtype(o) for o in got]
    symbolic = [c.dtype for c in outputs]
    assert actual == symbolic, f"mixed_float16: the chain reports {symbolic} but computes {actual}"
    assert actual == [_dtype(o) for o in want], (
        f"mixed_float16: the chain computes {actual}, Keras' reference {[_dtype(o) for o in want]}"
    )
    assert [_dtype(v) for v in mixed.weights] == [_dtype(v) for v in ref.weights], (
        "mixed_float16: variable dtypes differ from the reference's"
    )
    full = _call(model, data)
    for i, (g, w, f) in enumerate(zip(got, want, full)):
        g, w, f = _value(g), _value(w), _value(f)
        if np.issubdtype(g.dtype, np.floating):
            np.testing.assert_allclose(
                g.astype("float32"), w.astype("float32"), rtol=rtol, atol=atol,
                err_msg=f"mixed_float16 output {i} vs Keras' reference under the policy",
            )  # fmt: skip
            np.testing.assert_allclose(
                g.astype("float32"), f.astype("float32"), rtol=rtol, atol=atol,
                err_msg=f"mixed_float16 output {i} vs the float32 model",
            )  # fmt: skip
        else:
            np.testing.assert_array_equal(g, f, err_msg=f"mixed_float16 output {i}")


def run_method_test(
    method: str | Step,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    input_shape: Sequence[int | None],
    reference: Callable[..., Any],
    expected_num_weights: int,
    expected_output_shape: Sequence[int | None] | None = None,
    expected_output_shapes: Sequence[Sequence[int | None]] | None = None,
    expected_num_params: int | None = None,
    expected_layer_names: Sequence[str] | None = None,
    expected_dtype: str | Sequence[str] | None = None,
    expected_num_losses: int | None = None,
    input_dtype: str = "float32",
    input_data: np.ndarray | None = None,
    extra_inputs: Mapping[str, ExtraInput] | None = None,
    tmp_path: Path,
    safe_mode: bool = True,
    allow_lambda: bool = False,
    builds_in_tf_function: bool | None = None,
    exempt: Mapping[str, str] | None = None,
    known_bugs: Mapping[str, str] | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    gradient_rtol: float | None = None,
    gradient_atol: float | None = None,
    mixed_rtol: float = 2e-2,
    mixed_atol: float = 2e-2,
) -> dict[str, Any]:
    """Checks one chain step against the hand-written Keras layer(s).

    ``method`` is a method name (``"conv2d"``, called with ``args``/``kwargs``) or a function
    of a chain (``lambda c: c[:, 1:3]``), which also receives the chains of ``extra_inputs``
    (``lambda x, y: x.concat(-1, [y])``); in ``args``/``kwargs``, ``Use("y")`` stands for the
    chain of the extra input ``y`` and ``Fresh(make)`` for an object made once per network
    (a template). ``reference`` takes the Keras inputs in the same order.

    ``expected_output_shape`` (one output) or ``expected_output_shapes`` (a step that gives
    several chains) include the batch dimension as ``None``; ``expected_num_weights`` counts
    variables (kernel, bias, moving statistics...). ``exempt`` and ``known_bugs`` map checks
    of :data:`CHECKS` to reasons (tables declare them in :data:`EXEMPTIONS` and
    :data:`KNOWN_BUGS`). Returns the chain(s), the model and the reference for more checks.

    The checks, in order:

    * symbolic: ``cn.input(input_shape, name="x")`` (and the extra inputs) then the step;
      shapes, method, auto name, layer names, dtypes; no ``Lambda`` (unless ``allow_lambda``);
    * reference: same output shapes, variable count and shapes, ``count_params()``; with every
      variable randomized (moving statistics included) and copied into the reference
      (``ref.set_weights(model.get_weights())``) the outputs are equal (``training=False``);
      the number of added losses (``expected_num_losses``);
    * eager: ``cn.wrap(data)`` then the step. Its layers ran at once with their own initial
      weights, so those weights are copied into the symbolic network by layer name
      (``network.get_weights`` / ``network.set_weights``: the names are deterministic)
      and the symbolic model must reproduce the eager values;
    * ``tf_function``: the model called in a graph equals eager calls; the step built on graph
      tensors equals too, or, for a step that makes variables, raises ``cn.ChainError``
      telling to build outside (``builds_in_tf_function`` defaults to "no variables");
    * ``saving``: save and ``load_model(safe_mode=safe_mode)`` give identical outputs;
    * ``gradient``: ``tf.GradientTape`` gradients of a random weighting of the float outputs
      w.r.t. every trainable variable exist, are finite and equal the reference's; those
      w.r.t. the float inputs exist where the reference's do, and equal them; some gradient
      must flow;
    * ``mixed_precision``: the step and the reference built under ``mixed_float16`` (the
      reference seeing float inputs autocast to float16, as one Keras layer would) compute
      the same dtypes, outputs and variables; the chain reports the dtypes it computes; the
      values match the reference's and the float32 model's within ``mixed_rtol``/
      ``mixed_atol``. The previous policy is restored, whatever happens.

    An exempt check must fail (else the exemption is stale); a known-bug check must fail
    too, and the test then ends as an expected failure once every other check has passed.
    """
    kwargs = dict(kwargs or {})
    exempt = _checked_reasons(exempt, "exempt")
    known_bugs = _checked_reasons(known_bugs, "known_bugs")
    assert not set(exempt) & set(known_bugs), "a check is either exempt or a known bug"
    specs = dict(extra_inputs or {})
    assert "x" not in specs, "the first input is named 'x'"
    several = expected_output_shapes is not None
    assert several != (expected_output_shape is not None), (
        "give expected_output_shape (one output) or expected_output_shapes (several)"
    )
    expected_shapes = (
        [tuple(s) for s in expected_output_shapes]  # type: ignore[union-attr]
        if several
        else [tuple(expected_output_shape)]  # type: ignore[arg-type]
    )
    inputs = {"input_shape": input_shape, "input_dtype": input_dtype, "extra_inputs": specs}
    fresh: dict[int, Any] = {}  # Fresh objects (templates) of this run: symbolic, eager, graph

    # --- symbolic: shape, naming, layers -------------------------------------------
    outputs, result = build_outputs(method, args, kwargs, **inputs, fresh=fresh)
    if not several:
        assert isinstance(result, cn.Chain), f"one chain expected, got {result!r}"
    assert [c.shape for c in outputs] == expected_shapes, (
        f"symbolic shapes {[c.shape for c in outputs]} != expected {expected_shapes}"
    )
    chain = outputs[0]
    if isinstance(method, str):
        assert all(c.method == method for c in outputs), [c.method for c in outputs]
        if "name" not in kwargs and method not in ("apply_layer", "apply_template"):
            names = [c.name for c in outputs]
            if several:
                assert all(n.startswith(method) for n in names), f"parts are named {names}"
            else:
                assert chain.name == method, f"first {method} step is named {chain.name!r}"
    if expected_layer_names is not None:
        layers = [layer.name for c in outputs for layer in c.layers]
        assert layers == list(expected_layer_names), layers
    expected_dtypes = (
        None
        if expected_dtype is None
        else [expected_dtype] * len(outputs)
        if isinstance(expected_dtype, str)
        else list(expected_dtype)
    )
    if expected_dtypes is not None:
        assert [c.dtype for c in outputs] == expected_dtypes
    model = chain.model() if not several else cn.model(outputs)
    assert _output_shapes(model) == expected_shapes
    if not allow_lambda:
        lambdas = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Lambda)]
        assert not lambdas, f"built-in methods must not lower to Lambda layers: {lambdas}"

    # --- against the hand-written reference -----------------------------------------
    def make_reference(autocast_to: str | None = None) -> keras.Model:
        return reference_model(reference, input_shape, input_dtype, specs, autocast_to=autocast_to)

    ref = make_reference()
    assert _output_shapes(ref) == expected_shapes, (
        f"the reference gives {_output_shapes(ref)}, expected {expected_shapes}"
    )
    assert len(model.weights) == expected_num_weights, (
        f"{len(model.weights)} variables, expected {expected_num_weights}: "
        f"{[v.path for v in model.weights]}"
    )
    assert len(ref.weights) == len(model.weights)
    assert [tuple(v.shape) for v in model.weights] == [tuple(v.shape) for v in ref.weights]
    assert model.count_params() == ref.count_params()
    if expected_num_params is not None:
        assert model.count_params() == expected_num_params
    assert len(model.trainable_weights) == len(ref.trainable_weights)

    data = {"x": random_input(input_shape, input_dtype) if input_data is None else input_data}
    data.update({name: spec.batch(seed=i + 1) for i, (name, spec) in enumerate(specs.items())})
    _randomize(model)
    ref.set_weights(model.get_weights())
    out = _call(model, data)
    for i, (got, want) in enumerate(zip(out, _call(ref, data))):
        _close(got, want, rtol=rtol, atol=atol, what=f"chain vs reference, output {i}")
    if expected_dtypes is not None:
        assert [_dtype(o) for o in out] == expected_dtypes
    if expected_num_losses is not None:
        assert len(model.losses) == expected_num_losses, f"model.losses: {model.losses}"

    confirmed: list[str] = []

    def check(name: str, run: Callable[[], None]) -> None:
        """Runs one check; an exempt or known-bug check must fail."""
        if name not in exempt and name not in known_bugs:
            run()
            return
        excuse = exempt.get(name) or known_bugs[name]
        try:
            run()
        except (Exception, pytest.fail.Exception) as err:  # noqa: BLE001 - any failure confirms it
            if name in known_bugs:
                first_line = (str(err).strip().splitlines() or [""])[0][:200]
                confirmed.append(f"{name}: {excuse} [{type(err).__name__}: {first_line}]")
            return
        kind = "exempt from" if name in exempt else "a known bug in"
        raise AssertionError(
            f"the row is declared {kind} the {name} check ({excuse!r}) but the check passes: "
            "remove the entry"
        )

    # --- eager: cn.wrap(array) runs the layer at once ---------------------------------
    eager: list[cn.Chain] = []

    def check_eager_step() -> None:
        extras = {name: cn.wrap(data[name], name=name) for name in specs}
        eager[:] = _outputs(
            apply_step(cn.wrap(data["x"], name="x"), method, args, kwargs, extras, fresh)
        )
        assert all(c.network.kind == "eager" for c in eager)
        want_values = _call(model, data)
        assert [c.shape for c in eager] == [tuple(np.shape(v)) for v in want_values]
        assert [c.dtype for c in eager] == [c.dtype for c in outputs]
        eager_net, sym_net = eager[0].network, chain.network
        copied = 0
        for layer in eager_net.layers:
            if layer.weights:
                sym_net.set_weights(layer.name, eager_net.get_weights(layer.name))
                copied += len(layer.weights)
        assert copied == expected_num_weights, "eager and symbolic steps have other variables"
        for i, (c, want) in enumerate(zip(eager, _call(model, data))):
            _close(
                c.numpy(),
                want,
                rtol=rtol,
                atol=atol,
                what=f"eager chain vs symbolic model with the eager weights, output {i}",
            )

    check("eager", check_eager_step)

    # --- tf.function ------------------------------------------------------------------
    def check_tf_function_step() -> None:
        in_graph = tf.function(lambda *t: model(_feed(model, dict(zip(data, t))), training=False))
        graph_out = in_graph(*(tf.constant(v) for v in data.values()))
        graph_out = list(graph_out) if isinstance(graph_out, (list, tuple)) else [graph_out]
        for i, (got, want) in enumerate(zip(graph_out, _call(model, data))):
            _close(got, want, rtol=rtol, atol=atol, what=f"model inside tf.function, output {i}")

        # autograph=False: autograph turns a ChainError into a StagingError (see
        # tests/test_errors.py::test_chain_error_survives_autograph).
        @tf.function(autograph=False)
        def traced(*tensors: tf.Tensor) -> list[tf.Tensor]:
            extras = {name: cn.wrap(t, name=name) for name, t in zip(specs, tensors[1:])}
            step = apply_step(cn.wrap(tensors[0]), method, args, kwargs, extras, fresh)
            return [c.tensor for c in _outputs(step)]

        builds = builds_in_tf_function
        if builds is None:
            builds = expected_num_weights == 0
        constants = [tf.constant(v) for v in data.values()]
        if builds:
            for i, (got, want) in enumerate(zip(traced(*constants), _call(model, data))):
                _close(got, want, rtol=rtol, atol=atol, what=f"chain built in tf.function, {i}")
        else:
            with pytest.raises(cn.ChainError) as caught:
                traced(*constants)
            text = str(caught.value)
            assert "cannot be created inside a tf.function" in text, text
            assert "outside" in text and ".model()" in text, text

    check("tf_function", check_tf_function_step)

    # --- .keras round trip ----------------------------------------------------------
    loaded: list[keras.Model] = []

    def check_saving_step() -> None:
        path = tmp_path / "method.keras"
        model.save(path)
        loaded.append(keras.models.load_model(path, safe_mode=safe_mode))
        for got, want in zip(_call(loaded[0], data), _call(model, data)):
            np.testing.assert_array_equal(_value(got), _value(want))
        assert [type(layer) for layer in loaded[0].layers] == [
            type(layer) for layer in model.layers
        ]

    check("saving", check_saving_step)

    # --- gradients ---------------------------------------------------------------------
    check(
        "gradient",
        lambda: _check_gradients(
            model,
            ref,
            data,
            rtol=rtol if gradient_rtol is None else gradient_rtol,
            atol=atol if gradient_atol is None else gradient_atol,
        ),
    )

    # --- mixed precision -----------------------------------------------------------------
    check(
        "mixed_precision",
        lambda: _check_mixed_precision(
            lambda: build_outputs(method, args, kwargs, **inputs, fresh={})[0],
            make_reference,
            model,
            data,
            rtol=mixed_rtol,
            atol=mixed_atol,
        ),
    )

    if confirmed:
        pytest.xfail("known bug: " + "; ".join(confirmed))
    return {
        "chain": chain,
        "outputs": outputs,
        "model": model,
        "reference": ref,
        "eager": (eager[0] if len(eager) == 1 else eager) if eager else None,
        "loaded": loaded[0] if loaded else None,
        "data": data["x"] if not specs else data,
    }


# ---------------------------------------------------------------------------------------
# The harness must be able to fail: each case below breaks one expectation on purpose.
# ---------------------------------------------------------------------------------------
_DENSE = dict(
    input_shape=(4,),
    reference=lambda: [keras.layers.Dense(3)],
    expected_output_shape=(None, 3),
    expected_num_weights=2,
)


class _DenseWithoutKernelGradient(keras.layers.Dense):
    """``Dense`` with the same values, but no gradient reaches its kernel."""

    def call(self, inputs: Any) -> Any:
        return keras.ops.matmul(inputs, keras.ops.stop_gradient(self.kernel)) + self.bias


def test_harness_passes_on_a_correct_case(tmp_path: Path) -> None:
    result = run_method_test("fully_connected", (3,), tmp_path=tmp_path, **_DENSE)
    assert result["loaded"] is not None and result["eager"] is not None
    assert result["model"].count_params() == 15


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"expected_output_shape": (None, 4)}, id="wrong-shape"),
        pytest.param({"expected_num_weights": 1}, id="wrong-weight-count"),
        pytest.param({"expected_num_params": 16}, id="wrong-param-count"),
        pytest.param(
            {"reference": lambda: [keras.layers.Dense(3, activation="relu")]},
            id="reference-with-other-values",
        ),
        pytest.param(
            {"reference": lambda: [keras.layers.Dense(3, use_bias=False)]},
            id="reference-with-fewer-weights",
        ),
        pytest.param({"expected_layer_names": ["dense"]}, id="wrong-layer-names"),
        pytest.param({"expected_dtype": "float16"}, id="wrong-dtype"),
        pytest.param({"expected_num_losses": 1}, id="wrong-loss-count"),
    ],
)
def test_harness_catches_a_wrong_expectation(tmp_path: Path, change: dict[str, Any]) -> None:
    options = {**_DENSE, **change}
    with pytest.raises(AssertionError):
        run_method_test("fully_connected", (3,), tmp_path=tmp_path, **options)


def test_harness_catches_a_lambda_and_a_bad_save(tmp_path: Path) -> None:
    options = dict(
        input_shape=(4,),
        reference=lambda x: keras.ops.multiply(x, 2.0),
        expected_output_shape=(None, 4),
        expected_num_weights=0,
    )
    with pytest.raises(AssertionError, match="Lambda"):
        run_method_test(lambda c: c.apply(lambda t: t * 2.0), tmp_path=tmp_path, **options)
    # allowed, but a Python lambda cannot load with safe_mode=True
    with pytest.raises(ValueError, match="lambda"):
        run_method_test(
            lambda c: c.apply(lambda t: t * 2.0), tmp_path=tmp_path, allow_lambda=True, **options
        )


def test_harness_catches_a_wrong_gradient_reference(tmp_path: Path) -> None:
    # same values (the core checks pass), but the reference's kernel gets no gradient
    options = {**_DENSE, "reference": lambda: [_DenseWithoutKernelGradient(3)]}
    with pytest.raises(AssertionError, match="gradient"):
        run_method_test("fully_connected", (3,), tmp_path=tmp_path, **options)


def test_harness_catches_a_wrong_mixed_precision_dtype(tmp_path: Path) -> None:
    # a reference layer pinned to float32 computes float32 under mixed_float16, the chain
    # float16: the dtypes differ
    options = {**_DENSE, "reference": lambda: [keras.layers.Dense(3, dtype="float32")]}
    with pytest.raises(AssertionError, match="mixed_float16"):
        run_method_test("fully_connected", (3,), tmp_path=tmp_path, **options)
    assert keras.config.dtype_policy().name == "float32"  # the policy is restored


def test_harness_catches_an_exemption_without_a_reason_or_a_stale_one(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="needs a reason"):
        run_method_test(
            "fully_connected", (3,), tmp_path=tmp_path, exempt={"gradient": ""}, **_DENSE
        )
    with pytest.raises(AssertionError, match="unknown check"):
        run_method_test(
            "fully_connected", (3,), tmp_path=tmp_path, exempt={"speed": "too slow here"}, **_DENSE
        )
    with pytest.raises(AssertionError, match="check passes: remove the entry"):
        run_method_test(
            "fully_connected",
            (3,),
            tmp_path=tmp_path,
            exempt={"gradient": "claimed not differentiable"},
            **_DENSE,
        )
    with pytest.raises(AssertionError, match="check passes: remove the entry"):
        run_method_test(
            "fully_connected",
            (3,),
            tmp_path=tmp_path,
            known_bugs={"mixed_precision": "claimed to give the wrong dtype"},
            **_DENSE,
        )


def test_harness_requires_a_reason_when_no_gradient_flows(tmp_path: Path) -> None:
    options = dict(
        input_shape=(3,),
        reference=lambda x: keras.ops.cast(x, "int32"),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    )
    with pytest.raises(AssertionError, match="declare a 'gradient' exemption"):
        run_method_test("cast", ("int32",), tmp_path=tmp_path, **options)
    run_method_test(
        "cast",
        ("int32",),
        tmp_path=tmp_path,
        exempt={"gradient": "integer output: nothing to differentiate"},
        **options,
    )


def test_harness_known_bug_ends_as_an_expected_failure(tmp_path: Path) -> None:
    options = {**_DENSE, "reference": lambda: [_DenseWithoutKernelGradient(3)]}
    with pytest.raises(pytest.xfail.Exception, match="reference drops the kernel gradient"):
        run_method_test(
            "fully_connected",
            (3,),
            tmp_path=tmp_path,
            known_bugs={"gradient": "the reference drops the kernel gradient"},
            **options,
        )


def test_harness_checks_steps_with_extra_inputs_and_several_outputs(tmp_path: Path) -> None:
    options = dict(
        input_shape=(3,),
        extra_inputs={"y": ExtraInput((2,))},
        reference=lambda x, y: keras.layers.Concatenate()([x, y]),
        expected_num_weights=0,
    )
    run_method_test(
        "concat", (-1, [Use("y")]), tmp_path=tmp_path, expected_output_shape=(None, 5), **options
    )
    with pytest.raises(AssertionError):  # a wrong reference for the second input
        run_method_test(
            "concat",
            (-1, [Use("y")]),
            tmp_path=tmp_path,
            expected_output_shape=(None, 5),
            **{**options, "reference": lambda x, y: keras.layers.Concatenate()([y, x])},
        )
    split = dict(
        input_shape=(4,),
        reference=lambda x: [x[:, :1], x[:, 1:]],
        expected_num_weights=0,
    )
    run_method_test(
        "split", (-1, [1, 3]), tmp_path=tmp_path, expected_output_shapes=[(None, 1), (None, 3)],
        **split,
    )  # fmt: skip
    with pytest.raises(AssertionError, match="symbolic shapes"):
        run_method_test(
            "split", (-1, [2, 2]), tmp_path=tmp_path,
            expected_output_shapes=[(None, 1), (None, 3)], **split,
        )  # fmt: skip
