"""PrettyTensor's recurrent cells as Keras RNN cells, and their one-step layers.

:class:`PeepholeLSTMCell` and :class:`PrettyGRUCell` compute PrettyTensor's ``lstm_cell``
and ``gru_cell`` (``prettytensor/recurrent_networks.py``) with the same parameters:

* LSTM: ``z = x K + h R + b`` split into ``i, j, f, o``; ``f + 1`` when there is a bias
  (PrettyTensor adds 1 to the forget gate instead of initializing its bias to 1);
  peepholes add ``c * p_i`` to ``i`` and ``c * p_f`` to ``f``;
  ``c' = c * sigmoid(f) + sigmoid(i) * tanh(j)``; peephole ``o + c' * p_o``;
  ``h' = tanh(c') * sigmoid(o)``. The state is ``(c, h)``, in PrettyTensor's order.
  Parameters: ``in * 4u + 4u`` (bias) ``+ u * 4u`` (no recurrent bias) ``+ 3u`` (peepholes).
* GRU: ``r, u = sigmoid(x G + b_g + h U)`` (``b_g`` starts at 1);
  ``c = tanh([x, r * h] C + b_c)``; ``h' = u * h + (1 - u) * c``.

Both are Keras RNN cells (``keras.layers.RNN(cell)`` runs them over a sequence, stateful
too); :class:`LSTMCellStep` and :class:`GRUCellStep` are the same cells as one-step layers
that take ``[x, *state]`` and return the new state packed in one tensor
(``concat([c, h])`` for the LSTM, ``h`` for the GRU).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from chainnet.layers.shape import SameDtypeLayer

__all__ = [
    "CleaveSequence",
    "GRUCellStep",
    "LSTMCellStep",
    "PeepholeLSTMCell",
    "PrettyGRUCell",
    "SquashSequence",
]

_register = keras.saving.register_keras_serializable(package="chainnet")


def default_peephole_initializer() -> keras.initializers.Initializer:
    """PrettyTensor's ``diagonal_matrix_mul`` default, ``xavier_init(size, 0)``: uniform in
    ``±sqrt(6 / size)``."""
    return keras.initializers.VarianceScaling(2.0, mode="fan_in", distribution="uniform")


class _CellBase(keras.layers.Layer):
    """What both cells share: units, bias switch, initializers and one regularizer for every
    weight (PrettyTensor's ``l2loss`` reaches each weight of the cell)."""

    def __init__(
        self,
        units: int,
        *,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "glorot_uniform",
        kernel_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def _weight(self, name: str, shape: tuple[int, ...], initializer: Any) -> Any:
        return self.add_weight(
            name=name, shape=shape, initializer=initializer, regularizer=self.kernel_regularizer
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }


@_register
class PeepholeLSTMCell(_CellBase):
    """PrettyTensor's LSTM cell (``lstm_cell``), with peepholes by default; state ``(c, h)``."""

    def __init__(
        self, units: int, *, peephole: bool = True, peephole_initializer: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(units, **kwargs)
        self.peephole = bool(peephole)
        self.peephole_initializer = keras.initializers.get(
            peephole_initializer
            if peephole_initializer is not None
            else default_peephole_initializer()
        )
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape: Any) -> None:
        u = self.units
        self.kernel = self._weight("kernel", (int(input_shape[-1]), 4 * u), self.kernel_initializer)
        self.bias = (
            self.add_weight(name="bias", shape=(4 * u,), initializer="zeros")
            if self.use_bias
            else None
        )
        self.recurrent_kernel = self._weight(
            "recurrent_kernel", (u, 4 * u), self.recurrent_initializer
        )
        self.peepholes = [
            self._weight(f"{gate}_peephole", (u,), self.peephole_initializer)
            for gate in (("input", "forget", "output") if self.peephole else ())
        ]
        self.built = True

    def step(self, x: Any, c: Any, h: Any) -> tuple[Any, Any]:
        """One step: ``(new_c, new_h)``."""
        z = ops.matmul(x, self.kernel) + ops.matmul(h, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        i, j, f, o = ops.split(z, 4, axis=-1)
        if self.bias is not None:
            f = f + 1.0
        if self.peephole:
            p_i, p_f, p_o = self.peepholes
            i = i + c * p_i
            f = f + c * p_f
        new_c = c * ops.sigmoid(f) + ops.sigmoid(i) * ops.tanh(j)
        if self.peephole:
            o = o + new_c * p_o
        return new_c, ops.tanh(new_c) * ops.sigmoid(o)

    def call(self, inputs: Any, states: Any, training: Any = None) -> Any:
        c, h = states
        new_c, new_h = self.step(inputs, c, h)
        return new_h, [new_c, new_h]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "peephole": self.peephole,
            "peephole_initializer": keras.initializers.serialize(self.peephole_initializer),
        }


@_register
class PrettyGRUCell(_CellBase):
    """PrettyTensor's GRU cell (``gru_cell``); state ``h``."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: Any) -> None:
        u, n = self.units, int(input_shape[-1])
        self.gates_kernel = self._weight("gates_kernel", (n, 2 * u), self.kernel_initializer)
        self.gates_bias = (
            self.add_weight(name="gates_bias", shape=(2 * u,), initializer="ones")
            if self.use_bias
            else None
        )
        self.gates_recurrent_kernel = self._weight(
            "gates_recurrent_kernel", (u, 2 * u), self.recurrent_initializer
        )
        self.candidate_kernel = self._weight(
            "candidate_kernel", (n + u, u), self.kernel_initializer
        )
        self.candidate_bias = (
            self.add_weight(name="candidate_bias", shape=(u,), initializer="zeros")
            if self.use_bias
            else None
        )
        self.built = True

    def step(self, x: Any, h: Any) -> Any:
        """One step: the new ``h``."""
        gates = ops.matmul(x, self.gates_kernel) + ops.matmul(h, self.gates_recurrent_kernel)
        if self.gates_bias is not None:
            gates = gates + self.gates_bias
        r, u = ops.split(ops.sigmoid(gates), 2, axis=-1)
        candidate = ops.matmul(ops.concatenate([x, r * h], axis=-1), self.candidate_kernel)
        if self.candidate_bias is not None:
            candidate = candidate + self.candidate_bias
        return u * h + (1.0 - u) * ops.tanh(candidate)

    def call(self, inputs: Any, states: Any, training: Any = None) -> Any:
        h = states[0] if isinstance(states, (list, tuple)) else states
        new_h = self.step(inputs, h)
        return new_h, [new_h]


@_register
class LSTMCellStep(PeepholeLSTMCell):
    """:class:`PeepholeLSTMCell` as one step: ``[x, c, h]`` (or ``[x, concat([c, h])]``) to
    ``concat([new_c, new_h])``."""

    def build(self, input_shape: Any) -> None:
        super().build(input_shape[0])

    def call(self, inputs: Any, states: Any = None, training: Any = None) -> Any:
        if len(inputs) == 2:  # [x, concat([c, h])]
            x, packed = inputs
            c, h = packed[:, : self.units], packed[:, self.units :]
        else:
            x, c, h = inputs
        return ops.concatenate(list(self.step(x, c, h)), axis=-1)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (input_shape[0][0], 2 * self.units)


@_register
class GRUCellStep(PrettyGRUCell):
    """:class:`PrettyGRUCell` as one step: ``[x, h]`` to ``new_h``."""

    def build(self, input_shape: Any) -> None:
        super().build(input_shape[0])

    def call(self, inputs: Any, states: Any = None, training: Any = None) -> Any:
        x, h = inputs
        return self.step(x, h)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (input_shape[0][0], self.units)


@_register
class SquashSequence(SameDtypeLayer):
    """``(batch, time, ...)`` to ``(batch * time, ...)``, batch-major."""

    def call(self, inputs: Any) -> Any:
        return ops.reshape(inputs, (-1, *(int(d) for d in inputs.shape[2:])))

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        batch, time = input_shape[0], input_shape[1]
        merged = None if batch is None or time is None else batch * time
        return (merged, *input_shape[2:])


@_register
class CleaveSequence(SameDtypeLayer):
    """``(batch * unroll, ...)`` to ``(batch, unroll, ...)``: the inverse of
    :class:`SquashSequence`."""

    def __init__(self, unroll: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unroll = int(unroll)

    def call(self, inputs: Any) -> Any:
        return ops.reshape(inputs, (-1, self.unroll, *(int(d) for d in inputs.shape[1:])))

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        rows = input_shape[0]
        return (None if rows is None else rows // self.unroll, self.unroll, *input_shape[1:])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "unroll": self.unroll}
