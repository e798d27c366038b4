"""Progress: how an epoch is cut into in-graph chunks, and the logs shown after each."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["chunk_bounds", "is_verbose", "python_logs", "say"]

logger = logging.getLogger("chainnet.training")


def chunk_bounds(num_full_batches: int, updates: int) -> list[tuple[int, int]]:
    """Split the full batches of an epoch into ``updates`` nearly equal runs ``[start, stop)``.

    Each run is one call of the compiled program, after which the progress bar and the batch
    callbacks are updated. An epoch with no full batch is one empty run (its smaller last batch
    is still trained).

    Examples:
        >>> chunk_bounds(10, 3)
        [(0, 3), (3, 7), (7, 10)]
        >>> chunk_bounds(2, 10)
        [(0, 1), (1, 2)]
        >>> chunk_bounds(0, 10)
        [(0, 0)]
    """
    if isinstance(updates, bool) or not isinstance(updates, (int, np.integer)) or updates < 1:
        raise ValueError(f"progress_updates must be a positive int: got {updates!r}")
    runs = max(1, min(int(updates), num_full_batches))
    edges = np.linspace(0, num_full_batches, runs + 1).round().astype(int).tolist()
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a] or [(0, 0)]


def python_logs(logs: Mapping[str, Any]) -> dict[str, Any]:
    """Metric results (tensors, nested dicts) as a flat dict of Python floats.

    Examples:
        >>> python_logs({"loss": np.float32(0.5), "m": {"acc": 1}})
        {'loss': 0.5, 'acc': 1.0}
    """
    flat: dict[str, Any] = {}
    for name, value in logs.items():
        if isinstance(value, Mapping):
            flat.update(python_logs(value))
            continue
        array = np.asarray(value)
        flat[name] = float(array) if array.ndim == 0 else array
    return flat


def is_verbose(verbose: Any) -> bool:
    """True for ``"auto"`` and any verbosity of 1 or more (as ``model.fit`` reads it)."""
    return verbose == "auto" or bool(verbose)


def say(message: str, verbose: Any) -> None:
    """Print ``message`` when ``verbose`` asks for output; always log it at INFO level."""
    logger.info(message)
    if is_verbose(verbose):
        print(message, flush=True)
