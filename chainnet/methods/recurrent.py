"""Recurrent layers: ``lstm``, ``gru``, ``simple_rnn`` and ``bidirectional``.

They take ``(batch, time, features)`` and honour masks, for instance from
``embedding_lookup(..., mask_zero=True)``: padded steps are skipped. They keep Keras' own
activations (a scope's ``activation="relu"`` does not reach them); for other cells apply a
Keras layer with ``apply_layer``. Their ``dropout`` is set per method in a scope
(``cn.defaults(lstm={"dropout": 0.2})``): the key ``dropout`` alone names the dropout step.
"""

from __future__ import annotations

from typing import Any

import keras

from chainnet._arguments import check_one_of, check_positive_int, check_rate
from chainnet._registry import chain_method
from chainnet.methods._common import (
    InitializerLike,
    RegularizerLike,
    kernel_layers,
    keywords,
)

__all__ = ["RNN_CELLS", "RecurrentMethods"]

RNN_CELLS: dict[str, type[keras.layers.Layer]] = {
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
    "simple_rnn": keras.layers.SimpleRNN,
}

_RNN_DEFAULTS = (
    "dropout",
    "recurrent_dropout",
    "kernel_initializer",
    "recurrent_initializer",
    "kernel_regularizer",
    "l2loss",
)
"""What the recurrent layers take from scopes; ``dropout`` only per method
(``cn.defaults(lstm={"dropout": 0.2})``): the key ``dropout`` alone names the dropout step."""

_HINT = (
    "Recurrent layers take (batch, time, features): use embedding_lookup for token ids, "
    "or expand_dims(-1) for one feature per step."
)


def _check_recurrent(method: str, units: Any, dropout: Any, recurrent_dropout: Any) -> None:
    check_positive_int(method, "units", units)
    check_rate(method, "dropout", dropout)
    check_rate(method, "recurrent_dropout", recurrent_dropout)


class RecurrentMethods:
    """LSTM, GRU and simple RNN layers, one direction or both."""

    __slots__ = ()

    @chain_method(rank=3, rank_hint=_HINT, defaults=_RNN_DEFAULTS, float_input=True)
    def lstm(
        self,
        units: int,
        *,
        return_sequences: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_initializer: InitializerLike = "glorot_uniform",
        recurrent_initializer: InitializerLike = "orthogonal",
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> Any:
        """A long short-term memory layer (``keras.layers.LSTM``): the last output, or every
        step's with ``return_sequences=True``.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((12, 8))
            >>> x.lstm(16).shape, x.lstm(16, return_sequences=True).shape
            ((None, 16), (None, 12, 16))
        """
        _check_recurrent("lstm", units, dropout, recurrent_dropout)
        return kernel_layers("lstm", RNN_CELLS["lstm"], units, options=keywords(locals(), "units"))

    @chain_method(rank=3, rank_hint=_HINT, defaults=_RNN_DEFAULTS, float_input=True)
    def gru(
        self,
        units: int,
        *,
        return_sequences: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_initializer: InitializerLike = "glorot_uniform",
        recurrent_initializer: InitializerLike = "orthogonal",
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> Any:
        """A gated recurrent unit layer (``keras.layers.GRU``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((12, 8)).gru(16).shape
            (None, 16)
        """
        _check_recurrent("gru", units, dropout, recurrent_dropout)
        return kernel_layers("gru", RNN_CELLS["gru"], units, options=keywords(locals(), "units"))

    @chain_method(rank=3, rank_hint=_HINT, defaults=_RNN_DEFAULTS, float_input=True)
    def simple_rnn(
        self,
        units: int,
        *,
        return_sequences: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_initializer: InitializerLike = "glorot_uniform",
        recurrent_initializer: InitializerLike = "orthogonal",
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> Any:
        """A fully connected recurrent layer, ``h = tanh(W x + U h + b)``
        (``keras.layers.SimpleRNN``).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((12, 8)).simple_rnn(16, return_sequences=True).shape
            (None, 12, 16)
        """
        _check_recurrent("simple_rnn", units, dropout, recurrent_dropout)
        return kernel_layers(
            "simple_rnn", RNN_CELLS["simple_rnn"], units, options=keywords(locals(), "units")
        )

    @chain_method(
        rank=3, rank_hint=_HINT, defaults=(*_RNN_DEFAULTS, "merge_mode"), float_input=True
    )
    def bidirectional(
        self,
        units: int | keras.layers.Layer,
        *,
        cell: str = "lstm",
        merge_mode: str | None = "concat",
        return_sequences: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_initializer: InitializerLike = "glorot_uniform",
        recurrent_initializer: InitializerLike = "orthogonal",
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> Any:
        """Runs a recurrent layer forwards and backwards (``keras.layers.Bidirectional``) and
        merges both (``merge_mode``: ``"concat"``, ``"sum"``, ``"mul"``, ``"ave"``).

        ``units`` with ``cell`` (``"lstm"``, ``"gru"``, ``"simple_rnn"``) makes the layer; a
        Keras recurrent layer may be given instead of ``units``.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((12, 8))
            >>> x.bidirectional(16).shape, x.bidirectional(16, cell="gru", merge_mode="sum").shape
            ((None, 32), (None, 16))
        """
        if merge_mode is not None:
            check_one_of("bidirectional", "merge_mode", merge_mode, ("concat", "sum", "mul", "ave"))
        if isinstance(units, keras.layers.Layer):
            forward = units
        else:
            if cell not in RNN_CELLS:
                raise ValueError(f"cell must be one of {sorted(RNN_CELLS)}, got {cell!r}")
            _check_recurrent("bidirectional", units, dropout, recurrent_dropout)
            options = keywords(locals(), "units", "cell", "merge_mode", "forward")
            (forward,) = kernel_layers(
                "bidirectional", RNN_CELLS[cell], units, options={**options, "name": cell}
            )
        return keras.layers.Bidirectional(forward, merge_mode=merge_mode, name=name)
