"""Build and per-step training cost of a chainnet network against the same network in Keras.

Measures, side by side in one run:
- the time to build the seed ConvConvPool CNN (chain expression + ``model()``) against the
  hand-written Keras functional build (bar: <= 1.1x);
- the per-step training time of the two resulting models (bar: 1.00 within noise);
- the time to build ResNet50 and MobileNetV2 written as chains (``tests/test_reference_
  networks.py``) plus ``model()`` against ``keras.applications`` with ``weights=None``, both at
  224x224 (bar: <= 1.00x; medians of interleaved builds). Each build is timed whole, from the
  first layer to the ``keras.Model``: layer construction, weight creation, every symbolic
  call (shape inference, any graph tracing) and the model's graph. Wall time and process CPU
  time are both reported (CPU time is less disturbed by other work on a shared machine);
- where each big build's time goes: Keras' own work (constructing layers and operations, and
  calling them) against the rest, which for the chain is chainnet's own Python (the method
  wrapper, checks, naming, node records) and for ``keras.applications`` its few lines of
  Python. The wrappers that time Keras' work run only for this table, after the others.

Run: ``python benchmarks/bench_build.py [--repeats 30] [--steps 40] [--big-repeats 7]
[--quick] [--big-only]``
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import inspect
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

import chainnet as cn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_reference_networks import mobilenet_v2, resnet50

BIG = {
    "ResNet50": (
        lambda: resnet50(224).model(),
        lambda: keras.applications.ResNet50(weights=None),
    ),
    "MobileNetV2": (
        lambda: mobilenet_v2(224).model(),
        lambda: keras.applications.MobileNetV2(weights=None),
    ),
}


def chain_cnn() -> keras.Model:
    """The seed ConvConvPool CNN as one chain expression."""
    with cn.defaults(activation="relu", padding="same"):
        logits = (
            cn.input((28, 28, 1), name="image")
            .conv2d(3, 64)
            .conv2d(3, 64)
            .max_pool(2, 2)
            .dropout(rate=0.25)
            .conv2d(3, 32)
            .conv2d(3, 32)
            .max_pool(2, 2)
            .dropout(rate=0.25)
            .flatten()
            .fully_connected(256)
            .dropout(rate=0.5)
            .fully_connected(10, activation=None)
        )
    return logits.model()


def keras_cnn() -> keras.Model:
    """The same network written with the Keras functional API."""
    layers = keras.layers
    x = inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2d")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2d_1")(x)
    x = layers.MaxPooling2D(2, 2, padding="same", name="max_pool")(x)
    x = layers.Dropout(0.25, name="dropout")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2d_2")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2d_3")(x)
    x = layers.MaxPooling2D(2, 2, padding="same", name="max_pool_1")(x)
    x = layers.Dropout(0.25, name="dropout_1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(256, activation="relu", name="fully_connected")(x)
    x = layers.Dropout(0.5, name="dropout_2")(x)
    outputs = layers.Dense(10, name="fully_connected_1")(x)
    return keras.Model(inputs, outputs)


def time_builds(build: Callable[[], keras.Model], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        build()
        times.append(time.perf_counter() - start)
    return times


def compile_for_steps(model: keras.Model) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def time_steps_side_by_side(
    models: list[keras.Model], x: np.ndarray, y: np.ndarray, steps: int
) -> list[float]:
    """Median seconds per compiled training step of each model, their steps interleaved
    (a, b, a, b, ...) so that a change of machine load hits both alike."""
    xt, yt = tf.constant(x), tf.constant(y)
    for model in models:
        compile_for_steps(model)
        model.train_on_batch(xt, yt)  # trace
        model.train_on_batch(xt, yt)
    times: list[list[float]] = [[] for _ in models]
    for step in range(steps):
        order = range(len(models)) if step % 2 == 0 else reversed(range(len(models)))
        for i in order:
            start = time.perf_counter()
            models[i].train_on_batch(xt, yt)
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def interleaved(
    builds: tuple[Callable[[], keras.Model], Callable[[], keras.Model]], repeats: int
) -> Iterator[tuple[str, Callable[[], keras.Model]]]:
    """``("chain"|"keras", build)`` for ``repeats`` builds of each after one warm-up build of
    each, interleaved (chain, Keras, Keras, chain, ...), with a garbage collection before each
    yielded build."""
    chain_build, keras_build = builds
    chain_build(), keras_build()
    for i in range(repeats):
        pairs = [("chain", chain_build), ("keras", keras_build)]
        for kind, build in pairs if i % 2 == 0 else pairs[::-1]:
            gc.collect()
            yield kind, build


def big_builds(repeats: int) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Build seconds of each big network, ``{network: {"chain"|"keras": {"wall"|"cpu":
    [seconds]}}}``: chain + model() against keras.applications, the builds interleaved
    (chain, Keras, Keras, chain, ...) after one warm-up build of each."""
    results = {}
    for name, builds in BIG.items():
        times: dict[str, dict[str, list[float]]] = {
            kind: {"wall": [], "cpu": []} for kind in ("chain", "keras")
        }
        for kind, build in interleaved(builds, repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            build()
            times[kind]["cpu"].append(time.process_time() - cpu)
            times[kind]["wall"].append(time.perf_counter() - wall)
        results[name] = times
    return results


def print_big(results: dict[str, dict[str, dict[str, list[float]]]]) -> None:
    """One row per big network and clock: the medians side by side, their ratio, and the
    ratio of the fastest builds (less sensitive to other load on the machine)."""
    repeats = len(next(iter(results.values()))["chain"]["wall"])
    print(
        f"build, chain + model() vs keras.applications(weights=None), 224x224: medians of "
        f"{repeats} interleaved builds each (bar: ratio <= 1.00)"
    )
    print(
        f"{'network':<13}{'clock':<7}{'chain ms':>10}{'Keras ms':>10}{'ratio':>8}{'min ratio':>11}"
    )
    for name, times in results.items():
        for clock in ("wall", "cpu"):
            chain, keras_ = times["chain"][clock], times["keras"][clock]
            median_c, median_k = statistics.median(chain), statistics.median(keras_)
            print(
                f"{name:<13}{clock:<7}{median_c * 1e3:>10.1f}{median_k * 1e3:>10.1f}"
                f"{median_c / median_k:>8.2f}{min(chain) / min(keras_):>11.2f}"
            )


def _subclasses(cls: type) -> set[type]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


@contextlib.contextmanager
def keras_work_timer() -> Iterator[dict[str, float]]:
    """Seconds spent in Keras' own work while the block runs, ``{"keras": seconds}``: every
    outermost construction (``__new__`` and ``__init__``) and call (``__call__``) of a Keras
    ``Operation`` (layers and models included), timed by wrappers put on each class that
    defines one of them and taken off again at the end."""
    spent = {"keras": 0.0}
    depth = [0]

    def timed(function: Callable[..., object]) -> Callable[..., object]:
        @functools.wraps(function)
        def wrapper(*args: object, **kwargs: object) -> object:
            if depth[0]:
                return function(*args, **kwargs)
            depth[0] = 1
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent["keras"] += time.perf_counter() - start
                depth[0] = 0

        # Operation.__new__ reads the signature of __init__ (Keras' automatic config)
        with contextlib.suppress(TypeError, ValueError):
            wrapper.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
        return wrapper

    patched: list[tuple[type, str, object]] = []
    for cls in _subclasses(keras.Operation):
        for attribute in ("__new__", "__init__", "__call__"):
            if attribute in cls.__dict__:
                original = cls.__dict__[attribute]
                if isinstance(original, staticmethod):
                    replacement: object = staticmethod(timed(original.__func__))
                else:
                    replacement = timed(original)
                patched.append((cls, attribute, original))
                setattr(cls, attribute, replacement)
    try:
        yield spent
    finally:
        for cls, attribute, original in patched:
            setattr(cls, attribute, original)


def build_split(repeats: int) -> dict[str, dict[str, tuple[float, float]]]:
    """``{network: {"chain"|"keras": (median total s, median non-Keras s)}}``: each big build
    split into Keras' own work and the rest (see :func:`keras_work_timer`), interleaved."""
    results = {}
    for name, builds in BIG.items():
        rows: dict[str, list[tuple[float, float]]] = {"chain": [], "keras": []}
        with keras_work_timer() as spent:
            for kind, build in interleaved(builds, repeats):
                spent["keras"] = 0.0
                start = time.perf_counter()
                build()
                total = time.perf_counter() - start
                rows[kind].append((total, total - spent["keras"]))
        results[name] = {
            kind: (
                statistics.median(total for total, _ in times),
                statistics.median(rest for _, rest in times),
            )
            for kind, times in rows.items()
        }
    return results


def print_split(results: dict[str, dict[str, tuple[float, float]]]) -> None:
    print(
        "where a big build's time goes (wall ms, medians): Keras' own work (constructing and "
        "calling layers) and the rest (chainnet's own Python for the chain)"
    )
    print(f"{'network':<13}{'build':<8}{'total':>9}{'Keras work':>12}{'rest':>8}{'rest %':>8}")
    for name, kinds in results.items():
        for kind, (total, rest) in kinds.items():
            print(
                f"{name:<13}{kind:<8}{total * 1e3:>9.1f}{(total - rest) * 1e3:>12.1f}"
                f"{rest * 1e3:>8.1f}{rest / total * 100:>7.1f}%"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="builds of each kind")
    parser.add_argument("--steps", type=int, default=60, help="timed training steps per model")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument(
        "--big-repeats", type=int, default=7, help="builds of ResNet50/MobileNetV2 of each kind"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: few repeats")
    parser.add_argument(
        "--big-only", action="store_true", help="only the ResNet50/MobileNetV2 builds"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.steps, args.big_repeats = 3, 4, 1
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores")
    if args.big_only:
        print_big(big_builds(args.big_repeats))
        print_split(build_split(args.big_repeats))
        return

    # Warm both paths up (imports, first-layer caches), then interleave the timed builds.
    chain_cnn(), keras_cnn()
    chain_times: list[float] = []
    keras_times: list[float] = []
    for _ in range(args.repeats):
        chain_times += time_builds(chain_cnn, 1)
        keras_times += time_builds(keras_cnn, 1)
    chain_build = statistics.median(chain_times)
    keras_build = statistics.median(keras_times)

    rng = np.random.default_rng(0)
    x = rng.random((args.batch_size, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, args.batch_size)
    chain_model, keras_model = chain_cnn(), keras_cnn()
    keras_model.set_weights(chain_model.get_weights())
    assert chain_model.count_params() == keras_model.count_params() == 469_514
    chain_step, keras_step = time_steps_side_by_side([chain_model, keras_model], x, y, args.steps)

    print("seed ConvConvPool CNN, 469,514 parameters")
    print(f"{'measure':<34}{'chainnet':>12}{'Keras':>12}{'ratio':>8}  bar")
    print(
        f"{'build, chain + model() (ms, median)':<34}{chain_build * 1e3:>12.1f}"
        f"{keras_build * 1e3:>12.1f}{chain_build / keras_build:>8.2f}  <= 1.10"
    )
    print(
        f"{'train step, batch ' + str(args.batch_size) + ' (ms)':<34}{chain_step * 1e3:>12.1f}"
        f"{keras_step * 1e3:>12.1f}{chain_step / keras_step:>8.2f}  1.00 within noise"
    )
    print_big(big_builds(args.big_repeats))
    print_split(build_split(args.big_repeats))


if __name__ == "__main__":
    main()
