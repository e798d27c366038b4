"""Heads and losses: each loss equals the matching Keras / tf.nn loss; a labelled head keeps
its loss through compile/fit; eager heads give a loss to differentiate."""

from __future__ import annotations

import copy
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import chainnet as cn

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(6, 4)).astype("float32")
IDS = RNG.integers(0, 4, size=(6,)).astype("int32")
ONE_HOT = np.eye(4, dtype="float32")[IDS]
WEIGHTS = RNG.uniform(0.1, 2.0, size=(6,)).astype("float32")
TARGET = RNG.normal(size=(6, 4)).astype("float32")
PROBS = RNG.uniform(size=(6, 4)).astype("float32")


PER_OUTPUT = RNG.uniform(0.0, 2.0, size=(6, 4)).astype("float32")


# PrettyTensor's formulas (pretty_tensor_loss_methods.py, functions.py), in NumPy
def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _pt_cross_entropy(logits: np.ndarray, one_hot: np.ndarray) -> np.ndarray:
    return -(one_hot * _log_softmax(logits)).sum(axis=1)


def _pt_binary(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """functions.binary_cross_entropy_loss_with_logits, per element."""
    neg_softplus = -np.logaddexp(0.0, -logits)
    return -(target * neg_softplus + (1 - target) * (-logits + neg_softplus))


def _pt_apply_regression(
    per_example: np.ndarray, loss_weight: float | None, weights: np.ndarray | None
) -> float:
    """apply_regression: loss * loss_weight * per_example_weights, summed / batch size."""
    loss = per_example.astype("float64")
    if loss_weight is not None:
        loss = loss * loss_weight
    if weights is not None:
        loss = loss * weights
    return float(loss.sum() / per_example.shape[0])


PER_EXAMPLE = {
    "cross_entropy": (ONE_HOT, lambda: _pt_cross_entropy(LOGITS, ONE_HOT)),
    "sparse_cross_entropy": (IDS, lambda: _pt_cross_entropy(LOGITS, ONE_HOT)),
    "binary_cross_entropy_with_logits": (PROBS, lambda: _pt_binary(LOGITS, PROBS).sum(axis=1)),
    "l2_regression": (TARGET, lambda: ((LOGITS - TARGET) ** 2).sum(axis=1)),
    "l1_regression": (TARGET, lambda: np.abs(LOGITS - TARGET).sum(axis=1)),
}


@pytest.mark.parametrize("loss_weight", [None, 0.3], ids=["unscaled", "loss_weight"])
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
@pytest.mark.parametrize("method", sorted(PER_EXAMPLE))
def test_loss_method_equals_prettytensor_formula(
    method: str, weighted: bool, loss_weight: float | None
) -> None:
    target, per_example = PER_EXAMPLE[method]
    weights = WEIGHTS if weighted else None
    expected = _pt_apply_regression(per_example(), loss_weight, weights)
    options = {"per_example_weights": weights, "loss_weight": loss_weight}
    # eager chain, the function, and a symbolic model that is saved and loaded all agree
    eager = getattr(cn.wrap(LOGITS), method)(target, **options)
    np.testing.assert_allclose(float(eager.numpy()), expected, rtol=1e-5)
    function = cn.losses.LOSSES[method](LOGITS, target, weights, loss_weight=loss_weight)
    np.testing.assert_allclose(float(function), expected, rtol=1e-5)
    x = cn.input((4,), name="logits")
    t = x.network.input(target.shape[1:], dtype=str(target.dtype), name="target")
    w = x.network.input((), name="w") if weighted else None
    loss = getattr(x, method)(t, per_example_weights=w, loss_weight=loss_weight)
    assert loss.shape == () and loss.method == method
    feed = [LOGITS, target] + ([WEIGHTS] if weighted else [])
    model = loss.model()
    np.testing.assert_allclose(float(model(feed)), expected, rtol=1e-5)
    np.testing.assert_allclose(float(sum(model.losses)), expected, rtol=1e-5)


@pytest.mark.parametrize("loss_weight", [None, 2.0], ids=["unscaled", "loss_weight"])
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
def test_binary_cross_entropy_per_output_weights_equal_prettytensor(
    weighted: bool, loss_weight: float | None
) -> None:
    weights = WEIGHTS if weighted else None
    per_example = (_pt_binary(LOGITS, PROBS) * PER_OUTPUT).sum(axis=1)
    expected = _pt_apply_regression(per_example, loss_weight, weights)
    got = cn.wrap(LOGITS).binary_cross_entropy_with_logits(
        PROBS, loss_weight=loss_weight, per_example_weights=weights, per_output_weights=PER_OUTPUT
    )
    np.testing.assert_allclose(float(got.numpy()), expected, rtol=1e-5)
    x = cn.input((4,), name="logits")
    net = x.network
    t, pow_ = net.input((4,), name="t"), net.input((4,), name="pow")
    w = net.input((), name="w") if weighted else None
    loss = x.binary_cross_entropy_with_logits(
        t, loss_weight=loss_weight, per_example_weights=w, per_output_weights=pow_
    )
    feed = [LOGITS, PROBS, PER_OUTPUT] + ([WEIGHTS] if weighted else [])
    np.testing.assert_allclose(float(loss.model()(feed)), expected, rtol=1e-5)
    with pytest.raises(cn.ChainError, match="per_output_weights"):
        x.binary_cross_entropy_with_logits(t, per_output_weights=net.input((3,), name="p3"))


@pytest.mark.parametrize("loss_weight", [None, 0.5], ids=["unscaled", "loss_weight"])
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
@pytest.mark.parametrize("labels", [IDS, ONE_HOT], ids=["ids", "one-hot"])
def test_softmax_and_softmax_classifier_equal_prettytensor(
    labels: np.ndarray, weighted: bool, loss_weight: float | None
) -> None:
    weights = WEIGHTS if weighted else None
    expected = _pt_apply_regression(_pt_cross_entropy(LOGITS, ONE_HOT), loss_weight, weights)
    softmax, loss = cn.wrap(LOGITS).softmax(
        labels, loss_weight=loss_weight, per_example_weights=weights
    )
    np.testing.assert_allclose(float(loss.numpy()), expected, rtol=1e-5)
    np.testing.assert_allclose(softmax.numpy(), np.exp(_log_softmax(LOGITS)), rtol=1e-5)
    features = RNG.normal(size=(6, 5)).astype("float32")
    result = cn.wrap(features).softmax_classifier(4, labels, loss_weight, weights)
    logits = result.logits.numpy()
    want = _pt_apply_regression(_pt_cross_entropy(logits, ONE_HOT), loss_weight, weights)
    np.testing.assert_allclose(float(result.loss.numpy()), want, rtol=1e-5)


def test_softmax_adds_no_layer_of_weights_and_keeps_its_loss() -> None:
    x = cn.input((4,), name="logits")
    y = x.network.input((), dtype="int32", name="y")
    softmax, loss = result = x.softmax(y)
    assert (softmax.name, loss.name, result.logits.name) == ("softmax", "softmax_loss", "logits")
    model = softmax.model()
    model([LOGITS, IDS])
    assert model.count_params() == 0 and len(model.losses) == 1
    assert [t.name for t in model.inputs] == ["logits", "y"]
    alone, none = x.softmax(name="probabilities")
    assert none is None and alone.layer.__class__ is keras.layers.Softmax
    with pytest.raises(cn.ChainError, match="needs labels"):
        x.softmax(loss_weight=2.0, name="bad")
    assert "bad" not in x.network


def test_losses_match_tf_nn() -> None:
    sparse = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(IDS, LOGITS))
    dense = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(ONE_HOT, LOGITS))
    binary = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(PROBS, LOGITS))
    np.testing.assert_allclose(float(cn.losses.sparse_cross_entropy(LOGITS, IDS)), sparse, 1e-5)
    np.testing.assert_allclose(float(cn.losses.cross_entropy(LOGITS, ONE_HOT)), dense, 1e-5)
    # PrettyTensor's binary cross entropy and l2 regression sum over the 4 outputs
    np.testing.assert_allclose(
        float(cn.losses.binary_cross_entropy_with_logits(LOGITS, PROBS)), 4 * binary, 1e-5
    )
    l2 = 4 * tf.reduce_mean(tf.square(LOGITS - TARGET))
    np.testing.assert_allclose(float(cn.losses.l2_regression(LOGITS, TARGET)), l2, 1e-5)


@pytest.mark.parametrize("topk", [1, 2])
@pytest.mark.parametrize("labels", [IDS, ONE_HOT], ids=["sparse", "one-hot"])
def test_evaluate_classifier_equals_keras_top_k(topk: int, labels: np.ndarray) -> None:
    metric = keras.metrics.SparseTopKCategoricalAccuracy(k=topk)
    metric.update_state(IDS, LOGITS)
    accuracy = cn.wrap(LOGITS).evaluate_classifier(labels, topk=topk)
    np.testing.assert_allclose(float(accuracy.numpy()), float(metric.result()), rtol=1e-6)
    x = cn.input((4,))
    y = x.network.input(labels.shape[1:], dtype=str(labels.dtype), name="y")
    model = x.evaluate_classifier(y, topk=topk).model()
    np.testing.assert_allclose(float(model([LOGITS, labels])), float(metric.result()), 1e-6)


@pytest.mark.parametrize("labels", [IDS, ONE_HOT], ids=["sparse", "one-hot"])
def test_softmax_classifier_matches_keras_dense_softmax(labels: np.ndarray) -> None:
    features = RNG.normal(size=(6, 5)).astype("float32")
    x = cn.input((5,), name="x")
    y = x.network.input(labels.shape[1:], dtype=str(labels.dtype), name="y")
    result = x.softmax_classifier(4, y)
    assert isinstance(result, cn.SoftmaxResult)
    assert [result.logits.name, result.loss.name, result.softmax.name] == [
        "softmax_classifier",
        "softmax_classifier_loss",
        "softmax_classifier_softmax",
    ]
    model = cn.model([result.softmax, result.loss, result.logits])
    # hand-written: Dense + softmax + the Keras cross entropy
    k_in = keras.Input((5,))
    dense = keras.layers.Dense(4)
    reference = keras.Model(k_in, dense(k_in))
    reference.set_weights(x.network.layer("softmax_classifier").get_weights())
    softmax, loss, logits = model([features, labels])
    np.testing.assert_allclose(logits, reference(features), rtol=1e-5)
    np.testing.assert_allclose(softmax, keras.ops.softmax(reference(features)), rtol=1e-5)
    expected = keras.losses.CategoricalCrossentropy(from_logits=True)(
        np.eye(4)[IDS], reference(features)
    )
    np.testing.assert_allclose(float(loss), float(expected), rtol=1e-5)
    assert model.count_params() == 5 * 4 + 4


def test_softmax_classifier_without_labels_has_no_loss() -> None:
    result = cn.input((5,)).softmax_classifier(3)
    assert result.loss is None
    assert result.softmax.shape == (None, 3)
    assert result.softmax.model().losses == []
    softmax, loss = result  # PrettyTensor's (softmax, loss)
    assert softmax is result.softmax and loss is None
    assert result.logits.name == "softmax_classifier"


def test_labelled_head_trains_with_compile_and_fit_without_a_loss() -> None:
    features = RNG.normal(size=(64, 5)).astype("float32")
    labels = (features[:, 0] > 0).astype("int32")
    x = cn.input((5,), name="x")
    y = x.network.input((), dtype="int32", name="y")
    result = x.fully_connected(8, activation="relu").softmax_classifier(2, y)
    model = result.softmax.model()
    assert [t.name for t in model.inputs] == ["x", "y"]
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    before = model.evaluate([features, labels], verbose=0)
    logits = cn.model(result.logits).predict(features, verbose=0)
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    np.testing.assert_allclose(before, float(expected), rtol=1e-5)  # the reported loss
    history = model.fit([features, labels], None, epochs=5, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    # compute_loss (what chainnet.training uses) sees the same loss
    output = model([features, labels])
    computed = model.compute_loss(x=[features, labels], y=None, y_pred=output)
    after = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        labels, cn.model(result.logits)(features)
    )
    np.testing.assert_allclose(float(computed), float(after), rtol=1e-5)


def test_head_loss_plus_regularization_counts_once(tmp_path: Path) -> None:
    x = cn.input((5,), name="x")
    y = x.network.input((), dtype="int32", name="y")
    result = x.fully_connected(3, l2loss=0.1, name="fc").softmax_classifier(2, y)
    model = cn.model([result.softmax, result.loss])  # the loss step appears once
    features, labels = RNG.normal(size=(4, 5)).astype("float32"), np.array([0, 1, 1, 0])
    _, loss = model([features, labels.astype("int32")])
    assert len(model.losses) == 2  # the head's loss and the l2 penalty
    total = float(sum(model.losses))
    expected = float(loss) + float(cn.regularization_loss(result.loss))
    np.testing.assert_allclose(total, expected, rtol=1e-5)
    path = tmp_path / "head.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded([features, labels])[1], loss, rtol=1e-6)


def test_eager_head_gives_a_loss_tensor_to_differentiate() -> None:
    features = RNG.normal(size=(6, 5)).astype("float32")
    with tf.GradientTape() as tape:
        result = cn.wrap(features).softmax_classifier(4, IDS)
        total = cn.total_loss(result.loss, regularization=result.logits)
    variables = result.logits.layer.trainable_variables
    grads = tape.gradient(total, variables)
    assert [g.shape for g in grads] == [(5, 4), (4,)]
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        IDS, result.logits.numpy()
    )
    np.testing.assert_allclose(float(result.loss.numpy()), float(expected), rtol=1e-5)


def test_eager_training_loop_with_a_template_head() -> None:
    features = RNG.normal(size=(32, 5)).astype("float32")
    labels = (features[:, 0] > 0).astype("int32")
    net = cn.template(
        lambda x, y: x.fully_connected(8, activation="relu").softmax_classifier(2, y).loss
    )
    optimizer = keras.optimizers.SGD(0.5)
    losses = []
    for _ in range(5):
        with tf.GradientTape() as tape:
            loss = net(features, labels)
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    assert len(net.trainable_variables) == 4


def test_regularization_losses_collected_and_added_in_one_call() -> None:
    x = cn.input((3,))
    y = x.fully_connected(4, l2loss=0.2, name="a").fully_connected(2, l2loss=0.4, name="b")
    penalties = cn.losses.regularization_losses(y)
    assert len(penalties) == 2
    a = y.network.get_weights("a")["kernel"]
    b = y.network.get_weights("b")["kernel"]
    expected = 0.2 * np.sum(a**2) / 2 + 0.4 * np.sum(b**2) / 2
    np.testing.assert_allclose(float(cn.regularization_loss(y.network)), expected, rtol=1e-5)
    np.testing.assert_allclose(float(sum(y.model().losses)), expected, rtol=1e-5)
    np.testing.assert_allclose(
        float(cn.total_loss(1.0, 2.0, regularization=y)), 3.0 + expected, rtol=1e-5
    )
    assert float(cn.regularization_loss(cn.input((2,)).fully_connected(1))) == 0.0


@pytest.mark.parametrize(
    ("shape", "dtype", "match"),
    [
        ((5,), "int32", r"labels of shape \(None, 5\) do not fit logits of shape \(None, 4\)"),
        ((), "float32", "class ids must be integers"),
        ((4,), "bool", "labels have dtype bool"),
        ((3, 4), "float32", "do not fit logits"),
    ],
    ids=["wrong-classes", "float-ids", "bool", "wrong-rank"],
)
def test_head_rejects_labels_of_the_wrong_shape_or_dtype(
    shape: tuple[int, ...], dtype: str, match: str
) -> None:
    x = cn.input((5,))
    labels = x.network.input(shape, dtype=dtype, name="labels")
    with pytest.raises(cn.ChainError, match=match):
        x.softmax_classifier(4, labels)


def test_loss_methods_reject_mismatched_labels_and_targets() -> None:
    x = cn.input((4,))
    net = x.network
    with pytest.raises(cn.ChainError, match="expected one-hot labels"):
        x.cross_entropy(net.input((), dtype="int32", name="ids"))
    with pytest.raises(cn.ChainError, match="expected integer class ids"):
        x.sparse_cross_entropy(net.input((4,), name="onehot"))
    with pytest.raises(cn.ChainError, match=r"target of shape \(None, 3\)"):
        x.l2_regression(net.input((3,), name="t3"))
    with pytest.raises(cn.ChainError, match="per_example_weights must have shape"):
        x.l1_regression(net.input((4,), name="t4"), per_example_weights=net.input((2,)))
    with pytest.raises(cn.ChainError, match="must be a chain on a symbolic network"):
        x.cross_entropy(ONE_HOT)
    with pytest.raises(cn.ChainError, match="expected an input of rank 2"):
        cn.input((2, 5)).softmax_classifier(3)


def test_softmax_classifier_with_per_example_weights_equals_keras_sample_weight() -> None:
    features = RNG.normal(size=(6, 5)).astype("float32")
    x = cn.input((5,), name="x")
    y = x.network.input((), dtype="int32", name="y")
    w = x.network.input((), name="w")
    result = x.softmax_classifier(4, y, per_example_weights=w)
    loss, logits = cn.model([result.loss, result.logits])([features, IDS, WEIGHTS])
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        IDS, logits, sample_weight=WEIGHTS
    )
    np.testing.assert_allclose(float(loss), float(expected), rtol=1e-5)
    with pytest.raises(cn.ChainError, match="per_example_weights needs labels"):
        x.softmax_classifier(4, per_example_weights=w, name="unlabelled")
    assert "unlabelled" not in x.network  # a failed head leaves no step behind


def test_labelled_head_trains_with_chainnet_training_fit() -> None:
    training = pytest.importorskip("chainnet.training")
    features = RNG.normal(size=(64, 5)).astype("float32")
    labels = (features[:, 0] > 0).astype("int32")
    x = cn.input((5,), name="x")
    y = x.network.input((), dtype="int32", name="y")
    model = x.fully_connected(8, activation="relu").softmax_classifier(2, y).softmax.model()
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = training.fit(model, [features, labels], None, epochs=3, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_sampled_softmax_trains_on_tf_nn_sampled_softmax_loss_and_evaluates_the_full_loss(
    tmp_path: Path,
) -> None:
    features = RNG.normal(size=(6, 5)).astype("float32")
    ids = RNG.integers(0, 50, size=(6,)).astype("int32")
    x = cn.input((5,), name="x")
    y = x.network.input((), dtype="int32", name="y")
    w = x.network.input((), name="w")
    logits, loss = x.softmax_classifier_with_sampled_loss(
        50, y, 8, loss_weight=0.5, per_example_weights=w, seed=3
    )
    model = cn.model([logits, loss])
    layer = x.network.layer("softmax_classifier_with_sampled_loss")
    kernel, bias = (v.numpy() for v in layer.weights)
    assert kernel.shape == (50, 5)  # PrettyTensor's transposed layout
    # outside training: the full softmax cross entropy, PrettyTensor's apply_regression
    full_logits = features @ kernel.T + bias
    one_hot = np.eye(50, dtype="float32")[ids]
    want = _pt_apply_regression(_pt_cross_entropy(full_logits, one_hot), 0.5, WEIGHTS)
    got_logits, got = model([features, ids, WEIGHTS])
    np.testing.assert_allclose(got_logits, full_logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(got), want, rtol=1e-5)
    # training: tf.nn.sampled_softmax_loss with the same sampler seed
    tf.random.set_seed(7)
    sampled = float(model([features, ids, WEIGHTS], training=True)[1])
    tf.random.set_seed(7)
    per = tf.nn.sampled_softmax_loss(
        kernel, bias, ids.reshape(-1, 1).astype("int64"), features, 8, 50, seed=3
    )
    np.testing.assert_allclose(sampled, _pt_apply_regression(per.numpy(), 0.5, WEIGHTS), 1e-5)
    assert sampled != pytest.approx(float(got))
    path = tmp_path / "sampled.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(float(loaded([features, ids, WEIGHTS])[1]), want, rtol=1e-5)
    with pytest.raises(cn.ChainTypeError, match="sampled_values"):
        x.softmax_classifier_with_sampled_loss(50, y, 8, None, ("tensors",), name="bad")
    with pytest.raises(cn.ChainError, match="num_true=2"):
        x.softmax_classifier_with_sampled_loss(50, y, 8, 2, name="bad")
    assert "bad" not in x.network


def test_sampled_softmax_trains_with_fit() -> None:
    features = RNG.normal(size=(64, 8)).astype("float32")
    ids = (features[:, 0] > 0).astype("int32") * 7
    x = cn.input((8,), name="x")
    y = x.network.input((), dtype="int32", name="y")
    _, loss = x.softmax_classifier_with_sampled_loss(20, y, 5, seed=0)
    model = loss.model()
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit([features, ids], None, epochs=8, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_softmax_result_survives_copies_and_structure_maps() -> None:
    """``tf.nest``, ``keras.tree``, ``copy`` and ``_replace`` rebuild the two-field result."""
    result = cn.input((4,)).softmax_classifier(3)
    assert copy.copy(result).logits is result.logits
    assert result._replace(loss=None).logits is result.logits
    for mapped in (
        tf.nest.map_structure(lambda c: c, result),
        keras.tree.map_structure(lambda c: c, result),
    ):
        softmax, loss = mapped
        assert softmax is result.softmax and loss is None
