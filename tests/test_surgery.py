"""A Keras model as a step (issue 11): paths into it, cuts, freezing, weights by name.

Every value is compared with a Keras reference: sub-models of the backbone built with
``keras.Model(backbone.input, backbone.get_layer(n).output)``, Keras' own parameter counts,
and weights written by ``tf.compat.v1`` as PrettyTensor saved them.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from chain_helpers import tutorial_cnn

import chainnet as cn
from chainnet import ChainError

SHAPE = (32, 32, 3)
TAPS = ("block_3_expand_relu", "block_6_expand_relu")


def mobilenet(name: str | None = None) -> keras.Model:
    """A small MobileNetV2 (the smallest width, 32x32 inputs): 150 layers, 410k weights."""
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=SHAPE, alpha=0.35, name=name
    )


def images(count: int = 4) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (count, *SHAPE)).astype("float32")


def small_backbone() -> keras.Model:
    """A functional model with a nested Sequential (``inner``) inside: paths ``a/b/c``."""
    inner = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(5, name="c"), keras.layers.ReLU(name="d")],
        name="inner",
    )
    x = keras.Input((4,))
    h = keras.layers.Dense(6, activation="tanh", name="first")(x)
    h = inner(h)
    y = keras.layers.Dense(3, name="last")(h)
    return keras.Model(x, y, name="small")


def roundtrip(model: keras.Model, tmp_path: Path, data: np.ndarray) -> None:
    """The model saves as .keras, loads in safe mode and predicts the same."""
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    before = model(data, training=False)
    after = loaded(data, training=False)
    before = before if isinstance(before, list) else [before]
    after = after if isinstance(after, list) else [after]
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert loaded.count_params() == model.count_params()


# ----------------------------------------------------------------------------- the step
def test_a_model_is_one_step_named_as_asked_or_after_itself() -> None:
    backbone = mobilenet()
    x = cn.input(SHAPE)
    named = x.apply_layer(backbone, name="backbone")
    assert (named.name, named.method, named.layer) == ("backbone", "apply_layer", backbone)
    own = cn.input((4,)).apply_layer(small_backbone())
    assert own.name == "small"
    assert named.shape == (None, 1, 1, 1280)


def test_paths_reach_layers_and_weights_inside() -> None:
    backbone = mobilenet()
    net = cn.input(SHAPE).apply_layer(backbone, name="backbone").network
    assert net.layer("backbone/block_3_expand_relu") is backbone.get_layer("block_3_expand_relu")
    kernel = backbone.get_layer("Conv1").kernel
    weights = net.get_weights("backbone/Conv1")
    np.testing.assert_array_equal(weights["kernel"], kernel.numpy())
    net.set_weights("backbone/Conv1", {"kernel": np.full(kernel.shape, 0.5)})
    assert np.all(kernel.numpy() == 0.5)
    variables = net.variables
    assert variables["backbone/Conv1/kernel"] is kernel
    assert variables["backbone/block_16_project_BN/moving_variance"] is (
        backbone.get_layer("block_16_project_BN").moving_variance
    )
    assert len(variables) == len(backbone.weights)
    with pytest.raises(KeyError, match=r"block_3_expand_reul.*Did you mean .block_3_expand_relu."):
        net.layer("backbone/block_3_expand_reul")


def test_nested_models_go_deeper() -> None:
    backbone = small_backbone()
    y = cn.input((4,), name="x").apply_layer(backbone, name="a")
    net = y.network
    inner = backbone.get_layer("inner")
    assert net.layer("a/inner/c") is inner.get_layer("c")
    assert net.variables["a/inner/c/kernel"] is inner.get_layer("c").kernel
    data = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    acts = net.activations(data, ["a/inner/c", "a/first", "a"])
    first = backbone.get_layer("first")(data)
    np.testing.assert_allclose(acts["a/first"], first, rtol=1e-6)
    np.testing.assert_allclose(acts["a/inner/c"], inner.get_layer("c")(first), rtol=1e-6)
    np.testing.assert_allclose(acts["a"], backbone(data), rtol=1e-6)


def test_activations_at_inner_paths_equal_keras_sub_models() -> None:
    backbone = mobilenet()
    head = cn.input(SHAPE).apply_layer(backbone, name="backbone").global_average_pool()
    head = head.fully_connected(3, name="head")
    data = images()
    paths = [f"backbone/{n}" for n in TAPS]
    acts = head.network.activations(data, [*paths, "head", "backbone"])
    for name in TAPS:
        reference = keras.Model(backbone.input, backbone.get_layer(name).output)
        np.testing.assert_allclose(acts[f"backbone/{name}"], reference(data), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(acts["head"], head.model()(data), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(acts["backbone"], backbone(data), rtol=1e-5, atol=1e-5)


def test_summary_expand_lists_inner_layers_by_path() -> None:
    y = cn.input((4,), name="x").apply_layer(small_backbone(), name="a")
    lines: list[str] = []
    y.summary(print_fn=lines.append, expand=True)
    text = lines[0]
    for path in ("a/first", "a/inner", "a/inner/c", "a/inner/d", "a/last"):
        assert f"  {path} " in text
    short: list[str] = []
    y.summary(print_fn=short.append)
    assert "a/first" not in short[0]
    assert f"Total params: {y.model().count_params():,}" in text


# ----------------------------------------------------------------------------- cuts
def test_cuts_continue_from_any_depth_and_round_trip(tmp_path: Path) -> None:
    backbone = mobilenet()
    x = cn.input(SHAPE, name="image")
    top = x.apply_layer(backbone, name="backbone").global_average_pool().fully_connected(3)
    net = top.network
    cut = net["backbone/block_6_expand_relu"]
    assert net["backbone/block_6_expand_relu"] is cut  # one chain per path
    assert (cut.name, cut.method, cut.shape) == (
        "backbone/block_6_expand_relu",
        "cut",
        (None, 4, 4, 96),
    )
    mid = cut.global_average_pool().fully_connected(3, name="mid")
    low = net["backbone/block_3_expand_relu"].global_average_pool().fully_connected(3, name="low")
    data = images()
    model = cn.model([top, mid, low])
    assert [layer.name for layer in model.layers].count("backbone") == 1
    assert model.count_params() == backbone.count_params() + 3 * 1281 + 97 * 3 + 49 * 3
    reference = keras.Model(backbone.input, backbone.get_layer("block_6_expand_relu").output)
    np.testing.assert_allclose(
        net.activations(data, cut.name), reference(data), rtol=1e-5, atol=1e-5
    )
    roundtrip(model, tmp_path, data)
    # the cut shares the backbone's weights
    before = np.asarray(mid.model()(data))
    net.set_weights(
        "backbone/Conv1", {"kernel": np.zeros_like(net.get_weights("backbone/Conv1")["kernel"])}
    )
    assert not np.allclose(before, mid.model()(data))


def test_cuts_into_sequential_nested_models_and_templates(tmp_path: Path) -> None:
    seq = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, name="h"), keras.layers.Dense(2, name="o")],
        name="seq",
    )
    x = cn.input((4,), name="x")
    x.apply_layer(seq)
    b = x.apply_layer(small_backbone(), name="nest")
    tower = cn.template(name="tower").fully_connected(6, name="fc1").fully_connected(2, name="fc2")
    c = x.apply_template(tower)
    net = x.network
    cuts = [net["seq/h"], net["nest/inner/c"], net["tower/fc1"]]
    data = np.random.default_rng(2).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(net.activations(data, "seq/h"), seq.get_layer("h")(data), rtol=1e-6)
    np.testing.assert_allclose(
        net.activations(data, "tower/fc1"), tower.layer.get_layer("fc1")(data), rtol=1e-6
    )
    model = cn.model([b, c, *(cut.fully_connected(1) for cut in cuts)])
    roundtrip(model, tmp_path, data)
    roundtrip(cuts[1].model(), tmp_path, data)  # a cut alone: the model up to the tap


def test_a_subclassed_model_has_no_inner_graph() -> None:
    class Custom(keras.Model):
        def __init__(self) -> None:
            super().__init__(name="custom")
            self.dense = keras.layers.Dense(3, name="dense")

        def call(self, x: object) -> object:
            return self.dense(x)

    y = cn.input((4,)).apply_layer(Custom())
    assert y.shape == (None, 3)  # one step, as any layer
    with pytest.raises(ChainError, match=r"subclassed keras\.Model.*functional"):
        y.network["custom/dense"]
    with pytest.raises(KeyError, match=r"is a Dense, not a keras\.Model"):
        cn.input((4,)).fully_connected(2, name="fc").network["fc/kernel"]


# ----------------------------------------------------------------------------- freezing
def _trainable_count(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_freeze_and_unfreeze_by_pattern_count_as_keras() -> None:
    backbone = mobilenet()
    top = cn.input(SHAPE).apply_layer(backbone, name="backbone").global_average_pool()
    top = top.fully_connected(3, name="head")
    net = top.network
    frozen = net.freeze("backbone/*")
    assert frozen == [f"backbone/{layer.name}" for layer in backbone.layers[1:]]
    thawed = net.unfreeze("backbone/block_16_*")
    assert thawed and all(p.startswith("backbone/block_16_") for p in thawed)
    assert net.unfreeze("backbone/block_16_*") == []  # nothing left to change
    # the Keras reference: the same flags set by hand on an identical model
    reference = mobilenet()
    for layer in reference.layers:
        layer.trainable = layer.name.startswith("block_16_")
    lines: list[str] = []
    top.summary(print_fn=lines.append)
    expected = _trainable_count(reference) + 1280 * 3 + 3
    assert f"Trainable params: {expected:,}" in lines[0]
    assert _trainable_count(top.model()) == expected
    total = reference.count_params() + 1280 * 3 + 3
    assert f"Non-trainable params: {total - expected:,}" in lines[0]
    assert net.freeze("backbone") == ["backbone", *thawed]
    assert _trainable_count(top.model()) == 1280 * 3 + 3
    with pytest.raises(KeyError, match="no layer path matches"):
        net.freeze("nothing/*")


# ----------------------------------------------------------------------------- weights
TF1_SHAPES = {
    "layer_conv1/weights": (5, 5, 1, 16),
    "layer_conv1/bias": (16,),
    "layer_conv2/weights": (5, 5, 16, 36),
    "layer_conv2/bias": (36,),
    "layer_fc1/weights": (7 * 7 * 36, 128),
    "layer_fc1/bias": (128,),
    "layer_fc_out/weights": (128, 10),
    "layer_fc_out/bias": (10,),
}


def tf1_checkpoint(
    path: Path, shapes: dict[str, tuple[int, ...]]
) -> tuple[str, dict[str, np.ndarray]]:
    """A name-based checkpoint as TF1 programs (PrettyTensor's tutorial) wrote them."""
    rng = np.random.default_rng(3)
    values = {name: rng.normal(size=shape).astype("float32") for name, shape in shapes.items()}
    graph = tf.Graph()
    with graph.as_default():
        for name, value in values.items():
            tf.compat.v1.get_variable(name.removesuffix(":0"), initializer=value)
        tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            prefix = saver.save(session, str(path / "model.ckpt"))
    return prefix, values


def test_a_tf1_checkpoint_loads_by_name_into_the_pretty_tensor_cnn(tmp_path: Path) -> None:
    prefix, values = tf1_checkpoint(tmp_path, TF1_SHAPES)
    net = tutorial_cnn().network
    report = net.load_weights(prefix)
    assert report.matched == [
        "layer_conv1/kernel",
        "layer_conv1/bias",
        "layer_conv2/kernel",
        "layer_conv2/bias",
        "layer_fc1/kernel",
        "layer_fc1/bias",
        "layer_fc_out/kernel",
        "layer_fc_out/bias",
    ]
    assert report.sources["layer_fc1/kernel"] == "layer_fc1/weights"
    assert (report.missing, report.mismatched, report.unexpected) == ([], [], ["global_step"])
    for name, value in values.items():
        path = name.replace("/weights", "/kernel")
        np.testing.assert_array_equal(net.variable(path).numpy(), value)
    table = str(report)
    assert "matched     layer_conv1/kernel" in table and "unexpected" in table
    assert "8 matched, 0 missing, 1 unexpected, 0 mismatched" in table


def test_strict_mode_assigns_nothing_on_a_mismatch(tmp_path: Path) -> None:
    shapes = dict(TF1_SHAPES, **{"layer_fc_out/weights": (128, 11)})
    prefix, _ = tf1_checkpoint(tmp_path, shapes)
    net = tutorial_cnn().network
    before = {p: v.numpy().copy() for p, v in net.variables.items()}
    with pytest.raises(ChainError, match="nothing assigned") as caught:
        net.load_weights(prefix)
    report = caught.value.report  # type: ignore[attr-defined]
    assert [(m.path, m.shape, m.source_shape) for m in report.mismatched] == [
        ("layer_fc_out/kernel", (128, 10), (128, 11))
    ]
    assert report.missing == [] and "(128, 10) vs source (128, 11)" in str(report)
    for path, value in before.items():
        np.testing.assert_array_equal(net.variable(path).numpy(), value)
    loose = net.load_weights(prefix, strict=False)
    assert len(loose.matched) == 7 and loose.assigned
    np.testing.assert_array_equal(
        net.variable("layer_fc_out/kernel").numpy(), before["layer_fc_out/kernel"]
    )
    assert not np.array_equal(net.variable("layer_fc1/kernel").numpy(), before["layer_fc1/kernel"])


def test_tf_slim_batch_norm_names_and_mapping(tmp_path: Path) -> None:
    shapes = {
        "conv1/weights": (3, 3, 1, 4),
        "conv1/BatchNorm/beta": (4,),
        "conv1/BatchNorm/gamma": (4,),
        "conv1/BatchNorm/moving_mean": (4,),
        "conv1/BatchNorm/moving_variance": (4,),
        "logits/w": (4, 2),
        "logits/b": (2,),
    }
    prefix, values = tf1_checkpoint(tmp_path, shapes)
    y = cn.input((8, 8, 1)).conv2d(3, 4, name="conv1", batch_normalize=True, use_bias=False)
    y = y.global_average_pool().fully_connected(2, name="fc")
    with pytest.raises(ChainError, match="2 missing"):
        y.network.load_weights(prefix)
    mapping = {"logits/w": "fc/kernel"}
    report = y.network.load_weights(
        prefix, mapping=lambda name: mapping.get(name, name.replace("logits/b", "fc/bias"))
    )
    assert report.ok and report.unexpected == ["global_step"]
    assert report.sources["conv1_bn/moving_variance"] == "conv1/BatchNorm/moving_variance"
    np.testing.assert_array_equal(
        y.network.variable("conv1_bn/gamma").numpy(), values["conv1/BatchNorm/gamma"]
    )


def test_weights_from_a_model_keras_file_weights_file_and_tf2_checkpoint(tmp_path: Path) -> None:
    def build() -> cn.Chain:
        return cn.input((6,), name="x").fully_connected(5, name="fc").batch_normalize(name="bn")

    source = build()
    model = source.model()
    for v in model.weights:
        v.assign(np.random.default_rng(4).normal(size=v.shape))
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    checkpoint = tf.train.Checkpoint(model=model).write(str(tmp_path / "tf2" / "ckpt"))
    for where in (model, tmp_path / "m.keras", str(tmp_path / "m.weights.h5"), checkpoint):
        target = build()
        report = target.network.load_weights(where)
        assert report.ok and report.unexpected == [], (where, str(report))
        assert len(report.matched) == len(model.weights)
        for v in model.weights:
            path = v.path
            np.testing.assert_array_equal(target.network.variable(path).numpy(), v.numpy())


def test_a_backbone_model_loads_into_its_step_by_its_own_names() -> None:
    pretrained = mobilenet()
    for v in pretrained.weights[:3]:
        v.assign(np.full(v.shape, 0.25))
    top = cn.input(SHAPE).apply_layer(mobilenet(), name="backbone").global_average_pool()
    top = top.fully_connected(3, name="head")
    with pytest.raises(ChainError, match="2 missing"):  # the head is not in the source
        top.network.load_weights(pretrained)
    report = top.network.load_weights(pretrained, strict=False)
    assert report.missing == ["head/kernel", "head/bias"]
    assert len(report.matched) == len(pretrained.weights)
    assert report.sources["backbone/Conv1/kernel"] == "Conv1/kernel"
    assert np.all(top.network.variable("backbone/Conv1/kernel").numpy() == 0.25)
