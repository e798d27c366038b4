"""Recurrent layers and sequences: ``lstm``, ``gru``, ``simple_rnn``, ``bidirectional``;
PrettyTensor's cells ``lstm_cell`` and ``gru_cell`` (one step), ``sequence_lstm`` and
``sequence_gru`` (a whole sequence), and the sequence helpers ``cleave_sequence``,
``squash_sequence``, ``with_sequence``, ``is_sequence``, ``map`` and ``unzip``.

A sequence is a chain of shape ``(batch, time, ...)``, the shape Keras' recurrent layers take
(PrettyTensor held a Python list of ``time`` tensors of ``(batch, ...)``).
``squash_sequence`` merges batch and time into one axis (``(batch * time, ...)``, batch-major)
and ``cleave_sequence`` splits it back.

They take ``(batch, time, features)`` and honour masks, for instance from
``embedding_lookup(..., mask_zero=True)``: padded steps are skipped. They keep Keras' own
activations (a scope's ``activation="relu"`` does not reach them); for other cells apply a
Keras layer with ``apply_layer``. Their ``dropout`` is set per method in a scope
(``cn.defaults(lstm={"dropout": 0.2})``): the key ``dropout`` alone names the dropout step.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import keras

from chainnet._arguments import check_bool, check_one_of, check_positive_int, check_rate
from chainnet._chainbase import ChainBase, Lowering
from chainnet._defaults import current_defaults
from chainnet._operands import as_chains
from chainnet._registry import chain_method
from chainnet._shapes import normalize_axis
from chainnet._template import Template, template
from chainnet.layers.merge import Stack
from chainnet.layers.recurrent import (
    CleaveSequence,
    GRUCellStep,
    LSTMCellStep,
    PeepholeLSTMCell,
    PrettyGRUCell,
    SquashSequence,
)
from chainnet.layers.shape import Reshape, Slice, encode_key, step_dtype
from chainnet.methods._common import (
    InitializerLike,
    RegularizerLike,
    kernel_layers,
    kernel_regularizer_for,
    keywords,
)

if TYPE_CHECKING:  # type hints only: the public Chain (see docs/architecture.md)
    from chainnet._chain import Chain

__all__ = ["RNN_CELLS", "SEQUENCE_METHODS", "RecurrentMethods", "RecurrentResult", "reset_states"]

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


class RecurrentResult(NamedTuple):
    """A cell's result, PrettyTensor's ``RecurrentResult``: the step's output and the new
    state, in the form the state was given (one packed chain, or a tuple of chains)."""

    output: Any
    state: Any


SEQUENCE_METHODS = frozenset(
    {"cleave_sequence", "sequence_lstm", "sequence_gru", "with_sequence", "map"}
)
"""The methods whose result is a sequence (``is_sequence()``)."""

_CELL_DEFAULTS = ("kernel_initializer", "recurrent_initializer", "kernel_regularizer", "l2loss")
"""What PrettyTensor's cells take from scopes."""

_CELL_NAMES = {PeepholeLSTMCell: "lstm_cell", PrettyGRUCell: "gru_cell"}


def _pretty_rnn(
    method: str, cell_class: type[keras.layers.Layer], units: int, options: dict[str, Any]
) -> keras.layers.RNN:
    """``keras.layers.RNN`` over one of PrettyTensor's cells, from a method's keywords."""
    rest = dict(options)
    for key in ("dropout", "recurrent_dropout"):
        if rest.pop(key, 0.0):
            raise ValueError(
                f"{method}({key}): PrettyTensor's cells have no dropout; apply dropout() to the "
                "sequence before or after the layer (or use Keras' cell: peephole=False)."
            )
    regularizer = kernel_regularizer_for(
        method, rest.pop("l2loss", None), rest.pop("kernel_regularizer", None)
    )
    rnn = {
        key: rest.pop(key)
        for key in ("return_sequences", "go_backwards", "stateful", "name")
        if key in rest
    }
    if "bias" in rest:
        rest["use_bias"] = _use_bias(method, rest.pop("bias"))
    cell = cell_class(units, kernel_regularizer=regularizer, name=_CELL_NAMES[cell_class], **rest)
    return keras.layers.RNN(cell, **rnn)


def _use_bias(method: str, bias: Any) -> bool:
    """PrettyTensor's ``bias=None`` (no bias) or ``bias=True``/``False``."""
    return bias is not None and check_bool(method, "bias", bias)


def _check_stateful(method: str, chain: Any, stateful: Any) -> None:
    """A stateful layer keeps one state per example: the batch size must be fixed."""
    if check_bool(method, "stateful", stateful) and chain.shape[0] is None:
        raise ValueError(
            f"{method}(stateful=True) keeps one state per example between calls, so it needs a "
            f"fixed batch size; got shape {chain.shape} from {chain.name!r}. Start the chain "
            "with cn.input(shape, batch_size=...)."
        )


def _states(chain: Any, method: str, state: Any, units: int, parts: int) -> tuple[ChainBase, ...]:
    """The state chains of a cell: one packed ``(batch, parts * units)`` chain, or ``parts``
    chains of ``(batch, units)``."""
    states = as_chains(chain, state, method=method, role="state")
    packed = len(states) == 1 and parts > 1
    width = parts * units if packed else units
    if len(states) not in (1, parts) or any(
        len(s.shape) != 2 or s.shape[-1] != width for s in states
    ):
        shapes = [s.shape for s in states]
        expected = (
            f"(c, h), each (batch, {units}), or one packed (batch, {parts * units}) chain"
            if parts > 1
            else f"one (batch, {units}) chain"
        )
        raise ValueError(f"{method}(state): expected {expected}; got shapes {shapes}")
    return states


def _part(chain: Any, method: str, name: str, key: tuple[Any, ...]) -> Chain:
    """One slice of a step's output as its own step."""
    layer = Slice(encode_key(key), dtype=step_dtype(chain.dtype), name=name)
    return cast("Chain", chain._extend(method, name, layer))


def _squash_ancestor(chain: Any) -> Any:
    """The nearest ``squash_sequence`` step among the chain and its first parents, or None."""
    while chain is not None and chain.method != "squash_sequence":
        chain = chain.parent
    return chain


def _known(method: str, chain: Any, dims: tuple[Any, ...]) -> list[int]:
    if any(d is None for d in dims):
        raise ValueError(
            f"{method}() needs known dimensions after the batch and time axes; got shape "
            f"{chain.shape} from {chain.name!r}"
        )
    return [int(d) for d in dims]


def reset_states(model: Any) -> None:
    """Resets the state of every stateful recurrent layer of a model (or of a chain's model)
    to zeros, for instance before sampling a new text one step at a time.

    Args:
        model: A ``keras.Model`` (or any Keras layer holding layers).

    Examples:
        >>> import numpy as np, chainnet as cn
        >>> step = cn.input((1, 3), batch_size=2).lstm(4, stateful=True).model()
        >>> x = np.ones((2, 1, 3), "float32")
        >>> first = step(x)
        >>> bool(np.allclose(first, step(x)))          # the state carried over
        False
        >>> cn.reset_states(step)
        >>> bool(np.allclose(first, step(x)))
        True
    """
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.RNN) and layer.stateful:
            layer.reset_states()


def _all_layers(layer: Any) -> list[Any]:
    """A layer and every layer inside it (models, wrappers, bidirectional layers)."""
    inner = [
        *getattr(layer, "layers", ()),
        *(getattr(layer, key, None) for key in ("layer", "forward_layer", "backward_layer")),
    ]
    found = [layer]
    for item in inner:
        if isinstance(item, keras.layers.Layer) and item is not layer:
            found.extend(_all_layers(item))
    return found


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
        stateful: bool = False,
        peephole: bool = False,
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

        ``peephole=True`` runs PrettyTensor's LSTM cell instead (``lstm_cell``: peepholes, its
        gate order and parameters) with ``keras.layers.RNN``. ``stateful=True`` carries the
        state from one call of the model to the next (for sampling one step at a time; the
        batch size must be fixed); :func:`chainnet.reset_states` zeroes it.

        Args:
            units: The size of the state and output.
            return_sequences: Every step's output ``(batch, time, units)`` instead of the last.
            go_backwards: Read the sequence backwards.
            stateful: Keep the last state of each example for the next call.
            peephole: PrettyTensor's peephole LSTM (``80,866`` parameters in its baby_names).
            dropout: Keras' input dropout (Keras' cell only).
            recurrent_dropout: Keras' recurrent dropout (Keras' cell only).
            kernel_initializer: The input kernel's initializer.
            recurrent_initializer: The recurrent kernel's initializer.
            kernel_regularizer: A regularizer for the kernel (every weight, peephole cell).
            l2loss: PrettyTensor's weight decay, ``l2loss * sum(w**2) / 2``.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((12, 8))
            >>> x.lstm(16).shape, x.lstm(16, return_sequences=True).shape
            ((None, 16), (None, 12, 16))
            >>> x.lstm(16).model().count_params(), x.lstm(16, peephole=True).model().count_params()
            (1600, 1648)
        """
        units = _check_recurrent(
            "lstm", units, dropout, recurrent_dropout, return_sequences, go_backwards
        )
        _check_stateful("lstm", self, stateful)
        if check_bool("lstm", "peephole", peephole):
            options = keywords(locals(), "units")
            return _pretty_rnn("lstm", PeepholeLSTMCell, units, options)
        return kernel_layers(
            "lstm", RNN_CELLS["lstm"], units, options=keywords(locals(), "units", "peephole")
        )

    @chain_method(rank=3, rank_hint=_HINT, defaults=_RNN_DEFAULTS, float_input=True)
    def gru(
        self,
        units: int,
        *,
        return_sequences: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_initializer: InitializerLike = "glorot_uniform",
        recurrent_initializer: InitializerLike = "orthogonal",
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> Any:
        """A gated recurrent unit layer (``keras.layers.GRU``). ``stateful=True`` carries the
        state from one call of the model to the next (fixed batch size;
        :func:`chainnet.reset_states` zeroes it).

        Examples:
            >>> import chainnet as cn
            >>> cn.input((12, 8)).gru(16).shape
            (None, 16)
        """
        units = _check_recurrent(
            "gru", units, dropout, recurrent_dropout, return_sequences, go_backwards
        )
        _check_stateful("gru", self, stateful)
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

    # ------------------------------------------------------------ PrettyTensor's cells
    @chain_method(rank=2, names_itself=True, defaults=_CELL_DEFAULTS, float_input=True)
    def lstm_cell(
        self,
        state: Any,
        num_units: int,
        bias: bool | None = True,
        peephole: bool = True,
        *,
        kernel_initializer: InitializerLike = "glorot_uniform",
        recurrent_initializer: InitializerLike = "glorot_uniform",
        peephole_initializer: InitializerLike = None,
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> RecurrentResult:
        """One step of PrettyTensor's LSTM cell: ``(output, new_state)``.

        ``state`` is ``(c, h)``, each ``(batch, num_units)``, or one packed chain
        ``(batch, 2 * num_units)`` (``c`` then ``h``); the new state comes back in the same
        form. The step ``<name>`` holds the packed new state and the cell's weights;
        ``<name>.h`` (the output) and ``<name>.c`` are its parts. Applied in a template
        (``cn.template(lambda x, state: x.lstm_cell(state, 32))``) every time step shares
        one set of weights; ``sequence_lstm`` runs the same cell over a whole sequence.

        Args:
            state: The state ``(c, h)`` or one packed chain (chains or arrays).
            num_units: The size of the state and output.
            bias: Whether the gates have a bias (PrettyTensor's ``bias=None``: none).
            peephole: Peephole connections from ``c`` to the gates (Gers et al., 2002).
            kernel_initializer: The input kernel's initializer (PrettyTensor: Xavier).
            recurrent_initializer: The recurrent kernel's initializer.
            peephole_initializer: The peepholes' initializer (default: PrettyTensor's,
                uniform in ``±sqrt(6 / num_units)``).
            kernel_regularizer: A regularizer for every weight of the cell.
            l2loss: PrettyTensor's weight decay on every weight of the cell.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((8,), name="x")
            >>> c = x.network.input((16,), name="c")
            >>> h = x.network.input((16,), name="h")
            >>> output, (c1, h1) = x.lstm_cell((c, h), 16)
            >>> output.name, c1.name, output.shape, output.model().count_params()
            ('lstm_cell.h', 'lstm_cell.c', (None, 16), 1648)
        """
        units = int(check_positive_int("lstm_cell", "num_units", num_units))
        states = _states(self, "lstm_cell", state, units, 2)
        base = self.network.next_name(  # type: ignore[attr-defined]
            "lstm_cell", name, method="lstm_cell", suffixes=("", ".c", ".h")
        )
        layer = LSTMCellStep(
            units,
            use_bias=_use_bias("lstm_cell", bias),
            peephole=check_bool("lstm_cell", "peephole", peephole),
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            peephole_initializer=peephole_initializer,
            kernel_regularizer=kernel_regularizer_for("lstm_cell", l2loss, kernel_regularizer),
            name=base,
        )
        packed = self._extend(  # type: ignore[attr-defined]
            "lstm_cell", base, Lowering((layer,), others=states, node_name=base)
        )
        h = _part(packed, "lstm_cell", f"{base}.h", (slice(None), slice(units, None)))
        if len(states) == 1:
            return RecurrentResult(h, packed)
        c = _part(packed, "lstm_cell", f"{base}.c", (slice(None), slice(0, units)))
        return RecurrentResult(h, (c, h))

    @chain_method(rank=2, names_itself=True, defaults=_CELL_DEFAULTS, float_input=True)
    def gru_cell(
        self,
        state: Any,
        num_units: int,
        bias: bool | None = True,
        *,
        kernel_initializer: InitializerLike = "glorot_uniform",
        recurrent_initializer: InitializerLike = "glorot_uniform",
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> RecurrentResult:
        """One step of PrettyTensor's GRU cell: ``(output, new_state)``; the output is the
        new state ``h``.

        ``state`` is ``h`` (``(batch, num_units)``), or ``[h]`` as PrettyTensor wrote it;
        the new state comes back in the same form.

        Args:
            state: The state ``h`` (a chain or an array), or a list holding it.
            num_units: The size of the state and output.
            bias: Whether the gates and the candidate have biases (the gates' start at 1).
            kernel_initializer: The input kernels' initializer (PrettyTensor: Xavier).
            recurrent_initializer: The recurrent kernel's initializer.
            kernel_regularizer: A regularizer for every weight of the cell.
            l2loss: PrettyTensor's weight decay on every weight of the cell.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((8,), name="x")
            >>> h = x.network.input((16,), name="h")
            >>> output, state = x.gru_cell(h, 16)
            >>> output is state, output.name, output.model().count_params()
            (True, 'gru_cell', 1200)
        """
        units = int(check_positive_int("gru_cell", "num_units", num_units))
        states = _states(self, "gru_cell", state, units, 1)
        base = self.network.next_name("gru_cell", name, method="gru_cell")  # type: ignore[attr-defined]
        layer = GRUCellStep(
            units,
            use_bias=_use_bias("gru_cell", bias),
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            kernel_regularizer=kernel_regularizer_for("gru_cell", l2loss, kernel_regularizer),
            name=base,
        )
        h = self._extend(  # type: ignore[attr-defined]
            "gru_cell", base, Lowering((layer,), others=states, node_name=base)
        )
        return RecurrentResult(h, (h,) if isinstance(state, (list, tuple)) else h)

    @chain_method(rank=3, rank_hint=_HINT, defaults=_CELL_DEFAULTS, float_input=True)
    def sequence_lstm(
        self,
        num_units: int,
        bias: bool | None = True,
        peephole: bool = True,
        *,
        stateful: bool = False,
        go_backwards: bool = False,
        kernel_initializer: InitializerLike = "glorot_uniform",
        recurrent_initializer: InitializerLike = "glorot_uniform",
        peephole_initializer: InitializerLike = None,
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> Any:
        """PrettyTensor's LSTM cell (``lstm_cell``) over a whole sequence
        ``(batch, time, features)``: every step's output ``(batch, time, num_units)``, from a
        zero state. One ``keras.layers.RNN`` layer; masks (``mask_zero=True``) skip padding.

        Args:
            num_units: The size of the state and output.
            bias: Whether the gates have a bias.
            peephole: Peephole connections (PrettyTensor's default).
            stateful: Keep the last state of each example for the next call (fixed batch
                size; :func:`chainnet.reset_states` zeroes it).
            go_backwards: Read the sequence backwards.
            kernel_initializer: The input kernel's initializer.
            recurrent_initializer: The recurrent kernel's initializer.
            peephole_initializer: The peepholes' initializer.
            kernel_regularizer: A regularizer for every weight of the cell.
            l2loss: PrettyTensor's weight decay on every weight of the cell.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> seq = cn.input((15,), dtype="int32").embedding_lookup(128, 16).sequence_lstm(128)
            >>> seq.shape, seq.model().count_params() - 128 * 16
            ((None, 15, 128), 74624)
        """
        units = int(check_positive_int("sequence_lstm", "num_units", num_units))
        _check_stateful("sequence_lstm", self, stateful)
        check_bool("sequence_lstm", "go_backwards", go_backwards)
        check_bool("sequence_lstm", "peephole", peephole)
        options = {**keywords(locals(), "num_units", "units"), "return_sequences": True}
        return _pretty_rnn("sequence_lstm", PeepholeLSTMCell, units, options)

    @chain_method(rank=3, rank_hint=_HINT, defaults=_CELL_DEFAULTS, float_input=True)
    def sequence_gru(
        self,
        num_units: int,
        bias: bool | None = True,
        *,
        stateful: bool = False,
        go_backwards: bool = False,
        kernel_initializer: InitializerLike = "glorot_uniform",
        recurrent_initializer: InitializerLike = "glorot_uniform",
        kernel_regularizer: RegularizerLike = None,
        l2loss: float | None = None,
        name: str | None = None,
    ) -> Any:
        """PrettyTensor's GRU cell (``gru_cell``) over a whole sequence: every step's output
        ``(batch, time, num_units)``, from a zero state (one ``keras.layers.RNN`` layer).

        Args:
            num_units: The size of the state and output.
            bias: Whether the gates and the candidate have biases.
            stateful: Keep the last state of each example for the next call.
            go_backwards: Read the sequence backwards.
            kernel_initializer: The input kernels' initializer.
            recurrent_initializer: The recurrent kernel's initializer.
            kernel_regularizer: A regularizer for every weight of the cell.
            l2loss: PrettyTensor's weight decay on every weight of the cell.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((10, 8)).sequence_gru(16).shape
            (None, 10, 16)
        """
        units = int(check_positive_int("sequence_gru", "num_units", num_units))
        _check_stateful("sequence_gru", self, stateful)
        check_bool("sequence_gru", "go_backwards", go_backwards)
        options = {**keywords(locals(), "num_units", "units"), "return_sequences": True}
        return _pretty_rnn("sequence_gru", PrettyGRUCell, units, options)

    # ------------------------------------------------------------ sequences
    @chain_method(rank=(2, 3, 4, 5, 6))
    def squash_sequence(self, *, name: str | None = None) -> Any:
        """Merges the batch and time axes of a sequence: ``(batch, time, ...)`` to
        ``(batch * time, ...)``, batch-major (PrettyTensor's was time-major), so that
        following steps run over every time step at once. ``cleave_sequence()`` after it
        splits them back, with no arguments.

        Args:
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> seq = cn.input((15, 8))
            >>> flat = seq.squash_sequence()
            >>> flat.shape, flat.fully_connected(4).cleave_sequence().shape
            ((None, 8), (None, 15, 4))
        """
        _known("squash_sequence", self, self.shape[2:])  # type: ignore[attr-defined]
        return SquashSequence(dtype=step_dtype(self.dtype), name=name)  # type: ignore[attr-defined]

    @chain_method(rank=(2, 3, 4, 5))
    def cleave_sequence(self, unroll: int | None = None, *, name: str | None = None) -> Any:
        """Splits the first axis, ``batch * time``, into ``(batch, unroll, ...)``: the inverse
        of ``squash_sequence`` (whose time length is the default for ``unroll``).

        Args:
            unroll: The number of time steps (default: that of the ``squash_sequence`` this
                chain comes from).
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((6,)).cleave_sequence(3).shape
            (None, 3, 6)
        """
        if unroll is None:
            squashed = _squash_ancestor(self)
            if squashed is None:
                raise ValueError(
                    "cleave_sequence(unroll): give the number of time steps; this chain does "
                    "not come from a squash_sequence() whose time length it could take"
                )
            unroll = squashed.parent.shape[1]
        unroll = int(check_positive_int("cleave_sequence", "unroll", unroll))
        shape = self.shape  # type: ignore[attr-defined]
        _known("cleave_sequence", self, shape[1:])
        if shape[0] is not None and shape[0] % unroll:
            raise ValueError(
                f"cleave_sequence(unroll): {unroll} does not divide the {shape[0]} rows of "
                f"shape {shape} from {self.name!r}"  # type: ignore[attr-defined]
            )
        return CleaveSequence(unroll, dtype=step_dtype(self.dtype), name=name)  # type: ignore[attr-defined]

    @chain_method()
    def with_sequence(self, sequence: Any, *, name: str | None = None) -> Any:
        """A sequence from a list of time steps, each ``(batch, ...)``: they are stacked into
        ``(batch, time, ...)`` (PrettyTensor's ``with_sequence``: a chain holding that
        sequence; this chain only gives the network).

        Args:
            sequence: The time steps: chains (or arrays) of one shape.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> steps = cn.input((3, 5)).unstack()
            >>> seq = steps[0].with_sequence(steps[::-1])
            >>> seq.shape, seq.is_sequence(), steps[0].is_sequence()
            ((None, 3, 5), True, False)
        """
        chains = as_chains(self, sequence, method="with_sequence", role="sequence")  # type: ignore[arg-type]
        shapes = {c.shape[1:] for c in chains}
        if len(shapes) != 1:
            raise ValueError(
                f"with_sequence(sequence): the time steps must have one shape; got "
                f"{[c.shape for c in chains]}"
            )
        dtype = step_dtype(*(c.dtype for c in chains))
        first = cast(Any, chains[0])
        if len(chains) == 1:  # one time step: (batch, 1, ...)
            dims = _known("with_sequence", first, first.shape[1:])
            return first._extend("with_sequence", name, Reshape([-1, 1, *dims], dtype=dtype))
        stack = Stack(1, dtype=dtype, name=name)
        return first._extend("with_sequence", name, Lowering((stack,), others=chains[1:]))

    def is_sequence(self) -> bool:
        """Whether this chain is a sequence made by a sequence method (``cleave_sequence``,
        ``sequence_lstm``, ``sequence_gru``, ``with_sequence``, ``map``).

        Examples:
            >>> import chainnet as cn
            >>> x = cn.input((4, 6))
            >>> x.is_sequence(), x.cleave_sequence(2).is_sequence()
            (False, True)
        """
        return cast(ChainBase, self).method in SEQUENCE_METHODS

    @chain_method(rank=(3, 4, 5, 6))
    def map(self, fn: Any, *, name: str | None = None) -> Any:
        """Applies ``fn`` to every time step of a sequence ``(batch, time, ...)``, with one
        set of weights for all steps (``keras.layers.TimeDistributed`` over a template).

        Args:
            fn: A template (``cn.template()...``) or a function of one chain.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> seq = cn.input((10, 8)).map(lambda step: step.fully_connected(3))
            >>> seq.shape, seq.model().count_params()
            ((None, 10, 3), 27)
        """
        if isinstance(fn, Template):
            tmpl = fn
        elif callable(fn):
            tmpl = template(fn, name=f"{name}_fn")
        else:
            raise TypeError(f"map(fn): needs a template or a function of a chain, got {fn!r}")
        step = self.shape[2:]  # type: ignore[attr-defined]
        if not tmpl.built:
            tmpl.build(step, dtype=self.dtype)  # type: ignore[attr-defined]
        elif tmpl.input_shapes != [(None, *step)]:
            raise ValueError(
                f"map(fn): template {tmpl.name!r} was built for {tmpl.input_shapes[0]}, "
                f"not for a time step of shape {(None, *step)}"
            )
        return keras.layers.TimeDistributed(tmpl.layer, name=name)

    @chain_method(names_itself=True)
    def unzip(
        self, split_dim: int = 1, num_splits: int = 2, *, name: str | None = None
    ) -> tuple[Chain, ...]:
        """Unzips along ``split_dim`` into ``num_splits`` interleaved parts (PrettyTensor's
        ``unzip``: ``[1, 2, 3, 4] -> [1, 3], [2, 4]``). Axis 0 is the batch axis here, so
        ``split_dim`` defaults to 1 (PrettyTensor's default was its batch axis). Part ``i``
        is the step ``<name>.<i>``.

        Args:
            split_dim: The axis to unzip (not the batch axis).
            num_splits: The number of parts; must divide the axis.
            name: The base name of the parts.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> odd, even = cn.wrap(np.array([[1, 2, 3, 4]], "float32")).unzip()
            >>> odd.tensor.numpy().tolist(), even.tensor.numpy().tolist()
            ([[1.0, 3.0]], [[2.0, 4.0]])
        """
        shape = self.shape  # type: ignore[attr-defined]
        ax = normalize_axis(split_dim, len(shape), "unzip", "split_dim")
        count = int(check_positive_int("unzip", "num_splits", num_splits))
        if ax == 0 or shape[ax] is None or shape[ax] % count:
            raise ValueError(
                f"unzip(): axis {split_dim} of shape {shape} must be a known, non-batch axis "
                f"that {count} divides"
            )
        suffixes = [f".{i}" for i in range(count)]
        base = self.network.next_name(  # type: ignore[attr-defined]
            "unzip", name, method="unzip", suffixes=suffixes if name else ["", *suffixes]
        )
        return tuple(
            _part(self, "unzip", f"{base}.{i}", (*(slice(None),) * ax, slice(i, None, count)))
            for i in range(count)
        )
