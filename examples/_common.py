"""What the MNIST examples share: the command line, the data, timing and the final report.

Not part of chainnet: a helper for ``examples/*.py``, which import it as ``_common`` (Python
puts a script's own folder on ``sys.path``). Every example takes the same options:

``--data-dir DIR``   the four MNIST IDX files (default: ``load_mnist``'s search, which finds
                     ``../shared/data/mnist``)
``--out DIR``        where the figures, the saved ``.keras`` model and ``results.json`` go
``--epochs N`` or ``--iterations N``, ``--batch-size N``, ``--seed N``
``--max-minutes M``  (with ``--epochs``) stop after the epoch that ends past M minutes
``--limit N``        train on the first N training images only
``--verbose 0|1|2``  0 silent, 1 a progress bar, 2 one line per epoch (for log files)
``--smoke``          a few steps on a few images, for CI on ``tests/data/mnist-small``
                     (explicit options still win)

and ends by printing ``test accuracy: 0.9876`` as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from chainnet.datasets import Mnist, load_mnist

__all__ = [
    "SMOKE",
    "TimeLimit",
    "Timer",
    "finish",
    "history_figure",
    "load_data",
    "make_parser",
    "parse",
    "predict_classes",
    "save_figure",
]

#: What ``--smoke`` sets, unless given explicitly: a few steps on the first 200 images.
SMOKE: dict[str, Any] = {"epochs": 1, "iterations": 5, "limit": 200, "validation_size": 100}


def make_parser(
    doc: str | None,
    example: str,
    *,
    batch_size: int,
    epochs: int | None = None,
    iterations: int | None = None,
) -> argparse.ArgumentParser:
    """The command line every example shares; ``epochs`` or ``iterations`` sets the length."""
    text = doc or example
    parser = argparse.ArgumentParser(
        prog=f"{example}.py",
        description=text.strip().splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder with the four MNIST IDX files (default: $CHAINNET_MNIST_DIR, then "
        "../shared/data/mnist, then ~/.cache/chainnet/mnist)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("out") / example,
        help="folder for the figures, the saved model and results.json",
    )
    if epochs is not None:
        parser.add_argument("--epochs", type=int, default=epochs, help="training epochs")
    if iterations is not None:
        parser.add_argument(
            "--iterations", type=int, default=iterations, help="optimizer steps (batches)"
        )
    parser.add_argument("--batch-size", type=int, default=batch_size)
    if epochs is not None:
        parser.add_argument(
            "--max-minutes",
            type=float,
            default=None,
            help="stop after the first epoch that ends past this many minutes of training",
        )
    parser.add_argument(
        "--limit", type=int, default=None, help="train on the first N training images only"
    )
    parser.add_argument(
        "--validation-size",
        type=int,
        default=5000,
        help="the first N training images are the validation set",
    )
    parser.add_argument("--seed", type=int, default=0, help="weights, shuffling and dropout")
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="0 silent, 1 progress bar, 2 one line per epoch",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a quick check: "
        + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in SMOKE.items())
        + " (explicit options win); use with --data-dir tests/data/mnist-small",
    )
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv``; with ``--smoke``, :data:`SMOKE` replaces the defaults."""
    args = parser.parse_args(argv)
    if args.smoke:
        known = {k: v for k, v in SMOKE.items() if hasattr(args, k)}
        parser.set_defaults(**known)
        args = parser.parse_args(argv)
    for name in ("epochs", "iterations", "batch_size"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1: got {value}")
    keras.utils.set_random_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def load_data(args: argparse.Namespace, *, flatten: bool = False) -> Mnist:
    """MNIST with the classic split, the training set cut to ``--limit``; says what it read."""
    data = load_mnist(args.data_dir, validation_size=args.validation_size, flatten=flatten)
    if args.limit:
        x, y = data.train
        data = Mnist(
            train=type(data.train)(x[: args.limit], y[: args.limit]),
            validation=data.validation,
            test=data.test,
            source=data.source,
        )
    print(
        f"MNIST from {data.source}: {len(data.train.images):,} training, "
        f"{len(data.validation.images):,} validation, {len(data.test.images):,} test images"
    )
    return data


def predict_classes(model: keras.Model, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The predicted class of every image (argmax of the model's outputs)."""
    scores = model.predict(images, batch_size=batch_size, verbose=0)
    return np.asarray(scores).argmax(axis=1)


def save_figure(fig: Any, out: Path, name: str) -> Path:
    """Save a matplotlib figure as ``out/name.png`` and say so."""
    path = out / f"{name}.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")
    return path


def history_figure(history: dict[str, list[float]], title: str) -> Any:
    """Loss and accuracy per epoch (training and, when present, validation) side by side."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(9, 3.4), layout="constrained")
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for ax, metric in zip(fig.subplots(1, 2), ("loss", "accuracy")):
        for key, label in ((metric, "training"), (f"val_{metric}", "validation")):
            if history.get(key):
                ax.plot(epochs, history[key], marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig


def finish(
    args: argparse.Namespace,
    model: keras.Model,
    data: Mnist,
    *,
    example: str,
    seconds: float,
    predicted: np.ndarray | None = None,
    extra: dict[str, Any] | None = None,
) -> float:
    """Save the model and ``results.json`` to ``--out``, print the test accuracy last.

    ``predicted`` (the test classes) is computed when not given. Returns the accuracy.
    """
    x_test, y_test = data.test
    if predicted is None:
        predicted = predict_classes(model, x_test)
    right = int(np.sum(predicted == y_test))
    accuracy = right / len(y_test)
    path = args.out / f"{example}.keras"
    model.save(path)
    print(f"wrote {path}")
    results = {
        "example": example,
        "command": " ".join(["python", f"examples/{example}.py", *sys.argv[1:]]),
        "test_accuracy": round(accuracy, 4),
        "test_right": right,
        "test_images": len(y_test),
        "training_images": len(data.train.images),
        "train_seconds": round(seconds, 1),
        "batch_size": args.batch_size,
        "seed": args.seed,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "tensorflow": _version("tensorflow"),
        "keras": keras.__version__,
        **(extra or {}),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out / 'results.json'}")
    print(f"training time: {seconds:.1f} s")
    print(f"Accuracy on Test-Set: {accuracy:.1%} ({right:,} / {len(y_test):,})")
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


def _version(module: str) -> str:
    try:
        return str(__import__(module).__version__)
    except ImportError:  # pragma: no cover
        return "?"


class TimeLimit(keras.callbacks.Callback):
    """Stops training at the end of the first epoch that ends after ``minutes`` (None: never)."""

    def __init__(self, minutes: float | None) -> None:
        super().__init__()
        self.minutes = minutes
        self.start = time.perf_counter()
        self.stopped_after: int | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.minutes is not None and time.perf_counter() - self.start > 60 * self.minutes:
            self.stopped_after = epoch + 1
            self.model.stop_training = True
            print(f"--max-minutes {self.minutes:g}: stopping after epoch {epoch + 1}")


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``: wall time of the block."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
