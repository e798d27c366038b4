"""Training speed on MNIST: default ``model.fit`` vs tuned ``steps_per_execution`` vs a
hand-written in-graph epoch loop vs ``chainnet.training.fit`` (and, for the MLP, ``fit`` with
``jit_compile=True``).

Usage (from the repository root)::

    python benchmarks/bench_training.py [--data-dir DIR] [--epochs N] [--cnn-epochs N] [--quick]

For the MLP (784 -> 64 sigmoid -> 10 softmax, SGD 0.5, batch 64) and the PrettyTensor tutorial CNN
(conv 16 5x5 relu, pool, conv 36 5x5 relu, pool, fc 128 relu, fc 10; Adam 1e-4, batch 64), each on
the 55,000 training images, it prints seconds per epoch (the median of the epochs after the first,
which also traces; the first epoch alone when only one is run), the total seconds of all
epochs, tracing included (for ``cn.fit`` and the loop: each whole call, its per-call setup
included), the ratios chainnet/fit and chainnet/loop (wall and process CPU time: CPU time is
the steadier measure on a shared machine), and the test accuracy each variant reached. All
variants start from the same initial weights; their epochs are interleaved.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import chainnet.training  # noqa: E402

DEFAULT_DATA_DIR = None  # chainnet.datasets' search ($CHAINNET_MNIST_DIR, the shared copy, ...)
FIXTURE = ROOT / "tests" / "data" / "mnist-small"
BATCH = 64
SPE_CANDIDATES = (10, 50, 200)


# -- data -------------------------------------------------------------------------------------
def _read_idx(path: Path) -> np.ndarray:
    """A tiny IDX reader (used only when chainnet.datasets is not available)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", count=ndim, offset=4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(
    data_dir: Path | None, quick: bool = False
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(train images, labels), (test images, labels): 55,000 / 10,000, images (n, 28, 28, 1).

    With ``quick`` and no MNIST to be found, the repository's small fixture (600 / 200)."""
    try:
        from chainnet.datasets import load_mnist
    except ImportError:
        names = [
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        ]
        assert data_dir is not None, "--data-dir is needed without chainnet.datasets"
        xtr, ytr, xte, yte = (_read_idx(data_dir / f"{name}.gz") for name in names)
        images = [(a[..., None] / np.float32(255)).astype(np.float32) for a in (xtr, xte)]
        return (images[0][5000:], ytr[5000:].astype(np.int64)), (images[1], yte.astype(np.int64))
    try:
        data = load_mnist(data_dir, validation_size=5000, download=False)
    except FileNotFoundError:
        if not quick:
            raise
        # a smoke run where the full MNIST is absent (a bare CI checkout): the test fixture
        print(f"MNIST not found; the smoke run uses the small fixture in {FIXTURE}", flush=True)
        data = load_mnist(FIXTURE, validation_size=0, download=False)
    return (data.train.images, data.train.labels), (data.test.images, data.test.labels)


# -- models -----------------------------------------------------------------------------------
def mlp() -> keras.Model:
    inputs = keras.Input((28, 28, 1))
    hidden = keras.layers.Dense(64, activation="sigmoid")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))


def cnn() -> keras.Model:
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(16, 5, padding="same", activation="relu")(inputs)
    h = keras.layers.MaxPooling2D(2, 2)(h)
    h = keras.layers.Conv2D(36, 5, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D(2, 2)(h)
    h = keras.layers.Dense(128, activation="relu")(keras.layers.Flatten()(h))
    return keras.Model(inputs, keras.layers.Dense(10)(h))


# ``xla``: whether to run (e), chainnet with XLA. Not for the CNN: XLA's CPU convolutions took
# 24 s an epoch of 6,400 images where the graph path took 0.9 s (measured on the 2-core machine).
WORKLOADS: dict[str, dict[str, Any]] = {
    "MLP": dict(
        build=mlp, optimizer=lambda: keras.optimizers.SGD(0.5), from_logits=False, xla=True
    ),
    "CNN": dict(
        build=cnn, optimizer=lambda: keras.optimizers.Adam(1e-4), from_logits=True, xla=False
    ),
}


def fresh(spec: dict[str, Any], weights: list[np.ndarray], spe: int = 1) -> keras.Model:
    model: keras.Model = spec["build"]()
    model.set_weights(weights)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=spec["from_logits"])
    model.compile(
        optimizer=spec["optimizer"](), loss=loss, metrics=["accuracy"], steps_per_execution=spe
    )
    return model


# -- timing -----------------------------------------------------------------------------------
class EpochTimer(keras.callbacks.Callback):
    """Wall-clock and process CPU seconds of each epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[tuple[float, float]] = []

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._start = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        wall, cpu = self._start
        self.times.append((time.perf_counter() - wall, time.process_time() - cpu))


def per_epoch(times: list[float]) -> float:
    """The median epoch after the first (which also traces); the first alone if it is all."""
    return statistics.median(times[1:]) if len(times) > 1 else times[0]


class FitRunner:
    """(a)/(b): ``model.fit``, one epoch per call (``initial_epoch``), timed inside the epoch."""

    def __init__(self, model: keras.Model, x: np.ndarray, y: np.ndarray) -> None:
        self.model, self.x, self.y = model, x, y

    def epoch(self, epoch: int) -> tuple[float, float]:
        timer = EpochTimer()
        self.model.fit(
            self.x,
            self.y,
            batch_size=BATCH,
            epochs=epoch + 1,
            initial_epoch=epoch,
            verbose=0,
            callbacks=[timer],
        )
        return timer.times[-1]


class ChainnetRunner(FitRunner):
    """(d): ``chainnet.training.fit``, one epoch per call; the whole call is timed (its setup:
    checks, conversion of the arrays, callbacks, included). (e): the same with
    ``jit_compile=True`` (XLA)."""

    def __init__(
        self, model: keras.Model, x: np.ndarray, y: np.ndarray, jit_compile: bool = False
    ) -> None:
        super().__init__(model, x, y)
        self.jit_compile = jit_compile

    def epoch(self, epoch: int) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        chainnet.training.fit(
            self.model,
            self.x,
            self.y,
            batch_size=BATCH,
            epochs=epoch + 1,
            initial_epoch=epoch,
            verbose=0,
            seed=0,
            jit_compile=self.jit_compile,
        )
        return time.perf_counter() - wall, time.process_time() - cpu


class LoopRunner(FitRunner):
    """(c) the reference: a plain tf.function per epoch: in-graph shuffle, tf.gather batches,
    forward, gradient, optimizer update, running loss and accuracy (full batches only)."""

    def __init__(self, model: keras.Model, x: np.ndarray, y: np.ndarray) -> None:
        super().__init__(model, x, y)
        xs, ys = tf.constant(x), tf.constant(y)
        n, steps = len(x), len(x) // BATCH
        optimizer, loss_fn = model.optimizer, model.loss
        variables = model.trainable_variables

        @tf.function
        def epoch_fn(seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=seed)
            batches = tf.reshape(order[: steps * BATCH], [steps, BATCH])
            total_loss, correct = tf.constant(0.0), tf.constant(0.0)
            for i in tf.range(steps):
                xb, yb = tf.gather(xs, batches[i]), tf.gather(ys, batches[i])
                with tf.GradientTape() as tape:
                    pred = model(xb, training=True)
                    loss = loss_fn(yb, pred)
                optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
                total_loss += loss
                hits = tf.equal(tf.argmax(pred, axis=-1), yb)
                correct += tf.reduce_sum(tf.cast(hits, tf.float32))
            return total_loss / tf.cast(steps, tf.float32), correct / float(steps * BATCH)

        self.epoch_fn = epoch_fn

    def epoch(self, epoch: int) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        loss, _ = self.epoch_fn(tf.constant([0, epoch], tf.int64))
        float(loss)
        return time.perf_counter() - wall, time.process_time() - cpu


def best_spe(
    spec: dict[str, Any], weights: list[np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[int, dict[int, float]]:
    """Try a few steps_per_execution on a slice of the data (2 short epochs, time the second)."""
    subset = min(len(x), BATCH * 400)
    trials = {}
    for spe in SPE_CANDIDATES:
        runner = FitRunner(fresh(spec, weights, spe), x[:subset], y[:subset])
        trials[spe] = [runner.epoch(e) for e in range(2)][-1][0]
    return min(trials, key=lambda k: trials[k]), trials


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(model.evaluate(x, y, batch_size=1000, verbose=0, return_dict=True)["accuracy"])


def bench(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    epochs: int,
) -> dict[str, Result]:
    """Every variant from the same initial weights; epochs interleaved (round-robin), so that
    all variants share the machine's conditions."""
    spec = WORKLOADS[name]
    keras.utils.set_random_seed(0)
    weights = spec["build"]().get_weights()
    x, y = train
    spe, trials = best_spe(spec, weights, x, y)
    tried = ", ".join(f"{k}: {v:.2f}s" for k, v in trials.items())
    print(
        f"[{name}] steps_per_execution trials (2nd epoch on {min(len(x), BATCH * 400)} "
        f"samples): {tried} -> {spe}",
        flush=True,
    )
    runners: dict[str, FitRunner] = {
        "(a) fit": FitRunner(fresh(spec, weights), x, y),
        f"(b) fit spe={spe}": FitRunner(fresh(spec, weights, spe), x, y),
        "(c) tf.function loop": LoopRunner(fresh(spec, weights), x, y),
        "(d) chainnet fit": ChainnetRunner(fresh(spec, weights), x, y),
    }
    if spec["xla"]:
        runners["(e) chainnet fit, XLA"] = ChainnetRunner(
            fresh(spec, weights), x, y, jit_compile=True
        )
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in runners}
    for epoch in range(epochs):
        for label, runner in runners.items():
            times[label].append(runner.epoch(epoch))
        print(
            f"[{name}] epoch {epoch + 1} wall/cpu s: "
            + ", ".join(f"{label[:3]} {t[-1][0]:.3f}/{t[-1][1]:.3f}" for label, t in times.items()),
            flush=True,
        )
    results = {}
    for label, runner in runners.items():
        wall, cpu = [t[0] for t in times[label]], [t[1] for t in times[label]]
        results[label] = (
            per_epoch(wall),
            per_epoch(cpu),
            sum(wall),
            sum(cpu),
            accuracy(runner.model, *test),
        )
    return results


Result = tuple[float, float, float, float, float]


def table(all_results: dict[str, dict[str, Result]], epochs: dict[str, int]) -> str:
    lines = [
        f"{'model':<5} {'epochs':>6} {'variant':<22} {'s/epoch':>8} {'cpu s/ep':>8} "
        f"{'total s':>8} {'cpu tot':>8} {'test acc':>8} {'d/this':>7}",
        "-" * 90,
    ]
    for name, results in all_results.items():
        d, d_cpu, d_total, d_total_cpu = results["(d) chainnet fit"][:4]
        for label, (sec, cpu, total, total_cpu, acc) in results.items():
            lines.append(
                f"{name:<5} {epochs[name]:>6} {label:<22} {sec:8.3f} {cpu:8.3f} "
                f"{total:8.1f} {total_cpu:8.1f} {acc:8.4f} {d_total / total:7.2f}"
            )
        a, a_cpu, a_total, a_total_cpu = results["(a) fit"][:4]
        c, c_cpu, c_total, c_total_cpu = results["(c) tf.function loop"][:4]
        lines.append(
            f"{name:<5} total (tracing included): d/a = {d_total / a_total:.2f} "
            f"(bar <= 0.20 for the MLP), d/c = {d_total / c_total:.2f} (bar <= 0.90 MLP, "
            f"<= 1.0 CNN);  cpu: d/a = {d_total_cpu / a_total_cpu:.2f}, "
            f"d/c = {d_total_cpu / c_total_cpu:.2f}"
        )
        lines.append(
            f"{name:<5} steady s/epoch: d = {d:.3f} (moonshot 0.15 for the MLP), "
            f"d/a = {d / a:.2f}, d/c = {d / c:.2f};  cpu: d/a = {d_cpu / a_cpu:.2f}, "
            f"d/c = {d_cpu / c_cpu:.2f}"
        )
        if "(e) chainnet fit, XLA" in results:
            e, _, e_total = results["(e) chainnet fit, XLA"][:3]
            lines.append(
                f"{name:<5} with XLA (jit_compile=True): total e/a = {e_total / a_total:.2f}, "
                f"e/c = {e_total / c_total:.2f}; steady e = {e:.3f}, e/c = {e / c:.2f}"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--epochs", type=int, default=20, help="MLP epochs (default 20)")
    parser.add_argument(
        "--cnn-epochs",
        type=int,
        default=2,
        help="CNN epochs (default 2: the CNN is slow on a 2-core CPU)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 2 epochs of each on 6,400 images",
    )
    parser.add_argument("--only", choices=sorted(WORKLOADS), help="run one workload")
    args = parser.parse_args(argv)
    train, test = load(args.data_dir, quick=args.quick)
    epochs = {"MLP": args.epochs, "CNN": args.cnn_epochs}
    cnn_train = train
    if args.quick:
        epochs = {"MLP": 2, "CNN": 2}
        train = cnn_train = (train[0][: BATCH * 100], train[1][: BATCH * 100])
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU(s); "
        f"MLP {epochs['MLP']} epochs on {len(train[0])} images, CNN {epochs['CNN']} epoch(s) "
        f"on {len(cnn_train[0])} images (fewer CNN epochs: it is slow on a small CPU).",
        flush=True,
    )
    results = {}
    for name in [args.only] if args.only else list(WORKLOADS):
        results[name] = bench(name, cnn_train if name == "CNN" else train, test, epochs[name])
    print()
    print(table(results, epochs))


if __name__ == "__main__":
    main()
