"""One worker of the two-process MultiWorkerMirroredStrategy test (started by
test_training_multiworker.py with TF_CONFIG set); with no TF_CONFIG, the single-worker run."""

from __future__ import annotations

import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf

import chainnet as cn
from chainnet.training import fit
from chainnet.training._fit import _TRAINER_ATTRIBUTE

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 5)).astype("float32")
y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0).astype("int64")


def build() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = (
        cn.input((5,), name="x")
        .fully_connected(8, activation="relu")
        .fully_connected(3, activation="softmax")
        .model()
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main(out: str) -> None:
    if "TF_CONFIG" in os.environ:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        with strategy.scope():
            model = build()
        replicas = strategy.num_replicas_in_sync
    else:
        model, replicas = build(), 1
    # the same script on every worker: the global batch is 16, split across the workers
    history = fit(model, x, y, batch_size=16, epochs=3, seed=3, verbose=0)
    programs = getattr(model, _TRAINER_ATTRIBUTE)._programs
    with open(out, "w") as f:
        json.dump(
            {
                "replicas": replicas,
                "in_graph": programs is not None and (replicas == 1) == (programs.strategy is None),
                "weights": [w.tolist() for w in model.get_weights()],
                "history": history.history,
                "iterations": int(model.optimizer.iterations.numpy()),
            },
            f,
        )


if __name__ == "__main__":
    main(sys.argv[1])
