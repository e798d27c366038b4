"""PrettyTensor's recurrent API: the cells against NumPy written from PrettyTensor's formulas
(``prettytensor/recurrent_networks.py``), PrettyTensor's parameter counts, stateful sampling
against the whole sequence, templates of several inputs and outputs, and sequences."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

import chainnet as cn


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def np_lstm_cell(x, c, h, w, *, peephole=True, bias=True):  # type: ignore[no-untyped-def]
    """PrettyTensor's ``lstm_cell`` in NumPy: ``w`` holds kernel, bias, recurrent kernel and
    the input, forget and output peepholes (diagonal_matrix_mul), in the layer's order."""
    w = list(w)
    kernel = w.pop(0)
    b = w.pop(0) if bias else 0.0
    recurrent = w.pop(0)
    z = x @ kernel + b + h @ recurrent
    i, j, f, o = np.split(z, 4, axis=-1)
    if bias:
        f = f + 1.0
    if peephole:
        p_i, p_f, p_o = w
        i, f = i + c * p_i, f + c * p_f
    new_c = c * sigmoid(f) + sigmoid(i) * np.tanh(j)
    if peephole:
        o = o + new_c * p_o
    return new_c, np.tanh(new_c) * sigmoid(o)


def np_gru_cell(x, h, w):  # type: ignore[no-untyped-def]
    """PrettyTensor's ``gru_cell`` in NumPy: gates kernel and bias, gates recurrent kernel,
    candidate kernel and bias."""
    gates_kernel, gates_bias, gates_recurrent, candidate_kernel, candidate_bias = w
    r, u = np.split(sigmoid(x @ gates_kernel + gates_bias + h @ gates_recurrent), 2, axis=-1)
    c = np.tanh(np.concatenate([x, r * h], axis=-1) @ candidate_kernel + candidate_bias)
    return u * h + (1 - u) * c


def randomize(model: keras.Model, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    return weights


RNG = np.random.default_rng(1)
X = RNG.normal(size=(3, 5)).astype("float32")
C = RNG.normal(size=(3, 4)).astype("float32")
H = RNG.normal(size=(3, 4)).astype("float32")


@pytest.mark.parametrize("peephole", [True, False])
@pytest.mark.parametrize("bias", [True, None])
def test_lstm_cell_is_prettytensors_formula(peephole: bool, bias: bool | None) -> None:
    x = cn.input((5,), name="x")
    c, h = x.network.input((4,), name="c"), x.network.input((4,), name="h")
    output, (new_c, new_h) = x.lstm_cell((c, h), 4, peephole=peephole, bias=bias)
    assert output is new_h
    model = cn.model([new_c, new_h])
    weights = randomize(model)
    # PrettyTensor's parameters: 4u(in + 1) + 4u * u, + 3u peepholes
    assert model.count_params() == 16 * 5 + (16 if bias else 0) + 16 * 4 + (12 if peephole else 0)
    want_c, want_h = np_lstm_cell(X, C, H, weights, peephole=peephole, bias=bool(bias))
    got_c, got_h = model([X, C, H])
    np.testing.assert_allclose(got_c, want_c, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_h, want_h, rtol=1e-5, atol=1e-5)


def test_lstm_cell_takes_and_gives_a_packed_state() -> None:
    x = cn.input((5,), name="x")
    state = x.network.input((8,), name="state")  # PrettyTensor's README: [batch, 2 * units]
    output, new_state = x.lstm_cell(state, 4)
    assert new_state.shape == (None, 8) and output.shape == (None, 4)
    model = cn.model([output, new_state])
    weights = randomize(model)
    want_c, want_h = np_lstm_cell(X, C, H, weights)
    got_h, got_state = model([X, np.concatenate([C, H], -1)])
    np.testing.assert_allclose(got_h, want_h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        got_state, np.concatenate([want_c, want_h], -1), rtol=1e-5, atol=1e-5
    )


def test_gru_cell_is_prettytensors_formula() -> None:
    x = cn.input((5,), name="x")
    h = x.network.input((4,), name="h")
    output, (state,) = x.gru_cell([h], 4)  # PrettyTensor's state: a list of one
    assert output is state
    model = cn.model(output)
    weights = randomize(model)
    np.testing.assert_allclose(model([X, H]), np_gru_cell(X, H, weights), rtol=1e-5, atol=1e-5)
    # the gates' bias starts at 1 (no reset, no update), the candidate's at 0
    fresh = cn.model(x.gru_cell(h, 4).output)
    assert np.all(fresh.get_weights()[1] == 1.0) and np.all(fresh.get_weights()[4] == 0.0)


def test_prettytensors_parameter_counts() -> None:
    """baby_names: 80,866 (80,482 with Keras' LSTM, no peepholes); shakespeare: 504,576."""

    def baby_names(**lstm: object) -> int:
        names = cn.input((15,), dtype="int32")
        embedded = names.embedding_lookup(128, 16)
        lstm_out = (
            embedded.sequence_lstm(128)
            if not lstm
            else embedded.lstm(128, return_sequences=True, **lstm)  # type: ignore[arg-type]
        )
        head = lstm_out.squash_sequence().fully_connected(32).softmax_classifier(2)
        return cn.model(head.logits).count_params()

    assert baby_names() == 80_866
    assert baby_names(peephole=True) == 80_866
    assert baby_names(peephole=False) == 80_482
    text = cn.input((100,), dtype="int32")
    logits = (
        text.embedding_lookup(128, 16)
        .sequence_lstm(128)
        .sequence_lstm(256)
        .squash_sequence()
        .fully_connected(128)
    )
    assert cn.model(logits).count_params() == 504_576


def test_sequence_lstm_is_the_cell_unrolled_with_one_set_of_weights() -> None:
    seq = cn.input((6, 5), name="seq")
    whole = cn.model(seq.sequence_lstm(4))
    weights = randomize(whole)

    @cn.template
    def cell(x, c, h):  # type: ignore[no-untyped-def]
        return x.lstm_cell((c, h), 4)

    c0 = seq.network.input((4,), name="c0")
    h0 = seq.network.input((4,), name="h0")
    state, outputs = (c0, h0), []
    for x in seq.unstack():
        output, state = cell(x, *state)
        outputs.append(output)
    unrolled = cn.model(outputs)
    assert len(unrolled.weights) == 6 and unrolled.count_params() == whole.count_params()
    unrolled.set_weights(weights)
    data = RNG.normal(size=(2, 6, 5)).astype("float32")
    zeros = np.zeros((2, 4), "float32")
    got = np.stack([np.asarray(o) for o in unrolled([data, zeros, zeros])], axis=1)
    np.testing.assert_allclose(got, whole(data), rtol=1e-5, atol=1e-5)
    # and NumPy, step by step
    c, h = zeros, zeros
    for t in range(6):
        c, h = np_lstm_cell(data[:, t], c, h, weights)
        np.testing.assert_allclose(got[:, t], h, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "method, options",
    [
        ("sequence_lstm", {}),
        ("sequence_gru", {}),
        ("lstm", {"return_sequences": True}),
        ("lstm", {"return_sequences": True, "peephole": True}),
        ("gru", {"return_sequences": True}),
    ],
)
def test_stateful_one_step_at_a_time_equals_the_whole_sequence(method: str, options: dict) -> None:
    whole = cn.model(getattr(cn.input((7, 3)), method)(5, **options))
    step = cn.model(getattr(cn.input((1, 3), batch_size=2), method)(5, stateful=True, **options))
    step.set_weights(randomize(whole))
    data = RNG.normal(size=(2, 7, 3)).astype("float32")
    want = np.asarray(whole(data))
    for _ in range(2):  # reset_states starts again from a zero state
        cn.reset_states(step)
        got = np.concatenate([np.asarray(step(data[:, t : t + 1])) for t in range(7)], axis=1)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_stateful_needs_a_fixed_batch_size() -> None:
    with pytest.raises(cn.ChainError, match=r"fixed batch size.*batch_size="):
        cn.input((4, 3)).lstm(5, stateful=True)
    with pytest.raises(cn.ChainError, match="PrettyTensor's cells have no dropout"):
        cn.input((4, 3)).lstm(5, peephole=True, dropout=0.2)


def test_readme_lstm_template_with_unbound_state(tmp_path: Path) -> None:
    """PrettyTensor's README: ``template('x').lstm_cell(num_units, state=UnboundVariable)``
    applied with ``construct(x=..., state=...)``, one set of weights, saved and loaded."""
    A = cn.template("x").lstm_cell(num_units=4, state=cn.UnboundVariable("state"))
    seq = cn.input((5, 3), name="seq")
    s = seq.network.input((8,), name="s")
    outputs = []
    for x in seq.unstack():
        h, s = A.construct(x=x, state=s)
        outputs.append(h)
    assert A.input_names == ["x", "state"]
    model = cn.model([outputs[-1], s])
    assert len(model.weights) == 6  # one cell's weights, however often it is applied
    assert model.count_params() == 3 * 16 + 16 + 4 * 16 + 12
    weights = randomize(model)
    path = tmp_path / "cell.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    data = RNG.normal(size=(2, 5, 3)).astype("float32")
    start = np.zeros((2, 8), "float32")
    for got, want in zip(loaded([data, start]), model([data, start])):
        np.testing.assert_array_equal(got, want)
    c, h = start[:, :4], start[:, 4:]
    for t in range(5):
        c, h = np_lstm_cell(data[:, t], c, h, weights)
    np.testing.assert_allclose(model([data, start])[0], h, rtol=1e-4, atol=1e-5)
    # on tensors, the template gives (output, state) tensors
    out, state = A(x=data[:, 0], state=start)
    assert tuple(out.shape) == (2, 4) and tuple(state.shape) == (2, 8)


def test_template_inputs_by_name_are_checked() -> None:
    cell = cn.template(lambda x, state: x.gru_cell(state, 4))
    x = cn.input((3,), name="x")
    h = x.network.input((4,), name="h")
    output, state = cell(x, state=h)
    assert output.shape == state.shape == (None, 4)
    with pytest.raises(cn.ChainError, match=r"no input 'stat'.*Did you mean 'state'"):
        cell(x, stat=h)
    with pytest.raises(cn.ChainError, match=r"\['state'\] not given"):
        cell(x=x)
    with pytest.raises(cn.ChainError, match="'x' given twice"):
        cell(x, x=x, state=h)


def test_squash_and_cleave_sequence() -> None:
    data = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    seq = cn.input((3, 4))
    flat = seq.squash_sequence()
    back = flat.fully_connected(5).cleave_sequence()  # unroll from the squash: 3
    assert flat.shape == (None, 4) and back.shape == (None, 3, 5) and back.is_sequence()
    np.testing.assert_array_equal(cn.model(flat)(data), data.reshape(6, 4))
    eager = cn.wrap(data).squash_sequence()
    assert eager.shape == (6, 4)
    np.testing.assert_array_equal(eager.cleave_sequence().tensor, data)
    with pytest.raises(cn.ChainError, match="give the number of time steps"):
        cn.input((4,)).cleave_sequence()
    with pytest.raises(cn.ChainError, match="does not divide"):
        cn.wrap(np.ones((5, 2), "float32")).cleave_sequence(2)


def test_map_shares_one_set_of_weights_over_the_steps() -> None:
    step = cn.template(name="step").fully_connected(2)
    seq = cn.input((4, 3)).map(step)
    assert seq.is_sequence() and seq.shape == (None, 4, 2)
    model = cn.model(seq)
    assert model.count_params() == 8
    data = RNG.normal(size=(2, 4, 3)).astype("float32")
    kernel, bias = step.get_weights("fully_connected").values()
    np.testing.assert_allclose(model(data), data @ kernel + bias, rtol=1e-5, atol=1e-5)
    with pytest.raises(cn.ChainError, match="was built for"):
        cn.input((4, 5)).map(step)


def test_with_sequence_and_unzip() -> None:
    data = np.arange(12, dtype="float32").reshape(1, 6, 2)
    a, b = cn.wrap(data).unzip()
    np.testing.assert_array_equal(a.tensor, data[:, 0::2])
    np.testing.assert_array_equal(b.tensor, data[:, 1::2])
    steps = cn.wrap(data).unstack()
    seq = steps[0].with_sequence(steps[::-1])
    assert seq.is_sequence() and not steps[0].is_sequence()
    np.testing.assert_array_equal(seq.tensor, data[:, ::-1])
    with pytest.raises(cn.ChainError, match="non-batch axis"):
        cn.wrap(data).unzip(0)
    with pytest.raises(cn.ChainError, match="one shape"):
        steps[0].with_sequence([steps[0], cn.wrap(np.ones((1, 3), "float32"))])
