"""A chainnet network under MirroredStrategy over two logical CPU devices trains like one device.

The logical devices must be configured before TensorFlow initialises its devices, so the check
runs in a fresh Python process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, os, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
import keras
import chainnet as cn
from chainnet.training import fit
from chainnet.training._fit import _TRAINER_ATTRIBUTE

rng = np.random.default_rng(0)
x = rng.normal(size=(96, 5)).astype("float32")
y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0).astype("int64")

def build():
    keras.utils.set_random_seed(0)
    # a chainnet network, built (under the strategy's scope for the mirrored one) as users do
    model = (cn.input((5,), name="x")
               .fully_connected(8, activation="relu", l2loss=0.02)
               .fully_connected(3, activation="softmax")
               .model())
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

single = build()
h1 = fit(single, x, y, batch_size=16, epochs=3, seed=5, validation_split=0.25, verbose=0)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    mirrored = build()
h2 = fit(mirrored, x, y, batch_size=16, epochs=3, seed=5, validation_split=0.25, verbose=1)
programs = getattr(mirrored, _TRAINER_ATTRIBUTE)._programs
print("RESULT" + json.dumps({
    "replicas": strategy.num_replicas_in_sync,
    "in_graph": programs is not None and programs.strategy is strategy,
    "weights_close": all(
        np.allclose(a, b, atol=1e-5) for a, b in zip(single.get_weights(), mirrored.get_weights())
    ),
    "history_single": h1.history,
    "history_mirrored": h2.history,
    "iterations": int(mirrored.optimizer.iterations.numpy()),
}))
"""


def test_mirrored_strategy_on_two_logical_cpus_matches_one_device() -> None:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    report = json.loads(line[len("RESULT") :])
    assert report["replicas"] == 2
    assert report["in_graph"]  # the fast path, with each batch split across the replicas
    assert "training runs with model.fit" not in result.stdout
    assert report["iterations"] == 3 * 5  # 72 training samples: 4 batches of 16 and one of 8
    assert report["weights_close"]
    single, mirrored = report["history_single"], report["history_mirrored"]
    assert sorted(mirrored) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for name, values in single.items():
        for a, b in zip(values, mirrored[name], strict=True):
            assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), name
