"""Templates: shared weights across applications, Siamese towers, train/eval, an RNN cell
unrolled over time, saving, handles and misuse."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import chainnet as cn

RNG = np.random.default_rng(0)


def _tower() -> cn.Template:
    with cn.defaults(activation="relu"):
        return cn.template(name="tower").flatten().fully_connected(8).fully_connected(4)


def test_siamese_pair_has_exactly_the_variables_of_one_tower(tmp_path: Path) -> None:
    tower = _tower()
    left = cn.input((3, 3), name="left")
    right = left.network.input((3, 3), name="right")
    a = tower(left)
    variables_after_first = len(tower.layer.weights)
    b = right.apply_template(tower)
    assert len(tower.layer.weights) == variables_after_first  # no new variables
    assert (a.name, b.name) == ("tower", "tower_1")
    distance = (a - b).apply_layer(keras.layers.Lambda(lambda t: t * t, name="sq"))
    model = cn.model([distance, a, b])
    assert len(model.weights) == 4
    assert {id(v) for v in model.weights} == {id(v) for v in tower.layer.weights}
    assert model.count_params() == 9 * 8 + 8 + 8 * 4 + 4

    # hand-written Keras: one tower model called twice
    k_in = keras.Input((3, 3))
    k_tower = keras.Model(
        k_in,
        keras.layers.Dense(4, activation="relu")(
            keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(k_in))
        ),
    )
    k_tower.set_weights(tower.layer.get_weights())
    x1, x2 = RNG.normal(size=(2, 5, 3, 3)).astype("float32")
    _, out_a, out_b = model([x1, x2])
    np.testing.assert_allclose(out_a, k_tower(x1), rtol=1e-5)
    np.testing.assert_allclose(out_b, k_tower(x2), rtol=1e-5)

    # a .keras round trip keeps outputs identical (without the Lambda: safe_mode stays on)
    pair = cn.model([a, b])
    path = tmp_path / "siamese.keras"
    pair.save(path)
    loaded = keras.models.load_model(path)
    for got, want in zip(loaded([x1, x2]), pair([x1, x2])):
        np.testing.assert_array_equal(got, want)
    assert len(loaded.weights) == 4


def test_template_answers_handle_questions() -> None:
    tower = _tower()
    with pytest.raises(cn.ChainError, match="has no layers yet"):
        _ = tower.variables
    tower(cn.input((3, 3)))
    assert tower.built and tower.name == "tower"
    assert sorted(tower.variables) == [
        "fully_connected/bias",
        "fully_connected/kernel",
        "fully_connected_1/bias",
        "fully_connected_1/kernel",
    ]
    assert [layer.name for layer in tower.layers] == [
        "flatten",
        "fully_connected",
        "fully_connected_1",
    ]
    assert tower.get_weights("fully_connected")["kernel"].shape == (9, 8)
    assert tower.variable("fully_connected_1/bias").shape == (4,)
    assert tower.input_shapes == [(None, 3, 3)]
    lines: list[str] = []
    tower.summary(print_fn=lines.append)
    assert "fully_connected_1" in lines[0]
    # from the outer network, the step's variables carry the template's inner paths
    x = cn.input((3, 3))
    step = x.apply_template(tower)
    assert sorted(step.variables)[0] == "tower/fully_connected/bias"
    assert step.get_weights()["fully_connected/kernel"].shape == (9, 8)
    tower.set_weights("fully_connected_1", {"bias": np.ones(4)})
    np.testing.assert_array_equal(step.network.get_weights("tower")["fully_connected_1/bias"], 1)


def test_second_application_creates_no_variables_eager_and_in_tf_function() -> None:
    tower = _tower()
    data = RNG.normal(size=(2, 3, 3)).astype("float32")
    first = tower(data)  # on data: a tensor
    variables = list(tower.layer.weights)
    eager = cn.wrap(data).apply_template(tower)  # an eager chain step
    assert eager.name == "tower" and eager.network.kind == "eager"
    np.testing.assert_allclose(eager.numpy(), first, rtol=1e-6)

    @tf.function(autograph=False)
    def twice(t: tf.Tensor) -> tf.Tensor:
        return tower(t) + cn.wrap(t).apply_template(tower).tensor

    np.testing.assert_allclose(twice(tf.constant(data)), 2 * np.asarray(first), rtol=1e-5)
    assert list(tower.layer.weights) == variables


def test_first_application_inside_tf_function_builds_once() -> None:
    tower = _tower()

    @tf.function(autograph=False)
    def run(t: tf.Tensor) -> tf.Tensor:
        return tower(t)

    data = RNG.normal(size=(2, 3, 3)).astype("float32")
    out = run(tf.constant(data))
    np.testing.assert_allclose(out, tower(data), rtol=1e-5)
    assert len(tower.layer.weights) == 4


def test_same_network_for_training_with_dropout_and_evaluation_without() -> None:
    net = cn.template(name="net").fully_connected(16, activation="relu").dropout(rate=0.5)
    net = net.fully_connected(2)
    data = np.ones((4, 3), "float32")
    evaluation = np.asarray(net(data, training=False))
    np.testing.assert_array_equal(evaluation, np.asarray(net(data, training=False)))
    training = [np.asarray(net(data, training=True)) for _ in range(3)]
    assert any(not np.allclose(t, evaluation) for t in training)  # dropout on
    assert len(net.trainable_variables) == 4  # one set of weights for both

    # symbolic: one model, Keras picks the mode (fit trains with dropout, predict without)
    model = net(cn.input((3,))).model()
    np.testing.assert_allclose(model.predict(data, verbose=0), evaluation, rtol=1e-6)


def test_rnn_cell_unrolled_over_time_with_one_set_of_weights() -> None:
    @cn.template
    def cell(x: cn.Chain, h: cn.Chain) -> cn.Chain:
        return x.concat(-1, h).fully_connected(5, activation="tanh", name="fc")

    steps = 4
    sequence = cn.input((steps, 3), name="sequence")
    h = sequence.network.input((5,), name="h0")
    state = h
    for x_t in sequence.unstack(axis=1):
        state = cell(x_t, state)
    model = state.model()
    assert [c for c in (state.name,)] == ["cell_3"]
    assert len(model.weights) == 2 and model.count_params() == (3 + 5) * 5 + 5

    # hand-written Keras: one Dense applied at every step
    k_seq, k_h = keras.Input((steps, 3)), keras.Input((5,))
    dense = keras.layers.Dense(5, activation="tanh")
    k_state = k_h
    for t in range(steps):
        k_state = dense(keras.layers.Concatenate()([k_seq[:, t], k_state]))
    reference = keras.Model([k_seq, k_h], k_state)
    reference.set_weights(model.get_weights())
    xs = RNG.normal(size=(2, steps, 3)).astype("float32")
    h0 = np.zeros((2, 5), "float32")
    np.testing.assert_allclose(model([xs, h0]), reference([xs, h0]), rtol=1e-5)
    assert sorted(cell.variables) == ["fc/bias", "fc/kernel"]


def test_defaults_are_taken_when_the_template_is_defined() -> None:
    with cn.defaults(activation="relu"):
        recorded = cn.template().fully_connected(3)
        from_fn = cn.template(lambda x: x.fully_connected(3))
    with cn.defaults(activation="sigmoid"):
        a = recorded(cn.input((2,)))
        b = from_fn(cn.input((2,)))
    assert a.layer.layers[-1].activation is keras.activations.relu
    assert b.layer.layers[-1].activation is keras.activations.relu


def test_template_is_a_keras_layer_inside_keras_code() -> None:
    tower = _tower().build((3, 3))
    k_in = keras.Input((3, 3))
    k_out = keras.layers.Dense(1)(tower(k_in))
    model = keras.Model(k_in, k_out)
    assert model.count_params() == tower.layer.count_params() + 5
    stacked = keras.Sequential([keras.Input((3, 3)), tower.layer])
    data = RNG.normal(size=(2, 3, 3)).astype("float32")
    np.testing.assert_allclose(stacked(data), tower(data), rtol=1e-6)


def test_template_as_a_step_in_sequential_mode_and_nested_templates() -> None:
    block = cn.template(name="block").fully_connected(4, activation="relu")
    outer = cn.template(name="outer").apply_template(block).apply_template(block)
    seq = cn.input((4,)).sequential()
    seq.apply_template(outer).fully_connected(2)
    model = seq.as_chain().model()
    assert model.count_params() == (4 * 4 + 4) + (4 * 2 + 2)


def test_applying_a_template_to_an_incompatible_input_is_a_clear_error() -> None:
    tower = _tower()
    tower(cn.input((3, 3)))
    with pytest.raises(
        cn.ChainError,
        match=r"built for input 'input' of shape \(None, 3, 3\) "
        r"and cannot take shape \(None, 4, 3\)",
    ):
        tower(cn.input((4, 3)))
    with pytest.raises(cn.ChainError, match="rank 1 instead of 2"):
        tower(np.ones((2, 9), "float32"))
    x = cn.input((3, 3))
    with pytest.raises(cn.ChainError, match="takes 1 input"):
        tower(x, x)


def test_template_misuse_errors() -> None:
    with pytest.raises(AttributeError, match="Did you mean 'fully_connected'"):
        cn.template().fully_conected(3)
    x = cn.input((2,))
    with pytest.raises(cn.ChainError, match="got a chain as an argument"):
        cn.template().concat(-1, [x])
    with pytest.raises(cn.ChainError, match="must give one chain"):
        cn.template(lambda x: x.softmax_classifier(2))(cn.input((3,)))
    with pytest.raises(cn.ChainError, match="training= applies when"):
        cn.template().relu()(cn.input((3,)), training=True)
    with pytest.raises(cn.ChainError, match="already built"):
        cn.template().relu().build((2,)).build((2,))
