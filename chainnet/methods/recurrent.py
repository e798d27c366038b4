"""Recurrent layers: ``lstm``, ``gru``, ``simple_rnn`` and ``bidirectional``.

They take ``(batch, time, features)`` and honour masks, for instance from
``embedding_lookup(..., mask_zero=True)``: padded steps are skipped. They keep Keras' own
activations (a scope's ``activation="relu"`` does not reach them); for other cells apply a
Keras layer with ``apply_layer``. Their ``dropout`` is set per method in a scope
(``cn.defaults(lstm={"dropout": 0.2})``): the key ``dropout`` alone names the dropout step.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras

from chainnet._arguments import check_bool, check_one_of, check_positive_int, check_rate
from chainnet._defaults import current_defaults
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


def _check_recurrent(
    method: str,
    units: Any,
    dropout: Any,
    recurrent_dropout: Any,
    return_sequences: Any,
    go_backwards: Any = False,
) -> int:
    """Checks a recurrent method's own arguments; returns ``units`` as an int."""
    units = check_positive_int(method, "units", units)
    check_rate(method, "dropout", dropout)
    check_rate(method, "recurrent_dropout", recurrent_dropout)
    check_bool(method, "return_sequences", return_sequences)
    check_bool(method, "go_backwards", go_backwards)
    return int(units)


_LAYER_OPTIONS = (
    "cell",
    "return_sequences",
    "dropout",
    "recurrent_dropout",
    "kernel_initializer",
    "recurrent_initializer",
    "kernel_regularizer",
    "l2loss",
)
"""The ``bidirectional`` options that make its recurrent layer: refused with a given layer."""

_PLAIN = (str, int, float, bool, type(None))


def _check_given_layer(method: str, layer: keras.layers.Layer, values: dict[str, Any]) -> None:
    """Refuses an option ``bidirectional`` could not apply to the recurrent layer it is given
    (a value set by a defaults scope is for the layers chainnet makes, and is left alone)."""
    parameters = inspect.signature(RecurrentMethods.bidirectional).parameters
    scoped = current_defaults().for_method(method)
    for key in _LAYER_OPTIONS:
        value, default = values[key], parameters[key].default
        if value is default or (isinstance(value, _PLAIN) and value == default):
            continue
        if key in scoped and not (
            isinstance(value, _PLAIN) and isinstance(scoped[key], _PLAIN) and value != scoped[key]
        ):
            continue  # from the scope
        raise ValueError(
            f"{method}({key}): given a layer ({type(layer).__name__} {layer.name!r}), "
            f"{method}() cannot set {key}={value!r}; set it on the given layer instead"
        )


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
        units = _check_recurrent(
            "lstm", units, dropout, recurrent_dropout, return_sequences, go_backwards
        )
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
        units = _check_recurrent(
            "gru", units, dropout, recurrent_dropout, return_sequences, go_backwards
        )
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
        units = _check_recurrent(
            "simple_rnn", units, dropout, recurrent_dropout, return_sequences, go_backwards
        )
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
            merge_mode = check_one_of(
                "bidirectional", "merge_mode", merge_mode, ("concat", "sum", "mul", "ave")
            )
        if isinstance(units, keras.layers.Layer):
            _check_given_layer("bidirectional", units, locals())
            forward = units
        else:
            if cell not in RNN_CELLS:
                raise ValueError(f"cell must be one of {sorted(RNN_CELLS)}, got {cell!r}")
            units = _check_recurrent(
                "bidirectional", units, dropout, recurrent_dropout, return_sequences
            )
            options = keywords(locals(), "units", "cell", "merge_mode", "forward")
            (forward,) = kernel_layers(
                "bidirectional", RNN_CELLS[cell], units, options={**options, "name": cell}
            )
        return keras.layers.Bidirectional(forward, merge_mode=merge_mode, name=name)
