"""Argument checks (issue 9, "Fidelity" item 6): every method checks the types and ranges of
its own arguments before building, and names the argument, the method and the layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest

import chainnet as cn


def refused(chain: Any, call: Callable[[Any], Any], method: str, argument: str) -> str:
    """Runs ``call(chain)``, which must fail with a ChainError naming ``method``, ``argument``
    and the layer, and leave the network as it was; returns the message."""
    before = len(chain.network.nodes)
    with pytest.raises(cn.ChainError) as info:
        call(chain)
    text = str(info.value)
    assert f"{method}(" in text, text
    assert argument in text, text
    assert "at layer" in text, text
    assert len(chain.network.nodes) == before
    return text


# 1. booleans ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["yes", 0, "no", None])
def test_recurrent_booleans(bad: Any) -> None:
    x = cn.input((6, 3))
    for method in ("lstm", "gru", "simple_rnn"):
        for argument in ("return_sequences", "go_backwards"):
            options = {argument: bad}
            refused(x, lambda c, m=method, o=options: getattr(c, m)(4, **o), method, argument)
    options = {"return_sequences": bad}
    refused(x, lambda c: c.bidirectional(4, **options), "bidirectional", "return_sequences")


@pytest.mark.parametrize("bad", ["yes", 0, "no"])
def test_use_bias_include_self_mask_zero(bad: Any) -> None:
    x = cn.input((4,))
    refused(x, lambda c: c.fully_connected(3, use_bias=bad), "fully_connected", "use_bias")
    img = cn.input((8, 8, 3))
    refused(img, lambda c: c.conv2d(3, 4, use_bias=bad), "conv2d", "use_bias")
    refused(x, lambda c: c.join([c, c], include_self=bad), "join", "include_self")
    ids = cn.input((5,), dtype="int32")
    refused(
        ids, lambda c: c.embedding_lookup(10, 3, mask_zero=bad), "embedding_lookup", "mask_zero"
    )


def test_booleans_accepted() -> None:
    x = cn.input((6, 3))
    assert x.lstm(4, return_sequences=True, go_backwards=True).shape == (None, 6, 4)
    assert cn.input((4,)).fully_connected(3, use_bias=False).layer.use_bias is False
    y = cn.input((4,))
    assert y.join([y, y], include_self=False).shape == (None, 8)
    ids = cn.input((5,), dtype="int32")
    assert ids.embedding_lookup(10, 3, mask_zero=True).layer.mask_zero is True


# 2. axes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "method", "argument"),
    [
        (lambda c: c.split("1", 2), "split", "split_dim"),
        (lambda c: c.split(5, 2), "split", "split_dim"),
        (lambda c: c.unstack("1"), "unstack", "axis"),
        (lambda c: c.concat("1", [c]), "concat", "concat_dim"),
        (lambda c: c.concat(4, [c]), "concat", "concat_dim"),
        (lambda c: c.join([c], axis="1"), "join", "axis"),
        (lambda c: c.join([c], axis=9), "join", "axis"),
        (lambda c: c.stack([c], axis=5), "stack", "axis"),
        (lambda c: c.stack([c], axis="1"), "stack", "axis"),
        (lambda c: c.stack([c], axis=0), "stack", "axis"),
        (lambda c: c.expand_dims(7), "expand_dims", "axis"),
        (lambda c: c.expand_dims("1"), "expand_dims", "axis"),
        (lambda c: c.expand_dims(0), "expand_dims", "axis"),
        (lambda c: c.squeeze(1.0), "squeeze", "axis"),
        (lambda c: c.squeeze(0), "squeeze", "axis"),
        (lambda c: c.squeeze([1, "2"]), "squeeze", "axis"),
        (lambda c: c.transpose(3), "transpose", "perm"),
        (lambda c: c.transpose([0, 2]), "transpose", "perm"),
        (lambda c: c.reshape(12), "reshape", "shape_spec"),
        (lambda c: c.reshape([-1, 2.5]), "reshape", "shape_spec"),
        (lambda c: c[:, 7], "slice", "key"),
        (lambda c: c[:, :, -5], "slice", "key"),
        (lambda c: c[:, 0, 0, 0], "slice", "key"),
    ],
)
def test_axes_refused(call: Callable[[Any], Any], method: str, argument: str) -> None:
    text = refused(cn.input((4, 1)), call, method, argument)
    assert "Could not automatically infer" not in text


def test_axes_accepted() -> None:
    x = cn.input((4, 6))
    assert [p.shape for p in x.split(np.int64(2), 2)] == [(None, 4, 3)] * 2
    assert len(x.unstack(np.int64(1))) == 4
    assert x.concat(-1, [x]).shape == (None, 4, 12)
    assert x.join([x], axis=np.int64(1)).shape == (None, 8, 6)
    assert x.stack([x], axis=-1).shape == (None, 4, 6, 2)
    assert x.expand_dims(np.int64(3)).shape == (None, 4, 6, 1)
    assert x.transpose(np.array([0, 2, 1])).shape == (None, 6, 4)
    assert x[:, 3].shape == (None, 6)
    assert x[..., -6].shape == (None, 4)
    assert cn.input((1, 5, 1)).squeeze([1, -1]).shape == (None, 5)


# 3. errors that would appear only at predict time -------------------------------------------


def test_reshape_must_fit_every_batch() -> None:
    x = cn.input((3, 4))
    refused(x, lambda c: c.reshape([-1, 5]), "reshape", "[-1, 5]")
    model = x.reshape([-1, 6]).model()
    assert model.predict(np.zeros((3, 3, 4)), verbose=0).shape == (6, 6)


@pytest.mark.parametrize("axis", [0, -3])
def test_normalization_refuses_the_batch_axis(axis: int) -> None:
    x = cn.input((5, 4))
    refused(x, lambda c: c.batch_normalize(axis=axis), "batch_normalize", "axis")
    refused(x, lambda c: c.layer_normalize(axis=axis), "layer_normalize", "axis")
    assert x.batch_normalize(axis=1).shape == (None, 5, 4)


# 4. NumPy integers --------------------------------------------------------------------------


def test_numpy_integers_accepted() -> None:
    seq = cn.input((6, 3))
    assert seq.lstm(np.int64(4)).layer.units == 4
    assert type(seq.lstm(np.int64(4)).layer.units) is int
    assert seq.bidirectional(np.int64(4)).shape == (None, 8)
    ids = cn.input((5,), dtype="int32")
    table = ids.embedding_lookup(np.int64(10), np.int32(3)).layer
    assert (type(table.input_dim), type(table.output_dim)) == (int, int)
    assert cn.input((4, 1)).squeeze(np.int64(2)).shape == (None, 4)
    assert cn.input((3, 4)).reshape([-1, np.int64(12)]).shape == (None, 12)
    assert seq.bidirectional(4, merge_mode="SUM").layer.merge_mode == "sum"


def test_numpy_array_kernel_accepted() -> None:
    conv = cn.input((8, 8, 3)).conv2d(np.array([3, 3]), 4)
    assert conv.layer.kernel_size == (3, 3)


# 5. bidirectional with a given layer ------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [
        {"return_sequences": True},
        {"dropout": 0.2},
        {"recurrent_dropout": 0.1},
        {"cell": "gru"},
        {"kernel_initializer": "he_normal"},
        {"l2loss": 0.01},
    ],
)
def test_bidirectional_layer_refuses_options(option: dict[str, Any]) -> None:
    x = cn.input((6, 3))
    (key,) = option
    text = refused(
        x, lambda c: c.bidirectional(keras.layers.LSTM(4), **option), "bidirectional", key
    )
    assert "on the given layer" in text


def test_bidirectional_layer_accepted() -> None:
    x = cn.input((6, 3))
    y = x.bidirectional(keras.layers.GRU(4, return_sequences=True), merge_mode="ave")
    assert y.shape == (None, 6, 4)
    with cn.defaults(bidirectional={"dropout": 0.1}):
        assert x.bidirectional(keras.layers.LSTM(4)).shape == (None, 8)


# 6. batch_normalize={...} -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"epsilom": 0.1}, "epsilom"),
        ({"name": "bn"}, "name"),
        ({"epsilon": 0}, "epsilon"),
        ({"epsilon": -1.0}, "epsilon"),
        ({"momentum": 1.5}, "momentum"),
        ({"center": "yes"}, "center"),
        ({"axis": 4}, "axis"),
        ({"axis": 0}, "axis"),
        ({"axis": "1"}, "axis"),
    ],
)
def test_batch_normalize_dict_refused(options: dict[str, Any], argument: str) -> None:
    img = cn.input((8, 8, 3))
    text = refused(img, lambda c: c.conv2d(3, 4, batch_normalize=options), "conv2d", argument)
    if argument == "epsilom":
        # the valid keys, Keras' own too (renorm only from Keras 3.11: not every supported one)
        assert "'momentum'" in text and "'synchronized'" in text
    vec = cn.input((5,))
    refused(
        vec, lambda c: c.fully_connected(3, batch_normalize=options), "fully_connected", argument
    )


@pytest.mark.parametrize(("key", "value"), [("epsilon", 0.0), ("momentum", 1.0), ("scale", 1)])
def test_batch_normalize_scope_values_refused(key: str, value: Any) -> None:
    img = cn.input((8, 8, 3))
    with cn.defaults(**{key: value}):
        refused(img, lambda c: c.conv2d(3, 4, batch_normalize=True), "conv2d", key)


def test_batch_normalize_dict_accepted() -> None:
    img = cn.input((8, 8, 3))
    out = img.conv2d(3, 4, batch_normalize={"epsilon": 0.01, "axis": -1, "synchronized": False})
    bn = out.network.layer(f"{out.name}_bn")
    assert bn.epsilon == 0.01
    with cn.defaults(epsilon=0.002, momentum=0.9):
        again = img.conv2d(3, 4, batch_normalize={"momentum": 0.5})
        bn = again.network.layer(f"{again.name}_bn")
        assert (bn.epsilon, bn.momentum) == (0.002, 0.5)
