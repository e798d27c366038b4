"""Tiny models and data shared by the chainnet.training tests."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

NUM_FEATURES = 6
NUM_CLASSES = 3


def data(n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Learnable random data: ``x`` float32 ``(n, 6)``, ``y`` int labels in ``[0, 3)``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, NUM_FEATURES)).astype("float32")
    y = (np.argmax(x[:, :NUM_CLASSES], axis=1)).astype("int64")
    return x, y


def classifier(
    optimizer: Any = None,
    l2: float = 0.0,
    seed: int = 0,
    metrics: Any = ("accuracy",),
) -> keras.Model:
    """6 -> 8 relu -> 3 softmax, compiled with sparse categorical crossentropy."""
    keras.utils.set_random_seed(seed)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((NUM_FEATURES,), name="features")
    hidden = keras.layers.Dense(8, activation="relu", kernel_regularizer=regularizer)(inputs)
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=optimizer if optimizer is not None else keras.optimizers.SGD(0.1),
        loss="sparse_categorical_crossentropy",
        metrics=list(metrics),
    )
    return model


def same_weights(a: keras.Model, b: keras.Model, atol: float = 1e-5) -> bool:
    return all(
        np.allclose(u, v, atol=atol, rtol=1e-5)
        for u, v in zip(a.get_weights(), b.get_weights(), strict=True)
    )
