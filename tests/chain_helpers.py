"""Small helpers the core tests share: where a line is, a network's step names, test data,
the PrettyTensor tutorial CNN."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

import chainnet as cn

__all__ = ["here", "node_names", "tutorial_cnn", "uniform"]


def here() -> int:
    """The line number of the caller (to check ``file:line`` in messages)."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


def node_names(chain: Any) -> list[str]:
    """The names of every step of the chain's network, in order."""
    return [n.name for n in chain.network.nodes]


def uniform(*shape: int, seed: int = 0) -> np.ndarray:
    """Uniform float32 test data in [-1, 1)."""
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape).astype("float32")


def tutorial_cnn() -> cn.Chain:
    """The PrettyTensor tutorial CNN, named as there (see examples/mnist_pretty.py)."""
    image = cn.input((28, 28, 1), name="image")
    with cn.defaults(activation="relu", padding="same"):
        return (
            image.conv2d(5, 16, name="layer_conv1")
            .max_pool(2, 2)
            .conv2d(5, 36, name="layer_conv2")
            .max_pool(2, 2)
            .flatten()
            .fully_connected(128, name="layer_fc1")
            .fully_connected(10, activation=None, name="layer_fc_out")
        )
