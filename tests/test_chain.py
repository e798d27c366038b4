"""The chain itself: immutability, branching, wrap, TensorFlow and NumPy interop, properties."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import random_input

import chainnet as cn


def test_chains_are_immutable() -> None:
    x = cn.input((3,))
    with pytest.raises(AttributeError, match="chains are immutable: cannot set 'shape'"):
        x.shape = (None, 4)  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        x._tensor = None
    with pytest.raises(AttributeError, match="immutable"):
        x.anything_new = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        x.__dict__  # noqa: B018 - slots only, no instance dict
    assert x.shape == (None, 3)


def test_chain_attributes_cannot_be_deleted() -> None:
    x = cn.input((3,))
    with pytest.raises(AttributeError):
        del x._tensor


def test_a_kept_chain_branches_into_independent_children() -> None:
    x = cn.input((4,), name="x")
    h = x.fully_connected(3, name="h")
    nodes_before = [n.name for n in h.network.nodes]
    a = h.relu()
    b = h.tanh()
    assert a is not b and a.parent is h and b.parent is h
    assert h.shape == (None, 3) and h.name == "h" and h.parent is x  # unchanged
    assert h.tensor is h.network["h"].tensor
    assert [n.name for n in h.network.nodes] == [*nodes_before, "relu", "tanh"]
    model = cn.model([a, b])
    data = random_input((4,))
    out_a, out_b = model(data)
    hidden = h.network.activations(data, "h")
    np.testing.assert_allclose(out_a, np.maximum(hidden, 0), rtol=1e-6)
    np.testing.assert_allclose(out_b, np.tanh(hidden), rtol=1e-5)


def test_every_method_returns_a_new_chain() -> None:
    x = cn.input((2, 2))
    for y in (x.flatten(), x.relu(), x + 1.0, x[:, 0], x.reshape("_*")):
        assert isinstance(y, cn.Chain) and y is not x and y.parent is x


# ------------------------------------------------------------------------------ wrap
def test_wrap_numpy_runs_layers_at_once() -> None:
    data = random_input((4,))
    x = cn.wrap(data)
    assert x.network.kind == "eager" and x.method == "wrap" and x.name == "input"
    assert x.shape == (2, 4) and x.dtype == "float32"
    y = x.fully_connected(3, name="fc")
    kernel, bias = y.get_weights()["kernel"], y.get_weights()["bias"]
    np.testing.assert_allclose(y.numpy(), data @ kernel + bias, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.network["fc"].numpy(), y.numpy())


def test_wrap_eager_tensor_and_python_values() -> None:
    t = tf.constant([[1.0, -2.0]])
    x = cn.wrap(t, name="t")
    assert x.tensor is t and x.name == "t" and x.network.kind == "eager"
    np.testing.assert_array_equal(x.relu().numpy(), [[1.0, 0.0]])
    assert cn.wrap([[1, 2, 3]]).dtype == "int32"
    assert cn.wrap(np.zeros((1, 2), "float64")).dtype == "float64"


def test_wrap_keras_input_gives_a_symbolic_chain() -> None:
    inp = keras.Input((3,), name="features")
    x = cn.wrap(inp)
    assert x.tensor is inp and x.network.kind == "symbolic" and x.name == "features"
    assert x.method == "input" and isinstance(x.layer, keras.layers.InputLayer)
    model = x.fully_connected(2).model()
    assert model.inputs[0] is inp
    assert cn.wrap(keras.Input((3,), name="other"), name="renamed").name == "renamed"


def test_wrap_of_a_chain_is_the_chain() -> None:
    x = cn.input((3,))
    assert cn.wrap(x) is x


def test_wrap_graph_tensor_inside_tf_function() -> None:
    seen: dict[str, object] = {}

    @tf.function(autograph=False)
    def run(t: tf.Tensor) -> tf.Tensor:
        chain = cn.wrap(t)
        seen["kind"] = chain.network.kind
        seen["shape"] = chain.shape
        return (chain.relu() * 2.0).flatten().tensor

    data = random_input((2, 2))
    np.testing.assert_allclose(run(data), np.maximum(data, 0).reshape(2, 4) * 2, rtol=1e-6)
    assert seen == {"kind": "graph", "shape": (2, 2, 2)}


def test_wrap_graph_tensor_with_unknown_batch() -> None:
    @tf.function(input_signature=[tf.TensorSpec((None, 3))], autograph=False)
    def run(t: tf.Tensor) -> tf.Tensor:
        chain = cn.wrap(t)
        assert chain.shape == (None, 3)
        return chain.reshape(["_", 3, 1]).tensor

    assert run(tf.ones((5, 3))).shape == (5, 3, 1)


def test_wrap_of_a_keras_tensor_that_is_not_an_input() -> None:
    hidden = keras.layers.Dense(2)(keras.Input((3,)))
    with pytest.raises(cn.ChainError, match=r"must come straight from keras\.Input"):
        cn.wrap(hidden)


# -------------------------------------------------------------------- TF and NumPy interop
def test_eager_chain_goes_into_tensorflow_functions() -> None:
    x = cn.wrap(np.array([[1.0, -2.0]], "float32"))
    np.testing.assert_array_equal(tf.add(x, 1.0), [[2.0, -1.0]])
    tensor = tf.convert_to_tensor(x)
    assert isinstance(tensor, tf.Tensor) and tensor.dtype == tf.float32
    np.testing.assert_array_equal(tf.convert_to_tensor(x, dtype=tf.float32), [[1.0, -2.0]])
    np.testing.assert_array_equal(tf.nn.relu(x), [[1.0, 0.0]])


def test_eager_chain_as_numpy() -> None:
    x = cn.wrap(np.array([[1.5, 2.5]], "float32"))
    array = np.asarray(x)
    assert isinstance(array, np.ndarray) and array.dtype == np.float32
    np.testing.assert_array_equal(array, [[1.5, 2.5]])
    assert np.asarray(x, dtype="float64").dtype == np.float64
    np.testing.assert_array_equal(x.numpy(), array)


def test_symbolic_chain_in_a_tensorflow_function_explains() -> None:
    x = cn.input((3,), name="features")
    for call in (lambda: tf.add(x, 1.0), lambda: tf.convert_to_tensor(x), lambda: tf.nn.relu(x)):
        with pytest.raises(TypeError, match=r"chain 'features' is symbolic.*chain\.apply\(fn\)"):
            call()


def test_symbolic_chain_has_no_value() -> None:
    x = cn.input((3,), name="features")
    with pytest.raises(
        cn.ChainError, match=r"'features' is symbolic and has no value.*activations"
    ):
        x.numpy()
    with pytest.raises(cn.ChainError, match="symbolic"):
        np.asarray(x)


def test_chains_are_not_iterable() -> None:
    x = cn.input((3,))
    with pytest.raises(TypeError, match="chains are not iterable; index them"):
        iter(x)
    with pytest.raises(TypeError, match="not iterable"):
        tuple(cn.wrap(np.ones((2, 3), "float32")))


# ----------------------------------------------------------------------- properties
def test_properties() -> None:
    x = cn.input((28, 28, 1), name="image")
    y = x.conv2d(5, 16, activation="relu", batch_normalize=True, name="conv1")
    assert x.shape == (None, 28, 28, 1) and isinstance(x.shape, tuple)
    assert y.shape == (None, 28, 28, 16)
    assert x.dtype == "float32" and cn.input((2,), dtype="int64").dtype == "int64"
    assert y.name == "conv1" and y.method == "conv2d"
    assert isinstance(y.layer, keras.layers.Conv2D) and y.layer.name == "conv1"
    assert [type(layer).__name__ for layer in y.layers] == [
        "Conv2D",
        "BatchNormalization",
        "Activation",
    ]
    assert y.tensor is y.network["conv1"].tensor
    assert isinstance(x.tensor, keras.KerasTensor)
    assert repr(y) == "<Chain 'conv1' conv2d shape=(None, 28, 28, 16) dtype=float32>"
    assert repr(x) == "<Chain 'image' input shape=(None, 28, 28, 1) dtype=float32>"
    assert repr(cn.wrap(np.ones((2, 3), "int32"))) == (
        "<Chain 'input' wrap shape=(2, 3) dtype=int32>"
    )


def test_cn_input_options() -> None:
    x = cn.input((None, 3), name="seq", batch_size=4, dtype="float16")
    assert x.shape == (4, None, 3) and x.dtype == "float16"
    with pytest.raises(cn.ChainError, match="input\\(\\): could not make an input of shape"):
        cn.input((3,), dtype="no-such-dtype")
