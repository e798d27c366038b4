"""A reusable check for chain methods, in the spirit of Keras' ``run_layer_test``.

:func:`run_method_test` builds one chain step three ways (symbolic, eager, inside
``tf.function``) and compares it with the same step written by hand with Keras layers:
output shape, number of variables and parameters, values once the weights are the same,
and a ``.keras`` round trip with ``safe_mode=True``.

The ``test_harness_*`` functions at the bottom check that the harness itself fails when
it should (a wrong shape, a wrong reference, a wrong weight count...).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

import chainnet as cn

__all__ = [
    "MethodCase",
    "apply_step",
    "random_input",
    "reference_model",
    "run_method_test",
]

Step = Callable[[cn.Chain], cn.Chain]


class MethodCase:
    """One row of a method table: ``MethodCase("conv2d", (3, 4), {...}, input_shape=...)``.

    Every keyword is passed on to :func:`run_method_test`; ``id`` names the pytest case.
    """

    def __init__(
        self,
        method: str | Step,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        id: str | None = None,  # noqa: A002 - as in pytest.param
        **options: Any,
    ) -> None:
        self.method = method
        self.args = args
        self.kwargs = kwargs or {}
        self.options = options
        self.id = id or (method if isinstance(method, str) else method.__name__)

    def param(self) -> Any:
        return pytest.param(self, id=self.id)

    def run(self, tmp_path: Path) -> dict[str, Any]:
        return run_method_test(
            self.method, self.args, self.kwargs, tmp_path=tmp_path, **self.options
        )


def apply_step(
    chain: cn.Chain,
    method: str | Step,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
) -> cn.Chain:
    """``chain.<method>(*args, **kwargs)``, or ``method(chain)`` for a callable."""
    if isinstance(method, str):
        return getattr(chain, method)(*args, **(kwargs or {}))
    return method(chain)


def random_input(
    shape: Sequence[int],
    dtype: str = "float32",
    *,
    batch: int = 2,
    seed: int = 0,
    low: float = -2.0,
    high: float = 2.0,
) -> np.ndarray:
    """A small random batch: floats in ``[low, high)``, or ints in ``[0, 5)``."""
    rng = np.random.default_rng(seed)
    full = (batch, *shape)
    if np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(0, 5, size=full).astype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, size=full).astype(bool)
    return rng.uniform(low, high, size=full).astype(dtype)


def reference_model(
    reference: Callable[..., Any], input_shape: Sequence[int], input_dtype: str
) -> keras.Model:
    """The hand-written Keras model: ``reference()`` or ``reference(x)`` returns a layer, a
    list of layers (applied in order), or the output tensor itself. (Parameters with a
    default value do not count: ``lambda r=rank: [...]`` takes no input.)"""
    x = keras.Input(shape=tuple(input_shape), dtype=input_dtype)
    takes_input = any(
        p.default is inspect.Parameter.empty
        for p in inspect.signature(reference).parameters.values()
    )
    built = reference(x) if takes_input else reference()
    if isinstance(built, keras.layers.Layer):
        built = [built]
    if isinstance(built, (list, tuple)) and all(isinstance(b, keras.layers.Layer) for b in built):
        y = x
        for layer in built:
            y = layer(y)
    else:
        y = built
    return keras.Model(x, y)


def _randomize(model: keras.Model, seed: int = 1) -> None:
    """Gives every variable (biases, moving statistics too) a non-trivial positive value."""
    rng = np.random.default_rng(seed)
    for var in model.weights:
        var.assign(rng.uniform(0.2, 1.2, size=tuple(var.shape)).astype(var.dtype))


def _value(x: Any) -> np.ndarray:
    return np.asarray(x)


def _close(actual: Any, expected: Any, *, rtol: float, atol: float, what: str) -> None:
    actual, expected = _value(actual), _value(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    if np.issubdtype(actual.dtype, np.floating):
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def run_method_test(
    method: str | Step,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    input_shape: Sequence[int],
    reference: Callable[..., Any],
    expected_output_shape: Sequence[int | None],
    expected_num_weights: int,
    expected_num_params: int | None = None,
    expected_layer_names: Sequence[str] | None = None,
    expected_dtype: str | None = None,
    input_dtype: str = "float32",
    input_data: np.ndarray | None = None,
    tmp_path: Path,
    safe_mode: bool = True,
    allow_lambda: bool = False,
    check_eager: bool = True,
    check_tf_function: bool = True,
    check_saving: bool = True,
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> dict[str, Any]:
    """Checks one chain step against the hand-written Keras layer(s).

    ``method`` is a method name (``"conv2d"``, called with ``args``/``kwargs``) or a function
    of a chain (``lambda c: c[:, 1:3]``). ``expected_output_shape`` includes the batch
    dimension as ``None``; ``expected_num_weights`` counts variables (kernel, bias, moving
    statistics...). Returns the chain, its model and the reference model for more checks.

    The checks, in order:

    * symbolic: ``cn.input(input_shape)`` then the step; shape, method, auto name, layer
      names, dtype; the model holds no ``Lambda`` (unless ``allow_lambda``);
    * reference: same output shape, variable count and shapes, ``count_params()``; with every
      variable randomized (moving statistics included) and copied into the reference
      (``ref.set_weights(model.get_weights())``) the outputs are equal (``training=False``);
    * eager: ``cn.wrap(data)`` then the step. Its layers ran at once with their own initial
      weights, so those weights are copied into the symbolic network by layer name
      (``network.get_weights`` / ``network.set_weights``: the names are deterministic)
      and the symbolic model must reproduce the eager values;
    * ``tf.function``: the model called in a graph equals eager calls; the step built on a
      graph tensor equals too, or, for a step with variables, raises ``cn.ChainError``
      telling to build outside;
    * ``.keras``: save and ``load_model(safe_mode=safe_mode)`` give identical outputs.
    """
    kwargs = dict(kwargs or {})
    expected_output_shape = tuple(expected_output_shape)

    # --- symbolic: shape, naming, layers -------------------------------------------
    x = cn.input(tuple(input_shape), dtype=input_dtype, name="x")
    chain = apply_step(x, method, args, kwargs)
    assert isinstance(chain, cn.Chain)
    assert chain.shape == expected_output_shape, (
        f"symbolic shape {chain.shape} != expected {expected_output_shape}"
    )
    if isinstance(method, str):
        assert chain.method == method
        if "name" not in kwargs and method != "apply_layer":
            assert chain.name == method, f"first {method} step is named {chain.name!r}"
    if expected_layer_names is not None:
        assert [layer.name for layer in chain.layers] == list(expected_layer_names)
    if expected_dtype is not None:
        assert chain.dtype == expected_dtype
    model = chain.model()
    assert model.output_shape == expected_output_shape
    if not allow_lambda:
        lambdas = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Lambda)]
        assert not lambdas, f"built-in methods must not lower to Lambda layers: {lambdas}"

    # --- against the hand-written reference -----------------------------------------
    ref = reference_model(reference, input_shape, input_dtype)
    assert tuple(ref.output_shape) == expected_output_shape, (
        f"the reference gives {ref.output_shape}, expected {expected_output_shape}"
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

    data = random_input(input_shape, input_dtype) if input_data is None else input_data
    _randomize(model)
    ref.set_weights(model.get_weights())
    out = model(data, training=False)
    _close(out, ref(data, training=False), rtol=rtol, atol=atol, what="chain vs reference")
    if expected_dtype is not None:
        assert keras.backend.standardize_dtype(out.dtype) == expected_dtype

    # --- eager: cn.wrap(array) runs the layer at once ---------------------------------
    eager = None
    if check_eager:
        eager = apply_step(cn.wrap(data, name="x"), method, args, kwargs)
        assert eager.network.kind == "eager"
        expected_eager_shape = tuple(np.shape(out))
        assert eager.shape == expected_eager_shape
        assert eager.dtype == chain.dtype
        eager_net, sym_net = eager.network, chain.network
        copied = 0
        for layer in eager_net.layers:
            if layer.weights:
                sym_net.set_weights(layer.name, eager_net.get_weights(layer.name))
                copied += len(layer.weights)
        assert copied == expected_num_weights, "eager and symbolic steps have other variables"
        _close(
            eager.numpy(),
            model(data, training=False),
            rtol=rtol,
            atol=atol,
            what="eager chain vs symbolic model with the eager weights",
        )

    # --- tf.function ------------------------------------------------------------------
    if check_tf_function:
        in_graph = tf.function(lambda t: model(t, training=False))
        _close(
            in_graph(tf.constant(data)),
            model(data, training=False),
            rtol=rtol,
            atol=atol,
            what="model called inside tf.function",
        )

        # autograph=False: autograph turns a ChainError into a StagingError (see
        # tests/test_errors.py::test_chain_error_survives_autograph).
        @tf.function(autograph=False)
        def traced(t: tf.Tensor) -> tf.Tensor:
            return apply_step(cn.wrap(t), method, args, kwargs).tensor

        if expected_num_weights == 0:
            _close(
                traced(tf.constant(data)),
                model(data, training=False),
                rtol=rtol,
                atol=atol,
                what="chain built inside tf.function",
            )
        else:
            with pytest.raises(cn.ChainError) as caught:
                traced(tf.constant(data))
            text = str(caught.value)
            assert "cannot be created inside a tf.function" in text, text
            assert "outside" in text and ".model()" in text, text

    # --- .keras round trip ----------------------------------------------------------
    loaded = None
    if check_saving:
        path = tmp_path / "method.keras"
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=safe_mode)
        np.testing.assert_array_equal(
            _value(loaded(data, training=False)), _value(model(data, training=False))
        )
        assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]

    return {
        "chain": chain,
        "model": model,
        "reference": ref,
        "eager": eager,
        "loaded": loaded,
        "data": data,
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
