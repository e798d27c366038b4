"""PrettyTensor's shakespeare tutorial in chainnet: a 2-layer LSTM that predicts the next
character, then samples text one character at a time with a stateful copy of itself.

PrettyTensor's network, with its 504,576 parameters:

    embedding_lookup(128, [16]) -> cleave_sequence(100) -> sequence_lstm(128)
    -> sequence_lstm(256) -> squash_sequence() -> dropout(keep_prob=0.8)
    -> fully_connected(128) -> softmax(labels)

In chainnet the embedding of ``(batch, 100)`` character codes is already a sequence, so there
is no ``cleave_sequence``; ``softmax_classifier(128, labels)`` is the last two steps in one
(the same layer and parameters). Sampling uses the same network built with
``stateful=True`` for one character at a time (batch 1): each call carries the LSTM state to
the next, as PrettyTensor's ``RecurrentRunner``; ``cn.reset_states`` starts a new text.

The text is ``examples/data/sonnets.txt`` (five of Shakespeare's sonnets, public domain), or
any text file with ``--text``. Run: ``python examples/shakespeare.py [--epochs 30]``;
quick check: ``python examples/shakespeare.py --smoke``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import chainnet as cn

TEXT = Path(__file__).resolve().parent / "data" / "sonnets.txt"
BATCH_SIZE = 8
CHARS = 128
TIMESTEPS = 100
EMBEDDING_SIZE = 16
LOWER, UPPER = 128, 256
# 2,048 (embedding) + 74,624 + 395,008 (peephole LSTMs) + 32,896 (classifier)
PRETTYTENSOR_PARAMETERS = 504_576


def load_text(path: Path, timesteps: int = TIMESTEPS) -> np.ndarray:
    """The text as ASCII codes (others: 0) in rows of ``timesteps + 1``, as PrettyTensor's
    ``data_utils.shakespeare``: the inputs are a row's first ``timesteps`` codes, the targets
    its last."""
    codes = np.array([ord(c) if ord(c) < CHARS else 0 for c in path.read_text()])
    rows = len(codes) // (timesteps + 1)
    return codes[: rows * (timesteps + 1)].reshape(rows, timesteps + 1).astype("int32")


def create_model(
    timesteps: int | None, *, labels: bool = True, stateful: bool = False
) -> cn.SoftmaxResult:
    """PrettyTensor's ``create_model``: for training (``labels``: the next characters) or,
    ``stateful`` with one character of one text at a time, for sampling."""
    batch_size = 1 if stateful else None
    text_in = cn.input((timesteps,), dtype="int32", name="text", batch_size=batch_size)
    targets = text_in.network.input((timesteps,), dtype="int32", name="next") if labels else None
    with cn.defaults(l2loss=0.00001):
        lstm = (
            text_in.embedding_lookup(CHARS, EMBEDDING_SIZE)
            .sequence_lstm(LOWER, stateful=stateful)
            .sequence_lstm(UPPER, stateful=stateful)
        )
        return (
            lstm.squash_sequence()
            .dropout(keep_prob=0.8)
            .softmax_classifier(CHARS, targets.squash_sequence() if targets else None)
        )


def sample(
    step: keras.Model,
    seed: str,
    length: int,
    temperature: float,
    rng: np.random.Generator,
) -> str:
    """Text from the stateful model: the seed read one character at a time, then each next
    character drawn from the softmax of ``logits / temperature`` and fed back."""
    cn.reset_states(step)  # a new text: zero state
    for c in seed[:-1]:
        step(np.array([[ord(c)]], "int32"))
    result, code = seed, ord(seed[-1])
    while len(result) < length:
        logits = np.asarray(step(np.array([[code]], "int32")))[0] / temperature
        probabilities = np.exp(logits - logits.max())
        code = int(rng.choice(CHARS, p=probabilities / probabilities.sum()))
        result += chr(code)
    return result


def main(argv: Sequence[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--text", type=Path, default=TEXT, help="the text to learn")
    parser.add_argument("--learning-rate", type=float, default=0.005, help="Adam's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-length", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="3 epochs, a short sample")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.sample_length = 3, 40
    keras.utils.set_random_seed(args.seed)
    rows = load_text(args.text)
    inputs, targets = rows[:, :-1], rows[:, 1:]

    result = create_model(TIMESTEPS)
    model = result.softmax.model(name="shakespeare")  # inputs: text and next characters
    parameters = model.count_params()
    print(f"parameters: {parameters:,} (PrettyTensor's shakespeare: {PRETTYTENSOR_PARAMETERS:,})")
    assert parameters == PRETTYTENSOR_PARAMETERS, parameters
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    losses: list[float] = []

    def report(epoch: int, logs: dict[str, float]) -> None:
        losses.append(float(logs["loss"]))
        print(f"epoch {epoch + 1}/{args.epochs}  loss {logs['loss']:.4f}", flush=True)

    model.fit(
        [inputs, targets],
        None,
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        shuffle=True,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=report)],
    )
    predictor = cn.model(result.softmax, name="predictor")
    predicted = predictor.predict([inputs, targets], verbose=0).argmax(-1)
    accuracy = float(np.mean(predicted == targets.reshape(-1)))

    # the same network, stateful, one character at a time: the trained weights copied over
    step = cn.model(create_model(1, labels=False, stateful=True).logits, name="sampler")
    for source, target in zip(model.trainable_weights, step.trainable_weights):
        target.assign(source)
    text = sample(step, "Shall I", args.sample_length, 0.5, np.random.default_rng(args.seed))
    print("sample:", text.replace("\n", " / "))
    print(f"loss {'fell' if losses[-1] < losses[0] else 'did not fall'}: "
          f"{losses[0]:.4f} -> {losses[-1]:.4f}")  # fmt: skip
    print(f"test accuracy: {accuracy:.4f}")  # next-character accuracy on the text
    return accuracy


if __name__ == "__main__":
    main()
