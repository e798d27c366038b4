"""Recurrent layers against Keras (symbolic, eager, tf.function, saving), and masks;
PrettyTensor's cells and sequence methods against references written with Keras layers and
``keras.ops`` from PrettyTensor's formulas (``prettytensor/recurrent_networks.py``)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from harness import ExtraInput, Fresh, MethodCase, Use
from keras import ops

import chainnet as cn

L = keras.layers


class Peepholes(L.Layer):
    """PrettyTensor's three ``diagonal_matrix_mul`` of an LSTM (input, forget, output gate):
    ``x * w[gate]`` with learned vectors, held by one layer so their order is fixed."""

    def build(self, input_shape: tuple[int, ...]) -> None:
        self.w = [self.add_weight(shape=(input_shape[-1],), name=f"w{i}") for i in range(3)]

    def call(self, x: object, gate: int = 0) -> object:
        return x * self.w[gate]


class PTLSTM:
    """PrettyTensor's ``lstm_cell`` from Keras layers (shared however often it is called):
    ``fully_connected(4u)`` of the input, ``fully_connected(4u, bias=None)`` of ``h``, the
    gates ``i, j, f, o``, ``f + 1``, peepholes by ``diagonal_matrix_mul``."""

    def __init__(self, units: int, peephole: bool = True) -> None:
        self.units = units
        self.dense_x, self.dense_h = L.Dense(4 * units), L.Dense(4 * units, use_bias=False)
        self.peepholes = Peepholes() if peephole else None

    def __call__(self, x: object, c: object, h: object) -> tuple[object, object]:
        i, j, f, o = ops.split(self.dense_x(x) + self.dense_h(h), 4, axis=-1)
        f = f + 1.0
        if self.peepholes is not None:
            i, f = i + self.peepholes(c, gate=0), f + self.peepholes(c, gate=1)
        new_c = c * ops.sigmoid(f) + ops.sigmoid(i) * ops.tanh(j)
        if self.peepholes is not None:
            o = o + self.peepholes(new_c, gate=2)
        return new_c, ops.tanh(new_c) * ops.sigmoid(o)


class PTGRU:
    """PrettyTensor's ``gru_cell`` from Keras layers."""

    def __init__(self, units: int) -> None:
        self.gates_x = L.Dense(2 * units)
        self.gates_h = L.Dense(2 * units, use_bias=False)
        self.candidate = L.Dense(units)

    def __call__(self, x: object, h: object) -> object:
        r, u = ops.split(ops.sigmoid(self.gates_x(x) + self.gates_h(h)), 2, axis=-1)
        c = ops.tanh(self.candidate(ops.concatenate([x, r * h], axis=-1)))
        return u * h + (1.0 - u) * c


def unrolled(make_cell: object, units: int, states: int, last: bool = False) -> object:
    """A reference over a whole sequence: a new cell at every step from a zero state."""

    def reference(x: object) -> object:
        cell = make_cell()  # type: ignore[operator]
        zero = ops.repeat(ops.zeros_like(x[:, 0, :1]), units, axis=-1)
        state, outputs = [zero] * states, []
        for t in range(x.shape[1]):
            new = cell(x[:, t], *state)  # type: ignore[operator]
            state = list(new) if states == 2 else [new]
            outputs.append(state[-1])
        return outputs[-1] if last else ops.stack(outputs, axis=1)

    return reference


def _cell_and_c(x: cn.Chain, c: cn.Chain, h: cn.Chain) -> tuple[cn.Chain, cn.Chain]:
    output, (new_c, _) = x.lstm_cell((c, h), 4)
    return output, new_c


def _lstm_reference(x: object, c: object, h: object) -> list[object]:
    new_c, new_h = PTLSTM(4)(x, c, h)
    return [new_h, new_c]


def _packed_reference(x: object, s: object) -> list[object]:
    new_c, new_h = PTLSTM(4, peephole=False)(x, s[:, :4], s[:, 4:])
    return [new_h, ops.concatenate([new_c, new_h], axis=-1)]


CASES = [
    MethodCase("lstm", (4,), input_shape=(5, 3), reference=lambda: [L.LSTM(4)],
               expected_output_shape=(None, 4), expected_num_weights=3,
               expected_num_params=4 * 4 * (3 + 4 + 1)),
    MethodCase("lstm", (4,), {"return_sequences": True}, id="lstm-sequences", input_shape=(5, 3),
               reference=lambda: [L.LSTM(4, return_sequences=True)],
               expected_output_shape=(None, 5, 4), expected_num_weights=3),
    MethodCase("gru", (4,), {"go_backwards": True}, input_shape=(5, 3),
               reference=lambda: [L.GRU(4, go_backwards=True)],
               expected_output_shape=(None, 4), expected_num_weights=3),
    MethodCase("simple_rnn", (4,), input_shape=(5, 3), reference=lambda: [L.SimpleRNN(4)],
               expected_output_shape=(None, 4), expected_num_weights=3, expected_num_params=32),
    MethodCase("bidirectional", (4,), input_shape=(5, 3),
               reference=lambda: [L.Bidirectional(L.LSTM(4))],
               expected_output_shape=(None, 8), expected_num_weights=6),
    MethodCase("bidirectional", (4,), {"cell": "gru", "merge_mode": "sum",
                                       "return_sequences": True},
               id="bidirectional-gru-sum", input_shape=(5, 3),
               reference=lambda: [L.Bidirectional(L.GRU(4, return_sequences=True),
                                                  merge_mode="sum")],
               expected_output_shape=(None, 5, 4), expected_num_weights=6),
    # PrettyTensor's cells, one step: the output and the new state
    MethodCase(_cell_and_c, id="lstm_cell", input_shape=(3,),
               extra_inputs={"c": ExtraInput((4,)), "h": ExtraInput((4,))},
               reference=_lstm_reference, expected_output_shapes=[(None, 4), (None, 4)],
               expected_num_weights=6, expected_num_params=3 * 16 + 16 + 4 * 16 + 3 * 4),
    MethodCase("lstm_cell", (Use("s"), 4), {"peephole": False}, id="lstm_cell-packed",
               input_shape=(3,), extra_inputs={"s": ExtraInput((8,))},
               reference=_packed_reference, expected_output_shapes=[(None, 4), (None, 8)],
               expected_num_weights=3, expected_num_params=3 * 16 + 16 + 4 * 16),
    MethodCase(lambda x, h: x.gru_cell(h, 4).output, id="gru_cell", input_shape=(3,),
               extra_inputs={"h": ExtraInput((4,))},
               reference=lambda x, h: PTGRU(4)(x, h), expected_output_shape=(None, 4),
               expected_num_weights=5, expected_num_params=3 * 8 + 8 + 4 * 8 + 7 * 4 + 4),
    # ... over whole sequences (keras.layers.RNN of the cells)
    MethodCase("sequence_lstm", (4,), input_shape=(5, 3),
               reference=unrolled(lambda: PTLSTM(4), 4, 2), expected_output_shape=(None, 5, 4),
               expected_num_weights=6, expected_num_params=3 * 16 + 16 + 4 * 16 + 3 * 4),
    MethodCase("sequence_gru", (4,), input_shape=(5, 3),
               reference=unrolled(lambda: PTGRU(4), 4, 1), expected_output_shape=(None, 5, 4),
               expected_num_weights=5),
    MethodCase("lstm", (4,), {"peephole": True}, id="lstm-peephole", input_shape=(5, 3),
               reference=unrolled(lambda: PTLSTM(4), 4, 2, last=True),
               expected_output_shape=(None, 4), expected_num_weights=6),
    # sequences: (batch, time, ...) <-> (batch * time, ...), steps <-> sequence
    MethodCase("squash_sequence", input_shape=(5, 3),
               reference=lambda x: ops.reshape(x, (-1, 3)), expected_output_shape=(None, 3),
               expected_num_weights=0),
    MethodCase("cleave_sequence", (2,), input_shape=(3,),
               input_data=np.arange(12, dtype="float32").reshape(4, 3),
               reference=lambda x: ops.reshape(x, (-1, 2, 3)),
               expected_output_shape=(None, 2, 3), expected_num_weights=0),
    MethodCase(lambda x, y: x.with_sequence([x, y, x]), id="with_sequence", input_shape=(3,),
               extra_inputs={"y": ExtraInput((3,))},
               reference=lambda x, y: ops.stack([x, y, x], axis=1),
               expected_output_shape=(None, 3, 3), expected_num_weights=0),
    MethodCase("map", (Fresh(lambda: cn.template(name="step").fully_connected(2)),),
               input_shape=(5, 3), reference=lambda: [L.TimeDistributed(L.Dense(2))],
               expected_output_shape=(None, 5, 2), expected_num_weights=2,
               builds_in_tf_function=True),  # the template is built before
    MethodCase("unzip", (), input_shape=(4, 3),
               reference=lambda x: [x[:, 0::2], x[:, 1::2]],
               expected_output_shapes=[(None, 2, 3), (None, 2, 3)], expected_num_weights=0),
]  # fmt: skip


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_recurrent_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


def test_mask_from_embedding_skips_padding() -> None:
    ids = cn.input((6,), dtype="int32", name="ids")
    out = ids.embedding_lookup(10, 3, mask_zero=True, name="emb").lstm(4, name="rnn")
    model = out.model()
    padded = np.array([[3, 5, 2, 0, 0, 0]], "int32")
    short = cn.input((3,), dtype="int32").embedding_lookup(10, 3).lstm(4).model()
    short.set_weights(model.get_weights())
    np.testing.assert_allclose(model(padded), short(padded[:, :3]), rtol=1e-5, atol=1e-6)
    # eager chains carry the mask too
    eager = cn.wrap(padded).embedding_lookup(10, 3, mask_zero=True).bidirectional(4)
    assert eager.shape == (1, 8)


def test_bidirectional_takes_a_keras_layer_and_checks_the_rank() -> None:
    x = cn.input((5, 3))
    y = x.bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode="concat")
    assert y.shape == (None, 5, 4)
    with pytest.raises(cn.ChainError, match="take \\(batch, time, features\\)"):
        cn.input((5,)).lstm(3)
    with pytest.raises(cn.ChainError, match="cell must be one of"):
        x.bidirectional(3, cell="transformer")


def test_recurrent_layers_ignore_a_scope_activation_but_take_initializers() -> None:
    with cn.defaults(activation="relu", kernel_initializer="zeros"):
        y = cn.input((5, 3)).lstm(4)
    assert y.layer.cell.activation is keras.activations.tanh
    assert not np.any(y.get_weights()["lstm_cell/kernel"])
