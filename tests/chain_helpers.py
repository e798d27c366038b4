"""Small helpers the core tests share: where a line is, a network's step names, test data."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

__all__ = ["here", "node_names", "uniform"]


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
