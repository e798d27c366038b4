"""Property tests: random chains against the same steps written by hand with Keras layers."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

import chainnet as cn

L = keras.layers

ACTIVATIONS = ["relu", "tanh", "sigmoid", "softplus", "selu", "swish"]


@st.composite
def dense_steps(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """A menu of steps with their drawn arguments."""
    menu = st.one_of(
        st.tuples(
            st.just("fully_connected"),
            st.tuples(st.integers(1, 6), st.sampled_from([None, *ACTIVATIONS])),
        ),
        st.tuples(st.just("dropout"), st.sampled_from([0.0, 0.25, 0.5])),
        st.tuples(st.just("activation"), st.sampled_from(ACTIVATIONS)),
        st.tuples(st.just("layer_normalize"), st.just(None)),
        st.tuples(st.just("batch_normalize"), st.just(None)),
        st.tuples(st.just("add_scalar"), st.floats(-3, 3, allow_nan=False, width=32)),
        st.tuples(st.just("flatten_spec"), st.just(None)),
    )
    return draw(st.lists(menu, min_size=1, max_size=5))


def chain_step(chain: cn.Chain, kind: str, arg: Any) -> cn.Chain:
    if kind == "fully_connected":
        if len(chain.shape) != 2:
            chain = chain.reshape("_*")
        return chain.fully_connected(arg[0], activation=arg[1])
    if kind == "dropout":
        return chain.dropout(rate=arg)
    if kind == "activation":
        return getattr(chain, arg)()
    if kind == "layer_normalize":
        return chain.layer_normalize()
    if kind == "batch_normalize":
        return chain.batch_normalize()
    if kind == "add_scalar":
        return chain + arg
    if kind == "flatten_spec":
        return chain.reshape("_*")
    raise AssertionError(kind)


def keras_step(x: Any, kind: str, arg: Any) -> Any:
    if kind == "fully_connected":
        if len(x.shape) != 2:
            x = L.Flatten()(x)
        return L.Dense(arg[0], activation=arg[1])(x)
    if kind == "dropout":
        return L.Dropout(arg)(x)
    if kind == "activation":
        return L.Activation(arg)(x)
    if kind == "layer_normalize":
        return L.LayerNormalization(epsilon=0.001)(x)
    if kind == "batch_normalize":
        return L.BatchNormalization()(x)
    if kind == "add_scalar":
        return ops.add(x, np.float32(arg))
    if kind == "flatten_spec":
        return L.Flatten()(x)
    raise AssertionError(kind)


def _compare(chain: cn.Chain, reference: keras.Model, data: np.ndarray) -> None:
    model = chain.model()
    assert chain.shape == tuple(reference.output_shape)
    assert model.count_params() == reference.count_params()
    assert [tuple(v.shape) for v in model.weights] == [tuple(v.shape) for v in reference.weights]
    rng = np.random.default_rng(0)
    for var in model.weights:
        var.assign(rng.uniform(0.2, 1.2, size=tuple(var.shape)).astype(var.dtype))
    reference.set_weights(model.get_weights())
    np.testing.assert_allclose(
        model(data, training=False), reference(data, training=False), rtol=1e-4, atol=1e-5
    )


@settings(max_examples=15, deadline=None)
@given(
    input_shape=st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple),
    steps=dense_steps(),
)
def test_random_dense_chains_match_hand_written_keras(
    input_shape: tuple[int, ...], steps: list[tuple[str, Any]]
) -> None:
    chain = cn.input(input_shape)
    x = keras.Input(input_shape)
    y = x
    for kind, arg in steps:
        chain = chain_step(chain, kind, arg)
        y = keras_step(y, kind, arg)
    data = np.random.default_rng(1).normal(size=(3, *input_shape)).astype("float32")
    _compare(chain, keras.Model(x, y), data)
    # the names follow the methods
    methods = [n.method for n in chain.network.nodes]
    assert methods[0] == "input" and len(set(n.name for n in chain.network.nodes)) == len(methods)


# ------------------------------------------------------------------------ conv stacks
def _out_size(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[tuple[int, int, int], list[tuple[Any, ...]]]:
    """An image shape and a stack of conv / pool steps that fits it."""
    height, width = draw(st.integers(3, 8)), draw(st.integers(3, 8))
    channels = draw(st.integers(1, 3))
    shape = (height, width, channels)
    steps = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv2d", "max_pool", "average_pool"]))
        kernel = draw(st.integers(1, min(3, height, width)))
        stride = draw(st.integers(1, 2))
        padding = draw(st.sampled_from(["same", "valid"]))
        depth = draw(st.integers(1, 4)) if kind == "conv2d" else None
        activation = draw(st.sampled_from([None, "relu"])) if kind == "conv2d" else None
        steps.append((kind, kernel, stride, padding, depth, activation))
        height = _out_size(height, kernel, stride, padding)
        width = _out_size(width, kernel, stride, padding)
        channels = depth if depth is not None else channels
    return shape, steps


@settings(max_examples=15, deadline=None)
@given(case=conv_cases())
def test_random_conv_stacks_match_hand_written_keras(
    case: tuple[tuple[int, int, int], list[tuple[Any, ...]]],
) -> None:
    shape, steps = case
    chain = cn.input(shape)
    x = keras.Input(shape)
    y = x
    height, width, channels = shape
    params = 0
    for kind, kernel, stride, padding, depth, activation in steps:
        if kind == "conv2d":
            chain = chain.conv2d(
                kernel, depth, strides=stride, padding=padding, activation=activation
            )
            y = L.Conv2D(depth, kernel, strides=stride, padding=padding, activation=activation)(y)
            params += kernel * kernel * channels * depth + depth
            channels = depth
        else:
            chain = getattr(chain, kind)(kernel, stride, padding=padding)
            layer = L.MaxPooling2D if kind == "max_pool" else L.AveragePooling2D
            y = layer(kernel, strides=stride, padding=padding)(y)
        height = _out_size(height, kernel, stride, padding)
        width = _out_size(width, kernel, stride, padding)
        # an independent oracle for the shape of every step
        assert chain.shape == (None, height, width, channels)
    assert chain.model().count_params() == params
    data = np.random.default_rng(2).normal(size=(2, *shape)).astype("float32")
    _compare(chain, keras.Model(x, y), data)
