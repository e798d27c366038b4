"""Position embeddings for ``(batch, time, features)`` sequences: learned or sinusoidal,
added to the input (Keras has no such layer in ``keras.layers``)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = ["POSITION_KINDS", "PositionEmbedding"]

POSITION_KINDS = ("learned", "sinusoidal")


@keras.saving.register_keras_serializable(package="chainnet")
class PositionEmbedding(keras.layers.Layer):
    """``x + p[:time]`` for ``x`` of shape ``(batch, time, features)``.

    ``kind="learned"``: ``p`` is a ``(max_length, features)`` variable ``embeddings`` (as the
    keras-io Transformer example's ``Embedding(max_length, features)`` of the positions
    ``0 .. time-1``). ``kind="sinusoidal"``: ``p`` is the fixed encoding of "Attention is all
    you need" as keras_hub's ``SinePositionEncoding`` computes it (sine on even features,
    cosine on odd ones, wavelengths from ``2*pi`` to ``max_wavelength``); no variables.
    """

    def __init__(
        self,
        max_length: int,
        kind: str = "learned",
        initializer: Any = "uniform",
        max_wavelength: float = 10000.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if kind not in POSITION_KINDS:
            raise ValueError(f"kind must be one of {POSITION_KINDS}, got {kind!r}")
        self.max_length = int(max_length)
        self.kind = kind
        self.initializer = keras.initializers.get(initializer)
        self.max_wavelength = float(max_wavelength)

    def build(self, input_shape: Any) -> None:
        if self.kind == "learned":
            self.embeddings = self.add_weight(
                shape=(self.max_length, input_shape[-1]),
                initializer=self.initializer,
                name="embeddings",
            )

    def _positions(self, length: Any, features: int) -> Any:
        """The ``(length, features)`` position values, in float32 for the sinusoids."""
        if self.kind == "learned":
            return ops.slice(self.embeddings, (0, 0), (length, features))
        position = ops.cast(ops.arange(length), "float32")
        index = ops.arange(features)
        timescales = ops.power(
            ops.cast(1.0 / self.max_wavelength, "float32"),
            ops.cast(2 * (index // 2), "float32") / float(features),
        )
        angles = ops.expand_dims(position, 1) * ops.expand_dims(timescales, 0)
        cos_mask = ops.cast(index % 2, "float32")
        return ops.sin(angles) * (1.0 - cos_mask) + ops.cos(angles) * cos_mask

    def call(self, inputs: Any) -> Any:
        length = ops.shape(inputs)[-2]
        positions = self._positions(length, int(inputs.shape[-1]))
        return inputs + ops.cast(positions, inputs.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "max_length": self.max_length,
            "kind": self.kind,
            "initializer": keras.initializers.serialize(self.initializer),
            "max_wavelength": self.max_wavelength,
        }
