"""Character-level sequence classification: which made-up language does a name come from?

The example makes its own data (nothing to download): names built from three syllable sets,
one per "language", some syllables shared. Each name is a padded sequence of character ids;
the network is an embedding with ``mask_zero=True`` (padding is skipped), a bidirectional GRU
and a ``softmax_classifier`` whose labels are a second input, so the model trains with
``compile(optimizer)`` and ``fit([names, labels], None)``: no loss argument, the head carries
its loss. It prints the loss after every epoch (it falls) and ends with the test accuracy.

Run: ``python examples/sequence_classification.py [--epochs 8] [--names 3000]``;
quick check: ``python examples/sequence_classification.py --smoke``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import chainnet as cn

LANGUAGES = {
    "kanto": ["ka", "ko", "ta", "to", "na", "ni", "mi", "ri", "yu", "ki"],
    "berling": ["an", "er", "son", "ton", "ber", "ling", "ey", "ford", "ri", "ko"],
    "vostra": ["ov", "ska", "vich", "ana", "ya", "ko", "dmi", "ser", "na", "ton"],
}
MAX_LENGTH = 16
ALPHABET = 27  # 0 is padding, 1..26 are a..z


def make_names(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``count`` names: character ids ``(count, MAX_LENGTH)``, language ids, the strings."""
    languages = list(LANGUAGES)
    labels = rng.integers(0, len(languages), size=count).astype("int32")
    names = []
    for label in labels:
        syllables = LANGUAGES[languages[label]]
        name = "".join(rng.choice(syllables) for _ in range(rng.integers(2, 5)))
        names.append(name[:MAX_LENGTH])
    ids = np.zeros((count, MAX_LENGTH), "int32")
    for row, name in enumerate(names):
        ids[row, : len(name)] = [ord(c) - ord("a") + 1 for c in name]
    return ids, labels, names


def build(units: int) -> cn.SoftmaxResult:
    """names -> embedding (masked) -> bidirectional GRU -> dense -> softmax over languages."""
    names = cn.input((MAX_LENGTH,), dtype="int32", name="names")
    labels = names.network.input((), dtype="int32", name="labels")
    features = (
        names.embedding_lookup(ALPHABET, 16, mask_zero=True, name="chars")
        .bidirectional(units, cell="gru", name="reader")
        .fully_connected(units, activation="relu", name="hidden")
    )
    return features.softmax_classifier(len(LANGUAGES), labels, name="language")


def main(argv: Sequence[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--names", type=int, default=3000, help="training names")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="3 epochs on 300 names")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.names, args.units = 3, 300, 8
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_x, train_y, examples = make_names(args.names, rng)
    test_x, test_y, _ = make_names(max(200, args.names // 5), rng)
    print("some names:", ", ".join(f"{n} ({list(LANGUAGES)[y]})" for n, y in
                                    zip(examples[:4], train_y[:4])))  # fmt: skip

    result = build(args.units)
    model = result.softmax.model(name="names_classifier")  # inputs: names and labels
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))  # no loss: the head's
    losses: list[float] = []

    def report(epoch: int, logs: dict[str, float]) -> None:
        losses.append(float(logs["loss"]))
        print(f"epoch {epoch + 1}/{args.epochs}  loss {logs['loss']:.4f}", flush=True)

    model.fit(
        [train_x, train_y],
        None,
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=report)],
    )
    predictor = cn.model(result.logits, name="predictor")  # the same weights, no labels
    predicted = np.argmax(predictor.predict(test_x, verbose=0), axis=-1)
    accuracy = float(np.mean(predicted == test_y))
    print(f"loss {'fell' if losses[-1] < losses[0] else 'did not fall'}: "
          f"{losses[0]:.4f} -> {losses[-1]:.4f}")  # fmt: skip
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
