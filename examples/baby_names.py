"""PrettyTensor's baby_names tutorial in chainnet: predict the boy/girl ratio of a name.

The data is PrettyTensor's own ``baby_names.csv`` (shipped in ``examples/data``, Apache-2.0,
derived from the Social Security Administration's public-domain name counts): 10,221 names,
each with the fraction of boys and girls given that name. A name is 15 ASCII codes padded
with EOS (1). PrettyTensor's network, step for step:

    embedding_lookup(128, [16]) -> cleave_sequence(15) -> sequence_lstm(128)
    -> squash_sequence() -> fully_connected(32, relu) -> dropout(0.7)
    -> softmax_classifier(2, labels, per_example_weights=...)

In chainnet the embedding of ``(batch, 15)`` ids is already a sequence ``(batch, 15, 16)``, so
no ``cleave_sequence`` is needed; ``sequence_lstm`` is PrettyTensor's peephole LSTM, and
``squash_sequence`` merges batch and time so the classifier runs on every step at once. As in
PrettyTensor, every step has the name's labels and the loss counts only the first EOS after
the name (``per_example_weights``). The network has PrettyTensor's 80,866 parameters.

Run: ``python examples/baby_names.py [--epochs 3] [--names 4000]`` (``--names 0``: all
10,221, ``--epochs 100`` as PrettyTensor's);
quick check: ``python examples/baby_names.py --smoke``.
"""

from __future__ import annotations

import argparse
import csv
import os
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import chainnet as cn

DATA = Path(__file__).resolve().parent / "data" / "baby_names.csv"
CHARS = 128
TIMESTEPS = 15
SEXES = 2
EMBEDDING_SIZE = 16
EOS = 1
UNK = 0
PRETTYTENSOR_PARAMETERS = 80_866  # 2,048 + 74,624 (peephole LSTM) + 4,128 + 66


def load_names(path: Path = DATA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Names as ASCII codes padded with EOS ``(n, 15)``, their (boy, girl) ratios ``(n, 2)``
    and lengths ``(n,)``, as PrettyTensor's ``data_utils.baby_names``."""
    names, ratios, lengths = [], [], []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        next(rows)  # the header
        for row in rows:
            name = row[0]
            codes = [ord(c) if ord(c) < CHARS else UNK for c in name]
            names.append(codes + [EOS] * (TIMESTEPS - len(codes)))
            ratios.append([float(row[2]), float(row[3])])
            lengths.append(len(name))
    return np.array(names, "int32"), np.array(ratios, "float32"), np.array(lengths, "int32")


def per_step(ratios: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every step's labels ``(n, 15, 2)`` and weights ``(n, 15)``: 1 at the first EOS after
    the name, 0 elsewhere (PrettyTensor's ``sparse_to_dense`` of the lengths)."""
    labels = np.repeat(ratios[:, None, :], TIMESTEPS, axis=1)
    weights = np.zeros((len(lengths), TIMESTEPS), "float32")
    weights[np.arange(len(lengths)), np.minimum(lengths, TIMESTEPS - 1)] = 1.0
    return labels, weights


def create_model() -> cn.SoftmaxResult:
    """PrettyTensor's ``create_model``: inputs names, labels and weights, one per step."""
    text_in = cn.input((TIMESTEPS,), dtype="int32", name="names")
    labels = text_in.network.input((TIMESTEPS, SEXES), name="labels")
    weights = text_in.network.input((TIMESTEPS,), name="weights")
    with cn.defaults(l2loss=0.00001):
        embedded = text_in.embedding_lookup(CHARS, EMBEDDING_SIZE)
        lstm = embedded.sequence_lstm(CHARS)
        return (
            lstm.squash_sequence()
            .fully_connected(32, activation="relu")
            .dropout(keep_prob=0.7)
            .softmax_classifier(
                SEXES,
                labels.squash_sequence(),
                per_example_weights=weights.squash_sequence(),
            )
        )


def main(argv: Sequence[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--names", type=int, default=4000, help="names to train on (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.01, help="Adam's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="2 epochs on 640 names")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.names = 2, 640
    keras.utils.set_random_seed(args.seed)
    names, ratios, lengths = load_names()
    order = np.random.default_rng(args.seed).permutation(len(names))
    names, ratios, lengths = names[order], ratios[order], lengths[order]
    if args.names:
        names, ratios, lengths = names[: args.names], ratios[: args.names], lengths[: args.names]
    labels, weights = per_step(ratios, lengths)

    result = create_model()
    model = result.softmax.model(name="baby_names")  # inputs: names, labels, weights
    parameters = model.count_params()
    print(f"parameters: {parameters:,} (PrettyTensor's baby_names: {PRETTYTENSOR_PARAMETERS:,})")
    assert parameters == PRETTYTENSOR_PARAMETERS, parameters
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    losses: list[float] = []

    def report(epoch: int, logs: dict[str, float]) -> None:
        losses.append(float(logs["loss"]))
        print(f"epoch {epoch + 1}/{args.epochs}  loss {logs['loss']:.6f}", flush=True)

    model.fit(
        [names, labels, weights],
        None,
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=report)],
    )
    # the classifier ran on every step: read its prediction at each name's first EOS
    predictor = cn.model(result.softmax, name="predictor")
    steps = predictor.predict([names, labels, weights], verbose=0).reshape(-1, TIMESTEPS, SEXES)
    at_eos = steps[np.arange(len(names)), np.minimum(lengths, TIMESTEPS - 1)]
    accuracy = float(np.mean(np.argmax(at_eos, -1) == np.argmax(ratios, -1)))
    for name in ("Mary", "John", "Leslie"):
        index = next((i for i, n in enumerate(names) if _text(n) == name), None)
        if index is not None:
            print(f"{name}: boy {at_eos[index, 0]:.2f}, girl {at_eos[index, 1]:.2f}")
    print(f"loss {'fell' if losses[-1] < losses[0] else 'did not fall'}: "
          f"{losses[0]:.6f} -> {losses[-1]:.6f}")  # fmt: skip
    print(f"test accuracy: {accuracy:.4f}")  # on the training names, as PrettyTensor's
    return accuracy


def _text(codes: np.ndarray) -> str:
    return "".join(chr(c) for c in codes if c != EOS)


if __name__ == "__main__":
    main()
