"""The one home of chainnet's uses of private Keras and TensorFlow internals.

Everything else in chainnet uses public API only (``tests/test_keras_compat.py`` greps the
package for private attribute access on Keras and TensorFlow objects outside this module).
What is left here has no public equivalent in Keras 3.15; each function says what it reads
and why, and ``tests/test_keras_compat.py`` checks each against the installed Keras, failing
loudly (naming the Keras version) when Keras changes it.
"""

from __future__ import annotations

import re
from typing import Any

import keras

__all__ = [
    "LABEL_RANGE_ERROR",
    "NO_LOSS_ERROR",
    "NODE_IN_ERROR",
    "flatten_layers",
    "inbound_input_tensors",
    "keras_history_layer",
    "resume_epoch",
    "symbolic_build",
]

#: ``Trainer.compute_loss``'s ValueError when a model has no loss (Keras' own text).
NO_LOSS_ERROR = "No loss to compute"
#: TensorFlow's InvalidArgumentError of a sparse cross entropy given a class id out of range.
LABEL_RANGE_ERROR = re.compile(
    r"Received a label value of (-?\d+) which is outside the valid range of \[0, (\d+)\)"
)
#: Where TensorFlow says a graph error happened.
NODE_IN_ERROR = re.compile(r"Detected at node (\S+)")


def flatten_layers(model: Any) -> list[keras.layers.Layer]:
    """Every layer inside ``model`` (recursively, itself excluded), as Keras walks them.

    ``Layer._flatten_layers`` also finds layers a custom layer keeps as attributes, which the
    public ``model.layers`` (one level, models only) does not.
    """
    return list(model._flatten_layers(include_self=False))


def inbound_input_tensors(layer: keras.layers.Layer) -> list[list[Any]]:
    """The input tensors of every call of ``layer`` on symbolic tensors (its inbound nodes).

    The public ``layer.input`` gives the first call's only.
    """
    return [list(node.input_tensors) for node in layer._inbound_nodes]


def keras_history_layer(tensor: Any) -> keras.layers.Layer | None:
    """The layer that made a symbolic ``KerasTensor`` (None for any other value)."""
    history = getattr(tensor, "_keras_history", None)
    return None if history is None else history[0]


def resume_epoch(model: keras.Model) -> int | None:
    """The epoch ``keras.callbacks.BackupAndRestore`` restored on ``on_train_begin`` (it sets
    ``model._initial_epoch`` for ``model.fit`` to start from); None when nothing was restored."""
    epoch = getattr(model, "_initial_epoch", None)
    return None if epoch is None else int(epoch)


def symbolic_build(model: keras.Model, data_batch: Any) -> bool:
    """Create the model's, compiled metrics' and optimizer's variables from a sample batch,
    as ``model.fit`` does before its first trace (False when this Keras has no such step)."""
    build = getattr(model, "_symbolic_build", None)
    if build is None:
        return False
    build(data_batch=data_batch)
    return True
