"""The MLP tutorial on MNIST: 784 -> 64 sigmoid -> 10, SGD lr 0.5, batch 64, 20 epochs.

The two-layer perceptron of "The APIs for neural networks in TensorFlow" (raw TensorFlow,
tf.layers, TFLearn and Keras each build it; reference: about 97.4% test accuracy). Here it is
one chain, trained with ``chainnet.training.fit`` (whole chunks of an epoch inside one
``tf.function``). Writes ``history.png`` (loss and accuracy per epoch), ``hidden_weights.png``
(what each of the 64 hidden units looks for), ``confusion_matrix.png``, the model and
``results.json`` to ``--out``.

Run: ``python examples/mnist_mlp.py [--data-dir DIR] [--epochs 20] [--out out/mnist_mlp]``;
quick check: ``python examples/mnist_mlp.py --smoke --data-dir tests/data/mnist-small``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from _common import (
    TimeLimit,
    Timer,
    finish,
    history_figure,
    load_data,
    make_parser,
    parse,
    predict_classes,
    save_figure,
)

import chainnet as cn
from chainnet import plot
from chainnet.training import fit

EXAMPLE = "mnist_mlp"


def build() -> cn.Chain:
    """784 pixels -> 64 sigmoid units -> 10 logits."""
    pixels = cn.input((784,), name="pixels")
    return pixels.fully_connected(64, activation="sigmoid", name="hidden").fully_connected(
        10, name="logits"
    )


def main(argv: Sequence[str] | None = None) -> float:
    parser = make_parser(__doc__, EXAMPLE, epochs=20, batch_size=64)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    args = parse(parser, argv)
    data = load_data(args, flatten=True)

    logits = build()
    logits.summary()
    model = logits.model(name="mlp")
    model.compile(
        optimizer=keras.optimizers.SGD(args.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    with Timer() as timer:
        history = fit(
            model,
            *data.train,
            batch_size=args.batch_size,
            epochs=args.epochs,
            validation_data=tuple(data.validation) if len(data.validation.images) else None,
            seed=args.seed,
            verbose=args.verbose,
            callbacks=[TimeLimit(args.max_minutes)],
        )

    epochs = len(history.history.get("loss", []))
    save_figure(
        history_figure(history.history, f"MLP 784-64-10, {epochs} epochs"), args.out, "history"
    )
    hidden = logits.network.get_weights("hidden")["kernel"]  # (784, 64)
    save_figure(
        plot.conv_filters(
            hidden.reshape(28, 28, 1, 64),
            title="hidden: the input weights of each of the 64 sigmoid units",
        ),
        args.out,
        "hidden_weights",
    )
    predicted = predict_classes(model, data.test.images)
    save_figure(
        plot.confusion_matrix(data.test.labels, predicted, 10), args.out, "confusion_matrix"
    )
    return finish(
        args,
        model,
        data,
        example=EXAMPLE,
        seconds=timer.seconds,
        predicted=predicted,
        extra={"epochs": epochs, "learning_rate": args.learning_rate},
    )


if __name__ == "__main__":
    main()
