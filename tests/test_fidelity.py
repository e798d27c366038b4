"""Fidelity: the network you write is the network you get (issue "Fidelity").

One test (or a few) for each silent difference and each unhelpful error found by porting
PrettyTensor, TF-Slim and Keras code: each failed on the code before this change. The
references are Keras layers given the same weights, and NumPy.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
import pytest
import tensorflow as tf

import chainnet as cn


def _kernels(chain: cn.Chain) -> list[np.ndarray]:
    return [v.numpy() for path, v in chain.network.variables.items() if path.endswith("kernel")]


def _error(build: Callable[[], Any]) -> str:
    with pytest.raises(cn.ChainError) as caught:
        build()
    return str(caught.value)


# ------------------------------------------------------------------ shared initializers
def test_a_scope_initializer_instance_starts_every_layer_differently() -> None:
    # TF-Slim's arg_scope([conv2d], weights_initializer=trunc_normal(0.01)): one instance
    init = keras.initializers.TruncatedNormal(stddev=0.01)
    with cn.defaults(kernel_initializer=init):
        x = cn.input((8, 8, 4))
        y = x.conv2d(3, 4).conv2d(3, 4).conv2d(3, 4)
    kernels = _kernels(y)
    assert len(kernels) == 3
    for a, b in itertools.combinations(kernels, 2):
        assert not np.array_equal(a, b)
    assert all(0.0 < k.std() < 0.02 for k in kernels)  # still the user's distribution


def test_an_initializer_instance_passed_twice_is_not_shared() -> None:
    init = keras.initializers.RandomNormal(stddev=0.1)
    y = cn.input((6,)).fully_connected(6, kernel_initializer=init)
    z = y.fully_connected(6, kernel_initializer=init)
    first, second = _kernels(z)
    assert not np.array_equal(first, second)


def test_a_seeded_initializer_gives_the_users_values_to_every_layer() -> None:
    init = keras.initializers.RandomNormal(stddev=0.1, seed=7)
    y = cn.input((6,)).fully_connected(6, kernel_initializer=init)
    z = y.fully_connected(6, kernel_initializer=init)
    first, second = _kernels(z)
    np.testing.assert_array_equal(first, second)  # seeded: the user asked for these values
    np.testing.assert_array_equal(first, keras.initializers.RandomNormal(0.0, 0.1, 7)((6, 6)))


# ------------------------------------------------------------------ batch-norm keys
def test_a_scope_batch_normalize_dict_normalizes_every_convolution() -> None:
    # TF-Slim: normalizer_fn=slim.batch_norm, normalizer_params={"epsilon": 1e-5, ...}
    with cn.defaults(batch_normalize={"epsilon": 1e-5, "momentum": 0.9}, activation="relu"):
        y = cn.input((8, 8, 3)).conv2d(3, 4, name="a").depthwise_conv2d(3, name="b")
    for name in ("a_bn", "b_bn"):
        layer = y.network.layer(name)
        assert isinstance(layer, keras.layers.BatchNormalization)
        assert (layer.epsilon, layer.momentum) == (1e-5, 0.9)
    assert [layer.name for layer in y.layers] == ["b", "b_bn", "b_activation"]


def test_a_scope_batch_normalize_leaves_fully_connected_alone() -> None:
    with cn.defaults(batch_normalize=True):
        conv = cn.input((8, 8, 3)).conv2d(3, 4)
        logits = conv.flatten().fully_connected(10)
    assert [layer.name for layer in conv.layers] == ["conv2d", "conv2d_bn"]
    assert [layer.name for layer in logits.layers] == ["fully_connected"]
    assert logits.layer.use_bias
    # an explicit argument still normalizes a dense layer
    dense = conv.flatten().fully_connected(10, batch_normalize=True)
    assert [type(layer).__name__ for layer in dense.layers] == ["Dense", "BatchNormalization"]


def test_scope_batch_norm_keys_reach_every_batch_norm() -> None:
    with cn.defaults(epsilon=1e-5, momentum=0.9):
        conv = cn.input((8, 8, 3)).conv2d(3, 4, batch_normalize=True, name="c")
        step = conv.batch_normalize(name="b")
    for name in ("c_bn", "b"):
        layer = conv.network.layer(name) if name == "c_bn" else step.layer
        assert (layer.epsilon, layer.momentum) == (1e-5, 0.9)
    # the step's own dict wins over the scope
    with cn.defaults(epsilon=1e-5):
        own = cn.input((8, 8, 3)).conv2d(3, 4, batch_normalize={"epsilon": 0.1}, name="d")
    assert own.network.layer("d_bn").epsilon == 0.1


# ------------------------------------------------------------------ key collisions
def test_a_number_for_the_dropout_key_asks_which_dropout() -> None:
    text = _error(lambda: cn.defaults(dropout=0.3).__enter__())
    assert "'dropout' names the method dropout()" in text and "dropout={...}" in text
    assert "lstm={'dropout': 0.3}" in text
    with cn.defaults(dropout={"rate": 0.3}, lstm={"dropout": 0.2}):
        dropped = cn.input((5, 4)).dropout()
        recurrent = dropped.lstm(3)
    assert dropped.layer.rate == pytest.approx(0.3)
    assert recurrent.layer.dropout == pytest.approx(0.2)


def test_a_key_no_method_takes_from_scopes_is_refused_naming_the_methods() -> None:
    text = _error(lambda: cn.defaults(axis=1).__enter__())
    assert "unknown key 'axis'" in text and "batch_normalize()" in text
    assert "none of them takes from a defaults scope" in text


def test_every_key_that_names_a_method_and_a_keyword_has_one_declared_meaning() -> None:
    from chainnet._specs import KEYWORD_KEYS, METHOD_KEYS, METHODS

    both = {key for key in METHODS.all_keywords() if key in METHODS}
    both |= {key for key in KEYWORD_KEYS if key in METHODS}
    assert both <= KEYWORD_KEYS | METHOD_KEYS, both - (KEYWORD_KEYS | METHOD_KEYS)
    assert not KEYWORD_KEYS & METHOD_KEYS


# ------------------------------------------------------------------ explicit arguments win
def test_use_bias_true_with_batch_normalize_keeps_the_bias() -> None:
    # ResNet50: Conv2D (with bias) then BatchNormalization
    y = cn.input((8, 8, 3)).conv2d(1, 4, batch_normalize=True, use_bias=True)
    reference = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 1), keras.layers.BatchNormalization()]
    )
    assert y.layer.use_bias
    assert y.model().count_params() == reference.count_params() == 3 * 4 + 4 + 4 * 4
    # without use_bias, batch normalization drops the bias as before
    assert not cn.input((8, 8, 3)).conv2d(1, 4, batch_normalize=True).layer.use_bias


# ------------------------------------------------------------------ inverted dropout
def test_a_positional_dropout_is_refused_as_ambiguous() -> None:
    text = _error(lambda: cn.input((4,)).dropout(0.7))
    assert "dropout(keep_prob=0.7)" in text and "dropout(rate=0.7)" in text
    assert cn.input((4,)).dropout(keep_prob=0.7).layer.rate == pytest.approx(0.3)
    assert cn.input((4,)).dropout(rate=0.7).layer.rate == pytest.approx(0.7)


# ------------------------------------------------------------------ lost weights
def test_apply_refuses_a_function_whose_layer_would_never_train() -> None:
    attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    text = _error(lambda: cn.input((5, 8)).apply(lambda t: attention(t, t)))
    assert "attention" in text and "apply_layer" in text


# ------------------------------------------------------------------ unchecked arguments
@pytest.mark.parametrize(
    ("build", "fragments"),
    [
        (
            lambda x: x.conv2d(3, 4, batch_normalize="no"),
            ["conv2d(batch_normalize): expected True, False or a dict", "'no' (str)"],
        ),
        (
            lambda x: x.fully_connected(True),
            ["fully_connected(size): expected a positive int, got True (bool)"],
        ),
        (
            lambda x: x.conv2d(3, 4, l2loss="0.1"),
            ["conv2d(l2loss): expected a number, got '0.1' (str)"],
        ),
        (lambda x: x.dropout(rate="0.5"), ["dropout(rate): expected a number, got '0.5'"]),
        (lambda x: x.leaky_relu(alpha="a"), ["leaky_relu(alpha): expected a number"]),
        (lambda x: x.max_pool("2"), ["max_pool(kernel): expected a positive int or 2 of them"]),
        (lambda x: x.batch_normalize(axis="1"), ["batch_normalize(axis): expected an int axis"]),
        (lambda x: x.conv2d(0, 4), ["conv2d(kernel)"]),
        (lambda x: x.conv2d(3, 4, padding="full"), ["conv2d(padding): expected one of"]),
        (
            lambda x: x.upsample(2, interpolation="cubic"),
            ["upsample(interpolation): expected one of"],
        ),
        (lambda x: x.softmax_activation(axis=5), ["softmax_activation(axis): axis 5"]),
        (lambda x: x.elu(alpha=None), ["elu(alpha): expected a number"]),
        (
            lambda x: x.lstm(3, dropout=2),
            ["lstm(dropout): expected a number in [0, 1), got 2"],
        ),
        (lambda x: x.activation("nope"), ["activation(fn): expected a Keras activation name"]),
        (lambda x: x.split(-1, "3"), ["split(num_splits): expected a positive int, got '3'"]),
    ],
)
def test_arguments_are_checked_before_building(
    build: Callable[[Any], Any], fragments: list[str]
) -> None:
    x = cn.input((8, 8, 3), name="img")
    if "lstm" in repr(build.__code__.co_names):
        x = cn.input((8, 3), name="img")  # a sequence
    text = _error(lambda: build(x))
    for fragment in fragments:
        assert fragment in text, text
    assert "at layer '" in text  # the layer, too
    assert [n.name for n in x.network.nodes] == ["img"]  # nothing was built


def test_a_float_only_step_refuses_int_input_the_same_way_eager_and_symbolic() -> None:
    symbolic = _error(lambda: cn.input((8, 8, 3), dtype="int32").conv2d(3, 4))
    eager = _error(lambda: cn.wrap(np.ones((1, 8, 8, 3), "int32")).conv2d(3, 4))
    for text in (symbolic, eager):
        assert "needs a floating-point input, got int32" in text and ".cast('float32')" in text
    assert cn.wrap(np.ones((1, 8, 8, 3), "int32")).cast("float32").conv2d(3, 4).shape == (
        1,
        8,
        8,
        4,
    )


# ------------------------------------------------------------------ wrong values
def test_evaluate_classifier_refuses_a_topk_above_the_classes() -> None:
    logits = cn.wrap(np.array([[2.0, 1.0, 0.0]], "float32"))
    text = _error(lambda: logits.evaluate_classifier(np.array([2]), topk=5))
    assert "topk=5 is more than the 3 classes" in text
    assert float(logits.evaluate_classifier(np.array([2]), topk=3).numpy()) == 1.0


# ------------------------------------------------------------------ one option set per family
def test_depthwise_and_separable_convolutions_take_the_kernel_options() -> None:
    x = cn.input((8, 8, 3))
    with cn.defaults(l2loss=0.01):
        depthwise = x.depthwise_conv2d(3, 2, batch_normalize=True, activation="relu")
        separable = x.separable_conv2d(3, 4)
    assert [type(layer).__name__ for layer in depthwise.layers] == [
        "DepthwiseConv2D",
        "BatchNormalization",
        "Activation",
    ]
    assert not depthwise.layer.use_bias
    assert len(cn.model([depthwise, separable]).losses) == 3  # depthwise; depthwise + pointwise


def test_pools_and_convolutions_take_the_same_stride_spelling() -> None:
    x = cn.input((8, 8, 3))
    assert x.max_pool(2, strides=1).shape == x.max_pool(2, 1).shape == (None, 8, 8, 3)
    with cn.defaults(strides=2, padding="valid"):
        pooled = x.max_pool(3)
        conv = x.conv2d(3, 4)
    assert pooled.layer.strides == conv.layer.strides == (2, 2)
    text = _error(lambda: x.max_pool(2, 1, strides=1))
    assert "give stride= (PrettyTensor) or strides= (Keras), not both" in text


# ------------------------------------------------------------------ sequences
def test_fully_connected_applies_to_every_position_of_a_sequence_as_keras_dense() -> None:
    x = cn.input((5, 8))
    y = x.fully_connected(3, activation="tanh")
    reference = keras.layers.Dense(3, activation="tanh")
    inputs = keras.Input((5, 8))
    ref_model = keras.Model(inputs, reference(inputs))
    reference.set_weights(y.layer.get_weights())
    data = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    np.testing.assert_allclose(y.model().predict(data, verbose=0), ref_model(data), atol=1e-6)


# ------------------------------------------------------------------ saving traps
@keras.saving.register_keras_serializable(package="chainnet_fidelity")
def difference(tensors: list[Any]) -> Any:
    return tensors[0] - tensors[1]


def _unregistered_difference(tensors: list[Any]) -> Any:
    return tensors[0] - tensors[1]


def test_join_with_a_function_loads_back_or_is_refused(tmp_path: Path) -> None:
    x = cn.input((4,))
    data = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    for how, safe_mode in ((difference, True), (lambda ts: ts[0] - ts[1], False)):
        model = x.join([x * 2.0], how=how).model()
        path = tmp_path / f"join_{safe_mode}.keras"
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=safe_mode)
        np.testing.assert_allclose(loaded(data), -data, atol=1e-6)
    text = _error(lambda: x.join([x * 2.0], how=_unregistered_difference))
    assert "could not find it again" in text and "register_keras_serializable" in text


# ------------------------------------------------------------------ argument order
def test_tf_slim_argument_order_is_explained() -> None:
    x = cn.input((28, 28, 1))
    text = _error(lambda: x.conv2d(32, [5, 5]))
    assert "PrettyTensor's order, conv2d(kernel, depth)" in text and "TF-Slim" in text
    text = _error(lambda: x.conv2d(32, 5))
    assert "did you mean conv2d(5, 32)?" in text
    assert x.conv2d(5, 32).shape == (None, 28, 28, 32)


def test_tensorflow_functions_keras_knows_still_apply() -> None:
    y = cn.input((4,)).apply(tf.nn.relu6)
    assert y.shape == (None, 4)


# ------------------------------------------------------------------ review follow-ups
class _Constant(keras.initializers.Initializer):
    """An initializer of the user's with no get_config: copying it would lose its value."""

    def __init__(self, value: float = 0.5) -> None:
        self.value = value

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        return keras.ops.full(shape, self.value, dtype=dtype)


def test_an_initializer_of_the_users_own_class_is_used_as_given() -> None:
    y = cn.input((4,)).fully_connected(3, kernel_initializer=_Constant(7.0))
    np.testing.assert_array_equal(y.get_weights()["kernel"], np.full((4, 3), 7.0))


def test_a_seed_generator_initializer_still_advances_between_layers() -> None:
    init = keras.initializers.RandomNormal(seed=keras.random.SeedGenerator(42))
    y = cn.input((4,)).fully_connected(4, kernel_initializer=init)
    first, second = _kernels(y.fully_connected(4, kernel_initializer=init))
    assert not np.array_equal(first, second)


def test_a_scope_stride_reaches_convolutions_and_pools() -> None:
    x = cn.input((8, 8, 3))
    with cn.defaults(stride=2):
        conv, pool = x.conv2d(3, 4), x.max_pool(2)
        explicit = x.max_pool(2, 1)
    assert conv.shape == (None, 4, 4, 4) and pool.layer.strides == (2, 2)
    assert explicit.layer.strides == (1, 1)  # an explicit stride wins
    with cn.defaults(max_pool={"stride": 2}):
        assert x.max_pool(2).layer.strides == (2, 2)


def test_an_explicit_regularizer_wins_over_a_scope_l2loss() -> None:
    x = cn.input((4,))
    with cn.defaults(l2loss=0.01):
        none = x.fully_connected(3, kernel_regularizer=None)
        l1 = x.fully_connected(3, kernel_regularizer="l1")
        scoped = x.fully_connected(3)
    assert none.layer.kernel_regularizer is None
    assert isinstance(l1.layer.kernel_regularizer, keras.regularizers.L1)
    assert isinstance(scoped.layer.kernel_regularizer, keras.regularizers.L2)
    with cn.defaults(kernel_regularizer="l1"):
        both = x.fully_connected(3, l2loss=0.5)
    assert isinstance(both.layer.kernel_regularizer, keras.regularizers.L2)


def test_a_method_may_not_take_the_name_of_a_defaults_key() -> None:
    def scale(chain: cn.Chain, s: float = 2.0) -> Any:
        return keras.layers.Rescaling(s)

    text = _error(lambda: cn.register(scale))
    assert "'scale' is a defaults key" in text
    with cn.defaults(scale=False):  # still the batch-norm key
        assert not cn.input((4,)).batch_normalize().layer.scale


@pytest.mark.parametrize(("shape", "kernel", "depth"), [((2, 2, 8), 3, 1), ((4, 4, 2), 7, 3)])
def test_a_same_kernel_larger_than_a_small_map_still_builds(
    shape: tuple[int, ...], kernel: int, depth: int
) -> None:
    reference = keras.layers.Conv2D(depth, kernel, padding="same")
    expected = tuple(reference(keras.Input(shape)).shape)
    assert cn.input(shape).conv2d(kernel, depth).shape == expected


def test_an_inner_scope_spelling_replaces_an_outer_one() -> None:
    with cn.defaults(keep_prob=0.5):
        with cn.defaults(dropout={"rate": 0.3}):
            assert cn.input((4,)).dropout().layer.rate == pytest.approx(0.3)
        with cn.defaults(rate=0.1):
            assert cn.input((4,)).dropout().layer.rate == pytest.approx(0.1)
    with cn.defaults(strides=1, max_pool={"stride": 2}):
        assert cn.input((8, 8, 3)).max_pool(2).layer.strides == (2, 2)
