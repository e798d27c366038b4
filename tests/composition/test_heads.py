"""Heads and losses: each loss equals the matching Keras / tf.nn loss; a labelled head keeps
its loss through compile/fit; eager heads give a loss to differentiate."""

from __future__ import annotations

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


def _keras(loss: keras.losses.Loss, y_true: np.ndarray, weights: np.ndarray | None) -> float:
    return float(loss(y_true, LOGITS, sample_weight=weights))


CASES = [
    ("cross_entropy", ONE_HOT, keras.losses.CategoricalCrossentropy(from_logits=True)),
    ("sparse_cross_entropy", IDS, keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
    (
        "binary_cross_entropy_with_logits",
        PROBS,
        keras.losses.BinaryCrossentropy(from_logits=True),
    ),
    ("l2_regression", TARGET, keras.losses.MeanSquaredError()),
    ("l1_regression", TARGET, keras.losses.MeanAbsoluteError()),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
@pytest.mark.parametrize(("method", "target", "reference"), CASES, ids=[c[0] for c in CASES])
def test_loss_method_equals_keras(
    method: str, target: np.ndarray, reference: keras.losses.Loss, weighted: bool
) -> None:
    weights = WEIGHTS if weighted else None
    expected = _keras(reference, target, weights)
    # eager chain, the function, and a symbolic model all agree with Keras
    eager = getattr(cn.wrap(LOGITS), method)(target, per_example_weights=weights)
    np.testing.assert_allclose(float(eager.numpy()), expected, rtol=1e-5)
    function = cn.losses.LOSSES[method](LOGITS, target, weights)
    np.testing.assert_allclose(float(function), expected, rtol=1e-5)
    x = cn.input((4,), name="logits")
    t = x.network.input(target.shape[1:], dtype=str(target.dtype), name="target")
    w = x.network.input((), name="w") if weighted else None
    loss = getattr(x, method)(t, per_example_weights=w)
    assert loss.shape == () and loss.method == method
    feed = [LOGITS, target] + ([WEIGHTS] if weighted else [])
    np.testing.assert_allclose(float(loss.model()(feed)), expected, rtol=1e-5)


def test_losses_match_tf_nn() -> None:
    sparse = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(IDS, LOGITS))
    dense = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(ONE_HOT, LOGITS))
    binary = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(PROBS, LOGITS))
    np.testing.assert_allclose(float(cn.losses.sparse_cross_entropy(LOGITS, IDS)), sparse, 1e-5)
    np.testing.assert_allclose(float(cn.losses.cross_entropy(LOGITS, ONE_HOT)), dense, 1e-5)
    np.testing.assert_allclose(
        float(cn.losses.binary_cross_entropy_with_logits(LOGITS, PROBS)), binary, 1e-5
    )
    l2 = tf.reduce_mean(tf.square(LOGITS - TARGET))
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
    model = x.evaluate_classifier(y, topk).model()
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
    _, _, logits = result  # a named tuple
    assert logits.name == "softmax_classifier"


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
