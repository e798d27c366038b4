"""apply(fn) (a Lambda) and apply_layer(layer) (any Keras layer): values, names, sharing,
and what a .keras round trip can and cannot do with a Lambda."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import MethodCase, random_input
from keras import ops

import chainnet as cn

L = keras.layers


@keras.saving.register_keras_serializable(package="chainnet_tests")
def scaled_tanh(t: tf.Tensor, scale: float = 1.0) -> tf.Tensor:
    return scale * tf.tanh(t)


@keras.saving.register_keras_serializable(package="chainnet_tests")
def reshaped(t: tf.Tensor, shape: tuple[int, ...]) -> tf.Tensor:
    return tf.reshape(t, shape)


@keras.saving.register_keras_serializable(package="chainnet_tests")
def summed(t: tf.Tensor, axis: int, keepdims: bool) -> tf.Tensor:
    return ops.sum(t, axis=axis, keepdims=keepdims)


def unregistered_double(t: tf.Tensor) -> tf.Tensor:
    return t * 2.0


CASES = [
    MethodCase(
        "apply",
        (tf.nn.relu6,),
        id="apply-relu6",
        input_shape=(4,),
        reference=lambda: [L.ReLU(max_value=6.0)],
        expected_output_shape=(None, 4),
        expected_num_weights=0,
        allow_lambda=True,
        input_data=random_input((4,), low=-10, high=10),
    ),
    MethodCase(
        "apply",
        (reshaped,),
        {"shape": (-1, 2, 3)},
        id="apply-reshape-keyword",
        input_shape=(6,),
        reference=lambda: [L.Reshape((2, 3))],
        expected_output_shape=(None, 2, 3),
        expected_num_weights=0,
        allow_lambda=True,
    ),
    MethodCase(
        "apply",
        (reshaped, (-1, 3, 2)),
        id="apply-reshape-positional",
        input_shape=(6,),
        reference=lambda: [L.Reshape((3, 2))],
        expected_output_shape=(None, 3, 2),
        expected_num_weights=0,
        allow_lambda=True,
    ),
    MethodCase(
        "apply",
        (scaled_tanh, 2.0),
        id="apply-registered-function",
        input_shape=(3,),
        reference=lambda x: ops.multiply(ops.tanh(x), 2.0),
        expected_output_shape=(None, 3),
        expected_num_weights=0,
        allow_lambda=True,
    ),
    MethodCase(
        "apply",
        (summed,),
        {"axis": -1, "keepdims": True},
        id="apply-keras-ops",
        input_shape=(2, 3),
        reference=lambda x: ops.sum(x, axis=-1, keepdims=True),
        expected_output_shape=(None, 2, 1),
        expected_num_weights=0,
        allow_lambda=True,
    ),
    # a fresh layer for every chain the harness builds (symbolic, eager, tf.function)
    MethodCase(
        lambda c: c.apply_layer(L.Dense(3, activation="relu", name="head")),
        id="apply_layer-dense",
        input_shape=(4,),
        reference=lambda: [L.Dense(3, activation="relu")],
        expected_output_shape=(None, 3),
        expected_num_weights=2,
        expected_layer_names=["head"],
    ),
    MethodCase(
        lambda c: c.apply_layer(L.Conv2D(2, 3), name="projection"),
        id="apply_layer-named-conv",
        input_shape=(4, 4, 1),
        reference=lambda: [L.Conv2D(2, 3)],
        expected_output_shape=(None, 2, 2, 2),
        expected_num_weights=2,
        expected_layer_names=["projection"],
    ),
    MethodCase(
        lambda c: c.apply_layer(L.GaussianNoise(0.5, name="noise")),
        id="apply_layer-weightless",
        input_shape=(3,),
        reference=lambda: [L.Identity()],
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_generic_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


@pytest.mark.parametrize(
    "make_chain",
    [
        lambda layer: cn.wrap(random_input((4,))).apply_layer(layer),
        lambda layer: cn.input((4,)).apply_layer(layer),
    ],
    ids=["eager", "symbolic"],
)
def test_apply_layer_on_eager_and_symbolic_chains(make_chain) -> None:
    layer = L.Dense(3, name="head", kernel_initializer="ones")
    chain = make_chain(layer)
    assert chain.name == "head" and chain.layer is layer and chain.method == "apply_layer"
    assert chain.shape[1:] == (3,)


def test_apply_layer_inside_tf_function_with_a_built_layer() -> None:
    layer = L.Dense(2)
    layer.build((None, 4))

    @tf.function(autograph=False)
    def run(t: tf.Tensor) -> tf.Tensor:
        return cn.wrap(t).apply_layer(layer).tensor

    data = random_input((4,))
    np.testing.assert_allclose(run(data), layer(data), rtol=1e-6)


def test_apply_layer_with_an_explicit_name_renames_a_new_layer() -> None:
    layer = L.Dense(3)
    y = cn.input((4,)).apply_layer(layer, name="projection")
    assert y.name == "projection" and layer.name == "projection"
    assert list(y.network.variables) == ["projection/kernel", "projection/bias"]


def test_apply_layer_twice_shares_weights() -> None:
    layer = L.Dense(3, name="shared")
    x = cn.input((3,))
    y = x.apply_layer(layer).relu().apply_layer(layer)
    assert [n.name for n in y.network.nodes] == ["input", "shared", "relu", "shared_1"]
    model = y.model()
    assert len(model.weights) == 2 and model.count_params() == 12
    assert y.layer is y.network.layer("shared")
    assert list(y.variables) == ["shared/kernel", "shared/bias"]
    kernel = np.eye(3, dtype="float32") * 2
    y.network.set_weights("shared", {"kernel": kernel, "bias": np.zeros(3)})
    data = np.abs(random_input((3,)))
    np.testing.assert_allclose(model(data), data * 4, rtol=1e-6)


def test_chain_method_layers_can_be_shared_through_apply_layer() -> None:
    x = cn.input((3,))
    first = x.fully_connected(3, name="fc")
    second = first.apply_layer(first.layer)
    assert second.name == "fc_1" and second.layer is first.layer
    assert len(second.model().weights) == 2


def test_apply_layer_with_a_keras_model() -> None:
    tower = keras.Sequential([L.Dense(4, name="a"), L.Dense(2, name="b")], name="tower")
    y = cn.input((3,)).apply_layer(tower)
    assert y.name == "tower" and y.shape == (None, 2)
    assert list(y.network.variables) == [
        "tower/a/kernel",
        "tower/a/bias",
        "tower/b/kernel",
        "tower/b/bias",
    ]
    assert y.model().count_params() == 3 * 4 + 4 + 4 * 2 + 2


def test_apply_names_and_positional_extras() -> None:
    x = cn.input((6,))
    y = x.apply(reshaped, (-1, 3, 2))
    assert y.name == "apply" and y.layer.arguments == {"shape": (-1, 3, 2)}
    assert x.apply(tf.nn.relu, name="r").name == "r"
    assert x.apply(tf.nn.relu).name == "apply_1"


def test_apply_works_in_a_graph_chain() -> None:
    traced = tf.function(lambda t: cn.wrap(t).apply(tf.nn.relu6).tensor, autograph=False)
    data = random_input((4,), low=-10, high=10)
    np.testing.assert_array_equal(traced(data), np.clip(data, 0, 6))


# --------------------------------------------------------------- saving a Lambda
def _save(chain: cn.Chain, tmp_path: Path) -> tuple[keras.Model, Path]:
    model = chain.model()
    path = tmp_path / "lambda.keras"
    model.save(path)
    return model, path


def test_apply_with_a_python_lambda_needs_safe_mode_false(tmp_path: Path) -> None:
    model, path = _save(cn.input((3,)).apply(lambda t: t * 3.0 + 1.0), tmp_path)
    with pytest.raises(ValueError, match=r"(?i)lambda.*safe_mode"):
        keras.models.load_model(path, safe_mode=True)
    loaded = keras.models.load_model(path, safe_mode=False)
    data = random_input((3,))
    np.testing.assert_array_equal(loaded(data), model(data))


def test_apply_with_a_registered_function_round_trips(tmp_path: Path) -> None:
    model, path = _save(cn.input((3,)).apply(scaled_tanh, scale=2.0), tmp_path)
    data = random_input((3,))
    for safe_mode in (True, False):
        loaded = keras.models.load_model(path, safe_mode=safe_mode)
        np.testing.assert_array_equal(loaded(data), model(data))
        assert loaded.layers[-1].arguments == {"scale": 2.0}


def test_apply_refuses_an_unregistered_function_it_could_not_load() -> None:
    # Keras would save it by name and never load it back (even with safe_mode=False)
    with pytest.raises(cn.ChainTypeError, match=r"could not find it again\. Register it"):
        cn.input((3,)).apply(unregistered_double)


def test_apply_refuses_a_function_that_uses_a_layer() -> None:
    attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    with pytest.raises(cn.ChainTypeError, match=r"attention .*MultiHeadAttention.*apply_layer"):
        cn.input((5, 8)).apply(lambda t: attention(t, t))


def test_apply_refuses_extras_it_could_not_save() -> None:
    # fn takes *args: the extra 2.0 cannot be saved by name, so apply() refuses at once
    # instead of building a model that saves but never loads.
    with pytest.raises(cn.ChainError, match=r"takes \*args.*wrap it in a function"):
        cn.input((3,)).apply(scaled_tanh_star, 2.0)


@keras.saving.register_keras_serializable(package="chainnet_tests")
def scaled_tanh_star(t: tf.Tensor, *scale: float) -> tf.Tensor:
    return scale[0] * tf.tanh(t)


def test_apply_layer_names_are_deterministic_for_unnamed_layers() -> None:
    names = [cn.input((3,)).apply_layer(L.Dense(2)).name for _ in range(2)]
    assert names[0] == names[1]


def test_apply_refuses_a_lambda_that_names_globals() -> None:
    # Lambda.from_config loads a lambda's code without its module: tf would be undefined
    with pytest.raises(cn.ChainTypeError, match=r"global name\(s\) \['tf'\]"):
        cn.input((6,)).apply(lambda t: tf.reshape(t, (-1, 2, 3)))


def test_apply_refuses_layers_reached_through_objects_and_helpers() -> None:
    class Net:
        def __init__(self) -> None:
            self.attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)

    net = Net()
    with pytest.raises(cn.ChainTypeError, match="attention"):
        cn.input((5, 8)).apply(lambda t: net.attention(t, t))
    layers = {"a": [[keras.layers.Dense(3)]]}
    with pytest.raises(cn.ChainTypeError, match="Dense"):
        cn.input((5, 8)).apply(lambda t: layers["a"][0][0](t))
