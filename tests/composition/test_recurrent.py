"""Recurrent layers against Keras (symbolic, eager, tf.function, saving), and masks."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from harness import MethodCase

import chainnet as cn

L = keras.layers

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
