"""Every error path: the message names the method, the layer, what was expected and what
was given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

import chainnet as cn


def error_text(call: Callable[[], Any], kind: type[BaseException] = cn.ChainError) -> str:
    with pytest.raises(kind) as caught:
        call()
    return str(caught.value)


def assert_mentions(text: str, *fragments: str) -> None:
    missing = [f for f in fragments if f not in text]
    assert not missing, f"{missing} not in message:\n{text}"


def test_chain_error_is_a_value_error() -> None:
    assert issubclass(cn.ChainError, ValueError)


# ------------------------------------------------------------------------------ ranks
def test_fully_connected_on_rank_1() -> None:
    x = cn.input((), name="scalars")
    text = error_text(lambda: x.fully_connected(10, name="fc"))
    assert_mentions(
        text,
        "fully_connected()",
        "layer 'fc'",
        "expected an input of rank 2 or more",
        "got shape (None,) (rank 1)",
        "from 'scalars'",
        ".expand_dims(-1)",
    )


def test_a_classifier_on_rank_4_says_flatten() -> None:
    x = cn.input((4, 4, 1), name="image")
    text = error_text(lambda: x.softmax_classifier(10, name="head"))
    assert_mentions(
        text, "softmax_classifier()", "layer 'head'", "expected an input of rank 2", ".flatten()"
    )


def test_conv2d_on_rank_2() -> None:
    x = cn.input((784,), name="pixels")
    text = error_text(lambda: x.conv2d(5, 16))
    assert_mentions(
        text,
        "conv2d()",
        "layer 'conv2d'",
        "rank 4",
        "got shape (None, 784) (rank 2)",
        "from 'pixels'",
        "(batch, height, width, channels)",
    )


@pytest.mark.parametrize(
    "method,args,rank",
    [
        ("conv1d", (3, 2), "rank 3"),
        ("conv3d", (3, 2), "rank 5"),
        ("deconv2d", (3, 2), "rank 4"),
        ("separable_conv2d", (3, 2), "rank 4"),
        ("depthwise_conv2d", (3,), "rank 4"),
    ],
)
def test_other_convolutions_check_their_rank(method: str, args: tuple[int, ...], rank: str) -> None:
    x = cn.input((6,), name="v")
    text = error_text(lambda: getattr(x, method)(*args))
    assert_mentions(
        text,
        f"{method}() at layer '{method}'",
        f"expected an input of {rank}",
        "got shape (None, 6) (rank 2)",
    )


@pytest.mark.parametrize(
    "method", ["max_pool", "average_pool", "global_average_pool", "global_max_pool", "upsample"]
)
def test_pools_on_rank_2(method: str) -> None:
    x = cn.input((6,), name="v")
    args = (2,) if method in ("max_pool", "average_pool") else ()
    text = error_text(lambda: getattr(x, method)(*args))
    assert_mentions(
        text,
        f"{method}() at layer '{method}'",
        "rank 3 or 4 or 5",
        "got shape (None, 6) (rank 2)",
        "(batch, h, w, c)",
    )


# -------------------------------------------------------------- Keras errors, wrapped
def test_bad_padding_wraps_the_keras_error() -> None:
    x = cn.input((4, 4, 2), name="img")
    text = error_text(lambda: x.conv2d(3, 2, padding="full", name="c1"))
    assert_mentions(
        text,
        "conv2d() at layer 'c1'",
        "input 'img' of shape (None, 4, 4, 2)",
        "ValueError",
        "padding",
        "full",
    )
    text = error_text(lambda: x.max_pool(2, padding="full"))
    assert_mentions(text, "max_pool() at layer 'max_pool'", "padding", "full")
    with pytest.raises(cn.ChainError) as caught:
        x.conv2d(3, 2, padding="full")
    assert isinstance(caught.value.__cause__, ValueError)  # the Keras error is kept as cause


def test_keras_errors_at_build_time_are_wrapped() -> None:
    img = cn.input((4, 4, 2), name="img")
    assert_mentions(
        error_text(lambda: img.conv2d(5, 2, padding="valid")),
        "conv2d() at layer 'conv2d'",
        "a kernel of 5 is larger than the input's spatial dimensions (4, 4)",
    )
    assert_mentions(
        error_text(lambda: img.conv2d(3, 2, strides=4, padding="valid", dilation_rate=2)),
        "conv2d() at layer 'conv2d'",
        "ValueError",
    )
    assert_mentions(
        error_text(lambda: img.conv2d(3, 2, activation="nope")), "conv2d()", "activation", "nope"
    )
    assert_mentions(
        error_text(lambda: cn.input((None,), name="v").fully_connected(3)),
        "fully_connected() at layer 'fully_connected'",
        "(None, None)",
        "fully-defined",
    )
    assert_mentions(error_text(lambda: img.cast("nope")), "cast() at layer 'cast'", "nope")


# ---------------------------------------------------------------------------- reshape
@pytest.mark.parametrize(
    "spec,fragments",
    [
        (["_", 2, 3], ["cannot reshape (None, 7) to ['_', 2, 3]", "7 elements against 6"]),
        (["_", 2, "*"], ["cannot reshape (None, 7)", "7 elements do not divide into blocks of 2"]),
        ("_**", ["at most one '*' or -1", "['_', '*', '*']"]),
        (["_", -1, "*"], ["at most one '*' or -1"]),
        ("_x", ["one character per dimension", "got 'x' in '_x'"]),
        ("_0", ["got '0' in '_0'"]),
        (["_", 0], ["spec items must be positive ints", "got 0 at position 1"]),
        (["_", "?"], ["got '?' at position 1"]),
        ("___", ["'_' at position 2 has no matching input dimension (input rank 2)"]),
    ],
)
def test_reshape_specs_that_do_not_fit(spec: Any, fragments: list[str]) -> None:
    x = cn.input((7,), name="v")
    text = error_text(lambda: x.reshape(spec))
    assert_mentions(
        text, "reshape() at layer 'reshape'", "input 'v' of shape (None, 7)", *fragments
    )


# ---------------------------------------------------------------------- other shapes
def test_squeeze_of_a_dimension_that_is_not_1() -> None:
    x = cn.input((3, 1), name="v")
    assert_mentions(
        error_text(lambda: x.squeeze(1)),
        "squeeze() at layer 'squeeze'",
        "axis 1 of shape (None, 3, 1) is not of size 1 (3)",
    )
    assert_mentions(error_text(lambda: x.squeeze(5)), "axis 5", "out of range")
    assert_mentions(error_text(lambda: x.squeeze([2, 1])), "axis 1")


def test_transpose_with_a_bad_perm() -> None:
    x = cn.input((3, 4), name="v")
    for perm in ([0, 2], [0, 1, 1], [1, 2, 3]):
        text = error_text(lambda p=perm: x.transpose(p))
        assert_mentions(
            text,
            "transpose() at layer 'transpose'",
            "transpose(perm): expected a permutation of 0..2 (the batch dimension included)",
            f"got {perm}",
        )


def test_bad_indices() -> None:
    x = cn.input((6,), name="v")
    assert_mentions(
        error_text(lambda: x["a"]),
        "slice() at layer 'slice'",
        "index items must be ints, slices, None (new axis) or ...",
        "got 'a'",
    )
    assert_mentions(error_text(lambda: x[:, 1.5:]), "slice bounds must be ints or None")
    assert_mentions(
        error_text(lambda: x[:, 1, 2]), "slice() at layer 'slice'", "input 'v' of shape (None, 6)"
    )


def test_to_dense_one_hot_needs_a_class() -> None:
    ids = cn.input((), dtype="int32", name="ids")
    assert_mentions(
        error_text(lambda: ids.to_dense_one_hot(0)),
        "to_dense_one_hot() at layer 'to_dense_one_hot'",
        "must be a positive int, got 0",
    )


def test_upsample_bilinear_only_in_2d() -> None:
    x = cn.input((4, 2), name="seq")
    assert_mentions(
        error_text(lambda: x.upsample(2, interpolation="bilinear")),
        "upsample() at layer 'upsample'",
        "interpolation='bilinear'",
        "only supported on 2-D inputs",
    )


# ---------------------------------------------------------------------------- dropout
@pytest.mark.parametrize(
    "kwargs,fragments",
    [
        (
            {"rate": 0.5, "keep_prob": 0.5},
            ["give exactly one of rate= or keep_prob=", "got rate=0.5, keep_prob=0.5"],
        ),
        ({}, ["give exactly one of rate= or keep_prob=", "got rate=None, keep_prob=None"]),
        ({"rate": 1.0}, ["dropout(rate): expected a number in [0, 1), got 1.0"]),
        ({"rate": -0.1}, ["expected a number in [0, 1), got -0.1"]),
        ({"keep_prob": 0.0}, ["dropout(keep_prob): expected a number in (0, 1], got 0.0"]),
        ({"keep_prob": 1.5}, ["expected a number in (0, 1], got 1.5"]),
        ({"rate": "0.5"}, ["dropout(rate): expected a number, got '0.5' (str)"]),
    ],
)
def test_dropout_arguments(kwargs: dict[str, float], fragments: list[str]) -> None:
    x = cn.input((4,), name="v")
    text = error_text(lambda: x.dropout(**kwargs))
    assert_mentions(text, "dropout() at layer 'dropout'", *fragments)


# -------------------------------------------------------------------------- l2loss
def test_l2loss_with_kernel_regularizer() -> None:
    x = cn.input((4,), name="v")
    text = error_text(lambda: x.fully_connected(2, l2loss=0.1, kernel_regularizer="l2"))
    assert_mentions(
        text,
        "fully_connected()",
        "pass l2loss= or kernel_regularizer=, not both",
        "l2loss=0.1",
        "kernel_regularizer='l2'",
    )
    text = error_text(lambda: cn.input((3, 3, 1)).conv2d(3, 1, l2loss=-1.0))
    assert_mentions(text, "conv2d()", "conv2d(l2loss): expected a number >= 0, got -1.0")
    text = error_text(lambda: cn.input((3, 3, 1)).conv2d(3, 1, l2loss="0.1"))
    assert_mentions(text, "conv2d()", "conv2d(l2loss): expected a number, got '0.1' (str)")


def test_l2loss_errors_name_the_layer() -> None:
    x = cn.input((4,), name="v")
    text = error_text(lambda: x.fully_connected(2, l2loss=-1.0, name="fc"))
    assert_mentions(text, "at layer 'fc'", "input 'v'")


# ------------------------------------------------------------------------ arithmetic
def test_arithmetic_with_shapes_that_do_not_broadcast() -> None:
    x = cn.input((6,), name="x")
    y = cn.input((4,), name="y")
    assert_mentions(
        error_text(lambda: x + y),
        "add() at layer 'add'",
        "cannot add shapes (None, 6) ('x') and (None, 4) ('y')",
        "do not broadcast",
    )
    assert_mentions(
        error_text(lambda: x * np.ones(4)),
        "multiply() at layer 'multiply'",
        "shape (None, 6) ('x') and a constant of shape (4,)",
    )
    assert_mentions(
        error_text(lambda: x - x.fully_connected(5)), "subtract()", "(None, 5) ('fully_connected')"
    )
    assert_mentions(
        error_text(lambda: 1.0 / cn.input((2, 3), name="m")[:, :, :2] / y),
        "divide()",
        "(None, 2, 2)",
        "(None, 4)",
    )


def test_arithmetic_with_a_keras_tensor_or_an_object() -> None:
    x = cn.input((6,), name="x")
    derived = keras.layers.Dense(6)(keras.Input((6,)))
    assert_mentions(
        error_text(lambda: x + derived),
        "add() at layer 'add'",
        "symbolic Keras tensor",
        "keras.Input(...)",
    )
    # a keras.Input itself is an operand: it joins the network as an input
    y = x + keras.Input((6,), name="extra")
    assert [t.name for t in y.model().inputs] == ["x", "extra"]
    assert_mentions(error_text(lambda: x * None), "multiply()", "NoneType None")
    assert_mentions(error_text(lambda: x - object()), "subtract()", "object")


# ------------------------------------------------------------------------------ wrap
@pytest.mark.parametrize("value", [object(), {"a": 1}, [[1, 2], [3]], None])
def test_wrap_of_a_non_tensor(value: Any) -> None:
    text = error_text(lambda: cn.wrap(value))
    assert_mentions(text, "wrap(): cannot make a tensor of", type(value).__name__)


def test_wrap_of_a_layer_output_keras_tensor() -> None:
    hidden = keras.layers.Dense(2)(keras.Input((3,)))
    assert_mentions(error_text(lambda: cn.wrap(hidden)), "wrap():", "keras.Input(...)")


# ----------------------------------------------------------------------------- names
def test_duplicate_names() -> None:
    x = cn.input((4,), name="x")
    x.fully_connected(3, name="fc")
    text = error_text(lambda: x.fully_connected(3, name="fc"))
    assert_mentions(
        text,
        "fully_connected(): duplicate name 'fc' at ",
        __file__,
        "already used by fully_connected() at",
        "unique within a network",
    )
    assert_mentions(error_text(lambda: x.relu(name="x")), "duplicate name 'x'", "used by input()")


@pytest.mark.parametrize("bad", ["a/b", "", "with space", "a:b", 3])
def test_invalid_names(bad: Any) -> None:
    x = cn.input((4,), name="x")
    text = error_text(lambda: x.relu(name=bad))
    assert_mentions(
        text, "relu(): name must be a non-empty string of letters, digits", f"got {bad!r}"
    )
    assert_mentions(error_text(lambda: cn.input((3,), name=bad)), "input(): name must be")


def test_apply_layer_errors() -> None:
    x = cn.input((3,), name="x")
    assert_mentions(
        error_text(lambda: x.apply_layer(tf.nn.relu)),
        "apply_layer()",
        "needs a keras.layers.Layer, got function",
        "use apply(fn)",
    )
    built = keras.layers.Dense(2, name="built")
    built.build((None, 3))
    assert_mentions(
        error_text(lambda: x.apply_layer(built, name="renamed")),
        "layer 'built' is already built and cannot be renamed to 'renamed'",
    )
    x.relu()
    assert_mentions(
        error_text(lambda: x.apply_layer(keras.layers.ReLU(name="relu"))),
        "apply_layer(): duplicate name 'relu'",
    )
    assert_mentions(
        error_text(lambda: x.apply(3)), "apply() at layer 'apply'", "needs a callable, got int 3"
    )


# --------------------------------------------------------------------- model / eager
def test_model_on_an_eager_chain() -> None:
    eager = cn.wrap(np.ones((1, 3), "float32")).relu()
    assert_mentions(
        error_text(eager.model),
        "model() needs a symbolic network",
        "cn.input(shape)",
        "wraps eager tensors",
        ".numpy()",
    )
    assert_mentions(
        error_text(lambda: eager.network.activations(np.ones((1, 3)), "relu")),
        "activations() needs a symbolic network",
    )


def test_weights_inside_tf_function() -> None:
    @tf.function(autograph=False)
    def run(t: tf.Tensor) -> tf.Tensor:
        return cn.wrap(t).conv2d(3, 2, name="c").tensor

    text = error_text(lambda: run(tf.ones((1, 4, 4, 1))))
    assert_mentions(
        text,
        "conv2d() at layer 'c'",
        "cannot be created inside a tf.function",
        "Build the network once outside",
        "and call it inside the tf.function",
    )


def test_chain_error_survives_autograph() -> None:
    @tf.function  # autograph on, as users write it
    def run(t: tf.Tensor) -> tf.Tensor:
        return cn.wrap(t).fully_connected(2).tensor

    with pytest.raises(cn.ChainError, match=r"cannot be created inside a tf\.function"):
        run(tf.ones((1, 3)))


# ----------------------------------------------------------------- handles and weights
def test_unknown_names_in_handles() -> None:
    y = cn.input((3,), name="x").fully_connected(2, name="layer_fc1")
    net = y.network
    text = error_text(lambda: net.activations(np.ones((1, 3)), ["layer_fc"]), KeyError)
    assert_mentions(
        text,
        "activations(): no layer named 'layer_fc'",
        "Did you mean 'layer_fc1'?",
        "Names: ['x', 'layer_fc1']",
    )
    assert_mentions(
        error_text(lambda: net.get_weights("layer_fc2"), KeyError),
        "layer(): no layer named 'layer_fc2'",
        "Did you mean 'layer_fc1'?",
    )
    assert_mentions(
        error_text(lambda: net.variable("layer_fc1/kernal"), KeyError),
        "variable(): no variable 'layer_fc1/kernal'",
        "Did you mean 'layer_fc1/kernel'?",
    )


def test_set_weights_errors() -> None:
    y = cn.input((3,), name="x").fully_connected(2, name="fc")
    net = y.network
    assert_mentions(
        error_text(lambda: net.set_weights("fc", {"kernel": np.ones((2, 2))})),
        "set_weights('fc')",
        "weight 'kernel' expects shape (3, 2), got (2, 2)",
    )
    assert_mentions(
        error_text(lambda: net.set_weights("fc", {"weights": 1}), KeyError),
        "set_weights('fc')",
        "unknown weight(s) ['weights']",
        "the layer has ['bias', 'kernel']",
    )
    assert_mentions(
        error_text(lambda: net.set_weights("nope", {}), KeyError), "no layer named 'nope'"
    )


# --------------------------------------------------------------------------- register
def test_register_clash_with_a_built_in() -> None:
    def conv2d(chain: cn.Chain) -> keras.layers.Layer:
        return keras.layers.ReLU()

    assert_mentions(
        error_text(lambda: cn.register(conv2d)),
        "register(): chains already have a built-in method 'conv2d'",
        "overwrite=True",
    )
    assert_mentions(
        error_text(lambda: cn.register(conv2d, name="shape")),
        "'shape' is an attribute of Chain, not a method",
    )
    assert_mentions(
        error_text(lambda: cn.register(conv2d, name="_hidden")),
        "'_hidden' is not a valid public method name",
    )
    assert_mentions(
        error_text(lambda: cn.register(conv2d, name="not-valid")),
        "'not-valid' is not a valid public method name",
    )
    x = cn.input((4, 4, 1))
    assert isinstance(x.conv2d(3, 2).layer, keras.layers.Conv2D)  # untouched


def test_register_user_methods_and_overwrite() -> None:
    @cn.register(name="errors_test_double")
    def first(chain: cn.Chain, *, name: str | None = None) -> keras.layers.Layer:
        return keras.layers.Rescaling(2.0, name=name)

    text = error_text(lambda: cn.register(first, name="errors_test_double"))
    assert_mentions(text, "already have a method 'errors_test_double'", "overwrite=True")
    assert "built-in" not in text

    @cn.register(name="errors_test_double", overwrite=True)
    def second(chain: cn.Chain, *, name: str | None = None) -> keras.layers.Layer:
        return keras.layers.Rescaling(3.0, name=name)

    y = cn.wrap(np.ones((1, 2), "float32")).errors_test_double()  # type: ignore[attr-defined]
    np.testing.assert_array_equal(y.numpy(), [[3.0, 3.0]])
    assert y.name == "errors_test_double"


def test_registered_method_returning_a_non_layer() -> None:
    @cn.register(name="errors_test_bad_return")
    def bad(chain: cn.Chain) -> Any:
        return 42

    text = error_text(lambda: cn.input((2,)).errors_test_bad_return(), cn.ChainError)
    assert_mentions(
        text,
        "errors_test_bad_return() at layer 'errors_test_bad_return'",
        "must return a Keras layer, a list of layers or a chain",
        "got 42",
    )


# ---------------------------------------------------------------- wrong arguments
def test_wrong_arguments_are_type_errors_that_name_the_method() -> None:
    img = cn.input((4, 4, 1), name="img")
    assert_mentions(
        error_text(lambda: img.conv2d(3), TypeError),
        "conv2d() on chain 'img'",
        "missing a required argument: 'depth'",
    )
    assert_mentions(
        error_text(lambda: img.relu(1), TypeError),
        "relu() on chain 'img'",
        "too many positional arguments",
    )
    assert_mentions(
        error_text(lambda: img.flatten().fully_connected(3, activaton="relu"), TypeError),
        "fully_connected() on chain 'flatten'",
        "unexpected keyword argument 'activaton'",
    )
    assert_mentions(
        error_text(lambda: img.conv2d(3, 2, 1), TypeError),
        "conv2d()",
        "too many positional arguments",
    )
