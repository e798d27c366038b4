"""Reference networks: the network you write is the network you get.

Three networks are written the documented chainnet way, as their users wrote them, and checked
against their reference:

* ResNet50 and MobileNetV2 against ``keras.applications`` (built with ``weights=None`` and the
  default 1000-class top): the same parameter count, the same layers, and the same outputs once
  every weight of the Keras model is copied into the chainnet one, layer by layer.
* Inception v1 (GoogLeNet), ported from TF-Slim's ``research/slim/nets/inception_v1.py``
  under a scope that mirrors ``inception_v1_arg_scope`` and ``trunc_normal(0.01)``: no two
  kernels start equal, and the parameter count is the one TF-Slim's architecture implies.

The outputs are compared at 96x96, a size both Keras models accept with ``weights=None``
(MobileNetV2 has ImageNet weights for it): the weights do not depend on the input size, and
96x96 keeps a forward pass of ResNet50 quick on a CPU. At 64x64, which Keras also accepts,
chainnet refuses to build either network (see :func:`test_keras_applications_at_64x64`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import keras
import numpy as np
import pytest

import chainnet as cn

RESNET50_PARAMS = 25_636_712
"""``keras.applications.ResNet50(weights=None).count_params()``."""
MOBILENET_V2_PARAMS = 3_538_984
"""``keras.applications.MobileNetV2(weights=None).count_params()``."""
SIZE = 96
"""The input size for the output comparisons (see the module docstring)."""
CLASSES = 1000


# ResNet50, as keras.applications.resnet writes it (residual_block_v1, stack_residual_blocks_v1)


def _resnet_block(
    x: cn.Chain, filters: int, *, stride: int = 1, conv_shortcut: bool, name: str
) -> cn.Chain:
    """Keras' ``residual_block_v1``: a bottleneck block with a projection or identity shortcut.

    Every convolution has a bias and batch normalization (``use_bias=True`` with
    ``batch_normalize``), as Keras' ``Conv2D`` (bias by default) then ``BatchNormalization``.
    """
    if conv_shortcut:
        shortcut = x.conv2d(
            1,
            4 * filters,
            strides=stride,
            use_bias=True,
            batch_normalize=True,
            name=f"{name}_0_conv",
        )
    else:
        shortcut = x
    y = x.conv2d(
        1,
        filters,
        strides=stride,
        use_bias=True,
        batch_normalize=True,
        activation="relu",
        name=f"{name}_1_conv",
    )
    y = y.conv2d(
        3, filters, use_bias=True, batch_normalize=True, activation="relu", name=f"{name}_2_conv"
    )
    y = y.conv2d(1, 4 * filters, use_bias=True, batch_normalize=True, name=f"{name}_3_conv")
    return (shortcut + y).relu(name=f"{name}_out")


def _resnet_stack(x: cn.Chain, filters: int, blocks: int, *, stride1: int, name: str) -> cn.Chain:
    """Keras' ``stack_residual_blocks_v1``: one projection block, then identity blocks."""
    x = _resnet_block(x, filters, stride=stride1, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = _resnet_block(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def resnet50(size: int = SIZE, classes: int = CLASSES) -> cn.Chain:
    """ResNet50 (``keras.applications.ResNet50``) written with chainnet; returns the softmax.

    Keras pads the stem explicitly (``ZeroPadding2D``) before a ``"valid"`` convolution and
    pool, which ``"same"`` padding does not reproduce (it pads 2 above and 3 below, Keras 3 and
    3): ``apply_layer`` is the documented escape hatch for a Keras layer without a method.
    """
    image = cn.input((size, size, 3), name="input")
    with cn.defaults(epsilon=1.001e-5):  # every batch norm, the convolutions' included
        x = image.apply_layer(keras.layers.ZeroPadding2D(3), name="conv1_pad")
        x = x.conv2d(
            7,
            64,
            strides=2,
            padding="valid",
            use_bias=True,
            batch_normalize=True,
            activation="relu",
            name="conv1_conv",
        )
        x = x.apply_layer(keras.layers.ZeroPadding2D(1), name="pool1_pad")
        x = x.max_pool(3, 2, padding="valid", name="pool1_pool")
        x = _resnet_stack(x, 64, 3, stride1=1, name="conv2")
        x = _resnet_stack(x, 128, 4, stride1=2, name="conv3")
        x = _resnet_stack(x, 256, 6, stride1=2, name="conv4")
        x = _resnet_stack(x, 512, 3, stride1=2, name="conv5")
    x = x.global_average_pool(name="avg_pool")
    return x.fully_connected(classes, activation="softmax", name="predictions")


def _resnet_name(keras_name: str) -> str:
    """The chainnet layer holding a Keras ResNet50 layer's weights (``conv1_bn`` is the batch
    norm of the step ``conv1_conv``: ``conv1_conv_bn``)."""
    if keras_name.endswith("_bn"):
        return keras_name.removesuffix("_bn") + "_conv_bn"
    return keras_name


# MobileNetV2, as keras.applications.mobilenet_v2 writes it (alpha=1.0)

_MOBILENET_V2_BLOCKS = (  # (expansion, stride, filters) of blocks 0 to 16
    (1, 1, 16),
    (6, 2, 24),
    (6, 1, 24),
    (6, 2, 32),
    (6, 1, 32),
    (6, 1, 32),
    (6, 2, 64),
    (6, 1, 64),
    (6, 1, 64),
    (6, 1, 64),
    (6, 1, 96),
    (6, 1, 96),
    (6, 1, 96),
    (6, 2, 160),
    (6, 1, 160),
    (6, 1, 160),
    (6, 1, 320),
)


def _inverted_residual(
    x: cn.Chain, *, expansion: int, stride: int, filters: int, block_id: int
) -> cn.Chain:
    """Keras' ``_inverted_res_block`` (``alpha=1``: the filter counts are already multiples of
    8). Batch norm and ReLU6 come from the scope; the projection is linear.

    Keras pads a stride-2 depthwise convolution with ``correct_pad`` then convolves ``"valid"``:
    on the even sizes this network has at 96x96 (48, 24, 12, 6) that is exactly ``"same"``.
    """
    in_channels = x.shape[-1]
    assert in_channels is not None
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    y = x.conv2d(1, expansion * in_channels, name=f"{prefix}expand") if block_id else x
    y = y.depthwise_conv2d(3, 1, strides=stride, name=f"{prefix}depthwise")
    y = y.conv2d(1, filters, activation=None, name=f"{prefix}project")
    return x + y if in_channels == filters and stride == 1 else y


def mobilenet_v2(size: int = SIZE, classes: int = CLASSES) -> cn.Chain:
    """MobileNetV2 (``keras.applications.MobileNetV2``, ``alpha=1``) written with chainnet;
    returns the softmax. No convolution has a bias: batch normalization follows each."""
    image = cn.input((size, size, 3), name="input")
    with cn.defaults(batch_normalize={"epsilon": 1e-3, "momentum": 0.999}, activation="relu6"):
        x = image.conv2d(3, 32, strides=2, name="Conv1")
        for block_id, (expansion, stride, filters) in enumerate(_MOBILENET_V2_BLOCKS):
            x = _inverted_residual(
                x, expansion=expansion, stride=stride, filters=filters, block_id=block_id
            )
        x = x.conv2d(1, 1280, name="Conv_1")
    x = x.global_average_pool(name="avg_pool")
    return x.fully_connected(classes, activation="softmax", name="predictions")


def _mobilenet_v2_name(keras_name: str) -> str:
    """The chainnet layer holding a Keras MobileNetV2 layer's weights (``block_1_expand_BN``
    is the batch norm of the step ``block_1_expand``: ``block_1_expand_bn``)."""
    if keras_name == "bn_Conv1":
        return "Conv1_bn"
    if keras_name.endswith("_BN"):
        return keras_name.removesuffix("_BN") + "_bn"
    return keras_name


# Inception v1, ported from TF-Slim's research/slim/nets/inception_v1.py

_INCEPTION_V1_MIXED = {  # name: (branch 0, branch 1 (1x1, 3x3), branch 2 (1x1, 3x3), branch 3)
    "Mixed_3b": (64, (96, 128), (16, 32), 32),
    "Mixed_3c": (128, (128, 192), (32, 96), 64),
    "Mixed_4b": (192, (96, 208), (16, 48), 64),
    "Mixed_4c": (160, (112, 224), (24, 64), 64),
    "Mixed_4d": (128, (128, 256), (24, 64), 64),
    "Mixed_4e": (112, (144, 288), (32, 64), 64),
    "Mixed_4f": (256, (160, 320), (32, 128), 128),
    "Mixed_5b": (256, (160, 320), (32, 128), 128),
    "Mixed_5c": (384, (192, 384), (48, 128), 128),
}

INCEPTION_V1_TRAINABLE_PARAMS = 6_617_624
"""TF-Slim's Inception v1 with batch norm and 1000 classes, derived from the architecture
(:func:`_inception_v1_slim_counts`):

* conv kernels (no biases: ``normalizer_fn=slim.batch_norm``): the stem 7*7*3*64 + 1*1*64*64
  + 3*3*64*192 = 124,096, and the nine mixed blocks 5,461,248: 5,585,344 in all;
* batch-norm ``beta`` (``slim.batch_norm`` with ``scale=False``, the ``inception_arg_scope``
  default, has no ``gamma``), one per output channel of the 57 normalized convolutions:
  7,280;
* the logits, a 1x1 conv without batch norm, so with a bias: 1024*1000 + 1000 = 1,025,000.

5,585,344 + 7,280 + 1,025,000 = 6,617,624 (6,618,649 with TF-Slim's ImageNet 1001 classes).
"""
INCEPTION_V1_PARAMS = 6_632_184
"""All of TF-Slim's Inception v1 variables: the trainable ones and the batch norms'
``moving_mean`` and ``moving_variance`` (2 * 7,280), as Keras' ``count_params`` counts them."""


def _inception_v1_slim_counts(classes: int = CLASSES) -> tuple[int, int]:
    """``(trainable, all)`` variables of TF-Slim's ``inception_v1`` under
    ``inception_v1_arg_scope()``, counted from the architecture's table, not from a model."""
    stem = [(7, 3, 64), (1, 64, 64), (3, 64, 192)]  # (kernel, in, out)
    kernels = sum(k * k * c_in * c_out for k, c_in, c_out in stem)
    channels = sum(c_out for _, _, c_out in stem)
    depth = 192
    for b0, (b1a, b1b), (b2a, b2b), b3 in _INCEPTION_V1_MIXED.values():
        kernels += depth * (b0 + b1a + b2a + b3) + 9 * (b1a * b1b + b2a * b2b)
        channels += b0 + b1a + b1b + b2a + b2b + b3
        depth = b0 + b1b + b2b + b3
    logits = depth * classes + classes
    return kernels + channels + logits, kernels + 3 * channels + logits


def _mixed(net: cn.Chain, name: str) -> cn.Chain:
    """One TF-Slim inception module: four branches concatenated along the channels."""
    b0, (b1a, b1b), (b2a, b2b), b3 = _INCEPTION_V1_MIXED[name]
    branch_0 = net.conv2d(1, b0, name=f"{name}_Branch_0_Conv2d_0a_1x1")
    branch_1 = net.conv2d(1, b1a, name=f"{name}_Branch_1_Conv2d_0a_1x1")
    branch_1 = branch_1.conv2d(3, b1b, name=f"{name}_Branch_1_Conv2d_0b_3x3")
    branch_2 = net.conv2d(1, b2a, name=f"{name}_Branch_2_Conv2d_0a_1x1")
    # TF-Slim names Mixed_5b's second branch-2 convolution Conv2d_0a_3x3.
    scope = "Conv2d_0a_3x3" if name == "Mixed_5b" else "Conv2d_0b_3x3"
    branch_2 = branch_2.conv2d(3, b2b, name=f"{name}_Branch_2_{scope}")
    branch_3 = net.max_pool(3, name=f"{name}_Branch_3_MaxPool_0a_3x3")
    branch_3 = branch_3.conv2d(1, b3, name=f"{name}_Branch_3_Conv2d_0b_1x1")
    return branch_0.join([branch_1, branch_2, branch_3], name=name)


def inception_v1(size: int = 224, classes: int = CLASSES) -> cn.Chain:
    """TF-Slim's ``inception_v1`` (``global_pool=False``, ``spatial_squeeze=True``) under
    ``inception_v1_arg_scope()``; returns the predictions.

    The scopes port TF-Slim's key for key: ``weights_initializer=trunc_normal(0.01)``;
    ``normalizer_fn=slim.batch_norm`` with ``normalizer_params`` (decay 0.9997, epsilon 0.001,
    ``scale=False``) and ``activation_fn=tf.nn.relu``; ``arg_scope([conv2d, max_pool2d],
    stride=1, padding="SAME")``. The regularizer (``weight_decay``) is left out: it adds no
    variable.
    """
    images = cn.input((size, size, 3), name="images")
    with cn.defaults(
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.01),
        batch_normalize={"momentum": 0.9997, "epsilon": 0.001, "scale": False},
        activation="relu",
    ):
        with cn.defaults(strides=1, padding="same"):
            net = images.conv2d(7, 64, strides=2, name="Conv2d_1a_7x7")
            net = net.max_pool(3, 2, name="MaxPool_2a_3x3")
            net = net.conv2d(1, 64, name="Conv2d_2b_1x1")
            net = net.conv2d(3, 192, name="Conv2d_2c_3x3")
            net = net.max_pool(3, 2, name="MaxPool_3a_3x3")
            net = _mixed(net, "Mixed_3b")
            net = _mixed(net, "Mixed_3c")
            net = net.max_pool(3, 2, name="MaxPool_4a_3x3")
            for name in ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"):
                net = _mixed(net, name)
            net = net.max_pool(2, 2, name="MaxPool_5a_2x2")
            net = _mixed(net, "Mixed_5b")
            net = _mixed(net, "Mixed_5c")
        # slim.avg_pool2d is outside the stride/padding arg_scope: its own "VALID" padding.
        net = net.average_pool(7, 1, padding="valid", name="Logits_AvgPool_0a_7x7")
        net = net.dropout(keep_prob=0.8, name="Logits_Dropout_0b")
        logits = net.conv2d(
            1, classes, activation=None, batch_normalize=False, name="Logits_Conv2d_0c_1x1"
        )
    logits = logits.squeeze([1, 2], name="Logits_SpatialSqueeze")
    return logits.softmax_activation(name="Predictions")


# Copying and comparing


def _short(variable: keras.Variable) -> str:
    """A Keras variable's short name: ``kernel``, ``gamma``, ``moving_mean``, ..."""
    return str(variable.path).rsplit("/", 1)[-1]


def _weighted(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """The layers of ``model`` that have weights, in order."""
    return (layer for layer in model.layers if layer.weights)


def _randomize(model: keras.Model, rng: np.random.Generator, size: int) -> None:
    """Replaces Keras' constant initial values, so that every weight copied counts: random
    biases, ``gamma`` and ``beta`` instead of zeros and ones, and batch-norm statistics taken
    from a random batch (one training-mode pass with momentum 0) instead of mean 0, variance 1.

    With the statistics of real activations each batch norm keeps its output normalized, so
    the deep network still tells two images apart: with the identity batch norms of a fresh
    Keras model, MobileNetV2's pooled features shrink to ~1e-11 and every image gives the
    same softmax, which any network would match.
    """
    ranges = {"bias": (-0.1, 0.1), "beta": (-0.1, 0.1), "gamma": (0.5, 1.5)}
    for layer in _weighted(model):
        for variable in layer.weights:
            low_high = ranges.get(_short(variable))
            if low_high is not None:
                values = rng.uniform(*low_high, tuple(variable.shape))
                variable.assign(values.astype(variable.dtype))
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [norm.momentum for norm in norms]
    try:
        for norm in norms:
            norm.momentum = 0.0
        model(rng.uniform(-1.0, 1.0, (8, size, size, 3)).astype("float32"), training=True)
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum


def _copy_weights(
    reference: keras.Model, chain: cn.Chain, chainnet_name: Callable[[str], str]
) -> list[str]:
    """Copies every weight of ``reference`` into ``chain``'s network layer by layer, through
    ``network.set_weights`` by short name; returns the chainnet layers it filled."""
    network = chain.network
    filled = []
    for layer in _weighted(reference):
        name = chainnet_name(layer.name)
        network.set_weights(name, {_short(v): v.numpy() for v in layer.weights})
        filled.append(name)
    return filled


class _Pair:
    """A Keras reference model and the same network written with chainnet."""

    def __init__(
        self,
        name: str,
        reference: keras.Model,
        chain: cn.Chain,
        chainnet_name: Callable[[str], str],
    ) -> None:
        self.name = name
        self.reference = reference
        self.chain = chain
        self.model = chain.model()
        self.chainnet_name = chainnet_name


@pytest.fixture(scope="module")
def resnet_pair() -> _Pair:
    """ResNet50 from ``keras.applications`` and from :func:`resnet50`, both at 96x96."""
    reference = keras.applications.ResNet50(weights=None, input_shape=(SIZE, SIZE, 3))
    return _Pair("resnet50", reference, resnet50(), _resnet_name)


@pytest.fixture(scope="module")
def mobilenet_pair() -> _Pair:
    """MobileNetV2 from ``keras.applications`` and from :func:`mobilenet_v2`, at 96x96."""
    reference = keras.applications.MobileNetV2(weights=None, input_shape=(SIZE, SIZE, 3))
    return _Pair("mobilenet_v2", reference, mobilenet_v2(), _mobilenet_v2_name)


@pytest.fixture(params=["resnet50", "mobilenet_v2"])
def pair(request: pytest.FixtureRequest) -> _Pair:
    """Each reference pair in turn."""
    fixture = {"resnet50": "resnet_pair", "mobilenet_v2": "mobilenet_pair"}[request.param]
    result: _Pair = request.getfixturevalue(fixture)
    return result


_EXPECTED_PARAMS = {"resnet50": RESNET50_PARAMS, "mobilenet_v2": MOBILENET_V2_PARAMS}


# The tests


def test_parameter_count_is_keras(pair: _Pair) -> None:
    """Written the documented way, each network has exactly Keras' parameters: the total
    (25,636,712 and 3,538,984), the trainable ones and the batch norms' statistics."""
    reference, model = pair.reference, pair.model
    assert reference.count_params() == _EXPECTED_PARAMS[pair.name]
    assert model.count_params() == _EXPECTED_PARAMS[pair.name]
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    assert trainable == sum(int(np.prod(v.shape)) for v in reference.trainable_weights)


def test_layers_match_keras_one_for_one(pair: _Pair) -> None:
    """Every Keras layer with weights has its chainnet counterpart: the same class, the same
    weights (names and shapes) and the same batch-norm options; no chainnet layer is left
    over."""
    network = pair.chain.network
    seen = set()
    for layer in _weighted(pair.reference):
        ours = network.layer(pair.chainnet_name(layer.name))
        seen.add(ours.name)
        assert type(ours) is type(layer), layer.name
        assert {_short(v): tuple(v.shape) for v in ours.weights} == {
            _short(v): tuple(v.shape) for v in layer.weights
        }, layer.name
        if isinstance(layer, keras.layers.BatchNormalization):
            for option in ("epsilon", "momentum", "center", "scale"):
                assert getattr(ours, option) == getattr(layer, option), (layer.name, option)
            assert ours.axis % 4 == layer.axis % 4 == 3, layer.name  # the channels
        else:
            assert ours.get_config().get("strides") == layer.get_config().get("strides")
            assert ours.get_config().get("use_bias") == layer.get_config().get("use_bias")
    assert seen == {layer.name for layer in _weighted(pair.model)}


_TOLERANCE = 1e-3
"""Room for float32 rounding only. Measured on the 2-core development machine: the two models'
``predict`` (and eager calls) agree to the bit; the pooled features, read through a Keras
sub-model and through ``network.activations`` (two differently built graphs, which TensorFlow
fuses differently), differ by up to ~3e-5 of their scale after ResNet50's 53 batch norms."""


def test_same_weights_give_the_same_outputs(pair: _Pair) -> None:
    """With every weight copied from Keras, ``predict`` agrees on a random batch: the log of
    the softmax (so that the logits count, not only the top class) and the pooled features."""
    rng = np.random.default_rng(0)
    _randomize(pair.reference, rng, SIZE)
    _copy_weights(pair.reference, pair.chain, pair.chainnet_name)
    images = rng.uniform(-1.0, 1.0, (2, SIZE, SIZE, 3)).astype("float32")

    expected = pair.reference.predict(images, verbose=0)
    got = pair.model.predict(images, verbose=0)
    assert got.shape == expected.shape == (2, CLASSES)
    np.testing.assert_allclose(np.log(got), np.log(expected), rtol=0, atol=_TOLERANCE)

    pooled = keras.Model(pair.reference.input, pair.reference.get_layer(index=-2).output)
    expected_features = pooled.predict(images, verbose=0)
    features = pair.chain.network.activations(images, "avg_pool")
    scale = float(np.abs(expected_features).max())
    np.testing.assert_allclose(features, expected_features, rtol=0, atol=_TOLERANCE * scale)
    # The check means something: the two images give different outputs.
    assert np.abs(expected_features[0] - expected_features[1]).max() > 1e-3 * scale


@pytest.fixture(scope="module")
def inception() -> cn.Chain:
    """Inception v1 ported from TF-Slim, at its 224x224 (the 7x7 average pool needs it)."""
    return inception_v1()


def _kernels(chain: cn.Chain) -> dict[str, np.ndarray]:
    """Every kernel of ``chain``'s network by path, as NumPy."""
    return {
        path: np.asarray(variable.numpy())
        for path, variable in chain.network.variables.items()
        if path.endswith("/kernel")
    }


def _equal_kernel_pairs(chain: cn.Chain) -> tuple[list[tuple[str, str]], int]:
    """Every pair of same-shaped kernels of ``chain``'s network that are equal, and how many
    pairs were compared."""
    kernels = _kernels(chain)
    by_shape: dict[tuple[int, ...], list[str]] = {}
    for path, values in kernels.items():
        by_shape.setdefault(values.shape, []).append(path)
    compared = [pair for paths in by_shape.values() for pair in itertools.combinations(paths, 2)]
    equal = [(a, b) for a, b in compared if np.array_equal(kernels[a], kernels[b])]
    return equal, len(compared)


def test_inception_v1_starts_with_no_two_equal_kernels(inception: cn.Chain) -> None:
    """Under one ``TruncatedNormal(stddev=0.01)`` instance in the scope (TF-Slim's
    ``trunc_normal(0.01)``), every pair of same-shaped kernels starts different."""
    assert len(_kernels(inception)) == 58  # 3 stem + 9 * 6 mixed + the logits
    equal, compared = _equal_kernel_pairs(inception)
    assert compared == 11  # Inception v1 has 11 pairs of same-shaped kernels
    assert equal == []


def test_equal_kernels_would_be_seen() -> None:
    """The comparison above sees equal kernels where there are some: a seeded initializer
    starts every layer alike, as documented."""
    seeded = keras.initializers.TruncatedNormal(stddev=0.01, seed=1)
    with cn.defaults(kernel_initializer=seeded):
        y = cn.input((8, 8, 4)).conv2d(3, 4).conv2d(3, 4)
    assert _equal_kernel_pairs(y) == ([("conv2d/kernel", "conv2d_1/kernel")], 1)


def test_inception_v1_scope_reaches_every_convolution(inception: cn.Chain) -> None:
    """The scope's initializer reaches every convolution, the logits included (a truncated
    normal never leaves two standard deviations); its batch norm every convolution but the
    logits, which alone keep a bias."""
    network = inception.network
    for path, values in _kernels(inception).items():
        assert np.abs(values).max() <= 0.02 + 1e-7, path
        assert 0.006 < values.std() < 0.01, path  # 0.88 * stddev for a 2-sigma truncation
    convolutions = [layer for layer in network.layers if isinstance(layer, keras.layers.Conv2D)]
    for conv in convolutions:
        if conv.name == "Logits_Conv2d_0c_1x1":
            assert conv.use_bias
            continue
        assert not conv.use_bias, conv.name
        norm = network.layer(f"{conv.name}_bn")
        assert (norm.epsilon, norm.momentum, norm.scale, norm.center) == (
            0.001,
            0.9997,
            False,
            True,
        )
        assert network.layer(f"{conv.name}_activation").get_config()["activation"] == "relu"


def test_inception_v1_parameter_count_is_tf_slims(inception: cn.Chain) -> None:
    """The port has the variables TF-Slim's architecture implies: 6,617,624 trainable and
    6,632,184 in all (see :data:`INCEPTION_V1_TRAINABLE_PARAMS`)."""
    assert _inception_v1_slim_counts() == (INCEPTION_V1_TRAINABLE_PARAMS, INCEPTION_V1_PARAMS)
    model = inception.model()
    assert inception.shape == (None, CLASSES)
    assert model.count_params() == INCEPTION_V1_PARAMS
    assert sum(int(np.prod(v.shape)) for v in model.trainable_weights) == (
        INCEPTION_V1_TRAINABLE_PARAMS
    )


def test_a_same_padded_kernel_may_be_larger_than_the_input() -> None:
    """The minimal case: a 3x3 ``"same"`` convolution of a 2x2 map, as Keras builds it."""
    reference = keras.layers.Conv2D(8, 3, padding="same")
    assert tuple(reference(keras.Input((2, 2, 8))).shape) == (None, 2, 2, 8)
    assert cn.input((2, 2, 8)).conv2d(3, 8).shape == (None, 2, 2, 8)
    assert cn.input((2, 2, 8)).depthwise_conv2d(3, 1).shape == (None, 2, 2, 8)


@pytest.mark.parametrize(
    ("build", "params"), [(resnet50, RESNET50_PARAMS), (mobilenet_v2, MOBILENET_V2_PARAMS)]
)
def test_keras_applications_at_64x64(build: Callable[..., cn.Chain], params: int) -> None:
    """Keras builds both networks at 64x64 (its minimum is 32x32); so should chainnet."""
    assert build(size=64).model().count_params() == params
